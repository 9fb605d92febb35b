//! [`SqliteStoreBuilder`]: the settings of a [`SqliteStore`], with
//! documented defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::schema::{self, PAGE_SIZE, Tuning};
use crate::shared::{Counters, Settings, Shared};
use crate::store::SqliteStore;
use crate::{reader, writer};

/// The default maximum size of the database: 1 GiB.
pub const DEFAULT_MAX_SIZE: u64 = 1 << 30;
/// The default number of reader connections (and threads): 2.
pub const DEFAULT_READERS: usize = 2;
/// The default busy timeout: 100 ms, well under the cache's default
/// [`store_timeout`](webcache_core::Config::store_timeout) of 250 ms, so a
/// locked database makes an operation fail before the cache gives up on it.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_millis(100);
/// How often expired entries are swept by default: every 60 s.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// How often recorded access times are written by default: every second.
pub const DEFAULT_ACCESS_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// The smallest maximum size accepted: 64 KiB.
const MIN_MAX_SIZE: u64 = 64 << 10;

/// Builds a [`SqliteStore`]; from [`SqliteStore::builder`].
///
/// ```
/// use std::time::Duration;
/// use webcache_sqlite::SqliteStore;
///
/// # let dir = std::env::temp_dir().join(format!("webcache-doc-builder-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let store = SqliteStore::builder(dir.join("cache.db"))
///     .max_size(256 << 20)                          // 256 MiB, then LRU eviction
///     .readers(4)
///     .busy_timeout(Duration::from_millis(50))
///     .build()?;
/// # drop(store);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct SqliteStoreBuilder {
    path: PathBuf,
    max_size: u64,
    readers: usize,
    busy_timeout: Duration,
    sweep_interval: Duration,
    access_flush_interval: Duration,
    write_queue: usize,
}

impl SqliteStoreBuilder {
    pub(crate) fn new(path: PathBuf) -> SqliteStoreBuilder {
        SqliteStoreBuilder {
            path,
            max_size: DEFAULT_MAX_SIZE,
            readers: DEFAULT_READERS,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            access_flush_interval: DEFAULT_ACCESS_FLUSH_INTERVAL,
            write_queue: 1024,
        }
    }

    /// The maximum size of the database file in bytes; default
    /// [`DEFAULT_MAX_SIZE`], at least 64 KiB. Past it the least recently
    /// used entries are evicted down to 90 % of it; the file is capped at a
    /// quarter more (`PRAGMA max_page_count`), where writes fail (and the
    /// cache fails open) until eviction makes room. A single value larger
    /// than an eighth of it is not stored.
    ///
    /// ```
    /// use webcache_sqlite::SqliteStore;
    ///
    /// let builder = SqliteStore::builder("/var/cache/shop/webcache.db").max_size(4 << 30); // 4 GiB
    /// # let _ = builder;
    /// ```
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// The number of reader connections, each on its own thread; default
    /// [`DEFAULT_READERS`], from 1 to 64.
    ///
    /// ```
    /// use webcache_sqlite::SqliteStore;
    ///
    /// let builder = SqliteStore::builder("/var/cache/shop/webcache.db").readers(4);
    /// # let _ = builder;
    /// ```
    pub fn readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// How long a connection waits for a lock held by another connection
    /// (another process, or a checkpoint) before it gives up; default
    /// [`DEFAULT_BUSY_TIMEOUT`]. Keep it below the cache's
    /// [`store_timeout`](webcache_core::Config::store_timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_sqlite::SqliteStore;
    ///
    /// let builder = SqliteStore::builder("/var/cache/shop/webcache.db").busy_timeout(Duration::from_millis(50));
    /// # let _ = builder;
    /// ```
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How often expired entries are removed; default
    /// [`DEFAULT_SWEEP_INTERVAL`]. (Expired entries are never served in
    /// between: every read checks the expiry.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_sqlite::SqliteStore;
    ///
    /// let builder = SqliteStore::builder("/var/cache/shop/webcache.db").sweep_interval(Duration::from_secs(300));
    /// # let _ = builder;
    /// ```
    pub fn sweep_interval(mut self, interval: Duration) -> Self {
        self.sweep_interval = interval;
        self
    }

    /// How often the access times of hits, kept in memory, are written
    /// for eviction's least-recently-used order; default
    /// [`DEFAULT_ACCESS_FLUSH_INTERVAL`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_sqlite::SqliteStore;
    ///
    /// let builder = SqliteStore::builder("/var/cache/shop/webcache.db").access_flush_interval(Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn access_flush_interval(mut self, interval: Duration) -> Self {
        self.access_flush_interval = interval;
        self
    }

    /// How many writes may wait for the writer; default 1024. When the
    /// queue is full (the disk is slow or the database locked) a write
    /// fails at once rather than waiting.
    ///
    /// ```
    /// use webcache_sqlite::SqliteStore;
    ///
    /// let builder = SqliteStore::builder("/var/cache/shop/webcache.db").write_queue(4096);
    /// # let _ = builder;
    /// ```
    pub fn write_queue(mut self, commands: usize) -> Self {
        self.write_queue = commands;
        self
    }

    /// Opens (or creates) the database file and starts the store's threads.
    ///
    /// This blocks while the file is opened and, if needed, migrated; in
    /// async code call it before serving, or in
    /// `tokio::task::spawn_blocking`. A corrupt file is moved aside and
    /// replaced (see [`SqliteStats::corrupt_files`](crate::SqliteStats));
    /// a file of a newer schema is [`Error::NewerSchema`], one of another
    /// application [`Error::Foreign`], and neither is changed.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("webcache-doc-build-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let store = webcache_sqlite::SqliteStore::builder(dir.join("cache.db")).max_size(64 << 20).build()?;
    /// assert_eq!(store.path(), dir.join("cache.db"));
    /// # drop(store);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<SqliteStore, Error> {
        let settings = self.settings()?;
        let (conn, opened) = open_patiently(&settings)?;
        let shared = Arc::new(Shared::new(settings));
        if opened.moved_aside.is_some() {
            Counters::add(&shared.counters.corrupt_files, 1);
        }
        let readers = (0..self.readers)
            .map(|n| reader::spawn(shared.clone(), n))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Thread)?;
        let writer = writer::spawn(
            shared.clone(),
            conn,
            opened.read_only,
            readers.clone(),
            self.write_queue,
        )
        .map_err(Error::Thread)?;
        Ok(SqliteStore::from_parts(shared, writer, readers))
    }

    fn settings(&self) -> Result<Settings, Error> {
        if self.max_size < MIN_MAX_SIZE {
            return Err(Error::Config("max_size must be at least 64 KiB"));
        }
        if !(1..=64).contains(&self.readers) {
            return Err(Error::Config("readers must be from 1 to 64"));
        }
        if self.busy_timeout.is_zero() || self.write_queue == 0 {
            return Err(Error::Config(
                "busy_timeout and write_queue must be greater than zero",
            ));
        }
        if self.sweep_interval.is_zero() || self.access_flush_interval.is_zero() {
            return Err(Error::Config("intervals must be greater than zero"));
        }
        let cap = self.max_size.saturating_add(self.max_size / 4);
        Ok(Settings {
            path: self.path.clone(),
            max_size: self.max_size,
            max_value_size: self.max_size / 8,
            tuning: Tuning {
                busy_timeout: self.busy_timeout,
                max_page_count: cap.div_ceil(PAGE_SIZE),
                journal_size_limit: (self.max_size / 4).clamp(1 << 20, 64 << 20),
            },
            sweep_interval: self.sweep_interval,
            access_flush_interval: self.access_flush_interval,
            write_batch: 256,
        })
    }
}

/// Opens the writer's connection; while another process holds the file's
/// lock (it is creating or migrating the same new file), tries again for
/// up to two seconds.
fn open_patiently(settings: &Settings) -> Result<(rusqlite::Connection, schema::Opened), Error> {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    loop {
        match schema::open_writer(&settings.path, &settings.tuning) {
            Err(Error::Open { source, .. })
                if is_busy(&source) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

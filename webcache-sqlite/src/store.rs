//! [`SqliteStore`]: the [`Store`] over one SQLite file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};

use bytes::Bytes;
use std::time::Duration;
use tokio::sync::oneshot;
use webcache_core::StoreError;

use webcache_core::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use webcache_core::store::{Store, StoreKey, Write};

use crate::builder::SqliteStoreBuilder;
use crate::error::Error;
use crate::purge::{PurgeAnswer, PurgeOp};
use crate::reader::ReadJob;
use crate::shared::Shared;
use crate::writer::{Command, Reply};

/// A [`Store`] in one SQLite file: persistent across restarts, and shared
/// by every process of the host that opens the same file. Cheap to clone;
/// clones share the threads and connections.
///
/// - **Threads**: one writer connection on a thread of its own, fed by a
///   bounded channel, batching whatever queued up into one
///   `BEGIN IMMEDIATE` transaction; and a small pool of reader
///   connections on their own threads (WAL lets them read while the writer
///   writes). No SQLite call ever runs on the async runtime's threads.
/// - **Expiry**: every write carries its TTL; an expired entry is never
///   returned (reads check it) and is swept in the background.
/// - **Size**: past [`max_size`](SqliteStoreBuilder::max_size) the least
///   recently used entries are evicted. Hits are not writes: their access
///   times are kept in memory and written in batches.
/// - **Faults** are [`StoreError`]s, never panics, and the cache fails
///   open on them. A locked database fails after the busy timeout; a
///   read-only file serves reads, and writes resume when it is writable; a
///   full database or disk evicts and retries; a malformed row is a miss;
///   a corrupt file is moved aside and replaced, at open or when a query
///   finds it. Each is logged (target `webcache::sqlite`) and counted in
///   [`stats`](Self::stats).
///
/// ```
/// use webcache_core::{Cache, Config};
/// use webcache_sqlite::SqliteStore;
///
/// # let dir = std::env::temp_dir().join(format!("webcache-doc-store-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let store = SqliteStore::open(dir.join("cache.db"))?;
/// let cache = Cache::new(store, Config::default());
/// # drop(cache);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    writer: SyncSender<Command>,
    readers: Vec<mpsc::Sender<ReadJob>>,
    next_reader: AtomicUsize,
}

/// What a store has done and met since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteStats {
    /// Corrupt database files moved aside and replaced.
    pub corrupt_files: u64,
    /// Malformed rows read (each a miss).
    pub corrupt_rows: u64,
    /// Entries evicted to keep within the size limit.
    pub evicted: u64,
    /// Expired entries swept.
    pub expired: u64,
    /// Reads that failed.
    pub read_errors: u64,
    /// Write transactions that failed.
    pub write_errors: u64,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.shared.settings.path)
            .field("max_size", &self.inner.shared.settings.max_size)
            .field("readers", &self.inner.readers.len())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the store at `path` with the default settings.
    /// Blocks while the file is opened; see [`SqliteStoreBuilder::build`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("webcache-doc-open-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let store = webcache_sqlite::SqliteStore::open(dir.join("cache.db"))?;
    /// # drop(store);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl Into<PathBuf>) -> Result<SqliteStore, Error> {
        SqliteStore::builder(path).build()
    }

    /// A builder for a store at `path`, to set its size, readers and
    /// timeouts.
    ///
    /// ```
    /// let builder = webcache_sqlite::SqliteStore::builder("/var/cache/app/webcache.db")
    ///     .max_size(4 << 30);
    /// # let _ = builder;
    /// ```
    pub fn builder(path: impl Into<PathBuf>) -> SqliteStoreBuilder {
        SqliteStoreBuilder::new(path.into())
    }

    pub(crate) fn from_parts(
        shared: Arc<Shared>,
        writer: SyncSender<Command>,
        readers: Vec<mpsc::Sender<ReadJob>>,
    ) -> SqliteStore {
        SqliteStore {
            inner: Arc::new(Handle {
                shared,
                writer,
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.shared.settings.path
    }

    /// What the store has done and met since it was opened.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("webcache-doc-stats-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let store = webcache_sqlite::SqliteStore::open(dir.join("cache.db"))?;
    /// assert_eq!(store.stats().corrupt_files, 0);
    /// # drop(store);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> SqliteStats {
        let c = &self.inner.shared.counters;
        let get = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        SqliteStats {
            corrupt_files: get(&c.corrupt_files),
            corrupt_rows: get(&c.corrupt_rows),
            evicted: get(&c.evicted),
            expired: get(&c.expired),
            read_errors: get(&c.read_errors),
            write_errors: get(&c.write_errors),
        }
    }

    /// Runs now what the writer does in the background: writes the access
    /// times of recent hits, sweeps expired entries, and evicts past the
    /// size limit (and, if a query found the file corrupt, replaces it).
    pub async fn maintain(&self) -> Result<(), StoreError> {
        self.command(Command::Maintain).await
    }

    /// Writes what is pending, closes every connection and stops the
    /// store's threads; later operations fail with a
    /// [`StoreError::Unavailable`]. Dropping the last clone does the same
    /// without waiting.
    pub async fn close(&self) -> Result<(), StoreError> {
        self.command(Command::Close).await
    }

    async fn purge(&self, op: PurgeOp) -> Result<PurgeAnswer, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .writer
            .try_send(Command::Purge(op, tx))
            .map_err(|e| {
                match e {
                    TrySendError::Full(_) => Error::QueueFull,
                    TrySendError::Disconnected(_) => Error::Closed,
                }
                .into_store_error()
            })?;
        match rx.await {
            Ok(result) => result.map_err(Error::into_store_error),
            Err(_) => Err(Error::Closed.into_store_error()),
        }
    }

    async fn command(&self, make: impl FnOnce(Reply) -> Command) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        self.inner.writer.try_send(make(tx)).map_err(|e| {
            match e {
                TrySendError::Full(_) => Error::QueueFull,
                TrySendError::Disconnected(_) => Error::Closed,
            }
            .into_store_error()
        })?;
        match rx.await {
            Ok(result) => result.map_err(Error::into_store_error),
            Err(_) => Err(Error::Closed.into_store_error()),
        }
    }
}

impl Store for SqliteStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let readers = &self.inner.readers;
        let n = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len();
        let (tx, rx) = oneshot::channel();
        let job = ReadJob::Get {
            keys: keys.to_vec(),
            reply: tx,
        };
        if readers[n].send(job).is_err() {
            return Err(Error::Closed.into_store_error());
        }
        match rx.await {
            Ok(result) => result.map_err(Error::into_store_error),
            Err(_) => Err(Error::Closed.into_store_error()),
        }
    }

    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.command(|reply| Command::Put(writes, reply)).await
    }

    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys = keys.to_vec();
        self.command(|reply| Command::Delete(keys, reply)).await
    }

    async fn delete_resource(&self, resource: &[u8; 16]) -> Result<(), StoreError> {
        let resource = *resource;
        self.command(|reply| Command::DeleteResource(resource, reply))
            .await
    }

    /// One writer transaction: each record read and rewritten by key.
    async fn bump(&self, keys: &[StoreKey], bump: Bump) -> Result<Vec<PurgeRecord>, StoreError> {
        match self.purge(PurgeOp::Bump(keys.to_vec(), bump)).await? {
            PurgeAnswer::Records(records) => Ok(records),
            _ => Err(Error::Closed.into_store_error()),
        }
    }

    /// One writer transaction: a row per tag, and its marks read.
    async fn tag(
        &self,
        tags: &[[u8; 16]],
        resource: &[u8; 16],
        ttl: Duration,
    ) -> Result<TagMarks, StoreError> {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let expires_at = crate::schema::now_ms().saturating_add(ttl);
        match self
            .purge(PurgeOp::Tag(tags.to_vec(), *resource, expires_at))
            .await?
        {
            PurgeAnswer::Marks(marks) => Ok(marks),
            _ => Err(Error::Closed.into_store_error()),
        }
    }

    /// One writer transaction: the marks raised, the tag's rows read and
    /// deleted (one range of the primary key).
    async fn take_tag(
        &self,
        tag: &[u8; 16],
        seq: u64,
        mode: PurgeMode,
    ) -> Result<Vec<[u8; 16]>, StoreError> {
        match self.purge(PurgeOp::Take(*tag, seq, mode)).await? {
            PurgeAnswer::Members(members) => Ok(members),
            _ => Err(Error::Closed.into_store_error()),
        }
    }
}

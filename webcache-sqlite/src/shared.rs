//! What the store's threads share: settings, counters, the access times
//! not yet written, and the generation of the database file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::buffers::BufferPool;
use crate::error::{Error, Fault, fault};
use crate::schema::Tuning;

/// The id of a row ([`row_id`](crate::schema::row_id)).
pub(crate) type RowKey = i64;

/// The most access times held in memory between two flushes; past it,
/// further hits are not recorded (eviction order is a heuristic).
const MAX_PENDING_ACCESSES: usize = 100_000;

/// Settings fixed when the store is built.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) path: PathBuf,
    pub(crate) max_size: u64,
    pub(crate) max_value_size: u64,
    pub(crate) tuning: Tuning,
    pub(crate) sweep_interval: Duration,
    pub(crate) access_flush_interval: Duration,
    pub(crate) write_batch: usize,
}

/// State shared by the writer, the readers and the handles.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    /// Bumped each time the file is replaced; readers reopen when it moves.
    pub(crate) generation: AtomicU64,
    /// Set by a reader that found the file corrupt; the writer rebuilds.
    pub(crate) corrupt: AtomicBool,
    /// Set when the store is closed.
    pub(crate) closed: AtomicBool,
    accesses: Mutex<HashMap<RowKey, i64>>,
    pub(crate) counters: Counters,
    /// Reused buffers for large values read.
    pub(crate) buffers: Arc<BufferPool>,
}

impl Shared {
    pub(crate) fn new(settings: Settings) -> Shared {
        Shared {
            settings,
            generation: AtomicU64::new(0),
            corrupt: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            accesses: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            buffers: Arc::new(BufferPool::default()),
        }
    }

    /// Notes hits on `keys` at `now_ms`, to be written at the next flush.
    pub(crate) fn record_accesses(&self, keys: &[RowKey], now_ms: i64) {
        if keys.is_empty() {
            return;
        }
        let Ok(mut map) = self.accesses.lock() else {
            return;
        };
        for key in keys {
            if map.len() < MAX_PENDING_ACCESSES || map.contains_key(key) {
                map.insert(*key, now_ms);
            }
        }
    }

    /// Takes the access times recorded since the last flush.
    pub(crate) fn take_accesses(&self) -> HashMap<RowKey, i64> {
        match self.accesses.lock() {
            Ok(mut map) => std::mem::take(&mut *map),
            Err(_) => HashMap::new(),
        }
    }

    /// Counts a failed read, reports a corrupt file, and passes the error on.
    pub(crate) fn note_read_error(&self, error: Error) -> Error {
        Counters::add(&self.counters.read_errors, 1);
        if let Error::Sqlite(e) = &error {
            if fault(e) == Fault::Corrupt {
                self.report_corrupt(e);
            }
        }
        error
    }

    /// The error for each lookup of a batch that has no connection: a copy
    /// of `error` (which is not `Clone`), counted.
    pub(crate) fn read_failed(&self, error: &Error) -> Error {
        Counters::add(&self.counters.read_errors, 1);
        match error {
            Error::Sqlite(e) => Error::Sqlite(copy_sqlite_error(e)),
            Error::Rebuilding => Error::Rebuilding,
            _ => Error::Closed,
        }
    }

    /// Reports a file found corrupt by a query.
    pub(crate) fn report_corrupt(&self, error: &rusqlite::Error) {
        if !self.corrupt.swap(true, Ordering::SeqCst) {
            tracing::error!(target: "webcache::sqlite", path = %self.settings.path.display(), %error, "the cache database is corrupt: it will be moved aside and rebuilt");
        }
    }
}

/// Counters of what the store did and what went wrong.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) corrupt_files: AtomicU64,
    pub(crate) corrupt_rows: AtomicU64,
    pub(crate) evicted: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) read_errors: AtomicU64,
    pub(crate) write_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A copy of a SQLite error's code and message (rusqlite's error is not
/// `Clone`).
fn copy_sqlite_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

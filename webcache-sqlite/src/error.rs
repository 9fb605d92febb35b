//! Errors of this crate, and how they become [`StoreError`]s for the cache.

use std::path::PathBuf;

use rusqlite::ErrorCode;
use webcache_core::StoreError;

/// Errors of the SQLite store.
///
/// [`SqliteStore::open`](crate::SqliteStore::open) and
/// [`SqliteStoreBuilder::build`](crate::SqliteStoreBuilder::build) return
/// them directly. Operations on an open store report [`StoreError`]s, which
/// the cache logs, counts and fails open on; this type is then their
/// [source](std::error::Error::source).
///
/// ```
/// use webcache_sqlite::{Error, SqliteStore};
///
/// let bad = SqliteStore::builder(std::env::temp_dir().join("x.db")).readers(0).build();
/// assert!(matches!(bad, Err(Error::Config(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range.
    #[error("invalid SQLite store setting: {0}")]
    Config(&'static str),
    /// The database file cannot be opened or set up.
    #[error("cannot open the SQLite store at {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer release of this crate, whose schema
    /// this release does not know. Nothing was changed in it.
    #[error(
        "{} holds a webcache-sqlite schema of version {found}; this release reads versions up to {supported}: use a newer release, or another file",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The file's schema version (`PRAGMA user_version`).
        found: i64,
        /// The newest version this release knows.
        supported: i64,
    },
    /// The file is an SQLite database of some other application. Nothing was
    /// changed in it.
    #[error("{} is an SQLite database of another application, not a webcache store", path.display())]
    Foreign {
        /// The database file.
        path: PathBuf,
    },
    /// A corrupt database file could not be moved out of the way.
    #[error("cannot move the corrupt database {} aside: {source}", path.display())]
    MoveAside {
        /// The database file.
        path: PathBuf,
        /// The file system's error.
        #[source]
        source: std::io::Error,
    },
    /// The store's threads could not be started.
    #[error("cannot start the SQLite store's threads: {0}")]
    Thread(#[source] std::io::Error),
    /// An operation failed in SQLite.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A value is larger than the store keeps (an eighth of its maximum
    /// size), so it was not written.
    #[error("a value of {size} bytes is larger than this store keeps ({limit} bytes)")]
    TooLarge {
        /// The value's size.
        size: usize,
        /// The largest value kept.
        limit: u64,
    },
    /// The write queue is full: the writer is behind (a locked or slow
    /// disk), so the write was dropped at once rather than waited for.
    #[error("the SQLite store's write queue is full")]
    QueueFull,
    /// The database file is being replaced after corruption was found.
    #[error("the SQLite store is rebuilding its database file")]
    Rebuilding,
    /// The store was closed.
    #[error("the SQLite store is closed")]
    Closed,
}

impl Error {
    /// The [`StoreError`] the cache sees: the database busy or locked by
    /// another connection, the queue full, the store closed or rebuilding
    /// are [`StoreError::Unavailable`]; anything else is
    /// [`StoreError::Backend`]. `self` is kept as the source.
    pub(crate) fn into_store_error(self) -> StoreError {
        let unavailable = match &self {
            Error::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ),
            Error::QueueFull | Error::Rebuilding | Error::Closed => true,
            _ => false,
        };
        if unavailable {
            StoreError::Unavailable(Box::new(self))
        } else {
            StoreError::Backend(Box::new(self))
        }
    }
}

/// What a failed SQLite call says about the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The file is damaged or not a database: move it aside and rebuild.
    Corrupt,
    /// The file cannot be written (read-only, or gone): reopen later.
    Unwritable,
    /// The database or the disk is full: evict, then retry.
    Full,
    /// Anything else (busy, locked, a constraint): report it and go on.
    Other,
}

/// Classifies `error`. A table of the store's own schema that is gone
/// counts as corrupt: the schema was checked when the file was opened, so
/// the file has been damaged or overwritten since (which of the two
/// errors SQLite reports for damaged pages depends on whether the
/// connection had read the schema before the damage).
pub(crate) fn fault(error: &rusqlite::Error) -> Fault {
    if is_missing_table(error) {
        return Fault::Corrupt;
    }
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Fault::Corrupt,
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::SystemIoFailure) => {
            Fault::Unwritable
        }
        Some(ErrorCode::DiskFull) => Fault::Full,
        _ => Fault::Other,
    }
}

/// SQLite's generic error for a statement naming a table the file does
/// not have ("no such table: <name>").
fn is_missing_table(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, Some(message))
            if e.code == ErrorCode::Unknown && message.starts_with("no such table")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn busy_and_locked_are_unavailable() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            let e = Error::Sqlite(sqlite(code)).into_store_error();
            assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
        }
        assert!(matches!(
            Error::Closed.into_store_error(),
            StoreError::Unavailable(_)
        ));
    }

    #[test]
    fn faults_are_classified() {
        assert_eq!(
            fault(&sqlite(rusqlite::ffi::SQLITE_CORRUPT)),
            Fault::Corrupt
        );
        assert_eq!(fault(&sqlite(rusqlite::ffi::SQLITE_NOTADB)), Fault::Corrupt);
        let with = |code, message: &str| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message.into()))
        };
        let missing = with(rusqlite::ffi::SQLITE_ERROR, "no such table: entries");
        assert_eq!(fault(&missing), Fault::Corrupt);
        let other = with(rusqlite::ffi::SQLITE_ERROR, "near \"x\": syntax error");
        assert_eq!(fault(&other), Fault::Other);
        assert_eq!(
            fault(&sqlite(rusqlite::ffi::SQLITE_READONLY)),
            Fault::Unwritable
        );
        assert_eq!(fault(&sqlite(rusqlite::ffi::SQLITE_FULL)), Fault::Full);
        assert_eq!(fault(&sqlite(rusqlite::ffi::SQLITE_BUSY)), Fault::Other);
        let e = Error::Sqlite(sqlite(rusqlite::ffi::SQLITE_FULL)).into_store_error();
        assert!(matches!(e, StoreError::Backend(_)));
    }
}

//! The database file: connection settings, the schema and its versions,
//! and what happens to a file that is damaged, older or newer.
//!
//! Version 1:
//!
//! ```sql
//! CREATE TABLE entries (
//!     id          INTEGER PRIMARY KEY, -- a stable 64-bit mix of (resource, variant)
//!     resource    BLOB NOT NULL,       -- StoreKey::resource, 16 bytes
//!     variant     BLOB NOT NULL,       -- the variant digest; empty for metadata
//!     value       BLOB NOT NULL,       -- the encoded entry, as the cache wrote it
//!     expires_at  INTEGER NOT NULL,    -- Unix time in ms; never served from then on
//!     accessed_at INTEGER NOT NULL     -- Unix time in ms of the last (flushed) hit
//! );
//! CREATE INDEX entries_expiry ON entries (expires_at);
//! CREATE INDEX entries_lru ON entries (accessed_at);
//! ```
//!
//! A lookup is one descent of the table's own b-tree, by `id` (see
//! [`row_id`]): 44 bits from the resource, so a resource's rows are
//! neighbours and removing a resource is a range of ids, and 20 from the
//! variant. The row's `resource` and `variant` are compared with the key,
//! so two keys of one id (one chance in 2^64 for keys of two resources, in
//! 2^20 for two variants of one resource) cost a miss, never a wrong
//! answer. `entries_expiry` serves the sweep, `entries_lru` eviction.
//!
//! Version 2, the current one, adds what purges need (see
//! [`webcache_core::purge`]): the purge records, which neither the sweep
//! nor eviction touches (they must outlive every entry stored before
//! them), and the tag indexes with their marks:
//!
//! ```sql
//! CREATE TABLE purge_records (
//!     key   BLOB PRIMARY KEY,  -- StoreKey::to_bytes of a purge or global key
//!     value BLOB NOT NULL      -- the encoded PurgeRecord
//! ) WITHOUT ROWID;
//! CREATE TABLE tags (
//!     tag        BLOB NOT NULL,     -- the tag's digest
//!     resource   BLOB NOT NULL,     -- a resource stored with the tag
//!     expires_at INTEGER NOT NULL,  -- the longest TTL it was stored with
//!     PRIMARY KEY (tag, resource)
//! ) WITHOUT ROWID;
//! CREATE INDEX tags_expiry ON tags (expires_at);
//! CREATE TABLE tag_marks (
//!     tag  BLOB PRIMARY KEY,   -- the tag's digest
//!     hard INTEGER NOT NULL,   -- sequence number of its last hard purge
//!     soft INTEGER NOT NULL    -- of its last soft purge
//! ) WITHOUT ROWID;
//! ```
//!
//! A purge reads and writes these by primary key, a tag purge one range
//! of `tags`: no table scan.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Fault, fault};

/// The schema version this release writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 2;

/// `PRAGMA application_id` of a webcache store: "WCch".
pub(crate) const APPLICATION_ID: i64 = 0x5743_6368;

/// Steps from version `i` to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 → 1: the first layout.
    "CREATE TABLE entries (
         id INTEGER PRIMARY KEY,
         resource BLOB NOT NULL,
         variant BLOB NOT NULL,
         value BLOB NOT NULL,
         expires_at INTEGER NOT NULL,
         accessed_at INTEGER NOT NULL
     );
     CREATE INDEX entries_expiry ON entries (expires_at);
     CREATE INDEX entries_lru ON entries (accessed_at);",
    // 1 → 2: purge records and tags.
    "CREATE TABLE purge_records (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
     CREATE TABLE tags (
         tag BLOB NOT NULL,
         resource BLOB NOT NULL,
         expires_at INTEGER NOT NULL,
         PRIMARY KEY (tag, resource)
     ) WITHOUT ROWID;
     CREATE INDEX tags_expiry ON tags (expires_at);
     CREATE TABLE tag_marks (
         tag BLOB PRIMARY KEY,
         hard INTEGER NOT NULL,
         soft INTEGER NOT NULL
     ) WITHOUT ROWID;",
];

/// The tables and indexes any version of this crate ever made, dropped
/// when a file is rebuilt.
const OWN_OBJECTS: &[&str] = &["entries", "purge_records", "tags", "tag_marks"];

/// What a connection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes.
    Writer,
    /// A connection of the reader pool.
    Reader,
}

/// Connection settings shared by every connection of a store.
#[derive(Clone, Debug)]
pub(crate) struct Tuning {
    pub(crate) busy_timeout: Duration,
    /// The hard cap on the file, in pages of [`PAGE_SIZE`].
    pub(crate) max_page_count: u64,
    pub(crate) journal_size_limit: u64,
}

/// The page size of new files.
pub(crate) const PAGE_SIZE: u64 = 4096;

/// The bits of a row id that tell the rows of one resource apart.
const VARIANT_BITS: u32 = 20;
const VARIANT_MASK: u64 = (1 << VARIANT_BITS) - 1;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn word(bytes: &[u8; 16], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// The ids of a resource's rows: `first..=last`. The high 44 bits mix the
/// resource digest (SplitMix64's finaliser over each word; the same on
/// every platform and release — it is written to the file), so a
/// resource's metadata and representations sit side by side in the table
/// (a hit reads one page), and removing a resource is a range of ids.
pub(crate) fn resource_ids(resource: &[u8; 16]) -> (i64, i64) {
    let first = mix(mix(word(resource, 0)) ^ word(resource, 8)) & !VARIANT_MASK;
    (first as i64, (first | VARIANT_MASK) as i64)
}

/// The row id of a key: its resource's first id for the metadata, plus a
/// mix of the variant digest from 1 to 2^20 − 1 for a representation.
pub(crate) fn row_id(resource: &[u8; 16], variant: Option<&[u8; 16]>) -> i64 {
    let (first, _) = resource_ids(resource);
    let low = match variant {
        None => 0,
        Some(v) => 1 + mix(mix(word(v, 0)) ^ word(v, 8)) % VARIANT_MASK,
    };
    first | low as i64
}

/// Unix time in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Opens one connection with the per-connection settings: a busy timeout,
/// `synchronous=NORMAL`, a statement cache, and for the writer the page
/// cap and the WAL size limit.
pub(crate) fn connect(path: &Path, role: Role, tuning: &Tuning) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if role == Role::Writer {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(tuning.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(16);
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    if role == Role::Writer {
        conn.pragma_update(None, "max_page_count", tuning.max_page_count)?;
        conn.pragma_update(None, "journal_size_limit", tuning.journal_size_limit)?;
    } else {
        // 8 MiB of pages per reader (SQLite's default is 2 MiB): the upper
        // levels of the b-trees and a hot set stay in memory.
        conn.pragma_update(None, "cache_size", -8192)?;
    }
    Ok(conn)
}

/// What opening the file found.
#[derive(Debug, Default)]
pub(crate) struct Opened {
    /// The file was corrupt and moved here.
    pub(crate) moved_aside: Option<PathBuf>,
    /// The file cannot be written: the store serves reads only.
    pub(crate) read_only: bool,
}

/// Opens the writer's connection and brings the file to the current
/// schema; a corrupt file is moved aside and a new one made in its place.
pub(crate) fn open_writer(path: &Path, tuning: &Tuning) -> Result<(Connection, Opened), Error> {
    let open_error = |source| Error::Open {
        path: path.to_owned(),
        source,
    };
    match connect(path, Role::Writer, tuning).map_err(open_error) {
        Ok(mut conn) => match prepare(&mut conn, path) {
            Ok(opened) => return Ok((conn, opened)),
            Err(Error::Open { source, .. }) if fault(&source) == Fault::Corrupt => drop(conn),
            Err(e) => return Err(e),
        },
        Err(Error::Open { source, .. }) if fault(&source) == Fault::Corrupt => {}
        Err(e) => return Err(e),
    }
    let aside = move_aside(path)?;
    tracing::error!(
        target: "webcache::sqlite",
        path = %path.display(),
        moved_to = %aside.display(),
        "the cache database is corrupt: moved aside, starting a new one"
    );
    let mut conn = connect(path, Role::Writer, tuning).map_err(open_error)?;
    let mut opened = prepare(&mut conn, path)?;
    opened.moved_aside = Some(aside);
    Ok((conn, opened))
}

/// Sets the file-wide settings and migrates the schema.
fn prepare(conn: &mut Connection, path: &Path) -> Result<Opened, Error> {
    let sql = |source| Error::Open {
        path: path.to_owned(),
        source,
    };
    // Reads page 1: a file that is not a database fails here.
    let (version, app_id, objects) = inspect(conn).map_err(sql)?;
    check_owner(path, version, app_id, &objects)?;
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(sql)? {
        // Reads still work; every write fails until the file is writable.
        return Ok(Opened {
            read_only: true,
            ..Opened::default()
        });
    }
    if objects.is_empty() {
        // Must come before the first table, or it would take a VACUUM.
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
            .map_err(sql)?;
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(sql)?;
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(target: "webcache::sqlite", path = %path.display(), %mode, "WAL is not available here; readers will wait for writes");
    }
    migrate(conn, path)?;
    ensure_incremental_vacuum(conn).map_err(sql)?;
    Ok(Opened::default())
}

/// The schema version, the application id and the names of the tables.
fn inspect(conn: &Connection) -> rusqlite::Result<(i64, i64, Vec<String>)> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let app_id: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let objects = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((version, app_id, objects))
}

/// Refuses a file of another application or of a newer release.
fn check_owner(path: &Path, version: i64, app_id: i64, objects: &[String]) -> Result<(), Error> {
    let ours = app_id == APPLICATION_ID || (app_id == 0 && objects.is_empty());
    if !ours {
        return Err(Error::Foreign {
            path: path.to_owned(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Brings the schema to [`SCHEMA_VERSION`] in one `BEGIN IMMEDIATE`
/// transaction (so two processes opening one new file do it once). A file
/// whose steps fail (a layout no release wrote) is rebuilt: its tables are
/// dropped and made anew — it is a cache.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), Error> {
    let sql = |source| Error::Open {
        path: path.to_owned(),
        source,
    };
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)?;
    let (version, app_id, objects) = inspect(&tx).map_err(sql)?;
    check_owner(path, version, app_id, &objects)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let from = usize::try_from(version).unwrap_or(0);
    let stepped = MIGRATIONS
        .get(from..)
        .unwrap_or_default()
        .iter()
        .try_for_each(|step| tx.execute_batch(step));
    if let Err(error) = stepped {
        tracing::warn!(target: "webcache::sqlite", path = %path.display(), version, %error, "older schema cannot be migrated: rebuilding the cache");
        rebuild_tables(&tx).map_err(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(sql)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(sql)?;
    tx.commit().map_err(sql)?;
    if version > 0 || !objects.is_empty() {
        tracing::info!(target: "webcache::sqlite", path = %path.display(), from = version, to = SCHEMA_VERSION, "cache schema migrated");
    }
    Ok(())
}

/// Drops every table this crate ever made and creates the current ones.
fn rebuild_tables(conn: &Connection) -> rusqlite::Result<()> {
    for name in OWN_OBJECTS {
        conn.execute_batch(&format!("DROP TABLE IF EXISTS {name};"))?;
    }
    MIGRATIONS
        .iter()
        .try_for_each(|step| conn.execute_batch(step))
}

/// A file made before incremental auto-vacuum was set gets it (one VACUUM).
fn ensure_incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mode: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
    if mode != 2 {
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.execute_batch("VACUUM;")?;
    }
    Ok(())
}

/// Which file a path names (device and inode on Unix), to tell a file
/// from the one another process put in its place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId(u64, u64);

impl FileId {
    /// The file at `path`, if there is one (always `None` off Unix).
    pub(crate) fn of(path: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(path).ok()?;
            Some(FileId(meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }
}

/// Moves a corrupt file (and its WAL and shared-memory files) to
/// `<path>.corrupt-<unix ms>`, where it can be examined; returns the new
/// path of the database file.
pub(crate) fn move_aside(path: &Path) -> Result<PathBuf, Error> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{}", now_ms()));
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside).map_err(|source| Error::MoveAside {
        path: path.to_owned(),
        source,
    })?;
    for suffix in ["-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        // Absent when the file was not in WAL mode; then nothing to move.
        let _ = std::fs::rename(&from, &to);
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are written to files: this one must never change.
    const PINNED: i64 = 4_875_085_911_306_812_114;

    #[test]
    fn row_ids_are_stable_and_tell_keys_apart() {
        let r = [7u8; 16];
        // Written to files: must never change.
        assert_eq!(row_id(&r, None), row_id(&[7u8; 16], None));
        let ids = [
            row_id(&r, None),
            row_id(&r, Some(&[0; 16])),
            row_id(&r, Some(&[1; 16])),
            row_id(&[8; 16], None),
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // A resource's rows share its range.
        let (first, last) = resource_ids(&r);
        for id in &ids[..3] {
            assert!((first..=last).contains(id));
        }
        assert!(!(first..=last).contains(&ids[3]));
        assert_eq!(row_id(&r, None), first);
        assert_eq!(row_id(&[1; 16], Some(&[2; 16])), PINNED);
    }
}

//! Faults fail open and recover: a database locked by another process, a
//! read-only file, a full database, a malformed row, a corrupt file, and
//! files of other schema versions. Each is a store error or a miss, never
//! a panic, and the cache keeps answering from the origin.

mod support;

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::StatusCode;
use rusqlite::Connection;
use support::{Origin, TempDir, body, child_role, get, is_hit, spawn_child};
use webcache_core::store::{Store, StoreKey};
use webcache_core::{Cache, Config, StoreError};
use webcache_sqlite::{Error, SCHEMA_VERSION, SqliteStore};

const TTL: Duration = Duration::from_secs(60);

fn key(n: u8) -> StoreKey {
    StoreKey::representation([n; 16], [n.wrapping_add(1); 16])
}

fn value(len: usize, n: u8) -> Bytes {
    Bytes::from(vec![n; len])
}

/// The child's half of the lock test: holds an exclusive write lock on the
/// file until its standard input is closed.
#[test]
fn child_process() {
    let Some((role, db)) = child_role() else {
        return;
    };
    assert_eq!(role, "lock");
    let conn = Connection::open(&db).expect("the child opens the file");
    conn.execute_batch("BEGIN EXCLUSIVE; DELETE FROM entries WHERE 0;")
        .expect("the child takes the write lock");
    println!("LOCKED");
    std::io::stdout().flush().expect("flush");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    conn.execute_batch("COMMIT;").expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_process_fails_writes_fast_and_recovers() {
    let dir = TempDir::new("locked");
    let store = SqliteStore::open(dir.db()).expect("open");
    store.put(key(1), value(10, 1), TTL).await.expect("put");

    let mut child = spawn_child("child_process", "lock", &dir.db());
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    // The test harness prints its own lines first.
    let locked = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line == "LOCKED");
    assert!(locked, "the child holds the lock");

    // Writes fail after the busy timeout (100 ms) instead of waiting for
    // the lock; the bound below is loose, so that a loaded machine does
    // not fail the test, yet far below the lock's lifetime. Reads go on
    // (WAL).
    let started = Instant::now();
    let error = store
        .put(key(2), value(10, 2), TTL)
        .await
        .expect_err("the database is locked");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        store.get(key(1)).await.expect("reads go on"),
        Some(value(10, 1))
    );

    // The cache fails open: the origin answers, and nothing fails.
    let cache = Cache::new(store.clone(), Config::default());
    let origin = Origin::default();
    let r = cache
        .serve(get("http://locked.test/a"), origin.clone())
        .await
        .expect("served");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await, "/a 1");

    // The other process lets go: writes work again.
    drop(child.stdin.take());
    assert!(child.wait().expect("the child exits").success());
    store
        .put(key(2), value(10, 2), TTL)
        .await
        .expect("put after the lock");
    assert_eq!(store.get(key(2)).await.expect("get"), Some(value(10, 2)));
}

/// Makes `path` read-only even for root (the immutable attribute, where
/// the file system has it). False when the file stays writable.
fn make_read_only(path: &Path, on: bool) -> bool {
    let mut perms = std::fs::metadata(path).expect("metadata").permissions();
    perms.set_readonly(on);
    let chattr = |flag: &str| {
        let _ = std::process::Command::new("chattr")
            .args([flag, &path.display().to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    };
    if on {
        std::fs::set_permissions(path, perms).expect("chmod");
        chattr("+i");
        std::fs::OpenOptions::new().write(true).open(path).is_err()
    } else {
        chattr("-i");
        std::fs::set_permissions(path, perms).expect("chmod");
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_file_serves_reads_and_writes_resume_when_writable() {
    let dir = TempDir::new("readonly");
    let store = SqliteStore::open(dir.db()).expect("open");
    store.put(key(1), value(10, 1), TTL).await.expect("put");
    store.close().await.expect("close");
    drop(store);
    if !make_read_only(&dir.db(), true) {
        make_read_only(&dir.db(), false);
        eprintln!("skipping: cannot make a file read-only here (root without chattr)");
        return;
    }
    // Lifts the attribute however the test ends, so the directory can go.
    struct Writable<'a>(&'a Path);
    impl Drop for Writable<'_> {
        fn drop(&mut self) {
            make_read_only(self.0, false);
        }
    }
    let db = dir.db();
    let writable = Writable(&db);

    let store = SqliteStore::open(dir.db()).expect("a read-only file opens");
    assert_eq!(
        store.get(key(1)).await.expect("reads work"),
        Some(value(10, 1))
    );
    let error = store
        .put(key(2), value(10, 2), TTL)
        .await
        .expect_err("the file is read-only");
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    let cache = Cache::new(store.clone(), Config::default());
    let r = cache
        .serve(get("http://readonly.test/a"), Origin::default())
        .await
        .expect("served");
    assert_eq!(r.status(), StatusCode::OK);

    // Writable again: the writer reopens the file (at most a second later)
    // and writes resume.
    drop(writable);
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.put(key(2), value(10, 2), TTL).await.is_err() {
        assert!(Instant::now() < deadline, "writes resume within seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.get(key(2)).await.expect("get"), Some(value(10, 2)));
    assert!(store.stats().write_errors >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_fails_the_write_then_evicts_and_goes_on() {
    let dir = TempDir::new("full");
    // 256 KiB, capped at 320 KiB; values up to 32 KiB.
    let store = SqliteStore::builder(dir.db())
        .max_size(256 << 10)
        .build()
        .expect("open");
    // One write of 20 × 20 KiB can never fit: SQLITE_FULL, an error.
    let writes = (0..20)
        .map(|n| webcache_core::store::Write::new(key(n), value(20 << 10, n), TTL))
        .collect();
    let error = store
        .put_many(writes)
        .await
        .expect_err("larger than the file may grow");
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    assert!(error.to_string().contains("full"), "{error}");
    // A value over an eighth of the size is refused before it is written.
    let error = store
        .put(key(99), value(40 << 10, 9), TTL)
        .await
        .expect_err("too large");
    let source = std::error::Error::source(&error).expect("a source");
    assert!(
        matches!(source.downcast_ref::<Error>(), Some(Error::TooLarge { .. })),
        "{source}"
    );

    // Many writes that together exceed the size: each succeeds, the least
    // recently used are evicted, the file stays within its cap.
    for n in 0..100u8 {
        store
            .put(key(n), value(10 << 10, n), TTL)
            .await
            .expect("writes go on past the limit");
    }
    store.maintain().await.expect("maintain");
    assert!(store.stats().evicted > 0, "{:?}", store.stats());
    assert_eq!(
        store.get(key(99)).await.expect("get"),
        Some(value(10 << 10, 99))
    );
    assert_eq!(
        store.get(key(0)).await.expect("get"),
        None,
        "the oldest was evicted"
    );
    let size = std::fs::metadata(dir.db()).expect("metadata").len();
    assert!(size <= 320 << 10, "the file is {size} bytes");

    // And through the cache, the origin's answers still come through.
    let cache = Cache::new(store, Config::default());
    let r = cache
        .serve(get("http://full.test/a"), Origin::default())
        .await
        .expect("served");
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_recently_used_entries_are_evicted_first() {
    let dir = TempDir::new("lru");
    let store = SqliteStore::builder(dir.db())
        .max_size(1 << 20)
        .build()
        .expect("open");
    for n in 0..40u8 {
        store
            .put(key(n), value(16 << 10, n), TTL)
            .await
            .expect("put");
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Entry 0 is read (a hit records its time in memory, not a write).
    assert!(store.get(key(0)).await.expect("get").is_some());
    store.maintain().await.expect("flush the access times");
    // 70 entries of 16 KiB do not fit in 1 MiB: some 15 are evicted.
    for n in 40..70u8 {
        store
            .put(key(n), value(16 << 10, n), TTL)
            .await
            .expect("put");
    }
    store.maintain().await.expect("maintain");
    let evicted = store.stats().evicted;
    assert!((1..39).contains(&evicted), "{evicted}");
    assert!(
        store.get(key(0)).await.expect("get").is_some(),
        "the entry read later stays"
    );
    assert_eq!(
        store.get(key(1)).await.expect("get"),
        None,
        "an older unread one went"
    );
    assert!(store.get(key(69)).await.expect("get").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_entries_are_never_served_and_are_swept() {
    let dir = TempDir::new("expiry");
    let store = SqliteStore::open(dir.db()).expect("open");
    store
        .put(key(1), value(10, 1), Duration::from_millis(100))
        .await
        .expect("put");
    store.put(key(2), value(10, 2), TTL).await.expect("put");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(store.get(key(1)).await.expect("get"), None);
    store.maintain().await.expect("sweep");
    assert_eq!(store.stats().expired, 1);
    let conn = Connection::open(dir.db()).expect("inspect");
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 1, "the expired row is gone from the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_row_is_a_miss() {
    let dir = TempDir::new("row");
    let store = SqliteStore::open(dir.db()).expect("open");
    let cache = Cache::new(store.clone(), Config::default());
    let origin = Origin::default();
    cache
        .serve(get("http://row.test/a"), origin.clone())
        .await
        .expect("miss");
    cache.quiesce().await;
    // Another program damages every row: values that are not blobs,
    // expiry times that are not numbers.
    let conn = Connection::open(dir.db()).expect("inspect");
    let changed = conn
        .execute(
            "UPDATE entries SET value = 'damaged', expires_at = 'soon'",
            [],
        )
        .expect("damage");
    assert!(changed >= 2, "metadata and representation");
    let r = cache
        .serve(get("http://row.test/a"), origin.clone())
        .await
        .expect("served");
    assert!(!is_hit(&r));
    assert_eq!(body(r).await, "/a 2", "a miss, answered by the origin");
    assert!(store.stats().corrupt_rows >= 1, "{:?}", store.stats());
    assert_eq!(store.stats().read_errors, 0);
    // The refill replaced the damaged rows: hits again.
    cache.quiesce().await;
    let r = cache
        .serve(get("http://row.test/a"), origin.clone())
        .await
        .expect("served");
    assert!(is_hit(&r));
}

/// The files `<db>.corrupt-*` beside the database.
fn moved_aside(dir: &TempDir) -> Vec<String> {
    std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| {
            name.starts_with("cache.db.corrupt-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_file_is_moved_aside_and_replaced_at_open() {
    let dir = TempDir::new("corrupt-open");
    std::fs::write(dir.db(), vec![0x5a; 16 << 10]).expect("garbage");
    let store = SqliteStore::open(dir.db()).expect("opens anyway");
    assert_eq!(store.stats().corrupt_files, 1);
    assert_eq!(
        moved_aside(&dir).len(),
        1,
        "the old file is kept for examination"
    );
    let cache = Cache::new(store.clone(), Config::default());
    let origin = Origin::default();
    for _ in 0..2 {
        cache
            .serve(get("http://corrupt.test/a"), origin.clone())
            .await
            .expect("served");
        cache.quiesce().await;
    }
    assert_eq!(origin.calls(), 1, "the new file stores and serves");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_found_corrupt_while_open_is_moved_aside_and_replaced() {
    let dir = TempDir::new("corrupt-running");
    let store = SqliteStore::open(dir.db()).expect("open");
    for n in 0..200u8 {
        store.put(key(n), value(1000, n), TTL).await.expect("put");
    }
    store
        .close()
        .await
        .expect("close: everything is in the main file");
    drop(store);
    let store = SqliteStore::open(dir.db()).expect("reopen");
    // Another program overwrites every page but the first.
    let len = std::fs::metadata(dir.db()).expect("metadata").len() as usize;
    let mut bytes = std::fs::read(dir.db()).expect("read");
    bytes[4096..len].fill(0xff);
    std::fs::write(dir.db(), &bytes).expect("damage");

    let error = store.get(key(7)).await.expect_err("a corrupt page");
    assert!(matches!(error, StoreError::Backend(_)), "{error:?}");
    store
        .maintain()
        .await
        .expect("the writer replaces the file");
    assert_eq!(store.stats().corrupt_files, 1, "{:?}", store.stats());
    assert_eq!(moved_aside(&dir).len(), 1);
    // The new file works for reads and writes.
    assert_eq!(store.get(key(7)).await.expect("get"), None);
    store.put(key(7), value(10, 7), TTL).await.expect("put");
    assert_eq!(store.get(key(7)).await.expect("get"), Some(value(10, 7)));
}

#[tokio::test]
async fn a_file_of_a_newer_schema_is_refused_unchanged() {
    let dir = TempDir::new("newer");
    {
        let conn = Connection::open(dir.db()).expect("create");
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = {}; CREATE TABLE entries_v9 (x);",
            0x5743_6368,
            SCHEMA_VERSION + 1
        ))
        .expect("a file of a newer release");
    }
    match SqliteStore::open(dir.db()) {
        Err(Error::NewerSchema {
            found, supported, ..
        }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    let conn = Connection::open(dir.db()).expect("inspect");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION + 1, "left as it was");
}

#[tokio::test]
async fn a_database_of_another_application_is_refused() {
    let dir = TempDir::new("foreign");
    Connection::open(dir.db())
        .expect("create")
        .execute_batch("CREATE TABLE users (name TEXT);")
        .expect("someone else's database");
    assert!(matches!(
        SqliteStore::open(dir.db()),
        Err(Error::Foreign { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_layout_is_rebuilt() {
    let dir = TempDir::new("older");
    {
        // A webcache file from before version 1 (a layout no step knows).
        let conn = Connection::open(dir.db()).expect("create");
        conn.execute_batch(
            "PRAGMA application_id = 1464034152; PRAGMA user_version = 0;
             CREATE TABLE entries (key BLOB PRIMARY KEY, value BLOB);
             INSERT INTO entries VALUES (x'00', x'01');",
        )
        .expect("an old layout");
    }
    let store = SqliteStore::open(dir.db()).expect("rebuilt");
    store.put(key(1), value(10, 1), TTL).await.expect("put");
    assert_eq!(store.get(key(1)).await.expect("get"), Some(value(10, 1)));
    store.close().await.expect("close");
    let conn = Connection::open(dir.db()).expect("inspect");
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("version");
    let vacuum: i64 = conn
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .expect("auto_vacuum");
    assert_eq!(
        (version, vacuum),
        (SCHEMA_VERSION, 2),
        "current schema, incremental vacuum"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_another_process_already_replaced_is_not_moved_again() {
    let dir = TempDir::new("corrupt-replaced");
    let store = SqliteStore::open(dir.db()).expect("open");
    for n in 0..200u8 {
        store.put(key(n), value(1000, n), TTL).await.expect("put");
    }
    store.close().await.expect("close");
    drop(store);
    let store = SqliteStore::open(dir.db()).expect("reopen");
    let len = std::fs::metadata(dir.db()).expect("metadata").len() as usize;
    let mut bytes = std::fs::read(dir.db()).expect("read");
    bytes[4096..len].fill(0xff);
    std::fs::write(dir.db(), &bytes).expect("damage");
    assert!(store.get(key(7)).await.is_err(), "a corrupt page");

    // Before this store's writer gets to it, another process (which found
    // it corrupt too) moves the file aside and makes a new one, with an
    // entry of its own.
    for suffix in ["", "-wal", "-shm"] {
        let from = dir.path().join(format!("cache.db{suffix}"));
        let _ = std::fs::rename(from, dir.path().join(format!("elsewhere.db{suffix}")));
    }
    let other = SqliteStore::open(dir.db()).expect("the other process's new file");
    other.put(key(250), value(10, 250), TTL).await.expect("put");
    other.close().await.expect("close");

    // This store moves on to the new file without moving it aside.
    store.maintain().await.expect("maintain");
    assert!(moved_aside(&dir).is_empty(), "{:?}", moved_aside(&dir));
    assert_eq!(
        store.get(key(250)).await.expect("get"),
        Some(value(10, 250))
    );
}

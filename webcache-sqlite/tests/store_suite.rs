//! The shared store conformance suite, on a real SQLite file.

mod support;

use std::sync::Arc;

use support::TempDir;
use webcache_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_passes_the_store_suite() {
    let dir = TempDir::new("suite");
    let store = SqliteStore::open(dir.db()).expect("the store opens");
    webcache_core::store::suite::run_all(Arc::new(store.clone())).await;
    let stats = store.stats();
    assert_eq!(
        (stats.corrupt_files, stats.read_errors),
        (0, 0),
        "{stats:?}"
    );
    store.close().await.expect("close");
}

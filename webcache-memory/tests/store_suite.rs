//! The shared store conformance suite, against the in-memory store.

use std::sync::Arc;

use webcache_memory::MemoryStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_passes_the_store_suite() {
    webcache_core::store::suite::run_all(Arc::new(MemoryStore::new(64 << 20))).await;
}

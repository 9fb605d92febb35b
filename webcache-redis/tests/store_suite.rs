//! The shared store conformance suite, against a real Redis server and a
//! real three-master Redis Cluster.

mod support;

use std::sync::Arc;

use support::RedisServer;
use webcache_redis::RedisStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_passes_the_store_suite() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::open(&server.url()).expect("valid URL");
    webcache_core::store::suite::run_all(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_with_a_near_tier_passes_the_store_suite() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let client = webcache_redis::redis::Client::open(server.url()).expect("valid URL");
    let store = RedisStore::builder(client)
        .near_cache(16 << 20)
        .build()
        .expect("a near tier on one server");
    webcache_core::store::suite::run_all(Arc::new(store.clone())).await;
    let stats = store.near_stats().expect("a near tier");
    println!("near tier after the suite: {stats:?}");
    assert!(
        stats.hits > 0,
        "the suite was served by the near tier too: {stats:?}"
    );
}

#[cfg(feature = "cluster")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_store_passes_the_store_suite() {
    let Some(cluster) = support::RedisCluster::start() else {
        return;
    };
    let store = RedisStore::open_cluster(cluster.urls()).expect("valid URLs");
    assert!(store.is_cluster());
    webcache_core::store::suite::run_all(Arc::new(store)).await;
    // The suite's keys landed on more than one node: the cluster was used
    // as a cluster.
    let holding = cluster
        .nodes
        .iter()
        .filter(|n| !n.keys().is_empty())
        .count();
    assert!(holding >= 2, "keys on {holding} node(s)");
}

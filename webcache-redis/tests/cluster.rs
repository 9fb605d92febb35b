//! The store on a real three-master Redis Cluster: a resource's keys share
//! a slot, so a hit is one `MGET` on the resource's node, with the cache's
//! global purge record read by a second `MGET` sent in parallel (its own
//! slot); operations over several resources are split by slot.
#![cfg(feature = "cluster")]

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{Origin, RedisCluster, cache_status, get};
use webcache_core::store::{Store, Write};
use webcache_core::{Cache, Config, StoreKey};
use webcache_redis::RedisStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_hit_is_one_mget_on_the_resource_node_and_one_for_the_global_record() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let cache = Cache::new(
        RedisStore::open_cluster(cluster.urls()).unwrap(),
        Config::default(),
    );
    let origin = Origin::with(&[("vary", "accept-language")]);
    let uri = "http://app.test/clustered";
    cache
        .serve(get(uri, &[("accept-language", "en")]), origin.clone())
        .await
        .unwrap();
    cache.quiesce().await;

    cluster.reset_stats();
    const HITS: u64 = 50;
    for _ in 0..HITS {
        let hit = cache
            .serve(get(uri, &[("accept-language", "en")]), origin.clone())
            .await
            .unwrap();
        assert!(cache_status(&hit).contains("hit"), "{}", cache_status(&hit));
    }
    let per_node = cluster.store_commands();
    println!("{HITS} hits sent, per node: {per_node:?}");
    let busy: Vec<_> = per_node.iter().filter(|c| !c.is_empty()).collect();
    // The resource's slot and the global record's slot: one or two nodes,
    // nothing but MGET, one per slot per hit (sent in parallel: one round
    // trip of latency).
    assert!(busy.len() <= 2, "at most two nodes: {per_node:?}");
    assert!(busy.iter().all(|c| c.len() == 1), "{per_node:?}");
    let mgets: u64 = busy.iter().filter_map(|c| c.get("mget")).sum();
    assert_eq!(mgets, 2 * HITS, "{per_node:?}");
    assert_eq!(origin.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_over_many_resources_are_split_by_slot() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let store = RedisStore::open_cluster(cluster.urls()).unwrap();
    let keys: Vec<StoreKey> = (0..24u8)
        .flat_map(|r| {
            [
                StoreKey::metadata([r; 16]),
                StoreKey::representation([r; 16], [0xee; 16]),
            ]
        })
        .collect();
    let writes = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            Write::new(
                *key,
                Bytes::from(format!("value {i}")),
                Duration::from_secs(60),
            )
        })
        .collect();
    store.put_many(writes).await.expect("writes to every node");
    let holding = cluster
        .nodes
        .iter()
        .filter(|n| !n.keys().is_empty())
        .count();
    assert_eq!(holding, 3, "24 resources spread over the three masters");

    let mut asked = keys.clone();
    asked.insert(5, StoreKey::metadata([0xff; 16])); // absent
    let values = store.get_many(&asked).await.expect("reads from every node");
    let mut expected: Vec<Option<Bytes>> = (0..keys.len())
        .map(|i| Some(Bytes::from(format!("value {i}"))))
        .collect();
    expected.insert(5, None);
    assert_eq!(values, expected, "values in the order asked");

    store
        .delete_many(&keys)
        .await
        .expect("deletes on every node");
    assert!(
        store
            .get_many(&keys)
            .await
            .unwrap()
            .iter()
            .all(Option::is_none)
    );
    // What remains is each resource's variant index, which a resource
    // delete removes with the rest, on the resource's own node.
    for r in 0..24u8 {
        store
            .delete_resource(&[r; 16])
            .await
            .expect("resource delete on its node");
    }
    assert!(cluster.nodes.iter().all(|n| n.keys().is_empty()));
}

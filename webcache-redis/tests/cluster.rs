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

/// A master is killed while clients keep asking: every request is answered
/// (the cache fails open to the origin while its slots have no master),
/// its replica takes over, and hits resume on every resource, those of the
/// killed master's slots included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_failing_over_under_load_is_served_through_and_hits_resume() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Instant;

    let Some(mut cluster) = RedisCluster::start_with_replicas() else {
        return;
    };
    let cache = Cache::new(
        RedisStore::open_cluster(cluster.urls()).unwrap(),
        Config::default(),
    );
    let origin = Origin::default();
    const RESOURCES: usize = 30;
    let uri = |i: usize| format!("http://app.test/failover/{i}");
    for i in 0..RESOURCES {
        cache
            .serve(get(&uri(i), &[]), origin.clone())
            .await
            .unwrap();
    }
    cache.quiesce().await;

    // Load: sequential GETs over every resource until told to stop (or
    // 60 s at most), counting answers that are not 200.
    let stop = Arc::new(AtomicBool::new(false));
    let (answered, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let hits = Arc::new(AtomicUsize::new(0));
    let load = {
        let (cache, origin) = (cache.clone(), origin.clone());
        let (stop, answered, failed) = (stop.clone(), answered.clone(), failed.clone());
        let hits = hits.clone();
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                let response = cache
                    .serve(get(&uri(i % RESOURCES), &[]), origin.clone())
                    .await;
                match response {
                    Ok(r) if r.status() == 200 => {
                        hits.fetch_add(
                            usize::from(cache_status(&r).contains("hit")),
                            Ordering::SeqCst,
                        );
                        answered.fetch_add(1, Ordering::SeqCst)
                    }
                    _ => failed.fetch_add(1, Ordering::SeqCst),
                };
                i += 1;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_kill = answered.load(Ordering::SeqCst);
    let hits_before_kill = hits.load(Ordering::SeqCst);
    cluster.nodes[0].kill();
    let killed_at = Instant::now();
    let promoted = tokio::task::spawn_blocking({
        let replica = cluster.nodes[3].url();
        move || {
            let client = webcache_redis::redis::Client::open(replica).unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let role: Option<String> = client
                    .get_connection_with_timeout(Duration::from_secs(1))
                    .ok()
                    .and_then(|mut c| {
                        webcache_redis::redis::cmd("INFO")
                            .arg("replication")
                            .query::<String>(&mut c)
                            .ok()
                    });
                if role.is_some_and(|r| r.contains("role:master")) {
                    return true;
                }
                if Instant::now() > deadline {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    })
    .await
    .unwrap();
    assert!(promoted, "the replica was not promoted within 30 s");
    let failover = killed_at.elapsed();
    let during = answered.load(Ordering::SeqCst) - before_kill;
    let hits_during = hits.load(Ordering::SeqCst) - hits_before_kill;

    // Hits resume on every resource: each is a hit (replicated) or, once
    // forwarded and stored again, a hit on the next request.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut pending: Vec<usize> = (0..RESOURCES).collect();
    while !pending.is_empty() {
        assert!(
            Instant::now() < deadline,
            "no hits on {pending:?} 30 s after the failover"
        );
        let mut still = Vec::new();
        for i in pending {
            let r = cache
                .serve(get(&uri(i), &[]), origin.clone())
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            if !cache_status(&r).contains("hit") {
                still.push(i);
            }
        }
        cache.quiesce().await;
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    println!(
        "before the kill: {before_kill} answered, {hits_before_kill} hits; failover took {failover:?}: \
         {during} answered meanwhile, {hits_during} hits; {} in all, {} failed; origin calls {}",
        answered.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst),
        origin.calls()
    );
    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "every request was answered 200"
    );
    assert!(
        during > 0,
        "requests were answered while the master was down"
    );
}

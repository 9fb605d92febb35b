//! The near tier (`RedisStoreBuilder::near_cache`): two stores with a near
//! tier each on one real `redis-server`, as two instances of a service.
//! What one writes, deletes or purges is never served by the other from
//! its near tier once the write returned and the invalidation had its
//! trip (always within the documented bound: two heartbeats); a write
//! racing a read is never cached stale; a broken invalidation channel
//! turns the tier off until tracking is back; `FLUSHALL` empties it.
//!
//! Deadlines here catch a hang, not a slow machine: no timing is asserted.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use support::{RedisServer, store_commands};
use webcache_core::purge::Bump;
use webcache_core::store::{Store, StoreKey, Write};

use webcache_redis::{NearStats, RedisStore};

/// The staleness bound documented for the default heartbeat (100 ms):
/// two heartbeats.
const BOUND: Duration = Duration::from_millis(200);
const TTL: Duration = Duration::from_secs(600);

fn near_store(server: &RedisServer) -> RedisStore {
    let client = webcache_redis::redis::Client::open(server.url()).expect("valid URL");
    RedisStore::builder(client)
        .near_cache(16 << 20)
        .build()
        .expect("a near tier on one server")
}

fn stats(store: &RedisStore) -> NearStats {
    store.near_stats().expect("a near tier")
}

fn key(n: u8) -> StoreKey {
    StoreKey::representation([n; 16], [0xee; 16])
}

/// Polls `done` every 10 ms for at most 10 s (a hang, not a timing).
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "gave up waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// Reads `key` through `store` until its near tier serves it (a hit with
/// no command sent), and returns the value served.
async fn near_cached(store: &RedisStore, key: StoreKey) -> Option<Bytes> {
    eventually("the near tier serves the key", async || {
        let before = stats(store).hits;
        let _ = store.get(key).await;
        stats(store).hits > before
    })
    .await;
    store.get(key).await.expect("a near hit")
}

/// After `what` on the writer returned, `reader` serves `expected` (within
/// a deadline), still does after the documented bound, and its near tier
/// served the key again from memory after it re-read it.
async fn reader_sees(reader: &RedisStore, key: StoreKey, expected: Option<&[u8]>, what: &str) {
    let expected = expected.map(Bytes::copy_from_slice);
    let took = eventually(what, async || {
        reader.get(key).await.expect("read") == expected
    })
    .await;
    println!("{what}: the other instance saw it after {took:?}");
    tokio::time::sleep(BOUND).await;
    for _ in 0..20 {
        assert_eq!(reader.get(key).await.expect("read"), expected, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overwrite_on_one_instance_is_never_served_stale_by_the_other_near_tier() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (near_store(&server), near_store(&server));
    a.put(key(1), Bytes::from_static(b"v1"), TTL).await.unwrap();
    assert_eq!(near_cached(&b, key(1)).await.as_deref(), Some(&b"v1"[..]));
    server.reset_stats();
    for _ in 0..10 {
        assert_eq!(b.get(key(1)).await.unwrap().as_deref(), Some(&b"v1"[..]));
    }
    let sent = store_commands(&server.command_calls());
    assert!(
        !sent.contains_key("mget"),
        "served from the near tier: {sent:?}"
    );

    a.put(key(1), Bytes::from_static(b"v2"), TTL).await.unwrap();
    reader_sees(&b, key(1), Some(b"v2"), "overwrite").await;
    assert!(stats(&b).invalidations >= 1, "{:?}", stats(&b));
    assert_eq!(near_cached(&b, key(1)).await.as_deref(), Some(&b"v2"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_on_one_instance_is_never_served_stale_by_the_other_near_tier() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (near_store(&server), near_store(&server));
    let meta = StoreKey::metadata([2; 16]);
    a.put_many(vec![
        Write::new(key(2), Bytes::from_static(b"rep"), TTL),
        Write::new(meta, Bytes::from_static(b"meta"), TTL),
    ])
    .await
    .unwrap();
    near_cached(&b, key(2)).await;
    near_cached(&b, meta).await;
    a.delete(key(2)).await.unwrap();
    reader_sees(&b, key(2), None, "delete").await;
    a.delete_resource(&[2; 16]).await.unwrap();
    reader_sees(&b, meta, None, "delete_resource").await;
    // Absence is near-cached too.
    assert_eq!(near_cached(&b, meta).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_bump_on_one_instance_is_never_served_stale_by_the_other_near_tier() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (near_store(&server), near_store(&server));
    let record = StoreKey::purge([3; 16]);
    let global = StoreKey::global([4; 16]);
    // Purge records are mostly absent: absence is what the tier holds.
    assert_eq!(near_cached(&b, record).await, None);
    assert_eq!(near_cached(&b, global).await, None);
    let bumped = a.bump(&[record, global], Bump::Hard).await.unwrap();
    let encoded = |i: usize| bumped[i].encode();
    reader_sees(&b, record, Some(&encoded(0)), "bump of a purge record").await;
    reader_sees(&b, global, Some(&encoded(1)), "bump of the global record").await;
    // The writer's own tier never served its old absence either.
    assert_eq!(
        a.get(record).await.unwrap().as_deref(),
        Some(&encoded(0)[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_landing_while_a_read_is_in_flight_is_never_cached_stale() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (Arc::new(near_store(&server)), Arc::new(near_store(&server)));
    near_cached(&b, key(0)).await;
    let keys = |round: u8| (0..64u8).map(move |i| StoreKey::representation([round; 16], [i; 16]));
    for round in 1..=40u8 {
        let writes = keys(round)
            .map(|k| Write::new(k, Bytes::from_static(b"old"), TTL))
            .collect();
        a.put_many(writes).await.unwrap();
        // Each read is a near miss, in flight while the overwrite lands.
        let mut tasks = Vec::new();
        for k in keys(round) {
            let (a, b) = (a.clone(), b.clone());
            tasks.push(tokio::spawn(async move { b.get(k).await.map(|_| ()) }));
            tasks.push(tokio::spawn(async move {
                a.put(k, Bytes::from_static(b"new"), TTL).await
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("store call");
        }
        // Past the bound, a stale insert would still be there: Redis sends
        // one invalidation per read, so nothing would remove it.
        tokio::time::sleep(BOUND).await;
        let all: Vec<StoreKey> = keys(round).collect();
        let values = b.get_many(&all).await.unwrap();
        for (k, v) in all.iter().zip(values) {
            assert_eq!(v.as_deref(), Some(&b"new"[..]), "round {round}, {k:?}");
        }
    }
    println!("after the race rounds: {:?}", stats(&b));
}

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
use support::{Origin, RedisServer, cache_status, get, store_commands};
use webcache_core::purge::Bump;
use webcache_core::store::{Store, StoreKey, Write};

use webcache_core::{Cache, Config, PurgeMode};
use webcache_redis::{NearState, NearStats, RedisStore};

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

/// The ids of the server's clients with tracking on (flag `t`).
fn tracking_clients(server: &RedisServer) -> Vec<String> {
    server
        .text(&["CLIENT", "LIST"])
        .lines()
        .filter(|line| {
            line.split(' ')
                .any(|f| f.strip_prefix("flags=").is_some_and(|f| f.contains('t')))
        })
        .filter_map(|line| line.split(' ').find_map(|f| f.strip_prefix("id=")))
        .map(str::to_owned)
        .collect()
}

async fn state_becomes(store: &RedisStore, state: NearState) {
    eventually(&format!("the near tier is {state:?}"), async || {
        stats(store).state == state
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_tracking_connection_flushes_the_near_tier_until_tracking_is_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (a, b) = (near_store(&server), near_store(&server));
    a.put(key(5), Bytes::from_static(b"v1"), TTL).await.unwrap();
    near_cached(&b, key(5)).await;
    near_cached(&a, key(6)).await;
    let clients = tracking_clients(&server);
    assert_eq!(clients.len(), 2, "one tracking connection per store");
    let flushes = stats(&b).flushes;
    // Kill both: which one is B's does not matter.
    for id in &clients {
        server.query(&["CLIENT", "KILL", "ID", id]);
    }
    eventually("B's tier is flushed", async || stats(&b).flushes > flushes).await;
    a.put(key(5), Bytes::from_static(b"v2"), TTL).await.unwrap();
    reader_sees(&b, key(5), Some(b"v2"), "overwrite after the kill").await;
    state_becomes(&b, NearState::On).await;
    assert_eq!(near_cached(&b, key(5)).await.as_deref(), Some(&b"v2"[..]));
    assert_eq!(tracking_clients(&server).len(), 2, "tracking re-enabled");
}

fn signal(server: &RedisServer, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(server.pid()).expect("a pid fits pid_t");
    // SAFETY: kill(2) with a pid this test spawned and a valid signal.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_turns_the_near_tier_off_so_reads_go_to_redis_and_fail_open() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let b = near_store(&server);
    b.put(key(7), Bytes::from_static(b"v1"), TTL).await.unwrap();
    near_cached(&b, key(7)).await;
    signal(&server, libc::SIGSTOP);
    // The heartbeat goes unanswered: off, emptied, and reads are sent to
    // the stalled Redis (an error, which the cache fails open on), never
    // answered from memory.
    state_becomes(&b, NearState::Off).await;
    let hits = stats(&b).hits;
    assert!(
        b.get(key(7)).await.is_err(),
        "not served from the near tier"
    );
    assert_eq!(stats(&b).hits, hits);
    assert_eq!(stats(&b).entries, 0);
    signal(&server, libc::SIGCONT);
    state_becomes(&b, NearState::On).await;
    assert_eq!(near_cached(&b, key(7)).await.as_deref(), Some(&b"v1"[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_redis_empties_the_near_tier_so_lost_keys_are_never_served() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let b = near_store(&server);
    b.put(key(8), Bytes::from_static(b"v1"), TTL).await.unwrap();
    near_cached(&b, key(8)).await;
    server.kill();
    state_becomes(&b, NearState::Off).await;
    assert!(
        b.get(key(8)).await.is_err(),
        "not served from the near tier"
    );
    server.restart();
    // The new server is empty (no persistence): the key is gone.
    eventually("B reads from the restarted Redis", async || {
        matches!(b.get(key(8)).await, Ok(None))
    })
    .await;
    state_becomes(&b, NearState::On).await;
    assert_eq!(near_cached(&b, key(8)).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_drops_every_near_entry() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let b = near_store(&server);
    for n in 10..20 {
        b.put(key(n), Bytes::from_static(b"v"), TTL).await.unwrap();
        near_cached(&b, key(n)).await;
    }
    let flushes = stats(&b).flushes;
    server.query(&["FLUSHALL"]);
    eventually("the flush reaches the near tier", async || {
        stats(&b).flushes > flushes
    })
    .await;
    for n in 10..20 {
        assert_eq!(b.get(key(n)).await.unwrap(), None);
    }
    assert_eq!(stats(&b).state, NearState::On, "a flush is not a break");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_client_tracking_leaves_the_near_tier_off_and_the_store_working() {
    let Some(server) = RedisServer::start_with(&["--rename-command", "CLIENT", "CLIENT-OFF"])
    else {
        return;
    };
    let b = near_store(&server);
    b.put(key(9), Bytes::from_static(b"v"), TTL).await.unwrap();
    // The first read starts the tracking connection, which Redis refuses.
    assert_eq!(b.get(key(9)).await.unwrap().as_deref(), Some(&b"v"[..]));
    state_becomes(&b, NearState::Unsupported).await;
    for _ in 0..5 {
        assert_eq!(b.get(key(9)).await.unwrap().as_deref(), Some(&b"v"[..]));
    }
    let s = stats(&b);
    assert_eq!((s.hits, s.entries), (0, 0), "{s:?}");
}

#[cfg(feature = "cluster")]
#[test]
fn a_near_tier_on_a_cluster_is_refused_with_a_typed_error() {
    let client = webcache_redis::redis::cluster::ClusterClient::new(vec!["redis://127.0.0.1:7000"])
        .expect("valid URL");
    let built = RedisStore::cluster_builder(client)
        .near_cache(1 << 20)
        .build();
    assert!(matches!(
        built,
        Err(webcache_redis::Error::NearCacheOnCluster)
    ));
}

/// The application, serving `body <n>` with a surrogate key.
fn tagged_origin() -> Origin {
    Origin::with(&[("surrogate-key", "shop")])
}

async fn body(cache: &Cache<RedisStore>, headers: &[(&str, &str)]) -> (String, String) {
    use http_body_util::BodyExt;
    let response = cache
        .serve(get("http://app.test/item", headers), tagged_origin_shared())
        .await
        .expect("served");
    let status = cache_status(&response);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (String::from_utf8_lossy(&bytes).into_owned(), status)
}

fn tagged_origin_shared() -> Origin {
    static ORIGIN: std::sync::OnceLock<Origin> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(tagged_origin).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_through_one_cache_is_never_served_as_fresh_by_the_other_near_tier() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (store_a, store_b) = (near_store(&server), near_store(&server));
    let a = Cache::new(store_a, Config::default());
    let b = Cache::new(store_b.clone(), Config::default());
    let (first, _) = body(&a, &[]).await;
    a.quiesce().await;
    // B hits, from its near tier.
    eventually("B hits from its near tier", async || {
        let before = stats(&store_b).hits;
        let (text, status) = body(&b, &[]).await;
        assert_eq!(text, first);
        status.contains("hit") && stats(&store_b).hits > before
    })
    .await;

    // An update through A: the origin's new response replaces the old.
    let (second, _) = body(&a, &[("cache-control", "no-cache")]).await;
    assert_ne!(second, first);
    a.quiesce().await;
    let took = eventually("B serves the update", async || {
        body(&b, &[]).await.0 == second
    })
    .await;
    println!("update through A: B served it after {took:?}");
    tokio::time::sleep(BOUND).await;
    for _ in 0..10 {
        assert_eq!(body(&b, &[]).await.0, second, "never the old response");
    }

    // A tag purge through A: B never serves the purged response as a hit.
    assert_eq!(a.purge_tag("shop", PurgeMode::Hard).await.unwrap(), 1);
    eventually("B no longer serves the purged response", async || {
        body(&b, &[]).await.0 != second
    })
    .await;
    tokio::time::sleep(BOUND).await;
    for _ in 0..10 {
        let (text, status) = body(&b, &[]).await;
        assert!(text != second || !status.contains("hit"), "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_store_closes_its_tracking_connection() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let b = near_store(&server);
    near_cached(&b, key(30)).await;
    assert_eq!(tracking_clients(&server).len(), 1);
    drop(b);
    eventually("the tracking connection is closed", async || {
        tracking_clients(&server).is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_reads_its_own_write_once_it_returned_even_with_reads_in_flight() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = Arc::new(near_store(&server));
    near_cached(&a, key(40)).await;
    for i in 0..300u32 {
        let k = StoreKey::representation([41; 16], [(i % 200) as u8; 16]);
        // Reads of the key in flight while it is overwritten.
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let a = a.clone();
                tokio::spawn(async move { a.get(k).await.map(|_| ()) })
            })
            .collect();
        let value = Bytes::from(i.to_string());
        a.put(k, value.clone(), TTL).await.unwrap();
        assert_eq!(a.get(k).await.unwrap(), Some(value), "round {i}");
        for r in readers {
            r.await.expect("task").expect("read");
        }
    }
}

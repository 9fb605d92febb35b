//! Redis down, killed, stalled: the application keeps answering every
//! request (the cache fails open), nothing panics, a stalled server costs a
//! request at most about one timeout, and the cache resumes by itself once
//! Redis is back.
//!
//! Latency bounds are generous (seconds against timeouts of a few hundred
//! milliseconds): they catch a hang, not a slow machine.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::{Origin, RedisServer, cache_status, free_port, get, redis_server_available};
use webcache_core::{Cache, Config};
use webcache_redis::RedisStore;

/// Requests slower than this mean something hung.
const HANG: Duration = Duration::from_secs(2);

/// Sends requests for `uri` until one is a hit; returns how long it took.
async fn until_hit<S: webcache_core::Store>(
    cache: &Cache<S>,
    origin: &Origin,
    uri: &str,
) -> Duration {
    let started = Instant::now();
    loop {
        let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        assert_eq!(r.status(), 200);
        if cache_status(&r).contains("hit") {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the cache did not resume within 10 s of Redis coming back"
        );
        cache.quiesce().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(server: &RedisServer, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(server.pid()).expect("a pid fits pid_t");
    // SAFETY: kill(2) with a pid this test spawned and a valid signal.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_built_while_redis_is_down_serves_from_the_app_then_caches_once_redis_is_up() {
    if !redis_server_available() {
        return;
    }
    let port = free_port();
    // Nothing listens on `port`: building the store must not fail or wait.
    let built = Instant::now();
    let store = RedisStore::open(&format!("redis://127.0.0.1:{port}")).unwrap();
    assert!(built.elapsed() < Duration::from_millis(100));
    assert!(store.ping().await.is_err());
    let cache = Cache::new(store, Config::default());
    let origin = Origin::default();
    let uri = "http://app.test/down-at-start";

    let mut slowest = Duration::ZERO;
    for n in 1..=20 {
        let started = Instant::now();
        let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        slowest = slowest.max(started.elapsed());
        assert_eq!(r.status(), 200);
        assert_eq!(origin.calls(), n, "served by the application");
    }
    println!("Redis down: slowest of 20 requests took {slowest:?}");
    assert!(slowest < HANG, "{slowest:?}");
    let stats = cache.stats();
    assert_eq!(stats.hits, 0);
    assert!(stats.store_errors > 0, "{stats:?}");

    let _server = RedisServer::start_on(port, &[]);
    let resumed = until_hit(&cache, &origin, uri).await;
    println!("Redis up: the cache resumed after {resumed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_redis_under_load_fails_open_and_the_cache_resumes_after_a_restart() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let cache = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    let origin = Origin::default();
    let uris: Vec<String> = (0..4)
        .map(|i| format!("http://app.test/load/{i}"))
        .collect();
    for uri in &uris {
        cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    }
    cache.quiesce().await;

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let slowest_us = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (cache, origin, uris) = (cache.clone(), origin.clone(), uris.clone());
        let (stop, served, slowest_us) = (stop.clone(), served.clone(), slowest_us.clone());
        workers.push(tokio::spawn(async move {
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let r = cache
                    .serve(get(&uris[i % uris.len()], &[]), origin.clone())
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                slowest_us.fetch_max(us, Ordering::Relaxed);
                served.fetch_add(1, Ordering::Relaxed);
                i += 1;
                // A steady load, not a busy loop.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_kill = cache.stats();
    assert!(before_kill.hits > 0, "hits under load: {before_kill:?}");
    server.kill();
    let served_at_kill = served.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let during = cache.stats();
    assert!(
        served.load(Ordering::Relaxed) > served_at_kill + 50,
        "requests kept being served while Redis was dead"
    );
    assert!(during.store_errors > before_kill.store_errors, "{during:?}");

    server.restart();
    let restarted = Instant::now();
    let hits_at_restart = cache.stats().hits;
    while cache.stats().hits <= hits_at_restart + 20 {
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "the cache did not resume after the restart: {:?}",
            cache.stats()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "hits resumed {:?} after the restart; {} requests served in all",
        restarted.elapsed(),
        served.load(Ordering::Relaxed)
    );
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("no worker panicked");
    }
    let slowest = Duration::from_micros(slowest_us.load(Ordering::Relaxed));
    println!("slowest request under load, through kill and restart: {slowest:?}");
    assert!(slowest < HANG, "{slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_delays_requests_by_at_most_about_the_timeout() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    let timeout = cache.config().store_timeout();
    let origin = Origin::default();
    let uri = "http://app.test/stalled";
    cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    cache.quiesce().await;

    signal(&server, libc::SIGSTOP);
    let mut latencies = Vec::new();
    let stalled = Instant::now();
    while stalled.elapsed() < Duration::from_millis(1500) {
        let started = Instant::now();
        let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        latencies.push(started.elapsed());
        assert_eq!(r.status(), 200);
    }
    signal(&server, libc::SIGCONT);
    latencies.sort();
    let slowest = latencies[latencies.len() - 1];
    let median = latencies[latencies.len() / 2];
    println!(
        "Redis stalled: {} requests, median {median:?}, slowest {slowest:?} (store timeout {timeout:?})",
        latencies.len()
    );
    // A miss waits for at most the lookup and the write, each bounded by
    // the store's response timeout (200 ms) and the cache's store timeout.
    assert!(
        slowest < 2 * timeout + Duration::from_millis(500),
        "{slowest:?}"
    );
    // Failing fast: most requests do not wait for the stalled server.
    assert!(median < timeout, "{median:?}");
    assert!(cache.stats().store_errors > 0);

    let resumed = until_hit(&cache, &origin, uri).await;
    println!("Redis resumed: the cache hit again after {resumed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_own_timeouts_the_store_is_still_bounded_by_the_cache_store_timeout() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let client = webcache_redis::redis::Client::open(server.url()).unwrap();
    let store = RedisStore::builder(client)
        .response_timeout(Duration::from_secs(30))
        .backoff(Duration::ZERO, Duration::ZERO)
        .build()
        .unwrap();
    let timeout = Duration::from_millis(100);
    let config = Config::builder().store_timeout(timeout).build().unwrap();
    let cache = Cache::new(store, config);
    let origin = Origin::default();
    let uri = "http://app.test/bounded";
    cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    cache.quiesce().await;

    signal(&server, libc::SIGSTOP);
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        slowest = slowest.max(started.elapsed());
        assert_eq!(r.status(), 200);
    }
    signal(&server, libc::SIGCONT);
    println!("store timeout {timeout:?}: slowest request {slowest:?}");
    // The lookup and the write each wait the store timeout, no longer.
    assert!(slowest >= timeout, "{slowest:?}: the server was stalled");
    assert!(
        slowest < 2 * timeout + Duration::from_millis(500),
        "{slowest:?}"
    );
    let resumed = until_hit(&cache, &origin, uri).await;
    println!("the cache hit again after {resumed:?}");
}

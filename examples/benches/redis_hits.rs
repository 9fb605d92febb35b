//! Hit throughput on Redis, and on Redis with the near tier
//! (`RedisStoreBuilder::near_cache`), as a share of hit throughput in
//! memory, measured in the same run, and the Redis commands each hit costs.
//!
//! ```sh
//! cargo bench -p webcache-examples --features redis --bench redis_hits
//! BENCH_SECONDS=5 BENCH_CONCURRENCY=64 cargo bench -p webcache-examples --features redis --bench redis_hits
//! ```
//!
//! Two levels, each with the same resources, concurrency and duration:
//!
//! - **cache**: `Cache::serve` called directly (no HTTP), so the numbers
//!   are the cache's own cost, where a Redis round trip weighs most;
//! - **http**: an axum app behind `CacheLayer`, driven over loopback HTTP/1.1
//!   by a hyper client with keep-alive, which is what a service sees.
//!
//! It starts its own `redis-server` (persistence off, a free port) and
//! shares the machine with it and with the load generator, as a service
//! would share a host with a local Redis.

// The Redis crate's own test support: real `redis-server` processes.
#[path = "../../webcache-redis/tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get as route_get;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use support::{RedisServer, store_commands};
use webcache_axum::{CacheLayer, cache_for};
use webcache_core::{Cache, Config, Store, Upstream};
use webcache_memory::MemoryStore;
use webcache_redis::RedisStore;

/// Distinct resources the load cycles through.
const RESOURCES: usize = 64;
/// Body size of each stored response.
const BODY: usize = 2048;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone)]
struct Page;

impl Upstream<Full<Bytes>> for Page {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(
        &mut self,
        _request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<Full<Bytes>>, Infallible> {
        let mut response = http::Response::new(Full::new(Bytes::from(vec![b'x'; BODY])));
        response.headers_mut().insert(
            "cache-control",
            http::HeaderValue::from_static("max-age=3600"),
        );
        Ok(response)
    }
}

fn uri(i: usize) -> String {
    format!("http://bench.test/item/{}", i % RESOURCES)
}

/// Runs `concurrency` tasks calling `one(i)` for `duration`; returns calls
/// per second.
async fn drive<F, Fut>(concurrency: u64, duration: Duration, one: F) -> f64
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for t in 0..concurrency {
        let (stop, done, one) = (stop.clone(), done.clone(), one.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = usize::try_from(t).unwrap_or(0) * 7;
            while !stop.load(Ordering::Relaxed) {
                one(i).await;
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
                // A memory hit never waits: let the other tasks (and the
                // timer that ends the run) have their turn.
                tokio::task::yield_now().await;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("load task");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn fill<S: Store>(cache: &Cache<S>) {
    for i in 0..RESOURCES {
        let request = http::Request::get(uri(i))
            .body(Full::default())
            .expect("request");
        cache.serve(request, Page).await.expect("fill");
    }
    cache.quiesce().await;
}

/// Hits per second through `Cache::serve`, once `cache` is filled.
async fn cache_level<S: Store>(cache: Cache<S>, concurrency: u64, duration: Duration) -> f64 {
    drive(concurrency, duration, move |i| {
        let cache = cache.clone();
        async move {
            let request = http::Request::get(uri(i))
                .body(Full::default())
                .expect("request");
            let response = cache.serve(request, Page).await.expect("served");
            let body = response.into_body().collect().await.expect("body");
            assert_eq!(body.to_bytes().len(), BODY);
        }
    })
    .await
}

/// Hits per second through an axum app behind `CacheLayer`, over HTTP.
async fn http_level<S: Store>(cache: Cache<S>, concurrency: u64, duration: Duration) -> f64 {
    let app = Router::new()
        .route(
            "/item/{n}",
            route_get(|| async { vec![b'x'; BODY] }).layer(cache_for(Duration::from_secs(3600))),
        )
        .layer(CacheLayer::new(cache.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(usize::try_from(concurrency).unwrap_or(64))
        .build(connector);
    let url = move |i: usize| format!("http://{addr}/item/{}", i % RESOURCES);
    for i in 0..RESOURCES {
        let response = client
            .get(url(i).parse().expect("uri"))
            .await
            .expect("fill");
        let _ = response.into_body().collect().await;
    }
    cache.quiesce().await;
    let before = cache.stats().hits;
    let rate = drive(concurrency, duration, move |i| {
        let client = client.clone();
        async move {
            let response = client
                .get(url(i).parse().expect("uri"))
                .await
                .expect("response");
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.expect("body");
            assert_eq!(body.to_bytes().len(), BODY);
        }
    })
    .await;
    assert!(
        cache.stats().hits > before,
        "the load was served from the cache"
    );
    server.abort();
    rate
}

fn config() -> Config {
    Config::builder().build().expect("config")
}

/// A Redis store with a near tier of 64 MiB.
fn near_store(url: &str) -> RedisStore {
    let client = webcache_redis::redis::Client::open(url).expect("URL");
    RedisStore::builder(client)
        .near_cache(64 << 20)
        .build()
        .expect("a near tier on one server")
}

/// Reads every resource until the near tier is on and serves them all.
async fn warm_near(cache: &Cache<RedisStore>, store: &RedisStore) {
    for _ in 0..500 {
        let before = store.near_stats().map_or(0, |s| s.hits);
        fill(cache).await;
        let after = store.near_stats().map_or(0, |s| s.hits);
        if after - before >= RESOURCES as u64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the near tier did not come on: {:?}", store.near_stats());
}

/// CPU time (user and system) this process has used so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage(2) fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs())
            + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Hits per second through `Cache::serve` on `cache` (already filled), and
/// this process's CPU time per hit (the cache, the client, the load).
async fn measured_cache_level<S: Store>(
    cache: Cache<S>,
    concurrency: u64,
    duration: Duration,
) -> (f64, Duration) {
    let hits_before = cache.stats().hits;
    let cpu_before = cpu_time();
    let rate = cache_level(cache.clone(), concurrency, duration).await;
    let cpu = cpu_time() - cpu_before;
    let hits = cache.stats().hits - hits_before;
    (rate, cpu / u32::try_from(hits.max(1)).unwrap_or(u32::MAX))
}

/// [`measured_cache_level`] on Redis, with the commands Redis counted per
/// hit.
async fn redis_cache_level(
    server: &RedisServer,
    cache: Cache<RedisStore>,
    concurrency: u64,
    duration: Duration,
) -> (f64, Duration, String) {
    server.reset_stats();
    let hits_before = cache.stats().hits;
    let (rate, cpu) = measured_cache_level(cache.clone(), concurrency, duration).await;
    let hits = cache.stats().hits - hits_before;
    let commands = store_commands(&server.command_calls());
    let total: u64 = commands.values().sum();
    assert_eq!(cache.stats().store_errors, 0, "no store errors");
    let per_hit = format!(
        "{:.3} ({total} commands for {hits} hits: {commands:?})",
        total as f64 / hits.max(1) as f64
    );
    (rate, cpu, per_hit)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once too.
    let quick = std::env::args().all(|a| a != "--bench");
    let Some(server) = RedisServer::start() else {
        return;
    };
    let seconds = env("BENCH_SECONDS", if quick { 1 } else { 3 });
    let concurrency = env("BENCH_CONCURRENCY", 32);
    let duration = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "webcache-redis hit throughput: {RESOURCES} resources of {BODY} B, {concurrency} concurrent requests, {seconds} s per run, 2 worker threads"
    );
    runtime.block_on(async {
        let redis = || RedisStore::open(&server.url()).expect("URL");
        let memory = || MemoryStore::new(64 << 20);

        let memory_cache = Cache::new(memory(), config());
        fill(&memory_cache).await;
        let (mem, mem_cpu) = measured_cache_level(memory_cache, concurrency, duration).await;
        let redis_cache = Cache::new(redis(), config());
        fill(&redis_cache).await;
        let (red, red_cpu, red_per_hit) =
            redis_cache_level(&server, redis_cache, concurrency, duration).await;
        let store = near_store(&server.url());
        let near_cache = Cache::new(store.clone(), config());
        warm_near(&near_cache, &store).await;
        let (near, near_cpu, near_per_hit) =
            redis_cache_level(&server, near_cache, concurrency, duration).await;
        report("cache", mem, red, near);
        println!(
            "  CPU time per hit in this process (redis-server not counted): memory {mem_cpu:?} | redis {red_cpu:?} | redis + near {near_cpu:?}"
        );
        println!("  commands per hit, redis:        {red_per_hit}");
        println!("  commands per hit, redis + near: {near_per_hit}");
        println!("  near tier: {:?}", store.near_stats());

        let mem = http_level(Cache::new(memory(), config()), concurrency, duration).await;
        let redis_cache = Cache::new(redis(), config());
        let red = http_level(redis_cache.clone(), concurrency, duration).await;
        assert_eq!(redis_cache.stats().store_errors, 0, "no store errors");
        let store = near_store(&server.url());
        let near_cache = Cache::new(store.clone(), config());
        let near = http_level_near(near_cache.clone(), &store, concurrency, duration).await;
        assert_eq!(near_cache.stats().store_errors, 0, "no store errors");
        report("http", mem, red, near);
    });
}

/// [`http_level`] with the near tier on before the load starts.
async fn http_level_near(
    cache: Cache<RedisStore>,
    store: &RedisStore,
    concurrency: u64,
    duration: Duration,
) -> f64 {
    warm_near(&cache, store).await;
    http_level(cache, concurrency, duration).await
}

fn report(level: &str, memory: f64, redis: f64, near: f64) {
    println!(
        "{level:>5}: memory {memory:>9.0} hits/s | redis {redis:>9.0} hits/s ({:.2}x memory) | redis + near {near:>9.0} hits/s ({:.2}x memory)",
        redis / memory,
        near / memory
    );
}

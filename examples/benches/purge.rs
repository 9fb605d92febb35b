//! The cost of tags and tag purges, measured in one run:
//!
//! - hit throughput on Redis for responses with tags vs without (the same
//!   resources, concurrency and duration, runs interleaved), and the Redis
//!   commands a tagged hit costs;
//! - the time to purge a tag carried by N stored responses (10 000 by
//!   default) on memory, SQLite and Redis.
//!
//! ```sh
//! cargo bench -p webcache-examples --features redis,sqlite --bench purge
//! BENCH_SECONDS=5 BENCH_TAGGED=10000 cargo bench -p webcache-examples --features redis,sqlite --bench purge
//! ```

#[path = "../../webcache-redis/tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use support::{RedisServer, store_commands};
use webcache_core::{Cache, Config, PurgeMode, Store, Upstream};
use webcache_memory::MemoryStore;
use webcache_redis::RedisStore;
use webcache_sqlite::SqliteStore;

const RESOURCES: usize = 64;
const BODY: usize = 2048;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A page, with three tags when `tagged` (one of them shared by all).
#[derive(Clone)]
struct Page {
    tagged: bool,
}

impl Upstream<Full<Bytes>> for Page {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(
        &mut self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<Full<Bytes>>, Infallible> {
        let mut response = http::Response::new(Full::new(Bytes::from(vec![b'x'; BODY])));
        let h = response.headers_mut();
        h.insert(
            "cache-control",
            http::HeaderValue::from_static("max-age=3600"),
        );
        if self.tagged {
            let tags = format!(
                "all item{} group{}",
                request.uri().path().len(),
                request.uri().path().len() % 7
            );
            h.insert("surrogate-key", http::HeaderValue::from_str(&tags).unwrap());
        }
        Ok(response)
    }
}

fn uri(prefix: &str, i: usize) -> String {
    format!("http://bench.test/{prefix}/{i}")
}

async fn fill<S: Store>(cache: &Cache<S>, prefix: &str, n: usize, tagged: bool) {
    for i in 0..n {
        let request = http::Request::get(uri(prefix, i))
            .body(Full::default())
            .unwrap();
        cache.serve(request, Page { tagged }).await.expect("fill");
    }
    cache.quiesce().await;
}

/// Hits per second through `Cache::serve` on `prefix`'s resources.
async fn hits<S: Store>(
    cache: &Cache<S>,
    prefix: &'static str,
    tagged: bool,
    concurrency: u64,
    duration: Duration,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (stop, done, cache) = (stop.clone(), done.clone(), cache.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = usize::try_from(t).unwrap_or(0) * 7;
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::get(uri(prefix, i % RESOURCES))
                    .body(Full::default())
                    .unwrap();
                let response = cache.serve(request, Page { tagged }).await.expect("served");
                assert!(response.headers().get("surrogate-key").is_none());
                let body = response.into_body().collect().await.expect("body");
                assert_eq!(body.to_bytes().len(), BODY);
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn tagged_vs_untagged(server: &RedisServer, concurrency: u64, duration: Duration) {
    let cache = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    fill(&cache, "plain", RESOURCES, false).await;
    fill(&cache, "tagged", RESOURCES, true).await;
    // Interleaved, so that drift in the machine's load hits both alike.
    let (mut plain, mut tagged) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        plain.push(hits(&cache, "plain", false, concurrency, duration).await);
        tagged.push(hits(&cache, "tagged", true, concurrency, duration).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, t) = (median(&mut plain), median(&mut tagged));
    println!("redis hits/s, median of 3 runs of {duration:?} at concurrency {concurrency}:");
    println!(
        "  without tags {p:>10.0}   with tags {t:>10.0}   ratio {:.3}",
        t / p
    );
    server.reset_stats();
    for i in 0..100 {
        let request = http::Request::get(uri("tagged", i % RESOURCES))
            .body(Full::default())
            .unwrap();
        cache.serve(request, Page { tagged: true }).await.unwrap();
    }
    let commands = store_commands(&server.command_calls());
    println!("  commands for 100 tagged hits: {commands:?}");
}

/// Fills `n` responses tagged `all`, then times the purge of `all`.
async fn purge_time<S: Store>(name: &str, store: S, n: usize) {
    let cache = Cache::new(store, Config::default());
    let filled = Instant::now();
    fill(&cache, "p", n, true).await;
    let fill_time = filled.elapsed();
    let started = Instant::now();
    let purged = cache.purge_tag("all", PurgeMode::Hard).await;
    let took = started.elapsed();
    match purged {
        Ok(count) => println!(
            "  {name:<7} purge of a tag on {count} resources: {:>8.1} ms   (fill: {:.1} s)",
            took.as_secs_f64() * 1e3,
            fill_time.as_secs_f64()
        ),
        Err(e) => println!("  {name:<7} purge failed after {took:?}: {e}"),
    }
    let request = http::Request::get(uri("p", 1))
        .body(Full::default())
        .unwrap();
    let after = cache.serve(request, Page { tagged: true }).await.unwrap();
    let status = after.headers().get("cache-status").cloned();
    assert!(
        status.is_some_and(|s| !s.to_str().unwrap_or("").contains("hit")),
        "purged"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(server) = RedisServer::start() else {
        println!("redis-server not found: nothing measured");
        return;
    };
    let duration = Duration::from_secs(env("BENCH_SECONDS", 3));
    let concurrency = env("BENCH_CONCURRENCY", 32);
    let n = usize::try_from(env("BENCH_TAGGED", 10_000)).unwrap_or(10_000);
    tagged_vs_untagged(&server, concurrency, duration).await;
    println!("tag purge, {n} tagged responses:");
    purge_time("memory", MemoryStore::new(1 << 30), n).await;
    let dir = std::env::temp_dir().join(format!("webcache-purge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    purge_time(
        "sqlite",
        SqliteStore::open(dir.join("cache.db")).unwrap(),
        n,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    purge_time("redis", RedisStore::open(&server.url()).unwrap(), n).await;
}

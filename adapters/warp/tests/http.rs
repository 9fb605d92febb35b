//! The cached filter over real HTTP on loopback: a warp filter behind
//! `webcache_warp::serve`, a hyper client, and a filter that counts its runs.

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use tokio::sync::{Notify, mpsc};
use warp::Filter;
use webcache_core::clock::ManualClock;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;
use webcache_warp::{CacheControl, CacheHeaders, CachingExt};

use support::{Calls, Client, spawn};

fn cache_with(config: Config, clock: &ManualClock) -> Cache<MemoryStore> {
    Cache::builder(MemoryStore::new(16 << 20))
        .config(config)
        .clock(clock.clone())
        .build()
}

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::now())
}

/// A filter answering `call N` with `cache-control: <cc>`, counting runs.
fn counting(
    calls: &Calls,
    cc: &'static str,
) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone + Send + Sync + 'static
{
    let calls = calls.clone();
    warp::any().map(move || {
        let n = calls.bump();
        warp::reply::with_header(format!("call {n}"), "cache-control", cc)
    })
}

async fn serve<F>(filter: F, cache: &Cache<MemoryStore>) -> Client
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let (addr, _) = spawn(webcache_warp::serve(filter, cache.clone())).await;
    Client::new(addr)
}

#[tokio::test]
async fn rfc9111_4_a_hit_never_runs_the_filter_and_carries_age_and_cache_status() {
    let calls = Calls::default();
    let clock = clock();
    let cache = cache_with(Config::default(), &clock);
    let counter = calls.clone();
    let route = warp::path("page")
        .map(move || format!("call {}", counter.bump()))
        .cache_for(Duration::from_secs(60));
    let client = serve(route, &cache).await;

    let miss = client.get("/page").await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.body, "call 1");
    assert_eq!(miss.header("cache-control"), "max-age=60");
    assert_eq!(
        miss.cache_status(),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );
    assert!(
        miss.header("etag").starts_with('"'),
        "a strong ETag is added"
    );

    clock.advance(Duration::from_secs(7));
    let hit = client.get("/page").await;
    assert_eq!(hit.body, "call 1");
    assert_eq!(hit.header("age"), "7");
    assert_eq!(hit.cache_status(), "webcache; hit; ttl=53");
    assert_eq!(hit.header("etag"), miss.header("etag"));
    assert_eq!(calls.get(), 1, "the hit never ran the filter");

    let not_found = client.get("/elsewhere").await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND, "warp's rejection");
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn rfc9110_13_1_2_if_none_match_is_answered_304_from_storage() {
    let calls = Calls::default();
    let cache = cache_with(Config::default(), &clock());
    let client = serve(counting(&calls, "max-age=60"), &cache).await;
    let etag = client.get("/").await.header("etag").to_owned();
    let not_modified = client.get_with("/", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn rfc9111_4_concurrent_misses_run_the_filter_once() {
    let calls = Calls::default();
    let cache = cache_with(Config::default(), &clock());
    let gate = Arc::new(tokio::sync::watch::channel(false).0);
    let (counter, held) = (calls.clone(), gate.clone());
    let route = warp::any().then(move || {
        let (calls, gate) = (counter.clone(), held.clone());
        async move {
            let n = calls.bump();
            let _ = gate.subscribe().wait_for(|open| *open).await;
            webcache_warp::reply::cache_for(format!("call {n}"), Duration::from_secs(60))
        }
    });
    let client = serve(route, &cache).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("/").await })
        })
        .collect();
    // Every follower waits on the one fill before the filter answers: they
    // cannot have run one after the other.
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while cache.stats().collapsed < 19 || calls.get() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "19 requests never waited for the first");
    assert_eq!(calls.get(), 1);
    gate.send_replace(true);
    let mut collapsed = 0;
    for t in tasks {
        let got = t.await.expect("task");
        assert_eq!(got.body, "call 1");
        collapsed += usize::from(got.cache_status().contains("collapsed"));
    }
    assert_eq!(calls.get(), 1);
    assert_eq!(collapsed, 19);
}

#[tokio::test]
async fn rfc9111_4_3_stale_responses_are_revalidated_with_the_filter() {
    let calls = Calls::default();
    let clock = clock();
    let cache = cache_with(Config::default(), &clock);
    let counter = calls.clone();
    let route = warp::header::optional::<String>("if-none-match").map(
        move |inm: Option<String>| -> http::Response<String> {
            let n = counter.bump();
            let matches = inm.as_deref() == Some("\"v1\"");
            let builder = http::Response::builder()
                .header("cache-control", "max-age=10")
                .header("etag", "\"v1\"")
                .header("x-call", n.to_string());
            if matches {
                builder.status(StatusCode::NOT_MODIFIED).body(String::new())
            } else {
                builder.body(format!("call {n}"))
            }
            .expect("response")
        },
    );
    let client = serve(route, &cache).await;
    assert_eq!(client.get("/").await.body, "call 1");
    clock.advance(Duration::from_secs(11));
    let revalidated = client.get("/").await;
    assert_eq!(revalidated.status, StatusCode::OK);
    assert_eq!(revalidated.body, "call 1", "the stored body, freshened");
    assert_eq!(revalidated.header("x-call"), "2", "fields from the 304");
    assert_eq!(
        revalidated.cache_status(),
        "webcache; fwd=stale; fwd-status=304; ttl=10; stored"
    );
    assert!(client.get("/").await.cache_status().contains("hit"));
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn rfc5861_3_stale_while_revalidate_serves_stale_and_refreshes_in_the_background() {
    let calls = Calls::default();
    let clock = clock();
    let cache = cache_with(Config::default(), &clock);
    let client = serve(
        counting(&calls, "max-age=10, stale-while-revalidate=60"),
        &cache,
    )
    .await;
    assert_eq!(client.get("/").await.body, "call 1");
    clock.advance(Duration::from_secs(15));
    let stale = client.get("/").await;
    assert_eq!(stale.body, "call 1", "served stale at once");
    assert!(
        stale.cache_status().contains("hit"),
        "{}",
        stale.cache_status()
    );
    cache.quiesce().await;
    assert_eq!(calls.get(), 2, "refreshed in the background");
    let fresh = client.get("/").await;
    assert_eq!(fresh.body, "call 2");
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn refresh_ahead_refreshes_a_hit_near_expiry() {
    let calls = Calls::default();
    let clock = clock();
    let config = Config::builder()
        .refresh_ahead(Duration::from_secs(5))
        .build()
        .expect("config");
    let cache = cache_with(config, &clock);
    let client = serve(counting(&calls, "max-age=10"), &cache).await;
    assert_eq!(client.get("/").await.body, "call 1");
    clock.advance(Duration::from_secs(2));
    assert_eq!(client.get("/").await.body, "call 1");
    cache.quiesce().await;
    assert_eq!(calls.get(), 1, "not yet near expiry");
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        client.get("/").await.body,
        "call 1",
        "served, then refreshed"
    );
    cache.quiesce().await;
    assert_eq!(calls.get(), 2);
    assert_eq!(client.get("/").await.body, "call 2");
}

#[tokio::test]
async fn rfc9111_4_4_a_successful_post_invalidates_the_target() {
    let calls = Calls::default();
    let cache = cache_with(Config::default(), &clock());
    let client = serve(counting(&calls, "max-age=60"), &cache).await;
    client.get("/").await;
    assert_eq!(client.get("/").await.body, "call 1");
    let post = client
        .send(
            client
                .request("POST", "/")
                .body(Full::new(Bytes::from_static(b"data")))
                .expect("request"),
        )
        .await;
    assert!(post.cache_status().contains("fwd=method"));
    assert_eq!(client.get("/").await.body, "call 3");
}

/// A streamed reply whose second chunk is only sent once the client has
/// read the first: a cache that buffered it would deadlock here.
fn gated_stream(
    calls: &Calls,
    first: Bytes,
    second: Bytes,
) -> (
    impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone + Send + Sync + 'static,
    Arc<Notify>,
) {
    let read_first = Arc::new(Notify::new());
    let gate = read_first.clone();
    let calls = calls.clone();
    let route = warp::any().map(move || {
        calls.bump();
        let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(1);
        let (first, second, gate) = (first.clone(), second.clone(), gate.clone());
        tokio::spawn(async move {
            let _ = tx.send(Ok(first)).await;
            gate.notified().await;
            let _ = tx.send(Ok(second)).await;
        });
        let reply = warp::reply::stream(ReceiverStream(rx));
        webcache_warp::reply::cache_for(reply, Duration::from_secs(60))
    });
    (route, read_first)
}

/// Reads the first frame, opens the gate, reads the rest.
async fn read_gated(client: &Client, gate: &Notify) -> (String, Bytes, Bytes) {
    let response = client
        .send_streaming(
            client
                .request("GET", "/")
                .body(Full::default())
                .expect("request"),
        )
        .await;
    let status = response
        .headers()
        .get("cache-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut body = response.into_body();
    let first = body.frame().await.expect("a frame").expect("frame");
    let first = first.into_data().unwrap_or_default();
    gate.notify_one();
    let rest = body.collect().await.expect("rest").to_bytes();
    (status, first, rest)
}

#[tokio::test]
async fn a_streamed_body_over_the_size_limit_passes_through_unstored() {
    let calls = Calls::default();
    let config = Config::builder()
        .max_body_size(1024)
        .build()
        .expect("config");
    let cache = cache_with(config, &clock());
    let (first, second) = (Bytes::from(vec![b'a'; 800]), Bytes::from(vec![b'b'; 800]));
    let (route, gate) = gated_stream(&calls, first.clone(), second.clone());
    let client = serve(route, &cache).await;

    let (status, got_first, rest) = read_gated(&client, &gate).await;
    assert!(!status.contains("stored"), "{status}");
    assert_eq!(
        got_first, first,
        "the first chunk arrived before the second was made"
    );
    assert_eq!(rest, second);
    cache.quiesce().await;

    let (_, again, rest) = read_gated(&client, &gate).await;
    assert_eq!([again, rest].concat(), [first, second].concat());
    assert_eq!(calls.get(), 2, "not stored: the filter ran again");
}

#[tokio::test]
async fn a_streamed_body_within_the_limit_is_stored_once_sent() {
    let calls = Calls::default();
    let cache = cache_with(Config::default(), &clock());
    let (route, gate) = gated_stream(
        &calls,
        Bytes::from_static(b"first,"),
        Bytes::from_static(b"second"),
    );
    let client = serve(route, &cache).await;
    let (_, first, rest) = read_gated(&client, &gate).await;
    assert_eq!(
        (first.as_ref(), rest.as_ref()),
        (&b"first,"[..], &b"second"[..])
    );
    cache.quiesce().await;
    let hit = client.get("/").await;
    assert_eq!(hit.body, "first,second");
    assert!(hit.cache_status().contains("hit"), "{}", hit.cache_status());
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn header_helpers_set_each_field_per_route_and_per_reply() {
    let calls = Calls::default();
    let cache = cache_with(Config::default(), &clock());
    let count = |calls: &Calls| {
        let calls = calls.clone();
        move || format!("call {}", calls.bump())
    };
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let routes = warp::path("none")
        .map(count(&calls))
        .dont_cache()
        .or(warp::path("mine").map(count(&calls)).private())
        .or(warp::path("shared").map(count(&calls)).cache_control(
            CacheControl::new()
                .with_public()
                .with_max_age(Duration::from_secs(5))
                .with_s_maxage(Duration::from_secs(60)),
        ))
        .or(warp::path("article").map(move || {
            let headers = CacheHeaders::cache_for(Duration::from_secs(60))
                .last_modified(modified)
                .vary(["accept-language"]);
            webcache_warp::reply::with_caching("text", headers)
        }))
        .or(warp::path("reply").map(|| webcache_warp::reply::dont_cache("x")));
    let client = serve(routes, &cache).await;

    let none = client.get("/none").await;
    assert_eq!(none.header("cache-control"), "no-store");
    assert_eq!(client.get("/none").await.body, "call 2", "never stored");

    let mine = client.get("/mine").await;
    assert_eq!(mine.header("cache-control"), "private");
    assert_eq!(
        client.get("/mine").await.body,
        "call 4",
        "not in a shared cache"
    );

    let shared = client.get("/shared").await;
    assert_eq!(
        shared.header("cache-control"),
        "public, max-age=5, s-maxage=60"
    );
    assert_eq!(client.get("/shared").await.body, shared.body, "stored");

    let article = client
        .get_with("/article", &[("accept-language", "de")])
        .await;
    assert_eq!(article.header("cache-control"), "max-age=60");
    assert_eq!(
        article.header("last-modified"),
        "Tue, 14 Nov 2023 22:13:20 GMT"
    );
    assert_eq!(article.header("vary"), "accept-language");
    assert!(!article.header("expires").is_empty());
    let other = client
        .get_with("/article", &[("accept-language", "en")])
        .await;
    assert!(
        other.cache_status().contains("fwd=vary-miss"),
        "{}",
        other.cache_status()
    );

    assert_eq!(
        client.get("/reply").await.header("cache-control"),
        "no-store"
    );
}

#[tokio::test]
async fn graceful_shutdown_stops_the_server() {
    let cache = cache_with(Config::default(), &clock());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = webcache_warp::serve(warp::any().map(|| "hi"), cache).graceful(async move {
        let _ = rx.await;
    });
    let (addr, task) = spawn(server).await;
    assert_eq!(Client::new(addr).get("/").await.body, "hi");
    let _ = tx.send(());
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stopped within 5 s")
        .expect("server task");
}

/// An mpsc receiver as a `Stream` for `warp::reply::stream`.
struct ReceiverStream<T>(mpsc::Receiver<T>);

impl<T> futures_core::Stream for ReceiverStream<T> {
    type Item = T;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn request_bodies_and_the_peer_address_reach_the_filter() {
    let cache = cache_with(Config::default(), &clock());
    let route = warp::post()
        .and(webcache_warp::remote_addr())
        .and(warp::body::bytes())
        .map(|peer: Option<std::net::SocketAddr>, body: Bytes| {
            let ip = peer.map(|p| p.ip().to_string()).unwrap_or_default();
            format!("{ip} sent {}", String::from_utf8_lossy(&body))
        });
    let client = serve(route, &cache).await;
    let got = client
        .send(
            client
                .request("POST", "/")
                .body(Full::new(Bytes::from_static(b"a body")))
                .expect("request"),
        )
        .await;
    assert_eq!(got.body, "127.0.0.1 sent a body");
}

/// Counts its clones: captured by a filter, it counts the filter's.
struct CloneCounter(Calls);

impl Clone for CloneCounter {
    fn clone(&self) -> Self {
        self.0.bump();
        CloneCounter(self.0.clone())
    }
}

#[tokio::test]
async fn a_hit_never_clones_the_filter() {
    let clones = Calls::default();
    let counter = CloneCounter(clones.clone());
    let route = warp::any()
        .map(move || {
            let _held = &counter;
            "x"
        })
        .cache_for(Duration::from_secs(60));
    let cache = cache_with(Config::default(), &clock());
    let client = serve(route, &cache).await;
    client.get("/").await;
    cache.quiesce().await;
    let after_miss = clones.get();
    for _ in 0..5 {
        assert!(client.get("/").await.cache_status().contains("hit"));
    }
    assert_eq!(clones.get(), after_miss);
}

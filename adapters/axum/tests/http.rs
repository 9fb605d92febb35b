//! The tower/axum layer over real HTTP on loopback.

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use tokio::sync::{Notify, mpsc};
use webcache_axum::{CacheLayer, Caching};
use webcache_core::clock::ManualClock;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;

use support::{Client, spawn};

type Layer = CacheLayer<MemoryStore>;

fn cache_with(config: Config, clock: &ManualClock) -> Layer {
    CacheLayer::new(
        Cache::builder(MemoryStore::new(16 << 20))
            .config(config)
            .clock(clock.clone())
            .build(),
    )
}

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::now())
}

#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// An app whose `/` route answers `call N` with `cache-control` set to
/// `cc`, counting calls.
fn counting_app(calls: &Calls, cc: &'static str) -> Router {
    let calls = calls.clone();
    Router::new().route(
        "/",
        any(move || {
            let calls = calls.clone();
            async move {
                let n = calls.bump();
                ([("cache-control", cc)], format!("call {n}"))
            }
        }),
    )
}

async fn serve(app: Router, layer: &Layer) -> Client {
    Client::new(spawn(app.layer(layer.clone())).await)
}

#[tokio::test]
async fn rfc9111_4_a_second_request_is_a_hit_with_age_and_cache_status() {
    let calls = Calls::default();
    let clock = clock();
    let layer = cache_with(Config::default(), &clock);
    let client = serve(counting_app(&calls, "max-age=60"), &layer).await;

    let miss = client.get("/").await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.body, "call 1");
    assert_eq!(
        miss.cache_status(),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );
    assert!(
        miss.header("etag").starts_with('"'),
        "the application role adds a strong ETag"
    );

    clock.advance(Duration::from_secs(7));
    let hit = client.get("/").await;
    assert_eq!(hit.body, "call 1");
    assert_eq!(hit.header("age"), "7");
    assert_eq!(hit.cache_status(), "webcache; hit; ttl=53");
    assert_eq!(hit.header("etag"), miss.header("etag"));
    assert_eq!(calls.get(), 1, "the hit never reached the handler");
}

#[tokio::test]
async fn rfc9111_4_1_vary_selects_the_representation() {
    let calls = Calls::default();
    let clock = clock();
    let layer = cache_with(Config::default(), &clock);
    let counter = calls.clone();
    let app = Router::new().route(
        "/",
        get(move |headers: HeaderMap| {
            let calls = counter.clone();
            async move {
                calls.bump();
                let lang = headers
                    .get("accept-language")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("none")
                    .to_owned();
                (
                    [("cache-control", "max-age=60"), ("vary", "Accept-Language")],
                    lang,
                )
            }
        }),
    );
    let client = serve(app, &layer).await;
    for (lang, expected_calls) in [("en", 1), ("de", 2), ("en", 2), ("de", 2), ("EN", 2)] {
        let got = client.get_with("/", &[("accept-language", lang)]).await;
        assert_eq!(
            got.body.to_ascii_lowercase(),
            lang.to_ascii_lowercase().as_bytes()
        );
        assert_eq!(calls.get(), expected_calls, "after {lang}");
    }
    let none = client.get("/").await;
    assert_eq!(none.body, "none");
    assert!(
        none.cache_status().contains("fwd=vary-miss"),
        "{}",
        none.cache_status()
    );
}

#[tokio::test]
async fn rfc9110_13_1_2_if_none_match_is_answered_304_on_a_hit_and_on_a_miss() {
    let calls = Calls::default();
    let clock = clock();
    let layer = cache_with(Config::default(), &clock);
    let client = serve(counting_app(&calls, "max-age=60"), &layer).await;

    let first = client.get("/").await;
    let etag = first.header("etag").to_owned();
    let hit = client.get_with("/", &[("if-none-match", &etag)]).await;
    assert_eq!(hit.status, StatusCode::NOT_MODIFIED);
    assert!(hit.body.is_empty());
    assert_eq!(hit.header("etag"), etag);
    assert_eq!(hit.header("cache-control"), "max-age=60");
    assert_eq!(calls.get(), 1);

    // A fresh cache: the request goes to the application, which answers in
    // full; the layer compares the client's tag with the body's and answers
    // 304, and stores the full response.
    let other = cache_with(Config::default(), &clock);
    let app = Router::new().route(
        "/",
        get(|| async { ([("cache-control", "max-age=60")], "same") }),
    );
    let client = serve(app, &other).await;
    let etag = webcache_core::validation::strong_etag(b"same").to_string();
    let miss = client
        .get_with("/", &[("if-none-match", &format!("\"x\", W/{etag}"))])
        .await;
    assert_eq!(miss.status, StatusCode::NOT_MODIFIED, "{:?}", miss.headers);
    assert_eq!(miss.header("etag"), etag);
    let full = client.get("/").await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body, "same");
    assert!(
        full.cache_status().contains("hit"),
        "the full response was stored"
    );
}

#[tokio::test]
async fn rfc9111_4_3_stale_responses_are_revalidated_with_the_application() {
    let calls = Calls::default();
    let clock = clock();
    let layer = cache_with(Config::default(), &clock);
    let counter = calls.clone();
    let app = Router::new().route(
        "/",
        get(move |headers: HeaderMap| {
            let calls = counter.clone();
            async move {
                let n = calls.bump();
                let matches = headers.get("if-none-match").is_some_and(|v| v == "\"v1\"");
                let status = if matches {
                    StatusCode::NOT_MODIFIED
                } else {
                    StatusCode::OK
                };
                let body = if matches {
                    String::new()
                } else {
                    format!("call {n}")
                };
                (
                    status,
                    [
                        ("cache-control", "max-age=10"),
                        ("etag", "\"v1\""),
                        ("x-call", &n.to_string()),
                    ],
                    body,
                )
                    .into_response()
            }
        }),
    );
    let client = serve(app, &layer).await;
    assert_eq!(client.get("/").await.body, "call 1");
    clock.advance(Duration::from_secs(11));
    let revalidated = client.get("/").await;
    assert_eq!(revalidated.status, StatusCode::OK);
    assert_eq!(revalidated.body, "call 1", "the stored body, freshened");
    assert_eq!(
        revalidated.header("x-call"),
        "2",
        "headers updated from the 304"
    );
    assert_eq!(
        revalidated.cache_status(),
        "webcache; fwd=stale; fwd-status=304; ttl=10; stored"
    );
    assert_eq!(calls.get(), 2);
    let hit = client.get("/").await;
    assert!(hit.cache_status().contains("hit"));
    assert_eq!(calls.get(), 2, "fresh again after the 304");
}

#[tokio::test]
async fn rfc9111_4_4_a_successful_post_invalidates_the_target() {
    let calls = Calls::default();
    let clock = clock();
    let layer = cache_with(Config::default(), &clock);
    let client = serve(counting_app(&calls, "max-age=60"), &layer).await;
    client.get("/").await;
    assert_eq!(client.get("/").await.body, "call 1");
    let post = client
        .send(
            client
                .request("POST", "/")
                .body(Full::new(Bytes::from_static(b"data")))
                .unwrap(),
        )
        .await;
    assert_eq!(post.status, StatusCode::OK);
    assert!(post.cache_status().contains("fwd=method"));
    assert_eq!(
        client.get("/").await.body,
        "call 3",
        "invalidated by the POST"
    );
}

#[tokio::test]
async fn rfc9111_5_2_2_5_no_store_is_never_stored() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let client = serve(counting_app(&calls, "no-store, max-age=60"), &layer).await;
    client.get("/").await;
    assert_eq!(client.get("/").await.body, "call 2");
}

#[tokio::test]
async fn rfc9111_5_2_2_7_private_is_not_stored_by_the_shared_cache() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let client = serve(counting_app(&calls, "private, max-age=60"), &layer).await;
    client.get("/").await;
    assert_eq!(client.get("/").await.body, "call 2");
}

#[tokio::test]
async fn rfc9111_3_5_authorization_needs_public_to_be_stored() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let client = serve(counting_app(&calls, "max-age=60"), &layer).await;
    client.get_with("/", &[("authorization", "Bearer a")]).await;
    let again = client.get_with("/", &[("authorization", "Bearer a")]).await;
    assert_eq!(again.body, "call 2");

    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let client = serve(counting_app(&calls, "public, max-age=60"), &layer).await;
    client.get_with("/", &[("authorization", "Bearer a")]).await;
    let again = client.get_with("/", &[("authorization", "Bearer a")]).await;
    assert_eq!(again.body, "call 1");
}

#[tokio::test]
async fn a_body_over_the_size_limit_streams_through_and_is_not_stored() {
    let calls = Calls::default();
    let config = Config::builder().max_body_size(1024).build().unwrap();
    let layer = cache_with(config, &clock());
    let counter = calls.clone();
    let big: Bytes = Bytes::from(vec![b'x'; 4096]);
    let body = big.clone();
    let app = Router::new().route(
        "/",
        get(move || {
            let calls = counter.clone();
            let body = body.clone();
            async move {
                calls.bump();
                ([("cache-control", "max-age=60")], body)
            }
        }),
    );
    let client = serve(app, &layer).await;
    assert_eq!(client.get("/").await.body, big);
    let second = client.get("/").await;
    assert_eq!(second.body, big);
    assert_eq!(calls.get(), 2);
    assert!(!second.cache_status().contains("stored"));
}

/// Holds the application's answers until the test opens it.
#[derive(Clone)]
struct Gate(Arc<tokio::sync::watch::Sender<bool>>);

impl Gate {
    fn closed() -> Self {
        Gate(Arc::new(tokio::sync::watch::channel(false).0))
    }
    fn open(&self) {
        self.0.send_replace(true);
    }
    async fn pass(&self) {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
    }
}

/// Polls `done` until it holds, for at most 10 s.
async fn until(what: &str, done: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "gave up waiting until {what}");
}

#[tokio::test]
async fn rfc9111_4_concurrent_misses_make_one_call_to_the_application() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let gate = Gate::closed();
    let (counter, held) = (calls.clone(), gate.clone());
    let app = Router::new().route(
        "/",
        get(move || {
            let (calls, gate) = (counter.clone(), held.clone());
            async move {
                let n = calls.bump();
                gate.pass().await;
                ([("cache-control", "max-age=60")], format!("call {n}"))
            }
        }),
    );
    let client = serve(app, &layer).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move { client.get("/").await }));
    }
    // Every follower is waiting on the one fill before the origin answers:
    // they cannot have run one after the other.
    let cache = layer.cache().clone();
    until(
        "19 requests wait for the first, which reached the origin",
        || cache.stats().collapsed == 19 && calls.get() >= 1,
    )
    .await;
    assert_eq!(calls.get(), 1);
    gate.open();
    let mut collapsed = 0;
    for t in tasks {
        let got = t.await.unwrap();
        assert_eq!(got.body, "call 1");
        if got.cache_status().contains("collapsed") {
            collapsed += 1;
        }
    }
    assert_eq!(calls.get(), 1);
    assert_eq!(collapsed, 19);
}

#[tokio::test]
async fn rfc9111_4_followers_of_an_unstorable_response_each_go_forward() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let gate = Gate::closed();
    let (counter, held) = (calls.clone(), gate.clone());
    let app = Router::new().route(
        "/",
        get(move || {
            let (calls, gate) = (counter.clone(), held.clone());
            async move {
                let n = calls.bump();
                gate.pass().await;
                ([("cache-control", "no-store")], format!("call {n}"))
            }
        }),
    );
    let client = serve(app, &layer).await;
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.get("/").await })
        })
        .collect();
    let cache = layer.cache().clone();
    until("four requests wait for the first", || {
        cache.stats().collapsed == 4
    })
    .await;
    assert_eq!(calls.get(), 1);
    gate.open();
    let mut bodies = Vec::new();
    for t in tasks {
        bodies.push(t.await.unwrap().body);
    }
    assert_eq!(
        calls.get(),
        5,
        "nobody is served another's no-store response"
    );
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 5);
}

/// A chunked response whose second chunk is only sent after the client has
/// read the first: a cache that buffered it before sending would deadlock.
#[tokio::test]
async fn a_chunked_response_streams_while_it_is_captured_and_is_stored_after() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let read_first = Arc::new(Notify::new());
    let gate = read_first.clone();
    let counter = calls.clone();
    let app = Router::new().route(
        "/",
        get(move || {
            let gate = gate.clone();
            let calls = counter.clone();
            async move {
                calls.bump();
                let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
                tokio::spawn(async move {
                    let _ = tx
                        .send(Ok(Frame::data(Bytes::from_static(b"first,"))))
                        .await;
                    gate.notified().await;
                    let _ = tx
                        .send(Ok(Frame::data(Bytes::from_static(b"second"))))
                        .await;
                });
                let stream = tokio_stream(rx);
                Response::builder()
                    .header("cache-control", "max-age=60")
                    .body(Body::new(StreamBody::new(stream)))
                    .unwrap()
            }
        }),
    );
    let client = serve(app, &layer).await;
    let response = client
        .send_streaming(client.request("GET", "/").body(Full::default()).unwrap())
        .await;
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "first,");
    read_first.notify_one();
    let mut rest = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            rest.extend_from_slice(&data);
        }
    }
    assert_eq!(rest, b"second");
    layer.cache().quiesce().await;
    let hit = client.get("/").await;
    assert_eq!(hit.body, "first,second");
    assert!(hit.cache_status().contains("hit"), "{}", hit.cache_status());
    assert_eq!(calls.get(), 1);
}

/// Adapts an mpsc receiver into a `Stream` for `StreamBody`.
fn tokio_stream<T: Send + 'static>(rx: mpsc::Receiver<T>) -> ReceiverStream<T> {
    ReceiverStream(rx)
}

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
async fn rfc9111_5_2_1_7_only_if_cached_without_a_stored_response_is_504() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let client = serve(counting_app(&calls, "max-age=60"), &layer).await;
    let got = client
        .get_with("/", &[("cache-control", "only-if-cached")])
        .await;
    assert_eq!(got.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(calls.get(), 0);
    client.get("/").await;
    let got = client
        .get_with("/", &[("cache-control", "only-if-cached")])
        .await;
    assert_eq!(got.status, StatusCode::OK);
}

#[tokio::test]
async fn header_helpers_set_cache_control_from_handlers_and_routes() {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let counter = calls.clone();
    let app = Router::new()
        .route(
            "/part",
            get(move || {
                let calls = counter.clone();
                async move {
                    let n = calls.bump();
                    (
                        Caching::cache_for(Duration::from_secs(30)),
                        format!("call {n}"),
                    )
                }
            }),
        )
        .route(
            "/never",
            get(|| async { "x" }).layer(webcache_axum::dont_cache()),
        );
    let client = serve(app, &layer).await;
    let first = client.get("/part").await;
    assert_eq!(first.header("cache-control"), "max-age=30");
    assert!(!first.header("expires").is_empty());
    assert_eq!(client.get("/part").await.body, "call 1");
    let never = client.get("/never").await;
    assert_eq!(never.header("cache-control"), "no-store");
}

#[tokio::test]
async fn request_bodies_reach_the_application_untouched() {
    let layer = cache_with(Config::default(), &clock());
    let app = Router::new().route(
        "/",
        any(|request: Request| async move {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            body.len().to_string()
        }),
    );
    let client = serve(app, &layer).await;
    let payload = Bytes::from(vec![1u8; 3 << 20]);
    let got = client
        .send(client.request("PUT", "/").body(Full::new(payload)).unwrap())
        .await;
    assert_eq!(got.body, (3 << 20).to_string());
}

/// A body that sends `first`, then fails (`fail`) or just ends, short of
/// any Content-Length announced.
struct Broken {
    first: Option<Bytes>,
    fail: bool,
}

impl http_body::Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let frame = match self.first.take() {
            Some(chunk) => Some(Ok(Frame::data(chunk))),
            None if self.fail => Some(Err(std::io::Error::other("the upstream body broke"))),
            None => None,
        };
        std::task::Poll::Ready(frame)
    }
}

/// The app answers `/` with `max-age=60` and a body that breaks after
/// "partial " (`content_length`: announced first), counting calls; the
/// client's read of the body must fail, and the next request go forward.
async fn a_broken_body_is_an_error_to_the_client_and_never_stored(
    fail: bool,
    content_length: Option<&'static str>,
) {
    let calls = Calls::default();
    let layer = cache_with(Config::default(), &clock());
    let counter = calls.clone();
    let app = Router::new().route(
        "/",
        get(move || {
            let calls = counter.clone();
            async move {
                calls.bump();
                let mut response = Response::new(Body::new(Broken {
                    first: Some(Bytes::from_static(b"partial ")),
                    fail,
                }));
                let headers = response.headers_mut();
                headers.insert("cache-control", "max-age=60".parse().unwrap());
                if let Some(n) = content_length {
                    headers.insert("content-length", n.parse().unwrap());
                }
                response
            }
        }),
    );
    let client = serve(app, &layer).await;
    let read = client.try_get("/").await;
    assert!(
        read.is_err(),
        "the client must see the broken body as an error, not a short 200: {read:?}"
    );
    layer.cache().quiesce().await;
    let again = client.try_get("/").await;
    assert!(
        again.is_err(),
        "the second answer is broken again, from the application: {again:?}"
    );
    assert_eq!(calls.get(), 2, "the second request went to the application");
    assert_eq!(layer.cache().stats().stores, 0);
}

#[tokio::test]
async fn rfc9111_3_a_body_that_errors_mid_stream_fails_the_client_and_is_not_stored() {
    a_broken_body_is_an_error_to_the_client_and_never_stored(true, None).await;
}

#[tokio::test]
async fn rfc9111_3_a_body_that_errors_after_a_content_length_is_not_stored() {
    a_broken_body_is_an_error_to_the_client_and_never_stored(true, Some("100")).await;
}

#[tokio::test]
async fn rfc9112_6_3_a_body_cut_short_of_its_content_length_fails_the_client_and_is_not_stored() {
    a_broken_body_is_an_error_to_the_client_and_never_stored(false, Some("100")).await;
}

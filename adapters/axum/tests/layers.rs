//! The request and response sides placed at different depths of a stack:
//! requests flow top to bottom, responses bottom to top.

mod support;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::routing::get;
use tower_http::compression::CompressionLayer;
use webcache_axum::CacheLayer;
use webcache_core::Cache;
use webcache_core::clock::ManualClock;
use webcache_memory::MemoryStore;

use support::{Client, spawn};

#[tokio::test]
async fn stored_responses_are_the_compressed_ones_and_hits_pass_the_outer_layers() {
    let calls = Arc::new(Mutex::new(0usize));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let cache = CacheLayer::new(
        Cache::builder(MemoryStore::new(1 << 20))
            .clock(ManualClock::new(SystemTime::now()))
            .build(),
    );
    let counter = calls.clone();
    let log = seen.clone();
    let app = Router::new()
        .route(
            "/",
            get(move || {
                let calls = counter.clone();
                async move {
                    *calls.lock().unwrap() += 1;
                    ([("cache-control", "max-age=60")], "hello ".repeat(200))
                }
            }),
        )
        // Innermost: the request side answers hits below compression...
        .layer(cache.request_layer())
        .layer(CompressionLayer::new())
        // ...the response side stores what compression produced...
        .layer(cache.response_layer())
        // ...and an outer logging layer sees every response, hits included.
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let log = log.clone();
            async move {
                let response = next.run(req).await;
                let status = response
                    .headers()
                    .get("cache-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                log.lock().unwrap().push(status);
                response
            }
        }));
    let client = Client::new(spawn(app).await);
    let gzip = [("accept-encoding", "gzip")];

    let first = client.get_with("/", &gzip).await;
    assert_eq!(first.header("content-encoding"), "gzip");
    assert_eq!(&first.body[..2], &[0x1f, 0x8b], "a gzip body");
    // The compressed body has no known length: it streamed to the client
    // while being captured, and is stored once complete.
    assert!(
        first.cache_status().contains("fwd=uri-miss"),
        "{}",
        first.cache_status()
    );
    cache.cache().quiesce().await;

    let second = client.get_with("/", &gzip).await;
    assert_eq!(second.header("content-encoding"), "gzip");
    assert_eq!(
        second.body, first.body,
        "the stored response is the compressed one"
    );
    assert!(
        second.cache_status().contains("hit"),
        "{}",
        second.cache_status()
    );
    assert_eq!(*calls.lock().unwrap(), 1);

    // A client that does not accept gzip selects another representation
    // (compression adds Vary: accept-encoding).
    let plain = client.get("/").await;
    assert_eq!(plain.header("content-encoding"), "");
    assert_eq!(plain.body, "hello ".repeat(200));
    assert_eq!(*calls.lock().unwrap(), 2);
    cache.cache().quiesce().await;
    assert!(client.get("/").await.cache_status().contains("hit"));

    let log = seen.lock().unwrap().clone();
    assert_eq!(log.len(), 4, "the outer layer saw the hits too: {log:?}");
    assert!(log[1].contains("hit"), "{log:?}");
}

#[tokio::test]
async fn the_response_side_can_also_sit_below_the_request_side() {
    let calls = Arc::new(Mutex::new(0usize));
    let cache = CacheLayer::new(Cache::builder(MemoryStore::new(1 << 20)).build());
    let counter = calls.clone();
    let app = Router::new()
        .route(
            "/",
            get(move || {
                let calls = counter.clone();
                async move {
                    *calls.lock().unwrap() += 1;
                    ([("cache-control", "max-age=60")], "x")
                }
            }),
        )
        .layer(cache.response_layer())
        .layer(cache.request_layer());
    let client = Client::new(spawn(app).await);
    let first = client.get("/").await;
    assert!(
        first.cache_status().contains("stored"),
        "{}",
        first.cache_status()
    );
    let second = client.get("/").await;
    assert!(
        second.cache_status().contains("hit"),
        "{}",
        second.cache_status()
    );
    assert_eq!(*calls.lock().unwrap(), 1);
}

/// RFC 9111 §4.3.4: a 304 whose validator matches nothing stored cannot
/// be used; the response side sends one unconditional request, through the
/// request side below it, and serves that.
#[tokio::test]
async fn rfc9111_4_3_4_the_separated_response_side_retries_an_unusable_304() {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    use std::time::Duration;

    let clock = ManualClock::new(SystemTime::now());
    let cache = CacheLayer::new(
        Cache::builder(MemoryStore::new(1 << 20))
            .clock(clock.clone())
            .build(),
    );
    let calls = Arc::new(Mutex::new(0usize));
    let counter = calls.clone();
    let app = Router::new()
        .route(
            "/",
            get(move |headers: HeaderMap| {
                let calls = counter.clone();
                async move {
                    let n = {
                        let mut c = calls.lock().unwrap();
                        *c += 1;
                        *c
                    };
                    let cc = [("cache-control", "max-age=10")];
                    if n == 1 {
                        ([("etag", "\"v1\"")], cc, "one").into_response()
                    } else if headers.contains_key("if-none-match") {
                        // Claims "not modified" under another strong tag.
                        (StatusCode::NOT_MODIFIED, [("etag", "\"v2\"")], cc).into_response()
                    } else {
                        ([("etag", "\"v2\"")], cc, "two").into_response()
                    }
                }
            }),
        )
        .layer(cache.request_layer())
        .layer(cache.response_layer());
    let client = Client::new(spawn(app).await);
    assert_eq!(client.get("/").await.body, "one");
    clock.advance(Duration::from_secs(11));
    let second = client.get("/").await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, "two", "the full response of the retry");
    assert_eq!(*calls.lock().unwrap(), 3, "the validation, then one retry");
    assert_eq!(client.get("/").await.body, "two", "stored");
    assert_eq!(*calls.lock().unwrap(), 3);
}

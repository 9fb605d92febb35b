//! Purges across instances sharing one Redis (a `redis-server` of the
//! test's own): a purge made through one instance's purge endpoints takes
//! effect on the other at once, hard (a miss) or soft (stale); and a tag
//! purge during load leaves no response from before it served as fresh.

#[path = "../../webcache-redis/tests/support/server.rs"]
mod server;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::routing::get;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use server::RedisServer;
use webcache_axum::{CacheLayer, Caching, purge_service};
use webcache_core::{Cache, Config, PurgeMode, Upstream};
use webcache_redis::RedisStore;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// An instance: tagged pages behind a cache on `redis_url`, with the purge
/// endpoints at `/admin/purge`. Returns its base URL.
async fn instance(redis_url: &str, calls: Arc<AtomicUsize>) -> String {
    let cache = Cache::new(RedisStore::open(redis_url).expect("URL"), Config::default());
    let app = Router::new()
        .route(
            "/p/{id}",
            get(move |Path(id): Path<String>| {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    let caching = Caching::cache_for(Duration::from_secs(300))
                        .tags([format!("product-{id}"), "catalog".to_owned()]);
                    (caching, format!("{id} {n}"))
                }
            }),
        )
        .layer(CacheLayer::new(cache.clone()))
        .nest_service("/admin/purge", purge_service(cache, "tok"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn send(client: &HttpClient, req: axum::http::Request<Full<Bytes>>) -> (u16, String, String) {
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .expect("in time")
        .expect("response");
    let status = response.status().as_u16();
    let cache_status = response
        .headers()
        .get("cache-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        cache_status,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn page(client: &HttpClient, base: &str, id: &str, extra: Option<(&str, &str)>) -> String {
    let mut req = axum::http::Request::get(format!("{base}/p/{id}")).header("host", "shop.test");
    if let Some((name, value)) = extra {
        req = req.header(name, value);
    }
    let (status, cache_status, _) = send(client, req.body(Full::default()).unwrap()).await;
    assert_eq!(status, 200);
    cache_status
}

async fn purge(client: &HttpClient, base: &str, what: &str, body: &str) -> String {
    let req = axum::http::Request::post(format!("{base}/admin/purge/{what}"))
        .header("authorization", "Bearer tok")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let (status, _, json) = send(client, req).await;
    assert_eq!(status, 200, "{json}");
    json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_on_one_instance_is_a_miss_or_stale_on_the_other() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let a = instance(&redis.url(), calls.clone()).await;
    let b = instance(&redis.url(), calls.clone()).await;
    let client = Client::builder(TokioExecutor::new()).build_http();
    for id in ["1", "2"] {
        page(&client, &a, id, None).await;
        assert!(
            page(&client, &b, id, None).await.contains("hit"),
            "b shares a's entries"
        );
    }
    // By tag, hard: a miss on b.
    let json = purge(&client, &a, "tag", "product-1").await;
    assert!(json.contains(r#""resources":1"#), "{json}");
    let status = page(&client, &b, "1", None).await;
    assert!(
        status.contains("fwd=") && status.contains("stored"),
        "miss on b: {status}"
    );
    assert!(
        page(&client, &b, "2", None).await.contains("hit"),
        "other tags kept"
    );
    // By URL, soft: stale on b — served under max-stale, validated otherwise.
    purge(&client, &a, "url?soft=true", "http://shop.test/p/2").await;
    let status = page(&client, &b, "2", Some(("cache-control", "max-stale"))).await;
    assert!(
        status.contains("hit") && (status.contains("ttl=-") || status.ends_with("ttl=0")),
        "stale on b: {status}"
    );
    let status = page(&client, &b, "2", None).await;
    assert!(status.contains("fwd=stale"), "validated on b: {status}");
    // Flush: everything a miss on b.
    purge(&client, &a, "flush", "").await;
    for id in ["1", "2"] {
        let status = page(&client, &b, id, None).await;
        assert!(status.contains("fwd="), "flushed on b: {status}");
    }
}

/// An origin whose body is the version it serves now, a little slow so
/// that fills are in flight when the purge happens.
#[derive(Clone)]
struct Versioned {
    version: Arc<AtomicU64>,
}

impl Upstream<Full<Bytes>> for Versioned {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(
        &mut self,
        _req: axum::http::Request<Full<Bytes>>,
    ) -> Result<axum::http::Response<Full<Bytes>>, Infallible> {
        let version = self.version.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(3)).await;
        let response = axum::http::Response::builder()
            .header("cache-control", "max-age=300")
            .header("surrogate-key", "all")
            .body(Full::new(Bytes::from(version.to_string())))
            .unwrap();
        Ok(response)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_purge_during_load_leaves_nothing_from_before_it_served_as_fresh() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cache = |salt: &str| {
        let config = Config::builder().master_salt(salt).build().unwrap();
        Cache::new(RedisStore::open(&redis.url()).unwrap(), config)
    };
    let (a, b) = (cache("load"), cache("load"));
    let origin = Versioned {
        version: Arc::new(AtomicU64::new(1)),
    };
    let purged = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut clients = Vec::new();
    for c in 0..8u64 {
        let (b, origin, purged) = (b.clone(), origin.clone(), purged.clone());
        let (violations, served) = (violations.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            let mut i = c;
            while Instant::now() < deadline {
                i = (i * 7 + 3) % 64;
                let after_purge = purged.load(Ordering::SeqCst);
                let req = axum::http::Request::get(format!("http://load.test/{i}"))
                    .body(Full::default())
                    .unwrap();
                let r = b.serve(req, origin.clone()).await.unwrap();
                let body = r.into_body().collect().await.unwrap().to_bytes();
                served.fetch_add(1, Ordering::Relaxed);
                if after_purge && body.as_ref() != b"2" {
                    violations.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // New content, then the purge through the other instance.
    origin.version.store(2, Ordering::SeqCst);
    let resources = a.purge_tag("all", PurgeMode::Hard).await.expect("purge");
    purged.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.unwrap();
    }
    let served = served.load(Ordering::Relaxed);
    println!("{served} requests served, {resources} resources purged during load");
    assert!(resources > 0 && served > 100, "{resources} {served}");
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "a response from before the purge was served after it"
    );
}

//! The Redis example's setup over real HTTP: two instances of the demo app,
//! on two ports, sharing one Redis (a `redis-server` of the test's own, on a
//! free port), see each other's entries.
//!
//! Requests carry one `Host`, as behind a load balancer: the cache key
//! includes the host and port the client asked for (RFC 9111 §4.1), so
//! `127.0.0.1:3000` and `127.0.0.1:3001` would be two different sites.

// The Redis crate's own test support: real `redis-server` processes.
#[path = "../../webcache-redis/tests/support/server.rs"]
mod server;

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use server::RedisServer;
use webcache_axum::CacheLayer;
use webcache_core::{Cache, Config};
use webcache_examples::demo_app;
use webcache_redis::RedisStore;

/// One instance of the example: the demo app behind a cache on `redis_url`,
/// configured as `examples/redis.rs` does. Returns its base URL.
async fn instance(redis_url: &str) -> String {
    let store = RedisStore::open(redis_url).expect("valid URL");
    let config = Config::builder()
        .resource_exemptions(["/static/"])
        .build()
        .expect("config");
    let app = demo_app(CacheLayer::new(Cache::new(store, config)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn get(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    lang: &str,
) -> (String, Bytes) {
    let request = axum::http::Request::get(url)
        .header("host", "shop.test")
        .header("accept-language", lang)
        .body(Full::default())
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .expect("in time")
        .expect("response");
    assert_eq!(response.status(), 200);
    let status = response
        .headers()
        .get("cache-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_redis_serve_each_others_hits() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = instance(&redis.url()).await;
    let b = instance(&redis.url()).await;
    let client = Client::builder(TokioExecutor::new()).build_http();

    let (status, body) = get(&client, &format!("{a}/expensive"), "en").await;
    assert!(status.contains("fwd=uri-miss"), "{status}");
    let (status, from_b) = get(&client, &format!("{b}/expensive"), "en").await;
    assert!(status.contains("hit"), "b hits what a stored: {status}");
    assert_eq!(from_b, body, "the same stored response");

    let (_, hallo) = get(&client, &format!("{b}/hello"), "de").await;
    assert!(hallo.starts_with(b"Hallo"));
    let (status, from_a) = get(&client, &format!("{a}/hello"), "de").await;
    assert!(status.contains("hit"), "{status}");
    assert_eq!(from_a, hallo);
    let (status, hello) = get(&client, &format!("{a}/hello"), "en").await;
    assert!(
        !status.contains("hit"),
        "another language, another response"
    );
    assert!(hello.starts_with(b"Hello"));

    let (_, _) = get(&client, &format!("{a}/me"), "en").await;
    let (status, _) = get(&client, &format!("{b}/me"), "en").await;
    assert!(!status.contains("hit"), "private is never stored: {status}");
}

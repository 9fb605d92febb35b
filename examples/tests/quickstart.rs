//! The quickstart's app over real HTTP: what the README promises a newcomer.

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use webcache_axum::CacheLayer;
use webcache_examples::demo_app;

async fn get(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    url: &str,
    lang: Option<&str>,
) -> (u16, axum::http::HeaderMap, Bytes) {
    let mut req = axum::http::Request::get(url);
    if let Some(lang) = lang {
        req = req.header("accept-language", lang);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client.request(req.body(Full::default()).unwrap()),
    )
    .await
    .expect("in time")
    .expect("response");
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    (
        status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn the_quickstart_shows_a_miss_then_a_hit_with_age_and_cache_status() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cache = CacheLayer::new(webcache_memory::easy_setup());
    tokio::spawn(async move { axum::serve(listener, demo_app(cache)).await.unwrap() });
    let client = Client::builder(TokioExecutor::new()).build_http();
    let base = format!("http://{addr}");

    let (status, miss, body) = get(&client, &format!("{base}/expensive"), None).await;
    assert_eq!(status, 200);
    assert!(
        miss["cache-status"]
            .to_str()
            .unwrap()
            .contains("fwd=uri-miss")
    );
    assert!(miss.contains_key("etag"));
    let (_, hit, again) = get(&client, &format!("{base}/expensive"), None).await;
    assert_eq!(again, body, "the same stored response");
    assert!(hit["cache-status"].to_str().unwrap().contains("hit"));
    assert!(hit.contains_key("age"));

    let (_, _, de) = get(&client, &format!("{base}/hello"), Some("de")).await;
    assert!(de.starts_with(b"Hallo"));
    let (_, _, en) = get(&client, &format!("{base}/hello"), Some("en")).await;
    assert!(en.starts_with(b"Hello"));
    let (_, de_hit, de_again) = get(&client, &format!("{base}/hello"), Some("de")).await;
    assert_eq!(de_again, de);
    assert!(de_hit["cache-status"].to_str().unwrap().contains("hit"));

    get(&client, &format!("{base}/me"), None).await;
    let (_, me, _) = get(&client, &format!("{base}/me"), None).await;
    assert!(
        !me["cache-status"].to_str().unwrap().contains("hit"),
        "private is never stored"
    );

    get(&client, &format!("{base}/static/app.css"), None).await;
    let (_, css, _) = get(&client, &format!("{base}/static/app.css"), None).await;
    assert!(
        css["cache-status"].to_str().unwrap().contains("fwd=bypass"),
        "static is exempt"
    );
}

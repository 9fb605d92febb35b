//! Purging through the proxy over loopback: the `PURGE` method (off, and
//! forwarded, without a token; answered by the proxy with one) and the
//! admin listener's `/purge/…` endpoints, with tags from the upstream
//! stripped from clients.
#![cfg(feature = "admin")]

mod support;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use webcache_core::Config;
use webcache_proxy::AdminServer;

use support::{Client, Origin, clock, full, proxy_with};

fn tagged()
-> impl Fn(http::Request<hyper::body::Incoming>) -> std::future::Ready<Response<support::OriginBody>>
+ Send
+ Sync
+ 'static {
    |req| {
        let path = req.uri().path().to_owned();
        std::future::ready(
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("surrogate-key", format!("page{}", path.replace('/', "-")))
                .header("cache-tag", "site")
                .body(full(format!("{} {path}", req.method())))
                .unwrap(),
        )
    }
}

#[tokio::test]
async fn rfc9110_7_6_without_a_token_purge_is_forwarded_like_any_unknown_method() {
    let origin = Origin::start(tagged()).await;
    let p = proxy_with(
        &origin.url(),
        &clock(),
        Config::gateway_builder().build().unwrap(),
        |b| b,
    )
    .await;
    p.client.get("/a").await;
    let purge = p
        .client
        .method_with("PURGE", "/a", &[("authorization", "Bearer x")])
        .await;
    assert_eq!(purge.status, StatusCode::OK);
    assert_eq!(&purge.body[..], b"PURGE /a", "the upstream answered it");
    assert_eq!(origin.count(), 2);
}

#[tokio::test]
async fn with_a_token_purge_is_answered_by_the_proxy_and_needs_the_token() {
    let origin = Origin::start(tagged()).await;
    let config = Config::gateway_builder().build().unwrap();
    let p = proxy_with(&origin.url(), &clock(), config, |b| b.purge_token("tok")).await;
    let miss = p.client.get("/a").await;
    assert_eq!(miss.header("surrogate-key"), "", "tags stripped");
    assert_eq!(miss.header("cache-tag"), "");
    assert!(p.client.get("/a").await.is_hit());

    let refused = p
        .client
        .method_with("PURGE", "/a", &[("authorization", "Bearer nope")])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.header("www-authenticate"), "Bearer");
    assert!(p.client.get("/a").await.is_hit(), "nothing purged");
    assert_eq!(origin.count(), 1, "PURGE never forwarded");

    let soft = p
        .client
        .method_with(
            "PURGE",
            "/a",
            &[("authorization", "Bearer tok"), ("soft-purge", "1")],
        )
        .await;
    assert_eq!(soft.status, StatusCode::OK, "{:?}", soft.body);
    assert!(
        std::str::from_utf8(&soft.body)
            .unwrap()
            .contains(r#""mode":"soft""#),
        "{:?}",
        soft.body
    );
    let stale = p
        .client
        .get_with("/a", &[("cache-control", "max-stale")])
        .await;
    assert!(
        stale.is_hit(),
        "soft: still usable stale: {}",
        stale.cache_status()
    );
    let hard = p
        .client
        .method_with("PURGE", "/a", &[("authorization", "Bearer tok")])
        .await;
    assert_eq!(hard.status, StatusCode::OK);
    let after = p.client.get("/a").await;
    assert!(!after.is_hit(), "hard: a miss: {}", after.cache_status());
    assert_eq!(origin.count(), 2);
}

async fn post(client: &Client, path: &str, token: &str, body: &str) -> support::Got {
    let req = client
        .request("POST", path)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    client.send(req).await
}

#[tokio::test]
async fn the_admin_listener_purges_by_url_tag_and_flush() {
    let origin = Origin::start(tagged()).await;
    let config = Config::gateway_builder().build().unwrap();
    let p = proxy_with(&origin.url(), &clock(), config, |b| b.purge_token("tok")).await;
    let admin = AdminServer::bind("127.0.0.1:0".parse().unwrap(), p.proxy.clone())
        .await
        .unwrap();
    let admin_client = Client::new(admin.local_addr().unwrap());
    tokio::spawn(admin.serve(std::future::pending()));
    for path in ["/a", "/b", "/c"] {
        p.client.get(path).await;
    }
    let wrong = post(&admin_client, "/purge/tag", "bad", "site").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    let by_tag = post(&admin_client, "/purge/tag", "tok", "page-a").await;
    assert_eq!(by_tag.status, StatusCode::OK);
    assert_eq!(
        &by_tag.body[..],
        br#"{"purged":"tag","target":"page-a","mode":"hard","resources":1}"#
    );
    assert!(!p.client.get("/a").await.is_hit());
    assert!(p.client.get("/b").await.is_hit());

    let url = format!("http://{}/b", p.addr);
    let by_url = post(&admin_client, "/purge/url", "tok", &url).await;
    assert_eq!(by_url.status, StatusCode::OK, "{:?}", by_url.body);
    assert!(!p.client.get("/b").await.is_hit(), "purged by URL");

    let comma_tag = post(&admin_client, "/purge/tag?soft=true", "tok", "site").await;
    assert!(
        std::str::from_utf8(&comma_tag.body)
            .unwrap()
            .contains(r#""resources":3"#),
        "{:?}",
        comma_tag.body
    );
    let flush = post(&admin_client, "/purge/flush", "tok", "").await;
    assert_eq!(flush.status, StatusCode::OK);
    assert!(!p.client.get("/c").await.is_hit(), "flushed");
}

#[tokio::test]
async fn the_admin_purge_endpoints_are_off_without_a_token() {
    let origin = Origin::start(tagged()).await;
    let p = proxy_with(
        &origin.url(),
        &clock(),
        Config::gateway_builder().build().unwrap(),
        |b| b,
    )
    .await;
    let admin = AdminServer::bind("127.0.0.1:0".parse().unwrap(), p.proxy.clone())
        .await
        .unwrap();
    let admin_client = Client::new(admin.local_addr().unwrap());
    tokio::spawn(admin.serve(std::future::pending()));
    let off = post(&admin_client, "/purge/flush", "", "").await;
    assert_eq!(off.status, StatusCode::NOT_FOUND);
}

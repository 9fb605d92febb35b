//! The purge endpoints and the tag helper, over real HTTP: tags set by a
//! handler are stored and stripped, and a purge by tag, by URL or a flush
//! through `purge_service` reaches what it names, behind a bearer token.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::Full;
use support::{Client, Got, spawn};
use webcache_axum::{CacheLayer, Caching, purge_service};
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;

async fn app() -> (Client, String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let cache = Cache::new(MemoryStore::new(1 << 20), Config::default());
    let router = Router::new()
        .route(
            "/p/{id}",
            get(move |Path(id): Path<String>| {
                let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    let tags = [format!("product-{id}"), "catalog".to_owned()];
                    (
                        Caching::cache_for(Duration::from_secs(300)).tags(tags),
                        format!("{id} {n}"),
                    )
                }
            }),
        )
        .layer(CacheLayer::new(cache.clone()))
        .nest_service("/admin/purge", purge_service(cache, "tok"));
    let addr = spawn(router).await;
    (Client::new(addr), format!("http://{addr}"), calls)
}

async fn purge(client: &Client, path: &str, token: Option<&str>, body: &str) -> Got {
    let mut b = client.request("POST", path);
    if let Some(token) = token {
        b = b.header("authorization", format!("Bearer {token}"));
    }
    client
        .send(
            b.body(Full::new(Bytes::from(body.to_owned())))
                .expect("request"),
        )
        .await
}

#[tokio::test]
async fn tags_from_a_handler_are_stored_stripped_and_purged_by_tag() {
    let (client, _, calls) = app().await;
    let miss = client.get("/p/1").await;
    assert_eq!(
        miss.header("surrogate-key"),
        "",
        "tags never reach the client"
    );
    client.get("/p/2").await;
    let hit = client.get("/p/1").await;
    assert!(hit.cache_status().contains("hit"), "{}", hit.cache_status());
    assert_eq!(hit.header("surrogate-key"), "");

    let done = purge(&client, "/admin/purge/tag", Some("tok"), "product-1").await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.header("content-type"), "application/json");
    assert_eq!(
        done.body,
        r#"{"purged":"tag","target":"product-1","mode":"hard","resources":1}"#
    );
    let after = client.get("/p/1").await;
    assert!(
        after.cache_status().contains("fwd="),
        "{}",
        after.cache_status()
    );
    let other = client.get("/p/2").await;
    assert!(
        other.cache_status().contains("hit"),
        "{}",
        other.cache_status()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let done = purge(&client, "/admin/purge/tag", Some("tok"), "catalog").await;
    assert!(
        std::str::from_utf8(&done.body)
            .unwrap()
            .contains(r#""resources":2"#),
        "{:?}",
        done.body
    );
    for path in ["/p/1", "/p/2"] {
        let r = client.get(path).await;
        assert!(
            r.cache_status().contains("fwd="),
            "{path}: {}",
            r.cache_status()
        );
    }
}

#[tokio::test]
async fn purge_by_url_soft_and_flush_answer_json() {
    let (client, origin, calls) = app().await;
    client.get("/p/3").await;
    let url = format!("{origin}/p/3");
    let done = purge(&client, "/admin/purge/url?soft=true", Some("tok"), &url).await;
    assert_eq!(done.status, 200);
    assert_eq!(
        done.body,
        format!(r#"{{"purged":"url","target":"{url}","mode":"soft"}}"#)
    );
    let stale = client
        .get_with("/p/3", &[("cache-control", "max-stale")])
        .await;
    assert!(
        stale.cache_status().contains("hit"),
        "stale but allowed: {}",
        stale.cache_status()
    );
    assert!(
        stale.cache_status().contains("ttl=-") || stale.cache_status().contains("ttl=0"),
        "{}",
        stale.cache_status()
    );
    let revalidated = client.get("/p/3").await;
    assert!(
        revalidated.cache_status().contains("fwd=stale"),
        "{}",
        revalidated.cache_status()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let done = purge(&client, "/admin/purge/flush", Some("tok"), "").await;
    assert_eq!(
        done.body,
        r#"{"purged":"flush","target":"*","mode":"hard"}"#
    );
    let r = client.get("/p/3").await;
    assert!(r.cache_status().contains("fwd="), "{}", r.cache_status());

    let bad = purge(&client, "/admin/purge/url", Some("tok"), "/relative").await;
    assert_eq!(bad.status, 400);
    assert!(
        std::str::from_utf8(&bad.body)
            .unwrap()
            .starts_with(r#"{"error":"#)
    );
    let none = purge(&client, "/admin/purge/nothing", Some("tok"), "").await;
    assert_eq!(none.status, 404);
}

#[tokio::test]
async fn purge_endpoints_refuse_a_missing_or_wrong_token() {
    let (client, _, calls) = app().await;
    client.get("/p/4").await;
    for token in [None, Some("wrong"), Some("tok2"), Some("")] {
        let r = purge(&client, "/admin/purge/tag", token, "product-4").await;
        assert_eq!(r.status, 401, "{token:?}");
        assert_eq!(r.header("www-authenticate"), "Bearer");
        assert_eq!(r.body, r#"{"error":"unauthorized"}"#);
    }
    let hit = client.get("/p/4").await;
    assert!(
        hit.cache_status().contains("hit"),
        "nothing purged: {}",
        hit.cache_status()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

//! Tags over real HTTP on loopback: a warp reply names its tags with
//! `WithCaching::tags`; they are stored, stripped from clients, and a
//! purge by tag through the Cache reaches what carries them.

mod support;

use std::time::Duration;

use warp::Filter;
use webcache_core::{Cache, Config, PurgeMode};
use webcache_memory::MemoryStore;

use support::{Calls, Client, spawn};

#[tokio::test]
async fn tags_are_stored_stripped_and_purged_by_tag() {
    let calls = Calls::default();
    let counter = calls.clone();
    let filter = warp::path!("p" / u32).map(move |id: u32| {
        let n = counter.bump();
        webcache_warp::reply::cache_for(format!("{id} {n}"), Duration::from_secs(60))
            .tags([format!("product-{id}"), "catalog".to_owned()])
    });
    let cache = Cache::new(MemoryStore::new(1 << 20), Config::default());
    let (addr, _) = spawn(webcache_warp::serve(filter, cache.clone())).await;
    let client = Client::new(addr);
    let miss = client.get("/p/1").await;
    assert_eq!(
        miss.header("surrogate-key"),
        "",
        "tags never reach the client"
    );
    client.get("/p/2").await;
    cache.quiesce().await;
    let hit = client.get("/p/1").await;
    assert!(hit.cache_status().contains("hit"), "{}", hit.cache_status());
    assert_eq!(hit.header("surrogate-key"), "");

    assert_eq!(
        cache.purge_tag("product-1", PurgeMode::Hard).await.unwrap(),
        1
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
    assert_eq!(calls.get(), 3);
    assert_eq!(
        cache.purge_tag("catalog", PurgeMode::Soft).await.unwrap(),
        2
    );
    let soft = client.get("/p/2").await;
    assert!(
        soft.cache_status().contains("fwd=stale"),
        "{}",
        soft.cache_status()
    );
}

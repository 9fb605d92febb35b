//! Tags over real HTTP on loopback: a cached Rocket route names its tags
//! with `Cached::tags`; they are stored, stripped from clients, and a
//! purge by tag through the Cache (here from a route of the app) reaches
//! what carries them.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rocket::{State, get, post, routes};
use webcache_core::{Cache, Config, PurgeMode};
use webcache_memory::MemoryStore;
use webcache_rocket::{CacheFairing, Cached};

use support::Client;

#[get("/p/<id>")]
fn product(id: u32, calls: &State<Arc<AtomicUsize>>) -> Cached<String> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    Cached::cache_for(Duration::from_secs(60), format!("{id} {n}"))
        .tags([format!("product-{id}"), "catalog".to_owned()])
}

#[post("/purge/<tag>")]
async fn purge(tag: &str, cache: &State<Cache<MemoryStore>>) -> String {
    match cache.purge_tag(tag, PurgeMode::Hard).await {
        Ok(n) => format!("{n}"),
        Err(e) => format!("error: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_stored_stripped_and_purged_by_tag() {
    let cache = Cache::new(MemoryStore::new(1 << 20), Config::default());
    let fairing = CacheFairing::new(cache.clone());
    let calls = Arc::new(AtomicUsize::new(0));
    let rocket = support::quiet()
        .manage(calls.clone())
        .manage(cache.clone())
        .mount("/", fairing.cached(routes![product]))
        .mount("/", routes![purge])
        .attach(fairing);
    let (addr, _shutdown) = support::launch(rocket).await;
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

    let purged = client
        .send(
            client
                .request("POST", "/purge/product-1")
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(purged.body, "1");
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
}

//! The purge cost model, counted by Redis itself (`INFO commandstats`): a
//! hit on a tagged response is still one `MGET`; a URL purge or a flush is
//! one `EVAL` (plus the removal of the resource for a hard URL purge); a
//! tag purge is an `EVAL` per record and one for the tag, never a `SCAN`
//! or `KEYS`.

mod support;

use support::{Origin, RedisServer, cache_status, get, store_commands};
use webcache_core::{Cache, Config, PurgeMode};
use webcache_redis::RedisStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagged_hits_are_one_mget_and_purges_never_scan() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    let origin = Origin::with(&[("surrogate-key", "shop product-1"), ("cache-tag", "x, y")]);
    let uris: Vec<String> = (0..5).map(|i| format!("http://app.test/p/{i}")).collect();
    for uri in &uris {
        let miss = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        assert!(
            cache_status(&miss).contains("stored"),
            "{}",
            cache_status(&miss)
        );
        assert!(miss.headers().get("surrogate-key").is_none());
    }
    cache.quiesce().await;

    server.reset_stats();
    for uri in &uris {
        let hit = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        assert!(cache_status(&hit).contains("hit"), "{}", cache_status(&hit));
    }
    let hits = store_commands(&server.command_calls());
    assert_eq!(hits.get("mget"), Some(&5), "{hits:?}");
    assert_eq!(hits.len(), 1, "nothing but one MGET per hit: {hits:?}");

    server.reset_stats();
    cache.flush(PurgeMode::Soft).await.unwrap();
    let flush = store_commands(&server.command_calls());
    assert_eq!(flush.get("eval"), Some(&1), "{flush:?}");

    server.reset_stats();
    assert_eq!(cache.purge_tag("shop", PurgeMode::Hard).await.unwrap(), 5);
    let tag = store_commands(&server.command_calls());
    println!("a tag purge of 5 resources sent {tag:?}");
    // The global sequence, the tag, and one per resource; the scripts' own
    // commands are counted too (GET/SET/SMEMBERS/UNLINK), never a scan.
    assert_eq!(tag.get("eval"), Some(&7), "{tag:?}");
    for scan in ["scan", "keys", "sscan"] {
        assert!(!tag.contains_key(scan), "{tag:?}");
    }
    for uri in &uris {
        let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        assert!(!cache_status(&r).contains("hit"), "{}", cache_status(&r));
    }
}

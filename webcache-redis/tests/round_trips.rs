//! What a real `Cache` sends to a real Redis, counted by Redis itself
//! (`INFO commandstats`): one `MGET` per hit, one pipeline of `SET … PX`
//! per store, one `UNLINK` per invalidation, and keys in the documented
//! layout with Redis-kept TTLs.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use support::{Origin, RedisServer, cache_status, get, store_commands};
use webcache_core::store::Store;
use webcache_core::{Cache, Config, StoreKey};
use webcache_redis::RedisStore;

const HITS: u64 = 200;

fn calls(pairs: &[(&str, u64)]) -> HashMap<String, u64> {
    pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_hit_is_exactly_one_mget() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = Cache::new(
        RedisStore::open(&server.url()).expect("valid URL"),
        Config::default(),
    );
    let origin = Origin::default();
    let uri = "http://app.test/one-round-trip";
    let miss = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    assert!(cache_status(&miss).contains("stored"), "{miss:?}");
    cache.quiesce().await;

    server.reset_stats();
    for _ in 0..HITS {
        let hit = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
        assert!(cache_status(&hit).contains("hit"), "{}", cache_status(&hit));
    }
    let measured = store_commands(&server.command_calls());
    println!("{HITS} hits sent {measured:?} to Redis");
    assert_eq!(origin.calls(), 1, "every request after the first was a hit");
    assert_eq!(measured, calls(&[("mget", HITS)]), "one MGET per hit");
    assert_eq!(cache.stats().hits, HITS);
    assert_eq!(cache.stats().store_errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_on_a_vary_resource_is_one_mget_once_its_field_names_are_known() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = server.url();
    let origin = Origin::with(&[("vary", "accept-language")]);
    let uri = "http://app.test/negotiated";
    let writer = Cache::new(RedisStore::open(&url).unwrap(), Config::default());
    for lang in ["en", "de"] {
        writer
            .serve(get(uri, &[("accept-language", lang)]), origin.clone())
            .await
            .unwrap();
    }
    writer.quiesce().await;

    // The instance that stored them knows the Vary names: one MGET a hit.
    server.reset_stats();
    for lang in ["en", "de", "en", "de"] {
        let hit = writer
            .serve(get(uri, &[("accept-language", lang)]), origin.clone())
            .await
            .unwrap();
        assert!(cache_status(&hit).contains("hit"));
    }
    assert_eq!(
        store_commands(&server.command_calls()),
        calls(&[("mget", 4)])
    );

    // Another instance learns them from the metadata on its first hit (one
    // more MGET, for the right representation), then needs one per hit.
    let reader = Cache::new(RedisStore::open(&url).unwrap(), Config::default());
    server.reset_stats();
    for lang in ["en", "de", "en", "de"] {
        let hit = reader
            .serve(get(uri, &[("accept-language", lang)]), origin.clone())
            .await
            .unwrap();
        assert!(cache_status(&hit).contains("hit"));
    }
    assert_eq!(
        store_commands(&server.command_calls()),
        calls(&[("mget", 5)])
    );
    assert_eq!(origin.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_one_redis_serve_each_others_entries() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let a = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    let b = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    let origin = Origin::default();
    let uri = "http://app.test/shared";
    a.serve(get(uri, &[]), origin.clone()).await.unwrap();
    a.quiesce().await;
    let from_b = b.serve(get(uri, &[]), origin.clone()).await.unwrap();
    assert!(
        cache_status(&from_b).contains("hit"),
        "{}",
        cache_status(&from_b)
    );
    assert!(from_b.headers().contains_key("age"));
    let body = from_b.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "1", "b served what a stored");
    assert_eq!(origin.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_is_one_pipeline_of_set_px_under_the_prefix_with_redis_kept_ttls() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let client = webcache_redis::redis::Client::open(server.url()).unwrap();
    let store = RedisStore::builder(client).prefix("shop:").build().unwrap();
    let cache = Cache::new(store.clone(), Config::default());
    server.reset_stats();
    let origin = Origin::default();
    cache
        .serve(get("http://app.test/stored", &[]), origin)
        .await
        .unwrap();
    cache.quiesce().await;
    let measured = store_commands(&server.command_calls());
    // The lookup's MGET, then metadata, representation and the variant
    // index (SADD, PEXPIRE) in one pipeline.
    assert_eq!(
        measured,
        calls(&[("mget", 1), ("set", 2), ("sadd", 1), ("pexpire", 1)])
    );

    let mut keys = server.keys();
    keys.sort();
    assert_eq!(keys.len(), 3, "{keys:?}");
    let meta = &keys[0];
    let rep = &keys[1];
    let index = &keys[2];
    assert_eq!(index, &format!("{meta}:v"), "the variant index");
    assert!(meta.starts_with("shop:{") && meta.ends_with('}'), "{meta}");
    assert_eq!(meta.len(), "shop:{}".len() + 32, "{meta}");
    assert!(
        rep.starts_with(meta.as_str()) && rep[meta.len()..].starts_with(':'),
        "{rep} is a representation of {meta}"
    );
    for key in [meta, rep, index] {
        let pttl = match server.query(&["PTTL", key]) {
            webcache_redis::redis::Value::Int(ms) => ms,
            other => panic!("PTTL answered {other:?}"),
        };
        // max-age=3600 plus whatever the cache keeps stale responses for.
        assert!(pttl > 3_590_000, "{key} expires in {pttl} ms");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsafe_method_invalidates_with_one_eval_that_removes_every_key() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let cache = Cache::new(RedisStore::open(&server.url()).unwrap(), Config::default());
    let origin = Origin::default();
    let uri = "http://app.test/invalidated";
    cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    cache.quiesce().await;
    server.reset_stats();
    let post = http::Request::post(uri)
        .body(Full::<Bytes>::default())
        .unwrap();
    cache.serve(post, origin.clone()).await.unwrap();
    cache.quiesce().await;
    // One script: SMEMBERS of the index, one UNLINK per representation
    // and one of the metadata and the index (Redis counts the script's
    // commands too).
    assert_eq!(
        store_commands(&server.command_calls()),
        calls(&[("eval", 1), ("smembers", 1), ("unlink", 2)])
    );
    assert!(server.keys().is_empty(), "{:?}", server.keys());
    let again = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    assert!(
        !cache_status(&again).contains("hit"),
        "{}",
        cache_status(&again)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_with_a_zero_ttl_removes_the_value() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    let key = StoreKey::representation([1; 16], [2; 16]);
    store
        .put(key, Bytes::from_static(b"v"), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(store.get(key).await.unwrap().is_some());
    store
        .put(key, Bytes::from_static(b"w"), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(store.get(key).await.unwrap(), None);
    // Only the variant index is left, until its TTL or a resource delete.
    store.delete_resource(key.resource()).await.unwrap();
    assert!(server.keys().is_empty(), "{:?}", server.keys());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_operations_send_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    server.reset_stats();
    assert!(store.get_many(&[]).await.unwrap().is_empty());
    store.put_many(Vec::new()).await.unwrap();
    store.delete_many(&[]).await.unwrap();
    assert!(store_commands(&server.command_calls()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_are_not_webcache_entries_are_a_miss_not_an_error() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::open(&server.url()).unwrap();
    let cache = Cache::new(store.clone(), Config::default());
    let origin = Origin::default();
    let uri = "http://app.test/foreign";
    cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    cache.quiesce().await;
    // Someone else's data under the cache's keys.
    for key in server.keys() {
        server.query(&["SET", &key, "not a webcache entry"]);
    }
    let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(origin.calls(), 2, "a miss");
    // The overwritten variant index was unlinked, and the response stored.
    assert_eq!(cache.stats().store_errors, 0);
    let r = cache.serve(get(uri, &[]), origin.clone()).await.unwrap();
    assert!(cache_status(&r).contains("hit"), "{}", cache_status(&r));
}

//! The store conformance suite: one list of checks every backend runs
//! against a real instance of itself (feature `conformance`).
//!
//! ```ignore
//! #[tokio::test]
//! async fn memory_store_passes_the_suite() {
//!     webcache_core::store::suite::run_all(std::sync::Arc::new(MyStore::new())).await;
//! }
//! ```
//!
//! Every check uses fresh random keys, so one store instance can serve the
//! whole suite (and a shared Redis can serve several runs). A failing check
//! panics with what differed.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use super::{Store, StoreKey, StoredResponse, Write};
use crate::Config;
use crate::handler::{Cache, Upstream};
use crate::key::{DIGEST_LEN, Metadata, random_salt};

fn random_digest() -> [u8; DIGEST_LEN] {
    let mut d = [0u8; DIGEST_LEN];
    d[..8].copy_from_slice(&random_salt().to_be_bytes());
    d[8..].copy_from_slice(&random_salt().to_be_bytes());
    d
}

fn keys() -> (StoreKey, StoreKey, StoreKey) {
    let resource = random_digest();
    (
        StoreKey::metadata(resource),
        StoreKey::representation(resource, random_digest()),
        StoreKey::representation(resource, random_digest()),
    )
}

const TTL: Duration = Duration::from_secs(60);

/// Runs every check, in order.
pub async fn run_all<S: Store>(store: Arc<S>) {
    put_get_and_absent(&store).await;
    overwrite(&store).await;
    delete(&store).await;
    delete_resource(&store).await;
    ttl_expiry(&store).await;
    large_bodies(&store).await;
    concurrent_writers(&store).await;
    binary_safe_headers_through_the_cache(store.clone()).await;
    salt_change_invalidates_every_representation(store.clone()).await;
    master_salt_separates_caches(store.clone()).await;
    undecodable_bytes_are_a_miss(store.clone()).await;
    change_counts_move_with_every_write(&store).await;
    hits_see_what_another_cache_wrote(store.clone()).await;
    super::purge_suite::run_all(store).await;
}

/// A hit through one cache serves what another cache on the same store
/// stored since, even after hits that a store keeping change counts lets
/// the cache answer without reading it.
pub async fn hits_see_what_another_cache_wrote<S: Store>(store: Arc<S>) {
    let (a, b) = (
        Cache::new(store.clone(), Config::default()),
        Cache::new(store, Config::default()),
    );
    let origin = CountingOrigin {
        vary: false,
        ..origin()
    };
    let uri = format!("http://example.com/seen/{:x}", random_salt());
    for _ in 0..3 {
        let response = a.serve(get(&uri, "en"), origin.clone()).await;
        assert_eq!(body(response.expect("infallible")).await, "1");
    }
    b.invalidate(&uri).await.expect("invalidated");
    let refilled = b.serve(get(&uri, "en"), origin.clone()).await;
    assert_eq!(body(refilled.expect("infallible")).await, "2");
    let seen = a.serve(get(&uri, "en"), origin.clone()).await;
    assert_eq!(body(seen.expect("infallible")).await, "2", "a stale hit");
}

/// [`Store::change_count`], for a store that keeps one: a resource's
/// count moves after a put or delete of its keys, a bump of its purge
/// record or of a global record, a tag purge; not after reads. (A store
/// that keeps none skips this check.)
pub async fn change_counts_move_with_every_write<S: Store>(store: &S) {
    let (m, a, _) = keys();
    let resource = *m.resource();
    let Some(first) = store.change_count(&resource) else {
        return;
    };
    let before = std::cell::Cell::new(first);
    let moved = |what: &str, store: &S| {
        let now = store.change_count(&resource).expect("a count, as before");
        assert_ne!(now, before.get(), "the count did not move after {what}");
        before.set(now);
    };
    store
        .put(m, Bytes::from_static(b"m"), TTL)
        .await
        .expect("put");
    moved("a put of the metadata", store);
    store
        .put(a, Bytes::from_static(b"a"), TTL)
        .await
        .expect("put");
    moved("a put of a representation", store);
    store.get_many(&[m, a]).await.expect("get_many");
    assert_eq!(
        store.change_count(&resource),
        Some(before.get()),
        "a read moved it"
    );
    store.delete(a).await.expect("delete");
    moved("a delete", store);
    store
        .delete_resource(&resource)
        .await
        .expect("delete_resource");
    moved("delete_resource", store);
    let bump = crate::purge::Bump::Hard;
    if store.bump(&[StoreKey::purge(resource)], bump).await.is_ok() {
        moved("a bump of its purge record", store);
        store
            .bump(&[StoreKey::global(random_digest())], bump)
            .await
            .expect("bump");
        moved("a bump of a global record", store);
    }
    let tag = random_digest();
    if store
        .take_tag(&tag, 1, crate::PurgeMode::Hard)
        .await
        .is_ok()
    {
        moved("a tag purge", store);
    }
}

/// `get_many` returns values in key order and `None` for absent keys.
pub async fn put_get_and_absent<S: Store>(store: &S) {
    let (m, a, b) = keys();
    store
        .put_many(vec![
            Write::new(m, Bytes::from_static(b"meta"), TTL),
            Write::new(a, Bytes::from_static(b"a"), TTL),
        ])
        .await
        .expect("put_many");
    let got = store.get_many(&[a, b, m]).await.expect("get_many");
    assert_eq!(
        got,
        vec![
            Some(Bytes::from_static(b"a")),
            None,
            Some(Bytes::from_static(b"meta"))
        ]
    );
    assert_eq!(
        store.get(a).await.expect("get"),
        Some(Bytes::from_static(b"a"))
    );
    assert_eq!(
        store.get_many(&[]).await.expect("empty get_many"),
        Vec::<Option<Bytes>>::new()
    );
}

/// A second write replaces the first.
pub async fn overwrite<S: Store>(store: &S) {
    let (_, a, _) = keys();
    store
        .put(a, Bytes::from_static(b"one"), TTL)
        .await
        .expect("put");
    store
        .put(a, Bytes::from_static(b"two"), TTL)
        .await
        .expect("put");
    assert_eq!(
        store.get(a).await.expect("get"),
        Some(Bytes::from_static(b"two"))
    );
}

/// Deleted keys are gone; deleting absent keys is not an error.
pub async fn delete<S: Store>(store: &S) {
    let (m, a, b) = keys();
    store
        .put(a, Bytes::from_static(b"x"), TTL)
        .await
        .expect("put");
    store.delete_many(&[a, b, m]).await.expect("delete_many");
    assert_eq!(store.get(a).await.expect("get"), None);
    store.delete(a).await.expect("delete absent");
}

/// [`Store::delete_resource`] removes the metadata and every representation
/// of one resource, and nothing of another; an absent resource is not an
/// error. (A backend that keeps the trait's default, which removes the
/// metadata only, skips this check.)
pub async fn delete_resource<S: Store>(store: &S) {
    let (m, a, b) = keys();
    let (other_m, other_a, _) = keys();
    let writes = [m, a, b, other_m, other_a]
        .into_iter()
        .map(|key| Write::new(key, Bytes::from_static(b"v"), TTL))
        .collect();
    store.put_many(writes).await.expect("put_many");
    store
        .delete_resource(m.resource())
        .await
        .expect("delete_resource");
    let got = store
        .get_many(&[m, a, b, other_m, other_a])
        .await
        .expect("get_many");
    let present: Vec<bool> = got.iter().map(Option::is_some).collect();
    assert_eq!(
        present,
        [false, false, false, true, true],
        "delete_resource must remove the resource's metadata and representations, and only them"
    );
    store
        .delete_resource(m.resource())
        .await
        .expect("deleting an absent resource");
}

/// A value is gone once its TTL has passed (the backend expires it).
pub async fn ttl_expiry<S: Store>(store: &S) {
    let (_, a, b) = keys();
    store
        .put_many(vec![
            Write::new(a, Bytes::from_static(b"short"), Duration::from_millis(200)),
            Write::new(b, Bytes::from_static(b"long"), TTL),
        ])
        .await
        .expect("put_many");
    assert_eq!(
        store.get(a).await.expect("get"),
        Some(Bytes::from_static(b"short"))
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if store.get(a).await.expect("get").is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a value outlived its TTL by seconds"
        );
    }
    assert_eq!(
        store.get(b).await.expect("get"),
        Some(Bytes::from_static(b"long"))
    );
}

/// Multi-megabyte values round-trip intact.
pub async fn large_bodies<S: Store>(store: &S) {
    let (_, a, _) = keys();
    let big: Vec<u8> = (0..5 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    let big = Bytes::from(big);
    store.put(a, big.clone(), TTL).await.expect("put large");
    assert_eq!(store.get(a).await.expect("get large"), Some(big));
}

/// Concurrent writers to one key leave one of their values, intact.
pub async fn concurrent_writers<S: Store>(store: &Arc<S>) {
    let (_, a, _) = keys();
    let values: Vec<Bytes> = (0..16u8).map(|i| Bytes::from(vec![i; 64 * 1024])).collect();
    let mut tasks = Vec::new();
    for v in values.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.put(a, v, TTL).await }));
    }
    for t in tasks {
        t.await.expect("writer task").expect("concurrent put");
    }
    let got = store.get(a).await.expect("get").expect("a value is left");
    assert!(values.contains(&got), "the stored value is a mix of writes");
}

/// The origin used by the cache-level checks: answers every request with
/// `max-age=3600` and the body `n`, counting calls.
#[derive(Clone)]
struct CountingOrigin {
    calls: Arc<AtomicUsize>,
    extra: Option<(&'static str, HeaderValue)>,
    /// False: no `Vary: accept-language`.
    vary: bool,
}

impl Upstream<Full<Bytes>> for CountingOrigin {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut response = Response::new(Full::new(Bytes::from(n.to_string())));
        let headers = response.headers_mut();
        headers.insert("cache-control", HeaderValue::from_static("max-age=3600"));
        if self.vary {
            headers.insert("vary", HeaderValue::from_static("accept-language"));
        }
        if let Some((name, value)) = &self.extra {
            headers.insert(*name, value.clone());
        }
        let _ = req;
        Ok(response)
    }
}

fn origin() -> CountingOrigin {
    CountingOrigin {
        calls: Arc::new(AtomicUsize::new(0)),
        extra: None,
        vary: true,
    }
}

fn get(uri: &str, lang: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("accept-language", lang)
        .body(Full::default())
        .expect("valid request")
}

async fn body<B: http_body::Body>(response: Response<B>) -> Bytes
where
    B::Error: std::fmt::Debug,
{
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

fn unique_uri() -> String {
    format!("http://suite.test/{:016x}", random_salt())
}

/// Header values that are not UTF-8 come back byte for byte from a hit.
pub async fn binary_safe_headers_through_the_cache<S: Store>(store: Arc<S>) {
    let cache = Cache::new(store, Config::default());
    let value = HeaderValue::from_bytes(b"caf\xe9 \x80\xff").expect("obs-text is a valid value");
    let origin = CountingOrigin {
        extra: Some(("x-binary", value.clone())),
        ..origin()
    };
    let uri = unique_uri();
    let miss = cache
        .serve(get(&uri, "en"), origin.clone())
        .await
        .expect("miss");
    assert_eq!(miss.headers()["x-binary"], value);
    let hit = cache
        .serve(get(&uri, "en"), origin.clone())
        .await
        .expect("hit");
    assert_eq!(
        origin.calls.load(Ordering::SeqCst),
        1,
        "the second request is a hit"
    );
    assert_eq!(hit.headers()["x-binary"].as_bytes(), value.as_bytes());
}

/// Invalidating a resource (its metadata and salt) makes every
/// representation of it a miss.
pub async fn salt_change_invalidates_every_representation<S: Store>(store: Arc<S>) {
    let cache = Cache::new(store, Config::default());
    let origin = origin();
    let uri = unique_uri();
    for lang in ["en", "de"] {
        cache
            .serve(get(&uri, lang), origin.clone())
            .await
            .expect("fill");
    }
    for lang in ["en", "de"] {
        cache
            .serve(get(&uri, lang), origin.clone())
            .await
            .expect("hit");
    }
    assert_eq!(
        origin.calls.load(Ordering::SeqCst),
        2,
        "two variants, then two hits"
    );
    cache.invalidate(&uri).await.expect("invalidate");
    for lang in ["en", "de"] {
        let r = cache
            .serve(get(&uri, lang), origin.clone())
            .await
            .expect("refill");
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        origin.calls.load(Ordering::SeqCst),
        4,
        "both variants missed after invalidation"
    );
}

/// Two caches with different master salts over one store do not see each
/// other's entries.
pub async fn master_salt_separates_caches<S: Store>(store: Arc<S>) {
    let a = Cache::new(
        store.clone(),
        Config::builder().master_salt("a").build().expect("config"),
    );
    let b = Cache::new(
        store,
        Config::builder().master_salt("b").build().expect("config"),
    );
    let origin = origin();
    let uri = unique_uri();
    a.serve(get(&uri, "en"), origin.clone())
        .await
        .expect("fill a");
    let from_b = b.serve(get(&uri, "en"), origin.clone()).await.expect("b");
    assert_eq!(origin.calls.load(Ordering::SeqCst), 2, "b missed");
    assert_eq!(body(from_b).await, "2");
    let from_a = a.serve(get(&uri, "en"), origin.clone()).await.expect("a");
    assert_eq!(body(from_a).await, "1", "a still has its own entry");
}

/// Garbage under a resource's keys is a miss, never an error or a panic.
pub async fn undecodable_bytes_are_a_miss<S: Store>(store: Arc<S>) {
    let cache = Cache::new(store.clone(), Config::default());
    let origin = origin();
    let uri = unique_uri();
    cache
        .serve(get(&uri, "en"), origin.clone())
        .await
        .expect("fill");
    let key = crate::key::PrimaryKey::from_uri(&uri, cache.config()).expect("absolute uri");
    let resource = *key.digest();
    // Corrupt the representation: the metadata still decodes.
    let meta = store
        .get(StoreKey::metadata(resource))
        .await
        .expect("get meta")
        .expect("meta stored");
    let meta = Metadata::decode(&meta).expect("metadata decodes");
    let secondary =
        crate::key::SecondaryKey::new(&key, &meta.vary, &get(&uri, "en").into_parts().0.headers);
    let rep = StoreKey::representation(resource, *secondary.digest());
    store
        .put(rep, Bytes::from_static(b"WC\x01Rtruncated"), TTL)
        .await
        .expect("put garbage");
    let r = cache
        .serve(get(&uri, "en"), origin.clone())
        .await
        .expect("served");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        origin.calls.load(Ordering::SeqCst),
        2,
        "a corrupt representation is a miss"
    );
    // Corrupt the metadata too.
    store
        .put(
            StoreKey::metadata(resource),
            Bytes::from_static(b"\x00\x01"),
            TTL,
        )
        .await
        .expect("put garbage");
    let r = cache
        .serve(get(&uri, "en"), origin.clone())
        .await
        .expect("served");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        origin.calls.load(Ordering::SeqCst),
        3,
        "corrupt metadata is a miss"
    );
    // And an entry from an unknown future format version.
    let mut future = StoredResponse::decode(store.get(rep).await.expect("get").unwrap_or_default())
        .map(|s| s.encode().to_vec())
        .unwrap_or_else(|_| b"WC\x09R".to_vec());
    future[2] = 9;
    store
        .put(rep, Bytes::from(future), TTL)
        .await
        .expect("put future format");
    let r = cache
        .serve(get(&uri, "en"), origin.clone())
        .await
        .expect("served");
    assert_eq!(r.status(), StatusCode::OK);
}

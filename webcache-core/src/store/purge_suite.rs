//! The purge checks of the store suite (see [`super::suite`]): the store
//! primitives ([`Store::bump`], [`Store::tag`], [`Store::take_tag`]) and
//! purges through [`Cache`] over the store.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::sync::Semaphore;

use super::{Store, StoreKey};
use crate::handler::{Cache, Upstream};
use crate::key::{DIGEST_LEN, random_salt};
use crate::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use crate::{Config, PurgeError};

fn random_digest() -> [u8; DIGEST_LEN] {
    let mut d = [0u8; DIGEST_LEN];
    d[..8].copy_from_slice(&random_salt().to_be_bytes());
    d[8..].copy_from_slice(&random_salt().to_be_bytes());
    d
}

const TTL: Duration = Duration::from_secs(60);

/// Runs every purge check.
pub async fn run_all<S: Store>(store: Arc<S>) {
    purge_records_are_atomic_counters(&store).await;
    tag_indexes_hand_over_members_and_keep_marks(&store).await;
    purge_url_hard_and_soft(store.clone()).await;
    purge_tag_reaches_every_tagged_resource(store.clone()).await;
    flush_reaches_every_cache_instance(store.clone()).await;
    a_fill_in_flight_during_a_purge_is_dead_on_arrival(store.clone()).await;
}

/// [`Store::bump`] is atomic per record: concurrent bumps all count; the
/// records read back through `get_many`; absent records read as `None`.
pub async fn purge_records_are_atomic_counters<S: Store>(store: &Arc<S>) {
    let key = StoreKey::purge(random_digest());
    let global = StoreKey::global(random_digest());
    assert_eq!(
        store.get_many(&[key, global]).await.expect("get"),
        vec![None, None]
    );
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let bump = if i % 2 == 0 {
                    Bump::Hard
                } else {
                    Bump::Soft { at_ms: 7 }
                };
                store.bump(&[key], bump).await.expect("bump");
            }
        }));
    }
    for t in tasks {
        t.await.expect("bump task");
    }
    let after = store.bump(&[key, global], Bump::Tags).await.expect("bump");
    let mut expected = PurgeRecord::default();
    for _ in 0..40 {
        expected = expected.apply(Bump::Hard).apply(Bump::Soft { at_ms: 7 });
    }
    expected = expected.apply(Bump::Tags);
    assert_eq!(after[0], expected, "every concurrent bump counted");
    assert_eq!(after[1], PurgeRecord::default().apply(Bump::Tags));
    let read = store.get_many(&[key]).await.expect("get");
    let read = read[0].as_ref().expect("record stored");
    assert_eq!(PurgeRecord::decode(read).expect("decodes"), expected);
}

/// [`Store::tag`] adds members and reports the marks; [`Store::take_tag`]
/// marks and hands every member over once.
pub async fn tag_indexes_hand_over_members_and_keep_marks<S: Store>(store: &Arc<S>) {
    let (tag, other) = (random_digest(), random_digest());
    let (a, b) = (random_digest(), random_digest());
    assert_eq!(
        store.tag(&[tag], &a, TTL).await.expect("tag"),
        TagMarks::default()
    );
    store.tag(&[tag, other], &b, TTL).await.expect("tag");
    store.tag(&[tag], &b, TTL).await.expect("tag again");
    let mut members = store
        .take_tag(&tag, 5, PurgeMode::Hard)
        .await
        .expect("take");
    members.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(members, expected);
    assert!(
        store
            .take_tag(&tag, 6, PurgeMode::Soft)
            .await
            .expect("take")
            .is_empty()
    );
    // A member added after a purge learns the marks.
    assert_eq!(
        store.tag(&[tag], &a, TTL).await.expect("tag"),
        TagMarks::new(5, 6)
    );
    assert_eq!(
        store.tag(&[other, tag], &a, TTL).await.expect("tag"),
        TagMarks::new(5, 6)
    );
    // An older sequence never lowers a mark.
    store
        .take_tag(&tag, 1, PurgeMode::Hard)
        .await
        .expect("take");
    assert_eq!(
        store.tag(&[tag], &b, TTL).await.expect("tag"),
        TagMarks::new(5, 6)
    );
    let mut members = store
        .take_tag(&other, 7, PurgeMode::Hard)
        .await
        .expect("take");
    members.sort();
    assert_eq!(members, expected, "the other tag has both");
}

/// An origin answering `max-age=3600` with a constant ETag (and 304 to a
/// request that has it), the body `n`, tags from `?tags=`, counting calls;
/// with a gate, each call waits for a permit.
#[derive(Clone)]
struct Origin {
    calls: Arc<AtomicUsize>,
    gate: Option<Arc<Semaphore>>,
}

impl Origin {
    fn new() -> Origin {
        Origin {
            calls: Arc::new(AtomicUsize::new(0)),
            gate: None,
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Upstream<Full<Bytes>> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(gate) = &self.gate {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
        }
        let tags = req
            .uri()
            .query()
            .and_then(|q| q.strip_prefix("tags="))
            .unwrap_or("");
        let revalidation = req
            .headers()
            .get("if-none-match")
            .is_some_and(|v| v == "\"v\"");
        let mut response = Response::new(Full::new(if revalidation {
            Bytes::new()
        } else {
            Bytes::from(n.to_string())
        }));
        if revalidation {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
        }
        let h = response.headers_mut();
        h.insert("cache-control", HeaderValue::from_static("max-age=3600"));
        h.insert("etag", HeaderValue::from_static("\"v\""));
        h.insert("vary", HeaderValue::from_static("accept-language"));
        if let Ok(v) = HeaderValue::from_str(&tags.replace('+', " ")) {
            h.insert("surrogate-key", v);
        }
        Ok(response)
    }
}

fn get(uri: &str, lang: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("accept-language", lang)
        .body(Full::default())
        .expect("valid request")
}

fn uri(tags: &str) -> String {
    format!("http://purge.test/{:016x}?tags={tags}", random_salt())
}

async fn fetch<S: Store>(
    cache: &Cache<S>,
    req: Request<Full<Bytes>>,
    origin: &Origin,
) -> (String, String) {
    let r = cache.serve(req, origin.clone()).await.expect("served");
    assert!(
        r.headers().get("surrogate-key").is_none(),
        "tags stripped from clients"
    );
    let status = r
        .headers()
        .get("cache-status")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let body = r.into_body().collect().await.expect("body").to_bytes();
    (
        status.unwrap_or_default(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// A hard URL purge makes every variant a miss; a soft one makes them
/// stale: served under `max-stale`, validated (304) otherwise, and fresh
/// again after the validation.
pub async fn purge_url_hard_and_soft<S: Store>(store: Arc<S>) {
    let cache = Cache::new(store, Config::default());
    let origin = Origin::new();
    let uri = uri("");
    for lang in ["en", "de"] {
        fetch(&cache, get(&uri, lang), &origin).await;
    }
    cache
        .purge_url(&uri, PurgeMode::Soft)
        .await
        .expect("soft purge");
    let stale = Request::get(&uri)
        .header("accept-language", "en")
        .header("cache-control", "max-stale")
        .body(Full::default())
        .expect("request");
    let (status, body) = fetch(&cache, stale, &origin).await;
    assert_eq!((origin.calls(), body.as_str()), (2, "1"), "{status}");
    assert!(
        status.contains("hit"),
        "served stale from storage: {status}"
    );
    let (status, body) = fetch(&cache, get(&uri, "en"), &origin).await;
    assert_eq!(
        (origin.calls(), body.as_str()),
        (3, "1"),
        "validated: {status}"
    );
    assert!(status.contains("fwd-status=304"), "{status}");
    let (status, _) = fetch(&cache, get(&uri, "en"), &origin).await;
    assert_eq!(origin.calls(), 3, "fresh again after the 304: {status}");
    cache
        .purge_url(&uri, PurgeMode::Hard)
        .await
        .expect("hard purge");
    for lang in ["en", "de"] {
        let (status, _) = fetch(&cache, get(&uri, lang), &origin).await;
        assert!(
            status.contains("fwd=") && !status.contains("hit"),
            "a miss after a hard purge: {status}"
        );
    }
    assert_eq!(origin.calls(), 5);
    assert!(matches!(
        cache.purge_url("/relative", PurgeMode::Hard).await,
        Err(PurgeError::NotAbsolute(_))
    ));
}

/// A tag purge reaches every resource carrying the tag, and no other.
pub async fn purge_tag_reaches_every_tagged_resource<S: Store>(store: Arc<S>) {
    let cache = Cache::new(store, Config::default());
    let origin = Origin::new();
    let tag = format!("t{:x}", random_salt());
    let (a, b, c) = (uri(&tag), uri(&format!("x+{tag}")), uri("other"));
    for u in [&a, &b, &c] {
        fetch(&cache, get(u, "en"), &origin).await;
    }
    assert_eq!(
        cache.purge_tag(&tag, PurgeMode::Hard).await.expect("purge"),
        2
    );
    for u in [&a, &b] {
        let (status, _) = fetch(&cache, get(u, "en"), &origin).await;
        assert!(status.contains("fwd="), "tagged resource missed: {status}");
    }
    let (status, _) = fetch(&cache, get(&c, "en"), &origin).await;
    assert!(status.contains("hit"), "untagged resource kept: {status}");
    assert_eq!(origin.calls(), 5);
    // Refilled, they carry the tag again; a soft purge makes them stale.
    assert_eq!(
        cache.purge_tag(&tag, PurgeMode::Soft).await.expect("purge"),
        2
    );
    let (status, _) = fetch(&cache, get(&a, "en"), &origin).await;
    assert!(
        status.contains("fwd-status=304"),
        "validated after a soft tag purge: {status}"
    );
    assert!(matches!(
        cache.purge_tag("a b", PurgeMode::Hard).await,
        Err(PurgeError::InvalidTag(_))
    ));
}

/// A flush on one cache instance is seen by another over the same store.
pub async fn flush_reaches_every_cache_instance<S: Store>(store: Arc<S>) {
    let salt = format!("{:x}", random_salt());
    let config = || {
        Config::builder()
            .master_salt(salt.clone())
            .build()
            .expect("config")
    };
    let a = Cache::new(store.clone(), config());
    let b = Cache::new(store, config());
    let origin = Origin::new();
    let uri = uri("");
    fetch(&a, get(&uri, "en"), &origin).await;
    let (status, _) = fetch(&b, get(&uri, "en"), &origin).await;
    assert!(status.contains("hit"), "b shares a's entry: {status}");
    a.flush(PurgeMode::Soft).await.expect("soft flush");
    let (status, _) = fetch(&b, get(&uri, "en"), &origin).await;
    assert!(
        status.contains("fwd-status=304"),
        "stale on b after a soft flush on a: {status}"
    );
    a.flush(PurgeMode::Hard).await.expect("hard flush");
    let (status, _) = fetch(&b, get(&uri, "en"), &origin).await;
    assert!(
        status.contains("fwd=") && status.contains("fwd-status=200"),
        "a miss on b after a flush on a: {status}"
    );
    let (status, _) = fetch(&a, get(&uri, "en"), &origin).await;
    assert!(status.contains("hit"), "b's refill serves a: {status}");
}

/// A response fetched before a purge (by URL, or by a tag it is the first
/// to carry) and stored after it is never served as fresh.
pub async fn a_fill_in_flight_during_a_purge_is_dead_on_arrival<S: Store>(store: Arc<S>) {
    let tag = format!("t{:x}", random_salt());
    for purge_by_tag in [false, true] {
        let cache = Cache::new(store.clone(), Config::default());
        let gate = Arc::new(Semaphore::new(0));
        let origin = Origin {
            gate: Some(gate.clone()),
            ..Origin::new()
        };
        let uri = uri(&tag);
        let fill = tokio::spawn({
            let (cache, origin, uri) = (cache.clone(), origin.clone(), uri.clone());
            async move { fetch(&cache, get(&uri, "en"), &origin).await }
        });
        while origin.calls() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if purge_by_tag {
            cache
                .purge_tag(&tag, PurgeMode::Hard)
                .await
                .expect("purge tag");
        } else {
            cache
                .purge_url(&uri, PurgeMode::Hard)
                .await
                .expect("purge url");
        }
        gate.add_permits(100);
        fill.await.expect("fill task");
        cache.quiesce().await;
        let (status, _) = fetch(&cache, get(&uri, "en"), &origin).await;
        assert!(
            status.contains("fwd="),
            "the fill from before the purge is not served (tag: {purge_by_tag}): {status}"
        );
        assert_eq!(origin.calls(), 2);
    }
}

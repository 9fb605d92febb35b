//! The memory store evicts a resource's metadata and its representations
//! independently (each is its own moka entry, weighed and expired alone).
//! Whatever survives, the cache answers right: a representation without
//! its metadata is unreachable, metadata without its representation is a
//! miss, and neither is ever an error or another resource's body.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use webcache_core::key::{PrimaryKey, SecondaryKey};
use webcache_core::store::{Store, StoreKey};
use webcache_core::{Cache, Config, Upstream};
use webcache_memory::MemoryStore;

/// Answers `/r<i>` with `max-age=3600` and a body naming the path, padded
/// to `size` bytes; counts calls.
#[derive(Clone)]
struct App {
    calls: Arc<AtomicUsize>,
    size: usize,
}

impl App {
    fn new(size: usize) -> App {
        App {
            calls: Arc::default(),
            size,
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn body_for(path: &str, size: usize) -> Bytes {
    let mut body = format!("{path}:").into_bytes();
    body.resize(size.max(body.len()), b'.');
    Bytes::from(body)
}

impl Upstream<Bytes> for App {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(&mut self, request: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let body = body_for(request.uri().path(), self.size);
        Ok(Response::builder()
            .header("cache-control", "max-age=3600")
            .body(Full::new(body))
            .expect("a valid response"))
    }
}

fn get(path: &str) -> Request<Bytes> {
    Request::get(path)
        .header("host", "example.test")
        .body(Bytes::new())
        .expect("a valid request")
}

/// Sends GET `path`; returns the body and the Cache-Status.
async fn send(cache: &Cache<MemoryStore>, app: &App, path: &str) -> (Bytes, String) {
    let response = cache
        .serve(get(path), app.clone())
        .await
        .expect("infallible");
    let status = response
        .headers()
        .get("cache-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    cache.quiesce().await;
    (body, status)
}

/// The metadata key and the (only, no Vary) representation key of `path`.
fn keys(path: &str) -> (StoreKey, StoreKey) {
    let (parts, _) = get(path).into_parts();
    let primary = PrimaryKey::from_request(&parts, &Config::default());
    let secondary = SecondaryKey::new(&primary, &[], &parts.headers);
    (
        StoreKey::metadata(*primary.digest()),
        StoreKey::representation(*primary.digest(), *secondary.digest()),
    )
}

/// Stores `/r`, removes one of its two entries as an eviction would, and
/// checks the next request goes forward, is stored again, and hits after.
async fn one_entry_evicted(evict_metadata: bool) {
    let store = MemoryStore::new(16 << 20);
    let cache = Cache::new(store.clone(), Config::default());
    let app = App::new(16);
    let (body, status) = send(&cache, &app, "/r").await;
    assert!(status.ends_with("stored"), "{status}");
    let (metadata, representation) = keys("/r");
    let present = store
        .get_many(&[metadata, representation])
        .await
        .expect("the memory store answers");
    assert!(
        present.iter().all(Option::is_some),
        "both entries were written"
    );

    let evicted = if evict_metadata {
        metadata
    } else {
        representation
    };
    store
        .delete_many(&[evicted])
        .await
        .expect("the memory store answers");
    store.run_pending_tasks().await;

    let (again, status) = send(&cache, &app, "/r").await;
    assert_eq!(again, body);
    assert_eq!(
        app.calls(),
        2,
        "with one entry gone the request went forward: {status}"
    );
    assert!(status.ends_with("stored"), "and was stored again: {status}");
    let (hit, status) = send(&cache, &app, "/r").await;
    assert_eq!((hit, app.calls()), (body, 2), "{status}");
    assert!(status.starts_with("webcache; hit"), "{status}");
}

#[tokio::test]
async fn rfc9111_4_a_representation_whose_metadata_was_evicted_is_not_served() {
    one_entry_evicted(true).await;
}

#[tokio::test]
async fn rfc9111_4_metadata_whose_representation_was_evicted_is_a_miss() {
    one_entry_evicted(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_capacity_pressure_every_answer_is_its_own_resource_or_a_forward() {
    // 400 resources of 2 KiB in 256 KiB: most entries are evicted, each
    // metadata and representation on its own.
    const N: usize = 400;
    let store = MemoryStore::new(256 << 10);
    let cache = Cache::new(store.clone(), Config::default());
    let app = App::new(2048);
    for i in 0..N {
        send(&cache, &app, &format!("/r{i}")).await;
    }
    store.run_pending_tasks().await;
    assert!(
        store.entry_count() < 2 * N as u64,
        "eviction happened: {} entries",
        store.entry_count()
    );
    let mut split = 0;
    for i in 0..N {
        let (m, r) = keys(&format!("/r{i}"));
        let got = store
            .get_many(&[m, r])
            .await
            .expect("the memory store answers");
        split += usize::from(got[0].is_some() != got[1].is_some());
    }
    let before = app.calls();
    let mut hits = 0;
    for i in 0..N {
        let path = format!("/r{i}");
        let (body, status) = send(&cache, &app, &path).await;
        assert_eq!(body, body_for(&path, 2048), "{path}: {status}");
        hits += usize::from(status.starts_with("webcache; hit"));
    }
    assert_eq!(
        app.calls(),
        before + N - hits,
        "every non-hit went forward once"
    );
    // Not asserted (moka decides): how many pairs were split.
    eprintln!("{split} of {N} resources had one of their two entries evicted; {hits} hits");
}

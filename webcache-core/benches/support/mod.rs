//! What the benchmarks and the hit-instructions example share: a store over
//! an in-memory map (no backend cost), an origin answering a 1 KiB
//! response that varies on Accept-Encoding, and a browser-like request.
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use webcache_core::store::{Store, StoreKey, Write};
use webcache_core::{StoreError, Upstream};

#[derive(Clone, Default)]
pub struct MapStore(pub Arc<RwLock<HashMap<StoreKey, Bytes>>>);

impl Store for MapStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        let map = self.0.read().unwrap();
        Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
    }
    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.0.write().unwrap();
        for w in writes {
            map.insert(w.key, w.value);
        }
        Ok(())
    }
    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        let mut map = self.0.write().unwrap();
        for k in keys {
            map.remove(k);
        }
        Ok(())
    }
}

/// [`MapStore`] as an in-process store says it is: reads that never wait,
/// and a count of its writes (one for every resource), so that the cache
/// answers hits from each thread's last lookup (`Cache::serve_now`).
#[derive(Clone, Default)]
pub struct Immediate(pub MapStore, pub Arc<AtomicU64>);

impl Store for Immediate {
    fn reads_without_waiting(&self) -> bool {
        true
    }
    fn change_count(&self, _: &[u8; 16]) -> Option<u64> {
        Some(self.1.load(Ordering::Acquire))
    }
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        self.0.get_many(keys).await
    }
    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.0.put_many(writes).await?;
        self.1.fetch_add(1, Ordering::Release);
        Ok(())
    }
    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        self.0.delete_many(keys).await?;
        self.1.fetch_add(1, Ordering::Release);
        Ok(())
    }
}

#[derive(Clone)]
pub struct Origin;

impl Upstream<Full<Bytes>> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;
    async fn call(
        &mut self,
        _req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let mut r = Response::new(Full::new(Bytes::from(vec![b'x'; 1024])));
        let h = r.headers_mut();
        h.insert(
            "cache-control",
            HeaderValue::from_static("public, max-age=3600"),
        );
        h.insert(
            "content-type",
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert("vary", HeaderValue::from_static("accept-encoding"));
        h.insert("x-request-id", HeaderValue::from_static("3f1c2a"));
        h.insert("server", HeaderValue::from_static("app"));
        Ok(r)
    }
}

pub fn request() -> Request<Full<Bytes>> {
    request_accepting("gzip, br")
}

/// [`request`] with another Accept-Encoding: another variant of the same
/// resource.
pub fn request_accepting(encodings: &'static str) -> Request<Full<Bytes>> {
    Request::get("/products/42?page=2")
        .header("host", "shop.example.com")
        .header("accept-encoding", encodings)
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
        .header("accept", "text/html")
        .body(Full::default())
        .unwrap()
}

/// A current-thread runtime and a cache over `store` (default config, a
/// manual clock) whose one miss for [`request`] has been stored: what a hit
/// measurement starts from.
pub fn warmed<S: Store>(
    store: S,
) -> (
    tokio::runtime::Runtime,
    webcache_core::Cache<S, webcache_core::handler::Mixins>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let cache = webcache_core::Cache::builder(store)
        .config(webcache_core::Config::default())
        .clock(webcache_core::clock::ManualClock::new(
            std::time::SystemTime::now(),
        ))
        .build();
    rt.block_on(async { cache.serve(request(), Origin).await.expect("the miss") });
    (rt, cache)
}

//! What the integration tests share: stores (a plain map, and faulty ones),
//! applications (a counting one, a gated one) and bodies.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::sync::{mpsc, watch};
use webcache_core::StoreError;
use webcache_core::store::{Store, StoreKey, Write};

/// A map that keeps everything (TTLs ignored). Its reads never wait; it
/// says so ([`Store::reads_without_waiting`]) only when made
/// [`immediate`](MapStore::immediate), so that a test picks which path a
/// hit takes.
///
/// Immediate, it also counts its writes ([`Store::change_count`], one
/// count for all resources), so that hits are answered from each thread's
/// last lookup while nothing was written.
#[derive(Clone, Default)]
pub struct MapStore(Arc<Mutex<HashMap<StoreKey, Bytes>>>, bool, Arc<AtomicU64>);

impl MapStore {
    /// A map whose hits the cache answers without a future
    /// ([`webcache_core::Cache::serve_now`]).
    pub fn immediate() -> MapStore {
        MapStore(Arc::default(), true, Arc::default())
    }

    /// Counts a write, once it is visible.
    fn changed(&self) {
        self.2.fetch_add(1, Ordering::Release);
    }

    pub fn map(&self) -> MutexGuard<'_, HashMap<StoreKey, Bytes>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MapStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        let map = self.map();
        Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
    }

    fn reads_without_waiting(&self) -> bool {
        self.1
    }

    fn change_count(&self, _: &[u8; 16]) -> Option<u64> {
        self.1.then(|| self.2.load(Ordering::Acquire))
    }

    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut map = self.map();
        for w in writes {
            map.insert(w.key, w.value);
        }
        drop(map);
        self.changed();
        Ok(())
    }

    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        let mut map = self.map();
        for k in keys {
            map.remove(k);
        }
        drop(map);
        self.changed();
        Ok(())
    }

    async fn delete_resource(&self, resource: &[u8; 16]) -> Result<(), StoreError> {
        self.map().retain(|k, _| k.resource() != resource);
        self.changed();
        Ok(())
    }
}

/// A store whose every operation fails.
#[derive(Clone, Copy, Default)]
pub struct FailingStore;

fn down() -> StoreError {
    StoreError::Unavailable("the test store is down".into())
}

impl Store for FailingStore {
    async fn get_many(&self, _: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        Err(down())
    }
    async fn put_many(&self, _: Vec<Write>) -> Result<(), StoreError> {
        Err(down())
    }
    async fn delete_many(&self, _: &[StoreKey]) -> Result<(), StoreError> {
        Err(down())
    }
}

/// A store whose every operation takes an hour (run the test with paused
/// time: the cache's store timeout fires at once).
#[derive(Clone, Copy, Default)]
pub struct SlowStore;

const AN_HOUR: Duration = Duration::from_secs(3600);

impl Store for SlowStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        tokio::time::sleep(AN_HOUR).await;
        Ok(vec![None; keys.len()])
    }
    async fn put_many(&self, _: Vec<Write>) -> Result<(), StoreError> {
        tokio::time::sleep(AN_HOUR).await;
        Ok(())
    }
    async fn delete_many(&self, _: &[StoreKey]) -> Result<(), StoreError> {
        tokio::time::sleep(AN_HOUR).await;
        Ok(())
    }
}

/// The time tests start at.
pub fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// A GET of `target` on `example.test`.
pub fn get(target: &str) -> Request<Bytes> {
    Request::get(target)
        .header("host", "example.test")
        .body(Bytes::new())
        .expect("a valid request")
}

/// The response with its whole body read.
pub async fn collect<B>(response: Response<B>) -> Response<Bytes>
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the body reads").to_bytes();
    Response::from_parts(parts, body)
}

/// The Cache-Status value of a response, or "".
pub fn cache_status<B>(response: &Response<B>) -> &str {
    response
        .headers()
        .get("cache-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A body that yields its chunks one frame per poll and announces no size.
pub struct Chunks(pub VecDeque<Bytes>);

impl Chunks {
    pub fn new<I: IntoIterator<Item = &'static str>>(chunks: I) -> Self {
        Chunks(chunks.into_iter().map(Bytes::from).collect())
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }
}

/// A body fed chunk by chunk by the test; it ends when the sender is
/// dropped, and announces no size.
pub struct Channel(pub mpsc::UnboundedReceiver<Bytes>);

impl Body for Channel {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

/// A gate the test opens and closes; closed gates hold callers.
#[derive(Clone)]
pub struct Gate {
    tx: Arc<watch::Sender<bool>>,
}

impl Gate {
    pub fn new(open: bool) -> Self {
        Gate {
            tx: Arc::new(watch::channel(open).0),
        }
    }

    pub fn open(&self) {
        self.tx.send_replace(true);
    }

    pub fn close(&self) {
        self.tx.send_replace(false);
    }

    pub async fn pass(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|open| *open).await;
    }
}

/// Counts calls; shared by clones.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Adds one; returns the count before.
    pub fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Yields until `done()` holds; panics if it never does (a bounded number
/// of scheduler turns, not a timer).
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("gave up waiting until {what}");
}

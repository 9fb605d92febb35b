//! The metrics a cache records (feature `metrics`), read from a recorder
//! of the test's own, installed locally while each cache is built: the
//! handles registered then are the ones every request records on.

#![cfg(feature = "metrics")]

mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use support::{FailingStore, MapStore, collect, get, start};
use webcache_core::StoreError;
use webcache_core::clock::ManualClock;
use webcache_core::store::{Store, StoreKey, Write};
use webcache_core::{Cache, Config, Upstream};

/// Histogram samples.
#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

/// Counters and histograms by `name{label=value,…}` (labels in the order
/// the cache registers them).
#[derive(Default)]
struct TestRecorder {
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<String, Arc<Samples>>>,
}

fn name_of(key: &Key) -> String {
    let labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    if labels.is_empty() {
        key.name().to_owned()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.counters.lock().unwrap();
        Counter::from_arc(counters.entry(name_of(key)).or_default().clone())
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = self.histograms.lock().unwrap();
        Histogram::from_arc(histograms.entry(name_of(key)).or_default().clone())
    }
}

impl TestRecorder {
    /// The counter `name`; panics when the cache never registered it.
    fn counter(&self, name: &str) -> u64 {
        let counters = self.counters.lock().unwrap();
        match counters.get(name) {
            Some(c) => c.load(Ordering::Relaxed),
            None => panic!("no counter {name}; registered: {:?}", counters.keys()),
        }
    }

    fn requests(&self, outcome: &str, reason: &str) -> u64 {
        self.counter(&format!(
            "webcache_requests_total{{outcome={outcome},reason={reason}}}"
        ))
    }

    fn samples(&self, name: &str) -> usize {
        let histograms = self.histograms.lock().unwrap();
        histograms
            .get(name)
            .map_or(0, |h| h.0.lock().unwrap().len())
    }
}

/// An origin whose Cache-Control is the request's path after `/cc/`
/// (`/cc/max-age=60` answers with `cache-control: max-age=60`).
#[derive(Clone)]
struct Origin;

impl Upstream<Bytes> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(&mut self, req: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
        let cc = req
            .uri()
            .path()
            .trim_start_matches("/cc/")
            .replace("%20", " ");
        Ok(Response::builder()
            .header("cache-control", cc)
            .header("etag", "\"v1\"")
            .body(Full::new(Bytes::from_static(b"hello")))
            .expect("a valid response"))
    }
}

fn cache<S: Store>(store: S, clock: &ManualClock) -> (Cache<S>, Arc<TestRecorder>) {
    let recorder = Arc::new(TestRecorder::default());
    let cache = metrics::with_local_recorder(&*recorder, || {
        Cache::builder(store)
            .config(Config::default())
            .clock(clock.clone())
            .build()
    });
    (cache, recorder)
}

/// An upstream that never answers.
#[derive(Clone)]
struct Down;

impl Upstream<Bytes> for Down {
    type Body = Full<Bytes>;
    type Error = &'static str;

    async fn call(&mut self, _: Request<Bytes>) -> Result<Response<Full<Bytes>>, &'static str> {
        Err("down")
    }
}

async fn serve<S: Store>(cache: &Cache<S>, req: Request<Bytes>) -> Response<Bytes> {
    collect(cache.serve(req, Origin).await.expect("Infallible")).await
}

#[tokio::test]
async fn a_miss_then_a_hit() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(MapStore::default(), &clock);
    serve(&cache, get("http://example.test/cc/max-age=60")).await;
    assert_eq!(m.requests("miss", "uri-miss"), 1);
    assert_eq!(m.requests("hit", "fresh"), 0);
    assert_eq!(m.counter("webcache_stores_total"), 1);
    assert_eq!(
        m.counter("webcache_store_operations_total{operation=put}"),
        1
    );
    serve(&cache, get("http://example.test/cc/max-age=60")).await;
    assert_eq!(m.requests("hit", "fresh"), 1);
    assert_eq!(m.requests("miss", "uri-miss"), 1);
    assert_eq!(
        m.counter("webcache_served_from_storage_bytes_total"),
        "hello".len() as u64
    );
    assert_eq!(
        m.counter("webcache_store_operations_total{operation=get}"),
        2
    );
    assert_eq!(m.counter("webcache_store_errors_total{operation=get}"), 0);
    // An in-process store answers at its first poll: not timed.
    let latency = "webcache_store_operation_duration_seconds{operation=get}";
    assert_eq!(m.samples(latency), 0);
}

#[tokio::test]
async fn a_hit_within_stale_while_revalidate_and_its_refresh() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(MapStore::default(), &clock);
    let req = || get("http://example.test/cc/max-age=1,%20stale-while-revalidate=60");
    serve(&cache, req()).await;
    clock.advance(Duration::from_secs(5));
    let stale = serve(&cache, req()).await;
    assert!(
        stale.headers()["cache-status"]
            .to_str()
            .unwrap()
            .contains("hit")
    );
    cache.quiesce().await;
    assert_eq!(m.requests("stale", "stale-while-revalidate"), 1);
    assert_eq!(m.counter("webcache_background_refreshes_total"), 1);
    // The miss and the refresh.
    assert_eq!(m.counter("webcache_stores_total"), 2);
}

#[tokio::test]
async fn a_bypass_and_its_invalidation() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(MapStore::default(), &clock);
    let post = Request::post("http://example.test/cc/no-cache")
        .header("host", "example.test")
        .body(Bytes::new())
        .unwrap();
    serve(&cache, post).await;
    assert_eq!(m.requests("bypass", "method"), 1);
    assert_eq!(m.requests("miss", "uri-miss"), 0);
    assert_eq!(m.counter("webcache_invalidations_total"), 1);
    assert_eq!(
        m.counter("webcache_store_operations_total{operation=delete}"),
        1
    );
}

#[tokio::test]
async fn a_response_not_stored_counts_its_reason() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(MapStore::default(), &clock);
    serve(&cache, get("http://example.test/cc/no-store")).await;
    assert_eq!(m.counter("webcache_not_stored_total{reason=no-store}"), 1);
    assert_eq!(m.counter("webcache_not_stored_total{reason=private}"), 0);
    assert_eq!(m.counter("webcache_stores_total"), 0);
}

#[tokio::test]
async fn store_errors_are_counted_by_operation() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(FailingStore, &clock);
    serve(&cache, get("http://example.test/cc/max-age=60")).await;
    assert_eq!(m.requests("miss", "uri-miss"), 1);
    assert_eq!(m.counter("webcache_store_errors_total{operation=get}"), 1);
    assert_eq!(m.counter("webcache_store_errors_total{operation=put}"), 1);
    assert_eq!(m.counter("webcache_stores_total"), 0);
}

#[tokio::test]
async fn a_cache_built_without_a_recorder_records_nowhere() {
    let clock = ManualClock::new(start());
    let recorder = TestRecorder::default();
    let cache = Cache::builder(MapStore::default())
        .clock(clock.clone())
        .build();
    metrics::with_local_recorder(&recorder, || ());
    serve(&cache, get("http://example.test/cc/max-age=60")).await;
    assert!(recorder.counters.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_validation_and_a_304_from_storage() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(MapStore::default(), &clock);
    serve(&cache, get("http://example.test/cc/max-age=1")).await;
    clock.advance(Duration::from_secs(5));
    serve(&cache, get("http://example.test/cc/max-age=1")).await;
    assert_eq!(m.requests("revalidate", "stale"), 1);
    let mut conditional = get("http://example.test/cc/max-age=1");
    conditional
        .headers_mut()
        .insert("if-none-match", "\"v1\"".parse().unwrap());
    let answer = serve(&cache, conditional).await;
    assert_eq!(answer.status(), 304);
    assert_eq!(m.requests("hit", "fresh"), 1);
    assert_eq!(
        m.counter("webcache_precondition_answers_total{status=304}"),
        1
    );
    assert_eq!(
        m.counter("webcache_precondition_answers_total{status=412}"),
        0
    );
}

#[tokio::test]
async fn stale_if_error_when_the_upstream_is_down() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(MapStore::default(), &clock);
    let req = || get("http://example.test/cc/max-age=1,%20stale-if-error=60");
    serve(&cache, req()).await;
    clock.advance(Duration::from_secs(5));
    let stale = cache.serve(req(), Down).await.expect("served stale");
    assert_eq!(collect(stale).await.status(), 200);
    assert_eq!(m.requests("revalidate", "stale"), 1);
    assert_eq!(
        m.counter("webcache_stale_on_error_total{reason=stale-if-error}"),
        1
    );
    // The next request meets the recent failure: stale without a forward.
    let again = cache.serve(req(), Down).await.expect("served stale");
    assert_eq!(collect(again).await.status(), 200);
    assert_eq!(m.requests("stale", "stale-if-error"), 1);
    assert_eq!(m.requests("revalidate", "stale"), 1);
}

/// A map behind a store that is pending once per call, as a networked
/// store is.
#[derive(Clone, Default)]
struct YieldingStore(MapStore);

impl Store for YieldingStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        tokio::task::yield_now().await;
        self.0.get_many(keys).await
    }
    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.put_many(writes).await
    }
    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        tokio::task::yield_now().await;
        self.0.delete_many(keys).await
    }
}

#[tokio::test]
async fn a_pending_store_call_is_timed() {
    let clock = ManualClock::new(start());
    let (cache, m) = cache(YieldingStore::default(), &clock);
    serve(&cache, get("http://example.test/cc/max-age=60")).await;
    serve(&cache, get("http://example.test/cc/max-age=60")).await;
    assert_eq!(m.requests("hit", "fresh"), 1);
    let seconds = "webcache_store_operation_duration_seconds";
    assert_eq!(m.samples(&format!("{seconds}{{operation=get}}")), 2);
    assert_eq!(m.samples(&format!("{seconds}{{operation=put}}")), 1);
}

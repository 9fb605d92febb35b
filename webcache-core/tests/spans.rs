//! The request span of `Cache::serve`: one per request, hits included,
//! with its outcome recorded once — seen by a subscriber of the test's own.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use support::{MapStore, collect, get};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;
use webcache_core::{Cache, Config, Upstream};

/// What one span saw: its name and target, and every value recorded
/// into `outcome` and `reason`.
#[derive(Clone, Debug, Default)]
struct Seen {
    name: String,
    target: String,
    level: String,
    outcomes: Vec<String>,
    reasons: Vec<String>,
}

/// Every span, and the stack of those entered (one thread: the test's
/// current-thread runtime), which `Span::current` asks for.
#[derive(Clone, Default)]
struct Spans {
    seen: Arc<Mutex<Vec<Seen>>>,
    metadata: Arc<Mutex<Vec<&'static Metadata<'static>>>>,
    entered: Arc<Mutex<Vec<u64>>>,
}

struct Fields<'a>(&'a mut Seen);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "outcome" => self.0.outcomes.push(value.to_owned()),
            "reason" => self.0.reasons.push(value.to_owned()),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut seen = Seen {
            name: span.metadata().name().to_owned(),
            target: span.metadata().target().to_owned(),
            level: span.metadata().level().to_string(),
            ..Seen::default()
        };
        span.record(&mut Fields(&mut seen));
        self.metadata.lock().unwrap().push(span.metadata());
        let mut all = self.seen.lock().unwrap();
        all.push(seen);
        Id::from_u64(all.len() as u64)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut all = self.seen.lock().unwrap();
        if let Some(seen) = all.get_mut(span.into_u64() as usize - 1) {
            values.record(&mut Fields(seen));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, span: &Id) {
        self.entered.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, span: &Id) {
        let mut entered = self.entered.lock().unwrap();
        if let Some(at) = entered.iter().rposition(|&id| id == span.into_u64()) {
            entered.remove(at);
        }
    }
    fn current_span(&self) -> Current {
        let Some(&id) = self.entered.lock().unwrap().last() else {
            return Current::none();
        };
        let metadata = self.metadata.lock().unwrap()[id as usize - 1];
        Current::new(Id::from_u64(id), metadata)
    }
}

#[derive(Clone)]
struct Origin;

impl Upstream<Bytes> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;
    async fn call(&mut self, _: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::builder()
            .header("cache-control", "max-age=60")
            .body(Full::new(Bytes::from_static(b"hello")))
            .expect("a valid response"))
    }
}

/// The request spans of a miss then a hit of one URI, through `serve`
/// over `store`.
async fn miss_then_hit(store: MapStore) -> Vec<Seen> {
    let spans = Spans::default();
    let _guard = tracing::subscriber::set_default(spans.clone());
    let cache = Cache::new(store, Config::default());
    for _ in 0..2 {
        let response = cache.serve(get("http://example.test/a"), Origin).await;
        collect(response.expect("Infallible")).await;
    }
    let seen = spans.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|s| s.level != "INFO" && s.level != "WARN"));
    seen.into_iter()
        .filter(|s| s.name == "webcache.request")
        .collect()
}

fn assert_miss_then_hit(requests: &[Seen]) {
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in requests {
        assert_eq!(
            (r.target.as_str(), r.level.as_str()),
            ("webcache::core", "DEBUG")
        );
    }
    assert_eq!(requests[0].outcomes, ["miss"]);
    assert_eq!(requests[0].reasons, ["uri-miss"]);
    assert_eq!(requests[1].outcomes, ["hit"]);
    assert_eq!(requests[1].reasons, ["fresh"]);
}

#[tokio::test]
async fn one_debug_span_per_request_with_its_outcome_recorded_once() {
    assert_miss_then_hit(&miss_then_hit(MapStore::default()).await);
}

/// A store that reads without waiting: the hit is answered without a
/// future (`Cache::answer_now`), in its span all the same.
#[tokio::test]
async fn a_hit_answered_at_once_records_its_outcome_in_its_span() {
    assert_miss_then_hit(&miss_then_hit(MapStore::immediate()).await);
}

//! Runs N cache hits through the request handler, for counting the
//! instructions of one hit under callgrind (`bash bench/hit_instructions.sh`):
//! the same store, origin and request as `benches/decision.rs`.
//!
//! `cargo run --release -p webcache-core --example hit_instructions -- 10000`
//!
//! With `HIT_RECORDER=1` a metrics recorder that counts (one atomic per
//! counter, histograms dropped) is installed before the cache is built,
//! as an application's exporter would be; with `HIT_VIA=serve` each hit
//! goes through [`Cache::serve`] (with its request span) rather than the
//! request handler alone.

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;

use webcache_core::handler::RequestOutcome;

use support::{MapStore, Origin, request};

/// Counts every counter in one atomic of its own; drops histogram samples.
struct CountingRecorder;

impl metrics::Recorder for CountingRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

fn main() {
    if std::env::var_os("HIT_RECORDER").is_some_and(|v| v == "1") {
        metrics::set_global_recorder(CountingRecorder).expect("the first recorder");
    }
    let via_serve = std::env::var_os("HIT_VIA").is_some_and(|v| v == "serve");
    let hits: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let (rt, cache) = support::warmed(MapStore::default());
    let (parts, _) = request().into_parts();
    let handler = cache.request_handler();
    if via_serve {
        rt.block_on(async {
            for _ in 0..hits {
                let response = cache.serve(black_box(request()), Origin).await;
                drop(black_box(response.expect("a hit")));
            }
        });
        return;
    }
    rt.block_on(async {
        for _ in 0..hits {
            match handler.handle(black_box(&parts)).await {
                RequestOutcome::Respond(response, _) => drop(black_box(response)),
                RequestOutcome::Forward(_) => panic!("expected a hit"),
            }
        }
    });
}

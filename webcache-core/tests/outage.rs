//! Serving through an origin outage (RFC 9111 §4.2.4): an upstream that
//! gives no answer is met with the stored response, stale, within
//! `Config::stale_if_unreachable`, unless the response forbids it; waiting
//! requests get the same answer, and a dead origin is not asked again
//! within `Config::unreachable_backoff`.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::{Counter, Gate, MapStore, cache_status, collect, get, start, until};
use webcache_core::clock::ManualClock;
use webcache_core::{Cache, Config, Upstream};

/// An origin that answers `cache_control` until it is taken down, then
/// fails every exchange (or answers `down_status`, when set).
#[derive(Clone)]
struct Origin {
    cache_control: &'static str,
    down: Arc<AtomicBool>,
    down_status: Option<u16>,
    calls: Counter,
    gate: Gate,
}

impl Origin {
    fn new(cache_control: &'static str) -> Self {
        Origin {
            cache_control,
            down: Arc::default(),
            down_status: None,
            calls: Counter::default(),
            gate: Gate::new(true),
        }
    }

    fn take_down(&self) {
        self.down.store(true, Ordering::SeqCst);
    }
}

impl Upstream<Bytes> for Origin {
    type Body = Full<Bytes>;
    type Error = &'static str;

    async fn call(
        &mut self,
        _request: Request<Bytes>,
    ) -> Result<Response<Full<Bytes>>, &'static str> {
        let n = self.calls.bump();
        self.gate.pass().await;
        if !self.down.load(Ordering::SeqCst) {
            return Ok(Response::builder()
                .header("cache-control", self.cache_control)
                .body(Full::new(Bytes::from(format!("v{n}"))))
                .expect("a valid response"));
        }
        match self.down_status {
            Some(status) => Ok(Response::builder()
                .status(status)
                .body(Full::new(Bytes::from_static(b"error page")))
                .expect("a valid response")),
            None => Err("connection refused"),
        }
    }
}

fn cache(config: Config) -> (Cache<MapStore>, ManualClock) {
    let clock = ManualClock::new(start());
    let cache = Cache::builder(MapStore::default())
        .config(config)
        .clock(clock.clone())
        .build();
    (cache, clock)
}

fn within(window: u64) -> Config {
    Config::builder()
        .stale_if_unreachable(Some(Duration::from_secs(window)))
        .build()
        .expect("a valid configuration")
}

async fn fill(cache: &Cache<MapStore>, origin: &Origin) {
    let response = cache
        .serve(get("/r"), origin.clone())
        .await
        .expect("the origin is up");
    assert!(
        cache_status(&response).contains("stored"),
        "{}",
        cache_status(&response)
    );
}

#[tokio::test]
async fn rfc9111_4_2_4_an_unreachable_origin_is_met_with_stale_within_the_window() {
    let (cache, clock) = cache(within(60));
    let origin = Origin::new("max-age=10");
    fill(&cache, &origin).await;
    origin.take_down();
    clock.advance(Duration::from_secs(40));
    let stale = collect(
        cache
            .serve(get("/r"), origin.clone())
            .await
            .expect("served stale"),
    )
    .await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.body(), "v0");
    assert_eq!(
        cache_status(&stale),
        "webcache; fwd=stale; ttl=-30; detail=\"unreachable\""
    );
    assert_eq!(stale.headers()["age"], "40");
    // Past the window (10 s fresh + 60 s stale), the failure is the answer.
    clock.advance(Duration::from_secs(31));
    assert_eq!(
        cache.serve(get("/r"), origin.clone()).await.err(),
        Some("connection refused")
    );
}

#[tokio::test]
async fn rfc9111_4_2_4_nothing_is_served_stale_on_an_outage_by_default() {
    let (cache, clock) = cache(Config::default());
    let origin = Origin::new("max-age=10");
    fill(&cache, &origin).await;
    origin.take_down();
    clock.advance(Duration::from_secs(20));
    assert_eq!(
        cache.serve(get("/r"), origin.clone()).await.err(),
        Some("connection refused")
    );
}

#[tokio::test]
async fn rfc9111_5_2_2_directives_that_forbid_stale_win_over_an_outage() {
    for cc in [
        "max-age=10, must-revalidate",
        "max-age=10, proxy-revalidate",
        "s-maxage=10",
        "max-age=10, no-cache",
    ] {
        let (cache, clock) = cache(within(3600));
        let mut origin = Origin::new(cc);
        origin.cache_control = cc;
        fill(&cache, &origin).await;
        origin.take_down();
        clock.advance(Duration::from_secs(20));
        let got = cache.serve(get("/r"), origin.clone()).await;
        assert_eq!(got.err(), Some("connection refused"), "{cc}");
    }
}

#[tokio::test]
async fn rfc9111_5_2_1_a_request_asking_for_validation_gets_the_failure() {
    let (cache, clock) = cache(within(3600));
    let origin = Origin::new("max-age=10");
    fill(&cache, &origin).await;
    origin.take_down();
    clock.advance(Duration::from_secs(20));
    let mut request = get("/r");
    request
        .headers_mut()
        .insert("cache-control", "no-cache".parse().expect("a valid value"));
    assert_eq!(
        cache.serve(request, origin.clone()).await.err(),
        Some("connection refused")
    );
}

#[tokio::test]
async fn a_dead_origin_is_asked_once_per_backoff_and_waiting_requests_share_the_answer() {
    let (cache, clock) = cache(within(3600));
    let origin = Origin::new("max-age=10");
    fill(&cache, &origin).await;
    assert_eq!(origin.calls.get(), 1);
    origin.take_down();
    clock.advance(Duration::from_secs(20));
    origin.gate.close();
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let (cache, origin) = (cache.clone(), origin.clone());
        tasks.push(tokio::spawn(async move {
            let response = cache.serve(get("/r"), origin).await.expect("served stale");
            collect(response).await
        }));
    }
    until("four requests wait for the first", || {
        cache.stats().collapsed == 4
    })
    .await;
    origin.gate.open();
    for task in tasks {
        let response = task.await.expect("the request task finishes");
        assert_eq!(response.body(), "v0", "{}", cache_status(&response));
    }
    assert_eq!(origin.calls.get(), 2, "one attempt for the five requests");
    // Within the back-off, no attempt at all.
    clock.advance(Duration::from_millis(500));
    let stale = cache
        .serve(get("/r"), origin.clone())
        .await
        .expect("served stale");
    assert!(
        cache_status(&stale).contains("detail=\"unreachable\""),
        "{}",
        cache_status(&stale)
    );
    assert_eq!(origin.calls.get(), 2, "no attempt within the back-off");
    // After it, one more attempt.
    clock.advance(Duration::from_millis(600));
    cache
        .serve(get("/r"), origin.clone())
        .await
        .expect("served stale");
    assert_eq!(origin.calls.get(), 3);
}

#[tokio::test]
async fn the_origin_back_up_ends_the_outage() {
    let (cache, clock) = cache(within(3600));
    let origin = Origin::new("max-age=10");
    fill(&cache, &origin).await;
    origin.take_down();
    clock.advance(Duration::from_secs(20));
    cache
        .serve(get("/r"), origin.clone())
        .await
        .expect("served stale");
    origin.down.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    let fresh = collect(
        cache
            .serve(get("/r"), origin.clone())
            .await
            .expect("the origin is up"),
    )
    .await;
    assert_eq!(fresh.body(), "v2");
    assert!(
        cache_status(&fresh).contains("fwd=stale; fwd-status=200"),
        "{}",
        cache_status(&fresh)
    );
}

#[tokio::test]
async fn config_stale_on_server_error_meets_a_5xx_like_an_outage() {
    let config = |on| {
        Config::builder()
            .stale_if_unreachable(Some(Duration::from_secs(3600)))
            .stale_on_server_error(on)
            .build()
            .expect("a valid configuration")
    };
    for (on, expected) in [
        (true, StatusCode::OK),
        (false, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let (cache, clock) = cache(config(on));
        let mut origin = Origin::new("max-age=10");
        fill(&cache, &origin).await;
        origin.down_status = Some(503);
        origin.take_down();
        clock.advance(Duration::from_secs(20));
        let got = cache
            .serve(get("/r"), origin.clone())
            .await
            .expect("an answer");
        assert_eq!(got.status(), expected, "stale_on_server_error({on})");
    }
}

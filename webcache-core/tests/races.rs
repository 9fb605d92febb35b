//! Invalidations racing work already in flight (RFC 9111 §4.4): a fill or a
//! background refresh whose request reached the origin before the
//! invalidation must not bring the invalidated response back.
//!
//! The origin is gated: the test holds the fill's GET at the origin, then
//! invalidates, then lets the origin answer, so the order is forced, not
//! left to the scheduler.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;
use support::{Counter, Gate, MapStore, cache_status, collect, get, start, until};
use webcache_core::clock::ManualClock;
use webcache_core::{Cache, Config, Upstream};

/// An origin whose GETs wait at a gate and answer `v<n>` (n counting GETs
/// from 1) with `cache-control: cc`; every other method is answered `200`
/// at once.
#[derive(Clone)]
struct GatedOrigin {
    gets: Counter,
    gate: Gate,
    cc: &'static str,
}

impl GatedOrigin {
    fn new(cc: &'static str) -> Self {
        GatedOrigin {
            gets: Counter::default(),
            gate: Gate::new(true),
            cc,
        }
    }
}

impl Upstream<Bytes> for GatedOrigin {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(&mut self, request: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
        if request.method() != Method::GET {
            return Ok(Response::new(Full::new(Bytes::from_static(b"done"))));
        }
        let n = self.gets.bump() + 1;
        self.gate.pass().await;
        Ok(Response::builder()
            .header("cache-control", self.cc)
            .body(Full::new(Bytes::from(format!("v{n}"))))
            .expect("a valid response"))
    }
}

async fn send(
    cache: &Cache<MapStore>,
    request: Request<Bytes>,
    origin: &GatedOrigin,
) -> Response<Bytes> {
    collect(
        cache
            .serve(request, origin.clone())
            .await
            .expect("infallible"),
    )
    .await
}

fn post(target: &str) -> Request<Bytes> {
    Request::post(target)
        .header("host", "example.test")
        .body(Bytes::new())
        .expect("a valid request")
}

/// How the test invalidates `/r` while the origin holds a GET.
#[derive(Clone, Copy, Debug)]
enum Invalidation {
    /// `Cache::invalidate` (a purge).
    Api,
    /// A POST to `/r` answered 200 (RFC 9111 §4.4).
    UnsafeMethod,
}

async fn invalidate(cache: &Cache<MapStore>, origin: &GatedOrigin, how: Invalidation) {
    match how {
        Invalidation::Api => cache
            .invalidate("http://example.test/r")
            .await
            .expect("the map store answers"),
        Invalidation::UnsafeMethod => {
            let done = send(cache, post("/r"), origin).await;
            assert_eq!(done.body(), "done");
        }
    }
    assert!(cache.stats().invalidations >= 1);
}

/// A miss whose GET is held at the origin; the invalidation lands; the
/// origin answers; the next GET must go to the origin again.
async fn fill_raced_by(how: Invalidation) {
    let cache = Cache::new(MapStore::default(), Config::default());
    let origin = GatedOrigin::new("max-age=60");
    origin.gate.close();
    let fill = {
        let (cache, origin) = (cache.clone(), origin.clone());
        tokio::spawn(async move { send(&cache, get("/r"), &origin).await })
    };
    until("the fill reaches the origin", || origin.gets.get() == 1).await;
    invalidate(&cache, &origin, how).await;
    origin.gate.open();
    let filled = fill.await.expect("the fill finishes");
    // The client that asked before the invalidation gets its answer.
    assert_eq!(filled.body(), "v1");
    cache.quiesce().await;

    let after = send(&cache, get("/r"), &origin).await;
    assert_eq!(
        (after.body().as_ref(), origin.gets.get()),
        (&b"v2"[..], 2),
        "{how:?}: the response fetched before the invalidation was served after it \
         (Cache-Status: {})",
        cache_status(&after)
    );
}

#[tokio::test]
async fn rfc9111_4_4_a_purge_during_a_fill_is_not_undone_by_the_fill() {
    fill_raced_by(Invalidation::Api).await;
}

#[tokio::test]
async fn rfc9111_4_4_an_unsafe_method_during_a_fill_is_not_undone_by_the_fill() {
    fill_raced_by(Invalidation::UnsafeMethod).await;
}

/// A stale-while-revalidate hit starts a background refresh, held at the
/// origin; the invalidation lands; the refresh's answer must not be
/// served after it.
async fn refresh_raced_by(how: Invalidation) {
    let clock = ManualClock::new(start());
    let cache = Cache::builder(MapStore::default())
        .clock(clock.clone())
        .build();
    let origin = GatedOrigin::new("max-age=1, stale-while-revalidate=600");
    let first = send(&cache, get("/r"), &origin).await;
    assert_eq!(first.body(), "v1");
    cache.quiesce().await;

    clock.advance(Duration::from_secs(5));
    origin.gate.close();
    let stale = send(&cache, get("/r"), &origin).await;
    assert_eq!(stale.body(), "v1");
    until("the refresh reaches the origin", || origin.gets.get() == 2).await;
    assert_eq!(cache.stats().refreshes, 1);
    invalidate(&cache, &origin, how).await;
    origin.gate.open();
    cache.quiesce().await;

    let after = send(&cache, get("/r"), &origin).await;
    assert_eq!(
        (after.body().as_ref(), origin.gets.get()),
        (&b"v3"[..], 3),
        "{how:?}: the refresh fetched before the invalidation was served after it \
         (Cache-Status: {})",
        cache_status(&after)
    );
}

#[tokio::test]
async fn rfc9111_4_4_a_purge_during_a_background_refresh_is_not_undone_by_it() {
    refresh_raced_by(Invalidation::Api).await;
}

#[tokio::test]
async fn rfc9111_4_4_an_unsafe_method_during_a_background_refresh_is_not_undone_by_it() {
    refresh_raced_by(Invalidation::UnsafeMethod).await;
}

/// Followers waiting on a fill that an invalidation overtook are answered
/// (they asked before the invalidation) and nothing is left stored.
#[tokio::test]
async fn rfc9111_4_4_followers_of_an_invalidated_fill_are_answered_and_nothing_is_kept() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let origin = GatedOrigin::new("max-age=60");
    origin.gate.close();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (cache, origin) = (cache.clone(), origin.clone());
        tasks.push(tokio::spawn(async move {
            send(&cache, get("/r"), &origin).await
        }));
    }
    until("two followers wait for the fill", || {
        cache.stats().collapsed == 2
    })
    .await;
    invalidate(&cache, &origin, Invalidation::Api).await;
    origin.gate.open();
    for task in tasks {
        let response = task.await.expect("the request finishes");
        assert_eq!(response.status(), 200);
        assert!(response.body().starts_with(b"v"));
    }
    cache.quiesce().await;
    let before = origin.gets.get();
    let after = send(&cache, get("/r"), &origin).await;
    assert_eq!(origin.gets.get(), before + 1, "{}", cache_status(&after));
}

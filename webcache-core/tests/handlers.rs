//! The handlers' behaviour that the shared scenarios cannot express:
//! concurrency (coalescing, background refreshes), store faults, streamed
//! bodies, user-supplied behaviours and the separately installed request
//! and response handlers.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use support::{
    Channel, Chunks, Counter, FailingStore, Gate, MapStore, SlowStore, cache_status, collect, get,
    start, until,
};
use tokio::sync::mpsc;
use webcache_core::clock::ManualClock;
use webcache_core::handler::{
    Mixins, RequestOutcome, ResponseOutcome, Retrieval, Storability, Validation,
};
use webcache_core::headers::{CacheControl, EntityTag};
use webcache_core::key::PrimaryKey;
use webcache_core::request::RequestFacts;
use webcache_core::storage::NotStorable;
use webcache_core::store::{Store, StoredResponse};
use webcache_core::{Cache, Config, Upstream};

type Make<B> = dyn Fn(usize, &Parts) -> Response<B> + Send + Sync;

/// An application that counts its calls, waits at a gate, optionally never
/// answers one call, and answers with `make(call index, request)`.
struct App<B> {
    calls: Counter,
    gate: Gate,
    stall: Option<usize>,
    make: Arc<Make<B>>,
}

impl<B> Clone for App<B> {
    fn clone(&self) -> Self {
        App {
            calls: self.calls.clone(),
            gate: self.gate.clone(),
            stall: self.stall,
            make: self.make.clone(),
        }
    }
}

impl<B> App<B> {
    fn new(make: impl Fn(usize, &Parts) -> Response<B> + Send + Sync + 'static) -> Self {
        App {
            calls: Counter::default(),
            gate: Gate::new(true),
            stall: None,
            make: Arc::new(make),
        }
    }
}

impl<B> Upstream<Bytes> for App<B>
where
    B: Body<Data = Bytes, Error = Infallible> + Send + 'static,
{
    type Body = B;
    type Error = Infallible;

    async fn call(&mut self, request: Request<Bytes>) -> Result<Response<B>, Infallible> {
        let n = self.calls.bump();
        if self.stall == Some(n) {
            std::future::pending::<()>().await;
        }
        self.gate.pass().await;
        let (parts, _) = request.into_parts();
        Ok((self.make)(n, &parts))
    }
}

/// `200` with `cache-control` and `body`, as a complete body.
fn full(cc: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .header("cache-control", cc)
        .body(Full::new(body.into()))
        .expect("a valid response")
}

fn versioned(n: usize, _: &Parts) -> Response<Full<Bytes>> {
    let mut r = full("max-age=60", format!("v{}", n + 1));
    r.headers_mut().insert(
        "etag",
        format!("\"v{}\"", n + 1).parse().expect("a valid etag"),
    );
    r
}

fn manual() -> ManualClock {
    ManualClock::new(start())
}

fn config(builder: webcache_core::ConfigBuilder) -> Config {
    builder.build().expect("a valid configuration")
}

// ---- request coalescing (RFC 9111 §4) -----------------------------------

#[tokio::test]
async fn rfc9111_4_concurrent_misses_collapse_into_one_forward_request() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let app = App::new(|_, _| full("max-age=60", "shared"));
    app.gate.close();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (cache, app) = (cache.clone(), app.clone());
        tasks.push(tokio::spawn(async move {
            collect(cache.serve(get("/c"), app).await.expect("infallible")).await
        }));
    }
    until("seven requests wait for the first", || {
        cache.stats().collapsed == 7
    })
    .await;
    assert_eq!(app.calls.get(), 1);
    app.gate.open();
    let mut collapsed_hits = 0;
    for task in tasks {
        let response = task.await.expect("the request task finishes");
        assert_eq!(response.body(), "shared");
        if cache_status(&response) == "webcache; hit; ttl=60; collapsed" {
            collapsed_hits += 1;
        }
    }
    assert_eq!(app.calls.get(), 1, "the origin is called once");
    assert_eq!(collapsed_hits, 7);
}

#[tokio::test]
async fn rfc9111_4_followers_of_a_response_that_cannot_be_stored_go_forward_themselves() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let app = App::new(|n, _| full("no-store", format!("private {n}")));
    app.gate.close();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (cache, app) = (cache.clone(), app.clone());
        tasks.push(tokio::spawn(async move {
            collect(cache.serve(get("/c"), app).await.expect("infallible")).await
        }));
    }
    until("three requests wait for the first", || {
        cache.stats().collapsed == 3
    })
    .await;
    app.gate.open();
    let mut bodies = Vec::new();
    for task in tasks {
        let response = task.await.expect("the request task finishes");
        assert_eq!(response.status(), StatusCode::OK);
        bodies.push(response.into_body());
    }
    bodies.sort();
    assert_eq!(
        bodies,
        ["private 0", "private 1", "private 2", "private 3"].map(Bytes::from)
    );
    assert_eq!(app.calls.get(), 4, "every follower went forward");
}

#[tokio::test]
async fn rfc9111_4_a_dropped_leader_releases_its_followers() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let mut app = App::new(|_, _| full("max-age=60", "from the second"));
    app.stall = Some(0);
    let leader = {
        let (cache, app) = (cache.clone(), app.clone());
        tokio::spawn(async move { cache.serve(get("/c"), app).await.map(|_| ()) })
    };
    until("the leader reaches the origin", || app.calls.get() == 1).await;
    let follower = {
        let (cache, app) = (cache.clone(), app.clone());
        tokio::spawn(async move {
            collect(cache.serve(get("/c"), app).await.expect("infallible")).await
        })
    };
    until("the follower waits", || cache.stats().collapsed == 1).await;
    leader.abort();
    let response = follower.await.expect("the follower finishes");
    assert_eq!(response.body(), "from the second");
    assert_eq!(app.calls.get(), 2);
    // And what the follower fetched was stored for everyone.
    let hit = collect(
        cache
            .serve(get("/c"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
}

#[tokio::test]
async fn config_coalesce_false_sends_every_miss_forward() {
    let cache = Cache::new(
        MapStore::default(),
        config(Config::builder().coalesce(false)),
    );
    let app = App::new(|_, _| full("max-age=60", "x"));
    app.gate.close();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (cache, app) = (cache.clone(), app.clone());
        tasks.push(tokio::spawn(async move {
            collect(cache.serve(get("/c"), app).await.expect("infallible")).await
        }));
    }
    until("all three reach the origin", || app.calls.get() == 3).await;
    app.gate.open();
    for task in tasks {
        task.await.expect("the request task finishes");
    }
    assert_eq!(cache.stats().collapsed, 0);
}

// ---- hits answered without a future (Cache::serve_now) ----------------------

/// A map store that counts its reads.
#[derive(Clone)]
struct CountingReads(MapStore, Counter);

impl CountingReads {
    /// A cache over an immediate map store whose reads are counted, and
    /// the count.
    fn cache() -> (Cache<CountingReads>, Counter) {
        let reads = Counter::default();
        let store = CountingReads(MapStore::immediate(), reads.clone());
        (Cache::new(store, Config::default()), reads)
    }
}

impl Store for CountingReads {
    fn reads_without_waiting(&self) -> bool {
        self.0.reads_without_waiting()
    }
    fn change_count(&self, resource: &[u8; 16]) -> Option<u64> {
        self.0.change_count(resource)
    }
    async fn get_many(
        &self,
        keys: &[webcache_core::StoreKey],
    ) -> Result<Vec<Option<Bytes>>, webcache_core::StoreError> {
        self.1.bump();
        self.0.get_many(keys).await
    }
    async fn put_many(
        &self,
        writes: Vec<webcache_core::store::Write>,
    ) -> Result<(), webcache_core::StoreError> {
        self.0.put_many(writes).await
    }
    async fn delete_many(
        &self,
        keys: &[webcache_core::StoreKey],
    ) -> Result<(), webcache_core::StoreError> {
        self.0.delete_many(keys).await
    }
}

#[tokio::test]
async fn serve_now_answers_hits_and_serve_later_goes_on_from_its_lookup() {
    let (cache, reads) = CountingReads::cache();
    let app = App::new(|_, p: &Parts| full("max-age=60", p.uri.path().to_owned()));
    let Err(later) = cache.serve_now(get("/n"), || app.clone()) else {
        panic!("a miss cannot be answered without forwarding");
    };
    assert_eq!(reads.get(), 1, "the miss was looked up once");
    let miss = cache
        .serve_later(later, app.clone())
        .await
        .expect("infallible");
    assert_eq!(collect(miss).await.body(), "/n");
    assert_eq!(reads.get(), 1, "serve_later reused the lookup");
    let Ok(hit) = cache.serve_now(get("/n"), || app.clone()) else {
        panic!("a fresh hit is answered at once");
    };
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
    assert_eq!(hit.headers()["content-length"], "2");
    assert_eq!(collect(hit).await.body(), "/n");

    // The same through answer_now, on parts the caller keeps.
    let before = reads.get();
    let (parts, body) = get("/b").into_parts();
    let Err(not_now) = cache.answer_now(&parts, || app.clone()) else {
        panic!("a miss cannot be answered without forwarding");
    };
    assert_eq!(reads.get(), before + 1, "the miss was looked up once");
    let later = not_now.later(parts, body);
    let miss = cache.serve_later(later, app.clone()).await;
    assert_eq!(collect(miss.expect("infallible")).await.body(), "/b");
    assert_eq!(reads.get(), before + 1, "serve_later reused the lookup");
    let (parts, _) = get("/b").into_parts();
    let Ok(hit) = cache.answer_now(&parts, || app.clone()) else {
        panic!("a fresh hit is answered at once");
    };
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
    assert_eq!(hit.body(), "/b", "the whole body, in hand");
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.hits, app.calls.get()), (2, 2, 2));
}

#[tokio::test]
async fn not_now_given_another_resource_looks_that_one_up_instead() {
    let (cache, reads) = CountingReads::cache();
    let app = App::new(|_, p: &Parts| full("max-age=60", p.uri.path().to_owned()));
    cache
        .serve(get("/stored"), app.clone())
        .await
        .expect("infallible");
    // A lookup of /other, then the request of /stored handed over with it:
    // what was found for /other must not answer /stored, nor the reverse.
    let (other, _) = get("/other").into_parts();
    let Err(not_now) = cache.answer_now(&other, || app.clone()) else {
        panic!("/other is not stored");
    };
    let (stored, body) = get("/stored").into_parts();
    let before = reads.get();
    let response = cache
        .serve_later(not_now.later(stored, body), app.clone())
        .await
        .expect("infallible");
    assert_eq!(reads.get(), before + 1, "/stored was looked up afresh");
    assert_eq!(cache_status(&response), "webcache; hit; ttl=60");
    assert_eq!(collect(response).await.body(), "/stored");
    assert_eq!(app.calls.get(), 1, "nothing forwarded");
}

#[tokio::test]
async fn serve_now_leaves_bypasses_and_stores_that_may_wait_to_serve_later() {
    let reads = Counter::default();
    let cache = Cache::new(
        CountingReads(MapStore::default(), reads.clone()),
        Config::default(),
    );
    let app = App::new(|_, _| full("max-age=60", "body"));
    cache
        .serve(get("/w"), app.clone())
        .await
        .expect("infallible");
    let before = reads.get();
    let Err(later) = cache.serve_now(get("/w"), || app.clone()) else {
        panic!("a store that may wait is never read without a future");
    };
    assert_eq!(reads.get(), before, "nothing read");
    let hit = cache
        .serve_later(later, app.clone())
        .await
        .expect("infallible");
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");

    let immediate = Cache::new(MapStore::immediate(), Config::default());
    let post = Request::post("http://example.com/w")
        .body(Bytes::new())
        .expect("a valid request");
    let Err(later) = immediate.serve_now(post, || app.clone()) else {
        panic!("a POST is forwarded");
    };
    immediate
        .serve_later(later, app.clone())
        .await
        .expect("infallible");
    assert_eq!(immediate.stats().bypasses, 1, "counted once");
}

#[tokio::test]
async fn a_hit_after_a_hit_on_the_same_thread_reads_nothing_from_the_store() {
    let (cache, reads) = CountingReads::cache();
    let app = App::new(|_, _| full("max-age=60", "body"));
    cache
        .serve(get("/f"), app.clone())
        .await
        .expect("infallible");
    cache
        .serve(get("/f"), app.clone())
        .await
        .expect("infallible");
    let before = reads.get();
    let hit = collect(
        cache
            .serve(get("/f"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(reads.get(), before, "answered from the last lookup");
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
    assert_eq!(
        (hit.headers()["age"].as_bytes(), hit.body().as_ref()),
        (&b"0"[..], &b"body"[..])
    );
    assert_eq!(cache.stats().hits, 2);
}

#[tokio::test]
async fn a_write_to_the_store_by_another_cache_is_seen_by_the_next_hit() {
    let store = MapStore::immediate();
    let (a, b) = (
        Cache::new(store.clone(), Config::default()),
        Cache::new(store.clone(), Config::default()),
    );
    let app = App::new(versioned);
    for _ in 0..3 {
        let response = collect(a.serve(get("/f"), app.clone()).await.expect("infallible")).await;
        assert_eq!(response.body(), "v1");
    }
    b.invalidate("http://example.test/f")
        .await
        .expect("invalidated");
    let refilled = collect(b.serve(get("/f"), app.clone()).await.expect("infallible")).await;
    assert_eq!(refilled.body(), "v2");
    let seen = collect(a.serve(get("/f"), app.clone()).await.expect("infallible")).await;
    assert_eq!(
        (cache_status(&seen), seen.body().as_ref()),
        ("webcache; hit; ttl=60", &b"v2"[..])
    );
}

/// `Vary: Accept-Language`, with the language and the call's index for a
/// body.
fn by_language(n: usize, parts: &Parts) -> Response<Full<Bytes>> {
    let lang = parts.headers["accept-language"].to_str().unwrap_or("");
    let mut r = full("max-age=60", format!("{lang}{n}"));
    r.headers_mut()
        .insert("vary", http::HeaderValue::from_static("accept-language"));
    r
}

/// The body of `cache`'s answer, through `app`, to a GET of `/v` in `lang`.
async fn in_language<S: Store>(
    cache: &Cache<S>,
    app: &App<Full<Bytes>>,
    lang: &'static str,
) -> String {
    let mut request = get("/v");
    request
        .headers_mut()
        .insert("accept-language", http::HeaderValue::from_static(lang));
    let response = cache.serve(request, app.clone()).await;
    let response = collect(response.expect("infallible")).await;
    String::from_utf8_lossy(response.body()).into_owned()
}

#[tokio::test]
async fn rfc9111_4_1_a_hit_from_the_last_lookup_serves_only_the_variant_it_selected() {
    let cache = Cache::new(MapStore::immediate(), Config::default());
    let app = App::new(by_language);
    for expected in ["en0", "en0", "en0", "fr1", "fr1", "en0", "fr1"] {
        assert_eq!(in_language(&cache, &app, &expected[..2]).await, expected);
    }
    assert_eq!(app.calls.get(), 2);
}

#[tokio::test]
async fn rfc9111_4_1_hits_taking_turns_between_two_variants_read_nothing_from_the_store() {
    let (cache, reads) = CountingReads::cache();
    let app = App::new(by_language);
    // Each variant stored, then looked up once (which keeps it in this
    // thread's front).
    for lang in ["en", "fr", "en", "fr"] {
        in_language(&cache, &app, lang).await;
    }
    let before = reads.get();
    for expected in ["en0", "fr1", "en0", "fr1", "en0", "fr1"] {
        assert_eq!(in_language(&cache, &app, &expected[..2]).await, expected);
    }
    assert_eq!(
        reads.get(),
        before,
        "both variants answered from the last lookups"
    );
    assert_eq!(app.calls.get(), 2);
}

// ---- refresh ahead ---------------------------------------------------------

#[tokio::test]
async fn refresh_ahead_refreshes_once_in_the_background_and_serves_the_refresh() {
    let clock = manual();
    let cache = Cache::builder(MapStore::default())
        .config(config(
            Config::builder().refresh_ahead(Duration::from_secs(10)),
        ))
        .clock(clock.clone())
        .build();
    let app = App::new(versioned);
    let miss = collect(
        cache
            .serve(get("/r"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(miss.body(), "v1");

    // Outside the threshold: a plain hit.
    clock.advance(Duration::from_secs(45));
    let hit = collect(
        cache
            .serve(get("/r"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    cache.quiesce().await;
    assert_eq!((hit.body().as_ref(), app.calls.get()), (&b"v1"[..], 1));

    // Within it: served at once, refreshed once however many hits come
    // while the refresh is in flight.
    clock.advance(Duration::from_secs(10));
    app.gate.close();
    for _ in 0..3 {
        let hit = collect(
            cache
                .serve(get("/r"), app.clone())
                .await
                .expect("infallible"),
        )
        .await;
        assert_eq!(hit.body(), "v1");
        assert_eq!(cache_status(&hit), "webcache; hit; ttl=5");
    }
    until("the refresh reaches the origin", || app.calls.get() == 2).await;
    app.gate.open();
    cache.quiesce().await;
    assert_eq!(app.calls.get(), 2);
    assert_eq!(cache.stats().refreshes, 1);

    let refreshed = collect(
        cache
            .serve(get("/r"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(refreshed.body(), "v2");
    assert_eq!(refreshed.headers()["age"], "0");
    cache.quiesce().await;
    assert_eq!(app.calls.get(), 2, "a fresh refresh is not refreshed again");
}

#[tokio::test]
async fn refresh_ahead_sends_the_stored_validators() {
    let clock = manual();
    let cache = Cache::builder(MapStore::default())
        .config(config(
            Config::gateway_builder().refresh_ahead(Duration::from_secs(10)),
        ))
        .clock(clock.clone())
        .build();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = {
        let seen = seen.clone();
        App::new(move |n, parts: &Parts| {
            seen.lock()
                .expect("not poisoned")
                .push(parts.headers.get("if-none-match").cloned());
            if n == 0 {
                versioned(n, parts)
            } else {
                Response::builder()
                    .status(304)
                    .header("etag", "\"v1\"")
                    .header("cache-control", "max-age=60")
                    .body(Full::new(Bytes::new()))
                    .expect("a valid response")
            }
        })
    };
    collect(
        cache
            .serve(get("/r"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    clock.advance(Duration::from_secs(55));
    collect(
        cache
            .serve(get("/r"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    cache.quiesce().await;
    let seen = seen.lock().expect("not poisoned").clone();
    assert_eq!(seen, vec![None, Some("\"v1\"".parse().expect("valid"))]);
    let hit = collect(
        cache
            .serve(get("/r"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(hit.body(), "v1");
    assert_eq!(hit.headers()["age"], "0");
}

// ---- store faults fail open ----------------------------------------------

#[tokio::test]
async fn store_errors_fail_open_to_the_origin_and_are_counted() {
    let cache = Cache::new(FailingStore, Config::default());
    let app = App::new(|n, _| full("max-age=60", format!("fetched {n}")));
    for n in 0..2 {
        let response = collect(
            cache
                .serve(get("/f"), app.clone())
                .await
                .expect("infallible"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), &format!("fetched {n}")[..]);
        assert_eq!(
            cache_status(&response),
            "webcache; fwd=uri-miss; fwd-status=200"
        );
    }
    let stats = cache.stats();
    assert_eq!(app.calls.get(), 2);
    assert_eq!(
        stats.store_errors, 4,
        "two failed lookups and two failed writes"
    );
    assert_eq!(stats.stores, 0);
    // Invalidation fails open too.
    let post = Request::post("/f")
        .header("host", "example.test")
        .body(Bytes::new())
        .expect("a valid request");
    let response = collect(cache.serve(post, app.clone()).await.expect("infallible")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(cache.stats().store_errors, 5);
    assert!(cache.invalidate("http://example.test/f").await.is_err());
}

#[tokio::test(start_paused = true)]
async fn store_operations_past_the_timeout_fail_open() {
    let cache = Cache::new(
        SlowStore,
        config(Config::builder().store_timeout(Duration::from_millis(50))),
    );
    let app = App::new(|_, _| full("max-age=60", "origin"));
    let before = tokio::time::Instant::now();
    let response = collect(
        cache
            .serve(get("/s"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(response.body(), "origin");
    assert_eq!(
        cache_status(&response),
        "webcache; fwd=uri-miss; fwd-status=200"
    );
    assert_eq!(
        cache.stats().store_errors,
        2,
        "the lookup and the write timed out"
    );
    assert!(
        before.elapsed() < Duration::from_secs(1),
        "bounded by the timeout, not the store"
    );
}

#[tokio::test]
async fn undecodable_entries_are_a_miss() {
    let store = MapStore::default();
    let cache = Cache::new(store.clone(), Config::default());
    let app = App::new(|n, _| full("max-age=60", format!("v{n}")));
    collect(
        cache
            .serve(get("/u"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;

    // A corrupt representation under valid metadata.
    for (key, value) in store.map().iter_mut() {
        if !key.is_metadata() {
            *value = Bytes::from_static(b"WC\x01Rtruncated");
        }
    }
    let response = collect(
        cache
            .serve(get("/u"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(response.body(), "v1");
    assert_eq!(
        cache_status(&response),
        "webcache; fwd=vary-miss; fwd-status=200; stored"
    );

    // Everything garbage, or written by an unknown format version.
    for (n, garbage) in [&b"garbage"[..], b"WC\x09R", b""].into_iter().enumerate() {
        for value in store.map().values_mut() {
            *value = Bytes::copy_from_slice(garbage);
        }
        let response = collect(
            cache
                .serve(get("/u"), app.clone())
                .await
                .expect("infallible"),
        )
        .await;
        assert_eq!(response.body(), &format!("v{}", n + 2)[..]);
        assert_eq!(
            cache_status(&response),
            "webcache; fwd=uri-miss; fwd-status=200; stored"
        );
    }
    assert_eq!(
        cache.stats().store_errors,
        0,
        "a bad entry is a miss, not a fault"
    );
    let hit = collect(
        cache
            .serve(get("/u"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(hit.body(), "v4");
}

// ---- one behaviour overridden by one trait ----------------------------------

/// Keys requests without their `utm_*` query parameters.
struct IgnoreTracking;

impl Retrieval for IgnoreTracking {
    fn primary_key(&self, parts: &Parts, config: &Config) -> PrimaryKey {
        let query: Vec<&str> = parts
            .uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("utm_"))
            .collect();
        let mut pq = parts.uri.path().to_owned();
        if !query.is_empty() {
            pq = format!("{pq}?{}", query.join("&"));
        }
        let mut parts = parts.clone();
        parts.uri = pq.parse().unwrap_or(parts.uri);
        PrimaryKey::from_request(&parts, config)
    }
}

/// A weak entity tag from the body's length.
struct LengthTag;

impl Validation for LengthTag {
    fn etag(&self, body: &[u8]) -> Option<EntityTag> {
        EntityTag::weak(format!("len-{}", body.len()))
    }
}

/// Never stores error responses.
struct NoErrors;

impl Storability for NoErrors {
    fn is_storable(
        &self,
        request: &RequestFacts,
        status: StatusCode,
        headers: &http::HeaderMap,
        cc: &CacheControl,
        config: &Config,
    ) -> Result<(), NotStorable> {
        if status.is_client_error() || status.is_server_error() {
            return Err(NotStorable::NotCacheable);
        }
        webcache_core::storage::is_storable(request, status, headers, cc, config)
    }
}

#[tokio::test]
async fn a_custom_primary_key_ignores_a_query_parameter() {
    let cache = Cache::builder(MapStore::default())
        .retrieval(IgnoreTracking)
        .build();
    let app = App::new(|_, _| full("max-age=60", "page"));
    let miss = collect(
        cache
            .serve(get("/a?utm_source=mail&id=1"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(
        cache_status(&miss),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );
    let hit = collect(
        cache
            .serve(get("/a?id=1"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
    let other = collect(
        cache
            .serve(get("/a?id=2"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(
        cache_status(&other),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );
    assert_eq!(app.calls.get(), 2);
}

async fn status_of<U: Upstream<Bytes>>(
    cache: &Cache<MapStore, Mixins<IgnoreTracking>>,
    request: Request<Bytes>,
    app: U,
) -> String
where
    U::Body: Body<Data = Bytes>,
    U::Error: std::fmt::Debug,
{
    let response = cache.serve(request, app).await.expect("infallible");
    cache_status(&response).to_owned()
}

#[tokio::test]
async fn rfc9111_4_4_location_invalidation_uses_the_custom_primary_key() {
    let cache = Cache::builder(MapStore::default())
        .retrieval(IgnoreTracking)
        .build();
    let app = App::new(|_, parts: &Parts| {
        let mut r = full("max-age=60", "page");
        if parts.method == http::Method::POST {
            let location = "/a?id=1&utm_source=mail".parse().expect("a valid value");
            r.headers_mut().insert("location", location);
        }
        r
    });
    assert!(
        status_of(&cache, get("/a?id=1"), app.clone())
            .await
            .contains("stored")
    );
    assert!(
        status_of(&cache, get("/a?id=1"), app.clone())
            .await
            .contains("hit")
    );
    let post = Request::post("/orders")
        .header("host", "example.test")
        .body(Bytes::new())
        .expect("a valid request");
    status_of(&cache, post, app.clone()).await;
    // Location named the resource with a tracking parameter: the custom key
    // ignores it, so the stored /a?id=1 is invalidated.
    let after = status_of(&cache, get("/a?id=1"), app.clone()).await;
    assert!(after.contains("fwd=uri-miss"), "{after}");
}

#[tokio::test]
async fn cache_invalidate_uses_the_custom_primary_key_and_removes_every_representation() {
    let store = MapStore::default();
    let cache = Cache::builder(store.clone())
        .retrieval(IgnoreTracking)
        .build();
    let app = App::new(|_, _| {
        let mut r = full("max-age=60", "page");
        r.headers_mut()
            .insert("vary", "accept".parse().expect("a valid value"));
        r
    });
    for accept in ["text/html", "application/json"] {
        let mut request = get("/a?id=1");
        request
            .headers_mut()
            .insert("accept", accept.parse().expect("a valid value"));
        assert!(
            status_of(&cache, request, app.clone())
                .await
                .contains("stored")
        );
    }
    assert_eq!(store.map().len(), 3, "metadata and two representations");
    cache
        .invalidate("http://example.test/a?utm_campaign=x&id=1")
        .await
        .expect("invalidated");
    assert!(store.map().is_empty(), "{} entries left", store.map().len());
    assert_eq!(cache.stats().invalidations, 1);
    let after = status_of(&cache, get("/a?id=1"), app.clone()).await;
    assert!(after.contains("fwd=uri-miss"), "{after}");
}

#[tokio::test]
async fn cache_invalidate_refuses_a_relative_uri() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let error = cache.invalidate("/a").await.expect_err("not absolute");
    assert!(matches!(error, webcache_core::InvalidateError::NotAbsolute(ref uri) if uri == "/a"));
    assert_eq!(cache.stats().invalidations, 0);
}

#[tokio::test(start_paused = true)]
async fn cache_invalidate_is_bounded_by_the_store_timeout_and_counted() {
    let cache = Cache::new(SlowStore, Config::default());
    let error = cache
        .invalidate("http://example.test/a")
        .await
        .expect_err("timed out");
    assert!(matches!(
        error,
        webcache_core::InvalidateError::Store(webcache_core::StoreError::Timeout)
    ));
    assert_eq!(cache.stats().store_errors, 1);
    let cache = Cache::new(FailingStore, Config::default());
    assert!(cache.invalidate("http://example.test/a").await.is_err());
    assert_eq!(cache.stats().store_errors, 1);
}

/// Reduces Accept-Encoding to whether the client takes gzip, so that
/// clients listing codings differently share one representation.
struct GzipOrNot;

impl Retrieval for GzipOrNot {
    fn secondary_key(
        &self,
        primary: &PrimaryKey,
        vary: &[http::HeaderName],
        request: &http::HeaderMap,
    ) -> webcache_core::key::SecondaryKey {
        let mut normalised = request.clone();
        if let Some(value) = request.get("accept-encoding") {
            let gzip = value.to_str().unwrap_or("").contains("gzip");
            let reduced = if gzip { "gzip" } else { "identity" };
            normalised.insert("accept-encoding", reduced.parse().expect("a valid value"));
        }
        webcache_core::key::SecondaryKey::new(primary, vary, &normalised)
    }
}

#[tokio::test]
async fn rfc9111_4_1_a_custom_secondary_key_selects_representations() {
    let cache = Cache::builder(MapStore::default())
        .retrieval(GzipOrNot)
        .build();
    let app = App::new(|n, _| {
        let mut r = full("max-age=60", format!("v{n}"));
        r.headers_mut()
            .insert("vary", "accept-encoding".parse().expect("a valid value"));
        r
    });
    let with = |coding: &str| {
        let mut request = get("/v");
        request
            .headers_mut()
            .insert("accept-encoding", coding.parse().expect("a valid value"));
        request
    };
    let first = collect(
        cache
            .serve(with("gzip, br"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert!(
        cache_status(&first).contains("stored"),
        "{}",
        cache_status(&first)
    );
    let same = collect(
        cache
            .serve(with("br;q=0.5, gzip"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(cache_status(&same), "webcache; hit; ttl=60");
    assert_eq!(same.body(), "v0");
    let other = collect(
        cache
            .serve(with("br"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert!(
        cache_status(&other).contains("fwd=vary-miss"),
        "{}",
        cache_status(&other)
    );
    assert_eq!(app.calls.get(), 2);
}

#[tokio::test]
async fn a_custom_etag_replaces_the_body_digest_and_the_rest_still_works() {
    let cache = Cache::builder(MapStore::default())
        .validation(LengthTag)
        .storability(NoErrors)
        .build();
    let app = App::new(|_, parts: &Parts| {
        if parts.uri.path() == "/missing" {
            let mut r = full("max-age=60", "nope");
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        } else {
            full("max-age=60", "hello")
        }
    });
    let miss = collect(
        cache
            .serve(get("/e"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(miss.headers()["etag"], "W/\"len-5\"");
    let mut conditional = get("/e");
    conditional
        .headers_mut()
        .insert("if-none-match", "W/\"len-5\"".parse().expect("valid"));
    let not_modified = collect(
        cache
            .serve(conditional, app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cache_status(&not_modified), "webcache; hit; ttl=60");

    for _ in 0..2 {
        let missing = collect(
            cache
                .serve(get("/missing"), app.clone())
                .await
                .expect("infallible"),
        )
        .await;
        assert_eq!(
            cache_status(&missing),
            "webcache; fwd=uri-miss; fwd-status=404"
        );
    }
    assert_eq!(app.calls.get(), 3);
}

// ---- the two handlers installed separately ----------------------------------

/// What an adapter that owns neither end does: the request handler at one
/// depth of the stack, the response handler at another, joined by Pending.
async fn by_hand<S: Store>(
    cache: &Cache<S, Mixins>,
    request: Request<Bytes>,
    app: impl Fn(&Parts) -> Response<Full<Bytes>>,
    forwarded: &mut Vec<Parts>,
) -> Response<Bytes> {
    let (mut parts, _) = request.into_parts();
    match cache.request_handler().handle(&parts).await {
        RequestOutcome::Respond(response, refresh) => {
            assert!(refresh.is_none(), "no refresh expected here");
            response
        }
        RequestOutcome::Forward(pending) => {
            assert_eq!(pending.uri(), "http://example.test/h");
            pending.prepare(&mut parts);
            let response = app(&parts);
            forwarded.push(parts);
            match cache.response_handler().handle(pending, response).await {
                ResponseOutcome::Respond(response) => collect(response).await,
                ResponseOutcome::Retry(_) => panic!("no retry expected here"),
            }
        }
    }
}

#[tokio::test]
async fn the_request_and_response_handlers_work_apart() {
    let clock = manual();
    let cache = Cache::builder(MapStore::default())
        .config(config(Config::gateway_builder()))
        .clock(clock.clone())
        .build();
    let mut forwarded = Vec::new();
    let origin = |parts: &Parts| {
        if parts.headers.contains_key("if-none-match") {
            Response::builder()
                .status(304)
                .header("etag", "\"v1\"")
                .header("cache-control", "max-age=10")
                .body(Full::new(Bytes::new()))
                .expect("a valid response")
        } else {
            let mut r = full("max-age=10", "by hand");
            r.headers_mut()
                .insert("etag", "\"v1\"".parse().expect("valid"));
            r
        }
    };

    let miss = by_hand(&cache, get("/h"), origin, &mut forwarded).await;
    assert_eq!(miss.body(), "by hand");
    assert_eq!(
        cache_status(&miss),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );

    let hit = by_hand(&cache, get("/h"), origin, &mut forwarded).await;
    assert_eq!(hit.body(), "by hand");
    assert_eq!(forwarded.len(), 1);

    clock.advance(Duration::from_secs(20));
    let validated = by_hand(&cache, get("/h"), origin, &mut forwarded).await;
    assert_eq!(forwarded.len(), 2);
    assert_eq!(
        forwarded[1].headers["if-none-match"], "\"v1\"",
        "Pending::prepare added the stored validator"
    );
    assert_eq!(validated.status(), StatusCode::OK);
    assert_eq!(validated.body(), "by hand");
    assert_eq!(
        cache_status(&validated),
        "webcache; fwd=stale; fwd-status=304; ttl=10; stored"
    );
}

// ---- streamed bodies ----------------------------------------------------------

#[tokio::test]
async fn a_body_of_unknown_size_is_stored_once_fully_read() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let app = App::new(|_, _| {
        Response::builder()
            .header("cache-control", "max-age=60")
            .body(Chunks::new(["hello", " ", "world"]))
            .expect("a valid response")
    });
    let response = cache
        .serve(get("/s"), app.clone())
        .await
        .expect("infallible");
    assert_eq!(
        response.body().size_hint().exact(),
        None,
        "streamed, not buffered"
    );
    let response = collect(response).await;
    assert_eq!(response.body(), "hello world");
    cache.quiesce().await;
    let hit = collect(
        cache
            .serve(get("/s"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(hit.body(), "hello world");
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
    assert_eq!(app.calls.get(), 1);
}

#[tokio::test]
async fn a_streamed_body_reaches_the_client_before_it_ends() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(Some(rx)));
    let app = App::new(move |_, _| {
        let rx = rx
            .lock()
            .expect("not poisoned")
            .take()
            .expect("called once");
        Response::builder()
            .header("cache-control", "max-age=60")
            .body(Channel(rx))
            .expect("a valid response")
    });
    tx.send(Bytes::from_static(b"first"))
        .expect("the body is alive");
    // The origin sends its second chunk only after the client has read the
    // first: a cache that buffered the body would never return.
    let response =
        tokio::time::timeout(Duration::from_secs(5), cache.serve(get("/s"), app.clone()))
            .await
            .expect("the response head arrives before the body ends")
            .expect("infallible");
    let mut body = response.into_body();
    let first = body
        .frame()
        .await
        .expect("a frame")
        .expect("infallible")
        .into_data()
        .expect("data");
    assert_eq!(first, "first");
    tx.send(Bytes::from_static(b" second"))
        .expect("the body is alive");
    drop(tx);
    let rest = body.collect().await.expect("infallible").to_bytes();
    assert_eq!(rest, " second");
    cache.quiesce().await;
    let hit = collect(
        cache
            .serve(get("/s"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(hit.body(), "first second");
}

#[tokio::test]
async fn a_body_larger_than_max_body_size_streams_through_and_is_not_stored() {
    let cache = Cache::new(
        MapStore::default(),
        config(Config::builder().max_body_size(4)),
    );
    // Announced by Content-Length.
    let announced = App::new(|_, _| {
        let mut r = full("max-age=60", "0123456789");
        r.headers_mut().insert("content-length", 10.into());
        r
    });
    // Or only found out while streaming.
    let streamed = App::new(|_, _| {
        Response::builder()
            .header("cache-control", "max-age=60")
            .body(Chunks::new(["012", "345", "6789"]))
            .expect("a valid response")
    });
    for _ in 0..2 {
        let r = collect(
            cache
                .serve(get("/announced"), announced.clone())
                .await
                .expect("infallible"),
        )
        .await;
        assert_eq!(r.body(), "0123456789");
        let r = collect(
            cache
                .serve(get("/streamed"), streamed.clone())
                .await
                .expect("infallible"),
        )
        .await;
        assert_eq!(r.body(), "0123456789");
        cache.quiesce().await;
    }
    assert_eq!((announced.calls.get(), streamed.calls.get()), (2, 2));
    assert_eq!(cache.stats().stores, 0);
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_not_stored() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let app = App::new(|_, _| {
        Response::builder()
            .header("cache-control", "max-age=60")
            .header("content-length", "10")
            .body(Chunks::new(["abc"]))
            .expect("a valid response")
    });
    for _ in 0..2 {
        let r = cache
            .serve(get("/short"), app.clone())
            .await
            .expect("infallible");
        // Content-Length says 10: a body claiming an exact 3 would make the
        // server frame the message by 3 (hyper trusts the body), leaving
        // the client waiting for 7 bytes that become the next response.
        assert_eq!(r.body().size_hint().exact(), None);
        assert_eq!(r.headers()["content-length"], "10");
        let r = collect(r).await;
        assert_eq!(r.body(), "abc");
        cache.quiesce().await;
    }
    assert_eq!(app.calls.get(), 2);
    assert_eq!(cache.stats().stores, 0);
}

/// A body that sends one chunk, then fails.
struct Failing(Option<Bytes>);

impl Body for Failing {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(match self.0.take() {
            Some(chunk) => Ok(http_body::Frame::data(chunk)),
            None => Err(std::io::Error::other("the upstream body broke")),
        }))
    }
}

/// The application, answering with [`Failing`] bodies.
#[derive(Clone, Default)]
struct BrokenApp(Counter);

impl Upstream<Bytes> for BrokenApp {
    type Body = Failing;
    type Error = Infallible;

    async fn call(&mut self, _: Request<Bytes>) -> Result<Response<Failing>, Infallible> {
        self.0.bump();
        Ok(Response::builder()
            .header("cache-control", "max-age=60")
            .body(Failing(Some(Bytes::from_static(b"partial "))))
            .expect("a valid response"))
    }
}

#[tokio::test]
async fn rfc9111_3_a_body_that_errors_mid_stream_ends_the_client_body_in_error_and_is_not_stored() {
    let cache = Cache::new(MapStore::default(), Config::default());
    let app = BrokenApp::default();
    for _ in 0..2 {
        let response = cache
            .serve(get("/broken"), app.clone())
            .await
            .expect("infallible");
        let read = response.into_body().collect().await;
        assert!(read.is_err(), "a short body passed as complete");
        cache.quiesce().await;
    }
    assert_eq!(app.0.get(), 2, "the second request went forward");
    assert_eq!(cache.stats().stores, 0);
}

#[tokio::test]
async fn stored_entries_decode_to_what_was_sent() {
    let store = MapStore::default();
    let cache = Cache::builder(store.clone())
        .config(config(Config::gateway_builder()))
        .build();
    let app = App::new(|_, _| {
        Response::builder()
            .header("cache-control", "max-age=60")
            .header("set-cookie", "a=1")
            .header("connection", "x-hop")
            .header("x-hop", "1")
            .header("x-kept", "2")
            .body(Full::new(Bytes::from_static(b"payload")))
            .expect("a valid response")
    });
    let mut request = get("/d");
    request
        .headers_mut()
        .insert("authorization", "x".parse().expect("valid"));
    // Not stored: Set-Cookie without public, Authorization without public.
    collect(cache.serve(request, app.clone()).await.expect("infallible")).await;
    assert!(store.map().is_empty());

    let cache = Cache::builder(store.clone())
        .config(config(Config::gateway_builder().store_set_cookie(true)))
        .build();
    collect(
        cache
            .serve(get("/d"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    let map = store.map();
    let entry = map
        .iter()
        .find(|(k, _)| !k.is_metadata())
        .map(|(_, v)| v.clone())
        .expect("a representation was stored");
    let stored = StoredResponse::decode(entry).expect("it decodes");
    assert_eq!(stored.uri, "http://example.test/d");
    assert_eq!(stored.body, "payload");
    assert_eq!(stored.headers["set-cookie"], "a=1");
    assert_eq!(stored.headers["x-kept"], "2");
    assert!(!stored.headers.contains_key("x-hop") && !stored.headers.contains_key("connection"));
}

// ---- partial content (RFC 9111 §3.3, §3.4) ---------------------------------

const REPRESENTATION: &str = "0123456789";

/// The part of [`REPRESENTATION`] a `Range: bytes=first-last` asks for,
/// with its Content-Range; the whole of it without Range.
fn part_of(parts: &Parts) -> (Option<String>, &'static str) {
    let Some(range) = parts.headers.get("range") else {
        return (None, REPRESENTATION);
    };
    let spec = range.to_str().expect("ascii").trim_start_matches("bytes=");
    let (first, last) = spec.split_once('-').expect("first-last");
    let (first, last): (usize, usize) = (first.parse().expect("n"), last.parse().expect("n"));
    (
        Some(format!("bytes {first}-{last}/{}", REPRESENTATION.len())),
        &REPRESENTATION[first..=last],
    )
}

/// An origin that honours `Range: bytes=first-last` with a 206 whose body
/// is streamed, of no announced size.
fn streamed_ranges(_: usize, parts: &Parts) -> Response<Chunks> {
    let (content_range, body) = part_of(parts);
    let mut r = Response::builder()
        .header("cache-control", "max-age=60")
        .header("etag", "\"r\"");
    if let Some(content_range) = content_range {
        r = r.status(206).header("content-range", content_range);
    }
    r.body(Chunks::new([body])).expect("a valid response")
}

/// The same with complete bodies.
fn full_ranges(_: usize, parts: &Parts) -> Response<Full<Bytes>> {
    let (content_range, body) = part_of(parts);
    let mut r = Response::builder()
        .header("cache-control", "max-age=60")
        .header("etag", "\"r\"");
    if let Some(content_range) = content_range {
        r = r.status(206).header("content-range", content_range);
    }
    r.body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a valid response")
}

fn ranged(target: &str, range: &str) -> Request<Bytes> {
    let mut r = get(target);
    r.headers_mut()
        .insert("range", range.parse().expect("a valid range"));
    r
}

/// The format version and ranges of the one representation stored.
fn stored_entry(store: &MapStore) -> (u8, StoredResponse) {
    let map = store.map();
    let bytes = map
        .iter()
        .find(|(k, _)| !k.is_metadata())
        .map(|(_, v)| v.clone())
        .expect("a representation was stored");
    (bytes[2], StoredResponse::decode(bytes).expect("it decodes"))
}

#[tokio::test]
async fn rfc9111_3_4_streamed_parts_of_unknown_size_are_stored_and_combined() {
    let store = MapStore::default();
    let cache = Cache::builder(store.clone())
        .config(config(Config::gateway_builder()))
        .build();
    let app = App::new(streamed_ranges);
    let first = collect(
        cache
            .serve(ranged("/p", "bytes=0-4"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(first.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(first.body(), "01234");
    cache.quiesce().await;
    let (version, stored) = stored_entry(&store);
    // An incomplete response is written in format 2.
    assert_eq!(version, 2);
    assert_eq!(stored.body, "01234");
    assert_eq!(
        stored.partial.as_ref().map(|p| p.complete_length()),
        Some(10)
    );

    let second = collect(
        cache
            .serve(ranged("/p", "bytes=5-9"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(second.body(), "56789");
    assert_eq!(
        cache_status(&second),
        "webcache; fwd=partial; fwd-status=206; ttl=60; stored"
    );
    cache.quiesce().await;
    let (version, stored) = stored_entry(&store);
    // Complete now: a 200, in format 1.
    assert_eq!(version, 1);
    assert_eq!(stored.partial, None);
    assert_eq!(stored.headers["content-length"], "10");
    let hit = collect(
        cache
            .serve(get("/p"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(hit.status(), StatusCode::OK);
    assert_eq!(hit.body(), REPRESENTATION);
    assert_eq!(cache_status(&hit), "webcache; hit; ttl=60");
    assert_eq!(app.calls.get(), 2);
}

#[tokio::test]
async fn rfc9111_3_4_concurrent_misses_for_different_ranges_both_end_up_stored() {
    let cache = Cache::new(MapStore::default(), config(Config::gateway_builder()));
    let app = App::new(full_ranges);
    app.gate.close();
    let (a, b) = (cache.clone(), cache.clone());
    let (app_a, app_b) = (app.clone(), app.clone());
    let first = tokio::spawn(async move { a.serve(ranged("/c", "bytes=0-4"), app_a).await });
    until("the first range is forwarded", || app.calls.get() == 1).await;
    let second = tokio::spawn(async move { b.serve(ranged("/c", "bytes=5-9"), app_b).await });
    until("the second request waits", || cache.stats().collapsed == 1).await;
    app.gate.open();
    let first = collect(first.await.expect("joined").expect("infallible")).await;
    let second = collect(second.await.expect("joined").expect("infallible")).await;
    assert_eq!(first.body(), "01234");
    assert_eq!(second.body(), "56789");
    cache.quiesce().await;
    // The follower found a part that does not cover its range, went
    // forward itself, and its part completed the representation.
    assert_eq!(app.calls.get(), 2);
    let hit = collect(
        cache
            .serve(get("/c"), app.clone())
            .await
            .expect("infallible"),
    )
    .await;
    assert_eq!(hit.body(), REPRESENTATION);
    assert_eq!(app.calls.get(), 2);
}

#[tokio::test]
async fn a_partial_counts_its_stored_bytes_against_max_body_size() {
    let store = MapStore::default();
    let cache = Cache::builder(store.clone())
        .config(config(Config::gateway_builder().max_body_size(6)))
        .build();
    let app = App::new(full_ranges);
    let send = |range: &'static str| {
        let (cache, app) = (cache.clone(), app.clone());
        async move {
            let r = cache
                .serve(ranged("/m", range), app)
                .await
                .expect("infallible");
            cache.quiesce().await;
            collect(r).await
        }
    };
    send("bytes=0-3").await;
    // 4 + 4 bytes would exceed 6: the second part is not stored, the
    // first stays.
    let second = send("bytes=6-9").await;
    assert_eq!(
        cache_status(&second),
        "webcache; fwd=partial; fwd-status=206"
    );
    let (_, stored) = stored_entry(&store);
    assert_eq!(stored.body, "0123");
    assert_eq!(
        cache_status(&send("bytes=1-2").await),
        "webcache; hit; ttl=60"
    );
    send("bytes=6-9").await;
    assert_eq!(app.calls.get(), 3);
}

#[tokio::test]
async fn rfc9110_8_8_2_2_a_date_the_cache_added_does_not_make_last_modified_strong() {
    let store = MapStore::default();
    let cache = Cache::builder(store.clone())
        .config(config(Config::gateway_builder()))
        .build();
    let app = App::new(|_, parts: &Parts| {
        // The cache never asks to complete this part: no If-Range.
        assert!(!parts.headers.contains_key("if-range"));
        Response::builder()
            .status(206)
            .header("cache-control", "max-age=60")
            .header("last-modified", "Mon, 01 Jan 2001 00:00:00 GMT")
            .header("content-range", "bytes 0-4/10")
            .body(Full::new(Bytes::from_static(b"01234")))
            .expect("a valid response")
    });
    let send = |range: &'static str| {
        let (cache, app) = (cache.clone(), app.clone());
        async move {
            let r = cache
                .serve(ranged("/d", range), app)
                .await
                .expect("infallible");
            cache.quiesce().await;
            collect(r).await
        }
    };
    let first = send("bytes=0-4").await;
    assert_eq!(first.body(), "01234");
    // RFC 9111 §3.4: stored and reused without a strong validator...
    assert_eq!(
        cache_status(&first),
        "webcache; fwd=uri-miss; fwd-status=206; stored"
    );
    assert_eq!(
        cache_status(&send("bytes=1-3").await),
        "webcache; hit; ttl=60"
    );
    // ... but marked as never to be combined (format 3).
    let (version, stored) = stored_entry(&store);
    assert_eq!(version, 3);
    assert!(!stored.partial.expect("a part").is_combinable());
    send("bytes=5-9").await;
    assert_eq!(app.calls.get(), 2);
}

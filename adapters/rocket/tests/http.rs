//! Cached Rocket routes over real HTTP on loopback: hits never run the
//! route's handler (nor its guards), misses do, and the core's rules hold
//! for Rocket's own ways of answering (guards, cookies, streams).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use rocket::http::{CookieJar, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::stream::TextStream;
use rocket::{Build, Request, Rocket, State, get, routes};
use tokio::sync::Notify;
use webcache_core::clock::ManualClock;
use webcache_core::headers::CacheControl;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;
use webcache_rocket::{CacheFairing, Cached};

use support::{Client, Got};

/// How many times a route's handler ran.
#[derive(Default)]
struct Calls(AtomicUsize);

impl Calls {
    fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

#[get("/count")]
fn count(calls: &State<Arc<Calls>>) -> Cached<String> {
    let n = calls.bump();
    Cached::cache_for(Duration::from_secs(60), format!("call {n}"))
}

/// Holds `/slow` until the test releases it.
struct Release(tokio::sync::watch::Sender<bool>);

#[get("/slow")]
async fn slow(calls: &State<Arc<Calls>>, release: &State<Arc<Release>>) -> Cached<String> {
    let n = calls.bump();
    let _ = release.0.subscribe().wait_for(|open| *open).await;
    Cached::cache_for(Duration::from_secs(60), format!("call {n}"))
}

#[get("/big")]
fn big(calls: &State<Arc<Calls>>) -> Cached<String> {
    calls.bump();
    Cached::cache_for(Duration::from_secs(60), "x".repeat(4096))
}

#[get("/cookie")]
fn cookie(calls: &State<Arc<Calls>>, jar: &CookieJar<'_>) -> Cached<&'static str> {
    calls.bump();
    jar.add(("session", "alice"));
    Cached::cache_for(Duration::from_secs(60), "welcome, alice")
}

#[get("/swr")]
fn swr(calls: &State<Arc<Calls>>) -> Cached<String> {
    let n = calls.bump();
    let cc = CacheControl::new()
        .with_max_age(Duration::from_secs(10))
        .with_stale_while_revalidate(Duration::from_secs(60));
    Cached::cache_control(cc, format!("version {n}"))
}

#[get("/headers")]
fn headers() -> Cached<&'static str> {
    Cached::cache_for(Duration::from_secs(30), "h")
        .last_modified(SystemTime::now() - Duration::from_secs(3600))
        .vary(["accept-language"])
}

#[get("/nostore")]
fn nostore() -> Cached<&'static str> {
    Cached::dont_cache("never stored")
}

#[get("/private")]
fn private() -> Cached<&'static str> {
    Cached::private("yours only")
}

#[get("/uncached")]
fn uncached(calls: &State<Arc<Calls>>) -> String {
    format!("call {}", calls.bump())
}

/// Lets a streaming route send its second chunk.
#[derive(Default)]
struct Gate(Notify);

#[get("/stream")]
fn stream<'a>(
    gate: &'a State<Arc<Gate>>,
    calls: &State<Arc<Calls>>,
) -> Cached<TextStream![&'static str + 'a]> {
    calls.bump();
    let body = TextStream! {
        yield "first ";
        gate.0.notified().await;
        yield "second";
    };
    Cached::cache_for(Duration::from_secs(60), body)
}

/// A user, from `Authorization: Bearer <name>`.
struct User(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for User {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        match request
            .headers()
            .get_one("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            Some(name) => Outcome::Success(User(name.to_owned())),
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

#[get("/me")]
fn me(user: User, calls: &State<Arc<Calls>>) -> Cached<String> {
    calls.bump();
    Cached::cache_for(Duration::from_secs(60), format!("hello {}", user.0))
}

#[get("/me/public")]
fn me_public(user: User, calls: &State<Arc<Calls>>) -> Cached<String> {
    calls.bump();
    let cc = CacheControl::new()
        .with_public()
        .with_max_age(Duration::from_secs(60));
    Cached::cache_control(cc, format!("hello {}", user.0))
}

struct App {
    client: Client,
    cache: Cache<MemoryStore>,
    calls: Arc<Calls>,
    gate: Arc<Gate>,
    release: Arc<Release>,
    clock: ManualClock,
}

impl App {
    async fn start(config: Config) -> App {
        let clock = ManualClock::new(SystemTime::now());
        let cache = Cache::builder(MemoryStore::new(16 << 20))
            .config(config)
            .clock(clock.clone())
            .build();
        let fairing = CacheFairing::new(cache.clone());
        let calls = Arc::new(Calls::default());
        let gate = Arc::new(Gate::default());
        let release = Arc::new(Release(tokio::sync::watch::channel(false).0));
        let rocket: Rocket<Build> = support::quiet()
            .manage(calls.clone())
            .manage(gate.clone())
            .manage(release.clone())
            .mount(
                "/",
                fairing.cached(routes![
                    count, slow, big, cookie, swr, headers, nostore, private, stream, me, me_public
                ]),
            )
            .mount("/", routes![uncached])
            .attach(fairing);
        let (addr, _shutdown) = support::launch(rocket).await;
        App {
            client: Client::new(addr),
            cache,
            calls,
            gate,
            release,
            clock,
        }
    }

    async fn default() -> App {
        Self::start(Config::default()).await
    }

    fn calls(&self) -> usize {
        self.calls.0.load(Ordering::SeqCst)
    }

    async fn get(&self, path: &str) -> Got {
        let got = self.client.get(path).await;
        self.cache.quiesce().await;
        got
    }

    async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let got = self.client.get_with(path, headers).await;
        self.cache.quiesce().await;
        got
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_never_runs_the_route_handler() {
    let app = App::default().await;
    let miss = app.get("/count").await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.body, "call 1");
    assert_eq!(
        miss.cache_status(),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );
    for _ in 0..10 {
        let hit = app.get("/count").await;
        assert_eq!(hit.body, "call 1");
        assert_eq!(hit.cache_status(), "webcache; hit; ttl=60");
        assert_eq!(hit.header("age"), "0");
        assert_eq!(hit.header("content-length"), "6");
    }
    assert_eq!(app.calls(), 1, "hits must not run the handler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn age_grows_and_an_expired_response_runs_the_handler_again() {
    let app = App::default().await;
    app.get("/count").await;
    app.clock.advance(Duration::from_secs(25));
    let hit = app.get("/count").await;
    assert_eq!(hit.header("age"), "25");
    assert_eq!(hit.cache_status(), "webcache; hit; ttl=35");
    app.clock.advance(Duration::from_secs(40));
    let again = app.get("/count").await;
    assert_eq!(again.body, "call 2");
    assert_eq!(app.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_not_wrapped_are_not_cached() {
    let app = App::default().await;
    let first = app.get("/uncached").await;
    let second = app.get("/uncached").await;
    assert_eq!(
        (&first.body[..], &second.body[..]),
        (&b"call 1"[..], &b"call 2"[..])
    );
    assert_eq!(second.cache_status(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_run_the_handler_once() {
    let app = App::default().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        tasks.push(tokio::spawn(async move { client.get("/slow").await }));
    }
    // All seven followers wait on the one fill before the handler
    // answers: they cannot have run one after the other.
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while app.cache.stats().collapsed < 7 || app.calls() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "seven requests never waited for the first");
    assert_eq!(app.calls(), 1);
    app.release.0.send_replace(true);
    let mut collapsed = 0;
    for task in tasks {
        let got = task.await.expect("request task");
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.body, "call 1");
        collapsed += usize::from(got.cache_status().contains("collapsed"));
    }
    assert_eq!(app.calls(), 1);
    assert_eq!(collapsed, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_are_answered_with_304_and_412() {
    let app = App::default().await;
    let miss = app.get("/count").await;
    let etag = miss.header("etag").to_owned();
    assert!(etag.starts_with('"'), "a strong ETag from the body: {etag}");
    let not_modified = app.get_with("/count", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), etag);
    let failed = app.get_with("/count", &[("if-match", "\"other\"")]).await;
    assert_eq!(failed.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_miss_with_preconditions_is_answered_by_the_cache() {
    let app = App::default().await;
    let got = app.get_with("/count", &[("if-none-match", "*")]).await;
    // The route saw an unconditional request (sent on loopback); the cache
    // answered the client's precondition.
    assert_eq!(got.status, StatusCode::NOT_MODIFIED);
    let stored = app.get("/count").await;
    assert_eq!(stored.body, "call 1");
    assert_eq!(app.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_is_answered_from_the_stored_get() {
    let app = App::default().await;
    app.get("/count").await;
    let head = app
        .client
        .send(
            app.client
                .request("HEAD", "/count")
                .body(Full::default())
                .expect("request"),
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), "6");
    assert_eq!(head.cache_status(), "webcache; hit; ttl=60");
    assert_eq!(app.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_protected_answer_stays_behind_its_guard() {
    let app = App::default().await;
    let alice = app
        .get_with("/me", &[("authorization", "Bearer alice")])
        .await;
    assert_eq!(alice.body, "hello alice");
    // RFC 9111 §3.5: not stored for a request with Authorization.
    assert!(
        !alice.cache_status().contains("stored"),
        "{}",
        alice.cache_status()
    );
    let anonymous = app.get("/me").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_ne!(anonymous.body, "hello alice");
    let bob = app
        .get_with("/me", &[("authorization", "Bearer bob")])
        .await;
    assert_eq!(bob.body, "hello bob");
    assert_eq!(app.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_answer_is_shared_and_skips_the_guard() {
    let app = App::default().await;
    let alice = app
        .get_with("/me/public", &[("authorization", "Bearer alice")])
        .await;
    assert!(
        alice.cache_status().ends_with("stored"),
        "{}",
        alice.cache_status()
    );
    // `public` says anyone may have it: the hit skips the guard.
    let anonymous = app.get("/me/public").await;
    assert_eq!(anonymous.status, StatusCode::OK);
    assert_eq!(anonymous.body, "hello alice");
    assert_eq!(app.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_that_sets_a_cookie_is_not_stored() {
    let app = App::default().await;
    let first = app.get("/cookie").await;
    let second = app.get("/cookie").await;
    for got in [&first, &second] {
        let cookies: Vec<_> = got.headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        assert!(
            cookies[0]
                .to_str()
                .unwrap_or("")
                .starts_with("session=alice")
        );
    }
    assert!(
        !second.cache_status().contains("hit"),
        "{}",
        second.cache_status()
    );
    assert_eq!(app.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_streams_through_unstored() {
    let config = Config::builder()
        .max_body_size(1024)
        .build()
        .expect("config");
    let app = App::start(config).await;
    let first = app.get("/big").await;
    assert_eq!(first.body.len(), 4096);
    assert!(
        !first.cache_status().contains("stored"),
        "{}",
        first.cache_status()
    );
    let second = app.get("/big").await;
    assert_eq!(second.body.len(), 4096);
    assert_eq!(app.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_body_reaches_the_client_chunk_by_chunk_and_is_stored_once_sent() {
    let app = App::default().await;
    let request = app
        .client
        .request("GET", "/stream")
        .body(Full::<Bytes>::default())
        .expect("request");
    let response = app.client.send_streaming(request).await;
    let mut body = response.into_body();
    let first = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the first chunk before the second is made")
        .expect("a frame")
        .expect("data");
    assert_eq!(first.into_data().expect("data"), "first ");
    app.gate.0.notify_one();
    let rest = body.collect().await.expect("rest").to_bytes();
    assert_eq!(rest, "second");
    app.cache.quiesce().await;
    // Captured while it streamed, stored once complete.
    let hit = app.get("/stream").await;
    assert_eq!(hit.body, "first second");
    assert_eq!(hit.cache_status(), "webcache; hit; ttl=60");
    assert_eq!(app.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_fairing_hits_still_skip_the_handler() {
    // A clock that stands still: the hit's ttl cannot tick down between
    // the two requests.
    let cache = Cache::builder(MemoryStore::new(1 << 20))
        .config(Config::default())
        .clock(ManualClock::new(SystemTime::now()))
        .build();
    let fairing = CacheFairing::new(cache.clone());
    let calls = Arc::new(Calls::default());
    let rocket = support::quiet()
        .manage(calls.clone())
        .manage(Arc::new(Gate::default()))
        .mount("/", fairing.cached(routes![count]));
    let (addr, _shutdown) = support::launch(rocket).await;
    let client = Client::new(addr);
    assert_eq!(client.get("/count").await.body, "call 1");
    cache.quiesce().await;
    let hit = client.get("/count").await;
    assert_eq!(hit.body, "call 1");
    assert_eq!(hit.cache_status(), "webcache; hit; ttl=60");
    assert_eq!(calls.0.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_while_revalidate_serves_stale_and_refreshes_on_loopback() {
    let app = App::default().await;
    assert_eq!(app.get("/swr").await.body, "version 1");
    app.clock.advance(Duration::from_secs(15));
    let stale = app.get("/swr").await;
    assert_eq!(stale.body, "version 1");
    assert_eq!(stale.header("age"), "15");
    // The refresh ran in the background (get() waited for it).
    assert_eq!(app.calls(), 2);
    let fresh = app.get("/swr").await;
    assert_eq!(fresh.body, "version 2");
    assert_eq!(fresh.header("age"), "0");
    assert_eq!(app.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_responder_sets_typed_fields() {
    let app = App::default().await;
    let got = app.get("/headers").await;
    assert_eq!(got.header("cache-control"), "max-age=30");
    assert!(!got.header("expires").is_empty());
    assert!(!got.header("last-modified").is_empty());
    assert_eq!(got.header("vary"), "accept-language");
    assert!(got.cache_status().ends_with("stored"));
    let never = app.get("/nostore").await;
    assert_eq!(never.header("cache-control"), "no-store");
    assert!(
        !never.cache_status().contains("stored"),
        "{}",
        never.cache_status()
    );
    let mine = app.get("/private").await;
    assert_eq!(mine.header("cache-control"), "private");
    assert!(
        !mine.cache_status().contains("stored"),
        "{}",
        mine.cache_status()
    );
}

#[get("/plain")]
fn plain(calls: &State<Arc<Calls>>) -> String {
    format!("call {}", calls.bump())
}

/// A fairing that makes responses without Cache-Control cacheable.
fn max_age_fairing() -> rocket::fairing::AdHoc {
    rocket::fairing::AdHoc::on_response("max-age", |_, response| {
        Box::pin(async move {
            if !response.headers().contains("cache-control") {
                response.set_raw_header("cache-control", "max-age=60");
            }
        })
    })
}

/// Serves `/plain` with the max-age fairing attached before or after the
/// cache, and returns the two answers to two requests and the calls.
async fn plain_twice(fairing_first: bool) -> (Got, Got, usize) {
    // A clock that stands still: the hit's ttl cannot tick down between
    // the two requests.
    let cache = Cache::builder(MemoryStore::new(1 << 20))
        .config(Config::default())
        .clock(ManualClock::new(SystemTime::now()))
        .build();
    let fairing = CacheFairing::new(cache.clone());
    let calls = Arc::new(Calls::default());
    let mut rocket = support::quiet()
        .manage(calls.clone())
        .mount("/", fairing.cached(routes![plain]));
    rocket = if fairing_first {
        rocket.attach(max_age_fairing()).attach(fairing)
    } else {
        rocket.attach(fairing).attach(max_age_fairing())
    };
    let (addr, _shutdown) = support::launch(rocket).await;
    let client = Client::new(addr);
    let first = client.get("/plain").await;
    cache.quiesce().await;
    let second = client.get("/plain").await;
    (first, second, calls.0.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fairing_attached_before_the_cache_changes_what_is_stored() {
    let (first, second, calls) = plain_twice(true).await;
    assert_eq!(first.header("cache-control"), "max-age=60");
    assert!(
        first.cache_status().ends_with("stored"),
        "{}",
        first.cache_status()
    );
    assert_eq!(second.cache_status(), "webcache; hit; ttl=60");
    assert_eq!(calls, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fairing_attached_after_the_cache_changes_only_what_is_sent() {
    let (first, second, calls) = plain_twice(false).await;
    // The client sees the field, the cache never did: what it stored has
    // no freshness, so the next request goes to the route again.
    assert_eq!(first.header("cache-control"), "max-age=60");
    assert!(
        !second.cache_status().contains("hit"),
        "{}",
        second.cache_status()
    );
    assert_eq!(second.body, "call 2");
    assert_eq!(calls, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_ahead_refreshes_a_hit_near_expiry_on_loopback() {
    let config = Config::builder()
        .refresh_ahead(Duration::from_secs(10))
        .build()
        .expect("config");
    let app = App::start(config).await;
    app.get("/count").await;
    app.clock.advance(Duration::from_secs(55));
    let near_expiry = app.get("/count").await;
    assert_eq!(near_expiry.body, "call 1");
    assert_eq!(near_expiry.header("age"), "55");
    // Refreshed in the background (get() waited for it).
    assert_eq!(app.calls(), 2);
    let refreshed = app.get("/count").await;
    assert_eq!(refreshed.body, "call 2");
    assert_eq!(refreshed.header("age"), "0");
    assert_eq!(app.calls(), 2);
}

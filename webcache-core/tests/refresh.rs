//! A stale-while-revalidate refresh that fails (RFC 5861 §3): the stale
//! response keeps being served within its window, the failure is never
//! stored nor served, and a later refresh that succeeds replaces it.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use support::{Counter, MapStore, cache_status, collect, get, start};
use webcache_core::clock::ManualClock;
use webcache_core::{Cache, Upstream};

/// What the origin does on its `n`th call (0-based).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Ok,
    ServerError,
    Unreachable,
}

/// An origin answering by a script (the last entry repeats); answers
/// `v<n>` with `max-age=1, stale-while-revalidate=600`.
#[derive(Clone)]
struct Scripted {
    calls: Counter,
    script: &'static [Answer],
}

impl Upstream<Bytes> for Scripted {
    type Body = Full<Bytes>;
    type Error = std::io::Error;

    async fn call(&mut self, _: Request<Bytes>) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let n = self.calls.bump();
        let answer = self.script[n.min(self.script.len() - 1)];
        let body = Full::new(Bytes::from(format!("v{}", n + 1)));
        let response = match answer {
            Answer::Unreachable => return Err(std::io::Error::other("connection refused")),
            // A failing application's 500, without freshness of its own (a
            // 500 with max-age is storable and would rightly replace it).
            Answer::ServerError => Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR),
            Answer::Ok => {
                Response::builder().header("cache-control", "max-age=1, stale-while-revalidate=600")
            }
        };
        Ok(response.body(body).expect("a valid response"))
    }
}

async fn fails_then_recovers(failure: Answer) {
    let clock = ManualClock::new(start());
    let cache = Cache::builder(MapStore::default())
        .clock(clock.clone())
        .build();
    let origin = Scripted {
        calls: Counter::default(),
        script: match failure {
            Answer::ServerError => &[Answer::Ok, Answer::ServerError, Answer::Ok],
            _ => &[Answer::Ok, Answer::Unreachable, Answer::Ok],
        },
    };
    let send = |origin: &Scripted| {
        let (cache, origin) = (cache.clone(), origin.clone());
        async move {
            let response = cache.serve(get("/swr"), origin).await;
            let response = response.unwrap_or_else(|_| panic!("a stale response answers"));
            collect(response).await
        }
    };
    assert_eq!(send(&origin).await.body(), "v1");
    cache.quiesce().await;

    clock.advance(Duration::from_secs(5));
    let stale = send(&origin).await;
    assert_eq!(stale.body(), "v1");
    assert!(
        cache_status(&stale).starts_with("webcache; hit"),
        "{}",
        cache_status(&stale)
    );
    cache.quiesce().await;
    assert_eq!(origin.calls.get(), 2, "the refresh reached the origin");
    assert_eq!(cache.stats().refreshes, 1);

    // The failed refresh left the stale response in place, not its answer.
    let still = send(&origin).await;
    assert_eq!(
        (still.status(), still.body().as_ref()),
        (StatusCode::OK, &b"v1"[..]),
        "{failure:?}: {}",
        cache_status(&still)
    );
    cache.quiesce().await;

    // Another stale hit refreshes again (now or after a back-off), and the
    // success replaces the stale response.
    for _ in 0..5 {
        if origin.calls.get() >= 3 {
            break;
        }
        clock.advance(Duration::from_secs(30));
        assert_eq!(send(&origin).await.body(), "v1");
        cache.quiesce().await;
    }
    assert_eq!(
        origin.calls.get(),
        3,
        "{failure:?}: a refresh was tried again"
    );
    let refreshed = send(&origin).await;
    assert_eq!(refreshed.body(), "v3", "{}", cache_status(&refreshed));
}

#[tokio::test]
async fn rfc5861_3_a_refresh_answered_500_keeps_the_stale_response_until_one_succeeds() {
    fails_then_recovers(Answer::ServerError).await;
}

#[tokio::test]
async fn rfc5861_3_a_refresh_that_cannot_reach_the_origin_keeps_the_stale_response() {
    fails_then_recovers(Answer::Unreachable).await;
}

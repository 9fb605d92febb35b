//! Every conformance scenario through `Cache::serve`, in process: the
//! reference run the adapters' runs are compared with.

mod support;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use support::MapStore;
use webcache_core::clock::ManualClock;
use webcache_core::conformance::{self, Harness, Origin, Unreachable};
use webcache_core::{Cache, Config, Upstream};

/// The application behind the cache: whatever the scripted origin says.
#[derive(Clone)]
struct App(Origin);

impl Upstream<Bytes> for App {
    type Body = Full<Bytes>;
    type Error = &'static str;

    async fn call(
        &mut self,
        request: Request<Bytes>,
    ) -> Result<Response<Full<Bytes>>, Self::Error> {
        let (parts, body) = request.into_parts();
        let response = self.0.respond(&parts, body);
        if Unreachable::marks(&response) {
            return Err("the origin cannot be reached");
        }
        Ok(response.map(Full::new))
    }
}

struct Running {
    cache: Cache<MapStore>,
    app: App,
    store: MapStore,
    clock: ManualClock,
}

/// `Cache::serve` with a map store; `immediate`: one that says its reads
/// never wait, so that hits are answered by `Cache::serve_now`.
#[derive(Default)]
struct InProcess(Option<Running>, bool);

impl InProcess {
    fn running(&self) -> &Running {
        self.0.as_ref().expect("the runner starts every scenario")
    }
}

fn build(store: &MapStore, config: Config, clock: &ManualClock) -> Cache<MapStore> {
    Cache::builder(store.clone())
        .config(config)
        .clock(clock.clone())
        .build()
}

impl Harness for InProcess {
    async fn start(&mut self, config: Config, clock: ManualClock, origin: Origin) {
        let store = if self.1 {
            MapStore::immediate()
        } else {
            MapStore::default()
        };
        self.0 = Some(Running {
            cache: build(&store, config, &clock),
            app: App(origin),
            store,
            clock,
        });
    }

    async fn restart(&mut self, config: Config) {
        let running = self.0.take().expect("the runner starts every scenario");
        self.0 = Some(Running {
            cache: build(&running.store, config, &running.clock),
            ..running
        });
    }

    async fn send(&mut self, request: Request<Bytes>) -> Response<Bytes> {
        let running = self.running();
        let Ok(response) = running.cache.serve(request, running.app.clone()).await else {
            // No answer from the origin, and none the cache could give.
            let mut bad_gateway = Response::new(Bytes::new());
            *bad_gateway.status_mut() = http::StatusCode::BAD_GATEWAY;
            return bad_gateway;
        };
        let (parts, body) = response.into_parts();
        let Ok(body) = body.collect().await;
        Response::from_parts(parts, body.to_bytes())
    }

    async fn settle(&mut self) {
        self.running().cache.quiesce().await;
    }

    fn can_be_unreachable(&self) -> bool {
        true
    }

    fn sends_absolute_form(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn every_scenario_passes_through_cache_serve() {
    conformance::assert_all(&mut InProcess::default()).await;
}

#[tokio::test]
async fn every_scenario_passes_with_hits_answered_without_a_future() {
    conformance::assert_all(&mut InProcess(None, true)).await;
}

#[tokio::test]
async fn the_scenarios_with_an_unreachable_origin_run_in_process() {
    let results = conformance::run_all(&mut InProcess::default()).await;
    let run: Vec<&str> = results
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| {
            conformance::scenarios()
                .iter()
                .any(|s| s.name == *name && conformance::needs_unreachable(s))
        })
        .collect();
    assert!(run.len() >= 4, "{run:?}");
}

#[test]
fn scenario_names_are_unique_and_rfc_named() {
    let scenarios = conformance::scenarios();
    let mut seen = std::collections::HashSet::new();
    for s in &scenarios {
        assert!(seen.insert(s.name), "duplicate scenario name {}", s.name);
        assert!(
            s.name.starts_with("rfc")
                || s.name.starts_with("config_")
                || s.name.starts_with("deviation_"),
            "{} is not named after an RFC section, a configuration or a deviation",
            s.name
        );
        assert!(!s.steps.is_empty(), "{} has no steps", s.name);
    }
}

#[tokio::test]
async fn the_runner_names_the_scenario_step_and_difference() {
    use conformance::{Expect, OriginResponse, Scenario, get};
    let wrong = Scenario::new("rfc9111_4_wrong_on_purpose", Config::default())
        .then(
            get("/x")
                .origin(
                    OriginResponse::ok()
                        .date()
                        .header("cache-control", "max-age=60"),
                )
                .expect(Expect::forwarded()),
        )
        .then(
            get("/x")
                .header("x-client", "1")
                .expect(Expect::forwarded().status(404).header("age", "7")),
        );
    let error = conformance::run(&mut InProcess::default(), &wrong)
        .await
        .expect_err("the expectations are wrong");
    assert!(
        error.starts_with("rfc9111_4_wrong_on_purpose: step 1 (GET /x, x-client: 1): "),
        "{error}"
    );
    for part in [
        "expected the origin to be reached; it was not",
        "expected status 404, got 200",
        "expected age: 7, got age: 0",
    ] {
        assert!(error.contains(part), "{error} lacks {part}");
    }
}

#[tokio::test]
async fn the_runner_tells_a_response_never_stored_from_one_that_went_stale() {
    use conformance::{Expect, OriginResponse, Scenario, get};
    // `no-store` answered twice: both go forward, as a stale response
    // would, but neither `stored` nor `fwd=stale` can be seen.
    let never_stored = Scenario::new("rfc9111_4_never_stored_on_purpose", Config::default()).then(
        get("/x")
            .origin(
                OriginResponse::ok()
                    .date()
                    .header("cache-control", "no-store"),
            )
            .expect(Expect::forwarded().stored()),
    );
    let error = conformance::run(&mut InProcess::default(), &never_stored)
        .await
        .expect_err("the response was not stored");
    assert!(
        error.contains("expected Cache-Status member stored"),
        "{error}"
    );
    let stale = Scenario::new("rfc9111_4_never_stale_on_purpose", Config::default())
        .then(
            get("/x")
                .origin(
                    OriginResponse::ok()
                        .date()
                        .header("cache-control", "no-store"),
                )
                .expect(Expect::forwarded().not_stored()),
        )
        .then(get("/x").expect(Expect::forwarded().stale_forward()));
    let error = conformance::run(&mut InProcess::default(), &stale)
        .await
        .expect_err("nothing was stored to go stale");
    assert!(
        error.contains("expected Cache-Status member fwd=stale, got webcache; fwd=uri-miss"),
        "{error}"
    );
}

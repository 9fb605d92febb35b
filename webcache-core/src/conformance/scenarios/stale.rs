//! Serving stale: RFC 5861 (stale-while-revalidate, stale-if-error) and
//! RFC 9111 §4.2.4.

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Expect, Scenario, get};
use super::{app, gateway, not_modified, ok};

fn error(status: u16) -> OriginResponse {
    OriginResponse::new(status).date().body("error")
}

/// The application role, serving up to an hour stale when the upstream is
/// unreachable, and counting a 5xx as unreachable when `server_error`.
fn through_outages(server_error: bool) -> crate::Config {
    crate::Config::builder()
        .stale_if_unreachable(Some(std::time::Duration::from_secs(3600)))
        .stale_on_server_error(server_error)
        .build()
        .expect("a valid configuration")
}

pub(super) fn scenarios() -> Vec<Scenario> {
    let mut list = outage_scenarios();
    list.extend(stale_scenarios());
    list
}

/// RFC 9111 §4.2.4: serving stale when disconnected, and on a 5xx only
/// by agreement with the origin.
fn outage_scenarios() -> Vec<Scenario> {
    let down = OriginResponse::unreachable;
    vec![
        Scenario::new(
            "rfc9111_4_2_4_an_unreachable_origin_is_met_with_stale_within_the_window",
            through_outages(false),
        )
        .then(
            get("/u")
                .origin(ok("max-age=10", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(30)
        .then(
            get("/u").origin(down()).expect(
                Expect::forwarded()
                    .status(200)
                    .body("old")
                    .header("age", "30")
                    .cache_status("webcache; fwd=stale; ttl=-20; detail=\"unreachable\""),
            ),
        )
        // Past the window (10 s fresh, 3600 s stale): no answer.
        .advance(3600)
        .then(
            get("/u")
                .origin(down())
                .expect(Expect::forwarded().status(502)),
        ),
        Scenario::new(
            "rfc9111_4_2_4_an_unreachable_origin_gets_no_stale_by_default",
            app(),
        )
        .then(
            get("/u")
                .origin(ok("max-age=10, stale-while-revalidate=1", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(30)
        .then(
            get("/u")
                .origin(down())
                .expect(Expect::forwarded().status(502)),
        ),
        Scenario::new(
            "rfc9111_5_2_2_2_must_revalidate_wins_over_an_unreachable_origin",
            through_outages(false),
        )
        .then(
            get("/u")
                .origin(ok("max-age=10, must-revalidate", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(30)
        .then(
            get("/u")
                .origin(down())
                .expect(Expect::forwarded().status(502)),
        ),
        Scenario::new(
            "rfc5861_4_stale_if_error_covers_an_unreachable_origin",
            app(),
        )
        .then(
            get("/u")
                .origin(ok("max-age=10, stale-if-error=60", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(30)
        .then(
            get("/u")
                .origin(down())
                .expect(Expect::forwarded().status(200).body("old")),
        ),
        Scenario::new(
            "config_stale_on_server_error_serves_stale_on_a_5xx_within_the_window",
            through_outages(true),
        )
        .then(
            get("/o")
                .origin(ok("max-age=10", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/o").origin(error(503)).expect(
                Expect::forwarded()
                    .status(200)
                    .body("old")
                    .header("age", "15")
                    .cache_status("webcache; fwd=stale; fwd-status=503; ttl=-5"),
            ),
        ),
        Scenario::new(
            "rfc9111_4_2_4_a_5xx_is_not_met_with_stale_without_the_agreement",
            through_outages(false),
        )
        .then(
            get("/o")
                .origin(ok("max-age=10", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/o")
                .origin(error(503))
                .expect(Expect::forwarded().status(503).body("error")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_2_must_revalidate_wins_over_stale_on_server_error",
            through_outages(true),
        )
        .then(
            get("/o")
                .origin(ok("max-age=10, must-revalidate", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/o")
                .origin(error(502))
                .expect(Expect::forwarded().status(502).body("error")),
        ),
    ]
}

fn stale_scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "rfc5861_3_stale_while_revalidate_serves_stale_and_refreshes_once",
            gateway(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-while-revalidate=30", "old").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/w")
                .header("req-num", "2")
                .origin(ok("max-age=10, stale-while-revalidate=30", "new").header("etag", "\"v2\""))
                .expect(
                    Expect::default()
                        .origin_calls(1)
                        .origin_got("if-none-match", "\"v1\"")
                        .origin_got("req-num", "2")
                        .origin_method("GET")
                        .status(200)
                        .body("old")
                        .header("age", "15")
                        .cache_status("webcache; hit; ttl=-5"),
                ),
        )
        .then(
            get("/w").expect(
                Expect::from_cache()
                    .body("new")
                    .header("etag", "\"v2\"")
                    .header("age", "0"),
            ),
        ),
        Scenario::new(
            "rfc9111_4_3_1_background_refresh_sends_only_the_caches_preconditions",
            gateway(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-while-revalidate=30", "old").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/w")
                .header("if-match", "\"v1\"")
                .header("if-none-match", "\"client\"")
                .header("if-modified-since", Value::DateOffset(-1))
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::default()
                        .origin_calls(1)
                        .origin_got("if-none-match", "\"v1\"")
                        .origin_lacks("if-match")
                        .origin_lacks("if-modified-since")
                        .body("old"),
                ),
        ),
        Scenario::new(
            "rfc5861_3_background_304_freshens_the_stored_response",
            gateway(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-while-revalidate=30", "old").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/w")
                .origin(
                    not_modified()
                        .header("etag", "\"v1\"")
                        .header("x-fresh", "1"),
                )
                .expect(Expect::default().origin_calls(1).body("old")),
        )
        .then(get("/w").expect(Expect::from_cache().body("old").header("x-fresh", "1"))),
        Scenario::new(
            "rfc5861_3_outside_the_stale_while_revalidate_window_the_request_waits",
            gateway(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-while-revalidate=30", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(50)
        .then(
            get("/w").origin(ok("max-age=10", "new")).expect(
                Expect::forwarded()
                    .origin_calls(1)
                    .body("new")
                    .cache_status("webcache; fwd=stale; fwd-status=200; stored"),
            ),
        ),
        Scenario::new(
            "rfc5861_3_must_revalidate_overrides_stale_while_revalidate",
            gateway(),
        )
        .then(
            get("/w")
                .origin(ok(
                    "max-age=10, stale-while-revalidate=30, must-revalidate",
                    "old",
                ))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/w")
                .origin(ok("max-age=10", "new"))
                .expect(Expect::forwarded().body("new")),
        ),
        Scenario::new(
            "rfc5861_4_stale_if_error_serves_stale_on_5xx_within_the_window",
            app(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-if-error=30", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/w").origin(error(500)).expect(
                Expect::forwarded()
                    .status(200)
                    .body("old")
                    .header("age", "15")
                    .cache_status("webcache; fwd=stale; fwd-status=500; ttl=-5"),
            ),
        ),
        Scenario::new(
            "rfc5861_4_outside_the_stale_if_error_window_the_error_is_passed",
            app(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-if-error=30", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(50)
        .then(
            get("/w")
                .origin(error(503))
                .expect(Expect::forwarded().status(503).body("error")),
        ),
        Scenario::new("rfc5861_4_request_stale_if_error_is_honoured", app())
            .then(
                get("/w")
                    .origin(ok("max-age=10", "old"))
                    .expect(Expect::forwarded()),
            )
            .advance(15)
            .then(
                get("/w")
                    .header("cache-control", "stale-if-error=60")
                    .origin(error(502))
                    .expect(Expect::forwarded().status(200).body("old")),
            ),
        Scenario::new("rfc5861_4_stale_if_error_ignores_4xx", app())
            .then(
                get("/w")
                    .origin(ok("max-age=10, stale-if-error=30", "old"))
                    .expect(Expect::forwarded()),
            )
            .advance(15)
            .then(
                get("/w")
                    .origin(OriginResponse::new(404).date().body("missing"))
                    .expect(Expect::forwarded().status(404).body("missing")),
            ),
        Scenario::new(
            "rfc9111_5_2_2_2_must_revalidate_overrides_stale_if_error",
            app(),
        )
        .then(
            get("/w")
                .origin(ok("max-age=10, stale-if-error=30, must-revalidate", "old"))
                .expect(Expect::forwarded()),
        )
        .advance(15)
        .then(
            get("/w")
                .origin(error(500))
                .expect(Expect::forwarded().status(500).body("error")),
        ),
        Scenario::new("rfc9111_5_2_2_10_s_maxage_overrides_stale_if_error", app())
            .then(
                get("/w")
                    .origin(ok("s-maxage=10, stale-if-error=30", "old"))
                    .expect(Expect::forwarded()),
            )
            .advance(15)
            .then(
                get("/w")
                    .origin(error(500))
                    .expect(Expect::forwarded().status(500)),
            ),
    ]
}

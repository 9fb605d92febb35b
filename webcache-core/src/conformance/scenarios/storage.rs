//! Whether a response is stored (RFC 9111 §3, §3.5, §4.1, §5.2.2).

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Expect, Scenario, get, request};
use super::{app, bare, built, gateway, ok, private_cache};
use crate::config::Config;

pub(super) fn scenarios() -> Vec<Scenario> {
    let mut all = vec![
        Scenario::new(
            "rfc9111_3_heuristically_cacheable_status_is_stored_without_directives",
            gateway(),
        )
        // No freshness information and no Last-Modified: stored, but stale
        // at once, so the next request is a validation, not a miss.
        .then(
            get("/s").origin(bare("a")).expect(
                Expect::forwarded()
                    .status(200)
                    .body("a")
                    .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
            ),
        )
        .then(
            get("/s").origin(bare("b")).expect(
                Expect::forwarded()
                    .body("b")
                    .cache_status("webcache; fwd=stale; fwd-status=200; stored"),
            ),
        ),
        Scenario::new(
            "rfc9111_4_2_2_heuristically_cacheable_404_with_last_modified_is_reused",
            gateway(),
        )
        .then(
            get("/nf")
                .origin(
                    OriginResponse::new(404)
                        .date()
                        .header("last-modified", Value::DateOffset(-10_000))
                        .body("gone"),
                )
                .expect(Expect::forwarded().status(404)),
        )
        .advance(100)
        .then(
            get("/nf").expect(
                Expect::from_cache()
                    .status(404)
                    .body("gone")
                    .header("age", "100")
                    .cache_status("webcache; hit; ttl=900"),
            ),
        ),
        Scenario::new("rfc9111_3_302_without_freshness_is_not_stored", app())
            .then(
                get("/r")
                    .origin(OriginResponse::new(302).date().header("location", "/x"))
                    .expect(
                        Expect::forwarded()
                            .status(302)
                            .cache_status("webcache; fwd=uri-miss; fwd-status=302"),
                    ),
            )
            .then(
                get("/r")
                    .origin(OriginResponse::new(302).date().header("location", "/x"))
                    .expect(
                        Expect::forwarded()
                            .status(302)
                            .cache_status("webcache; fwd=uri-miss; fwd-status=302"),
                    ),
            ),
        Scenario::new("rfc9111_3_302_with_max_age_is_stored", app())
            .then(
                get("/r")
                    .origin(
                        OriginResponse::new(302)
                            .date()
                            .header("cache-control", "max-age=60")
                            .header("location", "/x"),
                    )
                    .expect(Expect::forwarded().status(302)),
            )
            .then(get("/r").expect(Expect::from_cache().status(302).header("location", "/x"))),
        Scenario::new("rfc9111_3_unknown_status_with_max_age_is_stored", app())
            .then(
                get("/u")
                    .origin(
                        OriginResponse::new(299)
                            .date()
                            .header("cache-control", "max-age=60")
                            .body("odd"),
                    )
                    .expect(Expect::forwarded().status(299)),
            )
            .then(get("/u").expect(Expect::from_cache().status(299).body("odd"))),
        Scenario::new(
            "rfc9111_3_unknown_status_without_freshness_is_not_stored",
            app(),
        )
        .then(
            get("/u")
                .origin(
                    OriginResponse::new(599)
                        .date()
                        .header("last-modified", Value::DateOffset(-10_000)),
                )
                .expect(Expect::forwarded().status(599)),
        )
        .then(
            get("/u")
                .origin(OriginResponse::new(599).date())
                .expect(Expect::forwarded().cache_status("webcache; fwd=uri-miss; fwd-status=599")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_9_public_makes_unknown_status_heuristically_cacheable",
            app(),
        )
        .then(
            get("/u")
                .origin(
                    OriginResponse::new(599)
                        .date()
                        .header("cache-control", "public")
                        .header("last-modified", Value::DateOffset(-10_000)),
                )
                .expect(Expect::forwarded().status(599)),
        )
        .then(get("/u").expect(Expect::from_cache().status(599))),
        Scenario::new("rfc9111_5_2_2_5_no_store_is_not_stored", app())
            .then(
                get("/n").origin(ok("max-age=60, no-store", "a")).expect(
                    Expect::forwarded()
                        .body("a")
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200"),
                ),
            )
            .then(
                get("/n")
                    .origin(ok("max-age=60, no-store", "b"))
                    .expect(Expect::forwarded().body("b")),
            ),
        Scenario::new("rfc9111_5_2_2_5_no_store_is_case_insensitive", app())
            .then(
                get("/n")
                    .origin(ok("max-age=60, No-StOrE", "a"))
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/n")
                    .origin(ok("max-age=60, No-StOrE", "b"))
                    .expect(Expect::forwarded().body("b")),
            ),
        Scenario::new(
            "rfc9111_5_2_2_7_private_is_not_stored_by_a_shared_cache",
            app(),
        )
        .then(
            get("/p")
                .origin(ok("private, max-age=60", "mine"))
                .expect(Expect::forwarded().body("mine")),
        )
        .then(
            get("/p")
                .origin(ok("private, max-age=60", "yours"))
                .expect(Expect::forwarded().body("yours")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_7_private_is_stored_by_a_private_cache",
            private_cache(),
        )
        .then(
            get("/p")
                .origin(ok("private, max-age=60", "mine"))
                .expect(Expect::forwarded()),
        )
        .then(get("/p").expect(Expect::from_cache().body("mine"))),
        Scenario::new(
            "rfc9111_3_5_response_to_authorization_not_stored_by_a_shared_cache",
            app(),
        )
        .then(
            get("/auth")
                .header("authorization", "Basic Zm9vOmJhcg==")
                .origin(ok("max-age=60", "secret"))
                .expect(
                    Expect::forwarded()
                        .body("secret")
                        .origin_got("authorization", "Basic Zm9vOmJhcg==")
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200"),
                ),
        )
        .then(
            get("/auth")
                .origin(ok("max-age=60", "public"))
                .expect(Expect::forwarded().body("public")),
        ),
        Scenario::new(
            "rfc9111_3_private_cache_stores_response_to_authorization",
            private_cache(),
        )
        .then(
            get("/auth")
                .header("authorization", "Basic Zm9vOmJhcg==")
                .origin(ok("max-age=60", "secret"))
                .expect(Expect::forwarded()),
        )
        .then(get("/auth").expect(Expect::from_cache().body("secret"))),
    ];
    for (directive, name) in [
        (
            "public, max-age=60",
            "rfc9111_3_5_authorization_with_public_is_stored",
        ),
        (
            "s-maxage=60",
            "rfc9111_3_5_authorization_with_s_maxage_is_stored",
        ),
        (
            "must-revalidate, max-age=60",
            "rfc9111_3_5_authorization_with_must_revalidate_is_stored",
        ),
    ] {
        all.push(
            Scenario::new(name, app())
                .then(
                    get("/auth")
                        .header("authorization", "Basic Zm9vOmJhcg==")
                        .origin(ok(directive, "shared"))
                        .expect(
                            Expect::forwarded()
                                .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
                        ),
                )
                .advance(10)
                .then(
                    get("/auth")
                        .header("authorization", "Basic Zm9vOmJhcg==")
                        .expect(Expect::from_cache().body("shared").header("age", "10")),
                ),
        );
    }
    all.extend([
        Scenario::new("rfc9111_4_1_vary_star_is_never_reused", app())
            .then(
                get("/v")
                    .header("foo", "1")
                    .origin(ok("max-age=60", "a").header("vary", "*"))
                    .expect(Expect::forwarded().header("vary", "*")),
            )
            .then(
                get("/v")
                    .header("foo", "1")
                    .origin(ok("max-age=60", "b").header("vary", "*"))
                    .expect(Expect::forwarded().body("b")),
            ),
        Scenario::new(
            "rfc9111_4_1_vary_star_among_other_members_is_never_reused",
            app(),
        )
        .then(
            get("/v")
                .origin(
                    ok("max-age=60", "a")
                        .header("vary", "foo")
                        .header("vary", ", *"),
                )
                .expect(Expect::forwarded()),
        )
        .then(
            get("/v")
                .origin(ok("max-age=60", "b"))
                .expect(Expect::forwarded().body("b")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_3_must_understand_with_understood_status_overrides_no_store",
            app(),
        )
        .then(
            get("/mu")
                .origin(ok("max-age=60, no-store, must-understand", "kept"))
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
                ),
        )
        .then(get("/mu").expect(Expect::from_cache().body("kept"))),
        Scenario::new(
            "rfc9111_5_2_2_3_must_understand_with_unknown_status_is_not_stored",
            app(),
        )
        .then(
            get("/mu")
                .origin(
                    OriginResponse::new(599)
                        .date()
                        .header("cache-control", "max-age=60, no-store, must-understand"),
                )
                .expect(Expect::forwarded().status(599)),
        )
        .then(
            get("/mu")
                .origin(OriginResponse::new(599).date())
                .expect(Expect::forwarded()),
        ),
        Scenario::new(
            "deviation_set_cookie_is_not_stored_by_a_shared_cache",
            app(),
        )
        .then(
            get("/c")
                .origin(ok("max-age=60", "a").header("set-cookie", "id=1"))
                .expect(
                    Expect::forwarded()
                        .header("set-cookie", "id=1")
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200"),
                ),
        )
        .then(
            get("/c")
                .origin(ok("max-age=60", "b").header("set-cookie", "id=2"))
                .expect(Expect::forwarded().header("set-cookie", "id=2")),
        ),
        Scenario::new("rfc9111_3_set_cookie_with_public_is_stored", app())
            .then(
                get("/c")
                    .origin(ok("public, max-age=60", "a").header("set-cookie", "id=1"))
                    .expect(Expect::forwarded()),
            )
            .then(get("/c").expect(Expect::from_cache().header("set-cookie", "id=1").body("a"))),
        Scenario::new(
            "config_store_set_cookie_stores_and_replays_set_cookie",
            built(Config::builder().store_set_cookie(true)),
        )
        .then(
            get("/c")
                .origin(ok("max-age=60", "a").header("set-cookie", "id=1"))
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
                ),
        )
        .then(get("/c").expect(Expect::from_cache().header("set-cookie", "id=1").body("a"))),
        Scenario::new("rfc9111_3_response_to_post_is_not_reused_for_get", app())
            .then(
                request("POST", "/form")
                    .body("x=1")
                    .origin(ok("max-age=60", "posted"))
                    .expect(Expect::forwarded().body("posted")),
            )
            .then(
                get("/form")
                    .origin(ok("max-age=60", "got"))
                    .expect(Expect::forwarded().body("got").origin_method("GET")),
            ),
    ]);
    all
}

//! Request directives (RFC 9111 §5.2.1) and Pragma (RFC 9111 §5.4, which
//! deprecates it; the HTTP/1.0 `no-cache` rule is RFC 7234 §5.4).

use super::super::scenario::{Expect, Scenario, get};
use super::{app, built, gateway, not_modified, ok};
use crate::config::Config;

/// A fresh response with `ETag: "v1"` stored at `/q`.
fn stored(name: &'static str, config: Config, cc: &str) -> Scenario {
    Scenario::new(name, config).then(
        get("/q")
            .origin(ok(cc, "stored").header("etag", "\"v1\""))
            .expect(Expect::forwarded()),
    )
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        stored(
            "rfc9111_5_2_1_1_request_max_age_zero_revalidates",
            gateway(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "max-age=0")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .status(200)
                        .body("stored")
                        .origin_got("if-none-match", "\"v1\"")
                        .origin_got("cache-control", "max-age=0")
                        .cache_status("webcache; fwd=request; fwd-status=304; ttl=100; stored"),
                ),
        ),
        stored(
            "rfc9111_5_2_1_1_request_max_age_allows_a_younger_response",
            gateway(),
            "max-age=100",
        )
        .advance(10)
        .then(
            get("/q")
                .header("cache-control", "max-age=10")
                .expect(Expect::from_cache()),
        )
        .advance(1)
        .then(
            get("/q")
                .header("cache-control", "max-age=10")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded().body("stored")),
        ),
        stored(
            "rfc9111_5_2_1_2_max_stale_accepts_a_stale_response",
            gateway(),
            "max-age=10",
        )
        .advance(15)
        .then(
            get("/q").header("cache-control", "max-stale=10").expect(
                Expect::from_cache()
                    .body("stored")
                    .header("age", "15")
                    .cache_status("webcache; hit; ttl=-5"),
            ),
        )
        .then(
            get("/q")
                .header("cache-control", "max-stale")
                .expect(Expect::from_cache().body("stored")),
        )
        .then(
            get("/q")
                .header("cache-control", "max-stale=3")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded().origin_got("if-none-match", "\"v1\"")),
        ),
        stored(
            "rfc9111_5_2_1_3_min_fresh_requires_remaining_freshness",
            gateway(),
            "max-age=100",
        )
        .advance(50)
        .then(
            get("/q")
                .header("cache-control", "min-fresh=40")
                .expect(Expect::from_cache()),
        )
        .then(
            get("/q")
                .header("cache-control", "min-fresh=60")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"v1\"")
                        .cache_status("webcache; fwd=request; fwd-status=304; ttl=100; stored"),
                ),
        ),
        stored(
            "rfc9111_5_2_1_4_request_no_cache_validates",
            gateway(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "no-cache")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .body("stored")
                        .origin_got("if-none-match", "\"v1\"")
                        .origin_got("cache-control", "no-cache"),
                ),
        ),
        Scenario::new(
            "rfc9111_5_2_1_5_request_no_store_response_is_served_not_stored",
            app(),
        )
        .then(
            get("/q")
                .header("cache-control", "no-store")
                .origin(ok("max-age=100", "a"))
                .expect(
                    Expect::forwarded()
                        .body("a")
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200"),
                ),
        )
        .then(
            get("/q").origin(ok("max-age=100", "b")).expect(
                Expect::forwarded()
                    .body("b")
                    .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
            ),
        ),
        stored(
            "rfc9111_5_2_1_5_request_no_store_may_be_served_a_stored_response",
            app(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "no-store")
                .expect(Expect::from_cache().body("stored")),
        ),
        Scenario::new(
            "rfc9111_5_2_1_7_only_if_cached_without_stored_response_is_504",
            app(),
        )
        .then(
            get("/q").header("cache-control", "only-if-cached").expect(
                Expect::from_cache()
                    .status(504)
                    .present("date")
                    .cache_status("webcache; detail=\"only-if-cached\""),
            ),
        ),
        stored(
            "rfc9111_5_2_1_7_only_if_cached_with_fresh_response_is_a_hit",
            app(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "only-if-cached")
                .expect(Expect::from_cache().status(200).body("stored")),
        ),
        stored(
            "rfc9111_5_2_1_7_only_if_cached_with_stale_response_is_504",
            app(),
            "max-age=10",
        )
        .advance(20)
        .then(
            get("/q")
                .header("cache-control", "only-if-cached")
                .expect(Expect::from_cache().status(504)),
        )
        .then(
            get("/q")
                .header("cache-control", "only-if-cached, max-stale")
                .expect(Expect::from_cache().status(200).body("stored")),
        ),
        stored(
            "rfc9111_5_2_3_unknown_request_directive_is_ignored",
            app(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "nothing-to-see-here")
                .header("pragma", "foo")
                .expect(Expect::from_cache().body("stored")),
        ),
        stored(
            "rfc9111_5_2_unknown_directive_combined_with_max_age_on_one_line",
            gateway(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "nothing-to-see-here, max-age=0")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        ),
        stored(
            "rfc9111_5_2_request_directives_on_two_lines_are_one_list",
            gateway(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "nothing-to-see-here")
                .header("cache-control", "max-age=0")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        ),
        stored(
            "rfc9111_5_4_pragma_extension_is_ignored",
            app(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("pragma", "unrecognised-extension")
                .expect(Expect::from_cache()),
        ),
        stored(
            "rfc7234_5_4_pragma_no_cache_without_cache_control_validates",
            gateway(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("pragma", "no-cache")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded().origin_got("if-none-match", "\"v1\"")),
        ),
        stored(
            "rfc7234_5_4_pragma_is_ignored_when_cache_control_is_present",
            app(),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("pragma", "no-cache")
                .header("cache-control", "nothing-to-see-here")
                .expect(Expect::from_cache()),
        ),
        stored(
            "config_request_controls_cache_false_ignores_request_no_cache",
            built(Config::builder().request_controls_cache(false)),
            "max-age=100",
        )
        .then(
            get("/q")
                .header("cache-control", "no-cache")
                .expect(Expect::from_cache().body("stored")),
        )
        .then(
            get("/q")
                .header("cache-control", "max-age=0")
                .expect(Expect::from_cache().body("stored")),
        ),
    ]
}

//! Conditional requests from the client answered from storage (RFC 9111
//! §4.3.2; RFC 9110 §13.1, §13.2.2, §15.4.5).

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Expect, Scenario, get, head};
use super::{app, gateway, not_modified, ok};
use crate::config::Config;

/// A fresh response with `ETag: "v1"` and a Last-Modified 1000 s before the
/// start, stored at `/c`.
fn stored(name: &'static str, config: Config) -> Scenario {
    Scenario::new(name, config).then(
        get("/c")
            .origin(
                ok("max-age=100", "body")
                    .header("etag", "\"v1\"")
                    .header("last-modified", Value::DateOffset(-1000))
                    .header("x-other", "1"),
            )
            .expect(Expect::forwarded()),
    )
}

fn not_modified_from_cache() -> Expect {
    Expect::from_cache()
        .status(304)
        .body("")
        .header("etag", "\"v1\"")
        .header("cache-control", "max-age=100")
        .present("date")
        .absent("x-other")
        .cache_status("webcache; hit; ttl=100")
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        stored(
            "rfc9111_4_3_2_if_none_match_on_a_fresh_hit_is_304_with_etag",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-none-match", "\"v1\"")
                .expect(not_modified_from_cache()),
        ),
        stored(
            "rfc9110_13_1_2_if_none_match_uses_weak_comparison",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-none-match", "W/\"v1\"")
                .expect(not_modified_from_cache()),
        ),
        stored(
            "rfc9110_13_1_2_if_none_match_list_matches_any_member",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-none-match", "\"1234\", \"v1\", \"5678\"")
                .expect(not_modified_from_cache()),
        )
        .then(
            get("/c")
                .header("if-none-match", "*")
                .expect(not_modified_from_cache()),
        ),
        stored(
            "rfc9110_13_1_2_if_none_match_mismatch_is_the_full_response",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-none-match", "\"v2\"")
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        stored(
            "rfc9111_4_3_2_if_modified_since_on_a_fresh_hit_is_304",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-1000))
                .expect(not_modified_from_cache()),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-500))
                .expect(not_modified_from_cache()),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-2000))
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        stored(
            "rfc9110_13_2_2_if_none_match_takes_precedence_over_if_modified_since",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-none-match", "\"other\"")
                .header("if-modified-since", Value::DateOffset(0))
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        Scenario::new(
            "rfc9111_4_3_2_if_modified_since_without_last_modified_uses_date",
            gateway(),
        )
        .then(
            get("/c")
                .origin(ok("max-age=100", "body"))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(0))
                .expect(Expect::from_cache().status(304)),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-3000))
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        Scenario::new(
            "rfc9111_4_3_2_if_modified_since_without_last_modified_uses_date_in_front_of_an_application",
            app(),
        )
        .then(
            get("/c")
                .origin(ok("max-age=100", "body"))
                .expect(Expect::forwarded()),
        )
        .advance(10)
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-10))
                .expect(Expect::from_cache().status(304).body("").present("etag")),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-11))
                .expect(Expect::from_cache().status(200).body("body")),
        )
        // The origin's If-Match comes first (RFC 9110 §13.2.2).
        .then(
            get("/c")
                .header("if-match", "\"nope\"")
                .header("if-modified-since", Value::DateOffset(0))
                .expect(Expect::from_cache().status(412)),
        ),
        Scenario::new(
            "rfc9111_4_3_2_if_modified_since_without_last_modified_or_date_uses_the_time_received",
            gateway(),
        )
        .then(
            get("/c")
                .origin(OriginResponse::ok().header("cache-control", "max-age=100").body("body"))
                .expect(Expect::forwarded()),
        )
        .advance(10)
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-10))
                .expect(Expect::from_cache().status(304)),
        )
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-11))
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        stored(
            "rfc9111_4_3_2_if_match_does_not_apply_to_a_cache",
            gateway(),
        )
        .then(
            get("/c")
                .header("if-match", "\"nope\"")
                .header("if-unmodified-since", Value::DateOffset(-5000))
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        stored(
            "rfc9110_13_1_1_application_role_answers_if_match_mismatch_with_412",
            app(),
        )
        .then(
            get("/c")
                .header("if-match", "\"nope\"")
                .expect(Expect::from_cache().status(412).body("")),
        )
        .then(
            get("/c")
                .header("if-match", "\"v1\"")
                .expect(Expect::from_cache().status(200).body("body")),
        ),
        stored(
            "rfc9110_13_1_1_application_role_if_match_uses_strong_comparison",
            app(),
        )
        .then(
            get("/c")
                .header("if-match", "W/\"v1\"")
                .expect(Expect::from_cache().status(412)),
        ),
        stored("rfc9111_4_3_2_head_with_if_none_match_is_304", gateway()).then(
            head("/c")
                .header("if-none-match", "\"v1\"")
                .expect(Expect::from_cache().status(304).header("etag", "\"v1\"")),
        ),
        Scenario::new(
            "rfc9111_4_3_2_stale_response_is_validated_before_the_client_condition",
            gateway(),
        )
        .then(
            get("/c")
                .origin(ok("max-age=10", "body").header("last-modified", Value::DateOffset(-3000)))
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/c")
                .header("if-modified-since", Value::DateOffset(-3020))
                .origin(not_modified().header("cache-control", "max-age=100"))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-modified-since", Value::DateOffset(-3020))
                        .status(304)
                        .body(""),
                ),
        ),
    ]
}

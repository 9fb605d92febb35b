//! Freshness lifetime (RFC 9111 §4.2.1, §4.2.2, §5.2.2, §5.3) and the
//! parsing rules it depends on (§1.2.2, §5.2).

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Expect, Scenario, get};
use super::{app, bare, gateway, ok, private_cache};

/// A response stored at once (Cache-Status `stored`), then a hit at
/// `fresh_at` seconds and a forward at `stale_at` seconds (when given)
/// that finds it stale (`fwd=stale`): a response never stored would fail
/// both, not pass as "forwarded".
fn lifetime(
    name: &'static str,
    config: crate::config::Config,
    response: OriginResponse,
    fresh_at: Option<u64>,
    stale_at: Option<u64>,
) -> Scenario {
    let mut s = Scenario::new(name, config).then(
        get("/f")
            .origin(response)
            .expect(Expect::forwarded().stored()),
    );
    let mut now = 0;
    if let Some(at) = fresh_at {
        s = s
            .advance(at - now)
            .then(get("/f").expect(Expect::from_cache()));
        now = at;
    }
    if let Some(at) = stale_at {
        s = s.advance(at - now).then(
            get("/f")
                .origin(bare("next"))
                .expect(Expect::forwarded().body("next").stale_forward()),
        );
    }
    s
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "rfc9111_5_2_2_1_max_age_is_fresh_until_age_reaches_it",
            app(),
        )
        .then(
            get("/f")
                .origin(ok("max-age=60", "a"))
                .expect(Expect::forwarded()),
        )
        .advance(59)
        .then(
            get("/f").expect(
                Expect::from_cache()
                    .body("a")
                    .header("age", "59")
                    .cache_status("webcache; hit; ttl=1"),
            ),
        )
        .advance(1)
        .then(
            get("/f").origin(ok("max-age=60", "b")).expect(
                Expect::forwarded()
                    .body("b")
                    .cache_status("webcache; fwd=stale; fwd-status=200; stored"),
            ),
        ),
        lifetime(
            "rfc9111_4_2_1_s_maxage_overrides_max_age",
            app(),
            ok("max-age=10, s-maxage=100", "a"),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_4_2_1_shorter_s_maxage_overrides_longer_max_age",
            app(),
            ok("max-age=3600, s-maxage=1", "a"),
            None,
            Some(2),
        ),
        lifetime(
            "rfc9111_4_2_1_s_maxage_on_its_own_line_overrides_max_age",
            app(),
            ok("max-age=3600", "a").header("cache-control", "s-maxage=1"),
            None,
            Some(2),
        ),
        lifetime(
            "rfc9111_4_2_1_private_cache_ignores_s_maxage",
            private_cache(),
            ok("max-age=100, s-maxage=1", "a"),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_4_2_1_expires_minus_date",
            app(),
            bare("a").header("expires", Value::DateOffset(100)),
            Some(99),
            Some(100),
        ),
        // Scenarios start at Tue, 14 Nov 2023 22:13:20 GMT.
        lifetime(
            "rfc9110_5_6_7_an_expires_in_asctime_format_is_honoured",
            gateway(),
            bare("a").header("expires", "Thu Nov 16 22:13:20 2023"),
            Some(172_799),
            Some(172_800),
        ),
        lifetime(
            "rfc9110_5_6_7_an_asctime_expires_with_a_wrong_day_name_is_honoured",
            gateway(),
            // 3 Dec 2023 is a Sunday.
            bare("a").header("expires", "Fri Dec  3 22:13:20 2023"),
            Some(1_641_599),
            Some(1_641_600),
        ),
        Scenario::new("rfc9111_4_2_1_expires_is_measured_from_date", app())
            .then(
                get("/f")
                    .origin(
                        OriginResponse::ok()
                            .header("date", Value::DateOffset(-50))
                            .header("expires", Value::DateOffset(50))
                            .body("a"),
                    )
                    .expect(Expect::forwarded().stored()),
            )
            // Apparent age 50 of a 100 s lifetime.
            .then(get("/f").expect(Expect::from_cache().header("age", "50")))
            .advance(50)
            .then(
                get("/f")
                    .origin(bare("b"))
                    .expect(Expect::forwarded().body("b").stale_forward()),
            ),
        lifetime(
            "rfc9111_4_2_1_expires_before_date_is_stale",
            app(),
            OriginResponse::ok()
                .header("date", Value::DateOffset(400))
                .header("expires", Value::DateOffset(300))
                .body("a"),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_4_2_1_expires_with_invalid_date_uses_time_received",
            app(),
            OriginResponse::ok()
                .header("date", "foo")
                .header("expires", Value::DateOffset(10))
                .body("a"),
            Some(5),
            Some(10),
        ),
        lifetime(
            "rfc9111_5_3_invalid_expires_zero_is_already_expired",
            app(),
            bare("a")
                .header("expires", "0")
                .header("last-modified", Value::DateOffset(-100_000)),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_4_2_zone_other_than_gmt_makes_expires_invalid",
            app(),
            bare("a").header("expires", "Thu, 18 Aug 2050 02:01:18 UTC"),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_4_2_expires_day_and_month_names_match_case_insensitively",
            app(),
            bare("a").header("expires", "THU, 18 AUG 2050 02:01:18 gmt"),
            Some(86_400),
            None,
        ),
        lifetime(
            "rfc9110_5_6_7_rfc850_expires_two_digit_year_is_this_century",
            app(),
            bare("a").header("expires", "Thursday, 18-Aug-50 02:01:18 GMT"),
            Some(86_400),
            None,
        ),
        lifetime(
            "rfc9111_5_3_max_age_overrides_expires",
            app(),
            ok("max-age=100", "a").header("expires", Value::DateOffset(-1000)),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_5_3_max_age_zero_overrides_future_expires",
            app(),
            ok("max-age=0", "a").header("expires", Value::DateOffset(3600)),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_5_3_s_maxage_overrides_past_expires",
            app(),
            ok("max-age=0, s-maxage=3600", "a").header("expires", Value::DateOffset(-10)),
            Some(100),
            None,
        ),
        lifetime(
            "rfc9111_4_2_1_invalid_max_age_is_stale_not_heuristic",
            app(),
            ok("max-age=abc", "a").header("last-modified", Value::DateOffset(-100_000)),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_1_2_2_negative_max_age_is_stale",
            app(),
            ok("max-age=-3600", "a"),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_1_2_2_single_quoted_max_age_is_stale",
            app(),
            ok("max-age='3600'", "a"),
            None,
            Some(0),
        ),
        lifetime(
            "rfc9111_1_2_2_max_age_with_leading_zeros",
            app(),
            ok("max-age=003600", "a"),
            Some(3599),
            Some(3600),
        ),
        lifetime(
            "rfc9111_1_2_2_max_age_overflow_saturates_at_2_pow_31",
            app(),
            ok("max-age=99999999999", "a"),
            Some(315_360_000),
            None,
        ),
        lifetime(
            "rfc9111_1_2_2_max_age_of_2_pow_31_is_fresh",
            app(),
            ok("max-age=2147483648", "a"),
            Some(1_000_000),
            None,
        ),
        lifetime(
            "rfc9111_5_2_directive_names_are_case_insensitive",
            app(),
            ok("MaX-aGe=100", "a"),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_5_2_3_unknown_response_directive_is_ignored",
            app(),
            ok("foobar, max-age=100", "a"),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_4_2_1_duplicate_max_age_first_wins",
            app(),
            ok("max-age=100, max-age=1", "a"),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_4_2_1_duplicate_max_age_on_two_lines_first_wins",
            app(),
            ok("max-age=1", "a").header("cache-control", "max-age=100"),
            None,
            Some(2),
        ),
        lifetime(
            "rfc9111_5_2_quoted_max_age_is_accepted",
            app(),
            ok("max-age=\"100\"", "a"),
            Some(50),
            Some(100),
        ),
        lifetime(
            "rfc9111_5_2_directive_inside_a_quoted_string_is_not_a_directive",
            app(),
            ok("extension=\"max-age=3600\", max-age=1", "a"),
            None,
            Some(2),
        ),
        lifetime(
            "rfc9111_4_2_2_heuristic_freshness_is_a_tenth_of_last_modified_age",
            gateway(),
            bare("a").header("last-modified", Value::DateOffset(-10_000)),
            Some(999),
            Some(1000),
        ),
        lifetime(
            "rfc9111_4_2_2_heuristic_applies_to_203",
            app(),
            OriginResponse::new(203)
                .date()
                .header("last-modified", Value::DateOffset(-10_000))
                .body("a"),
            Some(500),
            None,
        ),
        Scenario::new(
            "rfc9111_4_2_2_no_heuristic_for_status_not_heuristically_cacheable",
            app(),
        )
        .then(
            get("/f")
                .origin(
                    OriginResponse::new(403)
                        .date()
                        .header("last-modified", Value::DateOffset(-10_000)),
                )
                .expect(Expect::forwarded().status(403)),
        )
        .then(
            get("/f")
                .origin(OriginResponse::new(403).date())
                .expect(Expect::forwarded().cache_status("webcache; fwd=uri-miss; fwd-status=403")),
        ),
        lifetime(
            "rfc9111_4_2_2_pragma_no_cache_in_response_does_not_stop_heuristics",
            app(),
            bare("a")
                .header("pragma", "no-cache")
                .header("last-modified", Value::DateOffset(-10_000)),
            Some(500),
            None,
        ),
        lifetime(
            "rfc9111_4_2_3_date_in_the_past_counts_as_apparent_age",
            app(),
            OriginResponse::ok()
                .header("date", Value::DateOffset(-7200))
                .header("cache-control", "max-age=3600")
                .body("a"),
            None,
            Some(0),
        ),
    ]
}

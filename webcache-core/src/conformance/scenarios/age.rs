//! Age and Date on what the cache serves (RFC 9111 §4, §4.2.3, §5.1).

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Expect, Scenario, get};
use super::{app, bare, ok};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("rfc9111_4_hit_replaces_age_with_current_age", app())
            .then(
                get("/a")
                    .origin(ok("max-age=100", "a").header("age", "10"))
                    .expect(Expect::forwarded()),
            )
            .advance(5)
            .then(get("/a").expect(Expect::from_cache().header_lines("age", ["15"]))),
        Scenario::new("rfc9111_4_every_hit_carries_age", app())
            .then(
                get("/a")
                    .origin(ok("max-age=100", "a"))
                    .expect(Expect::forwarded()),
            )
            .then(get("/a").expect(Expect::from_cache().header("age", "0")))
            .advance(3)
            .then(get("/a").expect(Expect::from_cache().age_at_least(3))),
        Scenario::new("rfc9111_5_1_miss_passes_origin_age_unchanged", app()).then(
            get("/a")
                .origin(ok("max-age=100", "a").header("age", "30"))
                .expect(Expect::forwarded().header_lines("age", ["30"])),
        ),
        Scenario::new("rfc9111_4_2_3_origin_age_counts_toward_current_age", app())
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "a").header("age", "7200"))
                    .expect(Expect::forwarded().stored()),
            )
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "b"))
                    .expect(Expect::forwarded().body("b").stale_forward()),
            ),
        Scenario::new("rfc9111_4_2_3_age_added_to_expires_lifetime", app())
            .then(
                get("/a")
                    .origin(
                        OriginResponse::ok()
                            .header("date", Value::DateOffset(-10))
                            .header("expires", Value::DateOffset(10))
                            .header("age", "25")
                            .body("a"),
                    )
                    .expect(Expect::forwarded().stored().header("age", "25")),
            )
            .then(
                get("/a")
                    .origin(bare("b"))
                    .expect(Expect::forwarded().body("b").stale_forward()),
            ),
        Scenario::new("rfc9111_5_1_age_2_pow_31_makes_stale", app())
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "a").header("age", "2147483649"))
                    .expect(Expect::forwarded().stored()),
            )
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "b"))
                    .expect(Expect::forwarded().body("b").stale_forward()),
            ),
        Scenario::new("rfc9111_5_1_invalid_age_is_ignored", app())
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "a").header("age", "7200.0"))
                    .expect(Expect::forwarded()),
            )
            .advance(10)
            .then(get("/a").expect(Expect::from_cache().header("age", "10"))),
        Scenario::new("rfc9111_5_1_list_age_uses_its_first_member", app())
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "a").header("age", "7200, 0"))
                    .expect(Expect::forwarded().stored()),
            )
            .then(
                get("/a")
                    .origin(ok("max-age=3600", "b"))
                    .expect(Expect::forwarded().body("b").stale_forward()),
            ),
        Scenario::new("rfc9111_5_1_repeated_age_uses_its_first_line", app())
            .then(
                get("/a")
                    .origin(
                        ok("max-age=3600", "a")
                            .header("age", "0")
                            .header("age", "7200"),
                    )
                    .expect(Expect::forwarded()),
            )
            .then(get("/a").expect(Expect::from_cache().body("a").header("age", "0"))),
        Scenario::new("rfc9111_4_hit_keeps_the_stored_date", app())
            .then(
                get("/a")
                    .origin(ok("max-age=100", "a"))
                    .expect(Expect::forwarded()),
            )
            .advance(10)
            .then(
                get("/a").expect(
                    Expect::from_cache()
                        .header("date", Value::DateOffset(-10))
                        .header("age", "10"),
                ),
            ),
        Scenario::new("rfc9111_4_hit_keeps_the_stored_expires", app())
            .then(
                get("/a")
                    .origin(bare("a").header("expires", Value::DateOffset(100)))
                    .expect(Expect::forwarded()),
            )
            .advance(10)
            .then(get("/a").expect(Expect::from_cache().header("expires", Value::DateOffset(90)))),
        Scenario::new("rfc9110_6_6_1_date_added_to_a_response_without_one", app()).then(
            get("/a")
                .origin(OriginResponse::ok().header("cache-control", "max-age=100"))
                .expect(Expect::forwarded().header("date", Value::DateOffset(0))),
        ),
    ]
}

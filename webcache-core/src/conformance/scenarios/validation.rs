//! Validation the cache initiates and the handling of its answers (RFC 9111
//! §3.2, §4.2.4, §4.3.1, §4.3.3, §4.3.4, §5.2.2).

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Expect, Scenario, get};
use super::{app, bare, gateway, not_modified, ok, private_cache};

/// A response with `ETag: "v1"` and `cache-control: cc`, stored at `/v`
/// and made stale by `stale_after` seconds.
fn stale_etag(
    name: &'static str,
    config: crate::config::Config,
    cc: &str,
    stale_after: u64,
) -> Scenario {
    Scenario::new(name, config)
        .then(
            get("/v")
                .origin(ok(cc, "stored").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .advance(stale_after)
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "rfc9111_4_3_4_stale_etag_sent_verbatim_and_304_merged",
            gateway(),
        )
        .then(
            get("/v")
                .origin(
                    ok("max-age=10", "hello")
                        .header("etag", "\"v1\"")
                        .header("x-a", "1")
                        .header("x-b", "1")
                        .header("content-length", "5"),
                )
                .expect(Expect::forwarded().body("hello")),
        )
        .advance(20)
        .then(
            get("/v")
                .origin(
                    not_modified()
                        .header("cache-control", "max-age=100")
                        .header("etag", "\"v1\"")
                        .header("x-a", "2")
                        .header("content-length", "10"),
                )
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"v1\"")
                        .origin_lacks("if-modified-since")
                        .status(200)
                        .body("hello")
                        .header("x-a", "2")
                        .header("x-b", "1")
                        .header("content-length", "5")
                        .header("cache-control", "max-age=100")
                        .header("date", Value::DateOffset(0))
                        .header("age", "0")
                        .cache_status("webcache; fwd=stale; fwd-status=304; ttl=100; stored"),
                ),
        )
        .advance(50)
        .then(
            get("/v").expect(
                Expect::from_cache()
                    .body("hello")
                    .header("x-a", "2")
                    .header("x-b", "1")
                    .header("age", "50"),
            ),
        ),
        Scenario::new("rfc9111_4_3_1_stale_last_modified_sent_verbatim", gateway())
            .then(
                get("/v")
                    .origin(
                        ok("max-age=10", "hello")
                            .header("last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"),
                    )
                    .expect(Expect::forwarded()),
            )
            .advance(20)
            .then(
                get("/v")
                    .origin(not_modified().header("last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"))
                    .expect(
                        Expect::forwarded()
                            .origin_got("if-modified-since", "Wed, 01 Jan 2020 00:00:00 GMT")
                            .origin_lacks("if-none-match")
                            .status(200)
                            .body("hello"),
                    ),
            ),
        Scenario::new("rfc9111_4_3_1_both_validators_are_sent", gateway())
            .then(
                get("/v")
                    .origin(
                        ok("max-age=10", "hello")
                            .header("etag", "W/\"weak\"")
                            .header("last-modified", "Wed, 01 Jan 2020 00:00:00 GMT"),
                    )
                    .expect(Expect::forwarded()),
            )
            .advance(20)
            .then(
                get("/v")
                    .origin(not_modified().header("etag", "W/\"weak\""))
                    .expect(
                        Expect::forwarded()
                            .origin_got("if-none-match", "W/\"weak\"")
                            .origin_got("if-modified-since", "Wed, 01 Jan 2020 00:00:00 GMT")
                            .body("hello"),
                    ),
            ),
        Scenario::new(
            "rfc9111_4_3_1_validation_carries_the_current_request_fields",
            gateway(),
        )
        .then(
            get("/v")
                .header("abc", "123")
                .origin(
                    ok("max-age=10", "hello")
                        .header("etag", "\"v1\"")
                        .header("vary", "abc"),
                )
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/v")
                .header("abc", "123")
                .header("req-num", "2")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("abc", "123")
                        .origin_got("req-num", "2")
                        .origin_got("if-none-match", "\"v1\""),
                ),
        ),
        stale_etag(
            "rfc9111_4_3_3_full_response_to_validation_replaces_the_stored_one",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .origin(ok("max-age=100", "new").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .body("new")
                        .header("etag", "\"v2\"")
                        .cache_status("webcache; fwd=stale; fwd-status=200; stored"),
                ),
        )
        .then(get("/v").expect(Expect::from_cache().body("new"))),
        stale_etag(
            "rfc9111_4_3_4_304_with_another_strong_etag_updates_nothing_and_is_retried",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .origin(not_modified().header("etag", "\"v2\""))
                .origin(ok("max-age=100", "new").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .origin_calls(2)
                        .origin_got("if-none-match", "\"v1\"")
                        .nth_origin_lacks(1, "if-none-match")
                        .status(200)
                        .body("new")
                        .header("etag", "\"v2\"")
                        .cache_status("webcache; fwd=miss; fwd-status=200; stored"),
                ),
        )
        .then(get("/v").expect(Expect::from_cache().body("new"))),
        stale_etag(
            "rfc9110_13_2_1_gateway_retry_forwards_the_clients_if_match",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .header("if-match", "\"v2\"")
                .origin(not_modified().header("etag", "\"v2\""))
                .origin(ok("max-age=100", "new").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .origin_calls(2)
                        .origin_got("if-match", "\"v2\"")
                        .nth_origin_got(1, "if-match", "\"v2\"")
                        .nth_origin_lacks(1, "if-none-match")
                        .body("new"),
                ),
        ),
        stale_etag(
            "rfc9111_4_3_4_304_with_weak_etag_matches_weakly",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .origin(
                    not_modified()
                        .header("etag", "W/\"v1\"")
                        .header("x-new", "1"),
                )
                .expect(Expect::forwarded().body("stored").header("x-new", "1")),
        ),
        Scenario::new(
            "rfc9111_4_3_4_304_without_validators_freshens_a_response_without_validators",
            gateway(),
        )
        .then(
            get("/v")
                .origin(ok("max-age=10", "stored"))
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/v")
                .origin(not_modified().header("cache-control", "max-age=100"))
                .expect(
                    Expect::forwarded()
                        .origin_lacks("if-none-match")
                        .origin_lacks("if-modified-since")
                        .status(200)
                        .body("stored"),
                ),
        )
        .advance(50)
        .then(get("/v").expect(Expect::from_cache().body("stored"))),
        Scenario::new(
            "rfc9111_3_2_304_replaces_every_line_of_a_repeated_field",
            gateway(),
        )
        .then(
            get("/v")
                .origin(
                    ok("max-age=10", "stored")
                        .header("etag", "\"v1\"")
                        .header("x-list", "a")
                        .header("x-list", "b"),
                )
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/v")
                .origin(
                    not_modified()
                        .header("etag", "\"v1\"")
                        .header("x-list", "c"),
                )
                .expect(Expect::forwarded().header_lines("x-list", ["c"])),
        ),
        stale_etag(
            "rfc9111_5_2_2_5_no_store_in_a_304_stops_reuse",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .origin(
                    not_modified()
                        .header("cache-control", "no-store, max-age=100")
                        .header("etag", "\"v1\""),
                )
                .expect(
                    Expect::forwarded()
                        .body("stored")
                        .cache_status("webcache; fwd=stale; fwd-status=304; ttl=100"),
                ),
        )
        .then(
            get("/v")
                .origin(
                    not_modified()
                        .header("cache-control", "no-store, max-age=100")
                        .header("etag", "\"v1\""),
                )
                .expect(Expect::forwarded().body("stored")),
        ),
        stale_etag(
            "rfc9111_5_2_1_5_request_no_store_validation_is_not_stored",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .header("cache-control", "no-store")
                .origin(
                    not_modified()
                        .header("cache-control", "max-age=100")
                        .header("etag", "\"v1\""),
                )
                .expect(Expect::forwarded().body("stored")),
        )
        .then(
            get("/v")
                .origin(
                    not_modified()
                        .header("cache-control", "max-age=100")
                        .header("etag", "\"v1\""),
                )
                .expect(Expect::forwarded().body("stored")),
        )
        .then(get("/v").expect(Expect::from_cache().body("stored"))),
        Scenario::new(
            "rfc9111_5_2_2_4_no_cache_response_is_validated_on_every_use",
            gateway(),
        )
        .then(
            get("/v")
                .origin(ok("max-age=100, no-cache", "stored").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/v")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"v1\"")
                        .body("stored"),
                ),
        )
        .then(
            get("/v")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded().origin_got("if-none-match", "\"v1\"")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_4_no_cache_response_without_validators_is_fetched_every_time",
            gateway(),
        )
        .then(
            get("/v")
                .origin(ok("max-age=100, no-cache", "a"))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/v").origin(ok("max-age=100, no-cache", "b")).expect(
                Expect::forwarded()
                    .origin_lacks("if-none-match")
                    .origin_lacks("if-modified-since")
                    .body("b"),
            ),
        ),
        Scenario::new("rfc9111_5_2_2_4_no_cache_is_case_insensitive", gateway())
            .then(
                get("/v")
                    .origin(ok("max-age=100, No-CaChE", "a"))
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/v")
                    .origin(bare("b"))
                    .expect(Expect::forwarded().body("b")),
            ),
        stale_etag(
            "rfc9111_5_2_2_2_must_revalidate_is_served_while_fresh",
            gateway(),
            "max-age=100, must-revalidate",
            50,
        )
        .then(get("/v").expect(Expect::from_cache().body("stored"))),
        stale_etag(
            "rfc9111_5_2_2_2_must_revalidate_forbids_serving_stale",
            gateway(),
            "max-age=10, must-revalidate",
            20,
        )
        .then(
            get("/v")
                .header("cache-control", "max-stale")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"v1\"")
                        .body("stored"),
                ),
        ),
        stale_etag(
            "rfc9111_5_2_2_8_proxy_revalidate_forbids_max_stale_in_a_shared_cache",
            gateway(),
            "max-age=10, proxy-revalidate",
            20,
        )
        .then(
            get("/v")
                .header("cache-control", "max-stale")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded().origin_got("if-none-match", "\"v1\"")),
        ),
        stale_etag(
            "rfc9111_5_2_2_8_private_cache_serves_proxy_revalidate_stale_on_max_stale",
            private_cache(),
            "max-age=10, proxy-revalidate",
            20,
        )
        .then(
            get("/v")
                .header("cache-control", "max-stale")
                .expect(Expect::from_cache().body("stored")),
        ),
        stale_etag(
            "rfc9111_5_2_2_10_s_maxage_forbids_max_stale_in_a_shared_cache",
            gateway(),
            "s-maxage=10",
            20,
        )
        .then(
            get("/v")
                .header("cache-control", "max-stale")
                .origin(not_modified().header("etag", "\"v1\""))
                .expect(Expect::forwarded().origin_got("if-none-match", "\"v1\"")),
        ),
        stale_etag(
            "rfc9111_4_2_4_stale_response_is_not_served_without_permission",
            gateway(),
            "max-age=10",
            20,
        )
        .then(
            get("/v")
                .origin(OriginResponse::new(503).date().body("down"))
                .expect(Expect::forwarded().status(503).body("down")),
        ),
        Scenario::new(
            "rfc9111_4_3_3_validation_5xx_without_stale_if_error_is_passed",
            app(),
        )
        .then(
            get("/v")
                .origin(ok("max-age=10", "stored"))
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/v")
                .origin(OriginResponse::new(500).date().body("error"))
                .expect(
                    Expect::forwarded()
                        .status(500)
                        .body("error")
                        .cache_status("webcache; fwd=stale; fwd-status=500"),
                ),
        )
        // The error did not replace the stored response.
        .then(
            get("/v")
                .header("cache-control", "max-stale")
                .expect(Expect::from_cache().body("stored")),
        ),
    ]
}

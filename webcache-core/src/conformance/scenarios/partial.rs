//! Partial content from the origin: 206 responses stored as incomplete
//! responses, combined, and answering range requests within them (RFC 9111
//! §3.3, §3.4, §4.3.2; RFC 9110 §13.1.5, §14.4, §15.3.7).

use super::super::origin::{OriginResponse, Value};
use super::super::scenario::{Exchange, Expect, Scenario, get, head};
use super::{app, gateway, ok};

/// A 206 with `Content-Range: content_range`, `ETag: etag`,
/// `Cache-Control: max-age=100` and `body`.
fn part(content_range: &str, etag: &str, body: &'static str) -> OriginResponse {
    OriginResponse::new(206)
        .date()
        .header("cache-control", "max-age=100")
        .header("etag", etag)
        .header("content-type", "text/plain")
        .header("content-range", content_range)
        .body(body)
}

/// A GET of `/p` with `Range: range`.
fn ranged(range: &str) -> Exchange {
    get("/p").header("range", range)
}

/// The first step of most scenarios: bytes 0-4 of ten, `ETag: "v1"`,
/// stored.
fn first_part() -> Exchange {
    ranged("bytes=0-4")
        .origin(part("bytes 0-4/10", "\"v1\"", "01234"))
        .expect(
            Expect::forwarded()
                .origin_got("range", "bytes=0-4")
                .status(206)
                .body("01234")
                .cache_status("webcache; fwd=uri-miss; fwd-status=206; stored"),
        )
}

/// A 206 sent twice; the second time it must reach the origin again.
fn not_stored(name: &'static str, response: OriginResponse) -> Scenario {
    let exchange = || {
        ranged("bytes=0-4")
            .origin(response.clone())
            .expect(Expect::forwarded().status(206))
    };
    Scenario::new(name, gateway())
        .then(
            exchange().expect(
                Expect::forwarded()
                    .status(206)
                    .cache_status("webcache; fwd=uri-miss; fwd-status=206"),
            ),
        )
        .then(exchange())
}

pub(super) fn scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    for (name, config) in [
        (
            "rfc9111_3_3_a_stored_206_answers_a_range_within_it",
            gateway(),
        ),
        (
            "rfc9111_3_3_a_stored_206_answers_a_range_within_it_in_front_of_an_application",
            app(),
        ),
    ] {
        all.push(
            Scenario::new(name, config)
                .then(first_part())
                .then(
                    ranged("bytes=1-3").expect(
                        Expect::from_cache()
                            .status(206)
                            .header("content-range", "bytes 1-3/10")
                            .header("content-length", "3")
                            .header("etag", "\"v1\"")
                            .header("content-type", "text/plain")
                            .header("age", "0")
                            .body("123")
                            .cache_status("webcache; hit; ttl=100"),
                    ),
                )
                .advance(10)
                .then(
                    ranged("bytes=0-4").expect(
                        Expect::from_cache()
                            .status(206)
                            .header("content-range", "bytes 0-4/10")
                            .header("age", "10")
                            .body("01234"),
                    ),
                ),
        );
    }
    all.extend([
        Scenario::new(
            "rfc9111_3_4_a_range_beyond_the_stored_part_asks_only_for_the_missing_bytes",
            gateway(),
        )
        .then(first_part())
        .then(
            ranged("bytes=3-7")
                .origin(part("bytes 5-7/10", "\"v1\"", "567"))
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=5-7")
                        .origin_got("if-range", "\"v1\"")
                        .origin_lacks("if-none-match")
                        .status(206)
                        .header("content-range", "bytes 3-7/10")
                        .body("34567")
                        .cache_status("webcache; fwd=partial; fwd-status=206; ttl=100; stored"),
                ),
        )
        .then(
            ranged("bytes=-1")
                .origin(part("bytes 9-9/10", "\"v1\"", "9"))
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=9-9")
                        .header("content-range", "bytes 9-9/10")
                        .body("9"),
                ),
        )
        .then(ranged("bytes=9-").expect(Expect::from_cache().status(206).body("9")))
        .then(
            get("/p")
                .origin(part("bytes 8-8/10", "\"v1\"", "8"))
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=8-8")
                        .status(200)
                        .header("content-length", "10")
                        .body("0123456789"),
                ),
        )
        .then(get("/p").expect(Expect::from_cache().status(200).body("0123456789"))),
        Scenario::new(
            "rfc9111_3_4_a_request_without_range_completes_the_stored_part",
            gateway(),
        )
        .then(first_part())
        .then(
            get("/p")
                .origin(part("bytes 5-9/10", "\"v1\"", "56789"))
                .expect(
                    Expect::forwarded()
                        .origin_calls(1)
                        .origin_got("range", "bytes=5-9")
                        .origin_got("if-range", "\"v1\"")
                        .status(200)
                        .header("content-length", "10")
                        .absent("content-range")
                        .body("0123456789")
                        .cache_status("webcache; fwd=partial; fwd-status=206; ttl=100; stored"),
                ),
        )
        .then(get("/p").expect(Expect::from_cache().status(200).body("0123456789"))),
        Scenario::new(
            "rfc9111_3_4_a_completion_answered_by_a_changed_representation_stores_it_whole",
            gateway(),
        )
        .then(first_part())
        .then(
            // If-Range no longer holds: the origin sends the whole new
            // representation (RFC 9110 §13.1.5).
            get("/p")
                .origin(ok("max-age=100", "abcdefghij").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .origin_calls(1)
                        .origin_got("if-range", "\"v1\"")
                        .status(200)
                        .body("abcdefghij")
                        .cache_status("webcache; fwd=partial; fwd-status=200; stored"),
                ),
        )
        .then(ranged("bytes=5-6").expect(Expect::from_cache().status(206).body("fg"))),
        Scenario::new(
            "rfc9111_3_4_a_completion_that_does_not_combine_sends_the_clients_own_request",
            gateway(),
        )
        .then(first_part())
        .then(
            ranged("bytes=3-7")
                .origin(OriginResponse::new(416).date().header("content-range", "bytes */10"))
                .origin(part("bytes 3-7/10", "\"v1\"", "34567"))
                .expect(
                    Expect::forwarded()
                        .origin_calls(2)
                        .origin_got("range", "bytes=5-7")
                        .nth_origin_got(1, "range", "bytes=3-7")
                        .nth_origin_lacks(1, "if-range")
                        .status(206)
                        .header("content-range", "bytes 3-7/10")
                        .body("34567"),
                ),
        )
        .then(ranged("bytes=0-7").expect(Expect::from_cache().status(206).body("01234567"))),
        Scenario::new(
            "rfc9111_3_3_a_request_without_range_is_forwarded_as_it_is_when_the_part_cannot_be_combined",
            gateway(),
        )
        .then(
            ranged("bytes=0-4")
                .origin(part("bytes 0-4/10", "W/\"v1\"", "01234"))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/p")
                .origin(ok("max-age=100", "0123456789").header("etag", "W/\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_lacks("range")
                        .origin_lacks("if-range")
                        .status(200)
                        .body("0123456789")
                        .cache_status("webcache; fwd=partial; fwd-status=200; stored"),
                ),
        )
        // The complete 200 replaced the partial.
        .then(get("/p").expect(Expect::from_cache().status(200).body("0123456789")))
        .then(
            ranged("bytes=5-6").expect(
                Expect::from_cache()
                    .status(206)
                    .header("content-range", "bytes 5-6/10")
                    .body("56"),
            ),
        ),
        Scenario::new(
            "rfc9111_3_3_head_and_only_if_cached_are_not_answered_from_a_partial",
            gateway(),
        )
        .then(first_part())
        .then(
            get("/p")
                .header("cache-control", "only-if-cached")
                .expect(Expect::from_cache().status(504)),
        )
        .then(
            head("/p")
                .origin(ok("max-age=100", "").header("etag", "\"v1\""))
                .expect(Expect::forwarded().origin_method("HEAD").status(200)),
        )
        .then(ranged("bytes=2-3").expect(Expect::from_cache().status(206).body("23"))),
        Scenario::new(
            "rfc9111_3_4_parts_with_the_same_strong_validator_are_combined",
            gateway(),
        )
        .then(first_part())
        .then(
            ranged("bytes=5-7")
                .origin(part("bytes 5-7/10", "\"v1\"", "567").header("x-part", "2"))
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=5-7")
                        .status(206)
                        .body("567")
                        .cache_status("webcache; fwd=partial; fwd-status=206; ttl=100; stored"),
                ),
        )
        .then(
            ranged("bytes=3-6").expect(
                Expect::from_cache()
                    .status(206)
                    .header("content-range", "bytes 3-6/10")
                    // RFC 9111 §3.4: the fields of the newer part.
                    .header("x-part", "2")
                    .body("3456"),
            ),
        )
        .then(
            ranged("bytes=8-9")
                .origin(part("bytes 8-9/10", "\"v1\"", "89"))
                .expect(Expect::forwarded().body("89")),
        ),
        Scenario::new(
            "rfc9110_15_3_7_3_parts_covering_the_representation_become_a_complete_200",
            gateway(),
        )
        .then(first_part())
        .then(
            ranged("bytes=5-9")
                .origin(part("bytes 5-9/10", "\"v1\"", "56789"))
                .expect(Expect::forwarded().status(206).body("56789")),
        )
        .then(
            get("/p").expect(
                Expect::from_cache()
                    .status(200)
                    .header("content-length", "10")
                    .header("etag", "\"v1\"")
                    .absent("content-range")
                    .body("0123456789")
                    .cache_status("webcache; hit; ttl=100"),
            ),
        )
        .then(head("/p").expect(Expect::from_cache().status(200).body("")))
        .then(
            ranged("bytes=-3").expect(
                Expect::from_cache()
                    .status(206)
                    .header("content-range", "bytes 7-9/10")
                    .body("789"),
            ),
        ),
        Scenario::new(
            "rfc9111_3_4_a_part_with_another_validator_replaces_the_stored_one",
            gateway(),
        )
        .then(first_part())
        .then(
            ranged("bytes=5-9")
                .origin(part("bytes 5-9/10", "\"v2\"", "FGHIJ"))
                .expect(
                    Expect::forwarded()
                        .body("FGHIJ")
                        .cache_status("webcache; fwd=partial; fwd-status=206; ttl=100; stored"),
                ),
        )
        .then(
            ranged("bytes=6-7").expect(
                Expect::from_cache()
                    .status(206)
                    .header("etag", "\"v2\"")
                    .body("GH"),
            ),
        )
        .then(
            ranged("bytes=0-1")
                .origin(part("bytes 0-1/10", "\"v2\"", "AB"))
                .expect(Expect::forwarded().body("AB")),
        ),
        Scenario::new(
            "rfc9111_3_4_a_206_with_a_weak_entity_tag_answers_ranges_within_it",
            gateway(),
        )
        .then(
            ranged("bytes=5-9")
                .origin(part("bytes 5-9/10", "W/\"v1\"", "56789"))
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=206; stored"),
                ),
        )
        .then(
            ranged("bytes=-3").expect(
                Expect::from_cache()
                    .status(206)
                    .header("content-range", "bytes 7-9/10")
                    .header("etag", "W/\"v1\"")
                    .body("789"),
            ),
        )
        .then(
            ranged("bytes=6-").expect(
                Expect::from_cache()
                    .status(206)
                    .header("content-range", "bytes 6-9/10")
                    .body("6789"),
            ),
        )
        .then(ranged("bytes=5-6").expect(Expect::from_cache().status(206).body("56")))
        // Not combinable: the range goes as the client asked, and the new
        // part replaces the stored one.
        .then(
            ranged("bytes=0-1")
                .origin(part("bytes 0-1/10", "W/\"v1\"", "01"))
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=0-1")
                        .origin_lacks("if-range")
                        .body("01")
                        .cache_status("webcache; fwd=partial; fwd-status=206; stored"),
                ),
        )
        .then(ranged("bytes=1-1").expect(Expect::from_cache().body("1")))
        .then(
            ranged("bytes=8-9")
                .origin(part("bytes 8-9/10", "W/\"v1\"", "89"))
                .expect(Expect::forwarded().body("89")),
        ),
        Scenario::new(
            "rfc9110_8_8_2_2_a_206_whose_last_modified_is_weak_is_stored_but_not_completed",
            gateway(),
        )
        .then(
            ranged("bytes=0-4")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "max-age=100")
                        .header("last-modified", Value::DateOffset(0))
                        .header("content-range", "bytes 0-4/10")
                        .body("01234"),
                )
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=206; stored"),
                ),
        )
        .then(ranged("bytes=1-2").expect(Expect::from_cache().status(206).body("12")))
        .then(
            ranged("bytes=3-7")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "max-age=100")
                        .header("content-range", "bytes 3-7/10")
                        .body("34567"),
                )
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=3-7")
                        .origin_lacks("if-range")
                        .body("34567"),
                ),
        ),
        Scenario::new(
            "rfc9110_8_8_2_2_a_206_with_last_modified_and_no_date_is_stored_but_not_completed",
            gateway(),
        )
        .then(
            // Without the origin's Date, Last-Modified cannot be shown to
            // be strong.
            ranged("bytes=0-4")
                .origin(
                    OriginResponse::new(206)
                        .header("cache-control", "max-age=100")
                        .header("last-modified", Value::DateOffset(-100))
                        .header("content-range", "bytes 0-4/10")
                        .body("01234"),
                )
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=206; stored"),
                ),
        )
        .then(ranged("bytes=4-").origin(ok("max-age=100", "0123456789")).expect(
            Expect::forwarded()
                .origin_got("range", "bytes=4-")
                .origin_lacks("if-range")
                .status(200),
        )),
        Scenario::new(
            "rfc9110_8_8_2_2_a_206_with_a_strong_last_modified_is_stored",
            gateway(),
        )
        .then(
            ranged("bytes=0-4")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "max-age=100")
                        .header("last-modified", Value::DateOffset(-100))
                        .header("content-range", "bytes 0-4/10")
                        .body("01234"),
                )
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=206; stored"),
                ),
        )
        .then(ranged("bytes=4-4").expect(Expect::from_cache().status(206).body("4"))),
        not_stored(
            "rfc9110_14_4_a_206_with_an_unsatisfied_range_is_not_stored",
            part("bytes */10", "\"v1\"", "01234"),
        ),
        not_stored(
            "rfc9110_14_4_a_206_of_unknown_complete_length_is_not_stored",
            part("bytes 0-4/*", "\"v1\"", "01234"),
        ),
        not_stored(
            "rfc9111_3_3_a_206_whose_body_disagrees_with_content_range_is_not_stored",
            part("bytes 0-4/10", "\"v1\"", "012"),
        ),
        not_stored(
            "rfc9110_15_3_7_2_a_multipart_206_is_not_stored",
            OriginResponse::new(206)
                .date()
                .header("cache-control", "max-age=100")
                .header("etag", "\"v1\"")
                .header("content-type", "multipart/byteranges; boundary=B")
                .body(
                    "\r\n--B\r\ncontent-range: bytes 0-1/10\r\n\r\n01\
                     \r\n--B\r\ncontent-range: bytes 8-9/10\r\n\r\n89\r\n--B--\r\n",
                ),
        ),
        Scenario::new(
            "rfc9110_13_1_5_if_range_must_match_for_a_partial_to_answer",
            gateway(),
        )
        .then(first_part())
        .then(
            ranged("bytes=0-1")
                .header("if-range", "\"v1\"")
                .expect(Expect::from_cache().status(206).body("01")),
        )
        .then(
            ranged("bytes=0-1")
                .header("if-range", "\"v0\"")
                .origin(ok("max-age=100", "abcdefghij").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("range", "bytes=0-1")
                        .origin_got("if-range", "\"v0\"")
                        .status(200)
                        .body("abcdefghij"),
                ),
        ),
        Scenario::new(
            "rfc9111_4_3_2_a_stale_partial_is_validated_with_its_entity_tag",
            gateway(),
        )
        .then(
            ranged("bytes=0-4")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "max-age=10")
                        .header("etag", "\"v1\"")
                        .header("content-range", "bytes 0-4/10")
                        .body("01234"),
                )
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            ranged("bytes=1-2")
                .origin(
                    OriginResponse::new(304)
                        .date()
                        .header("cache-control", "max-age=100")
                        .header("etag", "\"v1\""),
                )
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"v1\"")
                        .origin_got("range", "bytes=1-2")
                        .status(206)
                        .header("content-range", "bytes 1-2/10")
                        .body("12")
                        .cache_status("webcache; fwd=stale; fwd-status=304; ttl=100; stored"),
                ),
        )
        .then(ranged("bytes=0-4").expect(Expect::from_cache().status(206).body("01234"))),
        Scenario::new(
            "rfc9110_13_1_5_a_partial_that_if_range_no_longer_matches_after_validation_is_fetched_again",
            gateway(),
        )
        .then(
            ranged("bytes=0-4")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "max-age=10")
                        .header("etag", "\"v1\"")
                        .header("last-modified", Value::DateOffset(-100))
                        .header("content-range", "bytes 0-4/10")
                        .body("01234"),
                )
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            // The client's If-Range is the stored Last-Modified; the 304
            // confirms the entity tag but brings another Last-Modified.
            ranged("bytes=0-1")
                .header("if-range", Value::DateOffset(-120))
                .origin(
                    OriginResponse::new(304)
                        .date()
                        .header("cache-control", "max-age=100")
                        .header("etag", "\"v1\"")
                        .header("last-modified", Value::DateOffset(-5)),
                )
                .origin(ok("max-age=100", "0123456789").header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_calls(2)
                        .origin_got("if-none-match", "\"v1\"")
                        .nth_origin_lacks(1, "if-none-match")
                        .nth_origin_got(1, "range", "bytes=0-1")
                        .status(200)
                        .body("0123456789"),
                ),
        )
        .then(get("/p").expect(Expect::from_cache().status(200).body("0123456789"))),
        Scenario::new(
            "rfc9110_15_3_7_2_several_ranges_within_a_partial_answer_as_multipart",
            gateway(),
        )
        .then(
            ranged("bytes=0-199")
                .origin(part(
                    "bytes 0-199/400",
                    "\"v1\"",
                    "0123456789012345678901234567890123456789012345678901234567890123456789\
                     0123456789012345678901234567890123456789012345678901234567890123456789\
                     012345678901234567890123456789012345678901234567890123456789",
                ))
                .expect(
                    Expect::forwarded()
                        .cache_status("webcache; fwd=uri-miss; fwd-status=206; stored"),
                ),
        )
        .then(
            ranged("bytes=0-9,190-199").expect(
                Expect::from_cache()
                    .status(206)
                    .absent("content-range")
                    .present("content-type"),
            ),
        ),
    ]);
    all
}

//! Invalidation by unsafe methods (RFC 9111 §4.4).

use super::super::origin::OriginResponse;
use super::super::scenario::{Exchange, Expect, Scenario, get, head, request};
use super::{app, ok};

/// `/i` (and `/other`) stored fresh.
fn stored(name: &'static str) -> Scenario {
    Scenario::new(name, app())
        .then(
            get("/i")
                .origin(ok("max-age=100", "old"))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/other")
                .origin(ok("max-age=100", "other"))
                .expect(Expect::forwarded()),
        )
}

fn refetched(target: &str) -> Exchange {
    get(target)
        .origin(ok("max-age=100", "new"))
        .expect(Expect::forwarded().body("new"))
}

fn still_stored(target: &str, body: &'static str) -> Exchange {
    get(target).expect(Expect::from_cache().body(body))
}

pub(super) fn scenarios() -> Vec<Scenario> {
    let mut all = Vec::new();
    for (method, status, name) in [
        ("POST", 201, "rfc9111_4_4_post_invalidates_the_target_uri"),
        ("PUT", 204, "rfc9111_4_4_put_invalidates_the_target_uri"),
        (
            "DELETE",
            200,
            "rfc9111_4_4_delete_invalidates_the_target_uri",
        ),
        (
            "M-SEARCH",
            200,
            "rfc9111_4_4_unknown_method_invalidates_the_target_uri",
        ),
        (
            "POST",
            303,
            "rfc9111_4_4_redirection_invalidates_the_target_uri",
        ),
    ] {
        all.push(
            stored(name)
                .then(
                    request(method, "/i")
                        .body("abc")
                        .origin(OriginResponse::new(status).date())
                        .expect(
                            Expect::forwarded()
                                .status(status)
                                .origin_method(method)
                                .origin_body("abc")
                                .cache_status(&format!(
                                    "webcache; fwd=method; fwd-status={status}"
                                )),
                        ),
                )
                .then(refetched("/i"))
                .then(still_stored("/other", "other")),
        );
    }
    all.extend([
        stored("rfc9111_4_4_same_origin_location_and_content_location_are_invalidated")
            .then(
                request("POST", "/new")
                    .origin(
                        OriginResponse::new(201)
                            .date()
                            .header("location", "/i")
                            .header("content-location", "http://conformance.test/other"),
                    )
                    .expect(Expect::forwarded().status(201)),
            )
            .then(refetched("/i"))
            .then(refetched("/other")),
        stored("rfc9111_4_4_relative_location_is_resolved_against_the_target")
            .then(
                request("POST", "/dir/new")
                    .origin(OriginResponse::new(201).date().header("location", "../i"))
                    .expect(Expect::forwarded()),
            )
            .then(refetched("/i")),
        stored("rfc9111_4_4_other_origin_location_is_not_invalidated")
            .then(
                request("POST", "/new")
                    .origin(
                        OriginResponse::new(201)
                            .date()
                            .header("location", "http://other.test/i")
                            .header("content-location", "https://conformance.test/other"),
                    )
                    .expect(Expect::forwarded()),
            )
            .then(still_stored("/i", "old"))
            .then(still_stored("/other", "other")),
        stored("rfc9111_4_4_error_response_does_not_invalidate")
            .then(
                request("POST", "/i")
                    .origin(OriginResponse::new(500).date())
                    .expect(Expect::forwarded().status(500)),
            )
            .then(
                request("DELETE", "/i")
                    .origin(OriginResponse::new(404).date())
                    .expect(Expect::forwarded().status(404)),
            )
            .then(still_stored("/i", "old")),
        stored("rfc9111_4_4_safe_methods_do_not_invalidate")
            .then(
                request("OPTIONS", "/i")
                    .origin(OriginResponse::new(204).date())
                    .expect(
                        Expect::forwarded()
                            .origin_method("OPTIONS")
                            .cache_status("webcache; fwd=method; fwd-status=204"),
                    ),
            )
            .then(still_stored("/i", "old")),
        Scenario::new("rfc9111_4_4_invalidation_covers_every_variant", app())
            .then(
                get("/i")
                    .header("foo", "1")
                    .origin(ok("max-age=100", "one").header("vary", "foo"))
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/i")
                    .header("foo", "2")
                    .origin(ok("max-age=100", "two").header("vary", "foo"))
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/i")
                    .header("foo", "1")
                    .expect(Expect::from_cache().body("one")),
            )
            .then(
                request("PUT", "/i")
                    .origin(OriginResponse::new(204).date())
                    .expect(Expect::forwarded()),
            )
            .then(
                get("/i")
                    .header("foo", "1")
                    .origin(ok("max-age=100", "new").header("vary", "foo"))
                    .expect(Expect::forwarded().body("new")),
            )
            .then(
                get("/i")
                    .header("foo", "2")
                    .origin(ok("max-age=100", "new2").header("vary", "foo"))
                    .expect(Expect::forwarded().body("new2")),
            ),
        // RFC 9110 §9.3.3, in the order of RFC 9111 §4.4: the old response
        // is invalidated, the POST's own representation stored.
        stored("rfc9110_9_3_3_a_post_response_naming_its_target_is_reused_for_get")
            .then(
                request("POST", "/i")
                    .body("abc")
                    .origin(ok("max-age=100", "posted").header("content-location", "/i"))
                    .expect(
                        Expect::forwarded()
                            .origin_method("POST")
                            .body("posted")
                            .cache_status("webcache; fwd=method; fwd-status=200; stored"),
                    ),
            )
            .then(still_stored("/i", "posted"))
            .then(head("/i").expect(Expect::from_cache().status(200).body("")))
            .then(still_stored("/other", "other"))
            // A POST is never answered from storage.
            .then(
                request("POST", "/i")
                    .origin(OriginResponse::new(204).date())
                    .expect(Expect::forwarded().status(204)),
            )
            .then(refetched("/i")),
        Scenario::new(
            "rfc9110_9_3_3_a_post_response_is_reused_for_get_behind_a_gateway",
            super::gateway(),
        )
        .then(
            request("POST", "/p")
                .origin(
                    OriginResponse::ok()
                        .date()
                        .header("expires", super::super::origin::Value::DateOffset(100))
                        .header("content-location", "http://conformance.test/p")
                        .body("posted"),
                )
                .expect(Expect::forwarded().body("posted")),
        )
        .advance(99)
        .then(get("/p").expect(Expect::from_cache().body("posted").header("age", "99"))),
        stored(
            "rfc9110_9_3_3_a_post_response_naming_another_uri_or_without_freshness_is_not_stored",
        )
        .then(
            request("POST", "/i")
                .origin(ok("max-age=100", "posted").header("content-location", "/other"))
                .expect(Expect::forwarded().cache_status("webcache; fwd=method; fwd-status=200")),
        )
        // The target and the same-origin Content-Location are invalidated.
        .then(refetched("/i"))
        .then(refetched("/other"))
        .then(
            request("POST", "/i")
                .origin(
                    OriginResponse::ok()
                        .date()
                        .header("cache-control", "public")
                        .header("content-location", "/i")
                        .body("posted"),
                )
                .expect(Expect::forwarded().cache_status("webcache; fwd=method; fwd-status=200")),
        )
        .then(refetched("/i")),
        stored("rfc9111_4_4_head_is_answered_again_after_invalidation")
            .then(
                request("POST", "/i")
                    .origin(OriginResponse::new(200).date())
                    .expect(Expect::forwarded()),
            )
            .then(
                head("/i")
                    .origin(ok("max-age=100", ""))
                    .expect(Expect::forwarded().origin_method("HEAD")),
            ),
    ]);
    all
}

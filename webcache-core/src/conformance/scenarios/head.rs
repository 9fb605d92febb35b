//! HEAD (RFC 9110 §9.3.2; RFC 9111 §4, §4.3.5).

use super::super::scenario::{Expect, Scenario, get, head};
use super::{app, gateway, ok};

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "rfc9110_9_3_2_head_is_answered_from_the_stored_get_without_body",
            app(),
        )
        .then(
            get("/h")
                .origin(ok("max-age=100", "hello").header("x-a", "1"))
                .expect(Expect::forwarded()),
        )
        .then(
            head("/h").expect(
                Expect::from_cache()
                    .status(200)
                    .body("")
                    .header("x-a", "1")
                    .header("cache-control", "max-age=100")
                    .cache_status("webcache; hit; ttl=100"),
            ),
        ),
        // A server MUST NOT send a Content-Length other than the length a GET
        // would have had (RFC 9110 §8.6): a HEAD hit sends the stored one.
        Scenario::new(
            "rfc9110_8_6_a_head_hit_sends_the_content_length_of_the_get",
            app(),
        )
        .then(
            get("/h")
                .origin(ok("max-age=100", "hello"))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/h").expect(
                Expect::from_cache()
                    .body("hello")
                    .header("content-length", "5"),
            ),
        )
        .then(
            head("/h").expect(
                Expect::from_cache()
                    .status(200)
                    .body("")
                    .header("content-length", "5"),
            ),
        ),
        Scenario::new(
            "rfc9110_9_3_2_head_miss_is_forwarded_as_head_and_not_stored",
            app(),
        )
        .then(
            head("/h").origin(ok("max-age=100", "")).expect(
                Expect::forwarded()
                    .origin_method("HEAD")
                    .status(200)
                    .cache_status("webcache; fwd=uri-miss; fwd-status=200"),
            ),
        )
        .then(
            get("/h").origin(ok("max-age=100", "hello")).expect(
                Expect::forwarded()
                    .origin_method("GET")
                    .body("hello")
                    .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
            ),
        ),
        Scenario::new("rfc9111_4_3_5_head_200_freshens_the_stored_get", gateway())
            .then(
                get("/h")
                    .origin(
                        ok("max-age=10", "hello")
                            .header("etag", "\"v1\"")
                            .header("x-a", "1"),
                    )
                    .expect(Expect::forwarded()),
            )
            .advance(20)
            .then(
                head("/h")
                    .origin(
                        ok("max-age=1000", "")
                            .header("etag", "\"v1\"")
                            .header("x-a", "2"),
                    )
                    .expect(Expect::forwarded().origin_method("HEAD").body("")),
            )
            .then(
                get("/h").expect(
                    Expect::from_cache()
                        .body("hello")
                        .header("x-a", "2")
                        .header("cache-control", "max-age=1000"),
                ),
            ),
        Scenario::new(
            "rfc9111_4_3_5_head_200_with_another_etag_makes_the_stored_get_stale",
            gateway(),
        )
        .then(
            get("/h")
                .origin(ok("max-age=1000", "hello").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .then(
            head("/h")
                .header("cache-control", "no-cache")
                .origin(ok("max-age=1000", "").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .origin_method("HEAD")
                        .origin_got("if-none-match", "\"v1\""),
                ),
        )
        .then(
            get("/h")
                .origin(ok("max-age=1000", "changed").header("etag", "\"v2\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"v1\"")
                        .body("changed"),
                ),
        ),
        Scenario::new(
            "rfc9111_4_3_5_head_200_with_the_same_etag_keeps_the_stored_get",
            gateway(),
        )
        .then(
            get("/h")
                .origin(ok("max-age=1000", "hello").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .then(
            head("/h")
                .header("cache-control", "no-cache")
                .origin(
                    ok("max-age=1000", "")
                        .header("etag", "\"v1\"")
                        .header("x-new", "1"),
                )
                .expect(Expect::forwarded().origin_method("HEAD")),
        )
        .then(get("/h").expect(Expect::from_cache().body("hello").header("x-new", "1"))),
    ]
}

//! Which header fields are stored and replayed (RFC 9111 §3.1, §5.2.2.4,
//! §5.2.2.7).

use super::super::origin::Value;
use super::super::scenario::{Expect, Scenario, get};
use super::{app, built, gateway, not_modified, ok};
use crate::config::Config;

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "rfc9111_5_2_2_4_qualified_no_cache_fields_are_not_served_from_storage",
            app(),
        )
        .then(
            get("/f")
                .origin(
                    ok("no-cache=\"x-a\", max-age=100", "a")
                        .header("x-a", "1")
                        .header("x-b", "2"),
                )
                .expect(Expect::forwarded().header("x-a", "1").header("x-b", "2")),
        )
        .then(
            get("/f").expect(
                Expect::from_cache()
                    .body("a")
                    .absent("x-a")
                    .header("x-b", "2"),
            ),
        ),
        Scenario::new(
            "rfc9111_5_2_2_4_qualified_no_cache_on_two_lines_lists_fields",
            app(),
        )
        .then(
            get("/f")
                .origin(
                    ok("no-cache=\"x-a, x-b\"", "a")
                        .header("cache-control", "max-age=100")
                        .header("x-a", "1")
                        .header("x-b", "2")
                        .header("x-c", "3"),
                )
                .expect(
                    Expect::forwarded()
                        .header("cache-control", "no-cache=\"x-a, x-b\", max-age=100"),
                ),
        )
        .then(
            get("/f").expect(
                Expect::from_cache()
                    .absent("x-a")
                    .absent("x-b")
                    .header("x-c", "3"),
            ),
        ),
        Scenario::new(
            "rfc9111_5_2_2_4_qualified_no_cache_fields_from_a_304_are_not_served_from_storage",
            gateway(),
        )
        .then(
            get("/f")
                .origin(
                    ok("no-cache=\"x-a\", max-age=10", "a")
                        .header("etag", "\"v1\"")
                        .header("x-a", "1"),
                )
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/f")
                .origin(
                    not_modified()
                        .header("cache-control", "no-cache=\"x-a\", max-age=100")
                        .header("etag", "\"v1\"")
                        .header("x-a", "2"),
                )
                // Just validated: the field may be sent.
                .expect(Expect::forwarded().body("a").header("x-a", "2")),
        )
        .then(get("/f").expect(Expect::from_cache().body("a").absent("x-a"))),
        Scenario::new(
            "rfc9111_5_2_2_7_qualified_private_fields_from_a_304_are_not_stored",
            gateway(),
        )
        .then(
            get("/f")
                .origin(ok("max-age=10", "a").header("etag", "\"v1\""))
                .expect(Expect::forwarded()),
        )
        .advance(20)
        .then(
            get("/f")
                .origin(
                    not_modified()
                        .header("cache-control", "private=\"x-user\", max-age=100")
                        .header("etag", "\"v1\"")
                        .header("x-user", "alice"),
                )
                .expect(Expect::forwarded().body("a").header("x-user", "alice")),
        )
        .then(get("/f").expect(Expect::from_cache().body("a").absent("x-user"))),
        Scenario::new("deviation_set_cookie_from_a_304_is_not_stored", app())
            .then(
                get("/f")
                    .origin(ok("max-age=10", "a").header("etag", "\"v1\""))
                    .expect(Expect::forwarded()),
            )
            .advance(20)
            .then(
                get("/f")
                    .origin(
                        not_modified()
                            .header("cache-control", "max-age=100")
                            .header("etag", "\"v1\"")
                            .header("set-cookie", "session=alice"),
                    )
                    .expect(
                        Expect::forwarded()
                            .body("a")
                            .header("set-cookie", "session=alice")
                            .cache_status("webcache; fwd=stale; fwd-status=304; ttl=100"),
                    ),
            )
            // The cookie was not stored: the next request validates again and
            // never sees it.
            .then(
                get("/f")
                    .origin(
                        not_modified()
                            .header("cache-control", "max-age=100")
                            .header("etag", "\"v1\""),
                    )
                    .expect(Expect::forwarded().body("a").absent("set-cookie")),
            )
            .then(get("/f").expect(Expect::from_cache().body("a").absent("set-cookie"))),
        Scenario::new(
            "rfc9111_5_2_2_7_qualified_private_fields_are_not_stored_by_a_shared_cache",
            app(),
        )
        .then(
            get("/f")
                .origin(
                    ok("private=\"x-user\", max-age=100", "a")
                        .header("x-user", "alice")
                        .header("x-b", "2"),
                )
                .expect(Expect::forwarded().header("x-user", "alice")),
        )
        .then(get("/f").expect(Expect::from_cache().absent("x-user").header("x-b", "2"))),
        Scenario::new(
            "rfc9111_3_1_connection_named_and_hop_by_hop_fields_are_not_stored",
            app(),
        )
        .then(
            get("/f")
                .origin(
                    ok("max-age=100", "a")
                        .header("connection", "x-conn, x-conn2")
                        .header("x-conn", "1")
                        .header("x-conn2", "2")
                        .header("keep-alive", "timeout=5")
                        .header("proxy-authenticate", "Basic")
                        .header("x-kept", "3"),
                )
                .expect(Expect::forwarded()),
        )
        .then(
            get("/f").expect(
                Expect::from_cache()
                    .absent("x-conn")
                    .absent("x-conn2")
                    .absent("keep-alive")
                    .absent("proxy-authenticate")
                    .header("x-kept", "3"),
            ),
        ),
        Scenario::new(
            "rfc9111_3_1_repeated_set_cookie_lines_are_replayed_in_order",
            built(Config::builder().store_set_cookie(true)),
        )
        .then(
            get("/f")
                .origin(
                    ok("max-age=100", "a")
                        .header("set-cookie", "a=1; Path=/")
                        .header("set-cookie", "b=2, c=3"),
                )
                .expect(Expect::forwarded()),
        )
        .then(
            get("/f").expect(
                Expect::from_cache().header_lines("set-cookie", ["a=1; Path=/", "b=2, c=3"]),
            ),
        ),
        Scenario::new(
            "rfc9111_3_1_unknown_and_non_ascii_fields_are_kept_byte_exact",
            app(),
        )
        .then(
            get("/f")
                .origin(
                    ok("max-age=100", "a")
                        .header("x-latin1", Value::Bytes(b"caf\xe9".to_vec()))
                        .header("etag", Value::Bytes(b"\"abcdef\xfc\"".to_vec()))
                        .header("content-foo", "bar")
                        .header("content-type", "text/plain;charset=utf-8"),
                )
                .expect(Expect::forwarded()),
        )
        .then(
            get("/f").expect(
                Expect::from_cache()
                    .header("x-latin1", Value::Bytes(b"caf\xe9".to_vec()))
                    .header("etag", Value::Bytes(b"\"abcdef\xfc\"".to_vec()))
                    .header("content-foo", "bar")
                    .header("content-type", "text/plain;charset=utf-8"),
            ),
        )
        .then(
            get("/f")
                .header("if-none-match", Value::Bytes(b"\"abcdef\xfc\"".to_vec()))
                .expect(Expect::from_cache().status(304)),
        ),
        Scenario::new(
            "rfc9111_5_2_cache_directives_are_passed_on_unchanged",
            app(),
        )
        .then(
            get("/f")
                .origin(ok("max-age=100, community=\"UCI\", Foo", "a"))
                .expect(
                    Expect::forwarded()
                        .header("cache-control", "max-age=100, community=\"UCI\", Foo"),
                ),
        )
        .then(get("/f").expect(
            Expect::from_cache().header("cache-control", "max-age=100, community=\"UCI\", Foo"),
        )),
    ]
}

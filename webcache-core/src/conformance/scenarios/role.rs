//! The cache's role: in the application it finishes the origin's job
//! (RFC 9110 §8.8.3, §13.2); as a gateway it adds nothing (RFC 9111
//! §4.3.2).

use bytes::Bytes;

use super::super::origin::Value;
use super::super::scenario::{Expect, Scenario, get, head};
use super::{app, bare, gateway, not_modified, ok};
use crate::validation::strong_etag_value;

fn body_etag() -> Value {
    strong_etag_value(b"hello").into()
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("rfc9110_8_8_3_application_role_adds_a_strong_etag", app())
            .then(
                get("/e")
                    .origin(ok("max-age=100", "hello"))
                    .expect(Expect::forwarded().header("etag", body_etag())),
            )
            .then(get("/e").expect(Expect::from_cache().header("etag", body_etag()))),
        Scenario::new(
            "rfc9110_8_8_3_application_role_keeps_the_handlers_etag",
            app(),
        )
        .then(
            get("/e")
                .origin(ok("max-age=100", "hello").header("etag", "W/\"mine\""))
                .expect(Expect::forwarded().header("etag", "W/\"mine\"")),
        ),
        Scenario::new(
            "rfc9110_13_2_2_application_role_answers_if_none_match_on_a_miss",
            app(),
        )
        .then(
            get("/e")
                .header("if-none-match", body_etag())
                .origin(ok("max-age=100", "hello"))
                .expect(
                    Expect::forwarded()
                        .origin_lacks("if-none-match")
                        .status(304)
                        .body(Bytes::new())
                        .header("etag", body_etag())
                        .cache_status("webcache; fwd=uri-miss; fwd-status=200; stored"),
                ),
        )
        // The full response was stored all the same.
        .then(get("/e").expect(Expect::from_cache().status(200).body("hello"))),
        Scenario::new(
            "rfc9110_13_2_2_application_role_answers_if_modified_since_on_a_miss",
            app(),
        )
        .then(
            get("/e")
                .header("if-modified-since", Value::DateOffset(0))
                .origin(ok("max-age=100", "hello").header("last-modified", Value::DateOffset(-60)))
                .expect(
                    Expect::forwarded()
                        .origin_lacks("if-modified-since")
                        .status(304),
                ),
        ),
        Scenario::new(
            "rfc9110_13_2_2_application_role_answers_if_none_match_on_a_head_miss",
            app(),
        )
        .then(
            head("/e")
                .header("if-none-match", "\"v1\"")
                .origin(bare("").header("etag", "\"v1\""))
                .expect(
                    Expect::forwarded()
                        .origin_method("HEAD")
                        .origin_lacks("if-none-match")
                        .status(304),
                ),
        ),
        Scenario::new("rfc9111_4_3_2_gateway_role_adds_no_etag", gateway()).then(
            get("/e")
                .origin(ok("max-age=100", "hello"))
                .expect(Expect::forwarded().absent("etag")),
        ),
        Scenario::new(
            "rfc9111_4_3_2_gateway_role_forwards_client_conditionals_on_a_miss",
            gateway(),
        )
        .then(
            get("/e")
                .header("if-none-match", "\"abc\"")
                .header("if-match", "\"abc\"")
                .origin(not_modified().header("etag", "\"abc\""))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"abc\"")
                        .origin_got("if-match", "\"abc\"")
                        .status(304)
                        .header("etag", "\"abc\"")
                        .cache_status("webcache; fwd=uri-miss; fwd-status=304"),
                ),
        )
        // A 304 is never stored.
        .then(
            get("/e")
                .origin(ok("max-age=100", "hello"))
                .expect(Expect::forwarded().body("hello")),
        ),
    ]
}

//! Secondary keys from Vary (RFC 9111 §4.1).

use super::super::scenario::{Exchange, Expect, Scenario, get};
use super::{app, gateway, ok};

/// A request for `/y` with the given request fields, stored with `vary`.
fn store(fields: &[(&str, &str)], vary: &str, body: &'static str) -> Exchange {
    let mut e = get("/y");
    for (n, v) in fields {
        e = e.header(n, *v);
    }
    e.origin(ok("max-age=100", body).header("vary", vary))
        .expect(Expect::forwarded())
}

fn ask(fields: &[(&str, &str)]) -> Exchange {
    let mut e = get("/y");
    for (n, v) in fields {
        e = e.header(n, *v);
    }
    e
}

fn hit(fields: &[(&str, &str)], body: &'static str) -> Exchange {
    ask(fields).expect(Expect::from_cache().body(body))
}

fn miss(fields: &[(&str, &str)], vary: &str) -> Exchange {
    ask(fields)
        .origin(ok("max-age=100", "other").header("vary", vary))
        .expect(
            Expect::forwarded()
                .body("other")
                .cache_status("webcache; fwd=vary-miss; fwd-status=200; stored"),
        )
}

pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("rfc9111_4_1_matching_selecting_field_is_reused", app())
            .then(store(&[("foo", "1")], "Foo", "one"))
            .then(hit(&[("foo", "1")], "one")),
        Scenario::new("rfc9111_4_1_different_selecting_field_is_not_reused", app())
            .then(store(&[("foo", "1")], "Foo", "one"))
            .then(miss(&[("foo", "2")], "Foo")),
        Scenario::new("rfc9111_4_1_field_absent_from_both_requests_matches", app())
            .then(store(&[], "Foo", "none"))
            .then(hit(&[], "none")),
        Scenario::new(
            "rfc9111_4_1_field_absent_from_the_stored_request_does_not_match",
            app(),
        )
        .then(store(&[], "Foo", "none"))
        .then(miss(&[("foo", "1")], "Foo")),
        Scenario::new(
            "rfc9111_4_1_field_absent_from_the_new_request_does_not_match",
            app(),
        )
        .then(store(&[("foo", "1")], "Foo", "one"))
        .then(miss(&[], "Foo")),
        Scenario::new("rfc9111_4_1_empty_field_differs_from_absent_field", app())
            .then(store(&[("foo", "")], "Foo", "empty"))
            .then(miss(&[], "Foo")),
        Scenario::new("rfc9111_4_1_fields_not_named_by_vary_are_not_keyed", app())
            .then(store(&[("foo", "1"), ("other", "2")], "Foo", "one"))
            .then(hit(&[("foo", "1"), ("other", "3")], "one")),
        Scenario::new("rfc9111_4_1_every_named_field_must_match", app())
            .then(store(
                &[("foo", "1"), ("bar", "abc"), ("baz", "789")],
                "Foo, Bar, Baz",
                "three",
            ))
            .then(hit(
                &[("baz", "789"), ("foo", "1"), ("bar", "abc")],
                "three",
            ))
            .then(miss(
                &[("foo", "1"), ("bar", "abcde"), ("baz", "789")],
                "Foo, Bar, Baz",
            )),
        Scenario::new("rfc9111_4_1_whitespace_is_normalised", app())
            .then(store(&[("foo", "1,2")], "Foo", "one"))
            .then(hit(&[("foo", " 1, 2 ")], "one")),
        Scenario::new("rfc9111_4_1_field_lines_are_combined", app())
            .then(store(&[("foo", "1, 2")], "Foo", "one"))
            .then(hit(&[("foo", "1"), ("foo", "2")], "one")),
        Scenario::new("rfc9111_4_1_field_values_keep_their_case_and_order", app())
            .then(store(&[("foo", "a, b")], "Foo", "one"))
            .then(miss(&[("foo", "b, a")], "Foo")),
        Scenario::new("rfc9111_4_1_accept_language_order_is_normalised", app())
            .then(store(
                &[("accept-language", "en, de")],
                "Accept-Language",
                "lang",
            ))
            .then(hit(&[("accept-language", "de, en")], "lang")),
        Scenario::new("rfc9111_4_1_accept_language_case_is_normalised", app())
            .then(store(
                &[("accept-language", "en, de")],
                "Accept-Language",
                "lang",
            ))
            .then(hit(&[("accept-language", "eN, De")], "lang")),
        Scenario::new("rfc9111_4_1_accept_language_spaces_are_normalised", app())
            .then(store(
                &[("accept-language", "en, de")],
                "Accept-Language",
                "lang",
            ))
            .then(hit(&[("accept-language", " en ,   de")], "lang")),
        Scenario::new("rfc9111_4_1_vary_field_names_are_case_insensitive", app())
            .then(store(&[("foo", "1")], "FOO", "one"))
            .then(hit(&[("Foo", "1")], "one"))
            .then(miss(&[("foo", "2")], "FOO")),
        Scenario::new("rfc9111_4_1_several_variants_are_kept", app())
            .then(store(&[("foo", "1")], "Foo", "one"))
            .then(miss(&[("foo", "2")], "Foo"))
            .then(hit(&[("foo", "1")], "one"))
            .then(hit(&[("foo", "2")], "other")),
        Scenario::new("rfc9111_4_1_vary_on_several_lines", app())
            .then(
                get("/y")
                    .header("foo", "1")
                    .header("bar", "2")
                    .origin(
                        ok("max-age=100", "one")
                            .header("vary", "foo")
                            .header("vary", "bar"),
                    )
                    .expect(Expect::forwarded()),
            )
            .then(hit(&[("foo", "1"), ("bar", "2")], "one"))
            .then(
                ask(&[("foo", "1"), ("bar", "3")])
                    .origin(
                        ok("max-age=100", "two")
                            .header("vary", "foo")
                            .header("vary", "bar"),
                    )
                    .expect(Expect::forwarded().body("two")),
            ),
        Scenario::new(
            "rfc9111_4_3_4_a_304_to_a_vary_miss_selects_the_stored_variant_it_names",
            gateway(),
        )
        .then(tagged(&[("foo", "1")], "\"e1\"", "one"))
        .then(tagged(&[("foo", "2")], "W/\"e2\"", "two"))
        .advance(10)
        .then(
            ask(&[("foo", "3")]).origin(variant_304("\"e1\"")).expect(
                Expect::forwarded()
                    .origin_calls(1)
                    // RFC 9111 §4.3.1: the stored variants' entity tags.
                    .origin_got("if-none-match", "W/\"e2\", \"e1\"")
                    .status(200)
                    .header("etag", "\"e1\"")
                    .header("x-freshened", "yes")
                    .header("age", "0")
                    .body("one")
                    .cache_status("webcache; fwd=vary-miss; fwd-status=304; ttl=100; stored"),
            ),
        )
        // Stored for the new request's selecting fields too.
        .then(hit(&[("foo", "3")], "one"))
        .then(hit(&[("foo", "1")], "one"))
        .then(hit(&[("foo", "2")], "two"))
        // A weak tag selects the variant that matches it weakly.
        .then(
            ask(&[("foo", "4")])
                .origin(variant_304("W/\"e2\""))
                .expect(Expect::forwarded().origin_calls(1).status(200).body("two")),
        ),
        Scenario::new(
            "rfc9111_4_3_4_a_304_to_a_vary_miss_naming_no_stored_variant_is_not_used",
            gateway(),
        )
        .then(tagged(&[("foo", "1")], "\"e1\"", "one"))
        .then(
            ask(&[("foo", "2")])
                .origin(variant_304("\"other\""))
                .origin(ok("max-age=100", "two").header("vary", "Foo"))
                .expect(
                    Expect::forwarded()
                        .origin_calls(2)
                        .origin_got("if-none-match", "\"e1\"")
                        .nth_origin_lacks(1, "if-none-match")
                        .status(200)
                        .body("two"),
                ),
        )
        .then(hit(&[("foo", "2")], "two")),
        Scenario::new(
            "rfc9111_4_3_1_a_vary_miss_with_the_clients_own_condition_is_forwarded_as_it_is",
            gateway(),
        )
        .then(tagged(&[("foo", "1")], "\"e1\"", "one"))
        .then(
            ask(&[("foo", "2"), ("if-none-match", "\"mine\"")])
                .origin(ok("max-age=100", "two").header("vary", "Foo"))
                .expect(
                    Expect::forwarded()
                        .origin_got("if-none-match", "\"mine\"")
                        .body("two"),
                ),
        ),
        Scenario::new(
            "rfc9111_4_3_4_a_304_to_a_vary_miss_selects_a_variant_in_front_of_an_application",
            app(),
        )
        .then(tagged(&[("foo", "1")], "\"e1\"", "one"))
        .then(
            ask(&[("foo", "2"), ("if-none-match", "\"e1\"")])
                .origin(variant_304("\"e1\""))
                .expect(
                    Expect::forwarded()
                        // The client's condition is the cache's to answer.
                        .origin_got("if-none-match", "\"e1\"")
                        .status(304),
                ),
        )
        .then(hit(&[("foo", "2")], "one")),
    ]
}

/// A request for `/y` with `fields`, answered with `ETag: etag`, `Vary:
/// Foo` and `body`, stored.
fn tagged(fields: &[(&str, &str)], etag: &str, body: &'static str) -> Exchange {
    let mut e = get("/y");
    for (n, v) in fields {
        e = e.header(n, *v);
    }
    e.origin(
        ok("max-age=100", body)
            .header("vary", "Foo")
            .header("etag", etag),
    )
    .expect(Expect::forwarded())
}

/// A 304 naming `etag`, fresh for 100 s, with a field of its own.
fn variant_304(etag: &str) -> super::super::origin::OriginResponse {
    super::not_modified()
        .header("cache-control", "max-age=100")
        .header("etag", etag)
        .header("vary", "Foo")
        .header("x-freshened", "yes")
}

//! Secondary keys from Vary (RFC 9111 §4.1).

use super::super::scenario::{Exchange, Expect, Scenario, get};
use super::{app, ok};

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
    ]
}

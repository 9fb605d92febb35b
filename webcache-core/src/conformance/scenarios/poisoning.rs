//! Cache poisoning and deception: no response is served to a client that
//! another client's credentials, cookies or Host produced (RFC 9111 §3,
//! §3.5, §4.1, §5.2.2.7; RFC 9110 §4.2.3, §7.2, §9.3.1, §9.3.2, §14).
//!
//! Each scenario has two clients: the first makes the origin produce a
//! response that depends on something of its own (a header, a credential,
//! a cookie, a Host), the second asks for "the same" resource and must
//! get the origin's answer to it, never the first client's.
//!
//! # Request header fields: keyed, stripped or passed
//!
//! What the cache does with each request field an attacker may set, the
//! same through every adapter and the proxy (the proxy adds its own
//! RFC 9112 validation in front, see its crate docs):
//!
//! | field | keyed | stripped | passed to the origin |
//! |---|---|---|---|
//! | Host (or the authority of an absolute-form target, which wins over Host, RFC 9112 §3.2.2) | yes: lower-cased, default port dropped (RFC 9110 §4.2.3); a trailing dot is another key | no | yes |
//! | X-Forwarded-Host, X-Original-URL, X-Rewrite-URL, X-Forwarded-Scheme, X-HTTP-Method-Override | no, unless the response has `Vary` on them | no | yes, unchanged |
//! | Authorization | no: a response to it is not stored by a shared cache (§3.5) unless `public`, `s-maxage` or `must-revalidate` | no | yes |
//! | Cookie | no, unless `Vary: Cookie`; responses setting a cookie are not stored (the one documented deviation) | no | yes |
//! | the fields named by the stored response's `Vary` | yes (secondary key, §4.1) | no | yes |
//! | a GET's body | no | no | yes |
//!
//! The consequence for applications: an origin that reflects an unkeyed
//! field into a cacheable response (`X-Forwarded-Host` into links, say)
//! must send `Vary` on it or not reflect it — the cache cannot know (the
//! `…_unkeyed_…` scenarios show the stored response reused across values).
//! Requests with CR, LF or NUL in a field value or the target, and the
//! smuggling shapes (Content-Length with Transfer-Encoding, two
//! Content-Lengths, obs-fold, chunk-size overflow), cannot be written with
//! the `http` types these scenarios use: the HTTP/1 parsers reject them
//! before the cache (the proxy's raw-bytes tests prove its side).

use super::super::origin::OriginResponse;
use super::super::scenario::{Expect, Scenario, get, head, request};
use super::{app, ok};

/// The unkeyed fields an origin may act on, with the value an attacker
/// sends.
const UNKEYED: [(&str, &str); 5] = [
    ("x-forwarded-host", "evil.test"),
    ("x-original-url", "/admin"),
    ("x-rewrite-url", "/admin"),
    ("x-forwarded-scheme", "nothttps"),
    ("x-http-method-override", "DELETE"),
];

pub(super) fn scenarios() -> Vec<Scenario> {
    let mut all = vec![unkeyed_fields_are_passed()];
    all.extend(varied_unkeyed_fields());
    all.extend(unkeyed_fields_reused());
    all.extend(hosts());
    all.extend(credentials());
    all.extend(deception());
    all
}

/// The attacker's fields reach the origin unchanged, the method and target
/// as sent: the origin sees what the client sent.
fn unkeyed_fields_are_passed() -> Scenario {
    let mut exchange = get("/p");
    let mut expect = Expect::forwarded().origin_method("GET").origin_target("/p");
    for (field, value) in UNKEYED {
        exchange = exchange.header(field, value);
        expect = expect.origin_got(field, value);
    }
    Scenario::new(
        "rfc9111_4_poisoning_unkeyed_fields_reach_the_origin_unchanged",
        app(),
    )
    .then(exchange.origin(ok("max-age=60", "a")).expect(expect))
}

/// A response that says it varies on the attacker's field is never served
/// to a request without it, nor with another value.
fn varied_unkeyed_fields() -> Vec<Scenario> {
    let names = [
        "rfc9111_4_1_poisoning_vary_keys_x_forwarded_host",
        "rfc9111_4_1_poisoning_vary_keys_x_original_url",
        "rfc9111_4_1_poisoning_vary_keys_x_rewrite_url",
        "rfc9111_4_1_poisoning_vary_keys_x_forwarded_scheme",
        "rfc9111_4_1_poisoning_vary_keys_x_http_method_override",
    ];
    UNKEYED
        .iter()
        .zip(names)
        .map(|(&(field, value), name)| {
            let reflected = |body| ok("max-age=60", body).header("vary", field);
            Scenario::new(name, app())
                .then(
                    get("/p")
                        .header(field, value)
                        .origin(reflected("poisoned"))
                        .expect(Expect::forwarded().stored()),
                )
                .then(
                    get("/p")
                        .origin(reflected("clean"))
                        .expect(Expect::forwarded().body("clean")),
                )
                .then(
                    get("/p")
                        .header(field, "other")
                        .origin(reflected("other"))
                        .expect(Expect::forwarded().body("other")),
                )
                .then(
                    get("/p")
                        .header(field, value)
                        .expect(Expect::from_cache().body("poisoned")),
                )
        })
        .collect()
}

/// Without Vary the fields are not part of the key: what one value made
/// is reused for every other (documented: the origin must Vary).
fn unkeyed_fields_reused() -> Vec<Scenario> {
    let names = [
        "rfc9111_4_poisoning_unkeyed_x_forwarded_host_does_not_select",
        "rfc9111_4_poisoning_unkeyed_x_original_url_does_not_select",
        "rfc9111_4_poisoning_unkeyed_x_rewrite_url_does_not_select",
        "rfc9111_4_poisoning_unkeyed_x_forwarded_scheme_does_not_select",
        "rfc9111_4_poisoning_unkeyed_x_http_method_override_does_not_select",
    ];
    UNKEYED
        .iter()
        .zip(names)
        .map(|(&(field, value), name)| {
            Scenario::new(name, app())
                .then(
                    get("/p")
                        .origin(ok("max-age=60", "clean"))
                        .expect(Expect::forwarded().stored()),
                )
                .then(
                    get("/p")
                        .header(field, value)
                        .expect(Expect::from_cache().body("clean")),
                )
        })
        .collect()
}

/// One client's Host never selects a response another Host produced;
/// equivalent spellings of one authority (RFC 9110 §4.2.3) share it.
fn hosts() -> Vec<Scenario> {
    let stored = || {
        get("/h")
            .header("host", "a.test")
            .origin(ok("max-age=60", "a.test's"))
            .expect(Expect::forwarded().stored())
    };
    let other = |host: &str| {
        get("/h")
            .header("host", host)
            .origin(ok("max-age=60", "other's"))
            .expect(Expect::forwarded().body("other's"))
    };
    let same = |host: &str| {
        get("/h")
            .header("host", host)
            .expect(Expect::from_cache().body("a.test's"))
    };
    vec![
        Scenario::new(
            "rfc9110_7_2_poisoning_another_host_is_another_resource",
            app(),
        )
        .then(stored())
        .then(other("b.test"))
        .then(other("a.test:8080"))
        .then(other("a.test."))
        .then(other("b.a.test")),
        Scenario::new(
            "rfc9110_4_2_3_poisoning_host_case_and_default_port_are_one_resource",
            app(),
        )
        .then(stored())
        .then(same("A.TEST"))
        .then(same("a.test:80")),
        // RFC 9112 §3.2.2: the target's authority wins over Host.
        Scenario::new(
            "rfc9112_3_2_2_poisoning_an_absolute_form_target_is_keyed_by_its_own_authority",
            app(),
        )
        .then(
            get("http://b.test/h")
                .header("host", "a.test")
                .origin(ok("max-age=60", "b.test's"))
                .expect(Expect::forwarded().stored()),
        )
        .then(other("a.test"))
        .then(
            get("/h")
                .header("host", "b.test")
                .expect(Expect::from_cache().body("b.test's")),
        ),
    ]
}

/// Credentials and cookies: what one client's produced is not served to
/// another.
fn credentials() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "rfc9111_3_5_poisoning_one_users_authorized_response_is_not_served_to_another",
            app(),
        )
        .then(
            get("/me")
                .header("authorization", "Bearer alice")
                .origin(ok("max-age=60", "alice's"))
                .expect(Expect::forwarded().not_stored()),
        )
        .then(
            get("/me")
                .header("authorization", "Bearer bob")
                .origin(ok("max-age=60", "bob's"))
                .expect(Expect::forwarded().body("bob's")),
        )
        .then(
            get("/me")
                .origin(ok("max-age=60", "anonymous"))
                .expect(Expect::forwarded().body("anonymous")),
        ),
        Scenario::new(
            "rfc9111_4_1_poisoning_vary_cookie_keeps_one_sessions_response_from_another",
            app(),
        )
        .then(
            get("/c")
                .header("cookie", "session=alice")
                .origin(ok("max-age=60", "alice's").header("vary", "cookie"))
                .expect(Expect::forwarded().stored()),
        )
        .then(
            get("/c")
                .header("cookie", "session=bob")
                .origin(ok("max-age=60", "bob's").header("vary", "cookie"))
                .expect(Expect::forwarded().body("bob's")),
        )
        .then(
            get("/c")
                .origin(ok("max-age=60", "anonymous").header("vary", "cookie"))
                .expect(Expect::forwarded().body("anonymous")),
        ),
        Scenario::new(
            "deviation_poisoning_a_set_cookie_is_never_replayed_to_another_client",
            app(),
        )
        .then(
            get("/login")
                .origin(ok("max-age=60", "welcome").header("set-cookie", "session=alice"))
                .expect(
                    Expect::forwarded()
                        .not_stored()
                        .header("set-cookie", "session=alice"),
                ),
        )
        .then(
            get("/login")
                .origin(ok("max-age=60", "welcome"))
                .expect(Expect::forwarded().absent("set-cookie")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_7_poisoning_private_is_never_served_to_another_client",
            app(),
        )
        .then(
            get("/account")
                .header("cookie", "session=alice")
                .origin(ok("private, max-age=60", "alice's account"))
                .expect(Expect::forwarded().not_stored()),
        )
        .then(
            get("/account")
                .header("cookie", "session=bob")
                .origin(ok("private, max-age=60", "bob's account"))
                .expect(Expect::forwarded().body("bob's account")),
        ),
        Scenario::new(
            "rfc9111_5_2_2_7_poisoning_private_field_names_keep_those_fields_from_another_client",
            app(),
        )
        .then(
            get("/qp")
                .origin(
                    ok("private=\"x-user\", max-age=60", "shared body").header("x-user", "alice"),
                )
                .expect(Expect::forwarded().header("x-user", "alice")),
        )
        .then(
            get("/qp")
                .origin(ok("max-age=60", "from the origin"))
                .expect(Expect::default().absent("x-user")),
        ),
        Scenario::new(
            "rfc9111_4_1_poisoning_vary_star_is_never_served_to_another_client",
            app(),
        )
        .then(
            get("/vs")
                .header("cookie", "session=alice")
                .origin(ok("max-age=60", "alice's").header("vary", "*"))
                .expect(Expect::forwarded().not_stored()),
        )
        .then(
            get("/vs")
                .header("cookie", "session=alice")
                .origin(ok("max-age=60", "again").header("vary", "*"))
                .expect(Expect::forwarded().body("again")),
        ),
    ]
}

/// Web cache deception and method confusion.
fn deception() -> Vec<Scenario> {
    vec![
        // The path looks static; the route behind it is private: the
        // extension decides nothing.
        Scenario::new(
            "rfc9111_5_2_2_7_poisoning_deception_a_static_looking_path_answered_private_is_not_stored",
            app(),
        )
        .then(
            get("/account/x.css")
                .header("cookie", "session=alice")
                .origin(ok("private", "alice's account page"))
                .expect(Expect::forwarded().not_stored()),
        )
        .then(
            get("/account/x.css")
                .origin(OriginResponse::new(302).date().header("location", "/login"))
                .expect(Expect::forwarded().status(302)),
        ),
        // Without any freshness information or validator, nothing is
        // reused for another client either (no heuristic freshness).
        Scenario::new(
            "rfc9111_4_2_2_poisoning_deception_a_static_looking_path_without_freshness_is_not_reused",
            app(),
        )
        .then(
            get("/account/y.css")
                .header("cookie", "session=alice")
                .origin(OriginResponse::ok().date().body("alice's account page"))
                .expect(Expect::forwarded()),
        )
        .then(
            get("/account/y.css")
                .origin(OriginResponse::new(302).date().header("location", "/login"))
                .expect(Expect::forwarded().status(302)),
        ),
        // RFC 9110 §9.3.1: a GET's content has no defined semantics; the
        // cache forwards it and does not key on it (documented above).
        Scenario::new("rfc9110_9_3_1_poisoning_a_get_body_reaches_the_origin", app())
            .then(
                get("/gb")
                    .body("x=1")
                    .origin(ok("max-age=60", "a"))
                    .expect(Expect::forwarded().stored().origin_body("x=1")),
            )
            .then(get("/gb").expect(Expect::from_cache().body("a"))),
        // HEAD shares the GET's entry one way only: a stored GET answers
        // HEAD, a HEAD's (empty) response never answers a GET.
        Scenario::new(
            "rfc9110_9_3_2_poisoning_a_head_response_never_answers_a_get",
            app(),
        )
        .then(
            head("/hg")
                .origin(ok("max-age=60", "").header("content-length", "4"))
                .expect(Expect::forwarded().origin_method("HEAD")),
        )
        .then(
            get("/hg")
                .origin(ok("max-age=60", "body"))
                .expect(Expect::forwarded().origin_method("GET").body("body")),
        )
        .then(head("/hg").expect(Expect::from_cache().status(200).body(""))),
        // A part of a private resource is no more shareable than the whole.
        Scenario::new(
            "rfc9111_3_4_poisoning_a_range_of_a_private_resource_is_not_stored",
            app(),
        )
        .then(
            get("/pr")
                .header("range", "bytes=0-3")
                .header("cookie", "session=alice")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "private, max-age=60")
                        .header("content-range", "bytes 0-3/20")
                        .body("alic"),
                )
                .expect(Expect::forwarded().status(206).not_stored()),
        )
        .then(
            get("/pr")
                .header("range", "bytes=0-3")
                .origin(
                    OriginResponse::new(206)
                        .date()
                        .header("cache-control", "private, max-age=60")
                        .header("content-range", "bytes 0-3/20")
                        .body("anon"),
                )
                .expect(Expect::forwarded().body("anon")),
        )
        .then(
            get("/pr")
                .origin(ok("private, max-age=60", "anonymous page"))
                .expect(Expect::forwarded().body("anonymous page")),
        ),
        // X-HTTP-Method-Override is a field, not a method: the GET stays a
        // GET (stored, and invalidating nothing).
        Scenario::new(
            "rfc9110_9_3_poisoning_a_method_override_field_does_not_make_a_get_unsafe",
            app(),
        )
        .then(
            get("/mo")
                .origin(ok("max-age=60", "a"))
                .expect(Expect::forwarded().stored()),
        )
        .then(
            request("GET", "/mo")
                .header("x-http-method-override", "DELETE")
                .expect(Expect::from_cache().body("a")),
        ),
    ]
}

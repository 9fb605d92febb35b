//! Targeted cache-control fields (RFC 9213): `CDN-Cache-Control` and its
//! kin, which give one class of caches directives of its own.
//!
//! A cache configured with a list of targeted field names
//! ([`ConfigBuilder::targeted_fields`](crate::ConfigBuilder::targeted_fields);
//! the gateway configuration lists `CDN-Cache-Control`) uses the first of
//! them that a response carries with a valid, non-empty value, and then
//! ignores the response's Cache-Control **and** Expires for its own
//! storage and freshness decisions (RFC 9213 §2.2). The fields themselves
//! are stored and forwarded unchanged.
//!
//! A targeted field is a Structured Field Dictionary (RFC 8941); a field
//! that does not parse as one is ignored as a whole (RFC 9213 §2.1). Within
//! a valid field, a directive whose value has the wrong type (a string for
//! `max-age`, say) is ignored on its own: RFC 9213 §2.1 says implementations
//! should not consume values that violate the directives' constraints.
//!
//! ```
//! use http::{HeaderMap, HeaderValue};
//! use webcache_core::Config;
//! use webcache_core::targeted::response_cache_control;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("cache-control", HeaderValue::from_static("no-store"));
//! headers.insert("cdn-cache-control", HeaderValue::from_static("max-age=600"));
//! let gateway = Config::gateway_builder().build().unwrap();
//! let cc = response_cache_control(&headers, &gateway);
//! assert_eq!(cc.max_age_secs(), Some(600));
//! assert!(!cc.is_no_store() && cc.is_targeted());
//! // A cache that does not target CDN-Cache-Control reads Cache-Control.
//! let application = Config::default();
//! assert!(response_cache_control(&headers, &application).is_no_store());
//! ```

use http::header::{CACHE_CONTROL, HeaderMap, HeaderName};

use crate::config::Config;
use crate::headers::CacheControl;
use crate::headers::list::{is_ows, is_token, split_members, unquote};
use crate::headers::structured::{Item, parse_dictionary};

/// The `CDN-Cache-Control` field (RFC 9213 §3).
pub const CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

/// The `Surrogate-Control` field (W3C Edge Architecture Specification 1.0,
/// the older form of targeted cache control). Unlike RFC 9213 fields it is
/// a Cache-Control-like list whose directives may name the surrogate they
/// are for (`max-age=60;edge`); this cache obeys the untargeted ones and
/// those naming it by its Cache-Status name (see [`surrogate_cache_control`]).
pub const SURROGATE_CONTROL: HeaderName = HeaderName::from_static("surrogate-control");

/// The response directives this cache obeys (RFC 9213 §2.2): those of the
/// first field of [`Config::targeted_fields`] that is present, valid and
/// not empty; otherwise the response's Cache-Control (RFC 9111 §5.2).
pub fn response_cache_control(headers: &HeaderMap, config: &Config) -> CacheControl {
    for name in config.targeted_fields() {
        let targeted = if *name == SURROGATE_CONTROL {
            surrogate_cache_control(headers, config.cache_status().unwrap_or("webcache"))
        } else {
            targeted_cache_control(headers, name)
        };
        if let Some(cc) = targeted {
            return cc;
        }
    }
    CacheControl::from_headers(headers).unwrap_or_default()
}

/// The directives of `Surrogate-Control` (Edge Architecture Specification
/// 1.0 §3) that apply to the surrogate named `device`: members without a
/// target, and members whose `;target` is `device` (case-insensitively).
/// `max-age=N+M` counts as `max-age=N`. Marked
/// [`CacheControl::is_targeted`]; `None` when the field is absent, has no
/// member for this surrogate, or is malformed anywhere (whitespace around
/// `=`, a name that is not a token) — then it is ignored as a whole, as an
/// invalid RFC 9213 field is.
pub fn surrogate_cache_control(headers: &HeaderMap, device: &str) -> Option<CacheControl> {
    let mut lines = headers.get_all(SURROGATE_CONTROL).iter().peekable();
    lines.peek()?;
    let mut cc = CacheControl::default();
    let mut applied = false;
    for line in lines {
        for member in split_members(line.as_bytes()) {
            let (directive, target) = split_target(member)?;
            if target.is_some_and(|t| !t.eq_ignore_ascii_case(device.as_bytes())) {
                continue;
            }
            let (name, value) = match directive.iter().position(|&b| b == b'=') {
                Some(eq) => (&directive[..eq], Some(&directive[eq + 1..])),
                None => (directive, None),
            };
            if !is_token(name)
                || value.is_some_and(|v| v.is_empty() || v.iter().any(|&b| is_ows(b)))
            {
                return None;
            }
            match value {
                Some(v) if v.first() == Some(&b'"') => {
                    let unquoted = unquote(v)?;
                    cc.apply(name, Some(&unquoted));
                }
                // `max-age=freshness+stale`: the stale part is ESI's.
                Some(v) if name.eq_ignore_ascii_case(b"max-age") => {
                    cc.apply(name, v.split(|&b| b == b'+').next());
                }
                other => cc.apply(name, other),
            }
            applied = true;
        }
    }
    if !applied {
        return None;
    }
    cc.set_targeted();
    Some(cc)
}

/// Splits `directive;target` at a `;` outside quotes; `None` when the member
/// is malformed (whitespace outside quotes, or an empty target).
fn split_target(member: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let mut in_quotes = false;
    let mut split = None;
    for (i, &b) in member.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b';' if !in_quotes => split = Some(i),
            b if is_ows(b) && !in_quotes => return None,
            _ => {}
        }
    }
    match split {
        None => Some((member, None)),
        Some(i) if i + 1 < member.len() && is_token(&member[i + 1..]) => {
            Some((&member[..i], Some(&member[i + 1..])))
        }
        Some(_) => None,
    }
}

/// The directives of the targeted field `name` (RFC 9213 §2.1), marked
/// [`CacheControl::is_targeted`]; `None` when the field is absent, empty,
/// or not a valid Structured Field Dictionary.
pub fn targeted_cache_control(headers: &HeaderMap, name: &HeaderName) -> Option<CacheControl> {
    if *name == CACHE_CONTROL {
        return None;
    }
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let dictionary = parse_dictionary(lines.map(|v| v.as_bytes()))?;
    if dictionary.is_empty() {
        return None;
    }
    let mut cc = CacheControl::default();
    for (key, item) in &dictionary {
        apply(&mut cc, key, item);
    }
    cc.set_targeted();
    Some(cc)
}

/// Applies one dictionary member as the cache directive it names, if its
/// value has the type the directive's value needs (RFC 9213 §2.1).
fn apply(cc: &mut CacheControl, key: &[u8], item: &Item) {
    match key {
        // Integer-valued directives (delta-seconds).
        b"max-age" | b"s-maxage" | b"stale-while-revalidate" | b"stale-if-error" => {
            if let Item::Integer(n) = item {
                if *n >= 0 {
                    cc.apply(key, Some(n.to_string().as_bytes()));
                }
            }
        }
        // Directives that take no value: Boolean true.
        b"no-store" | b"no-transform" | b"must-revalidate" | b"proxy-revalidate"
        | b"must-understand" | b"public" | b"immutable" => {
            if *item == Item::Boolean(true) {
                cc.apply(key, None);
            }
        }
        // No value (the whole response) or a string of field names.
        b"no-cache" | b"private" => match item {
            Item::Boolean(true) => cc.apply(key, None),
            Item::String(names) => cc.apply(key, Some(names)),
            _ => {}
        },
        // Extensions: kept with whatever simple value they have.
        _ => match item {
            Item::Boolean(true) => cc.apply(key, None),
            Item::Integer(n) => cc.apply(key, Some(n.to_string().as_bytes())),
            Item::String(s) | Item::Token(s) => cc.apply(key, Some(s)),
            _ => {}
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn gateway() -> Config {
        Config::gateway_builder().build().unwrap()
    }

    #[test]
    fn rfc9213_2_2_a_valid_targeted_field_replaces_cache_control() {
        let h = headers(&[
            ("cache-control", "no-store"),
            ("cdn-cache-control", "max-age=10000"),
        ]);
        let cc = response_cache_control(&h, &gateway());
        assert_eq!(cc.max_age_secs(), Some(10000));
        assert!(!cc.is_no_store());
        assert!(cc.is_targeted());
        let h = headers(&[
            ("cache-control", "max-age=3600"),
            ("cdn-cache-control", "max-age=1"),
        ]);
        assert_eq!(
            response_cache_control(&h, &gateway()).max_age_secs(),
            Some(1)
        );
        let h = headers(&[
            ("cache-control", "max-age=10000"),
            ("cdn-cache-control", "private"),
        ]);
        let cc = response_cache_control(&h, &gateway());
        assert!(cc.is_private() && cc.max_age().is_none());
        let h = headers(&[(
            "cdn-cache-control",
            "no-cache, no-store, must-revalidate, public",
        )]);
        let cc = response_cache_control(&h, &gateway());
        assert!(cc.is_no_cache() && cc.is_no_store() && cc.is_must_revalidate() && cc.is_public());
        let h = headers(&[(
            "cdn-cache-control",
            "no-cache=\"set-cookie, x-a\", s-maxage=5",
        )]);
        let cc = response_cache_control(&h, &gateway());
        assert!(cc.no_cache().is_some() && !cc.is_no_cache());
        assert_eq!(cc.s_maxage().and_then(|d| d.secs()), Some(5));
    }

    #[test]
    fn rfc9213_2_1_an_invalid_or_empty_field_is_ignored_whole() {
        for bad in [
            "max-age =100",
            "max-age= 100",
            "max-age=10000, &&&&&",
            "MaX-aGe=3600",
            "",
        ] {
            let h = headers(&[("cache-control", "no-store"), ("cdn-cache-control", bad)]);
            let cc = response_cache_control(&h, &gateway());
            assert!(cc.is_no_store() && !cc.is_targeted(), "{bad:?}");
        }
    }

    #[test]
    fn rfc9213_2_1_members_of_the_wrong_type_are_ignored_alone() {
        let h = headers(&[
            ("cache-control", "no-store"),
            (
                "cdn-cache-control",
                "max-age=\"10000\", s-maxage=-1, no-store=?0, public=1",
            ),
        ]);
        let cc = response_cache_control(&h, &gateway());
        assert!(cc.is_targeted());
        assert!(cc.max_age().is_none() && cc.s_maxage().is_none());
        assert!(!cc.is_no_store() && !cc.is_public());
        // Large integers saturate like delta-seconds.
        let h = headers(&[("cdn-cache-control", "max-age=99999999999")]);
        assert_eq!(
            response_cache_control(&h, &gateway()).max_age_secs(),
            Some(1 << 31)
        );
        // Parameters are ignored; unknown directives are kept as extensions.
        let h = headers(&[("cdn-cache-control", "max-age=60;foo=bar, foobar")]);
        let cc = response_cache_control(&h, &gateway());
        assert_eq!(cc.max_age_secs(), Some(60));
        assert_eq!(cc.extensions()[0].name, "foobar");
    }

    #[test]
    fn rfc9213_2_2_the_first_valid_field_of_the_target_list_wins() {
        let config = Config::gateway_builder()
            .targeted_fields([
                HeaderName::from_static("examplecdn-cache-control"),
                CDN_CACHE_CONTROL,
            ])
            .build()
            .unwrap();
        let h = headers(&[
            ("cdn-cache-control", "max-age=1"),
            ("examplecdn-cache-control", "max-age=2"),
        ]);
        assert_eq!(response_cache_control(&h, &config).max_age_secs(), Some(2));
        let h = headers(&[
            ("cdn-cache-control", "max-age=1"),
            ("examplecdn-cache-control", "max-age =2"),
        ]);
        assert_eq!(response_cache_control(&h, &config).max_age_secs(), Some(1));
        // A field not on the list changes nothing.
        let h = headers(&[
            ("cache-control", "max-age=5"),
            ("other-cache-control", "max-age=9"),
        ]);
        assert_eq!(response_cache_control(&h, &config).max_age_secs(), Some(5));
    }

    #[test]
    fn edge_arch_surrogate_control_applies_untargeted_and_own_directives() {
        let h = headers(&[
            ("cache-control", "no-store"),
            ("surrogate-control", "max-age=60"),
        ]);
        let cc = response_cache_control(&h, &gateway());
        assert_eq!(cc.max_age_secs(), Some(60));
        assert!(cc.is_targeted() && !cc.is_no_store());
        // Targeted at this cache (its Cache-Status name), or at another.
        let h = headers(&[("surrogate-control", "max-age=60;WEBCACHE, no-store;edge-2")]);
        let cc = response_cache_control(&h, &gateway());
        assert_eq!(cc.max_age_secs(), Some(60));
        assert!(!cc.is_no_store());
        let h = headers(&[
            ("cache-control", "max-age=5"),
            ("surrogate-control", "max-age=60;other"),
        ]);
        let cc = response_cache_control(&h, &gateway());
        assert_eq!(
            cc.max_age_secs(),
            Some(5),
            "nothing for us: Cache-Control rules"
        );
        // max-age=freshness+stale, and case-insensitive names.
        let h = headers(&[("surrogate-control", "MaX-aGe=30+600, content=\"ESI/1.0\"")]);
        assert_eq!(
            response_cache_control(&h, &gateway()).max_age_secs(),
            Some(30)
        );
        // CDN-Cache-Control comes first in the gateway's list.
        let h = headers(&[
            ("cdn-cache-control", "max-age=1"),
            ("surrogate-control", "max-age=60"),
        ]);
        assert_eq!(
            response_cache_control(&h, &gateway()).max_age_secs(),
            Some(1)
        );
    }

    #[test]
    fn edge_arch_malformed_surrogate_control_is_ignored_whole() {
        for bad in [
            "max-age =100",
            "max-age= 100",
            "max-age=100;",
            "max age=1",
            "max-age=\"1",
        ] {
            let h = headers(&[("cache-control", "max-age=5"), ("surrogate-control", bad)]);
            assert_eq!(
                response_cache_control(&h, &gateway()).max_age_secs(),
                Some(5),
                "{bad}"
            );
        }
    }

    #[test]
    fn rfc9213_2_2_the_application_role_targets_nothing_by_default() {
        let h = headers(&[
            ("cache-control", "max-age=5"),
            ("cdn-cache-control", "max-age=9"),
        ]);
        let cc = response_cache_control(&h, &Config::default());
        assert_eq!(cc.max_age_secs(), Some(5));
        assert!(!cc.is_targeted());
    }
}

/// Targeted fields through [`Cache::serve`](crate::Cache::serve): storage
/// and freshness follow CDN-Cache-Control, and the field is forwarded.
#[cfg(test)]
mod serve_tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    use bytes::Bytes;
    use http::{HeaderValue, Request, Response};
    use http_body_util::{BodyExt, Full};

    use crate::clock::{Clock, ManualClock};
    use crate::headers::fmt_http_date;
    use crate::testing::MapStore;
    use crate::{Cache, Config, Upstream};

    /// Answers with the given fields (`Expires` as an offset from now),
    /// counting calls.
    #[derive(Clone)]
    struct Origin {
        fields: Vec<(&'static str, &'static str)>,
        expires_in: Option<u64>,
        clock: ManualClock,
        calls: Arc<Mutex<usize>>,
    }

    impl Upstream<Bytes> for Origin {
        type Body = Full<Bytes>;
        type Error = Infallible;
        async fn call(
            &mut self,
            _req: Request<Bytes>,
        ) -> Result<Response<Full<Bytes>>, Infallible> {
            *self.calls.lock().unwrap() += 1;
            let mut response = Response::new(Full::new(Bytes::from_static(b"body")));
            let h = response.headers_mut();
            h.insert("date", fmt_http_date(self.clock.now()));
            if let Some(secs) = self.expires_in {
                h.insert(
                    "expires",
                    fmt_http_date(self.clock.now() + Duration::from_secs(secs)),
                );
            }
            for (n, v) in &self.fields {
                h.append(*n, HeaderValue::from_static(v));
            }
            Ok(response)
        }
    }

    /// Sends two requests 2 s apart; returns the origin's call count and the
    /// second response.
    async fn twice(
        fields: &[(&'static str, &'static str)],
        expires_in: Option<u64>,
    ) -> (usize, Response<Bytes>) {
        let clock = ManualClock::new(SystemTime::now());
        let cache = Cache::builder(MapStore::default())
            .config(Config::gateway_builder().build().unwrap())
            .clock(clock.clone())
            .build();
        let origin = Origin {
            fields: fields.to_vec(),
            expires_in,
            clock: clock.clone(),
            calls: Arc::default(),
        };
        let mut last = None;
        for _ in 0..2 {
            let req = Request::get("http://a.test/t").body(Bytes::new()).unwrap();
            let response = cache.serve(req, origin.clone()).await.unwrap();
            let (parts, body) = response.into_parts();
            last = Some(Response::from_parts(
                parts,
                body.collect().await.unwrap().to_bytes(),
            ));
            cache.quiesce().await;
            clock.advance(Duration::from_secs(2));
        }
        let calls = *origin.calls.lock().unwrap();
        (calls, last.unwrap())
    }

    #[tokio::test]
    async fn rfc9213_2_2_cdn_cache_control_overrides_cache_control_no_store() {
        let (calls, second) = twice(
            &[
                ("cache-control", "no-store"),
                ("cdn-cache-control", "max-age=10000"),
            ],
            None,
        )
        .await;
        assert_eq!(calls, 1);
        // Forwarded unchanged, Cache-Control too.
        assert_eq!(second.headers()["cdn-cache-control"], "max-age=10000");
        assert_eq!(second.headers()["cache-control"], "no-store");
        assert_eq!(second.headers()["age"], "2");
    }

    #[tokio::test]
    async fn rfc9213_2_2_cdn_cache_control_overrides_expires() {
        let (calls, _) = twice(&[("cdn-cache-control", "max-age=0")], Some(10_000)).await;
        assert_eq!(calls, 2);
        // Without a freshness directive, Expires is ignored as well.
        let (calls, _) = twice(&[("cdn-cache-control", "must-revalidate")], Some(10_000)).await;
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn rfc9213_2_2_cdn_private_and_no_cache_win_over_a_fresh_cache_control() {
        for cdn in ["private", "no-cache", "no-store"] {
            let (calls, _) = twice(
                &[
                    ("cache-control", "max-age=10000"),
                    ("cdn-cache-control", cdn),
                ],
                Some(10_000),
            )
            .await;
            assert_eq!(calls, 2, "{cdn}");
        }
    }

    #[tokio::test]
    async fn rfc9213_2_1_an_invalid_cdn_cache_control_leaves_cache_control_in_force() {
        let (calls, _) = twice(
            &[
                ("cache-control", "no-store"),
                ("cdn-cache-control", "max-age=10000, &&&&&"),
            ],
            None,
        )
        .await;
        assert_eq!(calls, 2);
        let (calls, _) = twice(
            &[
                ("cache-control", "max-age=1"),
                ("cdn-cache-control", "max-age =100"),
            ],
            None,
        )
        .await;
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn edge_arch_surrogate_control_governs_storage_and_freshness() {
        // no-store for surrogates beats a fresh Cache-Control.
        let (calls, _) = twice(
            &[
                ("cache-control", "max-age=10000"),
                ("surrogate-control", "no-store"),
            ],
            Some(10000),
        )
        .await;
        assert_eq!(calls, 2);
        // max-age for surrogates beats Cache-Control: no-store.
        let (calls, _) = twice(
            &[
                ("cache-control", "no-store"),
                ("surrogate-control", "max-age=10000"),
            ],
            None,
        )
        .await;
        assert_eq!(calls, 1);
        // max-age=0 beats a future Expires.
        let (calls, _) = twice(&[("surrogate-control", "max-age=0")], Some(10000)).await;
        assert_eq!(calls, 2);
        // A shorter max-age than Cache-Control's wins.
        let (calls, second) = twice(
            &[
                ("cache-control", "max-age=3600"),
                ("surrogate-control", "max-age=1"),
            ],
            None,
        )
        .await;
        assert_eq!(calls, 2);
        assert_eq!(
            second.headers()["surrogate-control"],
            "max-age=1",
            "forwarded unchanged"
        );
    }
}

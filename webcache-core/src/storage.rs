//! Whether a response may be stored (RFC 9111 §3), which of its fields are
//! stored (§3.1), and how long the store keeps it.

use std::fmt;
use std::time::Duration;

use http::header::{
    CONTENT_LENGTH, CONTENT_LOCATION, ETAG, HeaderMap, LAST_MODIFIED, SET_COOKIE, TRAILER,
};
use http::{Method, StatusCode};

use crate::config::Config;
use crate::freshness::{Freshness, is_heuristically_cacheable};
use crate::headers::{CacheControl, FieldNames, Vary, connection_options, is_hop_by_hop};
use crate::request::RequestFacts;

/// Why a response is not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotStorable {
    /// The request method is not GET (the only method whose responses this
    /// cache stores).
    Method,
    /// The status code is not final (1xx).
    NotFinal,
    /// 304 is never stored (it updates stored responses), or
    /// `must-understand` names a status this cache does not understand
    /// (RFC 9111 §3, §5.2.2.3).
    StatusNotUnderstood,
    /// A 206 whose Content-Range the cache cannot store: absent (a
    /// multipart 206), repeated, invalid, in a unit other than `bytes`, or
    /// without the complete length (RFC 9111 §3.3, RFC 9110 §14.4).
    ContentRange,
    /// A 206 without a strong validator, where one is required (RFC 9111
    /// §3.4, RFC 9110 §8.8.1). This crate's rules no longer refuse such a
    /// part — it is stored, and never combined — but a
    /// [`Storability`](crate::handler::Storability) override may.
    NoStrongValidator,
    /// A 206 answering a request with If-Range, which may lack the
    /// representation's fields, matches no stored response to combine
    /// with (RFC 9110 §15.3.7).
    UncombinablePart,
    /// `no-store` in the request (RFC 9111 §5.2.1.5).
    RequestNoStore,
    /// `no-store` in the response (RFC 9111 §5.2.2.5).
    NoStore,
    /// `private` in a shared cache (RFC 9111 §5.2.2.7).
    Private,
    /// The request carried Authorization and the response does not allow
    /// shared caching (RFC 9111 §3.5).
    Authorization,
    /// The response sets a cookie and is neither `public` nor carries
    /// `s-maxage` (the documented deviation, see
    /// [`Config::store_set_cookie`]).
    SetCookie,
    /// `Vary: *` never matches a later request (RFC 9111 §4.1).
    VaryAny,
    /// Nothing in the response makes it cacheable: no explicit freshness,
    /// no `public`, and a status that is not heuristically cacheable (RFC
    /// 9111 §3).
    NotCacheable,
    /// The body is larger than [`Config::max_body_size`].
    BodyTooLarge,
    /// The header section, or the request fields it varies on, are larger
    /// than [`Config::max_header_bytes`].
    HeadersTooLarge,
    /// The body ended early, failed, or disagrees with Content-Length.
    Incomplete,
    /// The resource is exempt by configuration.
    Exempt,
}

impl fmt::Display for NotStorable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            NotStorable::Method => "method",
            NotStorable::NotFinal => "not-final",
            NotStorable::StatusNotUnderstood => "status-not-understood",
            NotStorable::ContentRange => "content-range",
            NotStorable::NoStrongValidator => "no-strong-validator",
            NotStorable::UncombinablePart => "uncombinable-part",
            NotStorable::RequestNoStore => "request-no-store",
            NotStorable::NoStore => "no-store",
            NotStorable::Private => "private",
            NotStorable::Authorization => "authorization",
            NotStorable::SetCookie => "set-cookie",
            NotStorable::VaryAny => "vary-star",
            NotStorable::NotCacheable => "not-cacheable",
            NotStorable::BodyTooLarge => "body-too-large",
            NotStorable::HeadersTooLarge => "headers-too-large",
            NotStorable::Incomplete => "incomplete",
            NotStorable::Exempt => "exempt",
        };
        f.write_str(s)
    }
}

/// Status codes whose caching requirements this cache implements: the final
/// codes of RFC 9110 §15 except 304 (never stored; it updates stored
/// responses instead). 206 is stored as an incomplete response (see
/// [`crate::partial`]).
pub fn is_status_understood(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200..=206 | 300..=303 | 305 | 307 | 308 | 400..=417 | 421 | 422 | 426 | 500..=505
    )
}

/// RFC 9111 §3: may the response to `request` be stored?
///
/// Rules, in order: the method must be GET; the status final; 304 is not
/// stored; a 206 must carry a part the cache can store
/// ([`received_part`](crate::partial::received_part): one `bytes`
/// Content-Range with a known complete length; its body length is checked
/// once received); `must-understand` requires an understood status and then
/// overrides `no-store`; no `no-store` in the request or response; in a
/// shared cache no unqualified `private`, and no Authorization in the request
/// unless `public`, `must-revalidate` or `s-maxage` allow it (§3.5); no
/// Set-Cookie in a shared cache without `public` or `s-maxage` unless
/// configured; no `Vary: *`; and at least one of `public`, `private`
/// (private cache), Expires, `max-age`, `s-maxage` (shared cache) or a
/// heuristically cacheable status.
pub fn is_storable(
    request: &RequestFacts,
    status: StatusCode,
    headers: &HeaderMap,
    cc: &CacheControl,
    config: &Config,
) -> Result<(), NotStorable> {
    if request.method != Method::GET {
        return Err(NotStorable::Method);
    }
    if status.is_informational() {
        return Err(NotStorable::NotFinal);
    }
    if status == StatusCode::NOT_MODIFIED {
        return Err(NotStorable::StatusNotUnderstood);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        crate::partial::received_part(headers)?;
    }
    if request.cache_control.is_no_store() {
        return Err(NotStorable::RequestNoStore);
    }
    if cc.is_must_understand() {
        if !is_status_understood(status) {
            return Err(NotStorable::StatusNotUnderstood);
        }
        // Understood: no-store is to be ignored (RFC 9111 §5.2.2.3).
    } else if cc.is_no_store() {
        return Err(NotStorable::NoStore);
    }
    let shared = config.is_shared();
    if shared && cc.is_private() {
        return Err(NotStorable::Private);
    }
    let s_maxage = shared && cc.s_maxage().is_some();
    if shared
        && request.has_authorization
        && !(cc.is_public() || cc.is_must_revalidate() || s_maxage)
    {
        return Err(NotStorable::Authorization);
    }
    // The cookie would be stored unless a qualified private or no-cache
    // naming it drops it from the stored copy (RFC 9111 §3.1).
    let cookie_stored = headers.contains_key(SET_COOKIE)
        && !names_field(cc.private(), &SET_COOKIE)
        && !names_field(cc.no_cache(), &SET_COOKIE);
    let explicitly_shared = cc.is_public() || s_maxage;
    if shared && cookie_stored && !explicitly_shared && !config.store_set_cookie() {
        return Err(NotStorable::SetCookie);
    }
    if Vary::from_headers(headers).is_any() {
        return Err(NotStorable::VaryAny);
    }
    let cacheable = cc.is_public()
        || (!shared && cc.private().is_some())
        || (headers.contains_key(http::header::EXPIRES) && !cc.is_targeted())
        || cc.max_age().is_some()
        || s_maxage
        || is_heuristically_cacheable(status);
    if !cacheable {
        return Err(NotStorable::NotCacheable);
    }
    Ok(())
}

/// RFC 9110 §9.3.3: may the response to a POST of `target` be stored as
/// the response to a GET of `target`, to be reused for later GET and HEAD
/// requests? Only a 200 with explicit freshness (RFC 9111 §4.2.1: `max-age`,
/// `s-maxage` in a shared cache, or Expires) and a Content-Location that,
/// resolved against `target`, names `target` itself (the URIs compared as
/// the cache normalises them for its keys). [`is_storable`] must then allow
/// it as a response to GET; the POST still invalidates what was stored
/// before it (RFC 9111 §4.4), and the executor does that first.
pub fn is_storable_post_response(
    status: StatusCode,
    headers: &HeaderMap,
    cc: &CacheControl,
    target: &str,
    config: &Config,
) -> bool {
    let explicit = cc.max_age().is_some()
        || (config.is_shared() && cc.s_maxage().is_some())
        || (headers.contains_key(http::header::EXPIRES) && !cc.is_targeted());
    if status != StatusCode::OK || !explicit {
        return false;
    }
    let mut lines = headers.get_all(CONTENT_LOCATION).iter();
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return false;
    };
    line.to_str()
        .ok()
        .and_then(|reference| crate::invalidation::resolve(target, reference.trim()))
        .and_then(|absolute| crate::key::PrimaryKey::from_uri(&absolute, config))
        .is_some_and(|named| Some(named.uri()) == normalized(target, config).as_deref())
}

/// `uri` as the cache normalises it for its keys.
fn normalized(uri: &str, config: &Config) -> Option<String> {
    crate::key::PrimaryKey::from_uri(uri, config).map(|k| k.uri().to_owned())
}

/// The limits this cache puts on what it stores, on top of
/// [`is_storable`]'s RFC rules, checked on the response head: a body
/// announced longer than [`Config::max_body_size`], or a header section
/// over [`Config::max_header_bytes`], is refused.
///
/// `announced` is the body length the response declares (Content-Length or
/// the body's exact size hint). (A 206 whose only validator is a
/// Last-Modified judged against a `Date` the cache added is stored, but
/// never combined: see [`crate::partial::combine`].)
pub fn within_limits(
    headers: &HeaderMap,
    announced: Option<u64>,
    config: &Config,
) -> Result<(), NotStorable> {
    if announced.is_some_and(|len| len > config.max_body_size() as u64) {
        return Err(NotStorable::BodyTooLarge);
    }
    if header_bytes(headers) > config.max_header_bytes() {
        return Err(NotStorable::HeadersTooLarge);
    }
    Ok(())
}

/// The limit on the request fields a stored response varies on: their
/// size counts against [`Config::max_header_bytes`].
pub fn selecting_within_limits(selecting_len: usize, config: &Config) -> Result<(), NotStorable> {
    if selecting_len > config.max_header_bytes() {
        return Err(NotStorable::HeadersTooLarge);
    }
    Ok(())
}

/// A body received whole is stored only when it is as long as its
/// Content-Length says: a shorter one was cut off, and a cache must not
/// store an incomplete response as if it were complete (RFC 9111 §3.3,
/// RFC 9112 §8).
pub fn body_matches_length(headers: &HeaderMap, body_len: usize) -> Result<(), NotStorable> {
    match content_length(headers) {
        Some(expected) if expected != body_len as u64 => Err(NotStorable::Incomplete),
        _ => Ok(()),
    }
}

/// The Content-Length of a response, when present and valid.
pub fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// True when a qualified `private` or `no-cache` names `field`.
fn names_field(names: Option<&FieldNames>, field: &http::HeaderName) -> bool {
    matches!(names, Some(FieldNames::Only(list)) if list.contains(field))
}

/// The header fields to store (RFC 9111 §3.1): all received fields except
/// hop-by-hop fields and those named by Connection, the proxy
/// authentication fields, fields named by qualified `no-cache` (they may
/// not be reused without revalidation, so they are never served from
/// storage) and, in a shared cache, fields named by qualified `private`.
pub fn headers_to_store(headers: &HeaderMap, cc: &CacheControl, config: &Config) -> HeaderMap {
    let named = connection_options(headers);
    let no_cache_fields: &[http::HeaderName] = match cc.no_cache() {
        Some(FieldNames::Only(names)) => names,
        _ => &[],
    };
    let private_fields: &[http::HeaderName] = match (config.is_shared(), cc.private()) {
        (true, Some(FieldNames::Only(names))) => names,
        _ => &[],
    };
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        // Trailers are not stored (RFC 9111 §3.1 lets a cache discard
        // them), so neither is the field announcing them.
        if is_hop_by_hop(name, &named)
            || name == TRAILER
            || no_cache_fields.contains(name)
            || private_fields.contains(name)
        {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The size of a header section as encoded for storage.
pub fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum()
}

/// True when the response carries a validator (RFC 9110 §8.8).
pub fn has_validator(headers: &HeaderMap) -> bool {
    headers.contains_key(ETAG) || headers.contains_key(LAST_MODIFIED)
}

/// How long the store should keep a response: its remaining freshness plus
/// the longest time it may still be used stale — `stale-while-revalidate`,
/// `stale-if-error`, or [`Config::stale_retention`] for revalidation and
/// `max-stale` — and never less than one second.
pub fn retention(freshness: &Freshness, cc: &CacheControl, config: &Config) -> Duration {
    let swr = cc
        .stale_while_revalidate()
        .and_then(|d| d.secs())
        .unwrap_or(0);
    let sie = cc.stale_if_error().and_then(|d| d.secs()).unwrap_or(0);
    let grace = Duration::from_secs(u64::from(swr.max(sie))).max(config.stale_retention());
    freshness
        .remaining()
        .saturating_add(grace)
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod post_tests {
    use super::*;
    use http::HeaderValue;

    fn post(status: u16, pairs: &[(&str, &str)]) -> bool {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let cc = CacheControl::from_headers(&h).unwrap_or_default();
        let status = StatusCode::from_u16(status).unwrap();
        is_storable_post_response(status, &h, &cc, "http://a.test/r?q=1", &Config::default())
    }

    #[test]
    fn rfc9110_9_3_3_a_post_response_naming_its_target_with_explicit_freshness() {
        let fresh = ("cache-control", "max-age=60");
        for location in [
            "/r?q=1",
            "http://a.test/r?q=1",
            "HTTP://A.TEST:80/r?q=1",
            "r?q=1",
        ] {
            assert!(
                post(200, &[fresh, ("content-location", location)]),
                "{location}"
            );
        }
        assert!(post(
            200,
            &[
                ("cache-control", "s-maxage=60"),
                ("content-location", "/r?q=1")
            ]
        ));
        assert!(post(
            200,
            &[
                ("expires", "Thu, 01 Jan 2099 00:00:00 GMT"),
                ("content-location", "/r?q=1")
            ]
        ));
    }

    #[test]
    fn rfc9110_9_3_3_other_post_responses_are_not_stored() {
        let fresh = ("cache-control", "max-age=60");
        let here = ("content-location", "/r?q=1");
        // No Content-Location, another URI, or two of them.
        assert!(!post(200, &[fresh]));
        for other in [
            "/r",
            "/r?q=2",
            "http://b.test/r?q=1",
            "https://a.test/r?q=1",
        ] {
            assert!(!post(200, &[fresh, ("content-location", other)]), "{other}");
        }
        assert!(!post(200, &[fresh, here, here]));
        // No explicit freshness: public or a heuristic is not enough.
        assert!(!post(200, &[here]));
        assert!(!post(200, &[("cache-control", "public"), here]));
        assert!(!post(
            200,
            &[("last-modified", "Thu, 01 Jan 2015 00:00:00 GMT"), here]
        ));
        // Not a 200.
        assert!(!post(201, &[fresh, here]));
        assert!(!post(204, &[fresh, here]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use http::header::{AUTHORIZATION, HeaderName};

    fn req(method: Method, auth: bool, cc: &str) -> RequestFacts {
        RequestFacts {
            method,
            cache_control: CacheControl::parse_value(cc.as_bytes()),
            has_authorization: auth,
        }
    }

    fn check(
        status: u16,
        pairs: &[(&str, &str)],
        request: &RequestFacts,
        config: &Config,
    ) -> Result<(), NotStorable> {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let cc = CacheControl::from_headers(&h).unwrap_or_default();
        is_storable(
            request,
            StatusCode::from_u16(status).unwrap(),
            &h,
            &cc,
            config,
        )
    }

    fn get() -> RequestFacts {
        req(Method::GET, false, "")
    }

    #[test]
    fn rfc9111_3_heuristically_cacheable_status_is_storable_without_directives() {
        let c = Config::default();
        assert_eq!(check(200, &[], &get(), &c), Ok(()));
        assert_eq!(check(404, &[], &get(), &c), Ok(()));
        assert_eq!(check(302, &[], &get(), &c), Err(NotStorable::NotCacheable));
        assert_eq!(
            check(302, &[("cache-control", "max-age=5")], &get(), &c),
            Ok(())
        );
        assert_eq!(check(500, &[("expires", "0")], &get(), &c), Ok(()));
        assert_eq!(
            check(299, &[("cache-control", "public")], &get(), &c),
            Ok(())
        );
    }

    #[test]
    fn rfc9111_3_only_get_responses_are_stored() {
        let c = Config::default();
        let r = req(Method::POST, false, "");
        assert_eq!(
            check(200, &[("cache-control", "max-age=5")], &r, &c),
            Err(NotStorable::Method)
        );
        let r = req(Method::HEAD, false, "");
        assert_eq!(
            check(200, &[("cache-control", "max-age=5")], &r, &c),
            Err(NotStorable::Method)
        );
    }

    #[test]
    fn rfc9111_3_not_modified_is_not_stored() {
        let c = Config::default();
        assert_eq!(
            check(304, &[("cache-control", "max-age=5")], &get(), &c),
            Err(NotStorable::StatusNotUnderstood)
        );
    }

    #[test]
    fn rfc9111_3_3_a_206_is_stored_only_with_a_usable_part_and_the_ordinary_rules() {
        let c = Config::default();
        let part = [
            ("content-range", "bytes 0-4/10"),
            ("etag", "\"v1\""),
            ("cache-control", "max-age=5"),
        ];
        assert_eq!(check(206, &part, &get(), &c), Ok(()));
        // Heuristically cacheable (RFC 9110 §15.3.7), like a 200.
        assert_eq!(check(206, &part[..2], &get(), &c), Ok(()));
        assert_eq!(
            check(206, &[("etag", "\"v1\"")], &get(), &c),
            Err(NotStorable::ContentRange)
        );
        // RFC 9111 §3.4: a strong validator is needed only to combine.
        assert_eq!(
            check(206, &[("content-range", "bytes 0-4/10")], &get(), &c),
            Ok(())
        );
        // The rules of RFC 9111 §3 apply as to any response.
        let no_store = [
            ("content-range", "bytes 0-4/10"),
            ("etag", "\"v1\""),
            ("cache-control", "no-store"),
        ];
        assert_eq!(check(206, &no_store, &get(), &c), Err(NotStorable::NoStore));
        let private = [
            ("content-range", "bytes 0-4/10"),
            ("etag", "\"v1\""),
            ("cache-control", "private, max-age=5"),
        ];
        assert_eq!(check(206, &private, &get(), &c), Err(NotStorable::Private));
        assert_eq!(
            check(206, &part, &req(Method::GET, true, ""), &c),
            Err(NotStorable::Authorization)
        );
        assert_eq!(
            check(206, &part, &req(Method::HEAD, false, ""), &c),
            Err(NotStorable::Method)
        );
        // RFC 9111 §5.2.2.3: 206 is understood now.
        assert!(is_status_understood(StatusCode::PARTIAL_CONTENT));
    }

    #[test]
    fn rfc9111_5_2_2_5_no_store_is_not_stored() {
        let c = Config::default();
        assert_eq!(
            check(200, &[("cache-control", "max-age=5, no-store")], &get(), &c),
            Err(NotStorable::NoStore)
        );
    }

    #[test]
    fn rfc9111_5_2_1_5_request_no_store_is_not_stored() {
        let c = Config::default();
        let r = req(Method::GET, false, "no-store");
        assert_eq!(
            check(200, &[("cache-control", "max-age=5")], &r, &c),
            Err(NotStorable::RequestNoStore)
        );
    }

    #[test]
    fn rfc9111_5_2_2_3_must_understand_overrides_no_store_for_known_status() {
        let c = Config::default();
        let cc = "max-age=5, no-store, must-understand";
        assert_eq!(check(200, &[("cache-control", cc)], &get(), &c), Ok(()));
        assert_eq!(
            check(299, &[("cache-control", cc)], &get(), &c),
            Err(NotStorable::StatusNotUnderstood)
        );
        assert_eq!(
            check(
                299,
                &[("cache-control", "max-age=5, must-understand")],
                &get(),
                &c
            ),
            Err(NotStorable::StatusNotUnderstood)
        );
    }

    #[test]
    fn rfc9111_5_2_2_7_private_is_not_stored_by_shared_cache() {
        let shared = Config::default();
        let private = Config::builder().shared(false).build().unwrap();
        assert_eq!(
            check(
                200,
                &[("cache-control", "private, max-age=5")],
                &get(),
                &shared
            ),
            Err(NotStorable::Private)
        );
        assert_eq!(
            check(
                200,
                &[("cache-control", "private, max-age=5")],
                &get(),
                &private
            ),
            Ok(())
        );
        // Qualified private: storable without the named fields.
        assert_eq!(
            check(
                200,
                &[("cache-control", "private=\"x-user\", max-age=5")],
                &get(),
                &shared
            ),
            Ok(())
        );
        // Private marks a response cacheable for a private cache.
        assert_eq!(
            check(302, &[("cache-control", "private")], &get(), &private),
            Ok(())
        );
    }

    #[test]
    fn rfc9111_3_5_authorization_needs_explicit_permission_in_shared_cache() {
        let c = Config::default();
        let r = req(Method::GET, true, "");
        assert_eq!(
            check(200, &[("cache-control", "max-age=5")], &r, &c),
            Err(NotStorable::Authorization)
        );
        assert_eq!(
            check(200, &[("cache-control", "public, max-age=5")], &r, &c),
            Ok(())
        );
        assert_eq!(
            check(
                200,
                &[("cache-control", "must-revalidate, max-age=5")],
                &r,
                &c
            ),
            Ok(())
        );
        assert_eq!(
            check(200, &[("cache-control", "s-maxage=5")], &r, &c),
            Ok(())
        );
        let private = Config::builder().shared(false).build().unwrap();
        assert_eq!(
            check(200, &[("cache-control", "max-age=5")], &r, &private),
            Ok(())
        );
        let _ = AUTHORIZATION;
    }

    #[test]
    fn set_cookie_needs_public_or_s_maxage_in_shared_cache() {
        let c = Config::default();
        let pairs = [("cache-control", "max-age=5"), ("set-cookie", "id=1")];
        assert_eq!(check(200, &pairs, &get(), &c), Err(NotStorable::SetCookie));
        let pairs = [
            ("cache-control", "public, max-age=5"),
            ("set-cookie", "id=1"),
        ];
        assert_eq!(check(200, &pairs, &get(), &c), Ok(()));
        // A qualified private or no-cache naming Set-Cookie keeps the cookie
        // out of storage: the rest of the response may be stored.
        let pairs = [
            ("cache-control", "private=\"set-cookie\", max-age=5"),
            ("set-cookie", "id=1"),
        ];
        assert_eq!(check(200, &pairs, &get(), &c), Ok(()));
        let pairs = [
            ("cache-control", "no-cache=\"Set-Cookie\", max-age=5"),
            ("set-cookie", "id=1"),
        ];
        assert_eq!(check(200, &pairs, &get(), &c), Ok(()));
        let lenient = Config::builder().store_set_cookie(true).build().unwrap();
        let pairs = [("cache-control", "max-age=5"), ("set-cookie", "id=1")];
        assert_eq!(check(200, &pairs, &get(), &lenient), Ok(()));
    }

    #[test]
    fn rfc9111_4_1_vary_star_is_not_stored() {
        let c = Config::default();
        assert_eq!(
            check(
                200,
                &[("cache-control", "max-age=5"), ("vary", "*")],
                &get(),
                &c
            ),
            Err(NotStorable::VaryAny)
        );
    }

    #[test]
    fn rfc9111_3_1_hop_by_hop_and_qualified_fields_are_not_stored() {
        let mut h = HeaderMap::new();
        h.insert("connection", HeaderValue::from_static("x-conn"));
        h.insert("x-conn", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("1"));
        h.insert("proxy-authenticate", HeaderValue::from_static("1"));
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("x-user", HeaderValue::from_static("1"));
        h.insert(
            "cache-control",
            HeaderValue::from_static("no-cache=\"x-secret\", private=\"x-user\", max-age=9"),
        );
        h.insert("x-kept", HeaderValue::from_static("1"));
        h.insert("trailer", HeaderValue::from_static("x-checksum"));
        let cc = CacheControl::from_headers(&h).unwrap();
        let stored = headers_to_store(&h, &cc, &Config::default());
        let names: Vec<&str> = stored.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["cache-control", "x-kept"]);
        // A private cache keeps private="..." fields.
        let private = Config::builder().shared(false).build().unwrap();
        assert!(headers_to_store(&h, &cc, &private).contains_key("x-user"));
    }
}

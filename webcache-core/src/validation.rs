//! Validation: conditional requests (RFC 9110 §13), the validators a cache
//! sends (RFC 9111 §4.3.1), and freshening stored responses from 304 and
//! HEAD responses (RFC 9111 §3.2, §4.3.4, §4.3.5).

use std::time::SystemTime;

use http::header::{
    AGE, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_LOCATION, DATE, ETAG, EXPIRES, HeaderMap,
    HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED,
    VARY,
};
use http::{HeaderValue, Method};
use sha2::{Digest, Sha256};

use crate::headers::{
    EntityTag, EntityTagCondition, connection_options, date_field, is_hop_by_hop, parse_http_date,
};
use crate::key::Variant;
use crate::store::{StoredResponse, hex};

/// Who evaluates the preconditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evaluator {
    /// The origin server (or the cache acting for it inside the
    /// application): every step of RFC 9110 §13.2.2.
    Origin,
    /// A cache answering from storage (RFC 9111 §4.3.2): If-Match and
    /// If-Unmodified-Since do not apply to a cache, and If-Modified-Since
    /// falls back to the stored Date when there is no Last-Modified.
    Cache,
}

/// The outcome of evaluating a request's preconditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Perform the method / send the representation.
    Proceed,
    /// Answer 304 Not Modified.
    NotModified,
    /// Answer 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions of a request against the selected
/// representation whose header fields are `representation`, in the order of
/// RFC 9110 §13.2.2:
///
/// 1. If-Match (origin only): strong comparison, false → 412;
/// 2. If-Unmodified-Since (origin only, without If-Match): false → 412;
/// 3. If-None-Match: weak comparison, false → 304 for GET/HEAD, else 412;
/// 4. If-Modified-Since (GET/HEAD, without If-None-Match): false → 304.
///
/// Date conditions are ignored when invalid, repeated, or when the
/// representation has no modification date (RFC 9110 §13.1.3–13.1.4).
/// When the representation is a stored response — the [`Evaluator::Cache`],
/// or any evaluator given the time it was `received` — If-Modified-Since
/// is judged against its Date, or `received` when Date is absent or
/// invalid, in place of a missing Last-Modified (RFC 9111 §4.3.2): a cache
/// in the application role answers from storage as a cache, after the
/// origin's If-Match and If-Unmodified-Since. Call only for a request whose
/// unconditional response would be 2xx (RFC 9110 §13.2.1).
pub fn evaluate_preconditions(
    method: &Method,
    request: &HeaderMap,
    representation: &HeaderMap,
    evaluator: Evaluator,
    received: Option<SystemTime>,
) -> Precondition {
    let etag = EntityTag::from_headers(representation);
    let last_modified = date_field(representation, &LAST_MODIFIED).flatten();
    let get_or_head = method == Method::GET || method == Method::HEAD;

    if evaluator == Evaluator::Origin {
        if let Some(cond) = EntityTagCondition::from_headers(request, &IF_MATCH) {
            if !cond.matches_strong(etag.as_ref()) {
                return Precondition::Failed;
            }
        } else if let (Some(since), Some(lm)) =
            (single_date(request, &IF_UNMODIFIED_SINCE), last_modified)
        {
            if lm > since {
                return Precondition::Failed;
            }
        }
    }

    if let Some(cond) = EntityTagCondition::from_headers(request, &IF_NONE_MATCH) {
        if cond.matches_weak(etag.as_ref()) {
            return if get_or_head {
                Precondition::NotModified
            } else {
                Precondition::Failed
            };
        }
        return Precondition::Proceed;
    }

    if get_or_head {
        if let Some(since) = single_date(request, &IF_MODIFIED_SINCE) {
            let modified = match (evaluator, received) {
                (Evaluator::Origin, None) => last_modified,
                _ => stored_modification_date(last_modified, representation, received),
            };
            if let Some(modified) = modified {
                if modified <= since {
                    return Precondition::NotModified;
                }
            }
        }
    }
    Precondition::Proceed
}

/// The date a cache judges If-Modified-Since against for a stored response
/// (RFC 9111 §4.3.2): its Last-Modified, else its Date, else the time it
/// was received.
fn stored_modification_date(
    last_modified: Option<SystemTime>,
    stored: &HeaderMap,
    received: Option<SystemTime>,
) -> Option<SystemTime> {
    last_modified
        .or_else(|| date_field(stored, &DATE).flatten())
        .or(received)
}

/// The If-None-Match a cache sends for a request that matches none of the
/// stored variants of a resource (RFC 9111 §4.3.1): the entity tags of
/// those it remembers, so that the origin can answer 304 with the one it
/// would select. `None` when there are none.
pub fn variants_condition(variants: &[Variant]) -> Option<HeaderValue> {
    let mut list = Vec::new();
    for variant in variants {
        if !list.is_empty() {
            list.extend_from_slice(b", ");
        }
        list.extend_from_slice(variant.etag.as_bytes());
    }
    HeaderValue::from_bytes(&list)
        .ok()
        .filter(|_| !list.is_empty())
}

/// The stored variant a 304 with fields `not_modified` selects (RFC 9111
/// §4.3.4), among `variants` (most recent first): the one whose entity tag
/// is the 304's — the same strong tag when the 304's is strong, else the
/// most recent that matches weakly. The stored response itself must still
/// be [`identifies`]-checked once fetched.
pub fn selected_variant<'a>(
    variants: &'a [Variant],
    not_modified: &HeaderMap,
) -> Option<&'a Variant> {
    let tag = EntityTag::from_headers(not_modified)?;
    variants.iter().find(|v| {
        EntityTag::parse(v.etag.as_bytes()).is_some_and(|stored| {
            if tag.is_weak() {
                stored.weak_eq(&tag)
            } else {
                stored.strong_eq(&tag)
            }
        })
    })
}

/// A date precondition: valid, and on a single line; otherwise ignored.
fn single_date(request: &HeaderMap, name: &HeaderName) -> Option<SystemTime> {
    let mut lines = request.get_all(name).iter();
    let first = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    parse_http_date(first.as_bytes())
}

/// The precondition fields of RFC 9110 §13.1 a cache evaluates (If-Range
/// belongs to Range, §13.1.5).
pub(crate) const PRECONDITIONS: [HeaderName; 4] = [
    IF_NONE_MATCH,
    IF_MODIFIED_SINCE,
    IF_MATCH,
    IF_UNMODIFIED_SINCE,
];

/// True when the request carries any precondition field.
pub fn has_preconditions(request: &HeaderMap) -> bool {
    PRECONDITIONS.iter().any(|name| request.contains_key(name))
}

/// Removes the cache-validation preconditions (If-None-Match,
/// If-Modified-Since) from a request.
pub fn remove_validators(request: &mut HeaderMap) {
    request.remove(IF_NONE_MATCH);
    request.remove(IF_MODIFIED_SINCE);
}

/// Removes every precondition field the cache evaluates itself in the
/// application role (If-Match, If-None-Match, If-Modified-Since,
/// If-Unmodified-Since).
pub fn remove_preconditions(request: &mut HeaderMap) {
    remove_validators(request);
    request.remove(IF_MATCH);
    request.remove(IF_UNMODIFIED_SINCE);
}

/// The preconditions a cache sends to validate `stored` (RFC 9111 §4.3.1):
/// If-None-Match with its entity tag, and If-Modified-Since with its
/// Last-Modified date. Empty when it has neither.
pub fn validation_headers(stored: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    if let Some(etag) = stored.get(ETAG) {
        if EntityTag::parse(etag.as_bytes()).is_some() {
            out.insert(IF_NONE_MATCH, etag.clone());
        }
    }
    if let Some(lm) = stored.get(LAST_MODIFIED) {
        if parse_http_date(lm.as_bytes()).is_some() {
            out.insert(IF_MODIFIED_SINCE, lm.clone());
        }
    }
    out
}

/// The header fields of a 304 answering for `representation` (RFC 9110
/// §15.4.5): Cache-Control, Content-Location, Date, ETag, Expires, Vary,
/// and Last-Modified (which guides cache updates).
pub fn not_modified_headers(representation: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in [
        CACHE_CONTROL,
        CONTENT_LOCATION,
        DATE,
        ETAG,
        EXPIRES,
        VARY,
        LAST_MODIFIED,
    ] {
        for value in representation.get_all(&name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Does a 304 identify `stored` for update (RFC 9111 §4.3.4)?
///
/// A strong entity tag in the 304 must equal the stored one (strong
/// comparison), a weak one must match weakly. Without an entity tag, a
/// Last-Modified in the 304 must equal the stored one. A 304 with no
/// validator at all updates the response it validated: the cache sent that
/// response's validators and nothing else (the RFC's third case names a
/// stored response without validators; this is the practical reading when
/// the cache is validating exactly one response).
pub fn identifies(stored: &HeaderMap, not_modified: &HeaderMap) -> bool {
    if let Some(new_tag) = not_modified.get(ETAG) {
        let (Some(new_tag), Some(old_tag)) = (
            EntityTag::parse(new_tag.as_bytes()),
            EntityTag::from_headers(stored),
        ) else {
            return false;
        };
        return if new_tag.is_weak() {
            new_tag.weak_eq(&old_tag)
        } else {
            new_tag.strong_eq(&old_tag)
        };
    }
    if let Some(new_lm) = date_field(not_modified, &LAST_MODIFIED) {
        return match (new_lm, date_field(stored, &LAST_MODIFIED).flatten()) {
            (Some(new_lm), Some(old_lm)) => new_lm == old_lm,
            _ => false,
        };
    }
    true
}

/// Fields never copied from a newer response into a stored one (RFC 9111
/// §3.2): those excepted from storage (§3.1), and Content-Length (the
/// stored body keeps its length).
fn excluded_from_update(name: &HeaderName, connection: &[HeaderName]) -> bool {
    is_hop_by_hop(name, connection) || name == CONTENT_LENGTH
}

/// Updates stored header fields from a newer response (RFC 9111 §3.2): each
/// field in `newer` replaces all stored lines of that field, except the
/// fields excluded above.
pub fn update_headers(stored: &mut HeaderMap, newer: &HeaderMap) {
    let connection = connection_options(newer);
    for name in newer.keys() {
        if excluded_from_update(name, &connection) {
            continue;
        }
        stored.remove(name);
        for value in newer.get_all(name) {
            stored.append(name.clone(), value.clone());
        }
    }
}

/// Freshens `stored` with a validating response's header fields (RFC 9111
/// §4.3.4, §4.3.5): the fields are updated as in [`update_headers`], the
/// age is recomputed from the new exchange (a stale Age from the first
/// exchange is dropped), and an invalidation mark is cleared.
pub fn freshen(
    stored: &mut StoredResponse,
    newer: &HeaderMap,
    request_time: SystemTime,
    response_time: SystemTime,
) {
    stored.headers.remove(AGE);
    update_headers(&mut stored.headers, newer);
    stored.request_time = request_time;
    stored.response_time = response_time;
    stored.invalidated = false;
}

/// May a 200 response to HEAD freshen stored GET response `stored` (RFC
/// 9111 §4.3.5)? Every validator field the HEAD response carries (ETag,
/// Last-Modified) must equal the stored one, and a Content-Length in it must
/// equal the length of the stored representation (of the whole of it, for
/// an incomplete response). A HEAD response without validators contradicts
/// nothing and matches.
pub fn head_matches(stored: &StoredResponse, head: &HeaderMap) -> bool {
    for name in [ETAG, LAST_MODIFIED] {
        if let Some(value) = head.get(&name) {
            if stored.headers.get(&name) != Some(value) {
                return false;
            }
        }
    }
    if let Some(len) = head.get(CONTENT_LENGTH) {
        let stored_len = stored.representation_len().to_string();
        if len.as_bytes() != stored_len.as_bytes() {
            return false;
        }
    }
    true
}

/// A strong validator of a response (RFC 9110 §8.8.1): what must be the
/// same before parts of a representation are combined (RFC 9111 §3.4, RFC
/// 9110 §15.3.7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrongValidator {
    /// A strong entity tag.
    EntityTag(EntityTag),
    /// A Last-Modified date that is strong (RFC 9110 §8.8.2.2).
    LastModified(SystemTime),
}

impl StrongValidator {
    /// The strong validator of a response whose fields are `headers`: its
    /// entity tag when that is strong; for a response without ETag, its
    /// Last-Modified when that is strong ([`strong_last_modified`]). An
    /// ETag that is weak, repeated or invalid means none: the origin chose
    /// the entity tag as its validator, and says (or may have meant) that
    /// it is weak.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue};
    /// use webcache_core::validation::StrongValidator;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("etag", HeaderValue::from_static("\"v1\""));
    /// assert!(StrongValidator::from_headers(&headers).is_some());
    /// headers.insert("etag", HeaderValue::from_static("W/\"v1\""));
    /// assert!(StrongValidator::from_headers(&headers).is_none());
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Option<StrongValidator> {
        let mut etags = headers.get_all(ETAG).iter();
        if let Some(first) = etags.next() {
            if etags.next().is_some() {
                return None;
            }
            return EntityTag::parse(first.as_bytes())
                .filter(|tag| !tag.is_weak())
                .map(StrongValidator::EntityTag);
        }
        strong_last_modified(headers).map(StrongValidator::LastModified)
    }
}

/// The Last-Modified date of a stored or received response when a cache
/// may use it as a strong validator (RFC 9110 §8.8.2.2): valid, and at
/// least one second before the response's Date.
pub fn strong_last_modified(headers: &HeaderMap) -> Option<SystemTime> {
    let last_modified = date_field(headers, &LAST_MODIFIED).flatten()?;
    let date = date_field(headers, &DATE).flatten()?;
    date.duration_since(last_modified)
        .is_ok_and(|d| d >= std::time::Duration::from_secs(1))
        .then_some(last_modified)
}

/// A strong entity tag computed from the body: the first 128 bits of its
/// SHA-256, in hex. Equal bodies get equal tags, so the tag is a strong
/// validator for the representation data (RFC 9110 §8.8.1).
pub fn strong_etag(body: &[u8]) -> EntityTag {
    let digest = Sha256::digest(body);
    EntityTag::strong(hex(&digest[..16])).expect("hex digits are valid etag characters")
}

/// The ETag field value for [`strong_etag`].
pub fn strong_etag_value(body: &[u8]) -> HeaderValue {
    strong_etag(body).to_header_value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::fmt_http_date;
    use std::time::{Duration, UNIX_EPOCH};

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn map(pairs: &[(&str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn date(s: u64) -> String {
        fmt_http_date(t(s)).to_str().unwrap().to_owned()
    }

    fn rep() -> HeaderMap {
        map(&[
            ("etag", "\"v1\"".into()),
            ("last-modified", date(100)),
            ("date", date(200)),
        ])
    }

    fn eval(method: Method, req: &[(&str, String)], who: Evaluator) -> Precondition {
        evaluate_preconditions(&method, &map(req), &rep(), who, None)
    }

    #[test]
    fn rfc9110_13_1_2_if_none_match_uses_weak_comparison() {
        assert_eq!(
            eval(
                Method::GET,
                &[("if-none-match", "W/\"v1\"".into())],
                Evaluator::Origin
            ),
            Precondition::NotModified
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-none-match", "\"v2\", \"v1\"".into())],
                Evaluator::Cache
            ),
            Precondition::NotModified
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-none-match", "\"v2\"".into())],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::HEAD,
                &[("if-none-match", "*".into())],
                Evaluator::Origin
            ),
            Precondition::NotModified
        );
    }

    #[test]
    fn rfc9110_13_2_2_if_none_match_false_on_other_methods_is_412() {
        assert_eq!(
            eval(
                Method::PUT,
                &[("if-none-match", "*".into())],
                Evaluator::Origin
            ),
            Precondition::Failed
        );
    }

    #[test]
    fn rfc9110_13_1_1_if_match_uses_strong_comparison() {
        assert_eq!(
            eval(
                Method::GET,
                &[("if-match", "\"v1\"".into())],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-match", "W/\"v1\"".into())],
                Evaluator::Origin
            ),
            Precondition::Failed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-match", "\"v2\"".into())],
                Evaluator::Origin
            ),
            Precondition::Failed
        );
        assert_eq!(
            eval(Method::GET, &[("if-match", "*".into())], Evaluator::Origin),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9111_4_3_2_if_match_and_if_unmodified_since_do_not_apply_to_a_cache() {
        assert_eq!(
            eval(
                Method::GET,
                &[("if-match", "\"v2\"".into())],
                Evaluator::Cache
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-unmodified-since", date(0))],
                Evaluator::Cache
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9110_13_1_4_if_unmodified_since() {
        assert_eq!(
            eval(
                Method::GET,
                &[("if-unmodified-since", date(100))],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-unmodified-since", date(99))],
                Evaluator::Origin
            ),
            Precondition::Failed
        );
        // Ignored when If-Match is present, or invalid.
        assert_eq!(
            eval(
                Method::GET,
                &[
                    ("if-match", "\"v1\"".into()),
                    ("if-unmodified-since", date(99))
                ],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-unmodified-since", "yesterday".into())],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9110_13_1_3_if_modified_since() {
        assert_eq!(
            eval(
                Method::GET,
                &[("if-modified-since", date(100))],
                Evaluator::Origin
            ),
            Precondition::NotModified
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-modified-since", date(150))],
                Evaluator::Origin
            ),
            Precondition::NotModified
        );
        assert_eq!(
            eval(
                Method::GET,
                &[("if-modified-since", date(99))],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        // Invalid, repeated, or on a method other than GET/HEAD: ignored.
        assert_eq!(
            eval(
                Method::GET,
                &[("if-modified-since", "x".into())],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[
                    ("if-modified-since", date(150)),
                    ("if-modified-since", date(150))
                ],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::POST,
                &[("if-modified-since", date(150))],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9110_13_2_2_if_none_match_takes_precedence_over_if_modified_since() {
        assert_eq!(
            eval(
                Method::GET,
                &[
                    ("if-none-match", "\"v2\"".into()),
                    ("if-modified-since", date(150))
                ],
                Evaluator::Origin
            ),
            Precondition::Proceed
        );
        assert_eq!(
            eval(
                Method::GET,
                &[
                    ("if-none-match", "\"v1\"".into()),
                    ("if-modified-since", date(50))
                ],
                Evaluator::Origin
            ),
            Precondition::NotModified
        );
    }

    #[test]
    fn rfc9110_13_2_2_if_match_is_evaluated_before_if_none_match() {
        assert_eq!(
            eval(
                Method::GET,
                &[
                    ("if-match", "\"v2\"".into()),
                    ("if-none-match", "\"v1\"".into())
                ],
                Evaluator::Origin
            ),
            Precondition::Failed
        );
    }

    #[test]
    fn rfc9111_4_3_2_cache_uses_date_when_last_modified_is_missing() {
        let rep = map(&[("date", date(200))]);
        let req = map(&[("if-modified-since", date(200))]);
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &rep, Evaluator::Cache, None),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &rep, Evaluator::Origin, None),
            Precondition::Proceed
        );
        let req = map(&[("if-modified-since", date(199))]);
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &rep, Evaluator::Cache, None),
            Precondition::Proceed
        );
        let bare = HeaderMap::new();
        let req = map(&[("if-modified-since", date(10))]);
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &bare, Evaluator::Cache, Some(t(5))),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &bare, Evaluator::Cache, Some(t(11))),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9111_4_3_2_a_stored_response_in_the_application_role_uses_date_too() {
        // The origin evaluator, given a stored response's receipt time.
        let rep = map(&[("date", date(200)), ("etag", "\"v1\"".into())]);
        let received = Some(t(200));
        let eval = |req: &[(&str, String)]| {
            evaluate_preconditions(&Method::GET, &map(req), &rep, Evaluator::Origin, received)
        };
        assert_eq!(
            eval(&[("if-modified-since", date(200))]),
            Precondition::NotModified
        );
        assert_eq!(
            eval(&[("if-modified-since", date(199))]),
            Precondition::Proceed
        );
        // The origin's steps still come first.
        assert_eq!(
            eval(&[
                ("if-match", "\"v2\"".into()),
                ("if-modified-since", date(300))
            ]),
            Precondition::Failed
        );
        // Without Date: the time received.
        let bare = HeaderMap::new();
        let req = map(&[("if-modified-since", date(200))]);
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &bare, Evaluator::Origin, received),
            Precondition::NotModified
        );
        // A forwarded response (no receipt time) has no modification date.
        assert_eq!(
            evaluate_preconditions(&Method::GET, &req, &bare, Evaluator::Origin, None),
            Precondition::Proceed
        );
    }

    #[test]
    fn rfc9111_4_3_1_a_vary_miss_validates_with_the_variants_entity_tags() {
        let variant = |d: u8, tag: &'static str| Variant {
            digest: [d; 16],
            etag: HeaderValue::from_static(tag),
        };
        let variants = [
            variant(1, "\"a\""),
            variant(2, "W/\"b\""),
            variant(3, "\"b\""),
        ];
        assert_eq!(
            variants_condition(&variants).unwrap(),
            "\"a\", W/\"b\", \"b\""
        );
        assert_eq!(variants_condition(&[]), None);
        let selects = |tag: &str| {
            let h = map(&[("etag", tag.to_owned())]);
            selected_variant(&variants, &h).map(|v| v.digest[0])
        };
        // RFC 9111 §4.3.4: a strong tag selects the same strong tag; a
        // weak one the most recent weak match.
        assert_eq!(selects("\"a\""), Some(1));
        assert_eq!(selects("\"b\""), Some(3));
        assert_eq!(selects("W/\"b\""), Some(2));
        assert_eq!(selects("W/\"a\""), Some(1));
        assert_eq!(selects("\"c\""), None);
        assert_eq!(selected_variant(&variants, &HeaderMap::new()), None);
    }

    #[test]
    fn rfc9111_4_3_1_validation_request_carries_etag_and_last_modified() {
        let v = validation_headers(&rep());
        assert_eq!(v[IF_NONE_MATCH], "\"v1\"");
        assert_eq!(v[IF_MODIFIED_SINCE], date(100).as_str());
        assert!(validation_headers(&HeaderMap::new()).is_empty());
    }

    #[test]
    fn rfc9110_15_4_5_not_modified_carries_the_listed_fields() {
        let mut h = rep();
        h.insert("content-type", HeaderValue::from_static("text/plain"));
        h.insert("cache-control", HeaderValue::from_static("max-age=5"));
        h.insert("vary", HeaderValue::from_static("accept"));
        let nm = not_modified_headers(&h);
        assert!(
            nm.contains_key("etag") && nm.contains_key("cache-control") && nm.contains_key("vary")
        );
        assert!(nm.contains_key("date") && nm.contains_key("last-modified"));
        assert!(!nm.contains_key("content-type"));
    }

    #[test]
    fn rfc9111_4_3_4_strong_and_weak_validators_select_the_stored_response() {
        let stored = map(&[("etag", "\"v1\"".into())]);
        assert!(identifies(&stored, &map(&[("etag", "\"v1\"".into())])));
        assert!(!identifies(&stored, &map(&[("etag", "\"v2\"".into())])));
        assert!(identifies(&stored, &map(&[("etag", "W/\"v1\"".into())])));
        let weak = map(&[("etag", "W/\"v1\"".into())]);
        assert!(!identifies(&weak, &map(&[("etag", "\"v1\"".into())])));
        assert!(identifies(&weak, &map(&[("etag", "W/\"v1\"".into())])));
        let lm = map(&[("last-modified", date(1))]);
        assert!(identifies(&lm, &map(&[("last-modified", date(1))])));
        assert!(!identifies(&lm, &map(&[("last-modified", date(2))])));
        assert!(identifies(&lm, &HeaderMap::new()));
    }

    #[test]
    fn rfc9111_3_2_update_replaces_fields_but_not_content_length_or_hop_by_hop() {
        // Content-* fields other than Content-Length are updated like any other.
        let mut stored = map(&[
            ("content-length", "5".into()),
            ("x-a", "old".into()),
            ("set-cookie", "a=1".into()),
            ("set-cookie", "b=2".into()),
            ("x-keep", "1".into()),
        ]);
        let newer = map(&[
            ("content-length", "0".into()),
            ("x-a", "new".into()),
            ("set-cookie", "c=3".into()),
            ("set-cookie", "d=4".into()),
            ("connection", "x-hop".into()),
            ("x-hop", "1".into()),
            ("keep-alive", "1".into()),
        ]);
        update_headers(&mut stored, &newer);
        assert_eq!(stored["content-length"], "5");
        assert_eq!(stored["x-a"], "new");
        let cookies: Vec<_> = stored.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, vec!["c=3", "d=4"]);
        assert_eq!(stored["x-keep"], "1");
        assert!(
            !stored.contains_key("x-hop")
                && !stored.contains_key("keep-alive")
                && !stored.contains_key("connection")
        );
    }

    #[test]
    fn rfc9111_4_3_5_head_freshens_only_on_matching_validators_and_length() {
        let stored = StoredResponse {
            status: http::StatusCode::OK,
            headers: map(&[("etag", "\"v1\"".into())]),
            body: bytes::Bytes::from_static(b"hello"),
            request_time: t(0),
            response_time: t(0),
            uri: String::new(),
            selecting: vec![],
            salt: 0,
            invalidated: false,
            partial: None,
            generations: Default::default(),
            tags: Vec::new(),
            purged: crate::purge::Verdict::Valid,
        };
        assert!(head_matches(
            &stored,
            &map(&[("etag", "\"v1\"".into()), ("content-length", "5".into())])
        ));
        assert!(!head_matches(
            &stored,
            &map(&[("etag", "\"v1\"".into()), ("content-length", "6".into())])
        ));
        assert!(!head_matches(&stored, &map(&[("etag", "\"v2\"".into())])));
        // Without validators, nothing contradicts the stored response.
        assert!(head_matches(&stored, &HeaderMap::new()));
        let bare = StoredResponse {
            headers: HeaderMap::new(),
            ..stored
        };
        assert!(head_matches(&bare, &HeaderMap::new()));
        assert!(!head_matches(&bare, &map(&[("etag", "\"v1\"".into())])));
    }

    #[test]
    fn rfc9110_8_8_1_body_etag_is_strong_and_content_based() {
        let a = strong_etag(b"hello");
        assert!(!a.is_weak());
        assert_eq!(a, strong_etag(b"hello"));
        assert_ne!(a, strong_etag(b"hellp"));
        assert_eq!(a.opaque().len(), 32);
    }
}

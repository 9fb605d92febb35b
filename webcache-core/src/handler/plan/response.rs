//! The response side's decision on a forwarded response (RFC 9111 §3, §4.3,
//! §4.4).

use http::header::ETAG;
use http::response::Parts;
use http::{HeaderMap, Method, StatusCode};

use crate::config::{Config, Role};
use crate::handler::mixins::Storability;
use crate::handler::request::{Kind, Pending};
use crate::headers::CacheControl;
use crate::partial::can_answer;
use crate::reuse::is_stale_if_error_status;
use crate::storage::{NotStorable, is_storable_post_response, within_limits};
use crate::validation::{identifies, selected_variant};

/// What the response handler does with a forwarded response, before the
/// client's preconditions are evaluated on what it sends (RFC 9110 §13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponsePlan {
    /// The resource is exempt by configuration: pass the response on
    /// untouched.
    PassThrough,
    /// A response to an unsafe method: invalidate the target URI and the
    /// same-origin Location and Content-Location when it is not an error
    /// (RFC 9111 §4.4), then pass it on.
    Invalidate,
    /// A response to POST that is a representation of its target, with
    /// explicit freshness (RFC 9110 §9.3.3,
    /// [`is_storable_post_response`]): invalidate as [`Invalidate`] does
    /// (RFC 9111 §4.4), then store it as the response to a GET of the
    /// target — read whole when `collect` (its length known and within
    /// the limit), otherwise captured as it streams on.
    ///
    /// [`Invalidate`]: ResponsePlan::Invalidate
    InvalidateAndStore {
        /// Read the body whole rather than capture it.
        collect: bool,
    },
    /// A 206 answering the cache's request for the bytes a stored
    /// incomplete response lacks (RFC 9111 §3.4): read it whole, combine it
    /// with the stored part, store the result, and answer the client's
    /// request from it — or, when it does not combine into a response that
    /// answers the request, send the client's own request forward once
    /// more ([`ResponsePlan::Retry`]'s path).
    Complete,
    /// A 304 to the cache's validation that identifies the stored response:
    /// freshen it with the 304's fields, store it and serve it (RFC 9111
    /// §4.3.4).
    Freshen,
    /// A 304 to a Vary miss sent with the stored variants' entity tags,
    /// naming one of them (RFC 9111 §4.3.4): fetch that variant, freshen
    /// it, store it for the request's selecting fields too, and serve it;
    /// if it is gone or is not what the 304 identifies, send the request
    /// once more, unconditionally.
    FreshenVariant,
    /// A 304 to the cache's validation that matches nothing stored: send
    /// the request once more, unconditionally (RFC 9111 §4.3.4 forbids
    /// using that 304).
    Retry,
    /// An error status answering a validation within `stale-if-error`:
    /// serve the stored response stale instead (RFC 5861 §4).
    StaleOnError,
    /// A response to HEAD: pass it on, and when `update`, freshen the
    /// stored response to GET with it, or mark it stale if it contradicts
    /// it (RFC 9111 §4.3.5).
    Head {
        /// A 200 with a stored response to update.
        update: bool,
    },
    /// The body's length is known and within the limit: read it whole, to
    /// store it (when `store` is `Ok`, RFC 9111 §3) and to give it an ETag
    /// (when `etag`, RFC 9110 §8.8.3).
    Collect {
        /// Whether the response may be stored, and why not.
        store: Result<(), NotStorable>,
        /// Generate an ETag from the body (application role, a 200
        /// without one).
        etag: bool,
    },
    /// Storable, but of unknown length: stream it on while it is captured,
    /// and store it once complete within [`Config::max_body_size`] (RFC
    /// 9111 §3).
    Capture,
    /// Not stored, for this reason: pass it on.
    Pass(NotStorable),
}

/// Decides what to do with `response` (its head), the answer to the
/// request `pending` describes. `cc` is the response's Cache-Control as
/// this cache reads it ([`crate::targeted::response_cache_control`]), and
/// `announced` is the body length it declares.
///
/// In order: exempt and unsafe-method forwards; a 304 to a Vary miss sent
/// with the variants' entity tags (§4.3.4); the answer to the cache's
/// request completing a stored part (RFC 9111 §3.4); a 304 to a validation
/// (§4.3.4); an error to a validation (RFC 5861 §4); HEAD (§4.3.5); then a
/// full response to GET, storable or not (§3, [`Storability::is_storable`] and
/// [`within_limits`]).
pub fn plan_response<P: Storability + ?Sized>(
    pending: &Pending,
    response: &Parts,
    cc: &CacheControl,
    announced: Option<u64>,
    storage: &P,
    config: &Config,
) -> ResponsePlan {
    match pending.kind {
        Kind::Exempt => return ResponsePlan::PassThrough,
        Kind::Method => {
            return plan_unsafe(pending, response, cc, announced, storage, config);
        }
        Kind::Variants if response.status == StatusCode::NOT_MODIFIED => {
            let selected = pending.metadata.as_ref().is_some_and(|m| {
                selected_variant(&m.variants.to_vec(), &response.headers).is_some()
            });
            return if selected {
                ResponsePlan::FreshenVariant
            } else {
                ResponsePlan::Retry
            };
        }
        Kind::Complete(_) => {
            if let Some(plan) = plan_completion(pending, response, cc, announced, storage, config) {
                return plan;
            }
        }
        _ => {}
    }
    let validating = matches!(pending.kind, Kind::Validate(_) | Kind::Refresh);
    if validating {
        if let Some(plan) = plan_validation(pending, response.status, &response.headers, config) {
            return plan;
        }
    }
    if pending.facts.method == Method::HEAD {
        let update = response.status == StatusCode::OK && pending.stored.is_some();
        return ResponsePlan::Head { update };
    }
    let store = storage
        .is_storable(
            &pending.facts,
            response.status,
            &response.headers,
            cc,
            config,
        )
        .and_then(|()| within_limits(&response.headers, announced, config));
    let etag = config.role() == Role::Application
        && response.status == StatusCode::OK
        && !response.headers.contains_key(ETAG);
    let small = announced.is_some_and(|len| len <= config.max_body_size() as u64);
    match store {
        _ if small && (store.is_ok() || etag) => ResponsePlan::Collect { store, etag },
        Ok(()) => ResponsePlan::Capture,
        Err(why) => ResponsePlan::Pass(why),
    }
}

/// The plan for the response to an unsafe method: invalidate (RFC 9111
/// §4.4), and for a POST whose response is a representation of its target
/// and may be stored as the response to a GET, store it too (RFC 9110
/// §9.3.3).
fn plan_unsafe<P: Storability + ?Sized>(
    pending: &Pending,
    response: &Parts,
    cc: &CacheControl,
    announced: Option<u64>,
    storage: &P,
    config: &Config,
) -> ResponsePlan {
    let post = pending.facts.method == Method::POST
        && is_storable_post_response(
            response.status,
            &response.headers,
            cc,
            pending.primary.uri(),
            config,
        );
    if !post {
        return ResponsePlan::Invalidate;
    }
    let mut as_get = pending.facts.clone();
    as_get.method = Method::GET;
    let store = storage
        .is_storable(&as_get, response.status, &response.headers, cc, config)
        .and_then(|()| within_limits(&response.headers, announced, config));
    match store {
        Ok(()) => ResponsePlan::InvalidateAndStore {
            collect: announced.is_some_and(|len| len <= config.max_body_size() as u64),
        },
        Err(_) => ResponsePlan::Invalidate,
    }
}

/// The plans particular to the answer of the cache's own request for the
/// bytes a stored part lacks (RFC 9111 §3.4): a 206 that may be stored
/// (within the body size limit) is combined; any other 206, or a 416,
/// answers a request the client did not make, so the client's own goes
/// forward instead. `None` for an ordinary response (a 200 when If-Range
/// no longer held, an error), handled as for any forward.
fn plan_completion<P: Storability + ?Sized>(
    pending: &Pending,
    response: &Parts,
    cc: &CacheControl,
    announced: Option<u64>,
    storage: &P,
    config: &Config,
) -> Option<ResponsePlan> {
    match response.status {
        StatusCode::PARTIAL_CONTENT => {}
        StatusCode::RANGE_NOT_SATISFIABLE => return Some(ResponsePlan::Retry),
        _ => return None,
    }
    let storable = storage
        .is_storable(
            &pending.facts,
            response.status,
            &response.headers,
            cc,
            config,
        )
        .and_then(|()| within_limits(&response.headers, announced, config))
        .is_ok();
    // A body of unknown length is read up to the limit all the same.
    Some(if storable {
        ResponsePlan::Complete
    } else {
        ResponsePlan::Retry
    })
}

/// The plans particular to the answer of a validation: a 304 (RFC 9111
/// §4.3.4) or an error met with the stored response (RFC 5861 §4). `None`
/// when the answer is an ordinary response.
fn plan_validation(
    pending: &Pending,
    status: StatusCode,
    headers: &HeaderMap,
    config: &Config,
) -> Option<ResponsePlan> {
    let stored = pending.stored.as_ref()?;
    if status == StatusCode::NOT_MODIFIED {
        if identifies(&stored.headers, headers) {
            return Some(ResponsePlan::Freshen);
        }
        // A background refresh has no client waiting on it: it stops here.
        return (pending.kind != Kind::Refresh).then_some(ResponsePlan::Retry);
    }
    let stale_ok = is_stale_if_error_status(status)
        && pending.may_serve_stale_after(Some(status), config)
        && can_answer(stored, &pending.facts.method, &pending.request_headers);
    stale_ok.then_some(ResponsePlan::StaleOnError)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use bytes::Bytes;
    use http::header::HeaderValue;
    use http::{Request, Response};

    use super::*;
    use crate::handler::mixins::DefaultStorability;
    use crate::key::PrimaryKey;
    use crate::request::RequestFacts;
    use crate::reuse::ValidateReason;
    use crate::status::Forward;
    use crate::store::StoredResponse;

    fn t() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn pending(kind: Kind, method: Method, stored_etag: Option<&str>) -> Pending {
        let (parts, _) = Request::builder()
            .method(method)
            .uri("http://a.test/x")
            .body(())
            .unwrap()
            .into_parts();
        let config = Config::default();
        let facts = RequestFacts::from_parts(&parts, &config);
        let primary = PrimaryKey::from_request(&parts, &config);
        let mut p = Pending::new(kind, &parts, facts, primary, &config, t());
        p.stored = stored_etag.map(|etag| {
            let mut headers = HeaderMap::new();
            headers.insert("etag", HeaderValue::from_str(etag).unwrap());
            StoredResponse {
                status: StatusCode::OK,
                headers,
                body: Bytes::new(),
                request_time: t(),
                response_time: t(),
                uri: "http://a.test/x".into(),
                selecting: vec![],
                salt: 1,
                invalidated: false,
                partial: None,
                generations: Default::default(),
                tags: Vec::new(),
                purged: crate::purge::Verdict::Valid,
            }
        });
        p.stale_if_error = true;
        p
    }

    fn head(status: u16, fields: &[(&str, &str)]) -> Parts {
        let mut builder = Response::builder().status(status);
        for (name, value) in fields {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn plan(pending: &Pending, response: &Parts, announced: Option<u64>) -> ResponsePlan {
        let config = Config::default();
        let cc = CacheControl::from_headers(&response.headers).unwrap_or_default();
        plan_response(
            pending,
            response,
            &cc,
            announced,
            &DefaultStorability,
            &config,
        )
    }

    const VALIDATE: Kind = Kind::Validate(ValidateReason::Stale);

    #[test]
    fn exempt_passes_through_and_unsafe_methods_invalidate() {
        let ok = head(200, &[]);
        let p = pending(Kind::Exempt, Method::GET, None);
        assert_eq!(plan(&p, &ok, Some(1)), ResponsePlan::PassThrough);
        let p = pending(Kind::Method, Method::POST, None);
        assert_eq!(plan(&p, &ok, Some(1)), ResponsePlan::Invalidate);
    }

    #[test]
    fn rfc9110_9_3_3_a_post_response_naming_its_target_is_stored_after_invalidating() {
        let p = pending(Kind::Method, Method::POST, None);
        let fields = [("cache-control", "max-age=60"), ("content-location", "/x")];
        let own = head(200, &fields);
        assert_eq!(
            plan(&p, &own, Some(3)),
            ResponsePlan::InvalidateAndStore { collect: true }
        );
        assert_eq!(
            plan(&p, &own, None),
            ResponsePlan::InvalidateAndStore { collect: false }
        );
        // Not storable as a response to GET: only invalidated.
        let no_store = head(200, &[fields[1], ("cache-control", "max-age=60, no-store")]);
        assert_eq!(plan(&p, &no_store, Some(3)), ResponsePlan::Invalidate);
        assert_eq!(plan(&p, &own, Some(1 << 40)), ResponsePlan::Invalidate);
        // Another Content-Location, or another unsafe method.
        let other = head(200, &[fields[0], ("content-location", "/y")]);
        assert_eq!(plan(&p, &other, Some(3)), ResponsePlan::Invalidate);
        let p = pending(Kind::Method, Method::PUT, None);
        assert_eq!(plan(&p, &own, Some(3)), ResponsePlan::Invalidate);
    }

    #[test]
    fn rfc9111_3_4_the_answer_to_a_completion_is_combined_or_the_client_request_retried() {
        let missing = crate::range::ByteRange { first: 5, last: 9 };
        let p = pending(Kind::Complete(missing), Method::GET, Some("\"a\""));
        let part = [("content-range", "bytes 5-9/10"), ("etag", "\"a\"")];
        assert_eq!(plan(&p, &head(206, &part), Some(5)), ResponsePlan::Complete);
        assert_eq!(plan(&p, &head(206, &part), None), ResponsePlan::Complete);
        assert_eq!(
            plan(&p, &head(206, &part), Some(1 << 40)),
            ResponsePlan::Retry
        );
        let no_store = [part[0], part[1], ("cache-control", "no-store")];
        assert_eq!(
            plan(&p, &head(206, &no_store), Some(5)),
            ResponsePlan::Retry
        );
        assert_eq!(plan(&p, &head(416, &[]), Some(0)), ResponsePlan::Retry);
        // If-Range no longer held: the whole new representation, stored.
        let whole = head(200, &[("cache-control", "max-age=60"), ("etag", "\"b\"")]);
        assert_eq!(
            plan(&p, &whole, Some(10)),
            ResponsePlan::Collect {
                store: Ok(()),
                etag: false
            }
        );
    }

    #[test]
    fn rfc9111_4_3_4_a_matching_304_freshens_and_a_foreign_one_retries() {
        let p = pending(VALIDATE, Method::GET, Some("\"a\""));
        let same = head(304, &[("etag", "\"a\"")]);
        let other = head(304, &[("etag", "\"b\"")]);
        assert_eq!(plan(&p, &same, None), ResponsePlan::Freshen);
        assert_eq!(plan(&p, &other, None), ResponsePlan::Retry);
        // A background refresh does not retry: it just stores nothing.
        let p = pending(Kind::Refresh, Method::GET, Some("\"a\""));
        assert_eq!(
            plan(&p, &other, None),
            ResponsePlan::Pass(NotStorable::StatusNotUnderstood)
        );
    }

    #[test]
    fn rfc5861_4_an_error_to_a_validation_may_be_met_stale() {
        let p = pending(VALIDATE, Method::GET, Some("\"a\""));
        for status in [500, 502, 503, 504] {
            assert_eq!(
                plan(&p, &head(status, &[]), Some(0)),
                ResponsePlan::StaleOnError
            );
        }
        assert_ne!(
            plan(&p, &head(501, &[]), Some(0)),
            ResponsePlan::StaleOnError
        );
        let mut p = pending(VALIDATE, Method::GET, Some("\"a\""));
        p.stale_if_error = false;
        assert_ne!(
            plan(&p, &head(503, &[]), Some(0)),
            ResponsePlan::StaleOnError
        );
        // A miss has nothing to serve stale.
        let p = pending(Kind::Miss(Forward::UriMiss), Method::GET, None);
        assert_ne!(
            plan(&p, &head(503, &[]), Some(0)),
            ResponsePlan::StaleOnError
        );
    }

    #[test]
    fn rfc9111_4_3_5_head_updates_the_stored_get_response_on_200_only() {
        let p = pending(VALIDATE, Method::HEAD, Some("\"a\""));
        assert_eq!(
            plan(&p, &head(200, &[]), None),
            ResponsePlan::Head { update: true }
        );
        assert_eq!(
            plan(&p, &head(404, &[]), None),
            ResponsePlan::Head { update: false }
        );
        let p = pending(Kind::Miss(Forward::UriMiss), Method::HEAD, None);
        assert_eq!(
            plan(&p, &head(200, &[]), None),
            ResponsePlan::Head { update: false }
        );
    }

    #[test]
    fn rfc9111_3_known_small_bodies_are_collected_unknown_ones_captured() {
        let p = pending(Kind::Miss(Forward::UriMiss), Method::GET, None);
        let cacheable = head(200, &[("cache-control", "max-age=60")]);
        assert_eq!(
            plan(&p, &cacheable, Some(10)),
            ResponsePlan::Collect {
                store: Ok(()),
                etag: true
            }
        );
        assert_eq!(plan(&p, &cacheable, None), ResponsePlan::Capture);
        let huge = Some(1 << 40);
        assert_eq!(
            plan(&p, &cacheable, huge),
            ResponsePlan::Pass(NotStorable::BodyTooLarge)
        );
    }

    #[test]
    fn rfc9110_8_8_3_an_uncacheable_200_is_still_collected_for_its_etag() {
        let p = pending(Kind::Miss(Forward::UriMiss), Method::GET, None);
        let no_store = head(200, &[("cache-control", "no-store")]);
        assert_eq!(
            plan(&p, &no_store, Some(10)),
            ResponsePlan::Collect {
                store: Err(NotStorable::NoStore),
                etag: true
            }
        );
        let tagged = head(200, &[("cache-control", "no-store"), ("etag", "\"t\"")]);
        assert_eq!(
            plan(&p, &tagged, Some(10)),
            ResponsePlan::Pass(NotStorable::NoStore)
        );
    }
}

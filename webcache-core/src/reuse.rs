//! May a stored response answer this request (RFC 9111 §4, §4.2.4, §5.2.1,
//! RFC 5861)?

use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::freshness::{
    Freshness, LifetimeSource, age_at, corrected_initial_age, freshness_lifetime,
};
use crate::headers::{CacheControl, MaxStale};
use crate::request::RequestFacts;
use crate::store::StoredResponse;

/// Why a stored response must be validated before it is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidateReason {
    /// It is stale and may not be served stale.
    Stale,
    /// The response carries unqualified `no-cache` (RFC 9111 §5.2.2.4).
    NoCache,
    /// The request's directives (`no-cache`, `max-age`, `min-fresh`) rule
    /// out the stored response without validation.
    Request,
    /// It was invalidated (RFC 9111 §4.4, §4.3.5).
    Invalidated,
}

/// The verdict on one stored response for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Fresh: serve it.
    Fresh(Freshness),
    /// Stale, but the client accepts it (`max-stale`): serve it.
    StaleAccepted(Freshness),
    /// Stale within `stale-while-revalidate`: serve it and revalidate in the
    /// background (RFC 5861 §3).
    StaleWhileRevalidate(Freshness),
    /// Validate it with the origin first (RFC 9111 §4.3).
    Validate {
        /// Freshness at the time of the request.
        freshness: Freshness,
        /// Why.
        reason: ValidateReason,
        /// True when, should validation fail with an error (5xx or no
        /// answer), the stored response may be served stale instead
        /// (`stale-if-error`, RFC 5861 §4).
        stale_if_error: bool,
    },
}

/// The statuses that count as an error for `stale-if-error` (RFC 5861 §4:
/// "an error is any situation that would result in a 500, 502, 503 or 504
/// HTTP response status code being returned").
pub fn is_stale_if_error_status(status: http::StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

/// May a stored response be served because the upstream cannot be reached
/// (RFC 9111 §4.2.4: a cache may serve stale when disconnected)? Only
/// within [`Config::stale_if_unreachable`] of staleness, only when nothing
/// forbids serving it stale ([`stale_prohibited`]: `no-cache`,
/// `must-revalidate`, and in a shared cache `proxy-revalidate` and
/// `s-maxage`), and only when it was being validated because it is stale
/// or was invalidated — not when the request asked for validation.
pub fn may_serve_unreachable(
    reason: ValidateReason,
    freshness: &Freshness,
    cc: &CacheControl,
    config: &Config,
) -> bool {
    let Some(window) = config.stale_if_unreachable() else {
        return false;
    };
    matches!(reason, ValidateReason::Stale | ValidateReason::Invalidated)
        && !stale_prohibited(cc, config)
        && freshness.staleness() <= window
}

/// The freshness of `stored` at `now` under `config`.
pub fn freshness(
    stored: &StoredResponse,
    cc: &CacheControl,
    config: &Config,
    now: SystemTime,
) -> Freshness {
    Timing::of(stored, cc, config).at(stored, now)
}

/// What the freshness of a stored response at any moment is made of, read
/// from its fields once: its freshness lifetime (RFC 9111 §4.2.1) and the
/// part of its age fixed on receipt (§4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    lifetime: Duration,
    source: LifetimeSource,
    initial_age: Duration,
}

impl Timing {
    /// The timing of `stored`, whose Cache-Control is `cc`, under `config`.
    pub(crate) fn of(stored: &StoredResponse, cc: &CacheControl, config: &Config) -> Timing {
        let (lifetime, source) = freshness_lifetime(
            stored.status,
            &stored.headers,
            cc,
            stored.response_time,
            config,
        );
        let initial_age =
            corrected_initial_age(&stored.headers, stored.request_time, stored.response_time);
        Timing {
            lifetime,
            source,
            initial_age,
        }
    }

    /// The freshness at `now` of `stored`, whose timing this is.
    pub(crate) fn at(&self, stored: &StoredResponse, now: SystemTime) -> Freshness {
        let age = age_at(self.initial_age, stored.response_time, now);
        // A soft purge cuts the lifetime (see `crate::purge`).
        let lifetime = match stored.purged {
            crate::purge::Verdict::Stale { since } => {
                crate::purge::purged_lifetime(self.lifetime, age, now, since)
            }
            _ => self.lifetime,
        };
        Freshness {
            lifetime,
            source: self.source,
            age,
        }
    }
}

/// True when an explicit directive forbids serving the response stale
/// (RFC 9111 §4.2.4): `no-cache`, `must-revalidate`, and in a shared cache
/// `proxy-revalidate` or `s-maxage`.
pub fn stale_prohibited(cc: &CacheControl, config: &Config) -> bool {
    cc.is_no_cache()
        || cc.is_must_revalidate()
        || (config.is_shared() && (cc.is_proxy_revalidate() || cc.s_maxage().is_some()))
}

fn within(staleness: Duration, secs: Option<u32>) -> bool {
    secs.is_some_and(|s| staleness <= Duration::from_secs(u64::from(s)))
}

/// Decides whether `stored` can answer `request` at `now` (RFC 9111 §4):
///
/// 1. unqualified `no-cache` in the response, an invalidated entry, or
///    `no-cache` in the request: validate;
/// 2. request `max-age`: an older response is validated (with `max-age=0`,
///    every response), and without `max-stale` it must also be fresh
///    (§5.2.1.1);
/// 3. fresh: serve, unless request `min-fresh` wants more freshness left
///    (§5.2.1.3);
/// 4. stale: if serving stale is prohibited (§4.2.4) validate; if the
///    client's `max-stale` covers the staleness serve; if
///    `stale-while-revalidate` covers it serve and revalidate; otherwise
///    validate, noting whether `stale-if-error` would cover it.
pub fn reuse(
    stored: &StoredResponse,
    cc: &CacheControl,
    request: &RequestFacts,
    config: &Config,
    now: SystemTime,
) -> Reuse {
    reuse_at(
        stored,
        cc,
        freshness(stored, cc, config, now),
        request,
        config,
    )
}

/// [`reuse`] for `stored` whose freshness now is `f`.
pub(crate) fn reuse_at(
    stored: &StoredResponse,
    cc: &CacheControl,
    f: Freshness,
    request: &RequestFacts,
    config: &Config,
) -> Reuse {
    let req = &request.cache_control;
    let prohibited = stale_prohibited(cc, config);
    let staleness = f.staleness();
    let stale_if_error = !prohibited
        && (within(staleness, cc.stale_if_error().and_then(|d| d.secs()))
            || within(staleness, req.stale_if_error().and_then(|d| d.secs())));
    let validate = |reason| Reuse::Validate {
        freshness: f,
        reason,
        stale_if_error,
    };

    if cc.is_no_cache() {
        return validate(ValidateReason::NoCache);
    }
    if stored.invalidated {
        return validate(ValidateReason::Invalidated);
    }
    if req.is_no_cache() {
        return validate(ValidateReason::Request);
    }
    if let Some(max_age) = req.max_age() {
        // An invalid value is read as 0, the most restrictive. `max-age=0`
        // always validates, even a response received this very instant
        // (age exactly zero): it is how a client asks for validation (RFC
        // 9111 §4), and the outcome must not depend on clock resolution.
        let max_age = Duration::from_secs(u64::from(max_age.secs().unwrap_or(0)));
        if max_age.is_zero() || f.age > max_age {
            return validate(ValidateReason::Request);
        }
    }
    if f.is_fresh() {
        if let Some(min_fresh) = req.min_fresh().and_then(|d| d.secs()) {
            if f.remaining() < Duration::from_secs(u64::from(min_fresh)) {
                return validate(ValidateReason::Request);
            }
        }
        return Reuse::Fresh(f);
    }
    if prohibited {
        return validate(ValidateReason::Stale);
    }
    if req.min_fresh().is_none() {
        match req.max_stale() {
            Some(MaxStale::Any) => return Reuse::StaleAccepted(f),
            Some(MaxStale::Secs(s)) if within(staleness, Some(s)) => {
                return Reuse::StaleAccepted(f);
            }
            _ => {}
        }
    }
    if within(
        staleness,
        cc.stale_while_revalidate().and_then(|d| d.secs()),
    ) {
        return Reuse::StaleWhileRevalidate(f);
    }
    validate(ValidateReason::Stale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::fmt_http_date;
    use http::header::{HeaderMap, HeaderName, HeaderValue};
    use http::{Method, StatusCode};
    use std::time::UNIX_EPOCH;

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn stored(pairs: &[(&str, &str)]) -> (StoredResponse, CacheControl) {
        let mut headers = HeaderMap::new();
        headers.insert("date", fmt_http_date(t(0)));
        for (n, v) in pairs {
            headers.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let cc = CacheControl::from_headers(&headers).unwrap_or_default();
        let s = StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Default::default(),
            request_time: t(0),
            response_time: t(0),
            uri: "http://a/".into(),
            selecting: vec![],
            salt: 0,
            invalidated: false,
            partial: None,
            generations: Default::default(),
            tags: Vec::new(),
            purged: crate::purge::Verdict::Valid,
        };
        (s, cc)
    }

    fn request(cc: &str) -> RequestFacts {
        RequestFacts {
            method: Method::GET,
            cache_control: CacheControl::parse_value(cc.as_bytes()),
            has_authorization: false,
        }
    }

    fn decide(pairs: &[(&str, &str)], req_cc: &str, at: u64) -> Reuse {
        decide_with(pairs, req_cc, at, &Config::default())
    }

    fn decide_with(pairs: &[(&str, &str)], req_cc: &str, at: u64, config: &Config) -> Reuse {
        let (s, cc) = stored(pairs);
        reuse(&s, &cc, &request(req_cc), config, t(at))
    }

    fn is_validate(r: Reuse, why: ValidateReason) -> bool {
        matches!(r, Reuse::Validate { reason, .. } if reason == why)
    }

    #[test]
    fn rfc9111_4_2_fresh_until_age_reaches_lifetime() {
        assert!(matches!(
            decide(&[("cache-control", "max-age=10")], "", 9),
            Reuse::Fresh(_)
        ));
        assert!(is_validate(
            decide(&[("cache-control", "max-age=10")], "", 10),
            ValidateReason::Stale
        ));
    }

    #[test]
    fn rfc9111_5_2_2_4_no_cache_always_validates() {
        assert!(is_validate(
            decide(&[("cache-control", "max-age=100, no-cache")], "", 1),
            ValidateReason::NoCache
        ));
        // Even when the client accepts stale.
        assert!(is_validate(
            decide(&[("cache-control", "max-age=1, no-cache")], "max-stale", 5),
            ValidateReason::NoCache
        ));
    }

    #[test]
    fn rfc9111_5_2_1_4_request_no_cache_validates() {
        assert!(is_validate(
            decide(&[("cache-control", "max-age=100")], "no-cache", 1),
            ValidateReason::Request
        ));
        let ignoring = Config::builder()
            .request_controls_cache(false)
            .build()
            .unwrap();
        let (s, cc) = stored(&[("cache-control", "max-age=100")]);
        let mut h = HeaderMap::new();
        h.insert("cache-control", HeaderValue::from_static("no-cache"));
        let (parts, _) = http::Request::get("/").body(()).unwrap().into_parts();
        let mut parts = parts;
        parts.headers = h;
        let facts = RequestFacts::from_parts(&parts, &ignoring);
        assert!(matches!(
            reuse(&s, &cc, &facts, &ignoring, t(1)),
            Reuse::Fresh(_)
        ));
    }

    #[test]
    fn rfc9111_5_2_1_1_request_max_age_limits_age() {
        assert!(matches!(
            decide(&[("cache-control", "max-age=100")], "max-age=10", 10),
            Reuse::Fresh(_)
        ));
        assert!(is_validate(
            decide(&[("cache-control", "max-age=100")], "max-age=10", 11),
            ValidateReason::Request
        ));
        assert!(is_validate(
            decide(&[("cache-control", "max-age=100")], "max-age=0", 1),
            ValidateReason::Request
        ));
        // Even at age zero.
        assert!(is_validate(
            decide(&[("cache-control", "max-age=100")], "max-age=0", 0),
            ValidateReason::Request
        ));
        // max-age with max-stale: stale allowed but age still bounded.
        assert!(matches!(
            decide(
                &[("cache-control", "max-age=5")],
                "max-age=10, max-stale",
                8
            ),
            Reuse::StaleAccepted(_)
        ));
    }

    #[test]
    fn rfc9111_5_2_1_3_min_fresh_requires_remaining_freshness() {
        assert!(matches!(
            decide(&[("cache-control", "max-age=100")], "min-fresh=10", 90),
            Reuse::Fresh(_)
        ));
        assert!(is_validate(
            decide(&[("cache-control", "max-age=100")], "min-fresh=10", 91),
            ValidateReason::Request
        ));
    }

    #[test]
    fn rfc9111_5_2_1_2_max_stale_accepts_stale() {
        assert!(matches!(
            decide(&[("cache-control", "max-age=10")], "max-stale", 1000),
            Reuse::StaleAccepted(_)
        ));
        assert!(matches!(
            decide(&[("cache-control", "max-age=10")], "max-stale=5", 15),
            Reuse::StaleAccepted(_)
        ));
        assert!(is_validate(
            decide(&[("cache-control", "max-age=10")], "max-stale=5", 16),
            ValidateReason::Stale
        ));
    }

    #[test]
    fn rfc9111_5_2_2_2_must_revalidate_forbids_stale() {
        assert!(is_validate(
            decide(
                &[("cache-control", "max-age=10, must-revalidate")],
                "max-stale",
                20
            ),
            ValidateReason::Stale
        ));
    }

    #[test]
    fn rfc9111_5_2_2_8_proxy_revalidate_forbids_stale_in_shared_cache_only() {
        let pairs = [("cache-control", "max-age=10, proxy-revalidate")];
        assert!(is_validate(
            decide(&pairs, "max-stale", 20),
            ValidateReason::Stale
        ));
        let private = Config::builder().shared(false).build().unwrap();
        assert!(matches!(
            decide_with(&pairs, "max-stale", 20, &private),
            Reuse::StaleAccepted(_)
        ));
    }

    #[test]
    fn rfc9111_5_2_2_10_s_maxage_forbids_stale_in_shared_cache() {
        assert!(is_validate(
            decide(&[("cache-control", "s-maxage=10")], "max-stale", 20),
            ValidateReason::Stale
        ));
    }

    #[test]
    fn rfc5861_3_stale_while_revalidate_window() {
        let pairs = [("cache-control", "max-age=10, stale-while-revalidate=5")];
        assert!(matches!(
            decide(&pairs, "", 14),
            Reuse::StaleWhileRevalidate(_)
        ));
        assert!(is_validate(decide(&pairs, "", 16), ValidateReason::Stale));
        let pairs = [(
            "cache-control",
            "max-age=10, stale-while-revalidate=5, must-revalidate",
        )];
        assert!(is_validate(decide(&pairs, "", 12), ValidateReason::Stale));
    }

    #[test]
    fn rfc5861_4_stale_if_error_window_from_response_or_request() {
        let pairs = [("cache-control", "max-age=10, stale-if-error=5")];
        assert!(matches!(
            decide(&pairs, "", 14),
            Reuse::Validate {
                stale_if_error: true,
                ..
            }
        ));
        assert!(matches!(
            decide(&pairs, "", 16),
            Reuse::Validate {
                stale_if_error: false,
                ..
            }
        ));
        let pairs = [("cache-control", "max-age=10")];
        assert!(matches!(
            decide(&pairs, "stale-if-error=60", 16),
            Reuse::Validate {
                stale_if_error: true,
                ..
            }
        ));
        let pairs = [(
            "cache-control",
            "max-age=10, stale-if-error=60, must-revalidate",
        )];
        assert!(matches!(
            decide(&pairs, "", 16),
            Reuse::Validate {
                stale_if_error: false,
                ..
            }
        ));
    }

    #[test]
    fn rfc9111_4_4_invalidated_entries_validate() {
        let (mut s, cc) = stored(&[("cache-control", "max-age=100")]);
        s.invalidated = true;
        assert!(is_validate(
            reuse(&s, &cc, &request(""), &Config::default(), t(1)),
            ValidateReason::Invalidated
        ));
    }

    #[test]
    fn rfc9111_4_2_4_unreachable_serves_stale_within_the_window_unless_forbidden() {
        let config = Config::builder()
            .stale_if_unreachable(Some(Duration::from_secs(60)))
            .build()
            .unwrap();
        let stale_by = |secs: u64| Freshness {
            lifetime: Duration::from_secs(10),
            source: crate::freshness::LifetimeSource::MaxAge,
            age: Duration::from_secs(10 + secs),
        };
        let cc = |v: &str| CacheControl::parse_value(v.as_bytes());
        let plain = cc("max-age=10");
        assert!(may_serve_unreachable(
            ValidateReason::Stale,
            &stale_by(60),
            &plain,
            &config
        ));
        assert!(!may_serve_unreachable(
            ValidateReason::Stale,
            &stale_by(61),
            &plain,
            &config
        ));
        assert!(may_serve_unreachable(
            ValidateReason::Invalidated,
            &stale_by(0),
            &plain,
            &config
        ));
        // The client asked for validation; the response said no-cache.
        assert!(!may_serve_unreachable(
            ValidateReason::Request,
            &stale_by(1),
            &plain,
            &config
        ));
        assert!(!may_serve_unreachable(
            ValidateReason::NoCache,
            &stale_by(1),
            &plain,
            &config
        ));
        for forbidding in [
            "max-age=10, must-revalidate",
            "max-age=10, proxy-revalidate",
            "s-maxage=10",
            "max-age=10, no-cache",
        ] {
            assert!(
                !may_serve_unreachable(
                    ValidateReason::Stale,
                    &stale_by(1),
                    &cc(forbidding),
                    &config
                ),
                "{forbidding}"
            );
        }
        // Off by default.
        assert!(!may_serve_unreachable(
            ValidateReason::Stale,
            &stale_by(1),
            &plain,
            &Config::default()
        ));
    }
}

//! The request side's decision on a looked-up request (RFC 9111 §4).

use std::time::SystemTime;

use http::HeaderMap;

use http::Method;

use crate::config::{Config, Role};
use crate::freshness::Freshness;
use crate::headers::CacheControl;
use crate::key::Metadata;
use crate::partial::{can_answer, missing_range};
use crate::range::ByteRange;
use crate::request::RequestFacts;
use crate::reuse::{Reuse, Timing, ValidateReason, may_serve_unreachable, reuse_at};
use crate::status::Forward;
use crate::store::StoredResponse;
use crate::validation::has_preconditions;

/// Why a stored response is served without contacting the origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Served {
    /// It is fresh (RFC 9111 §4.2).
    Fresh,
    /// It is stale and the request's `max-stale` accepts it (RFC 9111
    /// §4.2.4, §5.2.1.2).
    MaxStale,
    /// It is stale within the response's `stale-while-revalidate` (RFC
    /// 5861 §3): served, and revalidated in the background.
    StaleWhileRevalidate,
}

/// What to do with a request for a cacheable method, given what the lookup
/// found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestPlan {
    /// Answer from storage (RFC 9111 §4): the stored response with Age, or
    /// the 304 / 412 the client's preconditions call for (RFC 9111 §4.3.2,
    /// RFC 9110 §13.2).
    Serve {
        /// The stored response's freshness now.
        freshness: Freshness,
        /// Why it may be served.
        served: Served,
        /// Refresh it in the background: within `stale-while-revalidate`
        /// (RFC 5861 §3), or fresh with less than
        /// [`Config::refresh_ahead`] left.
        refresh: bool,
    },
    /// Validate the stored response with a conditional request (RFC 9111
    /// §4.3.1).
    Validate {
        /// Why it cannot be served as it is.
        reason: ValidateReason,
        /// True when an error in place of the answer may be met with the
        /// stored response, stale (RFC 5861 §4).
        stale_if_error: bool,
        /// True when, should the upstream be unreachable, the stored
        /// response may be served stale ([`may_serve_unreachable`], RFC 9111
        /// §4.2.4).
        stale_if_unreachable: bool,
    },
    /// Nothing stored can answer: forward the request (RFC 9111 §4), for
    /// the reason given (RFC 9211 `fwd`). [`Forward::Partial`] keeps the
    /// stored incomplete response to combine with (RFC 9111 §3.4).
    Forward(Forward),
    /// A stored incomplete response cannot answer, but can be completed:
    /// forward the request asking for only the bytes `missing`, with an
    /// If-Range of the stored strong validator, to combine the answer with
    /// what is stored (RFC 9111 §3.4; Cache-Status `fwd=partial`).
    Complete {
        /// The bytes to ask for ([`crate::partial::missing_range`]).
        missing: ByteRange,
    },
    /// The request says `only-if-cached` and nothing stored may answer it
    /// without the origin: 504 (RFC 9111 §5.2.1.7).
    GatewayTimeout,
}

/// Decides what to do with a request given the representation the lookup
/// selected (`stored`) and whether the resource's metadata was found at all
/// (`known`, which tells a URI miss from a Vary miss).
///
/// In order: an incomplete response that cannot answer the request is
/// completed when it can be, forwarded otherwise (RFC 9111 §3.3, §3.4;
/// see `plan_incomplete`);
/// otherwise [`reuse`](crate::reuse::reuse) decides between serving,
/// serving stale and validating; a request that would go forward with
/// `only-if-cached` gets a 504 instead.
#[inline]
pub fn plan_request(
    stored: Option<&StoredResponse>,
    known: bool,
    request: &HeaderMap,
    facts: &RequestFacts,
    config: &Config,
    now: SystemTime,
) -> RequestPlan {
    let cc = stored.map(|s| crate::targeted::response_cache_control(&s.headers, config));
    let read = stored
        .zip(cc.as_ref())
        .map(|(s, cc)| (s, cc, Timing::of(s, cc, config)));
    plan_parsed(read, known, request, facts, config, now)
}

/// [`plan_request`] for a stored response whose fields are read already:
/// its Cache-Control (as
/// [`response_cache_control`](crate::targeted::response_cache_control)
/// reads it under `config`) and its [`Timing`].
#[inline]
pub(crate) fn plan_parsed(
    stored: Option<(&StoredResponse, &CacheControl, Timing)>,
    known: bool,
    request: &HeaderMap,
    facts: &RequestFacts,
    config: &Config,
    now: SystemTime,
) -> RequestPlan {
    let plan = match stored {
        None if known => RequestPlan::Forward(Forward::VaryMiss),
        None => RequestPlan::Forward(Forward::UriMiss),
        Some((stored, _, _)) if !can_answer(stored, &facts.method, request) => {
            plan_incomplete(stored, request, facts, config)
        }
        Some((stored, cc, timing)) => {
            let verdict = reuse_at(stored, cc, timing.at(stored, now), facts, config);
            from_reuse(verdict, cc, config)
        }
    };
    match plan {
        RequestPlan::Serve { .. } => plan,
        _ if facts.cache_control.is_only_if_cached() => RequestPlan::GatewayTimeout,
        _ => plan,
    }
}

/// An incomplete stored response that cannot answer the request: complete
/// it when it can be and the result may be stored, within
/// [`Config::max_body_size`] (RFC 9111 §3.4); forward the request as it is
/// otherwise (§3.3).
#[cold]
fn plan_incomplete(
    stored: &StoredResponse,
    request: &HeaderMap,
    facts: &RequestFacts,
    config: &Config,
) -> RequestPlan {
    let held = stored.partial.as_ref().map_or(0, |p| p.stored_len());
    let within =
        |missing: &ByteRange| held.saturating_add(missing.len()) <= config.max_body_size() as u64;
    match missing_range(stored, &facts.method, request).filter(within) {
        Some(missing) => RequestPlan::Complete { missing },
        None => RequestPlan::Forward(Forward::Partial),
    }
}

/// True when a request that matches none of the stored variants of a
/// resource (a Vary miss, with the resource's `metadata`) goes forward
/// with their entity tags in If-None-Match, so that a 304 selects one of
/// them (RFC 9111 §4.3.1, §4.3.4): a GET, for a resource whose metadata
/// remembers variants, and no precondition of the client's to forward
/// with it (in the application role the client's preconditions are never
/// forwarded; the cache evaluates them on what it answers).
pub fn validates_variants(
    metadata: &Metadata,
    request: &HeaderMap,
    facts: &RequestFacts,
    config: &Config,
) -> bool {
    facts.method == Method::GET
        && !metadata.variants.is_empty()
        && (config.role() == Role::Application || !has_preconditions(request))
}

#[inline]
fn from_reuse(verdict: Reuse, cc: &CacheControl, config: &Config) -> RequestPlan {
    let serve = |freshness: Freshness, served, refresh| RequestPlan::Serve {
        freshness,
        served,
        refresh,
    };
    match verdict {
        Reuse::Fresh(f) => {
            let refresh = config
                .refresh_ahead()
                .is_some_and(|threshold| f.remaining() < threshold);
            serve(f, Served::Fresh, refresh)
        }
        Reuse::StaleAccepted(f) => serve(f, Served::MaxStale, false),
        Reuse::StaleWhileRevalidate(f) => serve(f, Served::StaleWhileRevalidate, true),
        Reuse::Validate {
            freshness,
            reason,
            stale_if_error,
        } => RequestPlan::Validate {
            reason,
            stale_if_error,
            stale_if_unreachable: may_serve_unreachable(reason, &freshness, cc, config),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;
    use http::header::HeaderValue;
    use http::{Request, StatusCode};

    use super::*;
    use crate::headers::fmt_http_date;
    use crate::partial::{Part, PartialContent};
    use crate::range::ByteRange;

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn stored(cache_control: &str) -> StoredResponse {
        let mut headers = HeaderMap::new();
        headers.insert(
            "cache-control",
            HeaderValue::from_str(cache_control).unwrap(),
        );
        headers.insert("date", fmt_http_date(t(0)));
        StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"0123456789"),
            request_time: t(0),
            response_time: t(0),
            uri: "http://a.test/".into(),
            selecting: vec![],
            salt: 1,
            invalidated: false,
            partial: None,
            generations: Default::default(),
            tags: Vec::new(),
            purged: crate::purge::Verdict::Valid,
        }
    }

    fn plan(stored: Option<&StoredResponse>, request: &[(&str, &str)], at: u64) -> RequestPlan {
        plan_with(stored, request, &Config::default(), at)
    }

    fn plan_with(
        stored: Option<&StoredResponse>,
        request: &[(&str, &str)],
        config: &Config,
        at: u64,
    ) -> RequestPlan {
        let mut builder = Request::get("http://a.test/");
        for (name, value) in request {
            builder = builder.header(*name, *value);
        }
        let (parts, _) = builder.body(()).unwrap().into_parts();
        let facts = RequestFacts::from_parts(&parts, config);
        plan_request(
            stored,
            stored.is_some(),
            &parts.headers,
            &facts,
            config,
            t(at),
        )
    }

    fn served(plan: RequestPlan) -> Option<(Served, bool)> {
        match plan {
            RequestPlan::Serve {
                served, refresh, ..
            } => Some((served, refresh)),
            _ => None,
        }
    }

    #[test]
    fn rfc9111_4_nothing_stored_is_a_uri_miss_or_a_vary_miss() {
        let config = Config::default();
        let (parts, _) = Request::get("http://a.test/")
            .body(())
            .unwrap()
            .into_parts();
        let facts = RequestFacts::from_parts(&parts, &config);
        let plan = |known| plan_request(None, known, &parts.headers, &facts, &config, t(0));
        assert_eq!(plan(false), RequestPlan::Forward(Forward::UriMiss));
        assert_eq!(plan(true), RequestPlan::Forward(Forward::VaryMiss));
    }

    #[test]
    fn rfc9111_4_2_fresh_is_served() {
        let s = stored("max-age=60");
        assert_eq!(
            served(plan(Some(&s), &[], 10)),
            Some((Served::Fresh, false))
        );
    }

    #[test]
    fn refresh_ahead_refreshes_a_response_about_to_expire() {
        let s = stored("max-age=60");
        let config = Config::builder()
            .refresh_ahead(Duration::from_secs(10))
            .build()
            .unwrap();
        assert_eq!(
            served(plan_with(Some(&s), &[], &config, 40)),
            Some((Served::Fresh, false))
        );
        assert_eq!(
            served(plan_with(Some(&s), &[], &config, 55)),
            Some((Served::Fresh, true))
        );
    }

    #[test]
    fn rfc9111_5_2_1_2_max_stale_serves_stale_without_refresh() {
        let s = stored("max-age=60");
        let got = plan(Some(&s), &[("cache-control", "max-stale=100")], 100);
        assert_eq!(served(got), Some((Served::MaxStale, false)));
    }

    #[test]
    fn rfc5861_3_stale_while_revalidate_serves_and_refreshes() {
        let s = stored("max-age=60, stale-while-revalidate=30");
        assert_eq!(
            served(plan(Some(&s), &[], 70)),
            Some((Served::StaleWhileRevalidate, true))
        );
        assert!(matches!(
            plan(Some(&s), &[], 100),
            RequestPlan::Validate { .. }
        ));
    }

    #[test]
    fn rfc9111_4_3_1_stale_is_validated_noting_stale_if_error() {
        let s = stored("max-age=60, stale-if-error=100");
        assert_eq!(
            plan(Some(&s), &[], 100),
            RequestPlan::Validate {
                reason: ValidateReason::Stale,
                stale_if_error: true,
                stale_if_unreachable: false
            }
        );
        let s = stored("max-age=60, must-revalidate, stale-if-error=100");
        assert_eq!(
            plan(Some(&s), &[], 100),
            RequestPlan::Validate {
                reason: ValidateReason::Stale,
                stale_if_error: false,
                stale_if_unreachable: false
            }
        );
    }

    #[test]
    fn rfc9111_5_2_1_4_request_no_cache_validates() {
        let s = stored("max-age=60");
        assert_eq!(
            plan(Some(&s), &[("cache-control", "no-cache")], 1),
            RequestPlan::Validate {
                reason: ValidateReason::Request,
                stale_if_error: false,
                stale_if_unreachable: false
            }
        );
    }

    #[test]
    fn rfc9111_5_2_1_7_only_if_cached_gets_a_504_instead_of_a_forward() {
        let only = [("cache-control", "only-if-cached")];
        assert_eq!(plan(None, &only, 0), RequestPlan::GatewayTimeout);
        let s = stored("max-age=60");
        assert_eq!(plan(Some(&s), &only, 100), RequestPlan::GatewayTimeout);
        assert_eq!(
            served(plan(Some(&s), &only, 10)),
            Some((Served::Fresh, false))
        );
    }

    #[test]
    fn rfc9111_3_3_an_incomplete_response_answers_only_ranges_within_it() {
        let mut s = stored("max-age=60");
        s.status = StatusCode::PARTIAL_CONTENT;
        s.headers.insert("etag", HeaderValue::from_static("\"v\""));
        s.partial = PartialContent::single(Part {
            range: ByteRange { first: 0, last: 9 },
            complete_length: 100,
        });
        assert_eq!(
            plan(Some(&s), &[], 1),
            RequestPlan::Complete {
                missing: ByteRange {
                    first: 10,
                    last: 99
                }
            }
        );
        assert_eq!(
            served(plan(Some(&s), &[("range", "bytes=2-5")], 1)),
            Some((Served::Fresh, false))
        );
    }

    #[test]
    fn rfc9111_3_4_a_part_is_completed_only_when_it_can_be_combined() {
        let mut s = stored("max-age=60");
        s.partial = PartialContent::single(Part {
            range: ByteRange { first: 0, last: 9 },
            complete_length: 100,
        });
        // No strong validator: forwarded as the client asked.
        assert_eq!(
            plan(Some(&s), &[("range", "bytes=5-20")], 1),
            RequestPlan::Forward(Forward::Partial)
        );
        s.headers.insert("etag", HeaderValue::from_static("\"v\""));
        assert_eq!(
            plan(Some(&s), &[("range", "bytes=5-20")], 1),
            RequestPlan::Complete {
                missing: ByteRange {
                    first: 10,
                    last: 20
                }
            }
        );
        // The client's own conditions go to the origin untouched.
        for condition in [("if-range", "\"v\""), ("if-none-match", "\"v\"")] {
            assert_eq!(
                plan(Some(&s), &[("range", "bytes=5-20"), condition], 1),
                RequestPlan::Forward(Forward::Partial)
            );
        }
        assert_eq!(
            plan(Some(&s), &[("cache-control", "only-if-cached")], 1),
            RequestPlan::GatewayTimeout
        );
    }
}

//! Freshness lifetime and age (RFC 9111 §4.2).

use std::time::{Duration, SystemTime};

use http::StatusCode;
use http::header::{DATE, EXPIRES, HeaderMap, LAST_MODIFIED};

use crate::config::Config;
use crate::headers::{CacheControl, DELTA_SECONDS_MAX, Delta, age_field, date_field_at};

/// Where a freshness lifetime comes from (RFC 9111 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifetimeSource {
    /// `s-maxage`, in a shared cache.
    SMaxAge,
    /// The `max-age` response directive.
    MaxAge,
    /// `Expires` minus `Date`.
    Expires,
    /// A heuristic (RFC 9111 §4.2.2).
    Heuristic,
    /// Nothing: the response is stale as soon as it is received.
    None,
}

impl LifetimeSource {
    /// True when the origin gave an explicit expiration time.
    pub fn is_explicit(self) -> bool {
        matches!(
            self,
            LifetimeSource::SMaxAge | LifetimeSource::MaxAge | LifetimeSource::Expires
        )
    }
}

/// Status codes that are heuristically cacheable (RFC 9110 §15.1).
pub fn is_heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

fn secs(d: Delta) -> Duration {
    // An invalid value makes the response stale (RFC 9111 §4.2.1).
    Duration::from_secs(u64::from(d.secs().unwrap_or(0)))
}

/// The freshness lifetime of a response (RFC 9111 §4.2.1): the first of
/// s-maxage (shared caches only), max-age, Expires minus Date (or minus the
/// time of receipt when Date is absent or invalid), and a heuristic
/// (§4.2.2).
///
/// An invalid `max-age`/`s-maxage` or an invalid `Expires` gives a lifetime
/// of zero (RFC 9111 §4.2.1, §5.3). The heuristic applies only when there is
/// no explicit expiration, and only to heuristically cacheable status codes
/// or responses marked `public` (or `private` in a private cache); it is
/// `heuristic_fraction` of the time since Last-Modified, capped at
/// `heuristic_max`.
pub fn freshness_lifetime(
    status: StatusCode,
    headers: &HeaderMap,
    cc: &CacheControl,
    response_time: SystemTime,
    config: &Config,
) -> (Duration, LifetimeSource) {
    if config.is_shared() {
        if let Some(s) = cc.s_maxage() {
            return (secs(s), LifetimeSource::SMaxAge);
        }
    }
    if let Some(m) = cc.max_age() {
        return (secs(m), LifetimeSource::MaxAge);
    }
    let date_value = match date_field_at(headers, &DATE, response_time) {
        Some(Some(date)) => date,
        _ => response_time,
    };
    // A targeted field replaces Expires too (RFC 9213 §2.2).
    let expires = date_field_at(headers, &EXPIRES, response_time).filter(|_| !cc.is_targeted());
    if let Some(expires) = expires {
        let lifetime = match expires {
            Some(at) => at.duration_since(date_value).unwrap_or(Duration::ZERO),
            // An invalid date means "already expired" (RFC 9111 §5.3).
            None => Duration::ZERO,
        };
        return (lifetime, LifetimeSource::Expires);
    }
    let explicitly_cacheable = cc.is_public() || (!config.is_shared() && cc.private().is_some());
    if !(is_heuristically_cacheable(status) || explicitly_cacheable) {
        return (Duration::ZERO, LifetimeSource::None);
    }
    match date_field_at(headers, &LAST_MODIFIED, response_time) {
        Some(Some(last_modified)) => {
            let since = date_value
                .duration_since(last_modified)
                .unwrap_or(Duration::ZERO);
            let heuristic = since
                .mul_f64(config.heuristic_fraction())
                .min(config.heuristic_max());
            // Whole seconds, rounded down.
            (
                Duration::from_secs(heuristic.as_secs()),
                LifetimeSource::Heuristic,
            )
        }
        _ => (Duration::ZERO, LifetimeSource::None),
    }
}

/// The current age of a stored response (RFC 9111 §4.2.3):
///
/// ```text
/// apparent_age = max(0, response_time - date_value)
/// corrected_age_value = age_value + (response_time - request_time)
/// corrected_initial_age = max(apparent_age, corrected_age_value)
/// current_age = corrected_initial_age + (now - response_time)
/// ```
///
/// The result saturates at 2^31 seconds (RFC 9111 §1.2.2).
pub fn current_age(
    headers: &HeaderMap,
    request_time: SystemTime,
    response_time: SystemTime,
    now: SystemTime,
) -> Duration {
    let initial = corrected_initial_age(headers, request_time, response_time);
    age_at(initial, response_time, now)
}

/// The `corrected_initial_age` of [`current_age`]: the part of the age
/// fixed when the response was received.
pub(crate) fn corrected_initial_age(
    headers: &HeaderMap,
    request_time: SystemTime,
    response_time: SystemTime,
) -> Duration {
    let apparent_age = match date_field_at(headers, &DATE, response_time) {
        Some(Some(date)) => response_time.duration_since(date).unwrap_or(Duration::ZERO),
        _ => Duration::ZERO,
    };
    let age_value = Duration::from_secs(u64::from(age_field(headers).unwrap_or(0)));
    let response_delay = response_time
        .duration_since(request_time)
        .unwrap_or(Duration::ZERO);
    let corrected_age_value = age_value.saturating_add(response_delay);
    apparent_age.max(corrected_age_value)
}

/// The [`current_age`] at `now` of a response received at
/// `response_time` with `corrected_initial_age`.
pub(crate) fn age_at(
    corrected_initial_age: Duration,
    response_time: SystemTime,
    now: SystemTime,
) -> Duration {
    let resident_time = now.duration_since(response_time).unwrap_or(Duration::ZERO);
    corrected_initial_age
        .saturating_add(resident_time)
        .min(Duration::from_secs(u64::from(DELTA_SECONDS_MAX)))
}

/// A stored response's freshness at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    /// The freshness lifetime.
    pub lifetime: Duration,
    /// Where the lifetime comes from.
    pub source: LifetimeSource,
    /// The current age.
    pub age: Duration,
}

impl Freshness {
    /// `freshness_lifetime > current_age` (RFC 9111 §4.2).
    pub fn is_fresh(&self) -> bool {
        self.lifetime > self.age
    }

    /// How long ago it became stale; zero while fresh.
    pub fn staleness(&self) -> Duration {
        self.age.saturating_sub(self.lifetime)
    }

    /// Freshness left; zero once stale.
    pub fn remaining(&self) -> Duration {
        self.lifetime.saturating_sub(self.age)
    }

    /// The RFC 9211 `ttl`: lifetime minus age in seconds, negative once stale.
    pub fn ttl_secs(&self) -> i64 {
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX);
        let age = i64::try_from(self.age.as_secs()).unwrap_or(i64::MAX);
        lifetime.saturating_sub(age)
    }

    /// The Age field value to send: whole seconds of the current age.
    pub fn age_secs(&self) -> u64 {
        self.age.as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::fmt_http_date;
    use http::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::header::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn lifetime(h: &HeaderMap, config: &Config) -> (Duration, LifetimeSource) {
        let cc = CacheControl::from_headers(h).unwrap_or_default();
        freshness_lifetime(StatusCode::OK, h, &cc, t(0), config)
    }

    fn date(s: u64) -> String {
        fmt_http_date(t(s)).to_str().unwrap().to_owned()
    }

    #[test]
    fn rfc9110_5_6_7_rfc850_years_pivot_on_the_response_time_not_the_system_clock() {
        // Received in 2023 (t(0)), a two-digit year 74 is 1974: more than
        // 50 years ahead as 2074. 06-Nov-1974 was a Wednesday, so this
        // Tuesday is an invalid date, and an invalid Expires has expired
        // (RFC 9111 §5.3). Read on the system clock (2024 or later), the
        // date would be 2074 and the response fresh for half a century.
        let h = headers(&[
            ("date", fmt_http_date(t(0)).to_str().unwrap()),
            ("expires", "Tuesday, 06-Nov-74 08:49:37 GMT"),
        ]);
        let cc = CacheControl::default();
        let (lifetime, source) =
            freshness_lifetime(StatusCode::OK, &h, &cc, t(0), &Config::default());
        assert_eq!(
            (lifetime, source),
            (Duration::ZERO, LifetimeSource::Expires)
        );
    }
    #[test]
    fn rfc9111_4_2_1_s_maxage_beats_max_age_in_shared_cache() {
        let h = headers(&[("cache-control", "max-age=10, s-maxage=20")]);
        assert_eq!(
            lifetime(&h, &Config::default()),
            (Duration::from_secs(20), LifetimeSource::SMaxAge)
        );
        let private = Config::builder().shared(false).build().unwrap();
        assert_eq!(
            lifetime(&h, &private),
            (Duration::from_secs(10), LifetimeSource::MaxAge)
        );
    }

    #[test]
    fn rfc9111_5_3_max_age_beats_expires() {
        let h = headers(&[
            ("cache-control", "max-age=10"),
            ("date", &date(0)),
            ("expires", &date(100)),
        ]);
        assert_eq!(lifetime(&h, &Config::default()).0, Duration::from_secs(10));
    }

    #[test]
    fn rfc9111_4_2_1_expires_minus_date() {
        let h = headers(&[("date", &date(0)), ("expires", &date(100))]);
        assert_eq!(
            lifetime(&h, &Config::default()),
            (Duration::from_secs(100), LifetimeSource::Expires)
        );
        // Without Date, the time of receipt stands in.
        let h = headers(&[("expires", &date(30))]);
        assert_eq!(lifetime(&h, &Config::default()).0, Duration::from_secs(30));
        // Expires before Date.
        let h = headers(&[("date", &date(50)), ("expires", &date(10))]);
        assert_eq!(lifetime(&h, &Config::default()).0, Duration::ZERO);
    }

    #[test]
    fn rfc9111_5_3_invalid_expires_is_already_expired() {
        for bad in ["0", "-1", "soon", "Thu, 01 Dec 1994 16:00:00 PST"] {
            let h = headers(&[("expires", bad), ("last-modified", &date(0))]);
            assert_eq!(
                lifetime(&h, &Config::default()),
                (Duration::ZERO, LifetimeSource::Expires),
                "{bad}"
            );
        }
    }

    #[test]
    fn rfc9111_4_2_1_invalid_max_age_is_stale_not_heuristic() {
        let h = headers(&[
            ("cache-control", "max-age=abc"),
            ("last-modified", &date(0)),
        ]);
        assert_eq!(
            lifetime(&h, &Config::default()),
            (Duration::ZERO, LifetimeSource::MaxAge)
        );
    }

    #[test]
    fn rfc9111_4_2_2_heuristic_is_fraction_of_last_modified_age() {
        let cc = CacheControl::default();
        let h = headers(&[("date", &date(1000)), ("last-modified", &date(0))]);
        let (l, s) = freshness_lifetime(StatusCode::OK, &h, &cc, t(1000), &Config::default());
        assert_eq!(
            (l, s),
            (Duration::from_secs(100), LifetimeSource::Heuristic)
        );
        // Not heuristically cacheable.
        let (l, s) = freshness_lifetime(StatusCode::FOUND, &h, &cc, t(1000), &Config::default());
        assert_eq!((l, s), (Duration::ZERO, LifetimeSource::None));
        // ... unless marked public.
        let public = CacheControl::parse_value(b"public");
        let (l, _) =
            freshness_lifetime(StatusCode::FOUND, &h, &public, t(1000), &Config::default());
        assert_eq!(l, Duration::from_secs(100));
        // Capped.
        let capped = Config::builder()
            .heuristic_max(Duration::from_secs(5))
            .build()
            .unwrap();
        let (l, _) = freshness_lifetime(StatusCode::OK, &h, &cc, t(1000), &capped);
        assert_eq!(l, Duration::from_secs(5));
        // No Last-Modified: no heuristic.
        let h = headers(&[("date", &date(1000))]);
        let (l, _) = freshness_lifetime(StatusCode::OK, &h, &cc, t(1000), &Config::default());
        assert_eq!(l, Duration::ZERO);
    }

    #[test]
    fn rfc9110_15_1_heuristically_cacheable_codes() {
        for code in [200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501] {
            assert!(is_heuristically_cacheable(
                StatusCode::from_u16(code).unwrap()
            ));
        }
        for code in [201, 302, 303, 307, 400, 403, 500, 502, 503] {
            assert!(!is_heuristically_cacheable(
                StatusCode::from_u16(code).unwrap()
            ));
        }
    }

    #[test]
    fn rfc9111_4_2_3_age_combines_age_header_delay_and_residence() {
        let h = headers(&[("date", &date(0)), ("age", "10")]);
        // Request sent at 0, response received at 2: delay 2.
        assert_eq!(current_age(&h, t(0), t(2), t(2)), Duration::from_secs(12));
        assert_eq!(current_age(&h, t(0), t(2), t(7)), Duration::from_secs(17));
        // Apparent age wins when larger.
        let h = headers(&[("date", &date(0))]);
        assert_eq!(
            current_age(&h, t(29), t(30), t(30)),
            Duration::from_secs(30)
        );
        // Date in the future: apparent age is zero, not negative.
        let h = headers(&[("date", &date(100))]);
        assert_eq!(current_age(&h, t(0), t(0), t(5)), Duration::from_secs(5));
    }

    #[test]
    fn rfc9111_1_2_2_age_overflow_saturates() {
        let h = headers(&[("age", "99999999999999999999")]);
        assert_eq!(
            current_age(&h, t(0), t(0), t(10)),
            Duration::from_secs(u64::from(DELTA_SECONDS_MAX))
        );
    }

    #[test]
    fn rfc9111_4_2_fresh_means_lifetime_greater_than_age() {
        let f = Freshness {
            lifetime: Duration::from_secs(10),
            source: LifetimeSource::MaxAge,
            age: Duration::from_secs(10),
        };
        assert!(!f.is_fresh());
        assert_eq!(f.ttl_secs(), 0);
        let f = Freshness {
            age: Duration::from_secs(15),
            ..f
        };
        assert_eq!(f.ttl_secs(), -5);
        assert_eq!(f.staleness(), Duration::from_secs(5));
    }
}

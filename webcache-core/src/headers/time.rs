//! Delta-seconds (RFC 9111 §1.2.2), HTTP-date (RFC 9110 §5.6.7) and Age (RFC 9111 §5.1).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use http::header::{HeaderMap, HeaderName};

use super::list::{split_members, trim_ows};

/// The value a cache uses for a delta-seconds that overflows: 2^31 seconds,
/// "infinity" (RFC 9111 §1.2.2).
pub const DELTA_SECONDS_MAX: u32 = 1 << 31;

/// Parses `delta-seconds = 1*DIGIT` (RFC 9111 §1.2.2).
///
/// Values too large to represent saturate at [`DELTA_SECONDS_MAX`]; anything
/// that is not one or more ASCII digits (a sign, a fraction, spaces inside)
/// is `None`.
pub fn parse_delta_seconds(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value: u64 = 0;
    for &digit in s {
        value = value * 10 + u64::from(digit - b'0');
        if value >= u64::from(DELTA_SECONDS_MAX) {
            return Some(DELTA_SECONDS_MAX);
        }
    }
    // The loop returns before `value` reaches 2^31, so this cannot truncate.
    Some(value as u32)
}

/// Parses an HTTP-date (RFC 9110 §5.6.7) in any of its three formats.
///
/// Names of days and months and the zone are matched case-insensitively
/// (RFC 9111 §4.2: a cache SHOULD), a zone other than `GMT` is invalid, and
/// surrounding whitespace is ignored. Invalid input is `None`.
///
/// A two-digit rfc850 year is placed by the system clock; the cache's rules
/// use [`parse_http_date_at`] with the cache's own clock.
pub fn parse_http_date(value: &[u8]) -> Option<SystemTime> {
    parse_http_date_at(value, SystemTime::now())
}

/// [`parse_http_date`], with the two-digit year of an rfc850-date placed
/// relative to `now` (RFC 9110 §5.6.7: a year more than 50 years after
/// `now` is in the previous century).
pub fn parse_http_date_at(value: &[u8], now: SystemTime) -> Option<SystemTime> {
    let value = trim_ows(value);
    if value.len() < 20 || value.len() > 40 || !value.is_ascii() {
        return None;
    }
    // Fast path: an IMF-fixdate or asctime-date as senders write them (the
    // two-digit years of rfc850-date need the pivot below).
    if value.len() == 29 || value.len() == 24 {
        if let Ok(time) = std::str::from_utf8(value)
            .map_err(|_| ())
            .and_then(|v| httpdate::parse_http_date(v).map_err(|_| ()))
        {
            return Some(time);
        }
    }
    // Canonical capitalisation so that `httpdate` (which is case-sensitive)
    // accepts e.g. "thu, 01 dec 1994 16:00:00 gmt".
    let mut canonical = String::with_capacity(value.len());
    let mut word_start = true;
    for &b in value {
        let c = b as char;
        if c.is_ascii_alphabetic() {
            canonical.push(if word_start {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            });
            word_start = false;
        } else {
            canonical.push(c);
            word_start = true;
        }
    }
    let canonical = canonical.replace("Gmt", "GMT");
    let canonical = rfc850_to_imf(&canonical, now).unwrap_or(canonical);
    httpdate::parse_http_date(&canonical).ok()
}

/// Rewrites an rfc850-date (`Sunday, 06-Nov-94 08:49:37 GMT`) as an
/// IMF-fixdate, choosing the century as RFC 9110 §5.6.7 requires: a
/// two-digit year that would be more than 50 years in the future is in the
/// past century.
fn rfc850_to_imf(s: &str, now: SystemTime) -> Option<String> {
    let (weekday, rest) = s.split_once(", ")?;
    if weekday.len() < 6 || !weekday.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let b = rest.as_bytes();
    if b.len() != 22 || b[2] != b'-' || b[6] != b'-' {
        return None;
    }
    let yy: u32 = rest.get(7..9)?.parse().ok()?;
    if !rest[7..9].bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let now_year = year_of(now);
    let mut year = now_year - now_year % 100 + yy;
    if year > now_year + 50 {
        year -= 100;
    }
    Some(format!(
        "{}, {} {} {}{}",
        &weekday[..3],
        &rest[0..2],
        &rest[3..6],
        year,
        &rest[9..]
    ))
}

/// The calendar year (UTC) of `time`.
fn year_of(time: SystemTime) -> u32 {
    let secs = unix_secs(time);
    // Days to civil year; accurate to the day, which is all the pivot needs.
    let days = secs / 86_400;
    (1970 + (days * 400 / 146_097)) as u32
}

/// Formats `time` as an IMF-fixdate (RFC 9110 §5.6.7), the only format a
/// sender generates.
pub fn fmt_http_date(time: SystemTime) -> HeaderValue {
    // `httpdate` cannot format times before 1970 or after 9999.
    let latest = UNIX_EPOCH + Duration::from_secs(253_402_300_799);
    let time = time.clamp(UNIX_EPOCH, latest);
    let text = httpdate::fmt_http_date(time);
    HeaderValue::from_str(&text).expect("IMF-fixdate is always a valid header value")
}

/// Reads a singleton date field (`Date`, `Expires`, `Last-Modified`).
///
/// Returns `None` when absent, and `Some(None)` when present but invalid.
/// When the field is repeated, the first line is used (RFC 9111 §4.2.1).
pub fn date_field(headers: &HeaderMap, name: &HeaderName) -> Option<Option<SystemTime>> {
    headers.get(name).map(|v| parse_http_date(v.as_bytes()))
}

/// [`date_field`], with two-digit rfc850 years placed relative to `now`
/// (see [`parse_http_date_at`]).
pub fn date_field_at(
    headers: &HeaderMap,
    name: &HeaderName,
    now: SystemTime,
) -> Option<Option<SystemTime>> {
    headers
        .get(name)
        .map(|v| parse_http_date_at(v.as_bytes(), now))
}

/// Reads the Age field (RFC 9111 §5.1): the first member of a list-based
/// value is used; an invalid value is ignored (treated as absent). Overflow
/// saturates at 2^31.
pub fn age_field(headers: &HeaderMap) -> Option<u32> {
    let line = headers.get(http::header::AGE)?;
    let first = split_members(line.as_bytes()).next()?;
    parse_delta_seconds(first)
}

/// Whole seconds since the Unix epoch, zero for earlier times.
pub fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, zero for earlier times.
pub fn unix_millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The time `millis` milliseconds after the Unix epoch.
pub fn from_unix_millis(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9111_1_2_2_delta_seconds_parses_digits_only() {
        assert_eq!(parse_delta_seconds(b"0"), Some(0));
        assert_eq!(parse_delta_seconds(b"0003600"), Some(3600));
        assert_eq!(parse_delta_seconds(b"-1"), None);
        assert_eq!(parse_delta_seconds(b"+1"), None);
        assert_eq!(parse_delta_seconds(b"1.5"), None);
        assert_eq!(parse_delta_seconds(b"1 0"), None);
        assert_eq!(parse_delta_seconds(b""), None);
        assert_eq!(parse_delta_seconds(b"abc"), None);
    }

    #[test]
    fn rfc9111_1_2_2_delta_seconds_overflow_saturates_at_2_pow_31() {
        assert_eq!(parse_delta_seconds(b"2147483647"), Some(2_147_483_647));
        assert_eq!(parse_delta_seconds(b"2147483648"), Some(DELTA_SECONDS_MAX));
        assert_eq!(
            parse_delta_seconds(b"99999999999999999999999999999"),
            Some(DELTA_SECONDS_MAX)
        );
    }

    #[test]
    fn rfc9110_5_6_7_all_three_date_formats_parse() {
        let expected = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(expected)
        );
        assert_eq!(
            parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(expected)
        );
        assert_eq!(parse_http_date(b"Sun Nov  6 08:49:37 1994"), Some(expected));
    }

    #[test]
    fn rfc9110_5_6_7_rfc850_two_digit_years_pivot_fifty_years_ahead() {
        // 18-Aug-50 is a Thursday in 2050, within 50 years of now.
        let t = parse_http_date(b"Thursday, 18-Aug-50 02:01:18 GMT").unwrap();
        assert_eq!(fmt_http_date(t), "Thu, 18 Aug 2050 02:01:18 GMT");
        // 06-Nov-94 is more than 50 years ahead as 2094: 1994.
        let t = parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT").unwrap();
        assert_eq!(fmt_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn rfc9110_5_6_7_the_pivot_is_relative_to_the_time_given() {
        let year = |y: u64| UNIX_EPOCH + Duration::from_secs((y - 1970) * 31_556_952);
        // 06-Nov-1974 was a Wednesday, 06-Nov-2074 is a Tuesday.
        let wednesday = b"Wednesday, 06-Nov-74 08:49:37 GMT";
        let tuesday = b"Tuesday, 06-Nov-74 08:49:37 GMT";
        // In 2023, 2074 is more than 50 years ahead: 1974.
        let t = parse_http_date_at(wednesday, year(2023)).unwrap();
        assert_eq!(fmt_http_date(t), "Wed, 06 Nov 1974 08:49:37 GMT");
        assert_eq!(parse_http_date_at(tuesday, year(2023)), None);
        // In 2030 it is not: 2074.
        let t = parse_http_date_at(tuesday, year(2030)).unwrap();
        assert_eq!(fmt_http_date(t), "Tue, 06 Nov 2074 08:49:37 GMT");
        assert_eq!(parse_http_date_at(wednesday, year(2030)), None);
    }

    #[test]
    fn formatting_clamps_out_of_range_times() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(fmt_http_date(before), "Thu, 01 Jan 1970 00:00:00 GMT");
        let far = UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 100);
        assert!(parse_http_date(fmt_http_date(far).as_bytes()).is_some());
    }

    #[test]
    fn rfc9111_4_2_dates_match_case_insensitively() {
        let expected = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(
            parse_http_date(b"sun, 06 nov 1994 08:49:37 gmt"),
            Some(expected)
        );
        assert_eq!(
            parse_http_date(b"SUN, 06 NOV 1994 08:49:37 GMT"),
            Some(expected)
        );
    }

    #[test]
    fn rfc9111_4_2_zone_other_than_gmt_is_invalid() {
        assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 UTC"), None);
        assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(parse_http_date(b"0"), None);
        assert_eq!(parse_http_date(b"-1"), None);
    }

    #[test]
    fn rfc9111_5_1_age_uses_first_member_and_ignores_invalid() {
        let mut h = HeaderMap::new();
        h.insert("age", HeaderValue::from_static("30, 60"));
        assert_eq!(age_field(&h), Some(30));
        h.insert("age", HeaderValue::from_static("-30"));
        assert_eq!(age_field(&h), None);
        h.insert("age", HeaderValue::from_static("abc"));
        assert_eq!(age_field(&h), None);
        h.insert("age", HeaderValue::from_static("1.5"));
        assert_eq!(age_field(&h), None);
        h.insert("age", HeaderValue::from_static("99999999999999"));
        assert_eq!(age_field(&h), Some(DELTA_SECONDS_MAX));
    }

    #[test]
    fn rfc9110_5_6_7_formatting_round_trips() {
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let v = fmt_http_date(t);
        assert_eq!(parse_http_date(v.as_bytes()), Some(t));
    }
}

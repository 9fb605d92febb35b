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
    // The two fixed-length formats; an rfc850-date is longer.
    match value.len() {
        24 => return parse_asctime(value),
        29 => return parse_imf_fixdate(value),
        _ => {}
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

const DAY_NAMES: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];
const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// The index in `names` of the three letters `bytes`, in any case.
fn name_index(bytes: &[u8], names: &[&[u8; 3]]) -> Option<usize> {
    let lower = [0, 1, 2].map(|i| bytes[i].to_ascii_lowercase());
    names.iter().position(|n| **n == lower)
}

/// Parses an IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37
/// GMT`, names and zone matched case-insensitively (RFC 9111 §4.2), the
/// day-name checked against the date. The format every sender generates,
/// parsed on every hit (Date): directly, without `httpdate`'s round trip
/// through a calendar to validate it.
fn parse_imf_fixdate(v: &[u8]) -> Option<SystemTime> {
    if v.len() != 29 {
        return None;
    }
    let punctuation = v[3] == b','
        && [4, 7, 11, 16, 25].iter().all(|&i| v[i] == b' ')
        && v[19] == b':'
        && v[22] == b':';
    if !punctuation || !v[26..29].eq_ignore_ascii_case(b"gmt") {
        return None;
    }
    let weekday = name_index(&v[0..3], &DAY_NAMES)?;
    let month = name_index(&v[8..11], &MONTH_NAMES)? as u64 + 1;
    let (time, days) = civil_time(
        digits(&v[12..16])?,
        month,
        digits(&v[5..7])?,
        [
            digits(&v[17..19])?,
            digits(&v[20..22])?,
            digits(&v[23..25])?,
        ],
    )?;
    // 1 January 1970 was a Thursday.
    ((days + 3) % 7 == weekday as u64).then_some(time)
}

/// The time at `year-month-day hour:min:sec` UTC, and its day count since
/// 1970-01-01, when that is a valid date and time no earlier than 1970.
fn civil_time(
    year: u64,
    month: u64,
    day: u64,
    [hour, min, sec]: [u64; 3],
) -> Option<(SystemTime, u64)> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let valid = year >= 1970
        && (1..=12).contains(&month)
        && (1..=month_days[month as usize - 1]).contains(&day)
        && hour < 24
        && min < 60
        && sec < 60;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + min * 60 + sec;
    Some((UNIX_EPOCH + Duration::from_secs(secs), days))
}

/// Parses an asctime-date (RFC 9110 §5.6.7): `Sun Nov  6 08:49:37 1994`,
/// names matched case-insensitively.
///
/// The day-name must be one of the seven, but is not checked against the
/// date: it is redundant, and the senders still using ANSI C's format get
/// it wrong often enough (`Thu Aug  8 02:01:18 2050` is a Monday) that
/// refusing the date would turn a future Expires into "already expired"
/// for no gain. (`httpdate` refuses such a date, which is why this format
/// has its own parser.)
fn parse_asctime(v: &[u8]) -> Option<SystemTime> {
    if v.len() != 24 {
        return None;
    }
    let spaces = [3, 7, 10, 19].iter().all(|&i| v[i] == b' ');
    if !spaces || v[13] != b':' || v[16] != b':' {
        return None;
    }
    name_index(&v[0..3], &DAY_NAMES)?;
    let month = name_index(&v[4..7], &MONTH_NAMES)? as u64 + 1;
    let day = match v[8] {
        b' ' => digits(&v[9..10])?,
        _ => digits(&v[8..10])?,
    };
    let clock = [
        digits(&v[11..13])?,
        digits(&v[14..16])?,
        digits(&v[17..19])?,
    ];
    civil_time(digits(&v[20..24])?, month, day, clock).map(|(time, _)| time)
}

/// The value of a run of ASCII digits.
fn digits(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Days from 1970-01-01 to the civil date `year-month-day` (proleptic
/// Gregorian, `year >= 1970`).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    // Years counted from March, so that the leap day ends the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn rfc9110_5_6_7_asctime_dates_in_the_future_parse() {
        let t = parse_http_date(b"Thu Aug 18 02:01:18 2050").unwrap();
        assert_eq!(fmt_http_date(t), "Thu, 18 Aug 2050 02:01:18 GMT");
        let t = parse_http_date(b"Sun Jan  6 08:49:37 2030").unwrap();
        assert_eq!(fmt_http_date(t), "Sun, 06 Jan 2030 08:49:37 GMT");
        let t = parse_http_date(b"thu aug 18 02:01:18 2050").unwrap();
        assert_eq!(fmt_http_date(t), "Thu, 18 Aug 2050 02:01:18 GMT");
        // The day-name is not checked: 8 Aug 2050 is a Monday.
        let t = parse_http_date(b"Thu Aug  8 02:01:18 2050").unwrap();
        assert_eq!(fmt_http_date(t), "Mon, 08 Aug 2050 02:01:18 GMT");
        let t = parse_http_date(b"Tue Feb 29 23:59:59 2028").unwrap();
        assert_eq!(fmt_http_date(t), "Tue, 29 Feb 2028 23:59:59 GMT");
        let t = parse_http_date(b"Thu Jan  1 00:00:00 1970").unwrap();
        assert_eq!(t, UNIX_EPOCH);
    }

    #[test]
    fn rfc9110_5_6_7_asctime_agrees_with_imf_fixdate_over_the_years() {
        // 1970 to 2200, in steps of a little over eleven days.
        for secs in (0..7_258_118_400u64).step_by(1_000_003) {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            let imf = fmt_http_date(time);
            let imf = imf.to_str().unwrap();
            // "Sun, 06 Nov 1994 08:49:37 GMT" -> "Sun Nov  6 08:49:37 1994"
            let day = imf[5..7].trim_start_matches('0');
            let asctime = format!(
                "{} {} {:>2} {} {}",
                &imf[..3],
                &imf[8..11],
                day,
                &imf[17..25],
                &imf[12..16]
            );
            assert_eq!(parse_http_date(asctime.as_bytes()), Some(time), "{asctime}");
        }
    }

    #[test]
    fn rfc9110_5_6_7_imf_fixdate_agrees_with_httpdate_over_the_years() {
        for secs in (0..7_258_118_400u64).step_by(999_983) {
            let time = UNIX_EPOCH + Duration::from_secs(secs);
            let imf = httpdate::fmt_http_date(time);
            assert_eq!(parse_http_date(imf.as_bytes()), Some(time), "{imf}");
            assert_eq!(httpdate::parse_http_date(&imf).ok(), Some(time));
        }
    }

    #[test]
    fn rfc9110_5_6_7_malformed_imf_fixdates_are_invalid() {
        for bad in [
            &b"Mon, 06 Nov 1994 08:49:37 GMT"[..], // a Sunday
            b"Sun, 31 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 GMX",
            b"Sun, 06 Nov 1994 24:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:60 GMT",
            b"Sun; 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06-Nov-1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08.49.37 GMT",
            b"Sun, 0x Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1969 08:49:37 GMT",
        ] {
            assert_eq!(
                parse_http_date(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let t = parse_http_date(b"Thu, 18 Aug 2050 02:01:18 gMT").unwrap();
        assert_eq!(fmt_http_date(t), "Thu, 18 Aug 2050 02:01:18 GMT");
    }

    #[test]
    fn rfc9110_5_6_7_malformed_asctime_dates_are_invalid() {
        for bad in [
            &b"Xyz Aug 18 02:01:18 2050"[..],
            b"Thu Abc 18 02:01:18 2050",
            b"Thu Feb 30 02:01:18 2050",
            b"Thu Feb 29 02:01:18 2029",
            b"Thu Aug  0 02:01:18 2050",
            b"Thu Aug 18 24:01:18 2050",
            b"Thu Aug 18 02:60:18 2050",
            b"Thu Aug 18 02:01:60 2050",
            b"Thu Aug 18 02-01-18 2050",
            b"Thu Aug 18 02:01:18 1969",
            b"Thu Aug 1x 02:01:18 2050",
            b"Thu Aug 18 02:01:18 20x0",
            b"Thu  Aug 18 02:01:18 205",
        ] {
            assert_eq!(
                parse_http_date(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
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

//! HTTP dates (RFC 9110 §5.6.7): IMF-fixdate, rfc850-date and asctime-date
//! parse without panicking whatever the bytes, with the two-digit year
//! placed relative to a clock that is also fuzzed; a date that parses
//! formats as an IMF-fixdate that parses back to the same second.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use webcache_core::headers::{fmt_http_date, parse_http_date_at};
use webcache_fuzz::take_u64;

/// 9999-12-31T23:59:59Z, the last second an IMF-fixdate can write.
const LATEST: u64 = 253_402_300_799;

fuzz_target!(|data: &[u8]| {
    let (now, value) = take_u64::<5>(data);
    let now = UNIX_EPOCH + Duration::from_secs(now % LATEST);
    let Some(date) = parse_http_date_at(value, now) else {
        return;
    };
    let Ok(since_epoch) = date.duration_since(UNIX_EPOCH) else {
        return;
    };
    if since_epoch.as_secs() > LATEST {
        return;
    }
    assert_eq!(since_epoch.subsec_nanos(), 0, "dates are whole seconds");
    let formatted = fmt_http_date(date);
    assert_eq!(formatted.len(), 29, "an IMF-fixdate is 29 characters");
    assert_eq!(parse_http_date_at(formatted.as_bytes(), now), Some(date));
});

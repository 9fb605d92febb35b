//! Age (RFC 9111 §5.1, §4.2.3) and the freshness lifetime (§4.2.1): an Age
//! field of any bytes is a delta-seconds or ignored, never above 2^31; the
//! current age of a response with fuzzed Date and Age fields and fuzzed
//! request, response and present times saturates at 2^31 seconds and never
//! panics; the freshness lifetime of any response headers is computed
//! without panicking.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use webcache_core::Config;
use webcache_core::freshness::{current_age, freshness_lifetime};
use webcache_core::headers::{CacheControl, DELTA_SECONDS_MAX, age_field, parse_delta_seconds};
use webcache_fuzz::{header_lines, take_u64};

static CONFIG: LazyLock<Config> = LazyLock::new(Config::default);

fuzz_target!(|data: &[u8]| {
    let (request, rest) = take_u64::<5>(data);
    let (delay, rest) = take_u64::<3>(rest);
    let (resident, rest) = take_u64::<4>(rest);
    let (status, rest) = take_u64::<2>(rest);
    let request_time = UNIX_EPOCH + Duration::from_secs(request);
    let response_time = request_time + Duration::from_secs(delay);
    // The present may also be before the response (a clock step back).
    let now = if resident & 1 == 0 {
        response_time + Duration::from_secs(resident >> 1)
    } else {
        response_time - Duration::from_secs((resident >> 1).min(request))
    };

    if let Some(delta) = parse_delta_seconds(rest) {
        assert!(delta <= DELTA_SECONDS_MAX);
    }
    let headers = header_lines(rest);
    if let Some(age) = age_field(&headers) {
        assert!(age <= DELTA_SECONDS_MAX);
    }
    let age = current_age(&headers, request_time, response_time, now);
    assert!(age <= Duration::from_secs(u64::from(DELTA_SECONDS_MAX)));

    let status = StatusCode::from_u16(100 + (status % 500) as u16).unwrap_or(StatusCode::OK);
    let cc = CacheControl::from_headers(&headers).unwrap_or_default();
    let _ = freshness_lifetime(status, &headers, &cc, response_time, &CONFIG);
});

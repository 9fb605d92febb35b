//! Cache-Control (RFC 9111 §5.2): any bytes parse without panicking, the
//! rendering of what was parsed is a valid field value, and parsing that
//! rendering gives back the same directives (parse → render → parse is
//! stable). An invalid delta-seconds renders as `0`, which has its meaning
//! (RFC 9111 §4.2.1: an invalid freshness value makes a response stale).
#![no_main]

use http::header::CACHE_CONTROL;
use libfuzzer_sys::fuzz_target;
use webcache_core::headers::{CacheControl, Delta};
use webcache_fuzz::field_lines;

fuzz_target!(|data: &[u8]| {
    let parsed = CacheControl::parse_value(data);
    let rendered = parsed.to_header_value();
    let reparsed = CacheControl::parse_value(rendered.as_bytes());
    assert_eq!(
        reparsed.to_header_value(),
        rendered,
        "rendering is not stable for {:?}",
        String::from_utf8_lossy(data)
    );
    assert_eq!(reparsed.is_no_store(), parsed.is_no_store());
    assert_eq!(reparsed.is_private(), parsed.is_private());
    assert_eq!(reparsed.is_no_cache(), parsed.is_no_cache());
    let secs = |d: Option<Delta>| d.map(|d| d.secs().unwrap_or(0));
    assert_eq!(secs(reparsed.max_age()), secs(parsed.max_age()));
    assert_eq!(secs(reparsed.s_maxage()), secs(parsed.s_maxage()));
    assert_eq!(secs(reparsed.min_fresh()), secs(parsed.min_fresh()));
    assert_eq!(reparsed.max_stale(), parsed.max_stale());
    assert_eq!(reparsed.is_must_revalidate(), parsed.is_must_revalidate());

    // Several lines (the field repeated), as a response and as a request.
    let headers = field_lines(&CACHE_CONTROL, data);
    if let Some(cc) = CacheControl::from_headers(&headers) {
        let _ = cc.to_header_value();
    }
    let _ = CacheControl::from_request_headers(&headers);
});

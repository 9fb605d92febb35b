//! Range and Content-Range (RFC 9110 §14.1.2, §14.2, §14.4): any bytes
//! parse without panicking; every resolved range lies within the
//! representation; the cache's decision for a GET holds at most
//! `MAX_RANGES` non-empty in-bounds ranges, none overlapping another after
//! coalescing; a Content-Range that parses renders back to itself.
#![no_main]

use http::header::{HeaderMap, HeaderValue, RANGE};
use http::{Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use webcache_core::range::{
    ByteRange, MAX_RANGES, RangeDecision, decide, parse_content_range, parse_range,
};
use webcache_fuzz::take_u64;

fn in_bounds(range: ByteRange, len: u64) -> bool {
    range.first <= range.last && range.last < len
}

fuzz_target!(|data: &[u8]| {
    let (len, value) = take_u64::<3>(data);
    // Small lengths too, where suffixes and ends clip.
    let len = if len & 1 == 0 {
        len >> 1
    } else {
        (len >> 1) % 64
    };

    if let Some(specs) = parse_range(value) {
        assert!(!specs.is_empty());
        for spec in specs {
            if let Some(range) = spec.resolve(len) {
                assert!(in_bounds(range, len), "{spec:?} in {len} gave {range:?}");
            }
        }
    }

    if let Ok(value) = HeaderValue::from_bytes(value) {
        let mut request = HeaderMap::new();
        request.insert(RANGE, value);
        let representation = HeaderMap::new();
        if let RangeDecision::Partial(ranges) =
            decide(&Method::GET, &request, StatusCode::OK, &representation, len)
        {
            assert!(!ranges.is_empty() && ranges.len() <= MAX_RANGES);
            for (i, r) in ranges.iter().enumerate() {
                assert!(in_bounds(*r, len), "{r:?} not within {len}");
                for s in &ranges[i + 1..] {
                    assert!(r.last < s.first || s.last < r.first, "{r:?} overlaps {s:?}");
                }
            }
        }
    }

    if let Some(cr) = parse_content_range(value) {
        assert!(cr.range.first <= cr.range.last);
        assert!(cr.complete_length.is_none_or(|l| cr.range.last < l));
        let rendered = match cr.complete_length {
            Some(l) => format!("bytes {}-{}/{l}", cr.range.first, cr.range.last),
            None => format!("bytes {}-{}/*", cr.range.first, cr.range.last),
        };
        assert_eq!(parse_content_range(rendered.as_bytes()), Some(cr));
    }
});

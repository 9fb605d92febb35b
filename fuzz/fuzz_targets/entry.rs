//! The stored-entry decoder (every format version: representations in
//! formats 1, 2 and 3, metadata in formats 1 and 2): any bytes decode or
//! fail with a `DecodeError`, never a panic; what decodes re-encodes to
//! bytes that decode to the same value; an incomplete response that
//! decodes answers range requests (RFC 9111 §3.4) without panicking, and
//! only with bytes it holds.
#![no_main]

use bytes::Bytes;
use http::header::{CONTENT_RANGE, HeaderMap, HeaderValue, RANGE};
use http::{Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use webcache_core::key::Metadata;
use webcache_core::partial;
use webcache_core::range::parse_content_range;
use webcache_core::store::StoredResponse;

/// Range requests tried against every incomplete response that decodes.
const RANGES: &[&str] = &[
    "bytes=0-",
    "bytes=0-0",
    "bytes=-1",
    "bytes=1-2,5-9",
    "bytes=100-200",
];

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(stored) = StoredResponse::decode(bytes.clone()) {
        let again = StoredResponse::decode(stored.encode()).expect("an encoded entry decodes");
        assert_eq!(again, stored);
        if let Some(part) = &stored.partial {
            assert_eq!(part.stored_len(), stored.body.len() as u64);
            for range in RANGES {
                let mut request = HeaderMap::new();
                request.insert(RANGE, HeaderValue::from_static(range));
                let can = partial::can_answer(&stored, &Method::GET, &request);
                let answer =
                    partial::answer(&Method::GET, &request, &stored.headers, part, &stored.body);
                assert_eq!(
                    can,
                    answer.is_some(),
                    "can_answer agrees with answer for {range}"
                );
                if let Some((status, headers, body)) = answer {
                    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
                    if let Some(cr) = headers.get(CONTENT_RANGE) {
                        let cr = parse_content_range(cr.as_bytes()).expect("a valid Content-Range");
                        assert_eq!(cr.complete_length, Some(part.complete_length()));
                        assert_eq!(body.len() as u64, cr.range.len());
                    }
                }
            }
        }
    }
    if let Ok(metadata) = Metadata::decode_bytes(bytes) {
        let again = Metadata::decode(&metadata.encode()).expect("encoded metadata decodes");
        assert_eq!(again, metadata);
        let _ = metadata.variants.to_vec();
    }
});

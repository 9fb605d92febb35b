//! `multipart/byteranges` (RFC 9110 §14.6, §15.3.7.2) and 206/416 answers
//! from a stored response (§15.3.7, §15.5.17): for any Range field, stored
//! Content-Type and body, the answer is a whole 200 (None), a 416 with
//! `bytes */len`, a single part that is exactly the slice its
//! Content-Range names, or a multipart body whose boundary occurs in no
//! part nor in the content type and whose parts are each exactly their
//! slice. A received 206's Content-Range (§14.4) is read without panicking.
#![no_main]

use bytes::Bytes;
use http::header::{CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderValue, RANGE};
use http::{Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use webcache_core::partial::received_part;
use webcache_core::range::{parse_content_range, partial_response};
use webcache_fuzz::{split_at_byte, take_u64};

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The slice of `body` a Content-Range value names.
fn slice_of<'a>(body: &'a [u8], content_range: &[u8]) -> &'a [u8] {
    let cr = parse_content_range(content_range).expect("the cache writes valid Content-Range");
    assert_eq!(cr.complete_length, Some(body.len() as u64));
    &body[cr.range.first as usize..=cr.range.last as usize]
}

/// Checks a multipart body part by part against `body`.
fn check_multipart(answer: &[u8], boundary: &str, content_type: Option<&HeaderValue>, body: &[u8]) {
    let delimiter = format!("\r\n--{boundary}");
    let mut rest = answer;
    let mut parts = 0;
    loop {
        assert!(
            rest.starts_with(delimiter.as_bytes()),
            "a part starts with the delimiter"
        );
        rest = &rest[delimiter.len()..];
        if rest == b"--\r\n" {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").expect("a part has a header section");
        let head = &rest[2..head_end];
        rest = &rest[head_end + 4..];
        let mut range = None;
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(v) = line.strip_prefix(b"content-range: ") {
                range = Some(slice_of(body, v));
            } else if let Some(v) = line.strip_prefix(b"content-type: ") {
                assert_eq!(Some(v), content_type.map(HeaderValue::as_bytes));
            }
        }
        let expected = range.expect("every part has a Content-Range");
        assert!(rest.starts_with(expected), "a part is its slice");
        rest = &rest[expected.len()..];
        parts += 1;
    }
    assert!(parts >= 2, "a multipart answer has several parts");
}

fuzz_target!(|data: &[u8]| {
    let (range, rest) = split_at_byte(data, b'\n');
    let (content_type, rest) = split_at_byte(rest, b'\n');
    let (repeat, body) = take_u64::<1>(rest);
    // A body that may repeat itself, so that boundaries can collide.
    let body: Vec<u8> = body
        .iter()
        .copied()
        .cycle()
        .take(body.len() * (1 + repeat as usize % 8))
        .collect();
    let body = Bytes::from(body);

    let mut request = HeaderMap::new();
    let Ok(range) = HeaderValue::from_bytes(range) else {
        return;
    };
    request.insert(RANGE, range);
    let mut stored = HeaderMap::new();
    let content_type = HeaderValue::from_bytes(content_type).ok();
    if let Some(ct) = &content_type {
        stored.insert(CONTENT_TYPE, ct.clone());
    }

    let Some((status, headers, answer)) =
        partial_response(&Method::GET, &request, StatusCode::OK, &stored, &body)
    else {
        return;
    };
    assert_eq!(headers["content-length"], answer.len().to_string().as_str());
    match status {
        StatusCode::RANGE_NOT_SATISFIABLE => {
            assert_eq!(
                headers[CONTENT_RANGE],
                format!("bytes */{}", body.len()).as_str()
            );
            assert!(answer.is_empty());
        }
        StatusCode::PARTIAL_CONTENT if headers.contains_key(CONTENT_RANGE) => {
            assert_eq!(
                &answer[..],
                slice_of(&body, headers[CONTENT_RANGE].as_bytes())
            );
        }
        StatusCode::PARTIAL_CONTENT => {
            let ct = headers[CONTENT_TYPE]
                .to_str()
                .expect("the cache writes ASCII");
            let boundary = ct
                .strip_prefix("multipart/byteranges; boundary=")
                .expect("a multipart content type");
            if let Some(ct) = &content_type {
                assert!(find(ct.as_bytes(), boundary.as_bytes()).is_none());
            }
            check_multipart(&answer, boundary, content_type.as_ref(), &body);
        }
        other => panic!("unexpected status {other}"),
    }

    // The same bytes as the Content-Range and Content-Type of a received 206.
    let mut received = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(data) {
        received.insert(CONTENT_RANGE, v);
    }
    if let Some(ct) = content_type {
        received.insert(CONTENT_TYPE, ct);
    }
    if let Ok(part) = received_part(&received) {
        assert!(part.range.first <= part.range.last && part.range.last < part.complete_length);
    }
});

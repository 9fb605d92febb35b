//! Range requests answered from a stored complete response (RFC 9110 §14,
//! §13.1.5 If-Range, §15.3.7 206, §15.5.17 416; RFC 9111 §3.3, §3.4).
//!
//! A GET with `Range: bytes=…` for which the cache holds a usable complete
//! 200 is answered from it: a 206 with one part (`Content-Range` and a
//! zero-copy slice of the stored body), a 206 `multipart/byteranges` for
//! several ranges (§14.6), or a 416 with `Content-Range: bytes */<length>`
//! when no range is satisfiable. An `If-Range` that does not match the
//! stored validator, a range unit other than `bytes`, or an invalid range
//! set makes the cache ignore `Range` and send the whole 200, as RFC 9110
//! §14.2 allows. A miss forwards `Range` as it is; a 206 the origin answers
//! with may be stored as an incomplete response, and range requests within
//! it answered from it (see [`crate::partial`], which also uses
//! [`parse_content_range`]).
//!
//! ```
//! use bytes::Bytes;
//! use http::{HeaderMap, HeaderValue, Method, StatusCode};
//! use webcache_core::range::partial_response;
//!
//! let mut request = HeaderMap::new();
//! request.insert("range", HeaderValue::from_static("bytes=0-4"));
//! let stored = HeaderMap::new();
//! let body = Bytes::from_static(b"hello world");
//! let (status, headers, part) =
//!     partial_response(&Method::GET, &request, StatusCode::OK, &stored, &body).unwrap();
//! assert_eq!(status, StatusCode::PARTIAL_CONTENT);
//! assert_eq!(headers["content-range"], "bytes 0-4/11");
//! assert_eq!(part, "hello");
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{
    CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap,
    HeaderValue, IF_RANGE, RANGE,
};
use http::{Method, StatusCode};

use crate::headers::list::{split_members, trim_ows};
use crate::headers::{EntityTag, parse_http_date};
use crate::validation::{not_modified_headers, strong_last_modified};

/// More ranges than this in one request are ignored (the whole
/// representation is sent instead): RFC 9110 §14.2 lets a server ignore a
/// range set that looks like a denial-of-service attempt.
pub const MAX_RANGES: usize = 64;

/// Ranges closer than this many bytes are sent as one part: the overhead of
/// a part is about this size (RFC 9110 §15.3.7.2).
const COALESCE_GAP: u64 = 80;

/// One range-spec of a `bytes` Range field, before it is resolved against
/// the length of a representation (RFC 9110 §14.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-pos "-" [ last-pos ]`: from `first` to `last` inclusive, or to
    /// the end.
    Int {
        /// The first byte.
        first: u64,
        /// The last byte, when given.
        last: Option<u64>,
    },
    /// `"-" suffix-length`: the last bytes.
    Suffix(u64),
}

/// A satisfiable byte range: offsets of the first and last byte, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub first: u64,
    /// The last byte.
    pub last: u64,
}

impl ByteRange {
    /// The number of bytes (saturating: `0-18446744073709551615` holds one
    /// more byte than a `u64` counts).
    pub fn len(&self) -> u64 {
        self.last.saturating_sub(self.first).saturating_add(1)
    }

    /// Never empty: a range holds at least its first byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl RangeSpec {
    /// Resolves the spec against a representation of `len` bytes; `None`
    /// when it is not satisfiable (RFC 9110 §14.1.2): an int-range whose
    /// first byte is past the end, or a zero-length suffix. A last byte
    /// past the end means "to the end"; a suffix longer than the
    /// representation means all of it.
    pub fn resolve(self, len: u64) -> Option<ByteRange> {
        if len == 0 {
            return None;
        }
        match self {
            RangeSpec::Int { first, last } => (first < len).then(|| ByteRange {
                first,
                last: last.map_or(len - 1, |l| l.min(len - 1)),
            }),
            RangeSpec::Suffix(0) => None,
            RangeSpec::Suffix(n) => Some(ByteRange {
                first: len.saturating_sub(n),
                last: len - 1,
            }),
        }
    }
}

fn parse_pos(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Numbers too large for u64 are larger than any representation:
    // saturate rather than fail (RFC 9110 §14.1.2).
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// Parses a Range field value in the `bytes` unit (RFC 9110 §14.1.1,
/// §14.1.2). `None` when the unit is not `bytes` (compared
/// case-insensitively) or the ranges-specifier is invalid: no range, a
/// member that is neither an int-range nor a suffix-range, or an int-range
/// whose last byte comes before its first.
pub fn parse_range(value: &[u8]) -> Option<Vec<RangeSpec>> {
    let eq = value.iter().position(|&b| b == b'=')?;
    let unit = trim_ows(&value[..eq]);
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for member in split_members(&value[eq + 1..]) {
        let dash = member.iter().position(|&b| b == b'-')?;
        let (first, last) = (&member[..dash], &member[dash + 1..]);
        let spec = if first.is_empty() {
            RangeSpec::Suffix(parse_pos(last)?)
        } else {
            let first = parse_pos(first)?;
            let last = if last.is_empty() {
                None
            } else {
                Some(parse_pos(last)?)
            };
            if last.is_some_and(|l| l < first) {
                return None;
            }
            RangeSpec::Int { first, last }
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

/// Evaluates `If-Range` against the stored representation whose fields are
/// `representation` (RFC 9110 §13.1.5): an entity tag must match the
/// stored ETag by strong comparison; an HTTP-date must equal the stored
/// Last-Modified, which must be a strong validator — for a cache, the
/// stored Date is at least one second later (RFC 9110 §8.8.2.2). Anything
/// else, an invalid value included, is false.
pub fn if_range_holds(if_range: &HeaderValue, representation: &HeaderMap) -> bool {
    let value = trim_ows(if_range.as_bytes());
    // "A valid entity-tag can be distinguished from a valid HTTP-date by
    // examining the first three characters for a DQUOTE."
    if value.iter().take(3).any(|&b| b == b'"') {
        let (Some(tag), Some(current)) = (
            EntityTag::parse(value),
            EntityTag::from_headers(representation),
        ) else {
            return false;
        };
        return tag.strong_eq(&current);
    }
    let Some(date) = parse_http_date(value) else {
        return false;
    };
    strong_last_modified(representation) == Some(date)
}

/// The `Content-Range` of a single-part 206 in the `bytes` unit (RFC 9110
/// §14.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    /// The bytes enclosed.
    pub range: ByteRange,
    /// The complete length of the representation; `None` for `*`
    /// (unknown to the sender).
    pub complete_length: Option<u64>,
}

/// Strict `1*DIGIT`: `None` when empty, not all digits, or too large for
/// 64 bits.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Parses a Content-Range field value of the form
/// `bytes first-last/complete-length` or `bytes first-last/*` (RFC 9110
/// §14.4). `None` for any other unit (compared case-insensitively), for an
/// unsatisfied-range (`bytes */length`, which only a 416 carries), and for
/// an invalid value — last before first, a complete length not greater
/// than the last byte, numbers too large for 64 bits — which a recipient
/// must not combine with anything stored.
///
/// ```
/// use webcache_core::range::{ByteRange, parse_content_range};
///
/// let cr = parse_content_range(b"bytes 42-1233/1234").unwrap();
/// assert_eq!(cr.range, ByteRange { first: 42, last: 1233 });
/// assert_eq!(cr.complete_length, Some(1234));
/// assert_eq!(parse_content_range(b"bytes 42-1233/*").unwrap().complete_length, None);
/// assert!(parse_content_range(b"bytes */1234").is_none());
/// assert!(parse_content_range(b"bytes 5-1/10").is_none());
/// ```
pub fn parse_content_range(value: &[u8]) -> Option<ContentRange> {
    let value = trim_ows(value);
    let space = value.iter().position(|&b| b == b' ')?;
    if !value[..space].eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let rest = &value[space + 1..];
    let slash = rest.iter().position(|&b| b == b'/')?;
    let (incl, length) = (&rest[..slash], &rest[slash + 1..]);
    let dash = incl.iter().position(|&b| b == b'-')?;
    let first = parse_digits(&incl[..dash])?;
    let last = parse_digits(&incl[dash + 1..])?;
    if last < first {
        return None;
    }
    let complete_length = if length == b"*" {
        None
    } else {
        let length = parse_digits(length)?;
        if length <= last {
            return None;
        }
        Some(length)
    };
    Some(ContentRange {
        range: ByteRange { first, last },
        complete_length,
    })
}

/// What a request's Range asks of a stored complete representation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeDecision {
    /// Send the whole representation (200): no Range, a method other than
    /// GET, a failed If-Range, an unknown unit, an invalid range set, too
    /// many ranges, or an empty representation.
    Ignore,
    /// Send these ranges (206), in this order.
    Partial(Vec<ByteRange>),
    /// No range is satisfiable (416).
    Unsatisfiable,
}

/// Decides how to answer `request` from a stored complete response with
/// status `status`, fields `representation` and a body of `len` bytes (RFC
/// 9110 §14.2). Range applies only to GET, only when the response would
/// otherwise be a 200, and only when a single Range field line is present
/// and If-Range (if any) holds. Overlapping or nearly adjacent ranges are
/// coalesced (§15.3.7.2); a representation with a content coding gets its
/// ranges as one part, so that no multipart body has to carry the coding.
pub fn decide(
    method: &Method,
    request: &HeaderMap,
    status: StatusCode,
    representation: &HeaderMap,
    len: u64,
) -> RangeDecision {
    let mut lines = request.get_all(RANGE).iter();
    let Some(range) = lines.next() else {
        return RangeDecision::Ignore;
    };
    if lines.next().is_some() || *method != Method::GET || status != StatusCode::OK || len == 0 {
        return RangeDecision::Ignore;
    }
    if let Some(if_range) = request.get(IF_RANGE) {
        if !if_range_holds(if_range, representation) {
            return RangeDecision::Ignore;
        }
    }
    let Some(specs) = parse_range(range.as_bytes()) else {
        return RangeDecision::Ignore;
    };
    if specs.len() > MAX_RANGES {
        return RangeDecision::Ignore;
    }
    let mut ranges: Vec<ByteRange> = specs.into_iter().filter_map(|s| s.resolve(len)).collect();
    if ranges.is_empty() {
        return RangeDecision::Unsatisfiable;
    }
    if ranges.len() > 1 {
        if representation.contains_key(CONTENT_ENCODING) {
            let first = ranges.iter().map(|r| r.first).min().unwrap_or(0);
            let last = ranges.iter().map(|r| r.last).max().unwrap_or(len - 1);
            ranges = vec![ByteRange { first, last }];
        } else if needs_coalescing(&ranges) {
            ranges = coalesce(ranges);
        }
    }
    RangeDecision::Partial(ranges)
}

fn needs_coalescing(ranges: &[ByteRange]) -> bool {
    ranges.iter().enumerate().any(|(i, a)| {
        ranges[i + 1..].iter().any(|b| {
            a.first <= b.last.saturating_add(COALESCE_GAP)
                && b.first <= a.last.saturating_add(COALESCE_GAP)
        })
    })
}

/// Sorts and merges ranges that overlap or nearly touch.
fn coalesce(mut ranges: Vec<ByteRange>) -> Vec<ByteRange> {
    ranges.sort_by_key(|r| r.first);
    let mut out: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(prev) if r.first <= prev.last.saturating_add(COALESCE_GAP) => {
                prev.last = prev.last.max(r.last);
            }
            _ => out.push(r),
        }
    }
    out
}

/// The slice of `body` a range covers (no copy).
fn slice(body: &Bytes, range: ByteRange) -> Bytes {
    // `decide` resolved every range against `body.len()`.
    let first = usize::try_from(range.first)
        .unwrap_or(usize::MAX)
        .min(body.len());
    let end = usize::try_from(range.last.saturating_add(1))
        .unwrap_or(usize::MAX)
        .min(body.len());
    body.slice(first..end)
}

fn content_range(range: ByteRange, len: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("bytes {}-{}/{}", range.first, range.last, len))
        .expect("digits, a dash and a slash form a valid header value")
}

/// The answer to a Range request from a stored complete response: `None`
/// when Range is to be ignored ([`RangeDecision::Ignore`]), otherwise the
/// status, header fields and body of the 206 or 416 (RFC 9110 §15.3.7,
/// §15.5.17).
///
/// A single-part 206 carries the stored fields with `Content-Range` and
/// `Content-Length` set for the part (and, answering an If-Range, without
/// the representation fields the client already has: Content-Type,
/// Content-Encoding, Content-Language). A multipart 206 carries
/// `Content-Type: multipart/byteranges` with a boundary that occurs in no
/// part, each part with the stored Content-Type and its Content-Range. A
/// 416 carries `Content-Range: bytes */<length>` and the fields a 304
/// would (Date, Cache-Control, ETag, Expires, …).
pub fn partial_response(
    method: &Method,
    request: &HeaderMap,
    status: StatusCode,
    representation: &HeaderMap,
    body: &Bytes,
) -> Option<(StatusCode, HeaderMap, Bytes)> {
    let len = body.len() as u64;
    match decide(method, request, status, representation, len) {
        RangeDecision::Ignore => None,
        RangeDecision::Unsatisfiable => {
            let mut headers = not_modified_headers(representation);
            headers.insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}"))
                    .expect("digits form a valid header value"),
            );
            headers.insert(CONTENT_LENGTH, HeaderValue::from(0u32));
            Some((StatusCode::RANGE_NOT_SATISFIABLE, headers, Bytes::new()))
        }
        RangeDecision::Partial(ranges) => {
            let parts = ranges.iter().map(|&r| (r, slice(body, r))).collect();
            Some(ranges_response(request, representation, len, parts))
        }
    }
}

/// The 206 sending `parts` — each range and its bytes, in the order to
/// send them, at least one — of a representation of `complete_length`
/// bytes whose fields are `representation`: one part with
/// `Content-Range`, several as `multipart/byteranges` (RFC 9110 §15.3.7.1,
/// §15.3.7.2). See [`partial_response`] for the fields.
pub(crate) fn ranges_response(
    request: &HeaderMap,
    representation: &HeaderMap,
    complete_length: u64,
    parts: Vec<(ByteRange, Bytes)>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut headers = representation.clone();
    headers.remove(CONTENT_LENGTH);
    headers.remove(CONTENT_RANGE);
    let body = match <[(ByteRange, Bytes); 1]>::try_from(parts) {
        Ok([(range, part)]) => {
            if request.contains_key(IF_RANGE) {
                // RFC 9110 §15.3.7: the client has them already.
                for name in [CONTENT_TYPE, CONTENT_ENCODING, CONTENT_LANGUAGE] {
                    headers.remove(name);
                }
            }
            headers.insert(CONTENT_RANGE, content_range(range, complete_length));
            part
        }
        Err(parts) => {
            let content_type = headers.remove(CONTENT_TYPE);
            let boundary = boundary(&parts, content_type.as_ref());
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_str(&format!("multipart/byteranges; boundary={boundary}"))
                    .expect("the boundary is alphanumeric"),
            );
            multipart(&parts, complete_length, content_type.as_ref(), &boundary)
        }
    };
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    (StatusCode::PARTIAL_CONTENT, headers, body)
}

/// A boundary that occurs in none of the parts nor in the content type
/// (RFC 2046 §5.1.1).
fn boundary(parts: &[(ByteRange, Bytes)], content_type: Option<&HeaderValue>) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) ^ d.as_secs());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let candidate = format!("webcache-{:016x}{:08x}", nanos.rotate_left(17) ^ n, n);
        let found = |haystack: &[u8]| {
            haystack
                .windows(candidate.len())
                .any(|w| w == candidate.as_bytes())
        };
        if !parts.iter().any(|(_, p)| found(p))
            && !content_type.is_some_and(|c| found(c.as_bytes()))
        {
            return candidate;
        }
    }
}

/// A `multipart/byteranges` body (RFC 9110 §14.6).
fn multipart(
    parts: &[(ByteRange, Bytes)],
    len: u64,
    content_type: Option<&HeaderValue>,
    boundary: &str,
) -> Bytes {
    let size: usize = parts.iter().map(|(_, p)| p.len() + 160).sum::<usize>() + boundary.len() + 8;
    let mut out = BytesMut::with_capacity(size);
    for (range, part) in parts {
        out.put_slice(b"\r\n--");
        out.put_slice(boundary.as_bytes());
        out.put_slice(b"\r\n");
        if let Some(ct) = content_type {
            out.put_slice(b"content-type: ");
            out.put_slice(ct.as_bytes());
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"content-range: ");
        out.put_slice(content_range(*range, len).as_bytes());
        out.put_slice(b"\r\n\r\n");
        out.put_slice(part);
    }
    out.put_slice(b"\r\n--");
    out.put_slice(boundary.as_bytes());
    out.put_slice(b"--\r\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::fmt_http_date;
    use http::HeaderName;
    use std::time::Duration;

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn map(pairs: &[(&str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn date(s: u64) -> String {
        fmt_http_date(t(s)).to_str().unwrap().to_owned()
    }

    fn representation() -> HeaderMap {
        map(&[
            ("content-type", "text/plain".into()),
            ("content-length", "10".into()),
            ("etag", "\"v1\"".into()),
            ("last-modified", date(0)),
            ("date", date(100)),
            ("cache-control", "max-age=60".into()),
        ])
    }

    fn answer(req: &[(&str, String)]) -> Option<(StatusCode, HeaderMap, Bytes)> {
        let body = Bytes::from_static(b"0123456789");
        partial_response(
            &Method::GET,
            &map(req),
            StatusCode::OK,
            &representation(),
            &body,
        )
    }

    fn range(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    #[test]
    fn rfc9110_14_1_1_range_sets_parse_or_are_invalid() {
        assert_eq!(
            parse_range(b"bytes=0-499"),
            Some(vec![RangeSpec::Int {
                first: 0,
                last: Some(499)
            }])
        );
        assert_eq!(
            parse_range(b"BYTES= 0-999, 4500-5499, -1000"),
            Some(vec![
                RangeSpec::Int {
                    first: 0,
                    last: Some(999)
                },
                RangeSpec::Int {
                    first: 4500,
                    last: Some(5499)
                },
                RangeSpec::Suffix(1000),
            ])
        );
        assert_eq!(
            parse_range(b"bytes=9500-"),
            Some(vec![RangeSpec::Int {
                first: 9500,
                last: None
            }])
        );
        assert_eq!(parse_range(b"bytes=0-0,,-1").map(|v| v.len()), Some(2));
        for invalid in [
            &b"bytes=5-4"[..],
            b"bytes=",
            b"bytes=-",
            b"bytes=a-b",
            b"bytes=1-2-3",
            b"bytes=+1-2",
            b"bytes 0-1",
            b"items=0-1",
            b"bytes=0-1,x",
        ] {
            assert_eq!(
                parse_range(invalid),
                None,
                "{}",
                String::from_utf8_lossy(invalid)
            );
        }
        // Overflow saturates instead of failing.
        assert_eq!(
            parse_range(b"bytes=99999999999999999999999-"),
            Some(vec![RangeSpec::Int {
                first: u64::MAX,
                last: None
            }])
        );
    }

    #[test]
    fn rfc9110_14_4_content_range_parses_or_is_invalid() {
        let cr = |first, last, len| {
            Some(ContentRange {
                range: range(first, last),
                complete_length: len,
            })
        };
        assert_eq!(
            parse_content_range(b"bytes 0-499/1234"),
            cr(0, 499, Some(1234))
        );
        assert_eq!(parse_content_range(b" Bytes 5-5/6 "), cr(5, 5, Some(6)));
        assert_eq!(parse_content_range(b"bytes 42-1233/*"), cr(42, 1233, None));
        for invalid in [
            &b"bytes */1234"[..],
            b"bytes 5-4/10",
            b"bytes 0-10/10",
            b"bytes 0-4/4",
            b"bytes 0-4",
            b"bytes  0-4/10",
            b"bytes 0 -4/10",
            b"bytes -4/10",
            b"bytes 0-/10",
            b"bytes 0-4/1x",
            b"items 0-4/10",
            b"bytes=0-4/10",
            b"bytes 0-4/99999999999999999999",
        ] {
            assert_eq!(
                parse_content_range(invalid),
                None,
                "{}",
                String::from_utf8_lossy(invalid)
            );
        }
    }

    #[test]
    fn rfc9110_14_1_2_ranges_resolve_against_the_length() {
        let int = |first, last| RangeSpec::Int { first, last };
        assert_eq!(int(0, Some(1)).resolve(10), Some(range(0, 1)));
        assert_eq!(int(1, None).resolve(10), Some(range(1, 9)));
        assert_eq!(int(5, Some(500)).resolve(10), Some(range(5, 9)));
        assert_eq!(int(10, None).resolve(10), None);
        assert_eq!(RangeSpec::Suffix(1).resolve(10), Some(range(9, 9)));
        assert_eq!(RangeSpec::Suffix(50).resolve(10), Some(range(0, 9)));
        assert_eq!(RangeSpec::Suffix(0).resolve(10), None);
        assert_eq!(int(0, None).resolve(0), None);
    }

    #[test]
    fn rfc9110_15_3_7_1_single_range_is_a_206_with_content_range() {
        for (spec, want_range, want_body) in [
            ("bytes=0-1", "bytes 0-1/10", "01"),
            ("bytes=1-", "bytes 1-9/10", "123456789"),
            ("bytes=-1", "bytes 9-9/10", "9"),
            ("bytes=8-100", "bytes 8-9/10", "89"),
        ] {
            let (status, headers, body) = answer(&[("range", spec.into())]).unwrap();
            assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{spec}");
            assert_eq!(headers["content-range"], want_range);
            assert_eq!(
                headers["content-length"],
                want_body.len().to_string().as_str()
            );
            assert_eq!(body, want_body);
            // The stored fields a 200 would carry are kept.
            assert_eq!(headers["etag"], "\"v1\"");
            assert_eq!(headers["content-type"], "text/plain");
            assert_eq!(headers["cache-control"], "max-age=60");
        }
    }

    #[test]
    fn rfc9110_15_3_7_2_several_ranges_are_a_multipart_byteranges_body() {
        let mut stored = b"0".repeat(299);
        stored.push(b'9');
        let stored = Bytes::from(stored);
        let req = map(&[("range", "bytes=0-0,-1".into())]);
        let (status, headers, body) = partial_response(
            &Method::GET,
            &req,
            StatusCode::OK,
            &representation(),
            &stored,
        )
        .unwrap();
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert!(!headers.contains_key("content-range"));
        let ct = headers["content-type"].to_str().unwrap().to_owned();
        let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
        let expected = format!(
            "\r\n--{b}\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-0/300\r\n\r\n0\
             \r\n--{b}\r\ncontent-type: text/plain\r\ncontent-range: bytes 299-299/300\r\n\r\n9\
             \r\n--{b}--\r\n",
            b = boundary
        );
        assert_eq!(body, expected);
        assert_eq!(headers["content-length"], body.len().to_string().as_str());
    }

    #[test]
    fn rfc9110_15_3_7_2_overlapping_ranges_are_coalesced() {
        let (_, headers, body) = answer(&[("range", "bytes=5-7,0-2,1-3".into())]).unwrap();
        // Everything within 80 bytes merges: one part.
        assert_eq!(headers["content-range"], "bytes 0-7/10");
        assert_eq!(body, "01234567");
        assert_eq!(
            coalesce(vec![range(500, 600), range(0, 10), range(5, 20)]),
            vec![range(0, 20), range(500, 600)]
        );
        assert!(!needs_coalescing(&[range(0, 10), range(200, 300)]));
    }

    #[test]
    fn rfc9110_15_5_17_unsatisfiable_ranges_are_a_416_with_the_length() {
        let (status, headers, body) = answer(&[("range", "bytes=10-,-0".into())]).unwrap();
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(headers["content-range"], "bytes */10");
        assert!(!headers.contains_key("content-type"));
        assert!(body.is_empty());
        // One satisfiable range is enough for a 206.
        let (status, headers, _) = answer(&[("range", "bytes=10-,2-2".into())]).unwrap();
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(headers["content-range"], "bytes 2-2/10");
    }

    #[test]
    fn rfc9110_14_2_range_is_ignored_when_it_does_not_apply() {
        // Unknown unit, invalid set, several field lines, too many ranges.
        assert!(answer(&[("range", "items=0-1".into())]).is_none());
        assert!(answer(&[("range", "bytes=3-1".into())]).is_none());
        assert!(answer(&[("range", "bytes=0-1".into()), ("range", "bytes=2-3".into())]).is_none());
        let many = (0..=MAX_RANGES)
            .map(|i| format!("{}-{}", i * 200, i * 200))
            .collect::<Vec<_>>();
        assert!(answer(&[("range", format!("bytes={}", many.join(",")))]).is_none());
        // Only GET, only a 200, never an empty representation.
        let body = Bytes::from_static(b"0123456789");
        let req = map(&[("range", "bytes=0-1".into())]);
        assert!(
            partial_response(
                &Method::HEAD,
                &req,
                StatusCode::OK,
                &representation(),
                &body
            )
            .is_none()
        );
        assert!(
            partial_response(
                &Method::GET,
                &req,
                StatusCode::NOT_FOUND,
                &representation(),
                &body
            )
            .is_none()
        );
        assert!(
            partial_response(
                &Method::GET,
                &req,
                StatusCode::OK,
                &representation(),
                &Bytes::new()
            )
            .is_none()
        );
        assert!(answer(&[]).is_none());
    }

    #[test]
    fn rfc9110_13_1_5_if_range_with_an_entity_tag_uses_strong_comparison() {
        let (status, headers, _) =
            answer(&[("range", "bytes=0-1".into()), ("if-range", "\"v1\"".into())]).unwrap();
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        // The client has the representation fields already.
        assert!(!headers.contains_key("content-type"));
        assert_eq!(headers["etag"], "\"v1\"");
        assert!(answer(&[("range", "bytes=0-1".into()), ("if-range", "\"v2\"".into())]).is_none());
        assert!(
            answer(&[
                ("range", "bytes=0-1".into()),
                ("if-range", "W/\"v1\"".into())
            ])
            .is_none()
        );
        let weak = map(&[("etag", "W/\"v1\"".into())]);
        assert!(!if_range_holds(
            &HeaderValue::from_static("W/\"v1\""),
            &weak
        ));
        assert!(!if_range_holds(
            &HeaderValue::from_static("garbage"),
            &representation()
        ));
    }

    #[test]
    fn rfc9110_13_1_5_if_range_with_a_date_needs_an_exact_strong_last_modified() {
        assert!(answer(&[("range", "bytes=0-1".into()), ("if-range", date(0))]).is_some());
        assert!(answer(&[("range", "bytes=0-1".into()), ("if-range", date(1))]).is_none());
        // Last-Modified within a second of Date is weak (RFC 9110 §8.8.2.2).
        let weak = map(&[("last-modified", date(0)), ("date", date(0))]);
        assert!(!if_range_holds(
            &HeaderValue::from_str(&date(0)).unwrap(),
            &weak
        ));
        let no_date = map(&[("last-modified", date(0))]);
        assert!(!if_range_holds(
            &HeaderValue::from_str(&date(0)).unwrap(),
            &no_date
        ));
    }

    #[test]
    fn rfc9110_14_6_a_content_coded_representation_gets_one_part() {
        let mut rep = representation();
        rep.insert("content-encoding", HeaderValue::from_static("gzip"));
        let body = Bytes::from_static(b"0123456789");
        let req = map(&[("range", "bytes=0-0,-1".into())]);
        let (_, headers, part) =
            partial_response(&Method::GET, &req, StatusCode::OK, &rep, &body).unwrap();
        assert_eq!(headers["content-range"], "bytes 0-9/10");
        assert_eq!(headers["content-encoding"], "gzip");
        assert_eq!(part, "0123456789");
    }

    #[test]
    fn a_single_part_shares_the_stored_body() {
        let body = Bytes::from(vec![7u8; 4096]);
        let req = map(&[("range", "bytes=100-199".into())]);
        let (_, _, part) =
            partial_response(&Method::GET, &req, StatusCode::OK, &HeaderMap::new(), &body).unwrap();
        assert_eq!(part.len(), 100);
        assert_eq!(part.as_ptr(), body[100..].as_ptr());
    }

    #[test]
    fn the_boundary_never_occurs_in_a_part() {
        let parts = [(range(0, 0), Bytes::from_static(b"x"))];
        let b = boundary(&parts, None);
        assert!(b.starts_with("webcache-"));
        assert!(b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }
}

/// Range requests through [`Cache::serve`](crate::Cache::serve): what every
/// adapter gets.
#[cfg(test)]
mod serve_tests {
    use std::convert::Infallible;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::{Request, Response, StatusCode};
    use http_body_util::{BodyExt, Full};

    use crate::testing::MapStore;
    use crate::{Cache, Config, Upstream};

    /// Answers the whole body, or a 206 when asked for a range, counting
    /// calls and recording the Range it saw.
    #[derive(Clone, Default)]
    struct Origin(Arc<Mutex<Vec<Option<String>>>>);

    impl Upstream<Bytes> for Origin {
        type Body = Full<Bytes>;
        type Error = Infallible;
        async fn call(&mut self, req: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
            let range = req
                .headers()
                .get("range")
                .map(|v| v.to_str().unwrap().to_owned());
            self.0.lock().unwrap().push(range.clone());
            let mut response = Response::builder()
                .header("cache-control", "max-age=60")
                .header("etag", "\"e\"")
                .header("content-type", "text/plain");
            if range.is_some() {
                response = response.status(206).header("content-range", "bytes 0-1/11");
                return Ok(response.body(Full::new(Bytes::from_static(b"01"))).unwrap());
            }
            Ok(response
                .body(Full::new(Bytes::from_static(b"0123456789A")))
                .unwrap())
        }
    }

    async fn send(
        cache: &Cache<MapStore>,
        origin: &Origin,
        range: Option<&str>,
    ) -> Response<Bytes> {
        let mut req = Request::get("http://a.test/r");
        if let Some(range) = range {
            req = req.header("range", range);
        }
        let response = cache
            .serve(req.body(Bytes::new()).unwrap(), origin.clone())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, body.collect().await.unwrap().to_bytes())
    }

    #[tokio::test]
    async fn rfc9111_3_3_a_miss_forwards_range_and_the_206_is_stored_as_a_partial() {
        let cache = Cache::new(
            MapStore::default(),
            Config::gateway_builder().build().unwrap(),
        );
        let origin = Origin::default();
        let partial = send(&cache, &origin, Some("bytes=0-1")).await;
        assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(partial.body(), "01");
        assert_eq!(origin.0.lock().unwrap()[0].as_deref(), Some("bytes=0-1"));
        // Stored: a range within it is a hit.
        let within = send(&cache, &origin, Some("bytes=1-1")).await;
        assert_eq!(within.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(within.headers()["content-range"], "bytes 1-1/11");
        assert_eq!(within.body(), "1");
        assert!(within.headers().contains_key("age"));
        assert_eq!(origin.0.lock().unwrap().len(), 1);
        // A range beyond it, and a request without Range, go forward: the
        // cache asks for the missing bytes (RFC 9111 §3.4); this origin
        // answers with bytes 0-1 whatever is asked, which completes
        // nothing, so the client's own request follows.
        send(&cache, &origin, Some("bytes=0-5")).await;
        assert_eq!(origin.0.lock().unwrap().len(), 3);
        assert_eq!(origin.0.lock().unwrap()[1].as_deref(), Some("bytes=2-5"));
        assert_eq!(origin.0.lock().unwrap()[2].as_deref(), Some("bytes=0-5"));
        let whole = send(&cache, &origin, None).await;
        assert_eq!(whole.status(), StatusCode::OK);
        assert_eq!(whole.body(), "0123456789A");
        assert_eq!(origin.0.lock().unwrap().len(), 5);
        assert_eq!(origin.0.lock().unwrap()[3].as_deref(), Some("bytes=2-10"));
        assert_eq!(origin.0.lock().unwrap()[4].as_deref(), None);
        // The complete 200 replaced the partial.
        let last = send(&cache, &origin, Some("bytes=-1")).await;
        assert_eq!(last.body(), "A");
        assert_eq!(send(&cache, &origin, None).await.body(), "0123456789A");
        assert_eq!(origin.0.lock().unwrap().len(), 5);
    }

    #[tokio::test]
    async fn rfc9110_14_2_a_stored_complete_response_answers_range_requests() {
        let cache = Cache::new(
            MapStore::default(),
            Config::gateway_builder().build().unwrap(),
        );
        let origin = Origin::default();
        send(&cache, &origin, None).await;
        let partial = send(&cache, &origin, Some("bytes=-1")).await;
        assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(partial.headers()["content-range"], "bytes 10-10/11");
        assert_eq!(partial.headers()["content-length"], "1");
        assert!(partial.headers().contains_key("age"));
        assert!(
            partial.headers()["cache-status"]
                .to_str()
                .unwrap()
                .contains("hit")
        );
        assert_eq!(partial.body(), "A");
        let unsatisfiable = send(&cache, &origin, Some("bytes=20-")).await;
        assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(unsatisfiable.headers()["content-range"], "bytes */11");
        let ignored = send(&cache, &origin, Some("lines=1-2")).await;
        assert_eq!(ignored.status(), StatusCode::OK);
        assert_eq!(ignored.body(), "0123456789A");
        assert_eq!(origin.0.lock().unwrap().len(), 1);
    }
}

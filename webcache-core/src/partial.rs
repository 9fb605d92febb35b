//! Partial content (RFC 9111 §3.3, §3.4; RFC 9110 §14.4, §15.3.7): 206
//! responses stored as incomplete responses, combined when they share a
//! strong validator, and used to answer range requests that lie within
//! them.
//!
//! A 206 is stored only when the cache can tell exactly which bytes of
//! which representation it holds ([`received_part`]): one
//! `Content-Range: bytes first-last/complete-length` with a known complete
//! length and a body of exactly that many bytes. It is stored as the
//! incomplete 200 it is a part of (RFC 9111 §3.3): status 200, the fields
//! a 200 would carry except Content-Range and Content-Length, the
//! [`PartialContent`] it holds (which ranges, of how many bytes) and those
//! bytes, one range after another.
//!
//! A part needs no strong validator to be stored and reused for the ranges
//! it holds; only combining parts does (RFC 9111 §3.4). A later 206 for the
//! same representation with the same strong validator is combined with it
//! ([`combine`]): the newer fields update the stored ones (§3.2) and the
//! ranges are merged. A 206 with another validator, or without one,
//! replaces it. When the ranges cover the whole representation, the stored
//! response becomes a complete 200 with `Content-Length` (RFC 9110
//! §15.3.7.3), answered to any request like any other.
//!
//! An incomplete stored response answers only a GET whose Range lies wholly
//! within the stored ranges, with a 206 ([`can_answer`], [`answer`]). For
//! any other GET, a stored part that can be combined is completed
//! ([`missing_range`]): the cache asks the origin for only the bytes it
//! lacks, with a Range and an If-Range of its own
//! ([`completion_headers`]), combines the 206 and answers the request from
//! the result (RFC 9111 §3.4). Every other request is forwarded, and a
//! complete 200 coming back replaces the part.
//!
//! ```
//! use http::{HeaderMap, HeaderValue};
//! use webcache_core::partial::received_part;
//! use webcache_core::range::ByteRange;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("content-range", HeaderValue::from_static("bytes 0-4/10"));
//! headers.insert("etag", HeaderValue::from_static("\"v1\""));
//! let part = received_part(&headers).unwrap();
//! assert_eq!(part.range, ByteRange { first: 0, last: 4 });
//! assert_eq!(part.complete_length, 10);
//!
//! // A weak validator: stored all the same, but never combined.
//! headers.insert("etag", HeaderValue::from_static("W/\"v1\""));
//! assert!(received_part(&headers).is_ok());
//! ```

use bytes::{Bytes, BytesMut};
use http::header::{
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap, HeaderValue, IF_RANGE,
    LAST_MODIFIED, RANGE,
};
use http::{Method, StatusCode};

use crate::range::{ByteRange, RangeDecision, decide, parse_content_range, ranges_response};
use crate::storage::NotStorable;
use crate::store::StoredResponse;
use crate::validation::{StrongValidator, freshen, has_preconditions};

/// The part of a representation a single-part 206 carries (RFC 9110
/// §15.3.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The bytes enclosed.
    pub range: ByteRange,
    /// The length of the whole representation.
    pub complete_length: u64,
}

/// Which bytes of a representation an incomplete stored response holds:
/// ranges in ascending order, neither overlapping nor adjacent (adjacent
/// ranges are one), all within the complete length. The stored body is
/// their bytes, one range after another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialContent(
    // Boxed: `Option<PartialContent>` is one word in every
    // `StoredResponse`, which the hit path moves several times.
    Box<Held>,
);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    complete_length: u64,
    ranges: Vec<ByteRange>,
    /// False when the strong-looking validator of the stored fields was
    /// not strong when received (a Last-Modified against a Date the cache
    /// added, RFC 9110 §8.8.2.2): never combined.
    combinable: bool,
}

impl PartialContent {
    /// The ranges `ranges` of a representation of `complete_length` bytes;
    /// `None` unless there is at least one range and they are ascending,
    /// separated by at least one byte, and within the complete length.
    pub fn new(complete_length: u64, ranges: Vec<ByteRange>) -> Option<PartialContent> {
        let within = !ranges.is_empty()
            && ranges
                .iter()
                .all(|r| r.first <= r.last && r.last < complete_length);
        // Ascending and apart, the ranges sum to less than the complete
        // length: no count over them overflows.
        let ordered = ranges
            .windows(2)
            .all(|w| w[0].last < w[1].first && w[1].first - w[0].last > 1);
        (within && ordered).then(|| {
            PartialContent(Box::new(Held {
                complete_length,
                ranges,
                combinable: true,
            }))
        })
    }

    /// One range of a representation.
    pub fn single(part: Part) -> Option<PartialContent> {
        Self::new(part.complete_length, vec![part.range])
    }

    /// The same ranges, marked as never to be combined with another part:
    /// the validator its fields show was not a strong one when received
    /// (RFC 9111 §3.4).
    pub fn uncombinable(mut self) -> PartialContent {
        self.0.combinable = false;
        self
    }

    /// False when marked [`uncombinable`](Self::uncombinable).
    pub fn is_combinable(&self) -> bool {
        self.0.combinable
    }

    /// The length of the whole representation.
    pub fn complete_length(&self) -> u64 {
        self.0.complete_length
    }

    /// The ranges held, ascending.
    pub fn ranges(&self) -> &[ByteRange] {
        &self.0.ranges
    }

    /// How many bytes are held: the length of the stored body.
    pub fn stored_len(&self) -> u64 {
        self.0.ranges.iter().map(ByteRange::len).sum()
    }

    /// True when the ranges cover the whole representation.
    pub fn is_complete(&self) -> bool {
        self.0.ranges[..]
            == [ByteRange {
                first: 0,
                last: self.0.complete_length - 1,
            }]
    }

    /// Where the bytes of `range` start in the stored body, when `range`
    /// lies wholly within the stored ranges (ranges are never adjacent, so
    /// within one of them).
    pub fn offset_of(&self, range: ByteRange) -> Option<u64> {
        let mut offset = 0;
        for r in &self.0.ranges {
            if r.first <= range.first && range.last <= r.last {
                return Some(offset + (range.first - r.first));
            }
            offset += r.len();
        }
        None
    }
}

/// The part a 206 response with fields `headers` carries, when the cache
/// may store it (RFC 9111 §3.3; RFC 9110 §14.4, §15.3.7): exactly one
/// Content-Range, in the `bytes` unit, valid, with a known complete
/// length, and no `multipart/byteranges` content. A strong validator is
/// not needed to store it and answer ranges within it, only to combine it
/// with other parts (RFC 9111 §3.4, [`combine`]). Whether the body holds
/// as many bytes as the range says is checked once it has been received.
pub fn received_part(headers: &HeaderMap) -> Result<Part, NotStorable> {
    let mut lines = headers.get_all(CONTENT_RANGE).iter();
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err(NotStorable::ContentRange);
    };
    let multipart = headers.get_all(CONTENT_TYPE).iter().any(|ct| {
        let ct = ct.as_bytes();
        ct.len() >= 20 && ct[..20].eq_ignore_ascii_case(b"multipart/byteranges")
    });
    if multipart {
        return Err(NotStorable::ContentRange);
    }
    let Some(crate::range::ContentRange {
        range,
        complete_length: Some(complete_length),
    }) = parse_content_range(line.as_bytes())
    else {
        return Err(NotStorable::ContentRange);
    };
    Ok(Part {
        range,
        complete_length,
    })
}

/// The ranges `request` asks of the incomplete stored response with fields
/// `fields` holding `partial`, when every one lies within the stored
/// ranges: a GET with one Range field of `bytes`, If-Range holding, every
/// range satisfiable and covered (after [`decide`] resolves and coalesces
/// them against the complete length).
fn covered_ranges(
    method: &Method,
    request: &HeaderMap,
    fields: &HeaderMap,
    partial: &PartialContent,
) -> Option<Vec<ByteRange>> {
    match decide(
        method,
        request,
        StatusCode::OK,
        fields,
        partial.complete_length(),
    ) {
        RangeDecision::Partial(ranges)
            if ranges.iter().all(|r| partial.offset_of(*r).is_some()) =>
        {
            Some(ranges)
        }
        _ => None,
    }
}

/// May `stored` answer `request` at all (RFC 9111 §3.3)? A complete
/// response may (the ordinary reuse rules then decide); an incomplete one
/// only when the request is a range request whose ranges lie wholly
/// within what is stored, and whose If-Range (if any) holds.
#[inline]
pub fn can_answer(stored: &StoredResponse, method: &Method, request: &HeaderMap) -> bool {
    // The check of a complete response is all that lands on the hit path.
    match &stored.partial {
        None => true,
        Some(partial) => incomplete_can_answer(method, request, &stored.headers, partial),
    }
}

#[cold]
#[inline(never)]
fn incomplete_can_answer(
    method: &Method,
    request: &HeaderMap,
    fields: &HeaderMap,
    partial: &PartialContent,
) -> bool {
    covered_ranges(method, request, fields, partial).is_some()
}

/// The 206 answering `request` from an incomplete stored response with
/// fields `fields`, holding `partial` in `body` (RFC 9111 §3.3, RFC 9110
/// §15.3.7): one range as a zero-copy slice with Content-Range, several as
/// `multipart/byteranges`, each Content-Range giving the complete length.
/// `None` when the response cannot answer the request ([`can_answer`]),
/// or when `body` does not hold what `partial` says.
#[inline(never)]
pub fn answer(
    method: &Method,
    request: &HeaderMap,
    fields: &HeaderMap,
    partial: &PartialContent,
    body: &Bytes,
) -> Option<(StatusCode, HeaderMap, Bytes)> {
    if partial.stored_len() != body.len() as u64 {
        return None;
    }
    let ranges = covered_ranges(method, request, fields, partial)?;
    let mut parts = Vec::with_capacity(ranges.len());
    for range in ranges {
        let start = usize::try_from(partial.offset_of(range)?).ok()?;
        let end = start.checked_add(usize::try_from(range.len()).ok()?)?;
        parts.push((range, body.slice(start..end)));
    }
    Some(ranges_response(
        request,
        fields,
        partial.complete_length(),
        parts,
    ))
}

/// What the cache stores after receiving a 206 (RFC 9111 §3.3, §3.4; RFC
/// 9110 §15.3.7.3). `received` is the 206 as it would be stored — its
/// fields already filtered for storage (RFC 9111 §3.1), its body the part —
/// `stored` the response stored for the same request, if any, and
/// `request` the header fields of the request it answered, and
/// `origin_date` false when the cache added the 206's `Date` itself — a
/// Last-Modified is then no strong validator, since it is strong only
/// against the origin's own clock (RFC 9110 §8.8.2.2).
///
/// The part must be one the cache may store ([`received_part`]) and the
/// body exactly as long as its range ([`NotStorable::Incomplete`]).
/// Received on its own, it becomes an incomplete 200 without
/// Content-Range and Content-Length, marked
/// [`uncombinable`](PartialContent::uncombinable) when its fields show a
/// validator that was not strong on receipt. When the part has a strong
/// validator and `stored` is a 200 — complete, or incomplete and
/// combinable — for the same secondary key, with the same strong validator
/// and the same complete length, the two combine (RFC 9111 §3.4): the stored fields are
/// updated from the newer ones (RFC 9111 §3.2; Content-Range and
/// Content-Length are never taken from a 206) and its age from the newer
/// exchange, and the ranges are merged, the newer bytes winning where they
/// overlap. Otherwise the part replaces what was stored — except when the
/// request carried If-Range: such a 206 may lack representation fields
/// the client already had (Content-Type, …, RFC 9110 §15.3.7), so it is
/// stored only by combining with a response that has them
/// ([`NotStorable::UncombinablePart`]).
///
/// A response whose ranges then cover the whole representation is a
/// complete 200 with `Content-Length: <complete length>`. The caller
/// bounds the size of the result.
pub fn combine(
    received: StoredResponse,
    stored: Option<&StoredResponse>,
    request: &HeaderMap,
    origin_date: bool,
) -> Result<StoredResponse, NotStorable> {
    let part = received_part(&received.headers)?;
    if received.body.len() as u64 != part.range.len() {
        return Err(NotStorable::Incomplete);
    }
    let shown = StrongValidator::from_headers(&received.headers);
    let validator = shown
        .clone()
        .filter(|v| origin_date || !matches!(v, StrongValidator::LastModified(_)));
    let mut incoming = received;
    incoming.headers.remove(CONTENT_RANGE);
    incoming.headers.remove(CONTENT_LENGTH);
    incoming.status = StatusCode::OK;
    let held = PartialContent::single(part).ok_or(NotStorable::ContentRange)?;
    incoming.partial = Some(if shown.is_some() && validator.is_none() {
        held.uncombinable()
    } else {
        held
    });

    let matching = stored.filter(|s| {
        validator.is_some()
            && s.status == StatusCode::OK
            && s.uri == incoming.uri
            && s.selecting == incoming.selecting
            && s.representation_len() == part.complete_length
            && s.partial.as_ref().is_none_or(PartialContent::is_combinable)
            && StrongValidator::from_headers(&s.headers) == validator
    });
    let Some(stored) = matching else {
        if request.contains_key(http::header::IF_RANGE) {
            return Err(NotStorable::UncombinablePart);
        }
        return Ok(completed(incoming));
    };
    let mut combined = stored.clone();
    freshen(
        &mut combined,
        &incoming.headers,
        incoming.request_time,
        incoming.response_time,
    );
    if let Some(held) = &stored.partial {
        let (ranges, body) =
            merge(held, &stored.body, part.range, &incoming.body).ok_or(NotStorable::Incomplete)?;
        combined.partial =
            Some(PartialContent::new(part.complete_length, ranges).ok_or(NotStorable::Incomplete)?);
        combined.body = body;
    }
    Ok(completed(combined))
}

/// The one range of bytes to ask the origin for to complete the
/// incomplete stored response `stored` so that it answers `request` (RFC
/// 9111 §3.4: a cache may complete a stored incomplete response with a
/// range request of its own, then combine): the smallest range holding
/// every byte the request wants that is not stored — the whole
/// representation for a GET without Range (or with one the cache would
/// ignore), the span of the ranges asked for otherwise.
///
/// `None` — forward the client's request as it is — unless the request is
/// a GET with no precondition and no If-Range of its own, and the stored
/// part can be combined: it has a strong validator for the cache's
/// If-Range, judged strong on receipt. One range, not several: the answer
/// to several is `multipart/byteranges`, which is not stored.
pub fn missing_range(
    stored: &StoredResponse,
    method: &Method,
    request: &HeaderMap,
) -> Option<ByteRange> {
    let partial = stored.partial.as_ref()?;
    let plain_get =
        *method == Method::GET && !has_preconditions(request) && !request.contains_key(IF_RANGE);
    if !plain_get || !partial.is_combinable() {
        return None;
    }
    StrongValidator::from_headers(&stored.headers)?;
    let len = partial.complete_length();
    let wanted = match decide(method, request, StatusCode::OK, &stored.headers, len) {
        RangeDecision::Partial(ranges) => ByteRange {
            first: ranges.iter().map(|r| r.first).min()?,
            last: ranges.iter().map(|r| r.last).max()?,
        },
        RangeDecision::Ignore => ByteRange {
            first: 0,
            last: len - 1,
        },
        RangeDecision::Unsatisfiable => return None,
    };
    gaps_within(partial, wanted)
}

/// The smallest range holding every byte of `wanted` that `partial` does
/// not hold; `None` when it holds them all.
fn gaps_within(partial: &PartialContent, wanted: ByteRange) -> Option<ByteRange> {
    let holding = |byte: u64| {
        partial
            .ranges()
            .iter()
            .find(|r| r.first <= byte && byte <= r.last)
    };
    // Stored ranges are never adjacent: the byte after the one holding
    // `wanted.first` is missing, and so is the byte before the one holding
    // `wanted.last`.
    let first = match holding(wanted.first) {
        Some(r) => r.last.checked_add(1)?,
        None => wanted.first,
    };
    let last = match holding(wanted.last) {
        Some(r) => r.first.checked_sub(1)?,
        None => wanted.last,
    };
    (first <= last).then_some(ByteRange { first, last })
}

/// The fields of the cache's own request completing the incomplete stored
/// response with fields `stored` (RFC 9111 §3.4): `Range` for the bytes
/// `missing`, and `If-Range` with the stored strong validator — its entity
/// tag, or else its Last-Modified — so that a changed representation comes
/// back whole rather than as a part that cannot be combined (RFC 9110
/// §13.1.5).
pub fn completion_headers(stored: &HeaderMap, missing: ByteRange) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let range = format!("bytes={}-{}", missing.first, missing.last);
    if let Ok(value) = HeaderValue::from_str(&range) {
        headers.insert(RANGE, value);
    }
    let validator = match StrongValidator::from_headers(stored) {
        Some(StrongValidator::EntityTag(_)) => stored.get(ETAG),
        Some(StrongValidator::LastModified(_)) => stored.get(LAST_MODIFIED),
        None => None,
    };
    if let Some(value) = validator {
        headers.insert(IF_RANGE, value.clone());
    }
    headers
}

/// A stored response whose ranges cover the whole representation becomes
/// the complete 200 (RFC 9110 §15.3.7.3).
fn completed(mut stored: StoredResponse) -> StoredResponse {
    if let Some(partial) = stored.partial.take_if(|p| p.is_complete()) {
        stored.status = StatusCode::OK;
        stored
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(partial.complete_length()));
    }
    stored
}

/// The union of the stored ranges (their bytes in `body`) and `range` (its
/// bytes in `bytes`), and the bytes of the union; `None` when a length
/// does not fit in memory or `body` does not hold what `held` says.
fn merge(
    held: &PartialContent,
    body: &Bytes,
    range: ByteRange,
    bytes: &Bytes,
) -> Option<(Vec<ByteRange>, Bytes)> {
    let mut pieces: Vec<(ByteRange, Bytes)> = Vec::with_capacity(held.ranges().len() + 1);
    let mut offset = 0usize;
    for r in held.ranges() {
        let len = usize::try_from(r.len()).ok()?;
        let end = offset.checked_add(len).filter(|&end| end <= body.len())?;
        pieces.push((*r, body.slice(offset..end)));
        offset = end;
    }
    // Last, so that its bytes win where they overlap stored ones.
    pieces.push((range, bytes.clone()));

    let mut union: Vec<ByteRange> = pieces.iter().map(|(r, _)| *r).collect();
    union.sort_by_key(|r| r.first);
    let mut ranges: Vec<ByteRange> = Vec::with_capacity(union.len());
    for r in union {
        match ranges.last_mut() {
            Some(prev) if r.first <= prev.last.saturating_add(1) => {
                prev.last = prev.last.max(r.last)
            }
            _ => ranges.push(r),
        }
    }
    let total = usize::try_from(ranges.iter().map(ByteRange::len).sum::<u64>()).ok()?;
    let mut out = BytesMut::zeroed(total);
    for (piece, data) in &pieces {
        // The union range holding the piece, and where it starts in `out`.
        let mut start = 0u64;
        for r in &ranges {
            if r.first <= piece.first && piece.last <= r.last {
                start += piece.first - r.first;
                break;
            }
            start += r.len();
        }
        let start = usize::try_from(start).ok()?;
        out.get_mut(start..start.checked_add(data.len())?)?
            .copy_from_slice(data);
    }
    Some((ranges, out.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::fmt_http_date;
    use http::HeaderName;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn t(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    /// [`super::combine`] for a 206 that came with the origin's Date.
    fn combine(
        received: StoredResponse,
        stored: Option<&StoredResponse>,
        request: &HeaderMap,
    ) -> Result<StoredResponse, NotStorable> {
        super::combine(received, stored, request, true)
    }

    fn range(first: u64, last: u64) -> ByteRange {
        ByteRange { first, last }
    }

    /// A 206 as the response handler hands it over: `content_range`,
    /// `etag`, and the body, received at `at`.
    fn received(content_range: &str, etag: &str, body: &'static str, at: u64) -> StoredResponse {
        StoredResponse {
            status: StatusCode::PARTIAL_CONTENT,
            headers: map(&[
                ("content-range", content_range),
                ("etag", etag),
                ("content-type", "text/plain"),
                ("content-length", &body.len().to_string()),
                ("cache-control", "max-age=60"),
                ("x-at", &at.to_string()),
            ]),
            body: Bytes::from_static(body.as_bytes()),
            request_time: t(at),
            response_time: t(at),
            uri: "http://a.test/r".into(),
            selecting: vec![],
            salt: 0,
            invalidated: false,
            partial: None,
            generations: Default::default(),
            tags: Vec::new(),
            purged: crate::purge::Verdict::Valid,
        }
    }

    fn get_range(range: &str) -> HeaderMap {
        map(&[("range", range)])
    }

    #[test]
    fn rfc9110_14_4_only_a_single_bytes_range_with_a_complete_length_is_stored() {
        let with = |pairs: &[(&str, &str)]| {
            let mut h = map(&[("etag", "\"v1\"")]);
            for (n, v) in pairs {
                h.append(
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            received_part(&h)
        };
        assert_eq!(
            with(&[("content-range", "bytes 2-4/10")]),
            Ok(Part {
                range: range(2, 4),
                complete_length: 10
            })
        );
        for bad in [
            "bytes 0-4/*",
            "bytes */10",
            "items 0-4/10",
            "bytes 4-2/10",
            "bytes 0-10/10",
            "bytes 0-4",
        ] {
            assert_eq!(
                with(&[("content-range", bad)]),
                Err(NotStorable::ContentRange),
                "{bad}"
            );
        }
        assert_eq!(with(&[]), Err(NotStorable::ContentRange));
        assert_eq!(
            with(&[
                ("content-range", "bytes 0-4/10"),
                ("content-range", "bytes 5-9/10")
            ]),
            Err(NotStorable::ContentRange)
        );
        // RFC 9110 §15.3.7.2: multipart content is not stored.
        assert_eq!(
            with(&[
                ("content-range", "bytes 0-4/10"),
                ("content-type", "Multipart/Byteranges; boundary=x")
            ]),
            Err(NotStorable::ContentRange)
        );
    }

    #[test]
    fn rfc9111_3_4_a_part_is_stored_without_a_strong_validator() {
        let part = |pairs: &[(&str, &str)]| {
            let mut h = map(&[("content-range", "bytes 0-4/10")]);
            for (n, v) in pairs {
                h.append(
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                );
            }
            received_part(&h).map(|_| ())
        };
        assert_eq!(part(&[]), Ok(()));
        assert_eq!(part(&[("etag", "W/\"v1\"")]), Ok(()));
        assert_eq!(part(&[("etag", "\"v1\"")]), Ok(()));
    }

    /// A 206 of `content_range` with `validator` fields (no ETag unless
    /// given) and a Date at 10.
    fn received_with(
        content_range: &str,
        validator: &[(&str, String)],
        body: &'static str,
    ) -> StoredResponse {
        let mut r = received(content_range, "\"x\"", body, 10);
        r.headers.remove("etag");
        r.headers.insert("date", fmt_http_date(t(10)));
        for (n, v) in validator {
            r.headers.insert(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        r
    }

    #[test]
    fn rfc9111_3_4_only_parts_with_the_same_strong_validator_combine() {
        let date = |s| fmt_http_date(t(s)).to_str().unwrap().to_owned();
        let combined = |validator: &[(&str, String)], origin_date: bool| {
            let first = super::combine(
                received_with("bytes 0-4/10", validator, "01234"),
                None,
                &HeaderMap::new(),
                origin_date,
            )
            .unwrap();
            let second = super::combine(
                received_with("bytes 5-9/10", validator, "56789"),
                Some(&first),
                &HeaderMap::new(),
                origin_date,
            )
            .unwrap();
            (first, second.partial.is_none())
        };
        // Strong: an entity tag, or Last-Modified a second before Date.
        assert!(combined(&[("etag", "\"v\"".into())], true).1);
        assert!(combined(&[("last-modified", date(9))], true).1);
        // Weak or none: each part replaces the last.
        assert!(!combined(&[], true).1);
        assert!(!combined(&[("etag", "W/\"v\"".into())], true).1);
        assert!(!combined(&[("last-modified", date(10))], true).1);
        // RFC 9110 §8.8.2.2: Last-Modified against a Date the cache added
        // is no strong validator; the stored part says so for later.
        let (first, complete) = combined(&[("last-modified", date(9))], false);
        assert!(!complete);
        assert!(!first.partial.as_ref().unwrap().is_combinable());
        let later = received_with("bytes 5-9/10", &[("last-modified", date(9))], "56789");
        let second = super::combine(later, Some(&first), &HeaderMap::new(), true).unwrap();
        assert_eq!(second.partial.unwrap().ranges(), &[range(5, 9)]);
        // An entity tag does not depend on the Date.
        assert!(combined(&[("etag", "\"v\"".into())], false).1);
    }

    #[test]
    fn rfc9111_3_4_the_missing_bytes_are_asked_for_in_one_range() {
        let mut stored = combine(
            received("bytes 10-19/100", "\"v1\"", "0123456789", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let missing = |stored: &StoredResponse, request: &[(&str, &str)]| {
            missing_range(stored, &Method::GET, &map(request))
        };
        assert_eq!(missing(&stored, &[]), Some(range(0, 99)));
        assert_eq!(
            missing(&stored, &[("range", "bytes=15-30")]),
            Some(range(20, 30))
        );
        assert_eq!(
            missing(&stored, &[("range", "bytes=5-15")]),
            Some(range(5, 9))
        );
        assert_eq!(
            missing(&stored, &[("range", "bytes=-85")]),
            Some(range(20, 99))
        );
        assert_eq!(
            missing(&stored, &[("range", "bytes=12-")]),
            Some(range(20, 99))
        );
        // Several ranges: the span of what is missing within them.
        assert_eq!(
            missing(&stored, &[("range", "bytes=0-1,50-60")]),
            Some(range(0, 60))
        );
        // Within the stored part: nothing to ask for.
        assert_eq!(missing(&stored, &[("range", "bytes=12-14")]), None);
        // Unsatisfiable, conditional, or not a GET: forwarded as asked.
        assert_eq!(missing(&stored, &[("range", "bytes=200-")]), None);
        assert_eq!(missing(&stored, &[("if-range", "\"v1\"")]), None);
        assert_eq!(missing(&stored, &[("if-modified-since", "x")]), None);
        assert_eq!(
            missing_range(&stored, &Method::HEAD, &HeaderMap::new()),
            None
        );
        // A part that cannot be combined is not completed.
        stored.partial = stored.partial.map(PartialContent::uncombinable);
        assert_eq!(missing(&stored, &[]), None);
    }

    #[test]
    fn rfc9110_13_1_5_the_completion_request_carries_the_strong_validator() {
        let missing = range(5, 9);
        let tagged = map(&[("etag", "\"v1\""), ("last-modified", "x")]);
        let h = completion_headers(&tagged, missing);
        assert_eq!(h[RANGE], "bytes=5-9");
        assert_eq!(h[IF_RANGE], "\"v1\"");
        let lm = fmt_http_date(t(0));
        let dated = map(&[
            ("last-modified", lm.to_str().unwrap()),
            ("date", fmt_http_date(t(5)).to_str().unwrap()),
        ]);
        assert_eq!(completion_headers(&dated, missing)[IF_RANGE], lm);
    }

    #[test]
    fn rfc9111_3_3_a_206_is_stored_as_an_incomplete_200() {
        let stored = combine(
            received("bytes 2-4/10", "\"v1\"", "234", 0),
            None,
            &get_range("bytes=2-4"),
        )
        .unwrap();
        assert_eq!(stored.status, StatusCode::OK);
        assert_eq!(stored.partial, PartialContent::new(10, vec![range(2, 4)]));
        assert!(!stored.headers.contains_key("content-range"));
        assert!(!stored.headers.contains_key("content-length"));
        assert_eq!(stored.headers["content-type"], "text/plain");
        assert_eq!(stored.body, "234");
        assert_eq!(stored.representation_len(), 10);
    }

    #[test]
    fn rfc9111_3_3_a_body_that_disagrees_with_content_range_is_not_stored() {
        assert_eq!(
            combine(
                received("bytes 0-4/10", "\"v1\"", "012", 0),
                None,
                &HeaderMap::new()
            ),
            Err(NotStorable::Incomplete)
        );
    }

    #[test]
    fn rfc9111_3_4_parts_with_the_same_strong_validator_combine_and_update_fields() {
        let first = combine(
            received("bytes 0-1/10", "\"v1\"", "01", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let second = combine(
            received("bytes 6-7/10", "\"v1\"", "67", 5),
            Some(&first),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(
            second.partial,
            PartialContent::new(10, vec![range(0, 1), range(6, 7)])
        );
        assert_eq!(second.body, "0167");
        // RFC 9111 §3.2: the newer fields, and the newer exchange's age.
        assert_eq!(second.headers["x-at"], "5");
        assert_eq!(second.response_time, t(5));
        // Overlapping and adjacent ranges merge into one.
        let third = combine(
            received("bytes 1-5/10", "\"v1\"", "12345", 9),
            Some(&second),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(third.partial, PartialContent::new(10, vec![range(0, 7)]));
        assert_eq!(third.body, "01234567");
    }

    #[test]
    fn rfc9110_15_3_7_3_parts_covering_everything_are_a_complete_200() {
        let first = combine(
            received("bytes 5-9/10", "\"v1\"", "56789", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let whole = combine(
            received("bytes 0-4/10", "\"v1\"", "01234", 1),
            Some(&first),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(whole.status, StatusCode::OK);
        assert_eq!(whole.partial, None);
        assert_eq!(whole.body, "0123456789");
        assert_eq!(whole.headers["content-length"], "10");
        assert!(!whole.headers.contains_key("content-range"));
        // One 206 holding everything is a complete 200 at once.
        let at_once = combine(
            received("bytes 0-2/3", "\"v1\"", "abc", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(
            (at_once.partial, at_once.body.as_ref()),
            (None, &b"abc"[..])
        );
        assert_eq!(at_once.headers["content-length"], "3");
    }

    #[test]
    fn rfc9111_3_4_a_part_with_another_validator_replaces_what_was_stored() {
        let first = combine(
            received("bytes 0-4/10", "\"v1\"", "01234", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let other = combine(
            received("bytes 5-9/10", "\"v2\"", "fghij", 1),
            Some(&first),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(other.partial, PartialContent::new(10, vec![range(5, 9)]));
        assert_eq!(other.body, "fghij");
        // Another complete length is another representation, too.
        let longer = combine(
            received("bytes 5-9/11", "\"v1\"", "56789", 1),
            Some(&first),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(longer.partial, PartialContent::new(11, vec![range(5, 9)]));
        // And another secondary key.
        let mut varied = first.clone();
        varied.selecting = vec![(HeaderName::from_static("accept"), None)];
        let alone = combine(
            received("bytes 5-9/10", "\"v1\"", "56789", 1),
            Some(&varied),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(alone.body, "56789");
    }

    #[test]
    fn rfc9111_3_4_a_part_of_a_stored_complete_200_only_updates_its_fields() {
        let complete = StoredResponse {
            status: StatusCode::OK,
            headers: map(&[("etag", "\"v1\""), ("content-length", "10"), ("x-at", "0")]),
            body: Bytes::from_static(b"0123456789"),
            ..received("bytes 0-0/10", "\"v1\"", "0", 0)
        };
        let updated = combine(
            received("bytes 2-3/10", "\"v1\"", "23", 7),
            Some(&complete),
            &HeaderMap::new(),
        )
        .unwrap();
        assert_eq!(updated.partial, None);
        assert_eq!(updated.body, "0123456789");
        assert_eq!(updated.headers["content-length"], "10");
        assert_eq!(updated.headers["x-at"], "7");
        assert!(!updated.headers.contains_key("content-range"));
    }

    #[test]
    fn rfc9110_15_3_7_a_206_to_if_range_is_stored_only_by_combining() {
        let if_range = map(&[("range", "bytes=0-4"), ("if-range", "\"v1\"")]);
        assert_eq!(
            combine(
                received("bytes 0-4/10", "\"v1\"", "01234", 0),
                None,
                &if_range
            ),
            Err(NotStorable::UncombinablePart)
        );
        let first = combine(
            received("bytes 0-4/10", "\"v1\"", "01234", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let mut bare = received("bytes 5-9/10", "\"v1\"", "56789", 1);
        bare.headers.remove("content-type");
        let whole = combine(bare, Some(&first), &if_range).unwrap();
        // The stored Content-Type stays.
        assert_eq!(whole.headers["content-type"], "text/plain");
        assert_eq!(whole.body, "0123456789");
    }

    #[test]
    fn rfc9111_3_3_only_ranges_within_the_stored_parts_are_answered() {
        let stored = combine(
            received("bytes 2-5/10", "\"v1\"", "2345", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let partial = stored.partial.clone().unwrap();
        let ask =
            |req: &HeaderMap| answer(&Method::GET, req, &stored.headers, &partial, &stored.body);
        let (status, headers, body) = ask(&get_range("bytes=3-4")).unwrap();
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(headers["content-range"], "bytes 3-4/10");
        assert_eq!(headers["content-length"], "2");
        assert_eq!(headers["etag"], "\"v1\"");
        assert_eq!(body, "34");
        // A zero-copy slice of the stored body.
        assert_eq!(body.as_ptr(), stored.body[1..].as_ptr());
        assert_eq!(ask(&get_range("bytes=2-5")).unwrap().2, "2345");
        for outside in [
            "bytes=1-3",
            "bytes=4-6",
            "bytes=6-",
            "bytes=-1",
            "bytes=20-",
            "items=2-3",
        ] {
            assert!(ask(&get_range(outside)).is_none(), "{outside}");
            assert!(
                !can_answer(&stored, &Method::GET, &get_range(outside)),
                "{outside}"
            );
        }
        // Never without Range, never to HEAD.
        assert!(!can_answer(&stored, &Method::GET, &HeaderMap::new()));
        assert!(!can_answer(&stored, &Method::HEAD, &get_range("bytes=3-4")));
        assert!(can_answer(&stored, &Method::GET, &get_range("bytes=3-4")));
    }

    #[test]
    fn rfc9110_13_1_5_if_range_must_hold_for_a_partial_to_answer() {
        let stored = combine(
            received("bytes 0-4/10", "\"v1\"", "01234", 0),
            None,
            &HeaderMap::new(),
        )
        .unwrap();
        let with = |if_range: &str| map(&[("range", "bytes=0-1"), ("if-range", if_range)]);
        assert!(can_answer(&stored, &Method::GET, &with("\"v1\"")));
        assert!(!can_answer(&stored, &Method::GET, &with("\"v0\"")));
        let partial = stored.partial.clone().unwrap();
        let (_, headers, body) = answer(
            &Method::GET,
            &with("\"v1\""),
            &stored.headers,
            &partial,
            &stored.body,
        )
        .unwrap();
        assert_eq!(body, "01");
        assert!(!headers.contains_key("content-type"));
    }

    #[test]
    fn rfc9110_15_3_7_2_several_stored_ranges_answer_as_multipart() {
        let held = PartialContent::new(1000, vec![range(0, 99), range(500, 599)]).unwrap();
        let body = Bytes::from([vec![b'a'; 100], vec![b'b'; 100]].concat());
        let fields = map(&[("etag", "\"v1\""), ("content-type", "text/plain")]);
        let (status, headers, out) = answer(
            &Method::GET,
            &get_range("bytes=0-9,590-599"),
            &fields,
            &held,
            &body,
        )
        .unwrap();
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert!(!headers.contains_key("content-range"));
        let text = String::from_utf8(out.to_vec()).unwrap();
        assert!(text.contains("content-range: bytes 0-9/1000\r\n\r\naaaaaaaaaa"));
        assert!(text.contains("content-range: bytes 590-599/1000\r\n\r\nbbbbbbbbbb"));
        // A stored body shorter than the ranges say answers nothing.
        assert!(
            answer(
                &Method::GET,
                &get_range("bytes=0-9"),
                &fields,
                &held,
                &body.slice(..150)
            )
            .is_none()
        );
    }

    proptest::proptest! {
        /// Whatever parts arrive, in whatever order, the stored bytes are
        /// the representation's, and all of it makes a complete 200.
        #[test]
        fn rfc9111_3_4_combined_parts_hold_the_representation(
            len in 1u64..64,
            parts in proptest::collection::vec((0u64..64, 0u64..64), 1..8),
        ) {
            let data: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut stored: Option<StoredResponse> = None;
            let mut covered = vec![false; len as usize];
            for (i, (a, b)) in parts.into_iter().enumerate() {
                let (first, last) = (a.min(b) % len, a.max(b) % len);
                let (first, last) = (first.min(last), first.max(last));
                let bytes = Bytes::copy_from_slice(&data[first as usize..=last as usize]);
                let mut part = received(&format!("bytes {first}-{last}/{len}"), "\"v\"", "", i as u64);
                part.body = bytes;
                part.headers.remove("content-length");
                let next = combine(part, stored.as_ref(), &HeaderMap::new()).unwrap();
                covered[first as usize..=last as usize].fill(true);
                match &next.partial {
                    None => {
                        proptest::prop_assert!(covered.iter().all(|c| *c));
                        proptest::prop_assert_eq!(&next.body[..], &data[..]);
                        proptest::prop_assert_eq!(next.status, StatusCode::OK);
                    }
                    Some(p) => {
                        proptest::prop_assert!(!covered.iter().all(|c| *c));
                        let mut offset = 0usize;
                        for r in p.ranges() {
                            let n = r.len() as usize;
                            proptest::prop_assert_eq!(
                                &next.body[offset..offset + n],
                                &data[r.first as usize..=r.last as usize]
                            );
                            proptest::prop_assert!(
                                covered[r.first as usize..=r.last as usize].iter().all(|c| *c)
                            );
                            offset += n;
                        }
                        proptest::prop_assert_eq!(offset, next.body.len());
                        proptest::prop_assert_eq!(
                            p.stored_len() as usize,
                            covered.iter().filter(|c| **c).count()
                        );
                    }
                }
                stored = Some(next);
            }
        }
    }

    #[test]
    fn partial_content_keeps_its_invariants() {
        assert!(PartialContent::new(10, vec![]).is_none());
        assert!(PartialContent::new(u64::MAX, vec![range(0, u64::MAX)]).is_none());
        assert!(PartialContent::new(u64::MAX, vec![range(5, 3)]).is_none());
        let huge = PartialContent::new(u64::MAX, vec![range(0, u64::MAX - 1)]).unwrap();
        assert_eq!(huge.stored_len(), u64::MAX);
        assert!(PartialContent::new(10, vec![range(0, 10)]).is_none());
        assert!(PartialContent::new(10, vec![range(3, 4), range(0, 1)]).is_none());
        // Adjacent ranges are one range.
        assert!(PartialContent::new(10, vec![range(0, 1), range(2, 3)]).is_none());
        assert!(PartialContent::new(10, vec![range(0, 1), range(3, 3)]).is_some());
        let p = PartialContent::new(10, vec![range(0, 1), range(5, 8)]).unwrap();
        assert_eq!(p.stored_len(), 6);
        assert_eq!(p.offset_of(range(6, 7)), Some(3));
        assert_eq!(p.offset_of(range(1, 5)), None);
        assert!(!p.is_complete());
        assert!(
            PartialContent::new(2, vec![range(0, 1)])
                .unwrap()
                .is_complete()
        );
    }
}

//! The versioned binary encoding of what the cache stores.
//!
//! Every value starts with the magic `WC`, a format version byte and a kind
//! byte (`R` representation, `M` metadata). Integers are big-endian; byte
//! strings are length-prefixed; header names and values are kept as bytes,
//! so values that are not UTF-8 survive, and repeated fields (Set-Cookie)
//! keep every line in order. Decoding checks every length and never panics:
//! anything that does not decode is a miss.
//!
//! Format version 1, representation (a complete response):
//! ```text
//! "WC" 0x01 'R'
//! status u16 | flags u8 | request_time u64 ms | response_time u64 ms | salt u64
//! uri: u32 len, bytes
//! selecting: u16 count, each { name: u16 len, bytes; present u8; value: u32 len, bytes }
//! headers: u32 count, each { name: u16 len, bytes; value: u32 len, bytes }
//! body: u64 len, bytes (to the end)
//! ```
//! Format version 2, representation (an incomplete response, RFC 9111
//! §3.3): format 1 with the ranges held between the headers and the body,
//! which holds their bytes one range after another:
//! ```text
//! "WC" 0x02 'R'
//! … as format 1, up to and including the headers …
//! complete_length u64 | ranges: u32 count, each { first u64; last u64 }
//! body: u64 len, bytes (to the end)
//! ```
//! Format version 3, representation: format 2 for an incomplete response
//! that must never be combined with another part
//! ([`PartialContent::uncombinable`]), marked by bit 1 of `flags` (bit 0
//! is `invalidated` in every format). Written only for such responses, so
//! that a release reading formats 1 and 2 misses on them rather than
//! combining them.
//!
//! Format version 4, representation: a response that records purge
//! [`Generations`] or carries tags (see [`crate::purge`]); the other
//! formats' fields, with these after the salt:
//! ```text
//! "WC" 0x04 'R'
//! status u16 | flags u8 | request_time u64 ms | response_time u64 ms | salt u64
//! resource_hard u64 | resource_soft u64 | global_hard u64 | global_soft u64
//! tags: u16 count, each { u16 len, bytes }
//! … uri, selecting, headers as format 1 …
//! if bit 2 of flags (incomplete): complete_length and ranges as format 2
//! body: u64 len, bytes (to the end)
//! ```
//! Bit 1 of `flags` (uncombinable) needs bit 2. Written only when there is
//! something to record (a purge happened, or the response has tags), so
//! that a cache that never purges keeps writing formats 1 to 3.
//!
//! Metadata, format 1:
//! ```text
//! "WC" 0x01 'M' | salt u64 | expires_at u64 s | vary: u16 count, each { u16 len, bytes }
//! ```
//! Metadata, format 2 (a resource that varies, with the entity tags of its
//! stored variants, RFC 9111 §4.3.1): format 1 followed by
//! ```text
//! variants: u32 len, bytes: entries, each { digest 16 bytes; etag: u16 len, bytes }
//! ```
//! written only when there are variants to remember, so that metadata of
//! resources that do not vary stays in format 1.
//!
//! This release reads formats 1 to 4 of representations and 1 and 2
//! of metadata. It writes formats 2 and 3 only for incomplete responses
//! and metadata format 2 only for resources with remembered variants, and
//! everything else in format 1, so that a release reading only format 1
//! still reads every complete response and the metadata of every resource
//! that does not vary (and misses on the rest).

use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::DecodeError;
use crate::headers::{from_unix_millis, unix_millis};
use crate::key::{Metadata, SelectingField, Variants};
use crate::partial::PartialContent;
use crate::purge::{Generations, Verdict};
use crate::range::ByteRange;

const MAGIC: &[u8; 2] = b"WC";
/// The format version of incomplete responses that may be combined
/// (complete responses and metadata are written in [`FORMAT_1`]).
pub const FORMAT_VERSION: u8 = 2;
/// The newest format version this release writes: an incomplete response
/// never to be combined.
pub const FORMAT_3: u8 = 3;
/// Bit 1 of `flags`, in format 3: the part is not combinable.
const FLAG_UNCOMBINABLE: u8 = 2;
/// The first format version, still written for complete responses and
/// metadata, and read.
pub const FORMAT_1: u8 = 1;
/// The format of representations that record purge generations or tags.
pub const FORMAT_4: u8 = 4;
/// Bit 2 of `flags`, in format 4: an incomplete response.
const FLAG_PARTIAL: u8 = 4;
const KIND_REPRESENTATION: u8 = b'R';
const KIND_METADATA: u8 = b'M';

/// A stored response: what the origin sent (minus the fields a cache must not
/// store) and when, plus what selects it.
///
/// Built with [`StoredResponse::new`] (or decoded); more fields may be
/// added (`#[non_exhaustive]`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoredResponse {
    /// The status code.
    pub status: StatusCode,
    /// The stored header fields, every line in order. An incomplete
    /// response has the fields of the 200 it is part of, without
    /// Content-Range and Content-Length.
    pub headers: HeaderMap,
    /// The body: the whole representation data, or for an incomplete
    /// response the bytes of [`partial`](Self::partial)'s ranges, one after
    /// another.
    pub body: Bytes,
    /// When the request that fetched it was sent (RFC 9111 §4.2.3).
    pub request_time: SystemTime,
    /// When the response was received (RFC 9111 §4.2.3).
    pub response_time: SystemTime,
    /// The effective request URI it answers.
    pub uri: String,
    /// The selecting request fields and their normalised values (RFC 9111
    /// §4.1).
    pub selecting: Vec<SelectingField>,
    /// The resource salt it was written under (see
    /// [`Metadata`]).
    pub salt: u64,
    /// Set when the response must be validated before any reuse (it was
    /// invalidated, RFC 9111 §4.4, or a HEAD showed it changed, §4.3.5).
    pub invalidated: bool,
    /// For an incomplete response (a stored 206, RFC 9111 §3.3), which
    /// ranges of the representation the body holds; `None` for a complete
    /// response. See [`crate::partial`].
    pub partial: Option<PartialContent>,
    /// The purge generations its request saw when it was looked up
    /// ([`crate::purge`]).
    pub generations: Generations,
    /// Its tags, read from the response's tag fields when it was stored
    /// (the fields themselves are not stored unless
    /// [`Config::keep_tags`](crate::Config::keep_tags)).
    pub tags: Vec<String>,
    /// What purges did to it, found by the lookup and never stored:
    /// [`Verdict::Stale`] cuts its freshness
    /// ([`purged_lifetime`](crate::purge::purged_lifetime)).
    pub purged: Verdict,
}

impl StoredResponse {
    /// A complete response received at `response_time` for a request sent
    /// at `request_time`, answering `uri`, selected by no request field,
    /// under salt 0, not invalidated.
    pub fn new(
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        request_time: SystemTime,
        response_time: SystemTime,
        uri: impl Into<String>,
    ) -> StoredResponse {
        StoredResponse {
            status,
            headers,
            body,
            request_time,
            response_time,
            uri: uri.into(),
            selecting: Vec::new(),
            salt: 0,
            invalidated: false,
            partial: None,
            generations: Generations::default(),
            tags: Vec::new(),
            purged: Verdict::Valid,
        }
    }

    /// The length of the whole representation: the body's, or for an
    /// incomplete response the complete length its parts declared.
    pub fn representation_len(&self) -> u64 {
        self.partial
            .as_ref()
            .map_or(self.body.len() as u64, PartialContent::complete_length)
    }

    /// Encodes in format 1, or in format 2 for an incomplete response.
    pub fn encode(&self) -> Bytes {
        let header_bytes: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 6)
            .sum();
        let range_bytes = self
            .partial
            .as_ref()
            .map_or(0, |p| 12 + 16 * p.ranges().len());
        let mut out = BytesMut::with_capacity(
            64 + self.uri.len() + header_bytes + range_bytes + self.body.len(),
        );
        let uncombinable = self.partial.as_ref().is_some_and(|p| !p.is_combinable());
        let format_4 = !self.generations.is_zero() || !self.tags.is_empty();
        out.put_slice(MAGIC);
        out.put_u8(match &self.partial {
            _ if format_4 => FORMAT_4,
            None => FORMAT_1,
            Some(_) if uncombinable => FORMAT_3,
            Some(_) => FORMAT_VERSION,
        });
        out.put_u8(KIND_REPRESENTATION);
        out.put_u16(self.status.as_u16());
        let uncombinable_flag = if uncombinable { FLAG_UNCOMBINABLE } else { 0 };
        let partial_flag = if format_4 && self.partial.is_some() {
            FLAG_PARTIAL
        } else {
            0
        };
        out.put_u8(u8::from(self.invalidated) | uncombinable_flag | partial_flag);
        out.put_u64(unix_millis(self.request_time));
        out.put_u64(unix_millis(self.response_time));
        out.put_u64(self.salt);
        if format_4 {
            self.put_purge_fields(&mut out);
        }
        put_bytes32(&mut out, self.uri.as_bytes());
        out.put_u16(u16::try_from(self.selecting.len()).unwrap_or(u16::MAX));
        for (name, value) in self.selecting.iter().take(usize::from(u16::MAX)) {
            put_bytes16(&mut out, name.as_str().as_bytes());
            match value {
                None => {
                    out.put_u8(0);
                    out.put_u32(0);
                }
                Some(v) => {
                    out.put_u8(1);
                    put_bytes32(&mut out, v);
                }
            }
        }
        out.put_u32(u32::try_from(self.headers.len()).unwrap_or(u32::MAX));
        for (name, value) in &self.headers {
            put_bytes16(&mut out, name.as_str().as_bytes());
            put_bytes32(&mut out, value.as_bytes());
        }
        if let Some(partial) = &self.partial {
            out.put_u64(partial.complete_length());
            out.put_u32(u32::try_from(partial.ranges().len()).unwrap_or(u32::MAX));
            for range in partial.ranges().iter().take(u32::MAX as usize) {
                out.put_u64(range.first);
                out.put_u64(range.last);
            }
        }
        out.put_u64(self.body.len() as u64);
        out.put_slice(&self.body);
        out.freeze()
    }

    /// The generations and tags of format 4.
    fn put_purge_fields(&self, out: &mut BytesMut) {
        let g = &self.generations;
        for n in [
            g.resource_hard,
            g.resource_soft,
            g.global_hard,
            g.global_soft,
        ] {
            out.put_u64(n);
        }
        let tags = &self.tags[..self.tags.len().min(usize::from(u16::MAX))];
        out.put_u16(tags.len() as u16);
        for tag in tags {
            put_bytes16(out, tag.as_bytes());
        }
    }

    /// Decodes what [`encode`](Self::encode) wrote, in format 1, 2, 3 or
    /// 4. The body and header values share `bytes` rather than copying
    /// them.
    pub fn decode(bytes: Bytes) -> Result<StoredResponse, DecodeError> {
        let mut r = Reader::new(&bytes);
        let version = r.header(
            KIND_REPRESENTATION,
            &[FORMAT_1, FORMAT_VERSION, FORMAT_3, FORMAT_4],
        )?;
        let status = StatusCode::from_u16(r.u16()?).map_err(|_| DecodeError::Invalid("status"))?;
        let flags = r.u8()?;
        let request_time = from_unix_millis(r.u64()?);
        let response_time = from_unix_millis(r.u64()?);
        let salt = r.u64()?;
        let (generations, tags) = match version {
            FORMAT_4 => read_purge_fields(&mut r)?,
            _ => (Generations::default(), Vec::new()),
        };
        let uri =
            String::from_utf8(r.bytes32()?.to_vec()).map_err(|_| DecodeError::Invalid("uri"))?;
        let n_selecting = r.u16()?;
        let mut selecting = Vec::with_capacity(usize::from(n_selecting).min(64));
        for _ in 0..n_selecting {
            let name = HeaderName::from_bytes(r.bytes16()?)
                .map_err(|_| DecodeError::Invalid("selecting name"))?;
            let present = r.u8()?;
            let value = r.bytes32()?;
            selecting.push((name, (present == 1).then(|| value.to_vec())));
        }
        let n_headers = r.u32()?;
        let mut headers =
            HeaderMap::with_capacity(usize::try_from(n_headers).unwrap_or(0).min(256));
        for _ in 0..n_headers {
            let name = HeaderName::from_bytes(r.bytes16()?)
                .map_err(|_| DecodeError::Invalid("header name"))?;
            let (start, end) = r.span32()?;
            let value = HeaderValue::from_maybe_shared(bytes.slice(start..end))
                .map_err(|_| DecodeError::Invalid("header value"))?;
            headers.append(name, value);
        }
        let partial = match version {
            FORMAT_1 => None,
            FORMAT_VERSION => Some(read_partial(&mut r)?),
            FORMAT_4 => read_partial_4(&mut r, flags)?,
            _ if flags & FLAG_UNCOMBINABLE == 0 => {
                return Err(DecodeError::Invalid("format 3 without its flag"));
            }
            _ => Some(read_partial(&mut r)?.uncombinable()),
        };
        let body_len = usize::try_from(r.u64()?).map_err(|_| DecodeError::Truncated)?;
        let (start, end) = r.span(body_len)?;
        if end != bytes.len() {
            return Err(DecodeError::Invalid("trailing bytes"));
        }
        if partial
            .as_ref()
            .is_some_and(|p| p.stored_len() != body_len as u64)
        {
            return Err(DecodeError::Invalid("body length of the ranges"));
        }
        Ok(StoredResponse {
            status,
            headers,
            body: bytes.slice(start..end),
            request_time,
            response_time,
            uri,
            selecting,
            salt,
            invalidated: flags & 1 == 1,
            partial,
            generations,
            tags,
            purged: Verdict::Valid,
        })
    }
}

/// The generations and tags of format 4.
fn read_purge_fields(r: &mut Reader<'_>) -> Result<(Generations, Vec<String>), DecodeError> {
    let generations = Generations {
        resource_hard: r.u64()?,
        resource_soft: r.u64()?,
        global_hard: r.u64()?,
        global_soft: r.u64()?,
    };
    let n = r.u16()?;
    let mut tags = Vec::with_capacity(usize::from(n).min(crate::purge::MAX_TAGS));
    for _ in 0..n {
        let tag = std::str::from_utf8(r.bytes16()?).map_err(|_| DecodeError::Invalid("tag"))?;
        tags.push(tag.to_owned());
    }
    Ok((generations, tags))
}

/// The ranges of a format 4 representation, as its flags say.
fn read_partial_4(r: &mut Reader<'_>, flags: u8) -> Result<Option<PartialContent>, DecodeError> {
    match (flags & FLAG_PARTIAL != 0, flags & FLAG_UNCOMBINABLE != 0) {
        (false, false) => Ok(None),
        (false, true) => Err(DecodeError::Invalid("uncombinable without ranges")),
        (true, false) => Ok(Some(read_partial(r)?)),
        (true, true) => Ok(Some(read_partial(r)?.uncombinable())),
    }
}

/// The ranges of an incomplete response (format 2); out of line, off the
/// path of complete responses.
#[cold]
#[inline(never)]
fn read_partial(r: &mut Reader<'_>) -> Result<PartialContent, DecodeError> {
    let complete_length = r.u64()?;
    let n_ranges = r.u32()?;
    let mut ranges = Vec::with_capacity(usize::try_from(n_ranges).unwrap_or(0).min(1024));
    for _ in 0..n_ranges {
        let first = r.u64()?;
        let last = r.u64()?;
        if last < first {
            return Err(DecodeError::Invalid("range"));
        }
        ranges.push(ByteRange { first, last });
    }
    PartialContent::new(complete_length, ranges).ok_or(DecodeError::Invalid("ranges"))
}

impl Metadata {
    /// Encodes in format 1, or in format 2 when there are variants.
    pub fn encode(&self) -> Bytes {
        let variants = self.variants.encoded();
        let mut out = BytesMut::with_capacity(30 + self.vary.len() * 20 + variants.len());
        out.put_slice(MAGIC);
        out.put_u8(if variants.is_empty() {
            FORMAT_1
        } else {
            FORMAT_VERSION
        });
        out.put_u8(KIND_METADATA);
        out.put_u64(self.salt);
        out.put_u64(self.expires_at);
        out.put_u16(u16::try_from(self.vary.len()).unwrap_or(u16::MAX));
        for name in self.vary.iter().take(usize::from(u16::MAX)) {
            put_bytes16(&mut out, name.as_str().as_bytes());
        }
        if !variants.is_empty() {
            // Variants are whole entries; a list too long to frame is
            // dropped rather than cut mid-entry.
            let variants = if variants.len() > u32::MAX as usize {
                &[][..]
            } else {
                variants
            };
            put_bytes32(&mut out, variants);
        }
        out.freeze()
    }

    /// Decodes what [`encode`](Self::encode) wrote, in format 1 or 2,
    /// copying the variants; [`decode_bytes`](Self::decode_bytes) keeps
    /// them in the value instead.
    pub fn decode(bytes: &[u8]) -> Result<Metadata, DecodeError> {
        Self::decode_bytes(Bytes::copy_from_slice(bytes))
    }

    /// [`decode`](Self::decode) of a value the caller gives up: the
    /// variants are left in it, read only if asked for, so that decoding
    /// costs no copy and no allocation for them (what a lookup uses).
    pub fn decode_bytes(bytes: Bytes) -> Result<Metadata, DecodeError> {
        let mut r = Reader::new(&bytes);
        let version = r.header(KIND_METADATA, &[FORMAT_1, FORMAT_VERSION])?;
        let salt = r.u64()?;
        let expires_at = r.u64()?;
        let n = r.u16()?;
        let mut vary = Vec::with_capacity(usize::from(n).min(64));
        for _ in 0..n {
            vary.push(
                HeaderName::from_bytes(r.bytes16()?)
                    .map_err(|_| DecodeError::Invalid("vary name"))?,
            );
        }
        let variants = match version {
            FORMAT_1 => None,
            _ => Some(r.span32()?),
        };
        if r.pos != bytes.len() {
            return Err(DecodeError::Invalid("trailing bytes"));
        }
        let variants = match variants {
            None => Variants::default(),
            Some((start, end)) if end > start => Variants::from_raw(bytes, start),
            Some(_) => return Err(DecodeError::Invalid("format 2 metadata without variants")),
        };
        Ok(Metadata {
            salt,
            vary,
            expires_at,
            variants,
        })
    }
}

fn put_bytes16(out: &mut BytesMut, b: &[u8]) {
    // Header names are short; longer ones are cut rather than mis-framed.
    let b = &b[..b.len().min(usize::from(u16::MAX))];
    out.put_u16(b.len() as u16);
    out.put_slice(b);
}

fn put_bytes32(out: &mut BytesMut, b: &[u8]) {
    let b = &b[..b.len().min(u32::MAX as usize)];
    out.put_u32(b.len() as u32);
    out.put_slice(b);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn span(&mut self, len: usize) -> Result<(usize, usize), DecodeError> {
        let end = self.pos.checked_add(len).ok_or(DecodeError::Truncated)?;
        if end > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        let start = self.pos;
        self.pos = end;
        Ok((start, end))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        let (s, e) = self.span(len)?;
        Ok(&self.buf[s..e])
    }

    /// Reads the magic, a version among `versions` and `kind`; returns the
    /// version.
    fn header(&mut self, kind: u8, versions: &[u8]) -> Result<u8, DecodeError> {
        if self.take(2).map_err(|_| DecodeError::BadMagic)? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = self.u8()?;
        if !versions.contains(&version) {
            return Err(DecodeError::UnknownVersion(version));
        }
        if self.u8()? != kind {
            return Err(DecodeError::Invalid("kind"));
        }
        Ok(version)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn bytes16(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }
    fn span32(&mut self) -> Result<(usize, usize), DecodeError> {
        let len = self.u32()?;
        self.span(usize::try_from(len).map_err(|_| DecodeError::Truncated)?)
    }
    fn bytes32(&mut self) -> Result<&'a [u8], DecodeError> {
        let (s, e) = self.span32()?;
        Ok(&self.buf[s..e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Variant;
    use std::time::{Duration, UNIX_EPOCH};

    fn sample() -> StoredResponse {
        let mut headers = HeaderMap::new();
        headers.append("set-cookie", HeaderValue::from_static("a=1"));
        headers.append("set-cookie", HeaderValue::from_static("b=2"));
        headers.insert("x-bin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"hello"),
            request_time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            response_time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_456),
            uri: "http://example.com/a".into(),
            selecting: vec![
                (
                    HeaderName::from_static("accept-encoding"),
                    Some(b"gzip".to_vec()),
                ),
                (HeaderName::from_static("accept-language"), None),
            ],
            salt: 42,
            invalidated: false,
            partial: None,
            generations: Generations::default(),
            tags: Vec::new(),
            purged: Verdict::Valid,
        }
    }

    /// An incomplete response: bytes 0-1 and 5-7 of 10.
    fn incomplete_sample() -> StoredResponse {
        StoredResponse {
            body: Bytes::from_static(b"01567"),
            partial: PartialContent::new(
                10,
                vec![
                    ByteRange { first: 0, last: 1 },
                    ByteRange { first: 5, last: 7 },
                ],
            ),
            invalidated: true,
            ..sample()
        }
    }

    #[test]
    fn round_trips_binary_and_repeated_headers() {
        let s = sample();
        let decoded = StoredResponse::decode(s.encode()).unwrap();
        assert_eq!(decoded, s);
        let cookies: Vec<_> = decoded.headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, vec!["a=1", "b=2"]);
        assert_eq!(decoded.headers["x-bin"].as_bytes(), b"caf\xe9");
    }

    #[test]
    fn rfc9111_3_3_incomplete_responses_round_trip_in_format_2() {
        let s = incomplete_sample();
        let bytes = s.encode();
        assert_eq!(bytes[2], 2);
        assert_eq!(StoredResponse::decode(bytes).unwrap(), s);
        // Complete responses are still written in format 1.
        assert_eq!(sample().encode()[2], 1);
    }

    #[test]
    fn format_2_ranges_that_disagree_with_the_body_are_rejected() {
        let mut s = incomplete_sample();
        s.body = Bytes::from_static(b"0156");
        assert_eq!(
            StoredResponse::decode(s.encode()),
            Err(DecodeError::Invalid("body length of the ranges"))
        );
        // Ranges out of order: edit the first range's bytes in place.
        let mut v = incomplete_sample().encode().to_vec();
        let ranges_at = v.len() - 8 - 5 - 32;
        v[ranges_at + 7] = 6; // first 6, last 1
        assert_eq!(
            StoredResponse::decode(Bytes::from(v)),
            Err(DecodeError::Invalid("range"))
        );
    }

    #[test]
    fn metadata_round_trips() {
        let m = Metadata::with_salt(7, vec![HeaderName::from_static("accept")], 99);
        assert_eq!(Metadata::decode(&m.encode()).unwrap(), m);
        assert_eq!(m.encode()[2], FORMAT_1);
    }

    fn varying_metadata() -> Metadata {
        let mut m = Metadata::with_salt(7, vec![HeaderName::from_static("accept")], 99);
        m.variants = Variants::new(&[
            Variant {
                digest: [1; 16],
                etag: HeaderValue::from_static("\"a\""),
            },
            Variant {
                digest: [2; 16],
                etag: HeaderValue::from_static("W/\"b\""),
            },
        ]);
        m
    }

    #[test]
    fn rfc9111_4_3_1_metadata_with_variants_round_trips_in_format_2() {
        let m = varying_metadata();
        let bytes = m.encode();
        assert_eq!(bytes[2], FORMAT_VERSION);
        assert_eq!(Metadata::decode(&bytes).unwrap(), m);
        assert_eq!(Metadata::decode_bytes(bytes.clone()).unwrap(), m);
        assert_eq!(m.variants.to_vec().len(), 2);
        for len in 0..bytes.len() {
            assert!(Metadata::decode(&bytes[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn reads_metadata_written_by_format_1_and_format_2() {
        let v1 = Metadata::with_salt(5, vec![HeaderName::from_static("a")], 3);
        assert_eq!(v1.encode().as_ref(), METADATA_1_FIXTURE);
        assert_eq!(Metadata::decode(METADATA_1_FIXTURE).unwrap(), v1);
        let mut v2 = v1.clone();
        v2.variants = Variants::new(&[Variant {
            digest: [9; 16],
            etag: HeaderValue::from_static("\"e\""),
        }]);
        assert_eq!(v2.encode().as_ref(), METADATA_2_FIXTURE);
        assert_eq!(Metadata::decode(METADATA_2_FIXTURE).unwrap(), v2);
        // Format 2 always has variants.
        let mut empty = METADATA_1_FIXTURE.to_vec();
        empty[2] = 2;
        empty.extend([0, 0, 0, 0]);
        assert!(Metadata::decode(&empty).is_err());
    }

    const METADATA_1_FIXTURE: &[u8] = &[
        b'W', b'C', 1, b'M', // magic, version, kind
        0, 0, 0, 0, 0, 0, 0, 5, // salt
        0, 0, 0, 0, 0, 0, 0, 3, // expires_at
        0, 1, 0, 1, b'a', // vary: a
    ];

    const METADATA_2_FIXTURE: &[u8] = &[
        b'W', b'C', 2, b'M', // magic, version, kind
        0, 0, 0, 0, 0, 0, 0, 5, // salt
        0, 0, 0, 0, 0, 0, 0, 3, // expires_at
        0, 1, 0, 1, b'a', // vary: a
        0, 0, 0, 21, // variants: 21 bytes
        9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, // the digest
        0, 3, b'"', b'e', b'"', // the etag
    ];

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        for bytes in [sample().encode(), incomplete_sample().encode()] {
            for len in 0..bytes.len() {
                assert!(
                    StoredResponse::decode(bytes.slice(..len)).is_err(),
                    "len {len}"
                );
            }
        }
        let meta = Metadata::with_salt(1, vec![HeaderName::from_static("a")], 2).encode();
        for len in 0..meta.len() {
            assert!(Metadata::decode(&meta[..len]).is_err());
        }
    }

    #[test]
    fn unknown_version_and_kind_are_rejected() {
        let mut v = sample().encode().to_vec();
        v[2] = 0;
        assert_eq!(
            StoredResponse::decode(Bytes::from(v.clone())),
            Err(DecodeError::UnknownVersion(0))
        );
        v[2] = FORMAT_4 + 1;
        assert_eq!(
            StoredResponse::decode(Bytes::from(v.clone())),
            Err(DecodeError::UnknownVersion(FORMAT_4 + 1))
        );
        v[2] = FORMAT_1;
        v[3] = b'M';
        assert!(StoredResponse::decode(Bytes::from(v)).is_err());
        // Metadata exists in formats 1 and 2 only.
        let mut m = Metadata::new(vec![], 1).encode().to_vec();
        m[2] = FORMAT_3;
        assert_eq!(
            Metadata::decode(&m),
            Err(DecodeError::UnknownVersion(FORMAT_3))
        );
        assert_eq!(
            StoredResponse::decode(Bytes::from_static(b"garbage")),
            Err(DecodeError::BadMagic)
        );
    }

    /// Bytes written by format version 1, checked in so that a change of the
    /// encoding that breaks reading old entries fails here.
    #[test]
    fn reads_entries_written_by_format_1() {
        let mut headers = HeaderMap::new();
        headers.insert("etag", HeaderValue::from_static("\"1\""));
        let expected = StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"hi"),
            request_time: UNIX_EPOCH + Duration::from_millis(1000),
            response_time: UNIX_EPOCH + Duration::from_millis(2000),
            uri: "http://a.test/x/".into(),
            selecting: vec![],
            salt: 5,
            invalidated: false,
            partial: None,
            generations: Generations::default(),
            tags: Vec::new(),
            purged: Verdict::Valid,
        };
        assert_eq!(expected.encode().as_ref(), FORMAT_1_FIXTURE);
        assert_eq!(
            StoredResponse::decode(Bytes::from_static(FORMAT_1_FIXTURE)).unwrap(),
            expected
        );
    }

    const FORMAT_1_FIXTURE: &[u8] = &[
        b'W', b'C', 1, b'R', // magic, version, kind
        0, 200, // status
        0,   // flags
        0, 0, 0, 0, 0, 0, 0x03, 0xe8, // request_time 1000 ms
        0, 0, 0, 0, 0, 0, 0x07, 0xd0, // response_time 2000 ms
        0, 0, 0, 0, 0, 0, 0, 5, // salt
        0, 0, 0, 16, b'h', b't', b't', b'p', b':', b'/', b'/', b'a', b'.', b't', b'e', b's', b't',
        b'/', b'x', b'/', // uri
        0, 0, // selecting count
        0, 0, 0, 1, // header count
        0, 4, b'e', b't', b'a', b'g', 0, 0, 0, 3, b'"', b'1', b'"', // etag: "1"
        0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i', // body
    ];

    /// Bytes written by format version 2 (an incomplete response), checked
    /// in for the same reason.
    #[test]
    fn reads_entries_written_by_format_2() {
        let mut headers = HeaderMap::new();
        headers.insert("etag", HeaderValue::from_static("\"1\""));
        let expected = StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"hi"),
            request_time: UNIX_EPOCH + Duration::from_millis(1000),
            response_time: UNIX_EPOCH + Duration::from_millis(2000),
            uri: "http://a.test/x/".into(),
            selecting: vec![],
            salt: 5,
            invalidated: false,
            partial: PartialContent::new(10, vec![ByteRange { first: 3, last: 4 }]),
            generations: Generations::default(),
            tags: Vec::new(),
            purged: Verdict::Valid,
        };
        assert_eq!(expected.encode().as_ref(), FORMAT_2_FIXTURE);
        assert_eq!(
            StoredResponse::decode(Bytes::from_static(FORMAT_2_FIXTURE)).unwrap(),
            expected
        );
    }

    #[test]
    fn rfc9111_3_4_uncombinable_parts_round_trip_in_format_3() {
        let stored = StoredResponse {
            partial: incomplete_sample()
                .partial
                .map(PartialContent::uncombinable),
            ..incomplete_sample()
        };
        let bytes = stored.encode();
        assert_eq!(&bytes[..4], b"WC\x03R");
        // Bit 0 is still `invalidated`.
        assert_eq!(bytes[6], 0b11);
        assert_eq!(StoredResponse::decode(bytes).unwrap(), stored);
        // Combinable parts stay in format 2, readable by older releases.
        assert_eq!(incomplete_sample().encode()[2], FORMAT_VERSION);
    }

    #[test]
    fn format_3_reads_its_fixture_and_needs_its_flag() {
        let expected = StoredResponse {
            partial: PartialContent::new(10, vec![ByteRange { first: 3, last: 4 }])
                .map(PartialContent::uncombinable),
            ..format_2_expected()
        };
        let mut fixture = FORMAT_2_FIXTURE.to_vec();
        fixture[2] = 3;
        fixture[6] = FLAG_UNCOMBINABLE;
        assert_eq!(expected.encode().as_ref(), fixture.as_slice());
        assert_eq!(
            StoredResponse::decode(Bytes::from(fixture.clone())).unwrap(),
            expected
        );
        // Format 3 without its flag does not decode.
        fixture[6] = 0;
        assert!(StoredResponse::decode(Bytes::from(fixture)).is_err());
    }

    fn format_2_expected() -> StoredResponse {
        let mut headers = HeaderMap::new();
        headers.insert("etag", HeaderValue::from_static("\"1\""));
        StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::from_static(b"hi"),
            request_time: UNIX_EPOCH + Duration::from_millis(1000),
            response_time: UNIX_EPOCH + Duration::from_millis(2000),
            uri: "http://a.test/x/".into(),
            selecting: vec![],
            salt: 5,
            invalidated: false,
            partial: PartialContent::new(10, vec![ByteRange { first: 3, last: 4 }]),
            generations: Generations::default(),
            tags: Vec::new(),
            purged: Verdict::Valid,
        }
    }

    fn format_4_expected() -> StoredResponse {
        StoredResponse {
            partial: None,
            generations: Generations {
                resource_hard: 1,
                resource_soft: 2,
                global_hard: 3,
                global_soft: 4,
            },
            tags: vec!["t".into()],
            ..format_2_expected()
        }
    }

    /// Bytes written by format version 4 (purge generations and tags),
    /// checked in for the same reason.
    #[test]
    fn reads_entries_written_by_format_4() {
        let expected = format_4_expected();
        assert_eq!(expected.encode().as_ref(), FORMAT_4_FIXTURE);
        assert_eq!(
            StoredResponse::decode(Bytes::from_static(FORMAT_4_FIXTURE)).unwrap(),
            expected
        );
        for len in 0..FORMAT_4_FIXTURE.len() {
            assert!(StoredResponse::decode(Bytes::from_static(&FORMAT_4_FIXTURE[..len])).is_err());
        }
        // Uncombinable without ranges does not decode.
        let mut bad = FORMAT_4_FIXTURE.to_vec();
        bad[6] = FLAG_UNCOMBINABLE;
        assert!(StoredResponse::decode(Bytes::from(bad)).is_err());
    }

    #[test]
    fn format_4_carries_parts_and_their_flags_and_is_written_only_when_needed() {
        for partial in [
            format_2_expected().partial,
            format_2_expected()
                .partial
                .map(PartialContent::uncombinable),
        ] {
            let s = StoredResponse {
                partial,
                ..format_4_expected()
            };
            let bytes = s.encode();
            assert_eq!(bytes[2], FORMAT_4);
            assert_eq!(StoredResponse::decode(bytes).unwrap(), s);
        }
        // Tags alone are enough; nothing to record keeps the old formats.
        let tagged = StoredResponse {
            generations: Generations::default(),
            ..format_4_expected()
        };
        assert_eq!(tagged.encode()[2], FORMAT_4);
        assert_eq!(sample().encode()[2], FORMAT_1);
        // `purged` is never stored.
        let purged = StoredResponse {
            purged: Verdict::Stale { since: None },
            ..format_4_expected()
        };
        assert_eq!(
            StoredResponse::decode(purged.encode()).unwrap().purged,
            Verdict::Valid
        );
    }

    const FORMAT_4_FIXTURE: &[u8] = &[
        b'W', b'C', 4, b'R', // magic, version, kind
        0, 200, // status
        0,   // flags
        0, 0, 0, 0, 0, 0, 0x03, 0xe8, // request_time 1000 ms
        0, 0, 0, 0, 0, 0, 0x07, 0xd0, // response_time 2000 ms
        0, 0, 0, 0, 0, 0, 0, 5, // salt
        0, 0, 0, 0, 0, 0, 0, 1, // resource_hard
        0, 0, 0, 0, 0, 0, 0, 2, // resource_soft
        0, 0, 0, 0, 0, 0, 0, 3, // global_hard
        0, 0, 0, 0, 0, 0, 0, 4, // global_soft
        0, 1, 0, 1, b't', // tags: t
        0, 0, 0, 16, b'h', b't', b't', b'p', b':', b'/', b'/', b'a', b'.', b't', b'e', b's', b't',
        b'/', b'x', b'/', // uri
        0, 0, // selecting count
        0, 0, 0, 1, // header count
        0, 4, b'e', b't', b'a', b'g', 0, 0, 0, 3, b'"', b'1', b'"', // etag: "1"
        0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i', // body
    ];

    const FORMAT_2_FIXTURE: &[u8] = &[
        b'W', b'C', 2, b'R', // magic, version, kind
        0, 200, // status
        0,   // flags
        0, 0, 0, 0, 0, 0, 0x03, 0xe8, // request_time 1000 ms
        0, 0, 0, 0, 0, 0, 0x07, 0xd0, // response_time 2000 ms
        0, 0, 0, 0, 0, 0, 0, 5, // salt
        0, 0, 0, 16, b'h', b't', b't', b'p', b':', b'/', b'/', b'a', b'.', b't', b'e', b's', b't',
        b'/', b'x', b'/', // uri
        0, 0, // selecting count
        0, 0, 0, 1, // header count
        0, 4, b'e', b't', b'a', b'g', 0, 0, 0, 3, b'"', b'1', b'"', // etag: "1"
        0, 0, 0, 0, 0, 0, 0, 10, // complete_length 10
        0, 0, 0, 1, // range count
        0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, // bytes 3-4
        0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i', // body: bytes 3-4
    ];
}

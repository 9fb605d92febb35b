//! Cache keys: the primary key of a resource (RFC 9111 §2: the target URI),
//! the secondary key of one representation (RFC 9111 §4.1: the request
//! fields nominated by Vary), and the per-resource [`Metadata`].
//!
//! ```
//! use http::Request;
//! use webcache_core::{Config, key::PrimaryKey};
//!
//! let req = Request::get("/a?b=1").header("host", "Example.COM:80").body(()).unwrap();
//! let (parts, _) = req.into_parts();
//! let key = PrimaryKey::from_request(&parts, &Config::default());
//! assert_eq!(key.uri(), "http://example.com/a?b=1");
//! ```

use std::cell::RefCell;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;

use crate::config::Config;
use crate::digests::{Memo, digest16};
use crate::headers::normalized_value;

/// Length of the digests that name resources and representations.
pub const DIGEST_LEN: usize = 16;

/// The key of a resource: its effective request URI (RFC 9110 §7.1) —
/// scheme, host, port, path and query — salted with the master salt.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrimaryKey {
    /// Shared by the clones a thread's recent keys hand out.
    uri: Arc<str>,
    digest: [u8; DIGEST_LEN],
}

/// Request targets' keys remembered per thread.
const RECENT_KEYS: usize = 256;

thread_local! {
    /// The keys of each thread's most recent request targets, by the
    /// target's parts as the request gave them: a hit on a hot resource
    /// then neither writes its URI again nor looks its digest up.
    static KEYS: RefCell<Memo<PrimaryKey>> = RefCell::new(Memo::new(RECENT_KEYS));
}

/// The digest naming the tag `tag` in the store: its index and marks
/// ([`Store::tag`](crate::store::Store::tag)), salted with the master salt
/// like every key.
pub fn tag_digest(config: &Config, tag: &str) -> [u8; DIGEST_LEN] {
    digest16(|d| {
        d.part(config.master_salt());
        d.part(b"tag");
        d.part(tag.as_bytes());
    })
}

/// The namespace of a cache's global purge record
/// ([`StoreKey::global`](crate::store::StoreKey::global)): a digest of the
/// master salt.
pub fn namespace(config: &Config) -> [u8; DIGEST_LEN] {
    digest16(|d| {
        d.part(config.master_salt());
        d.part(b"global");
    })
}

/// Appends `authority` to `out` with the host lower-cased and a port that
/// is `scheme`'s default dropped.
fn push_normalized_authority(out: &mut String, scheme: &str, authority: &str) {
    let start = out.len();
    out.push_str(authority.trim());
    out[start..].make_ascii_lowercase();
    let default_port = match scheme {
        "https" => ":443",
        _ => ":80",
    };
    let host = out[start..].strip_suffix(default_port);
    // Keep "[::1]:80" → "[::1]" correct and never strip from "host:8080".
    if let Some(host) = host.filter(|h| !h.is_empty() && !h.ends_with(':')) {
        out.truncate(start + host.len());
    }
}

impl PrimaryKey {
    /// The key of the request's target URI. The scheme comes from the
    /// request line or [`Config::default_scheme`]; the authority from the
    /// request line or the Host field.
    pub fn from_request(parts: &Parts, config: &Config) -> PrimaryKey {
        let scheme = parts
            .uri
            .scheme_str()
            .unwrap_or_else(|| config.default_scheme());
        let authority = match parts.uri.authority() {
            Some(a) => a.as_str(),
            None => parts
                .headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or(""),
        };
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .filter(|pq| !pq.is_empty())
            .unwrap_or("/");
        let compute = || Self::from_parts(scheme, authority, path_and_query, config);
        KEYS.try_with(|keys| {
            let mut keys = keys.try_borrow_mut().ok()?;
            let write = |input: &mut crate::digests::Input| {
                let target = [scheme, authority, path_and_query].map(str::as_bytes);
                input.part(config.master_salt());
                target.into_iter().for_each(|part| input.part(part));
            };
            Some(keys.get(write, |_| compute()))
        })
        .ok()
        .flatten()
        .unwrap_or_else(compute)
    }

    /// The key of an absolute URI such as `https://example.com/a?b`; `None`
    /// when `uri` is not absolute.
    pub fn from_uri(uri: &str, config: &Config) -> Option<PrimaryKey> {
        let parsed: http::Uri = uri.parse().ok()?;
        let pq = parsed
            .path_and_query()
            .map(|pq| pq.as_str())
            .filter(|pq| !pq.is_empty())
            .unwrap_or("/");
        let authority = parsed.authority()?.as_str();
        Some(Self::from_parts(
            parsed.scheme_str()?,
            authority,
            pq,
            config,
        ))
    }

    /// The key of `scheme://authority` + `path_and_query`, the scheme and
    /// host lower-cased, written into one string.
    fn from_parts(scheme: &str, authority: &str, path_and_query: &str, config: &Config) -> Self {
        let mut uri =
            String::with_capacity(scheme.len() + authority.len() + path_and_query.len() + 3);
        uri.push_str(scheme);
        uri.make_ascii_lowercase();
        let scheme = if uri == "https" { "https" } else { "" };
        uri.push_str("://");
        push_normalized_authority(&mut uri, scheme, authority);
        uri.push_str(path_and_query);
        let digest = digest16(|d| {
            d.part(config.master_salt());
            d.part(uri.as_bytes());
        });
        PrimaryKey {
            uri: uri.into(),
            digest,
        }
    }

    /// The normalised effective request URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The origin (scheme, host, port) of the URI (RFC 9110 §4.3.1).
    pub fn origin(&self) -> &str {
        let after_scheme = self.uri.find("://").map_or(0, |i| i + 3);
        let end = self.uri[after_scheme..]
            .find('/')
            .map_or(self.uri.len(), |i| after_scheme + i);
        &self.uri[..end]
    }

    /// The digest naming this resource in the store.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }
}

/// One selecting request field and its normalised value (`None` when the
/// request lacked it).
pub type SelectingField = (HeaderName, Option<Vec<u8>>);

/// The key of one representation of a resource: the normalised values of the
/// request fields its Vary names (RFC 9111 §4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryKey {
    digest: [u8; DIGEST_LEN],
    selecting: Vec<SelectingField>,
}

impl SecondaryKey {
    /// The key of the representation selected by `request` among those
    /// that vary on `vary`.
    pub fn new(primary: &PrimaryKey, vary: &[HeaderName], request: &HeaderMap) -> SecondaryKey {
        let selecting: Vec<SelectingField> = vary
            .iter()
            .map(|name| (name.clone(), normalized_value(request, name)))
            .collect();
        Self::from_selecting(primary, selecting)
    }

    /// The key for already-normalised selecting fields.
    pub fn from_selecting(primary: &PrimaryKey, selecting: Vec<SelectingField>) -> SecondaryKey {
        if selecting.is_empty() {
            // The common case: no Vary, one representation, no hashing.
            return SecondaryKey {
                digest: [0; DIGEST_LEN],
                selecting,
            };
        }
        let digest = digest16(|d| {
            d.part(primary.digest());
            for (name, value) in &selecting {
                d.part(name.as_str().as_bytes());
                match value {
                    // Absent and present-but-empty must differ.
                    None => d.part(b"\x00absent"),
                    Some(v) => {
                        d.part(b"\x01");
                        d.part(v);
                    }
                }
            }
        });
        SecondaryKey { digest, selecting }
    }

    /// The digest naming this representation in the store.
    pub fn digest(&self) -> &[u8; DIGEST_LEN] {
        &self.digest
    }

    /// The selecting fields and their normalised values.
    pub fn selecting(&self) -> &[SelectingField] {
        &self.selecting
    }

    /// Total bytes of the selecting values.
    pub fn selecting_len(&self) -> usize {
        self.selecting
            .iter()
            .map(|(n, v)| n.as_str().len() + v.as_ref().map_or(0, Vec::len))
            .sum()
    }
}

/// What the cache keeps per resource: the field names its stored responses
/// vary on and a salt. Stored representations carry the salt they were
/// written under; a different salt makes them unreachable, so replacing the
/// salt (or removing the metadata) invalidates every representation of the
/// resource at once.
///
/// Built with [`Metadata::new`] or [`Metadata::with_salt`]; more fields may
/// be added (`#[non_exhaustive]`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// The per-resource salt.
    pub salt: u64,
    /// The selecting field names of the most recently stored response.
    pub vary: Vec<HeaderName>,
    /// Seconds since the Unix epoch after which no representation written
    /// under this metadata is kept; the metadata lives as long.
    pub expires_at: u64,
    /// The stored representations of a resource that varies, most recently
    /// written first (at most [`MAX_VARIANTS`]): what a request that
    /// matches none of them validates with (RFC 9111 §4.3.1). Empty for a
    /// resource that does not vary.
    pub variants: Variants,
}

/// The variants [`Metadata`] remembers, kept as they are encoded and read
/// only when needed: a hit decodes the metadata of its resource but never
/// looks at them (see [`Variants::to_vec`]).
#[derive(Clone, Debug, Default)]
pub struct Variants {
    // The value the variants were decoded from, kept whole (moved, not
    // shared) so that a lookup pays nothing for them, and where they start.
    raw: Bytes,
    start: usize,
}

impl PartialEq for Variants {
    fn eq(&self, other: &Self) -> bool {
        self.encoded() == other.encoded()
    }
}

impl Eq for Variants {}

impl Variants {
    /// The variants `list`, in order (at most `u16::MAX` of them, each
    /// entity tag cut to `u16::MAX` bytes).
    pub fn new(list: &[Variant]) -> Variants {
        let mut out = BytesMut::new();
        for v in list.iter().take(usize::from(u16::MAX)) {
            let etag = &v.etag.as_bytes()[..v.etag.len().min(usize::from(u16::MAX))];
            out.put_slice(&v.digest);
            out.put_u16(etag.len() as u16);
            out.put_slice(etag);
        }
        Variants {
            raw: out.freeze(),
            start: 0,
        }
    }

    /// The variants encoded in `raw` from `start` to its end (each a
    /// digest, a `u16` length and that many bytes of entity tag), read
    /// only when asked for ([`to_vec`](Self::to_vec) skips what does not
    /// decode).
    pub(crate) fn from_raw(raw: Bytes, start: usize) -> Variants {
        let start = start.min(raw.len());
        Variants { raw, start }
    }

    /// The encoded form.
    pub(crate) fn encoded(&self) -> &[u8] {
        &self.raw[self.start..]
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.encoded().is_empty()
    }

    /// The variants, most recent first; an entity tag that is not a valid
    /// field value is skipped.
    pub fn to_vec(&self) -> Vec<Variant> {
        let mut out = Vec::new();
        let mut rest = self.encoded();
        while rest.len() >= DIGEST_LEN + 2 {
            let len = usize::from(u16::from_be_bytes([rest[DIGEST_LEN], rest[DIGEST_LEN + 1]]));
            let Some(etag) = rest.get(DIGEST_LEN + 2..DIGEST_LEN + 2 + len) else {
                break;
            };
            let mut digest = [0; DIGEST_LEN];
            digest.copy_from_slice(&rest[..DIGEST_LEN]);
            if let Ok(etag) = HeaderValue::from_bytes(etag) {
                out.push(Variant { digest, etag });
            }
            rest = &rest[DIGEST_LEN + 2 + len..];
        }
        out
    }
}

/// How many variants [`Metadata`] remembers.
pub const MAX_VARIANTS: usize = 8;

/// A stored representation of a resource that varies, as its metadata
/// remembers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    /// Its [`SecondaryKey::digest`].
    pub digest: [u8; DIGEST_LEN],
    /// Its ETag field value, as stored.
    pub etag: HeaderValue,
}

impl Metadata {
    /// Metadata keeping the salt `salt` (its representations stay
    /// reachable), with new Vary names and expiry.
    pub fn with_salt(salt: u64, vary: Vec<HeaderName>, expires_at: u64) -> Metadata {
        Metadata {
            salt,
            vary,
            expires_at,
            variants: Variants::default(),
        }
    }

    /// Fresh metadata with a new random salt.
    pub fn new(vary: Vec<HeaderName>, expires_at: u64) -> Metadata {
        Metadata {
            salt: random_salt(),
            vary,
            expires_at,
            variants: Variants::default(),
        }
    }

    /// The metadata to write with a representation stored under the
    /// secondary key `digest` with the ETag `etag`, given the resource's
    /// metadata before (`previous`): its salt kept (or a new one), the
    /// Vary names `vary`, the later expiry, and the variants — those of
    /// `previous` when it varied on the same names, with this one first,
    /// its entry replaced (dropped when it has no ETag), at most
    /// [`MAX_VARIANTS`]; none for a resource that does not vary.
    pub fn updated(
        previous: Option<&Metadata>,
        vary: Vec<HeaderName>,
        expires_at: u64,
        digest: &[u8; DIGEST_LEN],
        etag: Option<&HeaderValue>,
    ) -> Metadata {
        let mut metadata = match previous {
            Some(m) => Metadata::with_salt(m.salt, vary, m.expires_at.max(expires_at)),
            None => Metadata::new(vary, expires_at),
        };
        if metadata.vary.is_empty() {
            return metadata;
        }
        let mut list = Vec::with_capacity(MAX_VARIANTS);
        if let Some(etag) = etag {
            list.push(Variant {
                digest: *digest,
                etag: etag.clone(),
            });
        }
        let same_names = previous.is_some_and(|m| m.vary == metadata.vary);
        let before = previous
            .filter(|_| same_names)
            .map_or_else(Vec::new, |m| m.variants.to_vec());
        let kept = before.into_iter().filter(|v| v.digest != *digest);
        list.extend(kept.take(MAX_VARIANTS - list.len()));
        metadata.variants = Variants::new(&list);
        metadata
    }
}

/// A random 64-bit salt from the standard library's per-process keyed hasher.
pub(crate) fn random_salt() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {

    fn tag(t: &'static str) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(t))
    }

    #[test]
    fn rfc9111_4_3_1_metadata_remembers_the_variants_most_recent_first() {
        let accept = vec![HeaderName::from_static("accept")];
        let m = Metadata::updated(None, accept.clone(), 10, &[1; 16], tag("\"a\"").as_ref());
        assert_eq!(m.variants.to_vec().len(), 1);
        let m2 = Metadata::updated(Some(&m), accept.clone(), 5, &[2; 16], tag("\"b\"").as_ref());
        assert_eq!(m2.salt, m.salt);
        assert_eq!(m2.expires_at, 10);
        let digests: Vec<u8> = m2.variants.to_vec().iter().map(|v| v.digest[0]).collect();
        assert_eq!(digests, [2, 1]);
        // Rewritten: moved first, with its new tag; without one, dropped.
        let m3 = Metadata::updated(
            Some(&m2),
            accept.clone(),
            5,
            &[1; 16],
            tag("\"c\"").as_ref(),
        );
        assert_eq!(m3.variants.to_vec()[0].etag, "\"c\"");
        assert_eq!(m3.variants.to_vec().len(), 2);
        let m4 = Metadata::updated(Some(&m3), accept.clone(), 5, &[1; 16], None);
        assert_eq!(
            m4.variants
                .to_vec()
                .iter()
                .map(|v| v.digest[0])
                .collect::<Vec<_>>(),
            [2]
        );
        // Bounded.
        let mut m = m4;
        for i in 0..20u8 {
            m = Metadata::updated(
                Some(&m),
                accept.clone(),
                5,
                &[i + 10; 16],
                tag("\"x\"").as_ref(),
            );
        }
        assert_eq!(m.variants.to_vec().len(), MAX_VARIANTS);
        assert_eq!(m.variants.to_vec()[0].digest[0], 29);
        // Other Vary names: the old variants are unreachable, forgotten.
        let other = vec![HeaderName::from_static("accept-language")];
        let m5 = Metadata::updated(Some(&m), other, 5, &[3; 16], tag("\"d\"").as_ref());
        assert_eq!(m5.variants.to_vec().len(), 1);
        // A resource that does not vary remembers none.
        let plain = Metadata::updated(Some(&m5), vec![], 5, &[4; 16], tag("\"e\"").as_ref());
        assert!(plain.variants.is_empty());
    }

    use super::*;
    use http::{HeaderValue, Request};

    fn key(uri: &str, host: Option<&str>, config: &Config) -> PrimaryKey {
        let mut b = Request::get(uri);
        if let Some(h) = host {
            b = b.header(HOST, h);
        }
        let (parts, _) = b.body(()).unwrap().into_parts();
        PrimaryKey::from_request(&parts, config)
    }

    #[test]
    fn rfc9110_7_1_key_has_scheme_host_path_and_query() {
        let c = Config::default();
        assert_eq!(
            key("/p?q=1", Some("Host.Example"), &c).uri(),
            "http://host.example/p?q=1"
        );
        assert_eq!(
            key("https://a.example:443/x", None, &c).uri(),
            "https://a.example/x"
        );
        assert_eq!(
            key("http://a.example:8080/x", None, &c).uri(),
            "http://a.example:8080/x"
        );
        assert_ne!(key("/p", Some("a"), &c), key("/p", Some("b"), &c));
        assert_ne!(key("/p?x", Some("a"), &c), key("/p?y", Some("a"), &c));
        assert_eq!(key("/p", Some("a"), &c).origin(), "http://a");
    }

    #[test]
    fn rfc9110_4_2_3_scheme_and_host_compare_case_insensitively_default_ports_dropped() {
        let c = Config::default();
        let uri = |u: &str| PrimaryKey::from_uri(u, &c).unwrap().uri().to_owned();
        assert_eq!(uri("HTTPS://A.Example:443/X"), "https://a.example/X");
        assert_eq!(uri("HTTP://[::1]:80/"), "http://[::1]/");
        assert_eq!(uri("https://a.example:80/"), "https://a.example:80/");
        assert_eq!(uri("http://a.example:8080"), "http://a.example:8080/");
        assert_eq!(
            key("/p", Some(" Host.Example:80 "), &c).uri(),
            "http://host.example/p"
        );
        assert_eq!(key("/p", Some(":80"), &c).uri(), "http://:80/p");
    }

    #[test]
    fn remembered_keys_are_the_computed_ones() {
        // Each target twice (the second from the thread's recent keys),
        // under two salts and the other scheme, and more targets than the
        // recent keys hold: every key is the one from_parts computes.
        let salted = Config::builder().master_salt("s").build().unwrap();
        let https = Config::builder().default_scheme("https").build().unwrap();
        for round in 0..2 {
            for n in 0..(RECENT_KEYS + 50) {
                let path = format!("/p/{n}?q");
                for config in [&Config::default(), &salted, &https] {
                    let scheme = config.default_scheme();
                    let expected = PrimaryKey::from_parts(scheme, "H:80", &path, config);
                    assert_eq!(key(&path, Some("H:80"), config), expected, "round {round}");
                }
            }
        }
    }

    #[test]
    fn master_salt_changes_every_key() {
        let a = Config::default();
        let b = Config::builder().master_salt("v2").build().unwrap();
        assert_eq!(
            key("/p", Some("h"), &a).uri(),
            key("/p", Some("h"), &b).uri()
        );
        assert_ne!(
            key("/p", Some("h"), &a).digest(),
            key("/p", Some("h"), &b).digest()
        );
    }

    #[test]
    fn rfc9111_4_1_secondary_key_follows_normalised_values() {
        let c = Config::default();
        let p = key("/p", Some("h"), &c);
        let vary = vec![HeaderName::from_static("accept-encoding")];
        let mut h1 = HeaderMap::new();
        h1.insert("accept-encoding", HeaderValue::from_static("gzip, br"));
        let mut h2 = HeaderMap::new();
        h2.append("accept-encoding", HeaderValue::from_static("GZIP"));
        h2.append("accept-encoding", HeaderValue::from_static("br"));
        let mut h3 = HeaderMap::new();
        h3.insert("accept-encoding", HeaderValue::from_static("br"));
        let k1 = SecondaryKey::new(&p, &vary, &h1);
        assert_eq!(k1, SecondaryKey::new(&p, &vary, &h2));
        assert_ne!(k1.digest(), SecondaryKey::new(&p, &vary, &h3).digest());
        assert_ne!(
            SecondaryKey::new(&p, &vary, &HeaderMap::new()).digest(),
            SecondaryKey::new(&p, &vary, &{
                let mut h = HeaderMap::new();
                h.insert("accept-encoding", HeaderValue::from_static(""));
                h
            })
            .digest()
        );
    }

    #[test]
    fn salts_differ() {
        assert_ne!(random_salt(), random_salt());
    }
}

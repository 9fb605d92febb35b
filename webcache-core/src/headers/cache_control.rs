//! The Cache-Control field (RFC 9111 §5.2): request directives, response
//! directives, RFC 5861 extensions, and unknown extensions kept verbatim.
//!
//! The same type parses a received field and builds one to send:
//!
//! ```
//! use std::time::Duration;
//! use webcache_core::headers::CacheControl;
//!
//! let cc = CacheControl::new()
//!     .with_public()
//!     .with_max_age(Duration::from_secs(60))
//!     .with_stale_while_revalidate(Duration::from_secs(30));
//! assert_eq!(cc.to_string(), "public, max-age=60, stale-while-revalidate=30");
//!
//! let parsed = CacheControl::parse_value(b"max-age=60, PUBLIC, stale-while-revalidate=30");
//! assert_eq!(parsed.max_age_secs(), Some(60));
//! assert!(parsed.is_public());
//! ```

use std::fmt;
use std::time::Duration;

use http::HeaderValue;
use http::header::{CACHE_CONTROL, HeaderMap, HeaderName, PRAGMA};

use super::list::{is_token, quote, split_members, unquote};
use super::time::{DELTA_SECONDS_MAX, parse_delta_seconds};

/// A delta-seconds directive argument as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delta {
    /// A valid value, saturated at 2^31 (RFC 9111 §1.2.2).
    Secs(u32),
    /// Missing or not a non-negative integer. For freshness this means
    /// "stale" (RFC 9111 §4.2.1).
    Invalid,
}

impl Delta {
    fn from_duration(d: Duration) -> Self {
        Delta::Secs(
            u32::try_from(d.as_secs()).map_or(DELTA_SECONDS_MAX, |s| s.min(DELTA_SECONDS_MAX)),
        )
    }

    fn parse(arg: Option<&[u8]>) -> Self {
        match arg.and_then(parse_delta_seconds) {
            Some(secs) => Delta::Secs(secs),
            None => Delta::Invalid,
        }
    }

    /// The value in seconds, `None` when invalid.
    pub fn secs(self) -> Option<u32> {
        match self {
            Delta::Secs(s) => Some(s),
            Delta::Invalid => None,
        }
    }
}

/// The argument of `no-cache` or `private` (RFC 9111 §5.2.2.4, §5.2.2.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldNames {
    /// The unqualified form: applies to the whole response.
    All,
    /// The qualified form: applies only to these header fields.
    Only(Vec<HeaderName>),
}

impl FieldNames {
    /// True for the unqualified form.
    pub fn is_all(&self) -> bool {
        matches!(self, FieldNames::All)
    }

    fn parse(arg: Option<&[u8]>) -> Self {
        let Some(arg) = arg else {
            return FieldNames::All;
        };
        let names: Vec<HeaderName> = split_members(arg)
            .filter_map(|n| HeaderName::from_bytes(n).ok())
            .collect();
        if names.is_empty() {
            // `no-cache=""` or garbage: the most restrictive reading.
            FieldNames::All
        } else {
            FieldNames::Only(names)
        }
    }

    fn merge(&mut self, other: FieldNames) {
        match (self, other) {
            (FieldNames::All, _) => {}
            (this @ FieldNames::Only(_), FieldNames::All) => *this = FieldNames::All,
            (FieldNames::Only(mine), FieldNames::Only(theirs)) => {
                for n in theirs {
                    if !mine.contains(&n) {
                        mine.push(n);
                    }
                }
            }
        }
    }
}

/// The argument of the `max-stale` request directive (RFC 9111 §5.2.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxStale {
    /// No value: any staleness is acceptable.
    Any,
    /// Staleness of at most this many seconds is acceptable.
    Secs(u32),
}

/// An extension directive this crate does not interpret (RFC 9111 §5.2.3),
/// kept so that it can be passed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Lower-cased directive name.
    pub name: String,
    /// The argument, unquoted, if any.
    pub value: Option<String>,
}

/// A parsed or built Cache-Control field value (RFC 9111 §5.2).
///
/// Directive names compare case-insensitively; arguments are accepted in
/// token and quoted-string form (RFC 9111 §5.2). When a directive repeats,
/// the first occurrence wins (RFC 9111 §4.2.1), except that field-name lists
/// of `no-cache` and `private` accumulate and an unqualified occurrence wins
/// over a qualified one (the most restrictive reading).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheControl {
    max_age: Option<Delta>,
    s_maxage: Option<Delta>,
    max_stale: Option<MaxStale>,
    min_fresh: Option<Delta>,
    no_cache: Option<FieldNames>,
    no_store: bool,
    no_transform: bool,
    only_if_cached: bool,
    must_revalidate: bool,
    proxy_revalidate: bool,
    must_understand: bool,
    private: Option<FieldNames>,
    public: bool,
    immutable: bool,
    stale_while_revalidate: Option<Delta>,
    stale_if_error: Option<Delta>,
    extensions: Vec<Extension>,
    /// Read from a targeted field (RFC 9213), not from Cache-Control.
    targeted: bool,
}

impl CacheControl {
    /// An empty Cache-Control, to build on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses every Cache-Control line in `headers`; `None` when the field is
    /// absent.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut lines = headers.get_all(CACHE_CONTROL).iter().peekable();
        lines.peek()?;
        let mut cc = CacheControl::default();
        for line in lines {
            cc.parse_line(line.as_bytes());
        }
        Some(cc)
    }

    /// Parses the request's Cache-Control, or, when it is absent, treats
    /// `Pragma: no-cache` as `Cache-Control: no-cache` (RFC 7234 §5.4, kept
    /// by RFC 9111 §5.4 for HTTP/1.0 clients).
    pub fn from_request_headers(headers: &HeaderMap) -> Self {
        if let Some(cc) = Self::from_headers(headers) {
            return cc;
        }
        let mut cc = CacheControl::default();
        let pragma_no_cache = headers
            .get_all(PRAGMA)
            .iter()
            .flat_map(|v| split_members(v.as_bytes()))
            .any(|m| m.eq_ignore_ascii_case(b"no-cache"));
        if pragma_no_cache {
            cc.no_cache = Some(FieldNames::All);
        }
        cc
    }

    /// Parses one field value.
    pub fn parse_value(value: &[u8]) -> Self {
        let mut cc = CacheControl::default();
        cc.parse_line(value);
        cc
    }

    fn parse_line(&mut self, line: &[u8]) {
        for member in split_members(line) {
            let (name, arg) = match member.iter().position(|&b| b == b'=') {
                Some(eq) => (
                    super::list::trim_ows(&member[..eq]),
                    Some(super::list::trim_ows(&member[eq + 1..])),
                ),
                None => (member, None),
            };
            if !is_token(name) {
                continue;
            }
            let unquoted;
            let arg = match arg {
                Some(a) if a.first() == Some(&b'"') => match unquote(a) {
                    Some(u) => {
                        unquoted = u;
                        Some(unquoted.as_slice())
                    }
                    // An unterminated quoted string is not a valid argument.
                    None => Some(&b"\""[..0]),
                },
                other => other,
            };
            self.apply(name, arg);
        }
    }

    /// Applies one directive, `name` and its unquoted argument, as the
    /// parser does; the targeted fields (RFC 9213) use it too.
    pub(crate) fn apply(&mut self, name: &[u8], arg: Option<&[u8]>) {
        fn first(slot: &mut Option<Delta>, arg: Option<&[u8]>) {
            if slot.is_none() {
                *slot = Some(Delta::parse(arg));
            }
        }
        // Lower-case on the stack: the longest known name has 22 bytes.
        let mut buf = [0u8; 24];
        let lower: &[u8] = if name.len() <= buf.len() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name);
            b.make_ascii_lowercase();
            b
        } else {
            b""
        };
        match lower {
            b"max-age" => first(&mut self.max_age, arg),
            b"s-maxage" => first(&mut self.s_maxage, arg),
            b"min-fresh" => first(&mut self.min_fresh, arg),
            b"stale-while-revalidate" => first(&mut self.stale_while_revalidate, arg),
            b"stale-if-error" => first(&mut self.stale_if_error, arg),
            b"max-stale" => {
                if self.max_stale.is_none() {
                    self.max_stale = Some(match arg {
                        None => MaxStale::Any,
                        Some(a) => match parse_delta_seconds(a) {
                            Some(s) => MaxStale::Secs(s),
                            // An invalid value grants nothing.
                            None => MaxStale::Secs(0),
                        },
                    });
                }
            }
            b"no-cache" => {
                let f = FieldNames::parse(arg);
                match &mut self.no_cache {
                    Some(existing) => existing.merge(f),
                    slot @ None => *slot = Some(f),
                }
            }
            b"private" => {
                let f = FieldNames::parse(arg);
                match &mut self.private {
                    Some(existing) => existing.merge(f),
                    slot @ None => *slot = Some(f),
                }
            }
            b"no-store" => self.no_store = true,
            b"no-transform" => self.no_transform = true,
            b"only-if-cached" => self.only_if_cached = true,
            b"must-revalidate" => self.must_revalidate = true,
            b"proxy-revalidate" => self.proxy_revalidate = true,
            b"must-understand" => self.must_understand = true,
            b"public" => self.public = true,
            b"immutable" => self.immutable = true,
            _ => self.extensions.push(Extension {
                name: String::from_utf8_lossy(name).to_ascii_lowercase(),
                value: arg.map(|a| String::from_utf8_lossy(a).into_owned()),
            }),
        }
    }

    // ---- reading -------------------------------------------------------

    /// `max-age` (request §5.2.1.1, response §5.2.2.1).
    pub fn max_age(&self) -> Option<Delta> {
        self.max_age
    }
    /// `max-age` in seconds when present and valid.
    pub fn max_age_secs(&self) -> Option<u32> {
        self.max_age.and_then(Delta::secs)
    }
    /// `s-maxage` (§5.2.2.10).
    pub fn s_maxage(&self) -> Option<Delta> {
        self.s_maxage
    }
    /// `max-stale` (§5.2.1.2).
    pub fn max_stale(&self) -> Option<MaxStale> {
        self.max_stale
    }
    /// `min-fresh` (§5.2.1.3).
    pub fn min_fresh(&self) -> Option<Delta> {
        self.min_fresh
    }
    /// `no-cache`, with its field names if qualified (§5.2.1.4, §5.2.2.4).
    pub fn no_cache(&self) -> Option<&FieldNames> {
        self.no_cache.as_ref()
    }
    /// True when `no-cache` is present in its unqualified form.
    pub fn is_no_cache(&self) -> bool {
        self.no_cache.as_ref().is_some_and(FieldNames::is_all)
    }
    /// `no-store` (§5.2.1.5, §5.2.2.5).
    pub fn is_no_store(&self) -> bool {
        self.no_store
    }
    /// `no-transform` (§5.2.1.6, §5.2.2.6).
    pub fn is_no_transform(&self) -> bool {
        self.no_transform
    }
    /// `only-if-cached` (§5.2.1.7).
    pub fn is_only_if_cached(&self) -> bool {
        self.only_if_cached
    }
    /// `must-revalidate` (§5.2.2.2).
    pub fn is_must_revalidate(&self) -> bool {
        self.must_revalidate
    }
    /// `proxy-revalidate` (§5.2.2.8).
    pub fn is_proxy_revalidate(&self) -> bool {
        self.proxy_revalidate
    }
    /// `must-understand` (§5.2.2.3).
    pub fn is_must_understand(&self) -> bool {
        self.must_understand
    }
    /// `private`, with its field names if qualified (§5.2.2.7).
    pub fn private(&self) -> Option<&FieldNames> {
        self.private.as_ref()
    }
    /// True when `private` is present in its unqualified form.
    pub fn is_private(&self) -> bool {
        self.private.as_ref().is_some_and(FieldNames::is_all)
    }
    /// `public` (§5.2.2.9).
    pub fn is_public(&self) -> bool {
        self.public
    }
    /// `immutable` (RFC 8246).
    pub fn is_immutable(&self) -> bool {
        self.immutable
    }
    /// `stale-while-revalidate` (RFC 5861 §3).
    pub fn stale_while_revalidate(&self) -> Option<Delta> {
        self.stale_while_revalidate
    }
    /// `stale-if-error` (RFC 5861 §4).
    pub fn stale_if_error(&self) -> Option<Delta> {
        self.stale_if_error
    }
    /// Directives this crate does not interpret, in order of appearance.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }
    /// True when these directives come from a targeted field such as
    /// CDN-Cache-Control (RFC 9213 §2.2): the response's Cache-Control and
    /// Expires are then ignored by this cache. See [`crate::targeted`].
    pub fn is_targeted(&self) -> bool {
        self.targeted
    }
    pub(crate) fn set_targeted(&mut self) {
        self.targeted = true;
    }

    // ---- building: every builder method is `with_*`; the getters above
    // are named after the directive (`max_age`, `private`) or `is_*`.

    /// Adds `public` (§5.2.2.9).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_public().with_max_age(std::time::Duration::from_secs(60));
    /// assert_eq!(cc.to_string(), "public, max-age=60");
    /// assert!(cc.is_public());
    /// ```
    pub fn with_public(mut self) -> Self {
        self.public = true;
        self
    }
    /// Adds unqualified `private` (§5.2.2.7): a shared cache does not store the response.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_private();
    /// assert_eq!(cc.to_string(), "private");
    /// assert!(cc.is_private());
    /// ```
    pub fn with_private(mut self) -> Self {
        self.private = Some(FieldNames::All);
        self
    }
    /// Adds `private="..."` naming header fields a shared cache must not store.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// use http::header::SET_COOKIE;
    /// let cc = CacheControl::new().with_private_fields([SET_COOKIE]);
    /// assert_eq!(cc.to_string(), "private=\"set-cookie\"");
    /// assert!(!cc.is_private()); // qualified: the rest may be stored
    /// ```
    pub fn with_private_fields<I: IntoIterator<Item = HeaderName>>(mut self, names: I) -> Self {
        self.private = Some(FieldNames::Only(names.into_iter().collect()));
        self
    }
    /// Adds unqualified `no-cache` (§5.2.2.4): stored, but validated before each reuse.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_no_cache();
    /// assert_eq!(cc.to_string(), "no-cache");
    /// assert!(cc.is_no_cache());
    /// ```
    pub fn with_no_cache(mut self) -> Self {
        self.no_cache = Some(FieldNames::All);
        self
    }
    /// Adds `no-cache="..."` naming header fields that must not be reused
    /// without revalidation.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// use http::HeaderName;
    /// let cc = CacheControl::new().with_no_cache_fields([HeaderName::from_static("x-user")]);
    /// assert_eq!(cc.to_string(), "no-cache=\"x-user\"");
    /// ```
    pub fn with_no_cache_fields<I: IntoIterator<Item = HeaderName>>(mut self, names: I) -> Self {
        self.no_cache = Some(FieldNames::Only(names.into_iter().collect()));
        self
    }
    /// Adds `no-store` (§5.2.2.5): never stored by any cache.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_no_store();
    /// assert_eq!(cc.to_string(), "no-store");
    /// assert!(cc.is_no_store());
    /// ```
    pub fn with_no_store(mut self) -> Self {
        self.no_store = true;
        self
    }
    /// Adds `no-transform` (§5.2.2.6).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// assert!(CacheControl::new().with_no_transform().is_no_transform());
    /// ```
    pub fn with_no_transform(mut self) -> Self {
        self.no_transform = true;
        self
    }
    /// Adds `must-revalidate` (§5.2.2.2): never served stale.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_max_age(std::time::Duration::from_secs(60)).with_must_revalidate();
    /// assert_eq!(cc.to_string(), "must-revalidate, max-age=60");
    /// ```
    pub fn with_must_revalidate(mut self) -> Self {
        self.must_revalidate = true;
        self
    }
    /// Adds `proxy-revalidate` (§5.2.2.8): `must-revalidate` for shared caches.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// assert!(CacheControl::new().with_proxy_revalidate().is_proxy_revalidate());
    /// ```
    pub fn with_proxy_revalidate(mut self) -> Self {
        self.proxy_revalidate = true;
        self
    }
    /// Adds `must-understand` (§5.2.2.3).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// assert!(CacheControl::new().with_must_understand().is_must_understand());
    /// ```
    pub fn with_must_understand(mut self) -> Self {
        self.must_understand = true;
        self
    }
    /// Adds `immutable` (RFC 8246).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_max_age(std::time::Duration::from_secs(31_536_000)).with_immutable();
    /// assert_eq!(cc.to_string(), "immutable, max-age=31536000");
    /// ```
    pub fn with_immutable(mut self) -> Self {
        self.immutable = true;
        self
    }
    /// Sets `max-age` (whole seconds; saturates at 2^31).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_max_age(std::time::Duration::from_secs(60));
    /// assert_eq!(cc.max_age_secs(), Some(60));
    /// ```
    pub fn with_max_age(mut self, d: Duration) -> Self {
        self.max_age = Some(Delta::from_duration(d));
        self
    }
    /// Sets `s-maxage`.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_s_maxage(std::time::Duration::from_secs(300));
    /// assert_eq!(cc.to_string(), "s-maxage=300");
    /// ```
    pub fn with_s_maxage(mut self, d: Duration) -> Self {
        self.s_maxage = Some(Delta::from_duration(d));
        self
    }
    /// Sets `stale-while-revalidate` (RFC 5861).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_stale_while_revalidate(std::time::Duration::from_secs(30));
    /// assert_eq!(cc.stale_while_revalidate().and_then(|d| d.secs()), Some(30));
    /// ```
    pub fn with_stale_while_revalidate(mut self, d: Duration) -> Self {
        self.stale_while_revalidate = Some(Delta::from_duration(d));
        self
    }
    /// Sets `stale-if-error` (RFC 5861).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_stale_if_error(std::time::Duration::from_secs(600));
    /// assert_eq!(cc.stale_if_error().and_then(|d| d.secs()), Some(600));
    /// ```
    pub fn with_stale_if_error(mut self, d: Duration) -> Self {
        self.stale_if_error = Some(Delta::from_duration(d));
        self
    }
    /// Sets the `max-stale` request directive; `None` means any staleness.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_max_stale(None);
    /// assert_eq!(cc.to_string(), "max-stale");
    /// ```
    pub fn with_max_stale(mut self, d: Option<Duration>) -> Self {
        self.max_stale = Some(match d {
            None => MaxStale::Any,
            Some(d) => match Delta::from_duration(d) {
                Delta::Secs(s) => MaxStale::Secs(s),
                Delta::Invalid => MaxStale::Any,
            },
        });
        self
    }
    /// Sets the `min-fresh` request directive.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_min_fresh(std::time::Duration::from_secs(10));
    /// assert_eq!(cc.to_string(), "min-fresh=10");
    /// ```
    pub fn with_min_fresh(mut self, d: Duration) -> Self {
        self.min_fresh = Some(Delta::from_duration(d));
        self
    }
    /// Adds the `only-if-cached` request directive.
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// assert!(CacheControl::new().with_only_if_cached().is_only_if_cached());
    /// ```
    pub fn with_only_if_cached(mut self) -> Self {
        self.only_if_cached = true;
        self
    }
    /// Adds an extension directive; `name` must be a token (others are
    /// ignored).
    ///
    /// ```
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_extension("community", Some("UCI"));
    /// assert_eq!(cc.to_string(), "community=UCI");
    /// assert!(CacheControl::new().with_extension("not a token", None).is_empty());
    /// ```
    pub fn with_extension(mut self, name: &str, value: Option<&str>) -> Self {
        if is_token(name.as_bytes()) {
            self.extensions.push(Extension {
                name: name.to_ascii_lowercase(),
                value: value.map(str::to_owned),
            });
        }
        self
    }

    // ---- the names before the `with_*` rule, kept for one release --------

    /// Renamed [`with_public`](Self::with_public).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_public`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn public(self) -> Self {
        self.with_public()
    }
    /// Renamed [`with_private`](Self::with_private).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_private`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn private_all(self) -> Self {
        self.with_private()
    }
    /// Renamed [`with_private_fields`](Self::with_private_fields).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_private_fields`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn private_fields<I: IntoIterator<Item = HeaderName>>(self, names: I) -> Self {
        self.with_private_fields(names)
    }
    /// Renamed [`with_no_cache`](Self::with_no_cache).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_no_cache`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn no_cache_all(self) -> Self {
        self.with_no_cache()
    }
    /// Renamed [`with_no_cache_fields`](Self::with_no_cache_fields).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_no_cache_fields`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn no_cache_fields<I: IntoIterator<Item = HeaderName>>(self, names: I) -> Self {
        self.with_no_cache_fields(names)
    }
    /// Renamed [`with_no_store`](Self::with_no_store).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_no_store`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn no_store(self) -> Self {
        self.with_no_store()
    }
    /// Renamed [`with_no_transform`](Self::with_no_transform).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_no_transform`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn no_transform(self) -> Self {
        self.with_no_transform()
    }
    /// Renamed [`with_must_revalidate`](Self::with_must_revalidate).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_must_revalidate`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn must_revalidate(self) -> Self {
        self.with_must_revalidate()
    }
    /// Renamed [`with_proxy_revalidate`](Self::with_proxy_revalidate).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_proxy_revalidate`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn proxy_revalidate(self) -> Self {
        self.with_proxy_revalidate()
    }
    /// Renamed [`with_must_understand`](Self::with_must_understand).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_must_understand`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn must_understand(self) -> Self {
        self.with_must_understand()
    }
    /// Renamed [`with_immutable`](Self::with_immutable).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_immutable`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn immutable(self) -> Self {
        self.with_immutable()
    }
    /// Renamed [`with_only_if_cached`](Self::with_only_if_cached).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_only_if_cached`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn only_if_cached(self) -> Self {
        self.with_only_if_cached()
    }
    /// Renamed [`with_extension`](Self::with_extension).
    #[deprecated(
        since = "0.1.0",
        note = "renamed `with_extension`: every builder method of `CacheControl` is `with_*`"
    )]
    pub fn extension(self, name: &str, value: Option<&str>) -> Self {
        self.with_extension(name, value)
    }

    /// True when no directive is set.
    pub fn is_empty(&self) -> bool {
        *self == CacheControl::default()
    }

    /// Renders the field value.
    pub fn to_header_value(&self) -> HeaderValue {
        HeaderValue::from_str(&self.to_string()).unwrap_or_else(|_| {
            // Only non-visible characters inside extension arguments can get
            // here; drop the extensions rather than fail.
            let mut without = self.clone();
            without.extensions.clear();
            HeaderValue::from_str(&without.to_string())
                .expect("known directives render as visible ASCII")
        })
    }
}

impl fmt::Display for CacheControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let fields = |name: &str, names: &FieldNames| match names {
            FieldNames::All => name.to_owned(),
            FieldNames::Only(list) => {
                let joined: Vec<&str> = list.iter().map(HeaderName::as_str).collect();
                let mut s = format!("{name}=");
                quote(&joined.join(", "), &mut s);
                s
            }
        };
        let delta = |name: &str, d: Delta| match d {
            Delta::Secs(s) => format!("{name}={s}"),
            Delta::Invalid => format!("{name}=0"),
        };
        if self.public {
            parts.push("public".into());
        }
        if let Some(p) = &self.private {
            parts.push(fields("private", p));
        }
        if let Some(n) = &self.no_cache {
            parts.push(fields("no-cache", n));
        }
        if self.no_store {
            parts.push("no-store".into());
        }
        if self.no_transform {
            parts.push("no-transform".into());
        }
        if self.must_revalidate {
            parts.push("must-revalidate".into());
        }
        if self.proxy_revalidate {
            parts.push("proxy-revalidate".into());
        }
        if self.must_understand {
            parts.push("must-understand".into());
        }
        if self.immutable {
            parts.push("immutable".into());
        }
        if let Some(d) = self.max_age {
            parts.push(delta("max-age", d));
        }
        if let Some(d) = self.s_maxage {
            parts.push(delta("s-maxage", d));
        }
        if let Some(d) = self.stale_while_revalidate {
            parts.push(delta("stale-while-revalidate", d));
        }
        if let Some(d) = self.stale_if_error {
            parts.push(delta("stale-if-error", d));
        }
        match self.max_stale {
            Some(MaxStale::Any) => parts.push("max-stale".into()),
            Some(MaxStale::Secs(s)) => parts.push(format!("max-stale={s}")),
            None => {}
        }
        if let Some(d) = self.min_fresh {
            parts.push(delta("min-fresh", d));
        }
        if self.only_if_cached {
            parts.push("only-if-cached".into());
        }
        for ext in &self.extensions {
            match &ext.value {
                None => parts.push(ext.name.clone()),
                Some(v) if is_token(v.as_bytes()) => parts.push(format!("{}={v}", ext.name)),
                Some(v) => {
                    let mut s = format!("{}=", ext.name);
                    quote(v, &mut s);
                    parts.push(s);
                }
            }
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> CacheControl {
        CacheControl::parse_value(s.as_bytes())
    }

    #[test]
    fn rfc9111_5_2_directive_names_are_case_insensitive() {
        let cc = parse("Max-Age=5, NO-STORE, Public");
        assert_eq!(cc.max_age_secs(), Some(5));
        assert!(cc.is_no_store());
        assert!(cc.is_public());
    }

    #[test]
    fn rfc9111_5_2_arguments_accept_token_and_quoted_forms() {
        assert_eq!(parse("max-age=\"5\"").max_age_secs(), Some(5));
        assert_eq!(parse("s-maxage=7").s_maxage(), Some(Delta::Secs(7)));
    }

    #[test]
    fn rfc9111_4_2_1_invalid_max_age_is_kept_as_invalid() {
        assert_eq!(parse("max-age=abc").max_age(), Some(Delta::Invalid));
        assert_eq!(parse("max-age=-1").max_age(), Some(Delta::Invalid));
        assert_eq!(parse("max-age=1.5").max_age(), Some(Delta::Invalid));
        assert_eq!(parse("max-age").max_age(), Some(Delta::Invalid));
        assert_eq!(parse("max-age=\"5").max_age(), Some(Delta::Invalid));
    }

    #[test]
    fn rfc9111_4_2_1_first_duplicate_wins() {
        assert_eq!(parse("max-age=10, max-age=0").max_age_secs(), Some(10));
        let mut h = HeaderMap::new();
        h.append(CACHE_CONTROL, HeaderValue::from_static("max-age=3"));
        h.append(
            CACHE_CONTROL,
            HeaderValue::from_static("max-age=9, no-store"),
        );
        let cc = CacheControl::from_headers(&h).unwrap();
        assert_eq!(cc.max_age_secs(), Some(3));
        assert!(cc.is_no_store());
    }

    #[test]
    fn rfc9111_5_2_2_4_no_cache_field_names_are_parsed_and_merged() {
        let cc = parse("no-cache=\"Set-Cookie, x-foo\", no-cache=bar");
        match cc.no_cache() {
            Some(FieldNames::Only(names)) => {
                let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
                assert_eq!(names, vec!["set-cookie", "x-foo", "bar"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(parse("no-cache=\"a\", no-cache").is_no_cache());
        assert!(parse("no-cache").is_no_cache());
    }

    #[test]
    fn rfc9111_5_2_2_7_private_field_names_are_parsed() {
        let cc = parse("private=\"set-cookie\"");
        assert!(!cc.is_private());
        assert!(matches!(cc.private(), Some(FieldNames::Only(n)) if n.len() == 1));
    }

    #[test]
    fn rfc9111_5_2_1_2_max_stale_with_and_without_value() {
        assert_eq!(parse("max-stale").max_stale(), Some(MaxStale::Any));
        assert_eq!(parse("max-stale=30").max_stale(), Some(MaxStale::Secs(30)));
        assert_eq!(parse("max-stale=x").max_stale(), Some(MaxStale::Secs(0)));
    }

    #[test]
    fn rfc9111_5_2_3_unknown_extensions_are_kept() {
        let cc = parse("community=\"UCI\", private, foo");
        assert_eq!(cc.extensions().len(), 2);
        assert_eq!(cc.extensions()[0].name, "community");
        assert_eq!(cc.extensions()[0].value.as_deref(), Some("UCI"));
        assert_eq!(cc.to_string(), "private, community=UCI, foo");
    }

    #[test]
    fn rfc9111_5_4_pragma_no_cache_only_when_cache_control_absent() {
        let mut h = HeaderMap::new();
        h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        assert!(CacheControl::from_request_headers(&h).is_no_cache());
        h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=5"));
        assert!(!CacheControl::from_request_headers(&h).is_no_cache());
    }

    #[test]
    fn builder_renders_every_directive() {
        let cc = CacheControl::new()
            .with_public()
            .with_no_cache_fields([HeaderName::from_static("set-cookie")])
            .with_no_store()
            .with_no_transform()
            .with_must_revalidate()
            .with_proxy_revalidate()
            .with_must_understand()
            .with_immutable()
            .with_max_age(Duration::from_secs(1))
            .with_s_maxage(Duration::from_secs(2))
            .with_stale_while_revalidate(Duration::from_secs(3))
            .with_stale_if_error(Duration::from_secs(4));
        let text = cc.to_string();
        assert_eq!(
            text,
            "public, no-cache=\"set-cookie\", no-store, no-transform, must-revalidate, \
             proxy-revalidate, must-understand, immutable, max-age=1, s-maxage=2, \
             stale-while-revalidate=3, stale-if-error=4"
        );
        assert_eq!(parse(&text), cc);
        let req = CacheControl::new()
            .with_max_stale(None)
            .with_min_fresh(Duration::from_secs(5))
            .with_only_if_cached();
        assert_eq!(req.to_string(), "max-stale, min-fresh=5, only-if-cached");
        assert_eq!(CacheControl::new().with_private().to_string(), "private");
    }
}

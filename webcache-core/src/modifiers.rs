//! Header helpers (the original's decorators): set caching header fields on
//! a response with typed values instead of raw strings.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::HeaderMap;
//! use webcache_core::modifiers::CacheHeaders;
//!
//! let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let mut headers = HeaderMap::new();
//! CacheHeaders::cache_for(Duration::from_secs(60))
//!     .vary(["accept-language"])
//!     .apply(&mut headers, now);
//! assert_eq!(headers["cache-control"], "max-age=60");
//! assert_eq!(headers["expires"], "Tue, 14 Nov 2023 22:14:20 GMT");
//! assert_eq!(headers["vary"], "accept-language");
//! ```

use std::time::{Duration, SystemTime};

use http::HeaderValue;
use http::header::{CACHE_CONTROL, ETAG, EXPIRES, HeaderMap, HeaderName, LAST_MODIFIED, VARY};

use crate::headers::{CacheControl, EntityTag, Vary, fmt_http_date};

/// A set of caching header fields to put on a response. Each setter
/// replaces what the response had for that field, except [`vary`](Self::vary),
/// which adds to it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheHeaders {
    cache_control: Option<CacheControl>,
    expires_in: Option<Duration>,
    last_modified: Option<SystemTime>,
    etag: Option<EntityTag>,
    vary: Vec<HeaderName>,
    tags: Vec<String>,
}

impl CacheHeaders {
    /// Appends the tags to `Surrogate-Key`.
    fn apply_tags(&self, headers: &mut HeaderMap) {
        if self.tags.is_empty() {
            return;
        }
        let name = HeaderName::from_static("surrogate-key");
        let mut value: Vec<&str> = headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(' ').filter(|t| !t.is_empty()).collect())
            .unwrap_or_default();
        for tag in &self.tags {
            if !value.contains(&tag.as_str()) {
                value.push(tag);
            }
        }
        // Valid tags are visible ASCII: always a valid field value.
        if let Ok(v) = HeaderValue::from_str(&value.join(" ")) {
            headers.insert(name, v);
        }
    }

    /// Nothing yet.
    ///
    /// ```
    /// use webcache_core::modifiers::CacheHeaders;
    /// assert_eq!(CacheHeaders::new(), CacheHeaders::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Cacheable for `ttl`: `Cache-Control: max-age=<ttl>` and an `Expires`
    /// `ttl` from the time the response is sent (for HTTP/1.0 caches).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// CacheHeaders::cache_for(Duration::from_secs(60)).apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["cache-control"], "max-age=60");
    /// assert!(headers.contains_key("expires"));
    /// ```
    pub fn cache_for(ttl: Duration) -> Self {
        CacheHeaders {
            cache_control: Some(CacheControl::new().with_max_age(ttl)),
            expires_in: Some(ttl),
            ..Self::default()
        }
    }

    /// Never stored by any cache: `Cache-Control: no-store`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// CacheHeaders::dont_cache().apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["cache-control"], "no-store");
    /// ```
    pub fn dont_cache() -> Self {
        CacheHeaders {
            cache_control: Some(CacheControl::new().with_no_store()),
            ..Self::default()
        }
    }

    /// Stored only by private caches: `Cache-Control: private`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// CacheHeaders::private().apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["cache-control"], "private");
    /// ```
    pub fn private() -> Self {
        CacheHeaders {
            cache_control: Some(CacheControl::new().with_private()),
            ..Self::default()
        }
    }

    /// Any Cache-Control, built with [`CacheControl`]'s typed setters.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// use webcache_core::headers::CacheControl;
    /// let cc = CacheControl::new().with_public().with_s_maxage(Duration::from_secs(600));
    /// CacheHeaders::cache_control(cc).apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["cache-control"], "public, s-maxage=600");
    /// ```
    pub fn cache_control(cc: CacheControl) -> Self {
        CacheHeaders {
            cache_control: Some(cc),
            ..Self::default()
        }
    }

    /// Replaces the Cache-Control to set.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// use webcache_core::headers::CacheControl;
    /// CacheHeaders::cache_for(Duration::from_secs(60))
    ///     .with_cache_control(CacheControl::new().with_no_cache())
    ///     .apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["cache-control"], "no-cache");
    /// ```
    pub fn with_cache_control(mut self, cc: CacheControl) -> Self {
        self.cache_control = Some(cc);
        self
    }

    /// Sets `Last-Modified`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// let updated = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// CacheHeaders::new().last_modified(updated).apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["last-modified"], "Tue, 14 Nov 2023 22:13:20 GMT");
    /// ```
    pub fn last_modified(mut self, at: SystemTime) -> Self {
        self.last_modified = Some(at);
        self
    }

    /// Sets `ETag`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// use webcache_core::headers::EntityTag;
    /// let tag = EntityTag::strong("v42").expect("a valid opaque tag");
    /// CacheHeaders::new().etag(tag).apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["etag"], "\"v42\"");
    /// ```
    pub fn etag(mut self, tag: EntityTag) -> Self {
        self.etag = Some(tag);
        self
    }

    /// Adds field names to `Vary`, keeping those already there. Names that
    /// are not valid field names are skipped.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// CacheHeaders::new().vary(["accept-language", "bad name"]).apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["vary"], "accept-language");
    /// ```
    pub fn vary<I, N>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        for n in names {
            if let Ok(name) = HeaderName::from_bytes(n.as_ref().as_bytes()) {
                if !self.vary.contains(&name) {
                    self.vary.push(name);
                }
            }
        }
        self
    }

    /// Adds tags for [`Cache::purge_tag`](crate::Cache::purge_tag), sent
    /// in `Surrogate-Key` (space-separated, added to what the response
    /// has). Tags that [`is_valid_tag`](crate::purge::is_valid_tag) rejects
    /// (empty, spaces, commas, control characters) are skipped. The cache
    /// removes the field before the response reaches a client, unless
    /// [`Config::keep_tags`](crate::Config::keep_tags).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use http::HeaderMap;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let mut headers = HeaderMap::new();
    /// CacheHeaders::cache_for(Duration::from_secs(60))
    ///     .tags(["product-42", "shop", "not valid"])
    ///     .apply(&mut headers, SystemTime::now());
    /// assert_eq!(headers["surrogate-key"], "product-42 shop");
    /// ```
    pub fn tags<I, T>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        for tag in tags {
            let tag = tag.as_ref();
            if crate::purge::is_valid_tag(tag) && !self.tags.iter().any(|t| t == tag) {
                self.tags.push(tag.to_owned());
            }
        }
        self
    }

    /// Writes the fields into `headers`; `now` is when the response is sent.
    pub fn apply(&self, headers: &mut HeaderMap, now: SystemTime) {
        self.apply_tags(headers);
        if let Some(cc) = &self.cache_control {
            headers.insert(CACHE_CONTROL, cc.to_header_value());
            if self.expires_in.is_none() {
                // An old Expires would contradict the new directives for
                // HTTP/1.0 caches.
                headers.remove(EXPIRES);
            }
        }
        if let Some(ttl) = self.expires_in {
            headers.insert(EXPIRES, fmt_http_date(now + ttl));
        }
        if let Some(at) = self.last_modified {
            // Never later than the message's origination (RFC 9110 §8.8.2.1).
            headers.insert(LAST_MODIFIED, fmt_http_date(at.min(now)));
        }
        if let Some(tag) = &self.etag {
            headers.insert(ETAG, tag.to_header_value());
        }
        if !self.vary.is_empty() {
            let mut names: Vec<String> = match Vary::from_headers(headers) {
                Vary::Any => return,
                Vary::Fields(existing) => existing.iter().map(|n| n.as_str().to_owned()).collect(),
            };
            for n in &self.vary {
                if !names.iter().any(|e| e == n.as_str()) {
                    names.push(n.as_str().to_owned());
                }
            }
            if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
                headers.insert(VARY, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn dont_cache_sets_no_store_and_drops_expires() {
        let mut h = HeaderMap::new();
        h.insert(
            EXPIRES,
            HeaderValue::from_static("Thu, 01 Dec 2094 16:00:00 GMT"),
        );
        CacheHeaders::dont_cache().apply(&mut h, now());
        assert_eq!(h[CACHE_CONTROL], "no-store");
        assert!(!h.contains_key(EXPIRES));
    }

    #[test]
    fn private_and_custom_cache_control() {
        let mut h = HeaderMap::new();
        CacheHeaders::private().apply(&mut h, now());
        assert_eq!(h[CACHE_CONTROL], "private");
        CacheHeaders::cache_control(
            CacheControl::new()
                .with_public()
                .with_s_maxage(Duration::from_secs(9)),
        )
        .apply(&mut h, now());
        assert_eq!(h[CACHE_CONTROL], "public, s-maxage=9");
    }

    #[test]
    fn last_modified_is_never_in_the_future_and_etag_is_set() {
        let mut h = HeaderMap::new();
        CacheHeaders::new()
            .last_modified(now() + Duration::from_secs(60))
            .etag(EntityTag::weak("v1").unwrap())
            .apply(&mut h, now());
        assert_eq!(h[LAST_MODIFIED], fmt_http_date(now()));
        assert_eq!(h[ETAG], "W/\"v1\"");
    }

    #[test]
    fn vary_merges_with_existing() {
        let mut h = HeaderMap::new();
        h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        CacheHeaders::new()
            .vary(["accept-language", "accept-encoding"])
            .apply(&mut h, now());
        assert_eq!(h[VARY], "accept-encoding, accept-language");
        let mut star = HeaderMap::new();
        star.insert(VARY, HeaderValue::from_static("*"));
        CacheHeaders::new().vary(["accept"]).apply(&mut star, now());
        assert_eq!(star[VARY], "*");
    }
}

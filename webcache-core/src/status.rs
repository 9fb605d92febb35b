//! The Cache-Status response field (RFC 9211).
//!
//! ```
//! use webcache_core::status::{CacheStatus, Forward};
//!
//! let hit = CacheStatus::hit("webcache", 42);
//! assert_eq!(hit.to_string(), "webcache; hit; ttl=42");
//!
//! let miss = CacheStatus::forward("webcache", Forward::UriMiss).fwd_status(200).stored(true);
//! assert_eq!(miss.to_string(), "webcache; fwd=uri-miss; fwd-status=200; stored");
//! ```

use std::fmt;

use http::HeaderValue;
use http::header::{HeaderMap, HeaderName};

/// The Cache-Status field name.
pub const CACHE_STATUS: HeaderName = HeaderName::from_static("cache-status");

/// Why the request went forward (RFC 9211 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forward {
    /// The cache was configured not to handle this request.
    Bypass,
    /// Missing method, headers or other parts of the key.
    Method,
    /// No stored response for the URI.
    UriMiss,
    /// Stored responses for the URI, none matching the Vary-selected fields.
    VaryMiss,
    /// No stored response (the reason is not known more precisely).
    Miss,
    /// The request's directives asked for a forward.
    Request,
    /// The stored response was stale.
    Stale,
    /// Only part of the response was stored.
    Partial,
}

impl Forward {
    fn as_str(self) -> &'static str {
        match self {
            Forward::Bypass => "bypass",
            Forward::Method => "method",
            Forward::UriMiss => "uri-miss",
            Forward::VaryMiss => "vary-miss",
            Forward::Miss => "miss",
            Forward::Request => "request",
            Forward::Stale => "stale",
            Forward::Partial => "partial",
        }
    }
}

/// One member of a Cache-Status field: this cache's account of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheStatus {
    name: String,
    hit: bool,
    fwd: Option<Forward>,
    fwd_status: Option<u16>,
    ttl: Option<i64>,
    stored: bool,
    collapsed: bool,
    key: Option<String>,
    detail: Option<String>,
}

impl CacheStatus {
    /// Served from storage without going forward; `ttl` is the remaining
    /// freshness in seconds, negative when served stale.
    pub fn hit(name: &str, ttl: i64) -> CacheStatus {
        CacheStatus {
            hit: true,
            ttl: Some(ttl),
            ..Self::empty(name)
        }
    }

    /// Went forward, for `why`.
    pub fn forward(name: &str, why: Forward) -> CacheStatus {
        CacheStatus {
            fwd: Some(why),
            ..Self::empty(name)
        }
    }

    /// Neither a hit nor forwarded (for example a 504 to `only-if-cached`).
    pub fn empty(name: &str) -> CacheStatus {
        CacheStatus {
            name: name.to_owned(),
            hit: false,
            fwd: None,
            fwd_status: None,
            ttl: None,
            stored: false,
            collapsed: false,
            key: None,
            detail: None,
        }
    }

    /// The status of the forwarded response.
    pub fn fwd_status(mut self, status: u16) -> Self {
        self.fwd_status = Some(status);
        self
    }

    /// The remaining freshness in seconds.
    pub fn ttl(mut self, ttl: i64) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Whether the forwarded response was stored.
    pub fn stored(mut self, stored: bool) -> Self {
        self.stored = stored;
        self
    }

    /// Whether this request was collapsed with another one.
    pub fn collapsed(mut self, collapsed: bool) -> Self {
        self.collapsed = collapsed;
        self
    }

    /// The cache key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Free-form detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Appends this member to the response's Cache-Status field; members
    /// from caches nearer the origin stay first (RFC 9211 §2).
    pub fn append_to(&self, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::try_from(self.render()) {
            headers.append(CACHE_STATUS, value);
        }
    }
}

fn push_sf_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out.push('"');
}

impl fmt::Display for CacheStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl CacheStatus {
    /// The member as text, built in one buffer (it is on every response).
    fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::with_capacity(self.name.len() + 48);
        s.push_str(&self.name);
        if self.hit {
            s.push_str("; hit");
        }
        if let Some(fwd) = self.fwd {
            s.push_str("; fwd=");
            s.push_str(fwd.as_str());
        }
        if let Some(status) = self.fwd_status {
            let _ = write!(s, "; fwd-status={status}");
        }
        if let Some(ttl) = self.ttl {
            let _ = write!(s, "; ttl={ttl}");
        }
        if self.stored {
            s.push_str("; stored");
        }
        if self.collapsed {
            s.push_str("; collapsed");
        }
        if let Some(key) = &self.key {
            s.push_str("; key=");
            push_sf_string(&mut s, key);
        }
        if let Some(detail) = &self.detail {
            s.push_str("; detail=");
            push_sf_string(&mut s, detail);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9211_2_members_render_as_structured_fields() {
        let s = CacheStatus::forward("c", Forward::Stale)
            .fwd_status(304)
            .ttl(-3)
            .stored(true)
            .collapsed(true)
            .key("http://a/\"x\"")
            .detail("only-if-cached");
        assert_eq!(
            s.to_string(),
            "c; fwd=stale; fwd-status=304; ttl=-3; stored; collapsed; key=\"http://a/\\\"x\\\"\"; detail=\"only-if-cached\""
        );
    }

    #[test]
    fn rfc9211_2_members_are_appended_after_upstream_caches() {
        let mut h = HeaderMap::new();
        h.insert(CACHE_STATUS, HeaderValue::from_static("upstream; hit"));
        CacheStatus::hit("webcache", 5).append_to(&mut h);
        let all: Vec<_> = h.get_all(CACHE_STATUS).iter().collect();
        assert_eq!(all, vec!["upstream; hit", "webcache; hit; ttl=5"]);
    }
}

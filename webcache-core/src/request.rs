//! What the cache reads from a request, parsed once.

use http::Method;
use http::header::{AUTHORIZATION, CACHE_CONTROL, HeaderMap, HeaderName, PRAGMA, RANGE};
use http::request::Parts;

use crate::config::Config;
use crate::headers::CacheControl;

/// The cache-relevant facts of a request.
#[derive(Clone, Debug)]
pub struct RequestFacts {
    /// The request method.
    pub method: Method,
    /// The request directives the cache honours: the request's
    /// Cache-Control (or `Pragma: no-cache`), or none at all when
    /// [`Config::request_controls_cache`] is off.
    pub cache_control: CacheControl,
    /// True when the request carries Authorization (RFC 9111 §3.5).
    pub has_authorization: bool,
}

impl RequestFacts {
    /// Reads `parts` under `config`.
    pub fn from_parts(parts: &Parts, config: &Config) -> RequestFacts {
        let present = Present::of(&parts.headers);
        let directives = present.has(Present::CACHE_CONTROL | Present::PRAGMA);
        let cache_control = if config.request_controls_cache() && directives {
            CacheControl::from_request_headers(&parts.headers)
        } else {
            CacheControl::default()
        };
        RequestFacts {
            method: parts.method.clone(),
            cache_control,
            has_authorization: present.has(Present::AUTHORIZATION),
        }
    }

    /// True for GET and HEAD, the methods whose responses the cache can
    /// reuse.
    pub fn is_cacheable_method(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

/// Which of the request fields the cache reads are present, found in one
/// pass over the fields instead of a lookup by name for each: most requests
/// carry none of them, and a lookup costs a hash of the name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Present(u8);

impl Present {
    pub(crate) const CACHE_CONTROL: Present = Present(1);
    pub(crate) const PRAGMA: Present = Present(1 << 1);
    pub(crate) const AUTHORIZATION: Present = Present(1 << 2);
    pub(crate) const RANGE: Present = Present(1 << 3);
    /// Any of [`crate::validation::PRECONDITIONS`].
    pub(crate) const PRECONDITION: Present = Present(1 << 4);

    /// The fields of `headers` among those above.
    pub(crate) fn of(headers: &HeaderMap) -> Present {
        let mut present = 0;
        for name in headers.keys() {
            present |= Self::bit(name).0;
        }
        Present(present)
    }

    fn bit(name: &HeaderName) -> Present {
        if crate::validation::PRECONDITIONS.contains(name) {
            return Present::PRECONDITION;
        }
        match name {
            n if *n == CACHE_CONTROL => Present::CACHE_CONTROL,
            n if *n == PRAGMA => Present::PRAGMA,
            n if *n == AUTHORIZATION => Present::AUTHORIZATION,
            n if *n == RANGE => Present::RANGE,
            _ => Present(0),
        }
    }

    /// True when any of `fields` is present.
    pub(crate) fn has(self, fields: Present) -> bool {
        self.0 & fields.0 != 0
    }
}

impl std::ops::BitOr for Present {
    type Output = Present;
    fn bitor(self, other: Present) -> Present {
        Present(self.0 | other.0)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn present_names_exactly_the_fields_it_finds() {
        let mut headers = HeaderMap::new();
        assert_eq!(Present::of(&headers), Present::default());
        headers.insert("x-other", HeaderValue::from_static("1"));
        headers.insert(http::header::HOST, HeaderValue::from_static("a"));
        assert_eq!(Present::of(&headers), Present::default());
        for (name, bit) in [
            (CACHE_CONTROL, Present::CACHE_CONTROL),
            (PRAGMA, Present::PRAGMA),
            (AUTHORIZATION, Present::AUTHORIZATION),
            (RANGE, Present::RANGE),
        ] {
            let mut one = headers.clone();
            one.insert(name, HeaderValue::from_static("x"));
            assert_eq!(Present::of(&one), bit);
        }
        for name in crate::validation::PRECONDITIONS {
            let mut one = headers.clone();
            one.insert(name, HeaderValue::from_static("x"));
            assert_eq!(Present::of(&one), Present::PRECONDITION);
            assert!(crate::validation::has_preconditions(&one));
        }
    }
}

//! What the cache reads from a request, parsed once.

use http::Method;
use http::header::AUTHORIZATION;
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
        let cache_control = if config.request_controls_cache() {
            CacheControl::from_request_headers(&parts.headers)
        } else {
            CacheControl::default()
        };
        RequestFacts {
            method: parts.method.clone(),
            cache_control,
            has_authorization: parts.headers.contains_key(AUTHORIZATION),
        }
    }

    /// True for GET and HEAD, the methods whose responses the cache can
    /// reuse.
    pub fn is_cacheable_method(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }
}

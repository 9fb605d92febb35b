//! The behaviours a user can override, one small trait each, every method
//! with a default that applies the RFC rule. A [`Cache`](super::Cache) is
//! built from one of each; replace one with
//! [`CacheBuilder::retrieval`](super::CacheBuilder::retrieval),
//! [`validation`](super::CacheBuilder::validation) or
//! [`storability`](super::CacheBuilder::storability) without touching the others.
//!
//! ```
//! use http::request::Parts;
//! use webcache_core::handler::Retrieval;
//! use webcache_core::key::PrimaryKey;
//! use webcache_core::Config;
//!
//! /// Ignores the query string's `utm_*` parameters when keying.
//! struct IgnoreTracking;
//!
//! impl Retrieval for IgnoreTracking {
//!     fn primary_key(&self, parts: &Parts, config: &Config) -> PrimaryKey {
//!         let mut parts = parts.clone();
//!         let path = parts.uri.path().to_owned();
//!         let query: Vec<&str> = parts.uri.query().unwrap_or("").split('&')
//!             .filter(|p| !p.is_empty() && !p.starts_with("utm_")).collect();
//!         let pq = if query.is_empty() { path } else { format!("{path}?{}", query.join("&")) };
//!         parts.uri = pq.parse().unwrap_or(parts.uri);
//!         PrimaryKey::from_request(&parts, config)
//!     }
//! }
//! ```

use std::time::{Duration, SystemTime};

use http::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, StatusCode, Uri};

use crate::config::Config;
use crate::freshness::Freshness;
use crate::headers::{CacheControl, EntityTag};
use crate::key::{PrimaryKey, SecondaryKey};
use crate::request::RequestFacts;
use crate::storage::{self, NotStorable};
use crate::validation::{self, Evaluator, Precondition};

/// How a request is recognised and keyed.
pub trait Retrieval: Send + Sync + 'static {
    /// True when the request must bypass the cache entirely: not looked up,
    /// not stored, no invalidation. Default: the path starts with one of
    /// [`Config`]'s resource exemptions.
    fn is_exempt(&self, parts: &Parts, config: &Config) -> bool {
        config.is_exempt(parts.uri.path())
    }

    /// The primary cache key. Default: the effective request URI (RFC 9110
    /// §7.1) salted with the master salt.
    fn primary_key(&self, parts: &Parts, config: &Config) -> PrimaryKey {
        PrimaryKey::from_request(parts, config)
    }

    /// The request facts the rules read. Default: the request's own
    /// directives, honoured per [`Config::request_controls_cache`].
    fn request_facts(&self, parts: &Parts, config: &Config) -> RequestFacts {
        RequestFacts::from_parts(parts, config)
    }

    /// The secondary key: which stored representation of `primary` the
    /// request fields selected by `vary` (the stored response's Vary
    /// field names) choose (RFC 9111 §4.1). Default:
    /// [`SecondaryKey::new`], the fields' values as RFC 9111 §4.1
    /// normalises them. An override may normalise more (e.g. reduce
    /// Accept-Encoding to the codings the site serves); it must give
    /// requests that would get different representations different keys.
    fn secondary_key(
        &self,
        primary: &PrimaryKey,
        vary: &[HeaderName],
        request: &HeaderMap,
    ) -> SecondaryKey {
        SecondaryKey::new(primary, vary, request)
    }

    /// The primary key of the resource at the absolute URI `uri`, for what
    /// invalidates by URI: Location and Content-Location after an unsafe
    /// request (RFC 9111 §4.4) and [`Cache::invalidate`](super::Cache::invalidate).
    /// `None` when `uri` is not absolute.
    ///
    /// Default: the key [`primary_key`](Retrieval::primary_key) gives a GET
    /// of `uri`, so that a custom primary key applies to invalidation too
    /// and needs no second override.
    fn primary_key_for_uri(&self, uri: &str, config: &Config) -> Option<PrimaryKey> {
        let uri: Uri = uri.parse().ok()?;
        let host = HeaderValue::from_str(uri.authority()?.as_str()).ok()?;
        uri.scheme()?;
        let mut request = http::Request::get(uri).body(()).ok()?;
        request.headers_mut().insert(HOST, host);
        Some(self.primary_key(&request.into_parts().0, config))
    }
}

/// How validators are generated and preconditions evaluated.
pub trait Validation: Send + Sync + 'static {
    /// The ETag to add to a response whose handler set none (application
    /// role only). Default: a strong tag from the SHA-256 of the body.
    /// Return `None` to add no ETag.
    fn etag(&self, body: &[u8]) -> Option<EntityTag> {
        Some(validation::strong_etag(body))
    }

    /// Evaluates a request's preconditions against a representation (RFC
    /// 9110 §13.2.2). Default: [`validation::evaluate_preconditions`].
    fn evaluate(
        &self,
        method: &Method,
        request: &HeaderMap,
        representation: &HeaderMap,
        evaluator: Evaluator,
        received: Option<SystemTime>,
    ) -> Precondition {
        validation::evaluate_preconditions(method, request, representation, evaluator, received)
    }
}

/// What is stored, and for how long.
pub trait Storability: Send + Sync + 'static {
    /// May the response be stored? Default: [`storage::is_storable`]
    /// (RFC 9111 §3). An override may refuse more; allowing more than the
    /// RFC does is the overrider's responsibility.
    fn is_storable(
        &self,
        request: &RequestFacts,
        status: StatusCode,
        headers: &HeaderMap,
        cc: &CacheControl,
        config: &Config,
    ) -> Result<(), NotStorable> {
        storage::is_storable(request, status, headers, cc, config)
    }

    /// The header fields to store. Default: [`storage::headers_to_store`]
    /// (RFC 9111 §3.1).
    fn headers_to_store(
        &self,
        headers: &HeaderMap,
        cc: &CacheControl,
        config: &Config,
    ) -> HeaderMap {
        storage::headers_to_store(headers, cc, config)
    }

    /// How long the store keeps the response. Default:
    /// [`storage::retention`].
    fn retention(&self, freshness: &Freshness, cc: &CacheControl, config: &Config) -> Duration {
        storage::retention(freshness, cc, config)
    }
}

/// The default [`Retrieval`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultRetrieval;
impl Retrieval for DefaultRetrieval {}

/// The default [`Validation`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultValidation;
impl Validation for DefaultValidation {}

/// The default [`Storability`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultStorability;
impl Storability for DefaultStorability {}

/// One of each behaviour.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mixins<R = DefaultRetrieval, V = DefaultValidation, P = DefaultStorability> {
    /// How requests are keyed.
    pub retrieval: R,
    /// How validators are made and checked.
    pub validation: V,
    /// What is stored.
    pub storability: P,
}

/// The behaviours a cache is built from; implemented by [`Mixins`].
pub trait Policy: Send + Sync + 'static {
    /// The request behaviour.
    type Retrieval: Retrieval;
    /// The validation behaviour.
    type Validation: Validation;
    /// The storability behaviour.
    type Storability: Storability;
    /// The request behaviour.
    fn retrieval(&self) -> &Self::Retrieval;
    /// The validation behaviour.
    fn validation(&self) -> &Self::Validation;
    /// The storability behaviour.
    fn storability(&self) -> &Self::Storability;
}

impl<R: Retrieval, V: Validation, P: Storability> Policy for Mixins<R, V, P> {
    type Retrieval = R;
    type Validation = V;
    type Storability = P;
    fn retrieval(&self) -> &R {
        &self.retrieval
    }
    fn validation(&self) -> &V {
        &self.validation
    }
    fn storability(&self) -> &P {
        &self.storability
    }
}

//! # webcache-core
//!
//! Standards-true HTTP caching: the rules of RFC 9111 (HTTP Caching), the
//! conditional requests and validators of RFC 9110 (§8.8, §13), the
//! `stale-while-revalidate` / `stale-if-error` extensions of RFC 5861 and the
//! Cache-Status field of RFC 9211 — with no framework, no backend and no
//! network I/O of its own.
//!
//! Three layers, each usable alone:
//!
//! - **Rules** — plain functions over header maps and times, each named after
//!   what it decides, with its RFC section: [`storage::is_storable`],
//!   [`freshness::freshness_lifetime`], [`freshness::current_age`],
//!   [`reuse::reuse`], [`validation::evaluate_preconditions`],
//!   [`invalidation::invalidation_targets`], Range requests ([`range`]) and
//!   stored partial content ([`partial`]), and the parsers in [`headers`].
//! - **Storage** — the [`Store`] trait backends implement (a
//!   handful of async operations over opaque keys and bytes) and the
//!   versioned encoding of what is stored ([`store::entry`]).
//! - **Handlers** — [`Cache`], its [`RequestHandler`](handler::RequestHandler)
//!   and [`ResponseHandler`](handler::ResponseHandler), which apply the rules
//!   around a store; framework adapters call these and nothing else.
//!
//! Header helpers (the equivalents of `cache_for`, `dont_cache`, …) are in
//! [`modifiers`].
//!
//! ## A map of the handler
//!
//! Four names that sound alike and are four things: [`storage`] holds the
//! *rules* of what may be stored (RFC 9111 §3); the
//! [`Storability`](handler::Storability) *mixin* lets a user override them;
//! [`Store`] is the *backend* trait; [`store`] is the module with that trait
//! and the stored byte layout.
//!
//! | step | decides (pure, no I/O) | does the I/O |
//! |---|---|---|
//! | key the request | [`handler::Retrieval`] (mixins) | — |
//! | look it up | — | `handler/request.rs`: `Shared::lookup` (one store round trip) |
//! | serve, validate or forward | [`handler::plan::plan_request`] over [`reuse::reuse`] | [`handler::RequestHandler::handle`]: coalescing, refreshes, the response from storage |
//! | forward | — | the adapter, or [`Cache::serve`] with an [`Upstream`] |
//! | store, freshen, invalidate | [`handler::plan::plan_response`] over [`storage`], [`validation`], [`invalidation`] | [`handler::ResponseHandler::handle`]: body collection or capture, store writes |
//! | answer preconditions | [`validation::evaluate_preconditions`] | the response handler |
//!
//! Each plan variant names its RFC section; adding a behaviour means adding
//! (or refining) a variant and its arm in the executor.
//!
//! With the feature `conformance`, the module `conformance` holds the RFC
//! scenario list every adapter runs against a scripted origin, so that
//! `Cache::serve`, the tower layer and the reverse proxy are proven to
//! behave identically.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use http::{HeaderMap, HeaderValue, StatusCode};
//! use webcache_core::headers::CacheControl;
//! use webcache_core::freshness::{freshness_lifetime, LifetimeSource};
//! use webcache_core::Config;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("cache-control", HeaderValue::from_static("max-age=60, s-maxage=300"));
//! let cc = CacheControl::from_headers(&headers).unwrap();
//! let received = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let (lifetime, source) = freshness_lifetime(StatusCode::OK, &headers, &cc, received, &Config::default());
//! assert_eq!((lifetime.as_secs(), source), (300, LifetimeSource::SMaxAge));
//! ```
#![deny(missing_docs)]

pub mod clock;
pub mod config;
// The shared scenario list every adapter runs; documented in the module.
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;
pub mod freshness;
pub mod handler;
pub mod headers;
pub mod invalidation;
pub mod key;
pub mod modifiers;
pub mod partial;
pub mod range;
pub mod request;
pub mod reuse;
pub mod status;
pub mod storage;
pub mod store;
pub mod targeted;
mod telemetry;
#[cfg(test)]
mod testing;
pub mod validation;

pub use config::{Config, ConfigBuilder, Role};
pub use error::{BoxError, DecodeError, Error, InvalidateError, StoreError};
pub use handler::{Cache, CacheBody, CacheBuilder, Stats, Upstream};
pub use store::{Store, StoreKey, StoredResponse};

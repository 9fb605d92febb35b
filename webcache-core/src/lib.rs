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
//! ## Metrics
//!
//! With the feature `metrics` (on by default) the cache records through the
//! [`metrics`](https://docs.rs/metrics) facade; the application chooses the
//! exporter (Prometheus or other) and **installs its recorder before
//! building the cache**: every handle is registered once, in
//! [`CacheBuilder::build`], so that a hit does no registry lookup — a cache
//! built before the recorder records nowhere. Without a recorder, or without
//! the feature, each recording is a no-op. [`Stats`] counts the same events
//! without any recorder; with the feature `serde` it is `serde::Serialize`,
//! for an application that serves `Cache::stats()` on an endpoint of its own.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `webcache_requests_total` | counter | `outcome`, `reason` | requests, each counted once, by how the cache answered (below) |
//! | `webcache_stale_on_error_total` | counter | `reason`: `stale-if-error`, `unreachable` | stale answers given in place of an upstream that failed (RFC 5861 §4) or gave no answer (RFC 9111 §4.2.4), whether the request went forward or met a recent failure |
//! | `webcache_precondition_answers_total` | counter | `status`: `304`, `412` | client preconditions answered from storage (RFC 9111 §4.3.2, RFC 9110 §13.2) |
//! | `webcache_served_from_storage_bytes_total` | counter | — | body bytes of responses built from storage (hits, stale and validated answers) |
//! | `webcache_stores_total` | counter | — | responses written to the store with their metadata: new, replacing, or freshened by a validation |
//! | `webcache_not_stored_total` | counter | `reason`: a [`storage::NotStorable`] in its Display form (`no-store`, `private`, `not-cacheable`, `body-too-large`, …) | forwarded responses not stored, by why |
//! | `webcache_store_operations_total` | counter | `operation`: `get`, `put`, `delete`, `purge` | store calls |
//! | `webcache_store_errors_total` | counter | `operation` | store calls that failed or exceeded [`Config::store_timeout`] (the cache failed open) |
//! | `webcache_store_operation_duration_seconds` | histogram | `operation` | duration of the store calls that did not complete at their first poll, timed from that poll (an in-process store answering at once is not timed, so that a hit reads no clock) |
//! | `webcache_coalesced_total` | counter | — | requests that waited for another request's fill |
//! | `webcache_background_refreshes_total` | counter | — | background refreshes started (stale-while-revalidate, refresh-ahead) |
//! | `webcache_invalidations_total` | counter | — | resources invalidated (unsafe methods, [`Cache::invalidate`]) |
//! | `webcache_purges_total` | counter | `kind` (`url`, `tag`, `flush`), `mode` (`hard`, `soft`) | purges made ([`Cache::purge_url`], [`Cache::purge_tag`], [`Cache::flush`]) |
//!
//! The `outcome` and `reason` of `webcache_requests_total` (reasons are the
//! RFC's directive names and the Cache-Status `fwd` values of RFC 9211):
//!
//! | `outcome` | `reason` |
//! |---|---|
//! | `hit` | `fresh` |
//! | `stale` | `max-stale`, `stale-while-revalidate`; `stale-if-error`, `unreachable` (answered stale without going forward, the upstream having just failed) |
//! | `revalidate` | `stale`, `request` (the stored response went forward for validation) |
//! | `miss` | `uri-miss`, `vary-miss`, `miss`, `request`, `stale`, `partial` |
//! | `bypass` | `bypass` (exempt by configuration), `method` |
//! | `gateway_timeout` | `only-if-cached` |
//!
//! A request that went forward and was then answered stale is counted as
//! `revalidate` (or `miss`) here and in `webcache_stale_on_error_total`.
//!
//! ## Tracing
//!
//! Events and spans use the target `webcache::core`. [`Cache::serve`] runs each
//! request in a `debug` span `webcache.request` (fields `method`, `uri`,
//! and `outcome` and `reason` as above, recorded once); its forward, if
//! any, in a nested `webcache.forward`. Nothing per request is logged
//! above `debug`; store failures are warned about at most once a second.
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

pub mod admin;
pub mod clock;
pub mod config;
// The shared scenario list every adapter runs; documented in the module.
#[cfg(feature = "conformance")]
pub mod conformance;
mod digests;
pub mod error;
pub mod freshness;
pub mod handler;
pub mod headers;
pub mod invalidation;
pub mod key;
pub mod modifiers;
pub mod partial;
pub mod purge;
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
pub use error::{BoxError, DecodeError, Error, InvalidateError, PurgeError, StoreError};
pub use handler::{Cache, CacheBody, CacheBuilder, Later, NotNow, Stats, Upstream};
pub use purge::PurgeMode;
pub use store::{Store, StoreKey, StoredResponse};

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

//! # webcache-axum
//!
//! [webcache](webcache_core) as a tower [`Layer`](tower_layer::Layer): a
//! shared HTTP cache (RFC 9111) in front of any tower `Service` over
//! `http` types — axum routers, hyper services, tonic servers.
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use webcache_axum::{CacheLayer, cache_for};
//!
//! # async fn run() {
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }).layer(cache_for(Duration::from_secs(60))))
//!     .layer(CacheLayer::new(webcache_memory::easy_setup()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! The layer answers hits without calling the inner service, forwards
//! misses (collapsing concurrent ones into one call), validates stale
//! responses with conditional requests, stores what RFC 9111 lets it store,
//! invalidates after unsafe methods, and adds `Age` and `Cache-Status`.
//! Response bodies of known size up to
//! [`Config::max_body_size`](webcache_core::Config::max_body_size) are read
//! before they are sent; others stream through, and are stored once sent
//! when they turn out small enough. Request bodies are never read.
//!
//! The service keeps the inner service's error type and never fails on its
//! own: a store that is down or slow only makes requests go to the inner
//! service. Request bodies must implement `Default` (axum's `Body`,
//! `Full`, `Empty` do; wrap hyper's `Incoming` in `axum::body::Body`),
//! because background refreshes send requests of their own.
//!
//! ## Hyper and tonic
//!
//! `CacheLayer` wraps any `Service<http::Request<B>>`; with hyper, build the
//! service with `tower::ServiceBuilder` or `Layer::layer` and serve it with
//! `hyper_util::service::TowerToHyperService`; with tonic, add it with
//! `Server::builder().layer(...)` (only GET requests are ever cached, so gRPC
//! calls pass straight through).
//!
//! ## Requests flow top to bottom, responses bottom to top
//!
//! The request side and the response side can sit at different depths of a
//! stack. Here the stored responses are the compressed ones, because the
//! response side sits above the compression layer, while hits are answered
//! below it:
//!
//! ```
//! use axum::{Router, routing::get};
//! use webcache_axum::CacheLayer;
//! use tower_http::compression::CompressionLayer;
//!
//! let cache = CacheLayer::new(webcache_memory::easy_setup());
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(cache.request_layer())
//!     .layer(CompressionLayer::new())
//!     .layer(cache.response_layer());
//! ```
//!
//! ## Header helpers
//!
//! [`cache_for`], [`dont_cache`], [`private`] and [`cache_control`] are
//! per-route layers; [`Caching`] is the same as a response part returned by
//! a handler; [`Caching::tags`] names the response's tags for
//! [`Cache::purge_tag`](webcache_core::Cache::purge_tag).
//!
//! ## Purge
//!
//! [`purge_service`] mounts the purge endpoints (by URL, by tag, flush;
//! soft with `?soft=true`) behind a bearer token; see
//! [`webcache_core::admin`] for the protocol.
#![deny(missing_docs)]

mod future;
mod headers;
mod layer;
mod purge;
mod service;

pub use future::ResponseFuture;
pub use headers::{
    CacheHeadersFuture, CacheHeadersLayer, CacheHeadersService, Caching, cache_control, cache_for,
    dont_cache, private,
};
pub use layer::{CacheLayer, RequestLayer, ResponseLayer};
pub use purge::{PurgeService, purge_service};
pub use service::{CacheService, RequestService, ResponseService};
pub use webcache_core::CacheBody;

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

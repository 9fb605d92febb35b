//! # webcache-warp
//!
//! [webcache](webcache_core) for warp: a shared HTTP cache (RFC 9111) in
//! front of a warp filter, served in one call.
//!
//! ```no_run
//! use std::time::Duration;
//! use warp::Filter;
//! use webcache_warp::CachingExt;
//!
//! # async fn run() -> std::io::Result<()> {
//! let hello = warp::path("hello").map(|| "hi").cache_for(Duration::from_secs(60));
//! webcache_warp::serve(hello, webcache_memory::easy_setup())
//!     .run(([127, 0, 0, 1], 3030))
//!     .await
//! # }
//! ```
//!
//! The cache answers hits without running the filter, forwards misses
//! (collapsing concurrent ones into one run of the filter), validates stale
//! responses with conditional requests, refreshes ahead of expiry and
//! within `stale-while-revalidate` in the background, stores what RFC 9111
//! lets it store, invalidates after unsafe methods, and adds `Age` and
//! `Cache-Status`. Bodies over
//! [`Config::max_body_size`](webcache_core::Config::max_body_size) stream
//! through unstored. Every rule comes from `webcache-core`.
//!
//! ## How it fits warp
//!
//! warp's `Filter::with` accepts only warp's own wrappers (its `Wrap` trait
//! is sealed), so the cache cannot be a filter. It is the tower layer of
//! [`webcache_axum`] (which works on any tower `Service`, whatever its
//! name says) around `warp::service(filter)`, the way warp documents for
//! tower middleware:
//!
//! - [`serve`] serves a filter behind a cache, like `warp::serve`;
//! - [`service`] gives the [`CachedFilter`] itself, a tower `Service`, to
//!   serve with hyper-util in a server of your own (HTTP/2, TLS, Unix
//!   sockets) or to wrap in more tower layers;
//! - [`CachingExt`] (per route) and [`reply`] (per reply) set caching header
//!   fields without raw strings;
//! - [`remote_addr`] extracts the peer's address, in place of
//!   `warp::addr::remote()`, which only warp's own server fills in.
//!
//! ## Requests flow top to bottom, responses bottom to top
//!
//! The cache's request side and response side can sit at different depths
//! of a tower stack around the filter: tower layers placed between them see
//! every request, hits included, and the responses are stored as they leave
//! those layers. Their places are in the tower stack only: inside the filter
//! chain (among warp's own wrappers such as `warp::log` or
//! `warp::compression`) neither side can go, because warp's `Wrap` is
//! sealed, so warp's wrappers always run below both, and only on misses.
//!
//! ```no_run
//! use tower_layer::Layer;
//! use warp::Filter;
//! use webcache_warp::{CacheLayer, RequestBodyLayer, Server};
//!
//! # async fn run() -> std::io::Result<()> {
//! let cache = CacheLayer::new(webcache_memory::easy_setup());
//! let route = warp::any().map(|| "hello");
//! let below = cache.request_layer().layer(warp::service(route));
//! // ...any tower layers between the two sides...
//! let stack = RequestBodyLayer.layer(cache.response_layer().layer(below));
//! Server::new(stack).run(([127, 0, 0, 1], 3030)).await
//! # }
//! ```
//!
//! [`RequestBodyLayer`] goes outermost in such a stack: the cache sends
//! requests of its own (background refreshes), which need an empty request
//! body, and hyper's `Incoming` has none.
#![deny(missing_docs)]

mod body;
mod filter;
pub mod reply;
mod server;
mod service;

pub use body::{HasBody, RequestBody, Response, WarpBody};
pub use filter::CachingExt;
pub use server::{RemoteAddr, Server, remote_addr, serve};
pub use service::{CachedFilter, RequestBodyLayer, RequestBodyService, service};
pub use webcache_axum::{CacheLayer, RequestLayer, ResponseLayer};
pub use webcache_core::CacheBody;
pub use webcache_core::headers::{CacheControl, EntityTag};
pub use webcache_core::modifiers::CacheHeaders;

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

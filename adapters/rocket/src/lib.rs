//! # webcache-rocket
//!
//! [webcache](webcache_core) for Rocket 0.5: a shared HTTP cache (RFC 9111)
//! in front of the routes you choose. A hit is answered from storage
//! without running the route's handler.
//!
//! ```no_run
//! use std::time::Duration;
//! use rocket::{get, routes};
//! use webcache_rocket::{CacheFairing, Cached};
//!
//! #[get("/")]
//! fn index() -> Cached<&'static str> {
//!     Cached::cache_for(Duration::from_secs(60), "hello")
//! }
//!
//! #[rocket::launch]
//! fn rocket() -> _ {
//!     let cache = CacheFairing::new(webcache_memory::easy_setup());
//!     rocket::build()
//!         .mount("/", cache.cached(routes![index]))
//!         .attach(cache)
//! }
//! ```
//!
//! ## How it fits Rocket
//!
//! A fairing cannot answer a request, so the cache sits in the routes:
//! [`CacheFairing::cached`] (or [`cached`]) wraps each route's handler. The
//! wrapper asks the core's request handler first: a hit (fresh, or stale
//! where allowed) is the response, and the route's handler and its request
//! guards never run — which is why the shared-cache rules matter: a response
//! to a request with `Authorization` is stored only when it says it may be
//! (`public`, `s-maxage`, `must-revalidate`), so a guard-protected answer
//! stays behind its guard. Everything else goes to the route's handler;
//! concurrent misses are collapsed into one call.
//!
//! The attached [`CacheFairing`] is the response side: its `on_response`
//! hands a cached route's response to the core's response handler, which
//! stores it, adds `ETag` and `Date`, answers the client's preconditions
//! (304/412) and adds `Age` and `Cache-Status` — after Rocket has added the
//! cookies the route set with its `CookieJar`, so that a response setting a
//! cookie is seen as one. Response bodies of known size up to
//! [`Config::max_body_size`](webcache_core::Config::max_body_size) are read
//! before they are sent; others stream through (and are stored once sent
//! when they turn out small enough).
//!
//! The fairing also learns the server's address at liftoff. Rocket hands a
//! handler the client's request, immutable, with a body it can read once,
//! so whenever the route must see a request other than the client's — a
//! validation with the cache's own `If-None-Match`, a miss whose client
//! preconditions the cache answers itself, a background refresh
//! (refresh-ahead, `stale-while-revalidate`), the one retry after an
//! unusable 304 — the cache sends it to its own server over loopback
//! (plain HTTP), marked with a per-process token that lets it through the
//! cached route to the route's handler unlooked-up. Without the fairing the
//! wrapper finishes responses itself (and cannot see `CookieJar` cookies),
//! the route sees the client's request, and background refreshes are
//! skipped: attach it.
//!
//! ## Placement among fairings
//!
//! Fairings run in the order they are attached, around the routes:
//!
//! - `on_request` fairings run before the cache: what they change (a
//!   rewritten URI, an added header) is what the cache keys on and what the
//!   route sees.
//! - `on_response` fairings attached before the [`CacheFairing`] change a
//!   cached route's response before it is stored; those attached after it
//!   change what is sent, not what is stored. Both kinds run on hits too (a
//!   hit is a response like any other), so they must be idempotent: a
//!   compressor must leave a response with `Content-Encoding` alone.
//! - A loopback request goes through every fairing, like any request: its
//!   response is stored as all of them left it.
//!
//! ## Header helpers
//!
//! [`Cached`] wraps any responder and sets its caching header fields with
//! [`webcache_core::modifiers::CacheHeaders`], without raw strings.
#![deny(missing_docs)]

mod body;
mod convert;
mod error;
mod fairing;
mod handler;
mod local;
mod loopback;
mod responder;

use rocket::Route;
use webcache_core::Store;
use webcache_core::handler::Policy;

pub use error::Error;
pub use fairing::CacheFairing;
pub use handler::CachedHandler;
pub use responder::Cached;

/// `routes` behind `cache`: the same as [`CacheFairing::cached`].
///
/// ```no_run
/// # use rocket::{get, routes};
/// # #[get("/")] fn index() -> &'static str { "hello" }
/// let cache = webcache_rocket::CacheFairing::new(webcache_memory::easy_setup());
/// let rocket = rocket::build()
///     .mount("/", webcache_rocket::cached(&cache, routes![index]))
///     .attach(cache);
/// ```
pub fn cached<S, M>(cache: &CacheFairing<S, M>, routes: Vec<Route>) -> Vec<Route>
where
    S: Store + Sync + 'static,
    M: Policy + Sync + 'static,
{
    cache.cached(routes)
}

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

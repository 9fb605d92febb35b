#![doc = include_str!("../README.md")]
//!
//! ## What is re-exported
//!
//! Everything of [`webcache_core`] is at the root of this crate: [`Cache`],
//! [`Config`], the [`Store`] trait, the header parsers ([`headers`]), the
//! response helpers ([`modifiers`]) and the rules' modules. Each store and
//! adapter is a module behind a feature of the same name:
//!
//! | feature | module | crate |
//! |---|---|---|
//! | `memory` (default) | [`memory`], and [`easy_setup`] at the root | `webcache-memory` |
//! | `redis` | `redis` | `webcache-redis` |
//! | `sqlite` | `sqlite` | `webcache-sqlite` |
//! | `axum` | `axum` | `webcache-axum` (any tower `Service`) |
//! | `warp` | `warp` | `webcache-warp` |
//! | `rocket` | `rocket` | `webcache-rocket` |
//! | `metrics` (default) | — | the core's counters through the `metrics` facade |
//! | `serde` | — | `serde::Serialize` on [`Stats`] |
#![deny(missing_docs)]

pub use webcache_core::*;

/// The in-memory store ([`MemoryStore`](memory::MemoryStore)), from
/// `webcache-memory` (feature `memory`, on by default).
#[cfg(feature = "memory")]
pub use webcache_memory as memory;

/// A working cache in one call: a 64 MiB in-memory store with `/static/`
/// exempt ([`memory::easy_setup`]).
///
/// ```
/// let cache = webcache::easy_setup();
/// assert!(cache.config().is_exempt("/static/app.css"));
/// ```
#[cfg(feature = "memory")]
pub use webcache_memory::easy_setup;

/// The Redis store, shared by every instance of a service, from
/// `webcache-redis` (feature `redis`).
#[cfg(feature = "redis")]
pub use webcache_redis as redis;

/// The persistent SQLite store, from `webcache-sqlite` (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use webcache_sqlite as sqlite;

/// The tower layer for axum, hyper, tonic and any tower `Service`, from
/// `webcache-axum` (feature `axum`).
#[cfg(feature = "axum")]
pub use webcache_axum as axum;

/// The cache around a warp filter, from `webcache-warp` (feature `warp`).
#[cfg(feature = "warp")]
pub use webcache_warp as warp;

/// Cached Rocket routes and the fairing, from `webcache-rocket` (feature
/// `rocket`).
#[cfg(feature = "rocket")]
pub use webcache_rocket as rocket;

/// The repository's README, whose Rust code blocks are compiled (and the
/// runnable ones run) as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}

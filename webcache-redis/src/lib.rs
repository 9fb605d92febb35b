//! # webcache-redis
//!
//! The shared, distributed store for [webcache](webcache_core): every
//! instance of a service that points at the same Redis sees what any of
//! them stored, Redis expires entries itself (`SET … PX`), and a cache hit
//! costs one round trip (one `MGET` of the resource's metadata and the
//! selected representation). Redis Cluster is supported (feature
//! `cluster`, on by default): all keys of a resource share a hash tag, so
//! they stay in one slot.
//!
//! ```no_run
//! use webcache_core::{Cache, Config};
//! use webcache_redis::RedisStore;
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // No I/O here: the store connects on first use, and reconnects by itself.
//! let store = RedisStore::open("redis://127.0.0.1:6379")?;
//! let cache = Cache::new(store, Config::default());
//! // Put `cache` in front of the application with an adapter, e.g.
//! // `webcache_axum::CacheLayer::new(cache)`, or call `cache.serve(..)`.
//! # let _ = cache;
//! # Ok(())
//! # }
//! ```
//!
//! ## When Redis is down or slow
//!
//! The cache never fails a request because of its store: every store
//! operation is bounded by
//! [`Config::store_timeout`](webcache_core::Config::store_timeout) (250 ms
//! by default) and a failed one sends the request to the application. This
//! store adds to that:
//!
//! - building it does no I/O, so a service starts while Redis is down;
//! - connection attempts and replies are bounded by their own timeouts
//!   (200 ms each by default), so no call hangs on a dead server;
//! - once Redis is found unreachable, operations fail at once for a
//!   window of 50 ms, doubled by each failed probe up to 1 s, so an outage
//!   adds nothing to a request's latency and a stalled server is not sent
//!   a command per request;
//! - the connection is remade by itself, and the first successful probe
//!   after Redis is back resumes the cache.
//!
//! ## Keys
//!
//! `<prefix>{<resource hex>}` holds a resource's metadata and
//! `<prefix>{<resource hex>}:<variant hex>` each of its representations;
//! the prefix is `webcache:` unless set with
//! [`RedisStoreBuilder::prefix`]. Values are webcache's versioned binary
//! entries. Nothing else is written, so `redis-cli --scan --pattern
//! 'webcache:*'` lists the whole cache, and a Redis with a `maxmemory`
//! and an eviction policy such as `allkeys-lru` bounds its size.
#![deny(missing_docs)]

mod backoff;
mod builder;
mod connection;
mod error;
mod key;
mod near;
mod purge;
mod store;

pub use builder::{
    DEFAULT_BACKOFF_MAX, DEFAULT_BACKOFF_MIN, DEFAULT_CONNECTION_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT,
    RedisStoreBuilder,
};
pub use error::Error;
pub use key::DEFAULT_PREFIX;
pub use near::{DEFAULT_NEAR_HEARTBEAT, NearState, NearStats};
pub use store::RedisStore;

/// The Redis client this crate is built on, for building a
/// [`redis::Client`] or [`redis::cluster::ClusterClient`] with settings of
/// your own.
///
/// ```
/// let client = webcache_redis::redis::Client::open("redis://127.0.0.1/")?;
/// let store = webcache_redis::RedisStore::new(client);
/// # Ok::<(), webcache_redis::redis::RedisError>(())
/// ```
pub use redis;

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

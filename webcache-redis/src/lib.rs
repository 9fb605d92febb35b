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
//! ## The near tier (opt-in)
//!
//! A Redis hit is a network round trip; a memory hit is not.
//! [`RedisStoreBuilder::near_cache`] adds an in-process copy of what this
//! instance read, in front of Redis, kept coherent by Redis itself
//! (server-assisted client-side caching, Redis 6 or later):
//!
//! ```no_run
//! use webcache_core::{Cache, Config};
//! use webcache_redis::RedisStore;
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = redis::Client::open("redis://127.0.0.1:6379")?;
//! let store = RedisStore::builder(client)
//!     .near_cache(64 << 20) // at most about 64 MiB in this process
//!     .build()?;
//! let cache = Cache::new(store.clone(), Config::default());
//! // Later: store.near_stats() has its hits, misses, invalidations, state.
//! # let _ = cache;
//! # Ok(())
//! # }
//! ```
//!
//! - **How it stays coherent.** Reads that may fill the tier go through a
//!   connection of their own, in RESP3 with `CLIENT TRACKING ON`: Redis
//!   remembers the keys that connection read and pushes an `invalidate`
//!   message when one is written, deleted, expired or evicted by anyone
//!   (a null one on `FLUSHALL`: everything is dropped). The connection's
//!   reader applies each push before it hands over any later reply. A read
//!   notes its keys' shard epochs before its `MGET` is sent and its reply
//!   is inserted only if no invalidation came meanwhile; this instance's
//!   own writes, deletes and purge bumps drop their keys before they are
//!   sent and again once answered (so it reads its own writes at once, even
//!   with reads of the same keys in flight). Absent keys (most purge records) are held as absent too.
//! - **The bound.** A write acknowledged to any instance is not served as
//!   fresh from another's near tier later than the invalidation's trip
//!   from Redis (Redis queues the push before it acknowledges the write,
//!   so this is one one-way network trip), while Redis is reachable; and
//!   in every case not later than **two heartbeats** (200 ms by default,
//!   [`RedisStoreBuilder::near_heartbeat`]): the tracking connection is
//!   sent a `PING` every heartbeat, and a near hit is served only while the
//!   last answered `PING` was sent less than two heartbeats ago (an answer
//!   comes after every push Redis queued before it).
//! - **When the channel breaks** (the connection drops, a `PING` fails or
//!   takes longer than a heartbeat, a read fails, Redis is found
//!   unreachable), the tier is emptied and turned off, and every read goes
//!   to Redis (failing open as usual) until a new tracking connection is
//!   up, with tracking enabled on it again.
//! - **Memory**: a byte capacity over keys, values and a fixed overhead
//!   per entry, in 64 shards, with CLOCK (second-chance) eviction. Repeated
//!   hits return clones of the same [`Bytes`](bytes::Bytes), never copies.
//! - **Limits**: a server without RESP3 or `CLIENT TRACKING` (Redis before
//!   6, or the command renamed away) leaves the tier off
//!   ([`NearState::Unsupported`], logged once) and the store works as
//!   without it; a Redis Cluster store refuses it
//!   ([`Error::NearCacheOnCluster`]). An entry is dropped when Redis
//!   actually deletes its expired key (its expiry cycle may lag the TTL);
//!   until then the core judges it by its own freshness rules, which make
//!   it stale by then, never fresh.
//! - **Cost**: one more connection per store, and Redis's tracking table
//!   (bounded by its `tracking-table-max-keys`; when full Redis drops keys
//!   from it and sends their invalidations).
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

//! The near tier: an in-process copy of what this instance read from
//! Redis, kept coherent by Redis's server-assisted client-side caching
//! (RESP3, `CLIENT TRACKING ON`). Opt-in with
//! [`RedisStoreBuilder::near_cache`](crate::RedisStoreBuilder::near_cache).
//!
//! - [`tier`]: the memory (sharded, bounded in bytes, CLOCK eviction) and
//!   the session, epoch and heartbeat rules that decide what may be
//!   served and inserted; no I/O.
//! - [`tracking`]: the tracking connection, its invalidation pushes, its
//!   heartbeat, and its re-establishment.

pub(crate) mod tier;
pub(crate) mod tracking;

use std::sync::atomic::Ordering;
use std::time::Duration;

/// The default near tier heartbeat: a `PING` every 100 ms on the tracking
/// connection. A near hit is served only while the last answered `PING`
/// was sent less than two heartbeats ago, which bounds how stale a near
/// hit can be when the invalidation channel dies silently.
///
/// ```
/// # use std::time::Duration;
/// assert_eq!(webcache_redis::DEFAULT_NEAR_HEARTBEAT, Duration::from_millis(100));
/// ```
pub const DEFAULT_NEAR_HEARTBEAT: Duration = Duration::from_millis(100);

/// Whether the near tier serves hits now.
///
/// ```
/// use webcache_redis::NearState;
///
/// let state = NearState::Off;
/// assert_ne!(state, NearState::On);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NearState {
    /// Not tracking yet, or the tracking connection broke: the tier is
    /// empty and every read goes to Redis until a new tracking connection
    /// is up.
    Off,
    /// Tracking: reads are served from the tier where it holds the keys.
    On,
    /// Redis refused RESP3 or `CLIENT TRACKING` (Redis before 6, or the
    /// command disabled): the tier stays off for the store's lifetime.
    Unsupported,
}

/// The near tier's counters and size, from
/// [`RedisStore::near_stats`](crate::RedisStore::near_stats).
///
/// ```
/// let client = redis::Client::open("redis://127.0.0.1/")?;
/// let store = webcache_redis::RedisStore::builder(client).near_cache(64 << 20).build()?;
/// let stats = store.near_stats().expect("near tier configured");
/// assert_eq!(stats.hits, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NearStats {
    /// Serving or not.
    pub state: NearState,
    /// `get_many` calls answered entirely by the tier (no Redis command).
    pub hits: u64,
    /// `get_many` calls that sent an `MGET` (for the keys the tier lacked).
    pub misses: u64,
    /// Entries dropped because Redis or a local write said they changed.
    pub invalidations: u64,
    /// Times the whole tier was dropped (`FLUSHALL`, a broken tracking
    /// connection).
    pub flushes: u64,
    /// Entries evicted to stay within the capacity.
    pub evictions: u64,
    /// Replies not inserted because an invalidation or a flush came while
    /// they were in flight.
    pub refused_inserts: u64,
    /// Entries held now.
    pub entries: u64,
    /// Bytes held now (keys, values and a fixed overhead per entry).
    pub bytes: u64,
}

impl tracking::Tracking {
    /// The counters, size and state.
    pub(crate) fn stats(&self) -> NearStats {
        let c = &self.tier.counters;
        let (entries, bytes) = self.tier.size();
        let state = if self.unsupported() {
            NearState::Unsupported
        } else if self.tier.session() != 0 {
            NearState::On
        } else {
            NearState::Off
        };
        NearStats {
            state,
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            invalidations: c.invalidations.load(Ordering::Relaxed),
            flushes: c.flushes.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            refused_inserts: c.refused_inserts.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }
}

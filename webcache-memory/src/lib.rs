//! # webcache-memory
//!
//! The embedded, in-process store for [webcache](webcache_core): a
//! [moka](https://docs.rs/moka) cache whose capacity is a number of **bytes**
//! (not entries), where each entry expires at the time-to-live the cache
//! computed for it, and whose values are [`Bytes`] so that a hit never
//! copies a body.
//!
//! One call gives a working cache:
//!
//! ```
//! let cache = webcache_memory::easy_setup();
//! assert!(cache.config().is_exempt("/static/app.css"));
//! ```
//!
//! Or choose the capacity and configuration:
//!
//! ```
//! use webcache_core::{Cache, Config};
//! use webcache_memory::MemoryStore;
//!
//! let store = MemoryStore::new(256 << 20); // 256 MiB
//! let cache = Cache::new(store, Config::default());
//! # let _ = cache;
//! ```
#![deny(missing_docs)]

mod changes;
mod purge;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::notification::RemovalCause;
use moka::sync::Cache as Moka;
use webcache_core::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use webcache_core::store::{Store, StoreKey, Write};
use webcache_core::{Cache, Config, StoreError};

/// Bytes accounted to every entry on top of its value (measured with the
/// `rss` example: about 500 bytes per entry): the key, moka's
/// bookkeeping and the allocation headers, so that a capacity of N bytes
/// keeps the process near N bytes even for many small entries.
pub const ENTRY_OVERHEAD: u32 = 512;

/// The default capacity of [`easy_setup`]: 64 MiB.
pub const DEFAULT_CAPACITY: u64 = 64 << 20;

#[derive(Clone)]
struct Value {
    bytes: Bytes,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<StoreKey, Value> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &StoreKey,
        value: &Value,
        _now: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _key: &StoreKey,
        value: &Value,
        _now: Instant,
        _remaining: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

type Digest = [u8; 16];

/// The representations stored under each resource, so that
/// [`Store::delete_resource`] removes them without a scan. Sharded by the
/// resource digest's first byte; kept in step with the entries by moka's
/// eviction listener. A representation missing from it (a race between an
/// eviction and a re-insert of the same key) is only space held until its
/// TTL: representations are reachable only through their resource's
/// metadata, which `delete_resource` always removes.
#[derive(Default)]
struct Variants {
    shards: [Mutex<HashMap<Digest, Vec<Digest>>>; 16],
}

impl Variants {
    fn shard(&self, resource: &Digest) -> std::sync::MutexGuard<'_, HashMap<Digest, Vec<Digest>>> {
        self.shards[usize::from(resource[0] & 15)]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, resource: &Digest, variant: &Digest) {
        let mut shard = self.shard(resource);
        let list = shard.entry(*resource).or_default();
        if !list.contains(variant) {
            list.push(*variant);
        }
    }

    fn remove(&self, resource: &Digest, variant: &Digest) {
        let mut shard = self.shard(resource);
        if let Some(list) = shard.get_mut(resource) {
            list.retain(|v| v != variant);
            if list.is_empty() {
                shard.remove(resource);
            }
        }
    }

    fn take(&self, resource: &Digest) -> Vec<Digest> {
        self.shard(resource).remove(resource).unwrap_or_default()
    }

    fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// An in-memory [`Store`], bounded by bytes. Cheap to clone; clones share
/// the same entries.
#[derive(Clone)]
pub struct MemoryStore {
    /// moka's synchronous cache: a lookup is a plain call that never
    /// waits, so the store's futures stay small (moka's future cache made
    /// a hit's lookup future some 2.7 KB, copied as it moves, and cost
    /// about 900 more instructions a hit).
    entries: Moka<StoreKey, Value>,
    variants: Arc<Variants>,
    records: Arc<purge::Records>,
    tags: Arc<purge::Tags>,
    /// Moved after every write (see [`Store::change_count`]).
    changes: Arc<changes::Changes>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("entries", &self.entries.entry_count())
            .field("weighted_size", &self.entries.weighted_size())
            .finish()
    }
}

impl MemoryStore {
    /// A store holding at most `capacity` bytes of values (plus
    /// [`ENTRY_OVERHEAD`] per entry). Least recently and least frequently
    /// used entries are evicted first (moka's TinyLFU).
    ///
    /// ```
    /// use webcache_core::{Cache, Config};
    /// use webcache_memory::MemoryStore;
    ///
    /// let store = MemoryStore::new(256 << 20); // 256 MiB
    /// assert_eq!(store.entry_count(), 0);
    /// let cache = Cache::new(store, Config::default());
    /// # let _ = cache;
    /// ```
    pub fn new(capacity: u64) -> MemoryStore {
        let variants = Arc::new(Variants::default());
        let index = variants.clone();
        let entries = Moka::builder()
            .max_capacity(capacity)
            .weigher(|_key: &StoreKey, value: &Value| -> u32 {
                u32::try_from(value.bytes.len())
                    .unwrap_or(u32::MAX)
                    .saturating_add(ENTRY_OVERHEAD)
            })
            .expire_after(PerEntryTtl)
            .eviction_listener(move |key: Arc<StoreKey>, _, cause| {
                if let (Some(variant), false) = (key.variant(), cause == RemovalCause::Replaced) {
                    index.remove(key.resource(), variant);
                }
            })
            .build();
        MemoryStore {
            entries,
            variants,
            records: Arc::default(),
            tags: Arc::default(),
            changes: Arc::default(),
        }
    }

    /// The number of entries (approximate until pending maintenance runs).
    ///
    /// ```
    /// let cache = webcache_memory::easy_setup();
    /// assert_eq!(cache.store().entry_count(), 0);
    /// ```
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }

    /// The bytes accounted to the entries (approximate until pending
    /// maintenance runs).
    ///
    /// ```
    /// let store = webcache_memory::MemoryStore::new(1 << 20);
    /// assert!(store.weighted_size() <= 1 << 20);
    /// ```
    pub fn weighted_size(&self) -> u64 {
        self.entries.weighted_size()
    }

    /// Runs pending evictions and expirations now.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = webcache_memory::MemoryStore::new(1 << 20);
    /// store.run_pending_tasks().await;
    /// assert_eq!(store.entry_count(), 0);
    /// # });
    /// ```
    pub async fn run_pending_tasks(&self) {
        self.entries.run_pending_tasks();
    }

    /// Removes every entry (to drop the whole cache while it serves, a new
    /// [`master_salt`](webcache_core::ConfigBuilder::master_salt) does the same for every store).
    ///
    /// ```
    /// let cache = webcache_memory::easy_setup();
    /// cache.store().clear();
    /// assert_eq!(cache.store().entry_count(), 0);
    /// ```
    pub fn clear(&self) {
        self.entries.invalidate_all();
        self.variants.clear();
        self.records.clear();
        self.tags.clear();
        self.changes.changed_all();
    }
}

impl MemoryStore {
    /// Counts a write at `key`, once it is visible.
    fn changed(&self, key: &StoreKey) {
        if key.is_global() {
            self.changes.changed_all();
        } else {
            self.changes.changed(key.resource());
        }
    }
}

impl Store for MemoryStore {
    /// True: every read is a lookup in memory.
    fn reads_without_waiting(&self) -> bool {
        true
    }

    /// Counted per stripe of resources, and once for all of them.
    fn change_count(&self, resource: &[u8; 16]) -> Option<u64> {
        Some(self.changes.count(resource))
    }

    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if key.is_purge_record() {
                out.push(self.records.get(key));
            } else {
                out.push(self.entries.get(key).map(|v| v.bytes));
            }
        }
        Ok(out)
    }

    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        for w in writes {
            if w.key.is_purge_record() {
                // Written by `bump` only.
                continue;
            }
            if let Some(variant) = w.key.variant() {
                self.variants.add(w.key.resource(), variant);
            }
            self.entries.insert(
                w.key,
                Value {
                    bytes: w.value,
                    ttl: w.ttl,
                },
            );
            self.changes.changed(w.key.resource());
        }
        Ok(())
    }

    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        for key in keys {
            self.entries.invalidate(key);
            self.changed(key);
        }
        Ok(())
    }

    /// Removes the metadata and every representation of `resource`, found
    /// in the per-resource index (no scan).
    async fn delete_resource(&self, resource: &[u8; 16]) -> Result<(), StoreError> {
        self.entries.invalidate(&StoreKey::metadata(*resource));
        for variant in self.variants.take(resource) {
            self.entries
                .invalidate(&StoreKey::representation(*resource, variant));
        }
        self.changes.changed(resource);
        Ok(())
    }

    /// Under a lock per shard of records: atomic.
    async fn bump(&self, keys: &[StoreKey], bump: Bump) -> Result<Vec<PurgeRecord>, StoreError> {
        let records = keys.iter().map(|k| self.records.bump(k, bump)).collect();
        keys.iter().for_each(|k| self.changed(k));
        Ok(records)
    }

    async fn tag(
        &self,
        tags: &[[u8; 16]],
        resource: &[u8; 16],
        ttl: Duration,
    ) -> Result<TagMarks, StoreError> {
        Ok(tags
            .iter()
            .map(|t| self.tags.add(t, resource, ttl))
            .fold(TagMarks::default(), TagMarks::max))
    }

    async fn take_tag(
        &self,
        tag: &[u8; 16],
        seq: u64,
        mode: PurgeMode,
    ) -> Result<Vec<[u8; 16]>, StoreError> {
        let members = self.tags.take(tag, seq, mode);
        self.changes.changed_all();
        Ok(members)
    }
}

/// The configuration [`easy_setup`] uses: the defaults of [`Config`], plus
/// `/static/` exempt (static files have their own caching), and in debug
/// builds a master salt regenerated at every start, so that a restarted
/// development server never serves what an older build stored.
///
/// ```
/// let config = webcache_memory::easy_config();
/// assert!(config.is_exempt("/static/logo.png"));
/// assert!(!config.is_exempt("/products"));
/// ```
pub fn easy_config() -> Config {
    let mut builder = Config::builder().resource_exemptions(["/static/"]);
    if cfg!(debug_assertions) {
        let salt = format!("{:?}", std::time::SystemTime::now());
        builder = builder.master_salt(salt);
    }
    builder
        .build()
        .expect("the easy_setup configuration is valid")
}

/// A working cache in one call: a 64 MiB [`MemoryStore`] and
/// [`easy_config`].
///
/// ```
/// let cache = webcache_memory::easy_setup();
/// assert_eq!(cache.config().max_body_size(), 8 << 20);
/// // then: `webcache_axum::CacheLayer::new(cache)`, `webcache_warp::serve(filter, cache)`, ...
/// ```
pub fn easy_setup() -> Cache<MemoryStore> {
    Cache::new(MemoryStore::new(DEFAULT_CAPACITY), easy_config())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> StoreKey {
        StoreKey::representation([n; 16], [0; 16])
    }

    #[tokio::test]
    async fn capacity_is_in_bytes() {
        let store = MemoryStore::new(10 * 1024);
        for n in 0..40u8 {
            store
                .put(key(n), Bytes::from(vec![n; 1024]), Duration::from_secs(60))
                .await
                .unwrap();
        }
        store.run_pending_tasks().await;
        assert!(
            store.weighted_size() <= 10 * 1024,
            "{}",
            store.weighted_size()
        );
        assert!(store.entry_count() < 40);
    }

    #[tokio::test]
    async fn a_hit_shares_the_stored_bytes() {
        let store = MemoryStore::new(1 << 20);
        let value = Bytes::from(vec![7u8; 4096]);
        store
            .put(key(1), value.clone(), Duration::from_secs(60))
            .await
            .unwrap();
        let got = store.get(key(1)).await.unwrap().unwrap();
        assert_eq!(got.as_ptr(), value.as_ptr(), "no copy on a hit");
    }
}

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

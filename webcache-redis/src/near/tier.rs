//! The near tier's memory: values by Redis key, sharded, bounded in bytes,
//! with the bookkeeping that keeps it coherent. No I/O here: the tracking
//! connection ([`super::tracking`]) and the store call in.
//!
//! Coherence rests on three numbers:
//!
//! - the **session**: non-zero while a tracking connection is healthy (its
//!   id), zero while the tier is off. Entries are only inserted under the
//!   session they were read in; turning off flushes everything.
//! - each shard's **epoch**, raised by every invalidation or flush of the
//!   shard. A read takes the epochs of its keys' shards *before* it sends
//!   its `MGET`, and its reply is inserted only if they are unchanged,
//!   under the shard's lock: an invalidation processed while the read was
//!   in flight prevents the insert.
//! - the **heartbeat deadline**: hits are served only while the last
//!   answered `PING` was sent less than two heartbeat intervals ago.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::key::hash_tag;

/// Shards: invalidations and inserts of one shard serialise on its lock.
const SHARDS: usize = 64;

/// What an entry costs beyond its key and value (map slot, queue slot,
/// `Bytes` headers), counted against the capacity.
const ENTRY_OVERHEAD: usize = 96;

/// One cached value: `None` is a key Redis said is absent.
struct Slot {
    value: Option<Bytes>,
    cost: usize,
    /// Set by a hit, cleared by the eviction clock's first pass.
    referenced: bool,
}

#[derive(Default)]
struct Shard {
    map: HashMap<Bytes, Slot>,
    /// Keys in insertion order, for the CLOCK eviction; may hold keys
    /// already removed (skipped when met).
    clock: VecDeque<Bytes>,
    bytes: usize,
    epoch: u64,
}

impl Shard {
    fn remove(&mut self, key: &[u8]) -> bool {
        match self.map.remove(key) {
            Some(slot) => {
                self.bytes -= slot.cost;
                true
            }
            None => false,
        }
    }

    fn clear(&mut self) -> usize {
        let n = self.map.len();
        self.map.clear();
        self.clock.clear();
        self.bytes = 0;
        self.epoch += 1;
        n
    }

    /// Evicts until `bytes <= capacity` (second chance for referenced
    /// entries); returns how many were evicted.
    fn evict(&mut self, capacity: usize) -> u64 {
        let mut evicted = 0;
        while self.bytes > capacity {
            let Some(key) = self.clock.pop_front() else {
                break;
            };
            match self.map.get_mut(&key) {
                Some(slot) if slot.referenced => {
                    slot.referenced = false;
                    self.clock.push_back(key);
                }
                Some(_) => {
                    self.remove(&key);
                    evicted += 1;
                }
                None => {}
            }
        }
        // Keys removed by invalidations linger in the clock: compact it
        // when they outnumber the live ones.
        if self.clock.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.clock.retain(|k| map.contains_key(k));
        }
        evicted
    }
}

/// What a lookup found, and what its `MGET` must match to be inserted.
#[derive(Debug)]
pub(crate) struct Lookup {
    /// Per key: `Some(value)` served by the near tier, `None` to read.
    pub(crate) found: Vec<Option<Option<Bytes>>>,
    /// The session the lookup ran in; zero when the tier is off (nothing
    /// found, nothing to insert).
    pub(crate) session: u64,
    epochs: Vec<u64>,
}

impl Lookup {
    /// True when every key was served.
    pub(crate) fn is_complete(&self) -> bool {
        self.found.iter().all(Option::is_some)
    }
}

/// Counters, for [`NearStats`](super::NearStats).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) refused_inserts: AtomicU64,
}

/// The near tier's memory.
pub(crate) struct Tier {
    shards: Box<[Mutex<Shard>]>,
    shard_capacity: usize,
    hasher: std::hash::RandomState,
    session: AtomicU64,
    clock: Instant,
    /// Milliseconds since `clock` before which hits may be served.
    fresh_until: AtomicU64,
    /// How long after an answered `PING` was sent hits may be served.
    bound: Duration,
    pub(crate) counters: Counters,
}

impl Tier {
    /// A tier of at most about `capacity` bytes, serving hits at most
    /// `bound` after the last answered heartbeat was sent. Starts off.
    pub(crate) fn new(capacity: usize, bound: Duration) -> Tier {
        Tier {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_capacity: capacity / SHARDS,
            hasher: std::hash::RandomState::new(),
            session: AtomicU64::new(0),
            clock: Instant::now(),
            fresh_until: AtomicU64::new(0),
            bound,
            counters: Counters::default(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The shard of a Redis key: by its hash tag (the resource), so that
    /// every key of a resource shares one shard.
    fn shard_of(&self, key: &[u8]) -> usize {
        // The remainder is below SHARDS, which fits usize.
        (self.hasher.hash_one(hash_tag(key)) % SHARDS as u64) as usize
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard> {
        // A panic while holding a shard lock leaves a consistent map (every
        // update completes before anything can panic); keep serving.
        self.shards[shard]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current session, or zero when off.
    pub(crate) fn session(&self) -> u64 {
        self.session.load(Ordering::Acquire)
    }

    /// True when hits may be served now: on, and the heartbeat recent.
    fn serving(&self) -> bool {
        self.session() != 0 && self.now_ms() < self.fresh_until.load(Ordering::Acquire)
    }

    /// Looks `keys` up. Off (or heartbeat overdue): nothing found, session
    /// zero. Otherwise each key's value if held, and the epochs its `MGET`
    /// reply must match.
    pub(crate) fn lookup(&self, keys: &[Vec<u8>]) -> Lookup {
        let session = self.session();
        if session == 0 || !self.serving() {
            return Lookup {
                found: vec![None; keys.len()],
                session: 0,
                epochs: Vec::new(),
            };
        }
        let mut found = Vec::with_capacity(keys.len());
        let mut epochs = Vec::with_capacity(keys.len());
        for key in keys {
            let mut shard = self.lock(self.shard_of(key));
            epochs.push(shard.epoch);
            found.push(shard.map.get_mut(&key[..]).map(|slot| {
                slot.referenced = true;
                slot.value.clone()
            }));
        }
        Lookup {
            found,
            session,
            epochs,
        }
    }

    /// Inserts the values read for the keys `lookup` did not find, each
    /// only if the session and its shard's epoch are those `lookup` saw.
    /// `values` holds one value per key `lookup` did not find, in order.
    pub(crate) fn insert(&self, lookup: &Lookup, keys: &[Vec<u8>], values: &[Option<Bytes>]) {
        if lookup.session == 0 {
            return;
        }
        let missing = lookup.found.iter().enumerate().filter(|(_, f)| f.is_none());
        for ((i, _), value) in missing.zip(values) {
            let key = &keys[i];
            let cost = key.len() + value.as_ref().map_or(0, Bytes::len) + ENTRY_OVERHEAD;
            if cost > self.shard_capacity {
                continue;
            }
            let mut shard = self.lock(self.shard_of(key));
            // Under the lock: a flush turns the session off before it
            // clears the shards, and an invalidation raises the epoch.
            if self.session() != lookup.session || shard.epoch != lookup.epochs[i] {
                self.counters
                    .refused_inserts
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let key = Bytes::copy_from_slice(key);
            shard.remove(&key);
            shard.bytes += cost;
            shard.clock.push_back(key.clone());
            let value = value.clone();
            shard.map.insert(
                key,
                Slot {
                    value,
                    cost,
                    referenced: false,
                },
            );
            let evicted = shard.evict(self.shard_capacity);
            self.counters
                .evictions
                .fetch_add(evicted, Ordering::Relaxed);
        }
    }

    /// Drops the entry of the Redis key `key`, and prevents the insert of
    /// any read of it in flight.
    pub(crate) fn invalidate(&self, key: &[u8]) {
        let mut shard = self.lock(self.shard_of(key));
        shard.epoch += 1;
        if shard.remove(key) {
            self.counters.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drops every entry whose Redis key starts with `resource_key` (a
    /// resource's metadata key: itself and all its representations).
    pub(crate) fn invalidate_resource(&self, resource_key: &[u8]) {
        let mut shard = self.lock(self.shard_of(resource_key));
        shard.epoch += 1;
        let before = shard.map.len();
        let mut freed = 0;
        shard.map.retain(|k, slot| {
            let keep = !k.starts_with(resource_key);
            if !keep {
                freed += slot.cost;
            }
            keep
        });
        shard.bytes -= freed;
        let removed = before - shard.map.len();
        self.counters
            .invalidations
            .fetch_add(removed as u64, Ordering::Relaxed);
    }

    /// Drops everything (Redis said so, e.g. after `FLUSHALL`); stays on.
    pub(crate) fn flush(&self) {
        for shard in 0..SHARDS {
            self.lock(shard).clear();
        }
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);
    }

    /// Turns the tier on for `session` (non-zero), serving hits until
    /// the heartbeat is overdue.
    pub(crate) fn turn_on(&self, session: u64, answered_ping_sent_at: Instant) {
        self.heartbeat(answered_ping_sent_at);
        self.session.store(session, Ordering::Release);
    }

    /// Turns the tier off and flushes it, if `session` is still the
    /// current one; true if it was.
    pub(crate) fn turn_off(&self, session: u64) -> bool {
        let off = self
            .session
            .compare_exchange(session, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if off {
            self.flush();
        }
        off
    }

    /// Records a `PING` sent at `sent_at` and answered: every invalidation
    /// Redis queued before it is applied, so hits may be served until
    /// `sent_at + bound`.
    pub(crate) fn heartbeat(&self, sent_at: Instant) {
        let sent = u64::try_from(sent_at.saturating_duration_since(self.clock).as_millis())
            .unwrap_or(u64::MAX);
        let bound = u64::try_from(self.bound.as_millis()).unwrap_or(u64::MAX);
        self.fresh_until
            .fetch_max(sent.saturating_add(bound), Ordering::AcqRel);
    }

    /// Entries held and bytes counted against the capacity.
    pub(crate) fn size(&self) -> (u64, u64) {
        let (mut entries, mut bytes) = (0u64, 0u64);
        for shard in 0..SHARDS {
            let s = self.lock(shard);
            entries += s.map.len() as u64;
            bytes += s.bytes as u64;
        }
        (entries, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: Duration = Duration::from_secs(60);

    fn on(capacity: usize) -> Tier {
        let tier = Tier::new(capacity, BOUND);
        tier.turn_on(1, Instant::now());
        tier
    }

    fn keys(names: &[&str]) -> Vec<Vec<u8>> {
        names.iter().map(|n| n.as_bytes().to_vec()).collect()
    }

    fn fill(tier: &Tier, keys: &[Vec<u8>], values: &[Option<Bytes>]) {
        let lookup = tier.lookup(keys);
        tier.insert(&lookup, keys, values);
    }

    #[test]
    fn a_read_reply_is_served_again_as_the_same_buffer_and_absent_keys_too() {
        let tier = on(1 << 20);
        let k = keys(&["w:{aa}", "w:{aa}:p"]);
        let value = Bytes::from(vec![7u8; 100]);
        fill(&tier, &k, &[Some(value.clone()), None]);
        let again = tier.lookup(&k);
        assert!(again.is_complete());
        let served = again.found[0].clone().flatten().expect("a value");
        assert_eq!(served.as_ptr(), value.as_ptr(), "a clone, not a copy");
        assert_eq!(again.found[1], Some(None), "absence is cached");
    }

    #[test]
    fn an_invalidation_while_a_read_is_in_flight_prevents_its_insert() {
        let tier = on(1 << 20);
        let k = keys(&["w:{aa}"]);
        let lookup = tier.lookup(&k);
        tier.invalidate(b"w:{aa}");
        tier.insert(&lookup, &k, &[Some(Bytes::from_static(b"old"))]);
        assert!(!tier.lookup(&k).is_complete());
        assert_eq!(tier.counters.refused_inserts.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_session_that_ended_while_a_read_was_in_flight_inserts_nothing() {
        let tier = on(1 << 20);
        let k = keys(&["w:{aa}"]);
        let lookup = tier.lookup(&k);
        assert!(tier.turn_off(1));
        tier.turn_on(2, Instant::now());
        tier.insert(&lookup, &k, &[Some(Bytes::from_static(b"old"))]);
        assert!(!tier.lookup(&k).is_complete());
    }

    #[test]
    fn an_off_tier_serves_and_inserts_nothing_and_turning_off_flushes() {
        let tier = on(1 << 20);
        let k = keys(&["w:{aa}"]);
        fill(&tier, &k, &[None]);
        assert!(!tier.turn_off(7), "not the current session");
        assert!(tier.turn_off(1));
        assert_eq!(tier.size().0, 0);
        let lookup = tier.lookup(&k);
        assert_eq!(lookup.session, 0);
        tier.insert(&lookup, &k, &[None]);
        assert_eq!(tier.size().0, 0);
    }

    #[test]
    fn an_overdue_heartbeat_stops_hits() {
        let tier = Tier::new(1 << 20, Duration::from_millis(1));
        tier.turn_on(1, Instant::now());
        let k = keys(&["w:{aa}"]);
        fill(&tier, &k, &[None]);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!tier.lookup(&k).is_complete());
        tier.heartbeat(Instant::now() + Duration::from_secs(1));
        assert!(tier.lookup(&k).is_complete());
    }

    #[test]
    fn a_resource_invalidation_drops_its_metadata_and_representations_only() {
        let tier = on(1 << 20);
        let k = keys(&["w:{aa}", "w:{aa}:0101", "w:{aa}:p", "w:{bb}"]);
        fill(&tier, &k, &[None, None, None, None]);
        tier.invalidate_resource(b"w:{aa}");
        let after = tier.lookup(&k);
        assert_eq!(after.found.iter().filter(|f| f.is_some()).count(), 1);
        assert!(after.found[3].is_some());
    }

    #[test]
    fn memory_stays_within_the_capacity_and_recent_hits_survive_eviction() {
        let capacity = SHARDS * 4096;
        let tier = on(capacity);
        let hot = keys(&["w:{hot}"]);
        fill(&tier, &hot, &[Some(Bytes::from(vec![0u8; 500]))]);
        for i in 0..2000 {
            let _ = tier.lookup(&hot);
            let k = keys(&[&format!("w:{{{i}}}")]);
            fill(&tier, &k, &[Some(Bytes::from(vec![0u8; 500]))]);
        }
        let (_, bytes) = tier.size();
        assert!(bytes as usize <= capacity, "{bytes} > {capacity}");
        assert!(tier.counters.evictions.load(Ordering::Relaxed) > 0);
        assert!(tier.lookup(&hot).is_complete(), "a hot entry stays");
    }

    #[test]
    fn a_value_larger_than_a_shard_is_not_kept() {
        let tier = on(SHARDS * 1000);
        let k = keys(&["w:{aa}"]);
        fill(&tier, &k, &[Some(Bytes::from(vec![0u8; 2000]))]);
        assert_eq!(tier.size().0, 0);
    }
}

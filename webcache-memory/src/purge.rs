//! Purge records and tag indexes, beside the entries: in plain maps, not
//! in moka, because a record must never be evicted before the responses
//! it purged (see [`webcache_core::purge`]).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use webcache_core::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use webcache_core::store::StoreKey;

type Digest = [u8; 16];

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Purge records, encoded, in 16 shards by the key's first byte. A record
/// is about 100 bytes; one exists per purged resource (and one per cache).
#[derive(Default)]
pub(crate) struct Records {
    shards: [Mutex<HashMap<StoreKey, (PurgeRecord, Bytes)>>; 16],
    /// The number of records, read without a lock: in a cache that never
    /// purged, a lookup's two reads of absent records take no lock.
    len: AtomicUsize,
}

impl Records {
    fn shard(&self, key: &StoreKey) -> MutexGuard<'_, HashMap<StoreKey, (PurgeRecord, Bytes)>> {
        lock(&self.shards[usize::from(key.resource()[0] & 15)])
    }

    /// The encoded record at `key`.
    pub(crate) fn get(&self, key: &StoreKey) -> Option<Bytes> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.shard(key).get(key).map(|(_, bytes)| bytes.clone())
    }

    /// Applies `bump` under the shard's lock: atomic.
    pub(crate) fn bump(&self, key: &StoreKey, bump: Bump) -> PurgeRecord {
        let mut shard = self.shard(key);
        let before = shard.get(key).map(|(r, _)| *r).unwrap_or_default();
        let after = before.apply(bump);
        if shard.insert(*key, (after, after.encode())).is_none() {
            self.len.fetch_add(1, Ordering::Release);
        }
        after
    }

    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            let mut shard = lock(shard);
            self.len.fetch_sub(shard.len(), Ordering::Release);
            shard.clear();
        }
    }
}

/// One tag's index: the resources stored with it, its marks, and until
/// when it must be kept (the longest TTL of a member).
struct TagIndex {
    members: HashSet<Digest>,
    marks: TagMarks,
    until: Instant,
}

/// The tag indexes, in 16 shards.
#[derive(Default)]
pub(crate) struct Tags {
    shards: [Mutex<HashMap<Digest, TagIndex>>; 16],
}

impl Tags {
    fn shard(&self, tag: &Digest) -> MutexGuard<'_, HashMap<Digest, TagIndex>> {
        lock(&self.shards[usize::from(tag[0] & 15)])
    }

    /// Adds `resource` to `tag`'s index; returns the tag's marks.
    pub(crate) fn add(&self, tag: &Digest, resource: &Digest, ttl: Duration) -> TagMarks {
        let now = Instant::now();
        let until = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(1 << 32));
        let mut shard = self.shard(tag);
        let index = shard.entry(*tag).or_insert_with(|| TagIndex {
            members: HashSet::new(),
            marks: TagMarks::default(),
            until,
        });
        if index.until <= now {
            // Every member has expired since: start over (the marks stay).
            index.members.clear();
        }
        index.until = index.until.max(until);
        index.members.insert(*resource);
        index.marks
    }

    /// Marks `tag` purged with `seq` and takes its members.
    pub(crate) fn take(&self, tag: &Digest, seq: u64, mode: PurgeMode) -> Vec<Digest> {
        let mut shard = self.shard(tag);
        let index = shard.entry(*tag).or_insert_with(|| TagIndex {
            members: HashSet::new(),
            marks: TagMarks::default(),
            until: Instant::now(),
        });
        let mark = match mode {
            PurgeMode::Hard => TagMarks::new(seq, 0),
            PurgeMode::Soft => TagMarks::new(0, seq),
        };
        index.marks = index.marks.max(mark);
        index.members.drain().collect()
    }

    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            lock(shard).clear();
        }
    }
}

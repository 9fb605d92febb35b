//! Stored responses as last decoded, remembered beside the buffer they
//! were decoded from: a store that hands out the very same [`Bytes`] for an
//! unchanged value (the memory store does, and any store that keeps
//! `Bytes` and returns clones) then costs a hit no decoding — no header
//! validation, no header map built.
//!
//! Sound because [`Bytes`] are immutable and each slot holds a clone of the
//! buffer it decoded: while the slot holds it the allocation cannot be
//! freed and reused, so a buffer with the same address and length is the
//! same bytes (no ABA), and decoding is a function of the bytes alone.
//! What was decoded is never changed in place (the lookup copies it before
//! marking it purged), so every reader sees what the bytes say.
//!
//! Bounded: [`SETS`] sets of two slots, chosen by the key's digests (the
//! slot, not the key, is what a lookup compares), buffers of at most
//! [`MAX_BUFFER`] bytes, and about [`MAX_PINNED`] bytes kept alive in all
//! (buffers the store may have dropped meanwhile). A store that returns a
//! new buffer on every read (SQLite, Redis) only pays a slot update.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use bytes::Bytes;
use http::StatusCode;
use http::header::{AGE, CONTENT_LENGTH, HeaderMap, HeaderValue};

use crate::config::Config;
use crate::error::DecodeError;
use crate::headers::CacheControl;
use crate::reuse::Timing;
use crate::status::CACHE_STATUS;
use crate::store::{StoreKey, StoredResponse};
use crate::targeted::response_cache_control;

/// A stored response as decoded, with what every lookup of it reads from
/// its fields.
#[derive(Clone, Debug)]
pub(crate) struct Decoded {
    pub(crate) stored: StoredResponse,
    /// Its Cache-Control as this cache reads it (a targeted field first,
    /// RFC 9213): a function of the fields and of the cache's
    /// configuration, which the entries, one set per cache, share.
    pub(crate) cache_control: CacheControl,
    /// Its freshness lifetime and initial age, read under the same
    /// configuration.
    pub(crate) timing: Timing,
    /// Its fields as a hit sends them, made when the decode is first
    /// reused: a store that never returns the same buffer never pays for
    /// them.
    pub(crate) served: OnceLock<ServedFields>,
}

impl Decoded {
    /// Its fields as a hit sends them, made now if they were not yet.
    pub(crate) fn served_fields(&self, config: &Config) -> &ServedFields {
        self.served
            .get_or_init(|| ServedFields::of(&self.stored, config))
    }
}

/// The stored fields as a hit sends them, made once: with a placeholder
/// Age, and a placeholder Cache-Status when the cache adds one and the
/// stored response has none, so that a hit's clone has room for both (a
/// clone of a header map has none to grow into): the hit replaces the Age
/// and removes the placeholder before appending its member.
#[derive(Clone, Debug)]
pub(crate) struct ServedFields {
    pub(crate) fields: HeaderMap,
    /// True when `fields` holds the Cache-Status placeholder.
    pub(crate) status_slot: bool,
    /// The fields a whole hit sent last, with their Age and Cache-Status.
    pub(crate) prepared: Prepared,
}

/// What a hit's fields depend on beyond the stored response: its Age and
/// Cache-Status `ttl` in seconds, and whether it was `collapsed`.
pub(crate) type PreparedKey = (u64, i64, bool);

/// The last fields made for a hit, with their key: hits in the same
/// second clone them instead of rendering Age and Cache-Status again.
/// Not carried over by a clone (a clone is made to be changed).
#[derive(Debug, Default)]
pub(crate) struct Prepared(Mutex<Option<(PreparedKey, HeaderMap)>>);

impl Clone for Prepared {
    fn clone(&self) -> Self {
        Prepared::default()
    }
}

impl Prepared {
    /// The fields for `key`: a clone of the last made when its key was
    /// `key`, otherwise `make`'s, kept for the next.
    pub(crate) fn get_or_make(
        &self,
        key: PreparedKey,
        make: impl FnOnce() -> HeaderMap,
    ) -> HeaderMap {
        let lock = || self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((made, fields)) = lock().as_ref() {
            if *made == key {
                return fields.clone();
            }
        }
        let fields = make();
        *lock() = Some((key, fields.clone()));
        fields
    }
}

/// The fields of `stored` as a whole answer sends them: its stored fields,
/// and Content-Length when they lack it and the status allows it (RFC 9110
/// §8.6: not for 1xx or 204). The cache stores a whole body only when it
/// is complete, so its length is the content's: sent to HEAD too, it is
/// the length a GET would have had, as RFC 9110 §8.6 and §9.3.2 require,
/// and a framework that measures the (empty) body of a HEAD hit does not
/// put 0 in its place.
pub(crate) fn whole_fields(stored: &StoredResponse) -> HeaderMap {
    let mut fields = stored.headers.clone();
    let no_content = stored.status.is_informational() || stored.status == StatusCode::NO_CONTENT;
    if stored.partial.is_none() && !no_content && !fields.contains_key(CONTENT_LENGTH) {
        fields.insert(CONTENT_LENGTH, HeaderValue::from(stored.body.len()));
    }
    fields
}

impl ServedFields {
    fn of(stored: &StoredResponse, config: &Config) -> ServedFields {
        let mut fields = whole_fields(stored);
        fields.insert(AGE, HeaderValue::from_static("0"));
        let status_slot = config.cache_status().is_some() && !fields.contains_key(CACHE_STATUS);
        if status_slot {
            fields.insert(CACHE_STATUS, HeaderValue::from_static(""));
        }
        ServedFields {
            fields,
            status_slot,
            prepared: Prepared::default(),
        }
    }
}

/// The number of sets (two slots each).
pub(crate) const SETS: usize = 2048;
/// The largest buffer remembered.
pub(crate) const MAX_BUFFER: usize = 256 << 10;
/// About the most bytes of buffers the slots keep alive.
pub(crate) const MAX_PINNED: usize = 8 << 20;

/// One remembered decode.
struct Slot {
    key: StoreKey,
    bytes: Bytes,
    decoded: Arc<Decoded>,
}

/// Two slots, the most recently used first.
type Set = [Option<Slot>; 2];

/// The decoded stored responses of recent lookups (see the module docs).
pub(crate) struct DecodedEntries {
    sets: Box<[Mutex<Set>]>,
    pinned: AtomicUsize,
}

impl Default for DecodedEntries {
    fn default() -> Self {
        DecodedEntries {
            sets: (0..SETS).map(|_| Mutex::new([None, None])).collect(),
            pinned: AtomicUsize::new(0),
        }
    }
}

/// True when `a` and `b` are the same bytes of the same buffer.
fn same(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

impl DecodedEntries {
    /// `bytes`, read at `key`, decoded (and their Cache-Control read under
    /// `config`): as remembered when they are the very buffer decoded last
    /// time, else decoded now and remembered.
    pub(crate) fn decode(
        &self,
        key: &StoreKey,
        bytes: Bytes,
        config: &Config,
    ) -> Result<Arc<Decoded>, DecodeError> {
        let mut set = self.set(key);
        if let Some(i) = set
            .iter()
            .position(|s| s.as_ref().is_some_and(|s| same(&s.bytes, &bytes)))
        {
            set.swap(0, i);
            if let Some(slot) = &set[0] {
                let decoded = &slot.decoded;
                decoded.served_fields(config);
                return Ok(decoded.clone());
            }
        }
        drop(set);
        let stored = StoredResponse::decode(bytes.clone())?;
        let cache_control = response_cache_control(&stored.headers, config);
        let timing = Timing::of(&stored, &cache_control, config);
        let decoded = Arc::new(Decoded {
            stored,
            cache_control,
            timing,
            served: OnceLock::new(),
        });
        self.remember(*key, bytes, decoded.clone());
        Ok(decoded)
    }

    /// Drops what is remembered for `key` (the store holds nothing there),
    /// so that its buffer is not kept alive.
    pub(crate) fn forget(&self, key: &StoreKey) {
        let mut set = self.set(key);
        for slot in set.iter_mut() {
            if slot.as_ref().is_some_and(|s| s.key == *key) {
                let freed = slot.take().map_or(0, |s| s.bytes.len());
                self.pinned.fetch_sub(freed, Ordering::Relaxed);
            }
        }
    }

    /// Puts a decode first in its set, evicting the set's least recently
    /// used slot (and any older slot for the same key), within the bounds.
    fn remember(&self, key: StoreKey, bytes: Bytes, decoded: Arc<Decoded>) {
        if bytes.len() > MAX_BUFFER {
            return;
        }
        let mut set = self.set(&key);
        let replaced = match &set[0] {
            Some(s) if s.key == key => 0,
            _ => 1,
        };
        let freed = set[replaced].as_ref().map_or(0, |s| s.bytes.len());
        let pinned = self.pinned.load(Ordering::Relaxed).saturating_sub(freed);
        if pinned + bytes.len() > MAX_PINNED {
            return;
        }
        self.pinned.fetch_add(bytes.len(), Ordering::Relaxed);
        self.pinned.fetch_sub(freed, Ordering::Relaxed);
        set[replaced] = Some(Slot {
            key,
            bytes,
            decoded,
        });
        set.swap(0, replaced);
    }

    /// The set `key` falls in, locked.
    fn set(&self, key: &StoreKey) -> MutexGuard<'_, Set> {
        let word =
            |d: &[u8; 16]| u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        let hash = word(key.resource()) ^ key.variant().map_or(0, word);
        // The digests are uniform: their low bits choose the set.
        let index = (hash % SETS as u64) as usize;
        self.sets[index].lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::StatusCode;

    use super::*;

    fn encoded(body: &'static str) -> Bytes {
        let now = SystemTime::now();
        let body = Bytes::from_static(body.as_bytes());
        StoredResponse::new(
            StatusCode::OK,
            HeaderMap::new(),
            body,
            now,
            now,
            "http://a.test/",
        )
        .encode()
    }

    fn key(n: u8) -> StoreKey {
        StoreKey::representation([n; 16], [0; 16])
    }

    #[test]
    fn the_same_buffer_is_decoded_once() {
        let entries = DecodedEntries::default();
        let bytes = encoded("one");
        let first = entries
            .decode(&key(1), bytes.clone(), &Config::default())
            .unwrap();
        let again = entries
            .decode(&key(1), bytes.clone(), &Config::default())
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.stored.body, "one");
    }

    #[test]
    fn a_new_buffer_with_the_same_bytes_is_decoded_again() {
        let entries = DecodedEntries::default();
        let first = entries
            .decode(&key(1), encoded("one"), &Config::default())
            .unwrap();
        let other = entries
            .decode(&key(1), encoded("two"), &Config::default())
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.stored.body, "two");
        // The replaced buffer is no longer kept.
        assert_eq!(entries.pinned.load(Ordering::Relaxed), encoded("two").len());
    }

    #[test]
    fn a_slice_of_the_buffer_is_not_the_buffer() {
        let entries = DecodedEntries::default();
        let bytes = encoded("one");
        entries
            .decode(&key(1), bytes.clone(), &Config::default())
            .unwrap();
        let shorter = bytes.slice(..bytes.len() - 1);
        assert!(
            entries
                .decode(&key(1), shorter, &Config::default())
                .is_err(),
            "decoded, not remembered"
        );
    }

    #[test]
    fn forgetting_a_key_releases_its_buffer() {
        let entries = DecodedEntries::default();
        entries
            .decode(&key(1), encoded("one"), &Config::default())
            .unwrap();
        entries.forget(&key(1));
        assert_eq!(entries.pinned.load(Ordering::Relaxed), 0);
        assert!(
            entries
                .sets
                .iter()
                .all(|s| s.lock().unwrap().iter().all(Option::is_none))
        );
    }

    #[test]
    fn undecodable_bytes_are_an_error_and_not_remembered() {
        let entries = DecodedEntries::default();
        assert!(
            entries
                .decode(&key(1), Bytes::from_static(b"WC\x09R"), &Config::default())
                .is_err()
        );
        assert_eq!(entries.pinned.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn two_keys_of_one_set_are_both_kept() {
        let entries = DecodedEntries::default();
        // The same set: the same resource digest, no variant digest bits.
        let (a, b) = (key(1), StoreKey::metadata([1; 16]));
        let (x, y) = (encoded("x"), encoded("y"));
        let first_x = entries.decode(&a, x.clone(), &Config::default()).unwrap();
        let first_y = entries.decode(&b, y.clone(), &Config::default()).unwrap();
        assert!(Arc::ptr_eq(
            &first_x,
            &entries.decode(&a, x, &Config::default()).unwrap()
        ));
        assert!(Arc::ptr_eq(
            &first_y,
            &entries.decode(&b, y, &Config::default()).unwrap()
        ));
    }
}

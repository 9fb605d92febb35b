//! What each thread's last lookups of resources found, kept
//! while the store says nothing under them changed
//! ([`Store::change_count`](crate::Store::change_count)): a hit on a hot
//! resource then reads neither the store nor any state other threads
//! write, and the fields and body it sends are this thread's own copies,
//! so that no reference count is shared between cores.
//!
//! Sound because an entry is exactly what a lookup returned when the
//! resource's change count was the one it records (read before that
//! lookup), and the store makes the count move after every write that
//! could change what a lookup returns: an entry whose count is not the
//! current one is never used. The request is planned again on every hit
//! (freshness is computed at each request), and only a fresh response is
//! served from here: anything else, and every miss, takes the usual path.
//! For a resource that varies, an entry holds one representation, with
//! the field names its metadata lists: it answers a request whose
//! selecting fields select that very representation (RFC 9111 §4.1).
//! Each representation is an entry of its own, so requests that take turns
//! between two variants are both answered here.
//!
//! Bounded: [`SETS`] sets of [`WAYS`] slots per thread, the set chosen by
//! the resource's digest; only stored responses whose body has at most
//! [`MAX_BODY`] bytes, so that a thread holds at most about
//! `SETS × WAYS × 2 × MAX_BODY` bytes of bodies (4 MiB: the stored one and
//! the thread's copy) and their fields. A slot's occupant is replaced by
//! another resource only once it has gone unused as often as it was used:
//! each offer a set refuses costs all its occupants a use, and a use is
//! given back by each hit.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::decoded::{Decoded, PreparedKey};
use crate::key::DIGEST_LEN;

/// Sets of slots per thread.
pub(crate) const SETS: usize = 512;
/// Slots per set.
pub(crate) const WAYS: usize = 2;
/// The largest body kept.
pub(crate) const MAX_BODY: usize = 4 << 10;
/// The uses after which an entry's fields and body are copied for its
/// thread: an entry that is replaced sooner (slots that several hot
/// resources share) serves the shared ones, and costs no copy.
const COPY_AFTER: u8 = 2;
/// The most uses remembered: an occupant used this often survives as many
/// lookups of other resources for its slot.
const MAX_USES: u8 = 3;

/// One lookup's result, this thread's.
pub(crate) struct Entry {
    /// The cache it was looked up in ([`Shared::id`](super::Shared)).
    cache: u64,
    resource: [u8; DIGEST_LEN],
    /// The resource's change count read before the lookup.
    changes: u64,
    decoded: Arc<Decoded>,
    /// The resource's Vary field names as its metadata lists them.
    vary: Vec<http::HeaderName>,
    uses: u8,
    /// Hits served from it, up to [`COPY_AFTER`].
    served: u8,
    own: Own,
}

impl Entry {
    /// Whether it is what a lookup of `resource` in `cache` found.
    fn is(&self, cache: u64, resource: &[u8; DIGEST_LEN]) -> bool {
        self.cache == cache && self.resource == *resource
    }

    /// Whether it is what a lookup of `resource` in `cache` found, with the
    /// same representation as `decoded` (the same selecting fields).
    fn holds(&self, cache: u64, resource: &[u8; DIGEST_LEN], decoded: &Decoded) -> bool {
        self.is(cache, resource) && self.decoded.stored.selecting == decoded.stored.selecting
    }

    /// The resource's Vary field names as its metadata lists them.
    pub(crate) fn vary(&self) -> &[http::HeaderName] {
        &self.vary
    }

    /// What it holds, and this thread's copies once it has served
    /// [`COPY_AFTER`] hits (`None` before: use the shared fields).
    pub(crate) fn split(&mut self) -> (&Decoded, Option<&mut Own>) {
        let own = (self.served >= COPY_AFTER).then_some(&mut self.own);
        (&self.decoded, own)
    }
}

/// The fields a whole hit sent last, with their key, and the body: copies
/// made by this thread.
#[derive(Default)]
pub(crate) struct Own {
    fields: Option<(PreparedKey, HeaderMap)>,
    body: Option<Bytes>,
}

impl Own {
    /// The fields of a whole hit for `key`: this thread's copy of `make`'s
    /// fields, made again when the key changed.
    pub(crate) fn fields(
        &mut self,
        key: PreparedKey,
        make: impl FnOnce() -> HeaderMap,
    ) -> HeaderMap {
        match &self.fields {
            Some((made, fields)) if *made == key => fields.clone(),
            _ => {
                let fields = own_copy(&make());
                self.fields = Some((key, fields.clone()));
                fields
            }
        }
    }

    /// This thread's copy of `stored`, the stored body.
    pub(crate) fn body(&mut self, stored: &Bytes) -> Bytes {
        self.body
            .get_or_insert_with(|| Bytes::copy_from_slice(stored))
            .clone()
    }
}

/// `fields` with every value copied into a buffer of its own.
fn own_copy(fields: &HeaderMap) -> HeaderMap {
    let mut copy = HeaderMap::with_capacity(fields.len());
    for (name, value) in fields {
        let mut owned = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
            .unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        copy.append(name.clone(), owned);
    }
    copy
}

thread_local! {
    static FRONT: RefCell<Box<[Set]>> = RefCell::new((0..SETS).map(|_| Set::default()).collect());
}

/// The [`WAYS`] slots a resource may be kept in.
#[derive(Default)]
struct Set([Option<Entry>; WAYS]);

impl Set {
    fn of<'a>(front: &'a mut [Set], resource: &[u8; DIGEST_LEN]) -> &'a mut Set {
        let set = usize::from(u16::from_le_bytes([resource[0], resource[1]])) % SETS;
        &mut front[set]
    }

    /// The entries of `resource` in `cache`, one per representation kept.
    fn find<'a>(
        &'a mut self,
        cache: u64,
        resource: &'a [u8; DIGEST_LEN],
    ) -> impl Iterator<Item = &'a mut Entry> {
        self.0
            .iter_mut()
            .flatten()
            .filter(move |e| e.is(cache, resource))
    }

    /// The slot an offer of `decoded`, a representation of `resource`, may
    /// take: its own, a free one, or the least used one once it has gone
    /// unused. A refused offer costs every occupant a use, so that an entry
    /// nothing uses any more (its count moved, or its cache is gone) is
    /// replaced in time.
    fn room(
        &mut self,
        cache: u64,
        resource: &[u8; DIGEST_LEN],
        decoded: &Decoded,
    ) -> Option<&mut Option<Entry>> {
        let same = |slot: &Option<Entry>| {
            slot.as_ref()
                .is_some_and(|e| e.holds(cache, resource, decoded))
        };
        let uses = |slot: &Option<Entry>| slot.as_ref().map_or(0, |e| e.uses);
        let at = match self.0.iter().position(same) {
            Some(at) => at,
            None => (0..WAYS).min_by_key(|&at| uses(&self.0[at]))?,
        };
        if !same(&self.0[at]) && uses(&self.0[at]) > 0 {
            self.0
                .iter_mut()
                .flatten()
                .for_each(|e| e.uses = e.uses.saturating_sub(1));
            return None;
        }
        Some(&mut self.0[at])
    }
}

/// Runs `use_entry` on this thread's entries for `resource` in `cache`
/// that were looked up at change count `changes`, one after the other,
/// until one gives `Some`; `None` when none does.
pub(crate) fn with<R>(
    cache: u64,
    resource: &[u8; DIGEST_LEN],
    changes: u64,
    mut use_entry: impl FnMut(&mut Entry) -> Option<R>,
) -> Option<R> {
    FRONT
        .try_with(|front| {
            let mut front = front.try_borrow_mut().ok()?;
            let set = Set::of(&mut front, resource);
            set.find(cache, resource)
                .filter(|entry| entry.changes == changes)
                .find_map(|entry| {
                    let used = use_entry(entry)?;
                    entry.uses = (entry.uses + 1).min(MAX_USES);
                    entry.served = (entry.served + 1).min(COPY_AFTER);
                    Some(used)
                })
        })
        .ok()
        .flatten()
}

/// Offers what a lookup of `resource` in `cache` found at change count
/// `changes`: kept in its own slot of its set, a free one, or one that has
/// gone unused (see the module docs).
pub(crate) fn offer(
    cache: u64,
    resource: &[u8; DIGEST_LEN],
    changes: u64,
    decoded: &Arc<Decoded>,
    vary: &[http::HeaderName],
) {
    if decoded.stored.body.len() > MAX_BODY {
        return;
    }
    let _ = FRONT.try_with(|front| {
        let Ok(mut front) = front.try_borrow_mut() else {
            return;
        };
        let Some(slot) = Set::of(&mut front, resource).room(cache, resource, decoded) else {
            return;
        };
        *slot = Some(Entry {
            cache,
            resource: *resource,
            changes,
            decoded: decoded.clone(),
            vary: vary.to_vec(),
            // One use to start with: a newcomer outlasts an entry that has
            // gone unused, and is the next to go if it is not used.
            uses: 1,
            served: 0,
            own: Own::default(),
        });
    });
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use http::StatusCode;

    use super::*;
    use crate::config::Config;
    use crate::store::{StoreKey, StoredResponse};

    fn decoded() -> Arc<Decoded> {
        decoded_selecting(None)
    }

    /// A representation selected by `Accept-Language: lang`, or one of a
    /// resource that does not vary.
    fn decoded_selecting(lang: Option<&str>) -> Arc<Decoded> {
        let now = SystemTime::now();
        let mut stored = StoredResponse::new(
            StatusCode::OK,
            HeaderMap::new(),
            Bytes::from_static(b"x"),
            now,
            now,
            "http://a.test/",
        );
        if let Some(lang) = lang {
            let name = http::HeaderName::from_static("accept-language");
            stored.selecting = vec![(name, Some(lang.as_bytes().to_vec()))];
        }
        let entries = super::super::decoded::DecodedEntries::default();
        let key = StoreKey::representation([9; DIGEST_LEN], [0; DIGEST_LEN]);
        entries
            .decode(&key, stored.encode(), &Config::default())
            .expect("decodes")
    }

    /// Two resources of the same set (its index is the first two bytes).
    fn resources() -> [[u8; DIGEST_LEN]; 2] {
        let mut b = [7; DIGEST_LEN];
        b[..2].copy_from_slice(&(SETS as u16).to_le_bytes());
        let mut a = b;
        a[..2].copy_from_slice(&0u16.to_le_bytes());
        [a, b]
    }

    fn hit(cache: u64, resource: &[u8; DIGEST_LEN]) -> bool {
        with(cache, resource, 1, |_| Some(())).is_some()
    }

    #[test]
    fn entries_nothing_uses_any_more_give_way_to_new_ones() {
        let d = decoded();
        let [a, b] = resources();
        // A gone cache's entries, used often, fill the set.
        for r in [a, b] {
            offer(100, &r, 1, &d, &[]);
            for _ in 0..5 {
                assert!(hit(100, &r));
            }
        }
        // Another cache's offers for the same resources are refused at
        // first, then taken once the old entries have gone unused.
        let mut offers = 0;
        while !(hit(101, &a) && hit(101, &b)) {
            offers += 1;
            assert!(offers <= 2 * usize::from(MAX_USES) + 2, "never replaced");
            offer(101, &a, 1, &d, &[]);
            offer(101, &b, 1, &d, &[]);
        }
        assert!(!hit(100, &a) && !hit(100, &b));
    }

    #[test]
    fn an_entry_answers_only_its_cache_resource_and_count() {
        let d = decoded();
        let [a, b] = resources();
        offer(200, &a, 1, &d, &[]);
        assert!(hit(200, &a));
        assert!(!hit(201, &a), "another cache");
        assert!(!hit(200, &b), "another resource");
        assert!(with(200, &a, 2, |_| Some(())).is_none(), "another count");
    }

    #[test]
    fn each_representation_of_a_resource_keeps_a_slot_of_its_own() {
        let (en, fr) = (decoded_selecting(Some("en")), decoded_selecting(Some("fr")));
        let [a, _] = resources();
        let found = |d: &Arc<Decoded>| {
            with(300, &a, 1, |e| Arc::ptr_eq(&e.decoded, d).then_some(())).is_some()
        };
        offer(300, &a, 1, &en, &[]);
        offer(300, &a, 1, &fr, &[]);
        assert!(
            found(&en) && found(&fr),
            "the second did not replace the first"
        );
        // Offered again, a representation takes back its own slot.
        let en_again = decoded_selecting(Some("en"));
        offer(300, &a, 1, &en_again, &[]);
        assert!(found(&en_again) && found(&fr) && !found(&en));
    }
}

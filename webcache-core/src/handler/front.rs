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
//! For a resource that varies, the entry holds one representation, with
//! the field names its metadata lists: it answers a request whose
//! selecting fields select that very representation (RFC 9111 §4.1).
//!
//! Bounded: [`SLOTS`] slots per thread, chosen by the resource's digest;
//! only stored responses whose body has at most [`MAX_BODY`] bytes, so
//! that a thread holds at most about `SLOTS × 2 × MAX_BODY` bytes of
//! bodies (the stored one and the thread's copy) and their fields. A
//! slot's occupant is replaced by another resource only once it has gone
//! unused as often as it was used.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::decoded::{Decoded, PreparedKey};
use crate::key::DIGEST_LEN;

/// Slots per thread.
pub(crate) const SLOTS: usize = 512;
/// The largest body kept.
pub(crate) const MAX_BODY: usize = 8 << 10;
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
    static FRONT: RefCell<Box<[Option<Entry>]>> =
        RefCell::new((0..SLOTS).map(|_| None).collect());
}

fn slot(resource: &[u8; DIGEST_LEN]) -> usize {
    usize::from(u16::from_le_bytes([resource[0], resource[1]])) % SLOTS
}

/// Runs `use_entry` on this thread's entry for `resource` in `cache` when
/// it was looked up at change count `changes`; `None` when there is none.
pub(crate) fn with<R>(
    cache: u64,
    resource: &[u8; DIGEST_LEN],
    changes: u64,
    use_entry: impl FnOnce(&mut Entry) -> Option<R>,
) -> Option<R> {
    FRONT
        .try_with(|front| {
            let mut front = front.try_borrow_mut().ok()?;
            let entry = front[slot(resource)].as_mut()?;
            if entry.cache != cache || entry.resource != *resource || entry.changes != changes {
                return None;
            }
            let used = use_entry(entry)?;
            entry.uses = (entry.uses + 1).min(MAX_USES);
            entry.served = (entry.served + 1).min(COPY_AFTER);
            Some(used)
        })
        .ok()
        .flatten()
}

/// Offers what a lookup of `resource` in `cache` found at change count
/// `changes`: kept when its slot is free, holds the same resource, or
/// holds one that has gone unused (see the module docs).
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
        let slot = &mut front[slot(resource)];
        if let Some(entry) = slot {
            let same = entry.cache == cache && entry.resource == *resource;
            if !same && entry.uses > 0 {
                entry.uses -= 1;
                return;
            }
        }
        *slot = Some(Entry {
            cache,
            resource: *resource,
            changes,
            decoded: decoded.clone(),
            vary: vary.to_vec(),
            uses: 0,
            served: 0,
            own: Own::default(),
        });
    });
}

//! Invalidations overtaking work in flight (RFC 9111 §4.4).
//!
//! A fill, a background refresh or a validation holds a response the
//! origin produced for a request sent *before* an invalidation that
//! landed while it was in flight; writing it afterwards would bring the
//! invalidated resource back (an unsafe request's effect undone, a purge
//! ignored). Each forward therefore takes a [`Ticket`] before its lookup;
//! every invalidation advances an epoch and records it for its resource;
//! a write whose ticket an invalidation of its resource has overtaken is
//! not made (and a write that raced the invalidation is removed again).
//!
//! The record is in process and bounded: past [`CAPACITY`] resources it is
//! cleared and every older ticket counts as overtaken, which costs at most
//! the stores of the forwards in flight at that moment, never a wrong
//! answer. Across instances sharing a store, an invalidation on one cannot
//! reach a fill on another; their stores' TTLs bound what survives.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::key::DIGEST_LEN;

/// How many invalidated resources are remembered before the record is
/// cleared (and every ticket taken before counts as overtaken).
pub(crate) const CAPACITY: usize = 1 << 14;

/// The epoch a forward started at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

#[derive(Debug, Default)]
struct Record {
    /// The epoch of the last invalidation of each resource.
    last: HashMap<[u8; DIGEST_LEN], u64>,
    /// Tickets before this epoch are overtaken for every resource (the
    /// record was cleared then).
    floor: u64,
}

/// The invalidations of this cache, by epoch.
#[derive(Debug, Default)]
pub(crate) struct Fence {
    epoch: AtomicU64,
    record: Mutex<Record>,
}

impl Fence {
    /// The ticket of a forward starting now: one atomic read.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(self.epoch.load(Ordering::Acquire))
    }

    /// Records an invalidation of `resource`, before the store is told.
    pub(crate) fn invalidate(&self, resource: &[u8; DIGEST_LEN]) {
        let mut record = self.record.lock().unwrap_or_else(|e| e.into_inner());
        let epoch = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        if record.last.len() >= CAPACITY && !record.last.contains_key(resource) {
            record.last.clear();
            record.floor = epoch;
        }
        record.last.insert(*resource, epoch);
    }

    /// True when an invalidation of `resource` came after `ticket` was
    /// taken: what the forward brought back must not be stored.
    pub(crate) fn overtaken(&self, resource: &[u8; DIGEST_LEN], ticket: Ticket) -> bool {
        if self.epoch.load(Ordering::Acquire) == ticket.0 {
            return false;
        }
        let record = self.record.lock().unwrap_or_else(|e| e.into_inner());
        ticket.0 < record.floor || record.last.get(resource).is_some_and(|&at| at > ticket.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; DIGEST_LEN] = [1; DIGEST_LEN];
    const B: [u8; DIGEST_LEN] = [2; DIGEST_LEN];
    const C: [u8; DIGEST_LEN] = [3; DIGEST_LEN];

    #[test]
    fn rfc9111_4_4_an_invalidation_overtakes_only_earlier_tickets_of_its_resource() {
        let fence = Fence::default();
        let before = fence.ticket();
        assert!(!fence.overtaken(&A, before));
        fence.invalidate(&A);
        let after = fence.ticket();
        assert!(fence.overtaken(&A, before));
        assert!(!fence.overtaken(&A, after));
        assert!(
            !fence.overtaken(&B, before),
            "another resource is untouched"
        );
    }

    #[test]
    fn a_full_record_is_cleared_and_overtakes_every_older_ticket() {
        let fence = Fence::default();
        let old = fence.ticket();
        for i in 0..CAPACITY as u32 {
            let mut resource = [9; DIGEST_LEN];
            resource[..4].copy_from_slice(&i.to_be_bytes());
            fence.invalidate(&resource);
        }
        assert!(
            !fence.overtaken(&B, old),
            "still exact while the record holds"
        );
        fence.invalidate(&A);
        assert!(fence.overtaken(&B, old), "forgotten, so assumed overtaken");
        let recent = fence.ticket();
        fence.invalidate(&C);
        assert!(!fence.overtaken(&B, recent), "after the clear: exact again");
        assert!(fence.overtaken(&C, recent));
        assert_eq!(fence.record.lock().unwrap().last.len(), 2);
    }
}

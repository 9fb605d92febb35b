//! Change counts (see [`Store::change_count`](webcache_core::Store::change_count)):
//! [`STRIPES`] counters chosen by the resource's digest, and one for what
//! concerns every resource (global purge records, tag purges, flushes). A
//! resource's count is the sum of its stripe and the global counter: both
//! only grow, so the sum moves whenever either does. Each counter is on a
//! cache line of its own, since hits on every core read them and writes are
//! rare.

use std::sync::atomic::{AtomicU64, Ordering};

use webcache_core::key::DIGEST_LEN;

/// The number of stripes.
pub(crate) const STRIPES: usize = 64;

#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

pub(crate) struct Changes {
    stripes: Box<[Padded]>,
    all: Padded,
}

impl Default for Changes {
    fn default() -> Self {
        Changes {
            stripes: (0..STRIPES).map(|_| Padded::default()).collect(),
            all: Padded::default(),
        }
    }
}

fn stripe(resource: &[u8; DIGEST_LEN]) -> usize {
    usize::from(resource[DIGEST_LEN - 1]) % STRIPES
}

impl Changes {
    /// `resource`'s count. Read before a lookup: a write it does not count
    /// was not visible yet, or is counted later.
    pub(crate) fn count(&self, resource: &[u8; DIGEST_LEN]) -> u64 {
        let own = self.stripes[stripe(resource)].0.load(Ordering::Acquire);
        own.wrapping_add(self.all.0.load(Ordering::Acquire))
    }

    /// Counts a write under `resource`, once it is visible.
    pub(crate) fn changed(&self, resource: &[u8; DIGEST_LEN]) {
        self.stripes[stripe(resource)]
            .0
            .fetch_add(1, Ordering::Release);
    }

    /// Counts a write that concerns every resource, once it is visible.
    pub(crate) fn changed_all(&self) {
        self.all.0.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_moves_with_its_stripe_and_with_every_global_change_only() {
        let changes = Changes::default();
        let a = [1; DIGEST_LEN];
        let mut b = [1; DIGEST_LEN];
        b[DIGEST_LEN - 1] = 2;
        let (a0, b0) = (changes.count(&a), changes.count(&b));
        changes.changed(&a);
        assert_ne!(changes.count(&a), a0);
        assert_eq!(changes.count(&b), b0, "another stripe");
        let (a1, b1) = (changes.count(&a), changes.count(&b));
        changes.changed_all();
        assert_ne!(changes.count(&a), a1);
        assert_ne!(changes.count(&b), b1);
    }
}

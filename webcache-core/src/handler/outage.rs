//! Resources whose upstream failed moments ago, so that a dead origin is
//! not asked again by every request (RFC 9111 §4.2.4 lets a disconnected
//! cache serve stale; [`Config::unreachable_backoff`](crate::Config::unreachable_backoff)
//! says for how long after a failure it does so without another attempt).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::key::DIGEST_LEN;

/// At most this many resources are remembered; past it the oldest
/// knowledge is dropped wholesale (a forgotten outage costs one attempt).
const MAX_OUTAGES: usize = 1 << 14;

/// When the upstream last failed, per resource.
#[derive(Debug, Default)]
pub(crate) struct Outages {
    failed_at: Mutex<HashMap<[u8; DIGEST_LEN], SystemTime>>,
    /// The number of entries, read without the lock: with no outage, the
    /// checks cost one atomic load.
    len: AtomicUsize,
}

impl Outages {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; DIGEST_LEN], SystemTime>> {
        self.failed_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The upstream failed for `resource` at `now`.
    pub(crate) fn failed(&self, resource: &[u8; DIGEST_LEN], now: SystemTime) {
        let mut map = self.lock();
        if map.len() >= MAX_OUTAGES {
            map.clear();
        }
        map.insert(*resource, now);
        self.len.store(map.len(), Ordering::Relaxed);
    }

    /// The upstream answered for `resource`.
    pub(crate) fn answered(&self, resource: &[u8; DIGEST_LEN]) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut map = self.lock();
        map.remove(resource);
        self.len.store(map.len(), Ordering::Relaxed);
    }

    /// True when the upstream failed for `resource` less than `backoff`
    /// before `now`.
    pub(crate) fn backing_off(
        &self,
        resource: &[u8; DIGEST_LEN],
        now: SystemTime,
        backoff: Duration,
    ) -> bool {
        if self.len.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let map = self.lock();
        map.get(resource)
            .is_some_and(|at| now.duration_since(*at).unwrap_or(Duration::ZERO) < backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn a_failure_backs_off_for_its_window_and_an_answer_ends_it() {
        let outages = Outages::default();
        let r = [7; DIGEST_LEN];
        let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let second = Duration::from_secs(1);
        assert!(!outages.backing_off(&r, t, second));
        outages.failed(&r, t);
        assert!(outages.backing_off(&r, t + Duration::from_millis(999), second));
        assert!(!outages.backing_off(&r, t + second, second));
        assert!(!outages.backing_off(&[8; DIGEST_LEN], t, second));
        outages.answered(&r);
        assert!(!outages.backing_off(&r, t, second));
    }
}

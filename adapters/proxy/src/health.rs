//! What the proxy knows of its upstream's health: when it last answered,
//! when an exchange last failed, and a log of failures that says at most
//! once a second how many there were.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::UpstreamError;

/// The upstream's recent history, shared by every request.
#[derive(Debug)]
pub(crate) struct UpstreamHealth {
    /// The origin of the millisecond counts below.
    epoch: Instant,
    /// Milliseconds since `epoch` (plus one; 0: never) of the last answer.
    last_ok: AtomicU64,
    /// The same for the last failed exchange.
    last_error: AtomicU64,
    /// When a failure was last logged, same unit.
    last_logged: AtomicU64,
    /// Failures not logged since then.
    unlogged: AtomicU64,
}

impl Default for UpstreamHealth {
    fn default() -> Self {
        UpstreamHealth {
            epoch: Instant::now(),
            last_ok: AtomicU64::new(0),
            last_error: AtomicU64::new(0),
            last_logged: AtomicU64::new(0),
            unlogged: AtomicU64::new(0),
        }
    }
}

impl UpstreamHealth {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// The upstream sent a response head.
    pub(crate) fn answered(&self) {
        self.last_ok.store(self.now(), Ordering::Relaxed);
    }

    /// An exchange failed: counted, and logged at most once a second with
    /// the number of failures not logged since.
    pub(crate) fn failed(&self, error: &UpstreamError) {
        let now = self.now();
        self.last_error.store(now, Ordering::Relaxed);
        let last = self.last_logged.load(Ordering::Relaxed);
        let due = (last == 0 || now.saturating_sub(last) >= 1000)
            && self
                .last_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if due {
            let suppressed = self.unlogged.swap(0, Ordering::Relaxed);
            tracing::warn!(
                target: "webcache::proxy",
                %error,
                kind = error.kind(),
                suppressed,
                "upstream failed"
            );
        } else {
            self.unlogged.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Whether the last exchange with the upstream failed (false when it
    /// was never asked).
    pub(crate) fn last_failed(&self) -> bool {
        self.last_error.load(Ordering::Relaxed) > self.last_ok.load(Ordering::Relaxed)
    }
}

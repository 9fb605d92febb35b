//! What the proxy knows of its upstream's health: when it last answered,
//! when an exchange last failed, and a log of failures that says at most
//! once a second how many there were.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::error::UpstreamError;

/// The upstream's recent history, shared by every request.
#[derive(Debug)]
pub(crate) struct UpstreamHealth {
    /// The origin of the millisecond counts below.
    epoch: Instant,
    /// Whether the exchange that ended last failed: a flag, not two
    /// timestamps, so that an answer and a failure in the same millisecond
    /// still tell which came last.
    last_failed: AtomicBool,
    /// When a failure was last logged: milliseconds since `epoch`, plus
    /// one (0: never).
    last_logged: AtomicU64,
    /// Failures not logged since then.
    unlogged: AtomicU64,
}

impl Default for UpstreamHealth {
    fn default() -> Self {
        UpstreamHealth {
            epoch: Instant::now(),
            last_failed: AtomicBool::new(false),
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
        self.last_failed.store(false, Ordering::Relaxed);
    }

    /// An exchange failed: counted, and logged at most once a second with
    /// the number of failures not logged since.
    pub(crate) fn failed(&self, error: &UpstreamError) {
        self.last_failed.store(true, Ordering::Relaxed);
        let now = self.now();
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
        self.last_failed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::UpstreamHealth;
    use crate::error::UpstreamError;

    #[test]
    fn the_exchange_that_ended_last_decides_even_within_one_millisecond() {
        let health = UpstreamHealth::default();
        assert!(!health.last_failed(), "never asked");
        health.answered();
        health.failed(&UpstreamError::Timeout(Duration::from_secs(1)));
        assert!(health.last_failed());
        health.answered();
        assert!(!health.last_failed());
    }
}

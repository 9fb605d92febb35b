//! Failing fast while Redis is down.
//!
//! Once an operation finds Redis unreachable (refused, dropped, timed out),
//! operations fail at once, without touching the network, for a short
//! window; the first operation after the window probes Redis again. Each
//! failed probe doubles the window, up to a maximum; one success closes
//! it. So an outage costs a request nothing but a log line, a stalled
//! server is not sent a command per request, and the cache resumes by
//! itself at most one maximum window after Redis is back.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The back-off state shared by every clone of a store.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    epoch: Instant,
    /// Milliseconds since `epoch` before which operations fail fast; zero
    /// when Redis is believed up.
    retry_at: AtomicU64,
    /// Failed probes in a row.
    failures: AtomicU32,
}

impl Backoff {
    /// Windows start at `min` and double up to `max`; a zero `min` turns
    /// failing fast off.
    pub(crate) fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            epoch: Instant::now(),
            retry_at: AtomicU64::new(0),
            failures: AtomicU32::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `Err(remaining)` while operations should fail fast.
    pub(crate) fn check(&self) -> Result<(), Duration> {
        let retry_at = self.retry_at.load(Ordering::Relaxed);
        if retry_at == 0 {
            return Ok(());
        }
        let now = self.now_ms();
        if now < retry_at {
            Err(Duration::from_millis(retry_at - now))
        } else {
            Ok(())
        }
    }

    /// Records a success: Redis is up.
    pub(crate) fn succeeded(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
            self.retry_at.store(0, Ordering::Relaxed);
            tracing::info!(target: "webcache::redis", "Redis is reachable again");
        }
    }

    /// Records that Redis could not be reached and opens (or lengthens) the
    /// window. Failures of operations already in flight when the window
    /// opened do not lengthen it.
    pub(crate) fn failed(&self) {
        if self.min.is_zero() {
            return;
        }
        let now = self.now_ms();
        if now < self.retry_at.load(Ordering::Relaxed) {
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::Relaxed);
        let window = self.window(failures);
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.retry_at
            .store(now.saturating_add(millis).max(1), Ordering::Relaxed);
        if failures == 0 {
            tracing::warn!(target: "webcache::redis", window_ms = millis, "Redis unreachable; failing fast until the next probe");
        } else {
            tracing::debug!(target: "webcache::redis", window_ms = millis, failures = failures + 1, "Redis still unreachable");
        }
    }

    /// The window after `failures` earlier failed probes.
    fn window(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_up_to_the_maximum() {
        let b = Backoff::new(Duration::from_millis(50), Duration::from_secs(1));
        let windows: Vec<u128> = (0..8).map(|n| b.window(n).as_millis()).collect();
        assert_eq!(windows, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(b.window(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn a_failure_fails_fast_until_the_window_ends_and_a_success_closes_it() {
        let b = Backoff::new(Duration::from_millis(40), Duration::from_millis(40));
        assert!(b.check().is_ok());
        b.failed();
        let remaining = b.check().expect_err("failing fast");
        assert!(remaining <= Duration::from_millis(40));
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.check().is_ok(), "the window ended: probe");
        b.succeeded();
        assert!(b.check().is_ok());
        assert_eq!(b.failures.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn failures_of_operations_in_flight_do_not_lengthen_the_window() {
        let b = Backoff::new(Duration::from_millis(50), Duration::from_secs(5));
        for _ in 0..100 {
            b.failed();
        }
        assert_eq!(b.failures.load(Ordering::Relaxed), 1);
        assert!(b.check().expect_err("failing fast") <= Duration::from_millis(50));
    }

    #[test]
    fn a_zero_minimum_never_fails_fast() {
        let b = Backoff::new(Duration::ZERO, Duration::ZERO);
        b.failed();
        assert!(b.check().is_ok());
    }
}

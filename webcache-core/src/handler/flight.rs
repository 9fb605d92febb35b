//! Request coalescing (RFC 9111 §4: a cache may collapse requests): one
//! request per key goes forward; the others wait for it and then look the
//! key up again.
//!
//! A leader's guard tells the waiters how the fill ended when it is
//! finished or dropped, so a cancelled or failed leader never strands them;
//! waiters also give up after a timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::key::DIGEST_LEN;

/// Resource digest and variant digest.
pub(crate) type FlightKey = ([u8; DIGEST_LEN], [u8; DIGEST_LEN]);

/// How a fill ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FillOutcome {
    /// A response was stored: look it up.
    Stored,
    /// The response could not be stored: go forward without waiting.
    NotStored,
    /// The leader went away: try again.
    Abandoned,
    /// The upstream failed (no answer, or an error the cache met with a
    /// stale response): serve stale if allowed, without another attempt.
    Failed,
}

type Sender = watch::Sender<Option<FillOutcome>>;

/// The fills in progress.
#[derive(Debug, Default)]
pub(crate) struct Flights {
    map: Mutex<HashMap<FlightKey, Arc<Sender>>>,
}

/// What joining a flight gives.
pub(crate) enum Join {
    /// Go forward, then finish the guard.
    Leader(FlightGuard),
    /// Someone else is going forward: wait.
    Follower(watch::Receiver<Option<FillOutcome>>),
}

impl Flights {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FlightKey, Arc<Sender>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leads the fill of `key`, or follows the one in progress.
    pub(crate) fn join(self: &Arc<Self>, key: FlightKey) -> Join {
        let mut map = self.lock();
        if let Some(tx) = map.get(&key) {
            return Join::Follower(tx.subscribe());
        }
        let (tx, _) = watch::channel(None);
        let tx = Arc::new(tx);
        map.insert(key, tx.clone());
        Join::Leader(FlightGuard {
            flights: self.clone(),
            key,
            tx,
            done: false,
        })
    }

    /// Leads the fill of `key` if nobody does (for background refreshes).
    pub(crate) fn try_lead(self: &Arc<Self>, key: FlightKey) -> Option<FlightGuard> {
        match self.join(key) {
            Join::Leader(guard) => Some(guard),
            Join::Follower(_) => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Waits for a fill to end; `Abandoned` on timeout.
pub(crate) async fn wait(
    mut rx: watch::Receiver<Option<FillOutcome>>,
    timeout: Duration,
) -> FillOutcome {
    match tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await {
        Ok(Ok(outcome)) => outcome.unwrap_or(FillOutcome::Abandoned),
        _ => FillOutcome::Abandoned,
    }
}

/// The leader's hold on a flight.
#[derive(Debug)]
pub struct FlightGuard {
    flights: Arc<Flights>,
    key: FlightKey,
    tx: Arc<Sender>,
    done: bool,
}

impl FlightGuard {
    /// Ends the flight, telling the waiters how.
    pub(crate) fn finish(mut self, outcome: FillOutcome) {
        self.end(outcome);
    }

    fn end(&mut self, outcome: FillOutcome) {
        if self.done {
            return;
        }
        self.done = true;
        {
            let mut map = self.flights.lock();
            if map
                .get(&self.key)
                .is_some_and(|tx| Arc::ptr_eq(tx, &self.tx))
            {
                map.remove(&self.key);
            }
        }
        self.tx.send_replace(Some(outcome));
    }
}

impl Drop for FlightGuard {
    fn drop(&mut self) {
        self.end(FillOutcome::Abandoned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn followers_learn_the_outcome_and_the_key_is_released() {
        let flights = Arc::new(Flights::default());
        let key = ([1; DIGEST_LEN], [0; DIGEST_LEN]);
        let Join::Leader(guard) = flights.join(key) else {
            panic!("first joiner leads")
        };
        let Join::Follower(rx) = flights.join(key) else {
            panic!("second joiner follows")
        };
        assert!(flights.try_lead(key).is_none());
        let waiter = tokio::spawn(wait(rx, Duration::from_secs(5)));
        guard.finish(FillOutcome::Stored);
        assert_eq!(waiter.await.unwrap(), FillOutcome::Stored);
        assert_eq!(flights.len(), 0);
        assert!(flights.try_lead(key).is_some());
    }

    #[tokio::test]
    async fn a_dropped_leader_releases_followers() {
        let flights = Arc::new(Flights::default());
        let key = ([2; DIGEST_LEN], [0; DIGEST_LEN]);
        let Join::Leader(guard) = flights.join(key) else {
            panic!()
        };
        let Join::Follower(rx) = flights.join(key) else {
            panic!()
        };
        drop(guard);
        assert_eq!(
            wait(rx, Duration::from_secs(5)).await,
            FillOutcome::Abandoned
        );
        assert_eq!(flights.len(), 0);
    }

    #[tokio::test]
    async fn waiting_times_out() {
        let flights = Arc::new(Flights::default());
        let key = ([3; DIGEST_LEN], [0; DIGEST_LEN]);
        let _guard = flights.join(key);
        let Join::Follower(rx) = flights.join(key) else {
            panic!()
        };
        assert_eq!(
            wait(rx, Duration::from_millis(10)).await,
            FillOutcome::Abandoned
        );
    }
}

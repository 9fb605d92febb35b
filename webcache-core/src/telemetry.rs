//! The cache's metrics (through the `metrics` facade, feature `metrics`)
//! and the outcome field of its request span. Every handle is registered
//! once, when the cache is built, so that recording is an increment on a
//! handle: no registry lookup, no allocation. Without the feature (or
//! without a recorder) each handle is a no-op. The names and labels are
//! listed in the crate docs, "Metrics".

use std::time::Instant;

use crate::reuse::ValidateReason;
use crate::status::Forward;
use crate::storage::NotStorable;

#[cfg(feature = "metrics")]
use metrics::{Counter, Histogram};

/// A counter that records nothing (the feature `metrics` is off).
#[cfg(not(feature = "metrics"))]
#[derive(Debug)]
struct Counter;

#[cfg(not(feature = "metrics"))]
impl Counter {
    #[inline(always)]
    fn increment(&self, _: u64) {}
}

/// A histogram that records nothing (the feature `metrics` is off).
#[cfg(not(feature = "metrics"))]
#[derive(Debug)]
struct Histogram;

#[cfg(not(feature = "metrics"))]
impl Histogram {
    #[inline(always)]
    fn record(&self, _: f64) {}
}

/// Registers a counter with the recorder installed now.
#[cfg(feature = "metrics")]
fn counter(name: &'static str, labels: &[(&'static str, &'static str)]) -> Counter {
    let labels: Vec<metrics::Label> = labels
        .iter()
        .map(|&(k, v)| metrics::Label::from_static_parts(k, v))
        .collect();
    metrics::counter!(name, labels)
}

#[cfg(not(feature = "metrics"))]
fn counter(_: &'static str, _: &[(&'static str, &'static str)]) -> Counter {
    Counter
}

#[cfg(feature = "metrics")]
fn histogram(name: &'static str, labels: &[(&'static str, &'static str)]) -> Histogram {
    let labels: Vec<metrics::Label> = labels
        .iter()
        .map(|&(k, v)| metrics::Label::from_static_parts(k, v))
        .collect();
    metrics::histogram!(name, labels)
}

#[cfg(not(feature = "metrics"))]
fn histogram(_: &'static str, _: &[(&'static str, &'static str)]) -> Histogram {
    Histogram
}

/// Requests by how the cache answered them; each request is counted once.
pub(crate) const REQUESTS: &str = "webcache_requests_total";
/// Stale answers given in place of a failed or unreachable upstream.
pub(crate) const STALE_ON_ERROR: &str = "webcache_stale_on_error_total";
/// 304 and 412 answered from storage.
pub(crate) const PRECONDITIONS: &str = "webcache_precondition_answers_total";
/// Body bytes of responses answered from storage.
pub(crate) const SERVED_BYTES: &str = "webcache_served_from_storage_bytes_total";
/// Responses written to the store.
pub(crate) const STORES: &str = "webcache_stores_total";
/// Responses not stored, by reason.
pub(crate) const NOT_STORED: &str = "webcache_not_stored_total";
/// Store operations.
pub(crate) const STORE_OPS: &str = "webcache_store_operations_total";
/// Store operations that failed or timed out.
pub(crate) const STORE_ERRORS: &str = "webcache_store_errors_total";
/// How long store operations that did not complete at once took.
pub(crate) const STORE_SECONDS: &str = "webcache_store_operation_duration_seconds";
/// Requests that waited for another request's fill.
pub(crate) const COALESCED: &str = "webcache_coalesced_total";
/// Background refreshes started.
pub(crate) const REFRESHES: &str = "webcache_background_refreshes_total";
/// Resources invalidated.
pub(crate) const INVALIDATIONS: &str = "webcache_invalidations_total";
/// Purges, by kind and mode.
pub(crate) const PURGES: &str = "webcache_purges_total";

/// What a purge reached, the `kind` label of `webcache_purges_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum PurgeKind {
    Url,
    Tag,
    Flush,
}

const PURGE_KINDS: [&str; 3] = ["url", "tag", "flush"];

impl PurgeKind {
    pub(crate) fn as_str(self) -> &'static str {
        PURGE_KINDS[self as usize]
    }
}

/// How a request was answered: the `outcome` and `reason` labels of
/// `webcache_requests_total`, and the fields of the request span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Outcome {
    Hit,
    StaleMaxStale,
    StaleWhileRevalidate,
    StaleIfError,
    StaleUnreachable,
    RevalidateStale,
    RevalidateRequest,
    MissUri,
    MissVary,
    Miss,
    MissRequest,
    MissStale,
    MissPartial,
    BypassExempt,
    BypassMethod,
    GatewayTimeout,
}

/// The labels of each [`Outcome`], in its order.
const OUTCOMES: [(&str, &str); 16] = [
    ("hit", "fresh"),
    ("stale", "max-stale"),
    ("stale", "stale-while-revalidate"),
    ("stale", "stale-if-error"),
    ("stale", "unreachable"),
    ("revalidate", "stale"),
    ("revalidate", "request"),
    ("miss", "uri-miss"),
    ("miss", "vary-miss"),
    ("miss", "miss"),
    ("miss", "request"),
    ("miss", "stale"),
    ("miss", "partial"),
    ("bypass", "bypass"),
    ("bypass", "method"),
    ("gateway_timeout", "only-if-cached"),
];

impl Outcome {
    /// A request that went forward for `why` (RFC 9211 `fwd`).
    pub(crate) fn forward(why: Forward) -> Outcome {
        match why {
            Forward::Bypass => Outcome::BypassExempt,
            Forward::Method => Outcome::BypassMethod,
            Forward::UriMiss => Outcome::MissUri,
            Forward::VaryMiss => Outcome::MissVary,
            Forward::Miss => Outcome::Miss,
            Forward::Request => Outcome::MissRequest,
            Forward::Stale => Outcome::MissStale,
            Forward::Partial => Outcome::MissPartial,
        }
    }

    /// A validation of a stored response, sent for `why`.
    pub(crate) fn revalidate(why: ValidateReason) -> Outcome {
        match why {
            ValidateReason::Request => Outcome::RevalidateRequest,
            _ => Outcome::RevalidateStale,
        }
    }

    /// The `outcome` and `reason` labels.
    pub(crate) fn labels(self) -> (&'static str, &'static str) {
        OUTCOMES[self as usize]
    }
}

/// A store operation, the `operation` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum StoreOp {
    Get,
    Put,
    Delete,
    Purge,
}

const STORE_OP_NAMES: [&str; 4] = ["get", "put", "delete", "purge"];

/// Every [`NotStorable`], in declaration order (its discriminant).
const NOT_STORABLE: [NotStorable; 17] = [
    NotStorable::Method,
    NotStorable::NotFinal,
    NotStorable::StatusNotUnderstood,
    NotStorable::ContentRange,
    NotStorable::NoStrongValidator,
    NotStorable::UncombinablePart,
    NotStorable::RequestNoStore,
    NotStorable::NoStore,
    NotStorable::Private,
    NotStorable::Authorization,
    NotStorable::SetCookie,
    NotStorable::VaryAny,
    NotStorable::NotCacheable,
    NotStorable::BodyTooLarge,
    NotStorable::HeadersTooLarge,
    NotStorable::Incomplete,
    NotStorable::Exempt,
];

/// Leaks the Display names of [`NotStorable`] once per process, so that
/// they can be static labels.
fn not_storable_names() -> &'static [&'static str; 17] {
    static NAMES: std::sync::OnceLock<[&'static str; 17]> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| NOT_STORABLE.map(|why| &*Box::leak(why.to_string().into_boxed_str())))
}

/// The handles of every metric, registered when the cache is built.
#[derive(Debug)]
pub(crate) struct Metrics {
    requests: [Counter; 16],
    stale_on_error: [Counter; 2],
    preconditions: [Counter; 2],
    served_bytes: Counter,
    stores: Counter,
    not_stored: [Counter; 17],
    store_ops: [Counter; 4],
    store_errors: [Counter; 4],
    store_seconds: [Histogram; 4],
    coalesced: Counter,
    refreshes: Counter,
    invalidations: Counter,
    purges: [Counter; 6],
}

impl Metrics {
    /// Registers every handle with the recorder installed now (the global
    /// one, or a local one in scope).
    pub(crate) fn register() -> Metrics {
        let ops = |name| STORE_OP_NAMES.map(|op| counter(name, &[("operation", op)]));
        let names = not_storable_names();
        Metrics {
            requests: OUTCOMES.map(|(o, r)| counter(REQUESTS, &[("outcome", o), ("reason", r)])),
            stale_on_error: ["stale-if-error", "unreachable"]
                .map(|r| counter(STALE_ON_ERROR, &[("reason", r)])),
            preconditions: ["304", "412"].map(|s| counter(PRECONDITIONS, &[("status", s)])),
            served_bytes: counter(SERVED_BYTES, &[]),
            stores: counter(STORES, &[]),
            not_stored: names.map(|r| counter(NOT_STORED, &[("reason", r)])),
            store_ops: ops(STORE_OPS),
            store_errors: ops(STORE_ERRORS),
            store_seconds: STORE_OP_NAMES.map(|op| histogram(STORE_SECONDS, &[("operation", op)])),
            coalesced: counter(COALESCED, &[]),
            refreshes: counter(REFRESHES, &[]),
            invalidations: counter(INVALIDATIONS, &[]),
            purges: [0, 1, 2, 3, 4, 5].map(|i| {
                let mode = if i % 2 == 0 { "hard" } else { "soft" };
                counter(PURGES, &[("kind", PURGE_KINDS[i / 2]), ("mode", mode)])
            }),
        }
    }

    /// Counts a request's outcome and records it on the current span (the
    /// request span of [`Cache::serve`](crate::Cache::serve)).
    #[inline]
    pub(crate) fn request(&self, outcome: Outcome) {
        self.requests[outcome as usize].increment(1);
        if tracing::enabled!(target: "webcache::core", tracing::Level::DEBUG) {
            record_outcome(outcome);
        }
    }

    /// A stale answer in place of a failed upstream: `stale-if-error`
    /// allowed it, or (false) the upstream was unreachable.
    pub(crate) fn stale_on_error(&self, stale_if_error: bool) {
        self.stale_on_error[usize::from(!stale_if_error)].increment(1);
    }

    /// A 304 (true) or 412 answered from storage.
    pub(crate) fn precondition(&self, not_modified: bool) {
        self.preconditions[usize::from(!not_modified)].increment(1);
    }

    /// A body of `len` bytes answered from storage.
    #[inline]
    pub(crate) fn served(&self, len: usize) {
        self.served_bytes.increment(len as u64);
    }

    pub(crate) fn stored(&self) {
        self.stores.increment(1);
    }

    pub(crate) fn not_stored(&self, why: NotStorable) {
        self.not_stored[why as usize].increment(1);
    }

    #[inline]
    pub(crate) fn store_op(&self, op: StoreOp) {
        self.store_ops[op as usize].increment(1);
    }

    pub(crate) fn store_error(&self, op: StoreOp) {
        self.store_errors[op as usize].increment(1);
    }

    /// A store operation that did not complete at its first poll, timed
    /// from then.
    pub(crate) fn store_latency(&self, op: StoreOp, since: Instant) {
        self.store_seconds[op as usize].record(since.elapsed().as_secs_f64());
    }

    pub(crate) fn coalesced(&self) {
        self.coalesced.increment(1);
    }

    pub(crate) fn refresh(&self) {
        self.refreshes.increment(1);
    }

    /// A purge made.
    pub(crate) fn purge(&self, kind: PurgeKind, mode: crate::purge::PurgeMode) {
        let mode = usize::from(mode == crate::purge::PurgeMode::Soft);
        self.purges[kind as usize * 2 + mode].increment(1);
    }

    pub(crate) fn invalidation(&self) {
        self.invalidations.increment(1);
    }
}

#[cold]
fn record_outcome(outcome: Outcome) {
    let (o, r) = outcome.labels();
    let span = tracing::Span::current();
    span.record("outcome", o);
    span.record("reason", r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_storable_table_follows_the_discriminants() {
        for (i, why) in NOT_STORABLE.iter().enumerate() {
            assert_eq!(*why as usize, i);
        }
        assert_eq!(not_storable_names()[13], "body-too-large");
    }

    #[test]
    fn outcomes_and_their_labels_line_up() {
        assert_eq!(Outcome::GatewayTimeout as usize, OUTCOMES.len() - 1);
        assert_eq!(
            Outcome::forward(Forward::UriMiss).labels(),
            ("miss", "uri-miss")
        );
        assert_eq!(Outcome::StaleIfError.labels(), ("stale", "stale-if-error"));
        assert_eq!(Outcome::BypassMethod.labels(), ("bypass", "method"));
    }
}

//! The handlers: a [`RequestHandler`] that answers from storage or says
//! what to forward, a [`ResponseHandler`] that stores, freshens,
//! invalidates and finishes forwarded responses, and [`Cache`], which owns
//! both and runs the whole exchange with [`Cache::serve`].
//!
//! Requests flow top to bottom, responses bottom to top: the two handlers
//! can sit at different depths of a middleware stack, joined by the
//! [`Pending`] the request handler returns.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use webcache_core::{Cache, Config, Upstream};
//! # use std::collections::HashMap;
//! # use std::sync::Mutex;
//! # use webcache_core::store::{Store, StoreKey, Write};
//! # #[derive(Default)]
//! # struct MapStore(Mutex<HashMap<StoreKey, Bytes>>);
//! # impl Store for MapStore {
//! #     async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, webcache_core::StoreError> {
//! #         let map = self.0.lock().unwrap();
//! #         Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
//! #     }
//! #     async fn put_many(&self, writes: Vec<Write>) -> Result<(), webcache_core::StoreError> {
//! #         let mut map = self.0.lock().unwrap();
//! #         for w in writes { map.insert(w.key, w.value); }
//! #         Ok(())
//! #     }
//! #     async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), webcache_core::StoreError> {
//! #         let mut map = self.0.lock().unwrap();
//! #         for k in keys { map.remove(k); }
//! #         Ok(())
//! #     }
//! # }
//!
//! /// The application: every call counts.
//! #[derive(Clone)]
//! struct App;
//!
//! impl Upstream<Full<Bytes>> for App {
//!     type Body = Full<Bytes>;
//!     type Error = Infallible;
//!     async fn call(&mut self, _req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
//!         Ok(Response::builder()
//!             .header("cache-control", "max-age=60")
//!             .body(Full::new(Bytes::from("hello")))
//!             .unwrap())
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let cache = Cache::new(MapStore::default(), Config::default());
//! let req = || Request::get("http://example.com/").body(Full::default()).unwrap();
//!
//! let miss = cache.serve(req(), App).await.unwrap();
//! assert_eq!(miss.headers()["cache-status"], "webcache; fwd=uri-miss; fwd-status=200; stored");
//!
//! let hit = cache.serve(req(), App).await.unwrap();
//! assert_eq!(hit.headers()["cache-status"], "webcache; hit; ttl=60");
//! assert_eq!(hit.headers()["age"], "0");
//! assert_eq!(hit.into_body().collect().await.unwrap().to_bytes(), "hello");
//! # });
//! ```

mod body;
mod decoded;
mod fence;
mod flight;
mod front;
mod mixins;
mod outage;
pub mod plan;
mod purge;
mod request;
mod response;
mod serve;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::HeaderName;
use tokio::sync::Notify;
use tokio::time::error::Elapsed;

pub use body::CacheBody;
pub use flight::FlightGuard;
pub use mixins::{
    DefaultRetrieval, DefaultStorability, DefaultValidation, Mixins, Policy, Retrieval,
    Storability, Validation,
};
pub use request::{Pending, RequestHandler, RequestOutcome};
pub use response::{ResponseHandler, ResponseOutcome};
pub use serve::{Later, NotNow, Upstream};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::{InvalidateError, StoreError};
use crate::headers::CacheControl;
use crate::key::{DIGEST_LEN, PrimaryKey, SecondaryKey};
use crate::store::{Store, StoreKey, Write};
use crate::telemetry::{Metrics, StoreOp};
use flight::Flights;

/// An HTTP cache: a store, a configuration and the behaviours it is built
/// from. Cheap to clone; clones share everything.
///
/// Built over any [`Store`] (the stores are their own crates:
/// `webcache-memory`, `webcache-redis`, `webcache-sqlite`); the module docs
/// run a whole miss and hit through [`Cache::serve`].
///
/// ```
/// use webcache_core::{Cache, Config, Store};
///
/// fn cache_over<S: Store>(store: S) -> Result<Cache<S>, webcache_core::Error> {
///     let config = Config::builder().resource_exemptions(["/static/"]).build()?;
///     Ok(Cache::new(store, config))
/// }
/// ```
pub struct Cache<S, M = Mixins> {
    shared: Arc<Shared<S, M>>,
}

impl<S, M> Clone for Cache<S, M> {
    fn clone(&self) -> Self {
        Cache {
            shared: self.shared.clone(),
        }
    }
}

impl<S, M> std::fmt::Debug for Cache<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Shared<S, M> {
    pub(crate) store: S,
    pub(crate) config: Config,
    pub(crate) mixins: M,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) flights: Arc<Flights>,
    pub(crate) hints: VaryHints,
    /// Stored responses as last decoded, by the buffer they came from.
    pub(crate) decoded: decoded::DecodedEntries,
    /// Invalidations, so that forwards they overtook store nothing.
    pub(crate) fence: fence::Fence,
    pub(crate) tasks: Arc<Tasks>,
    pub(crate) counters: Counters,
    /// The metric handles, registered at build (see [`crate::telemetry`]).
    pub(crate) metrics: Metrics,
    pub(crate) outages: outage::Outages,
    /// The key of this cache's global purge record.
    pub(crate) global_key: StoreKey,
    /// Tells this cache from every other in the process (see `front`).
    pub(crate) id: u64,
}

/// The next [`Shared::id`].
static NEXT_CACHE: AtomicU64 = AtomicU64::new(0);

/// Builds a [`Cache`].
pub struct CacheBuilder<S, M> {
    store: S,
    config: Config,
    mixins: M,
    clock: Arc<dyn Clock>,
}

impl<S: Store> Cache<S> {
    /// A builder over `store` with the default configuration and
    /// behaviours.
    ///
    /// ```
    /// use webcache_core::{Cache, Config, Store};
    /// use webcache_core::handler::{DefaultRetrieval, Mixins};
    ///
    /// fn cache_over<S: Store>(store: S) -> Cache<S, Mixins> {
    ///     Cache::builder(store)
    ///         .config(Config::default())
    ///         .retrieval(DefaultRetrieval) // or a Retrieval of your own
    ///         .build()
    /// }
    /// ```
    pub fn builder(store: S) -> CacheBuilder<S, Mixins> {
        CacheBuilder {
            store,
            config: Config::default(),
            mixins: Mixins::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// A cache over `store` with `config` and the default behaviours.
    ///
    /// ```
    /// use webcache_core::{Cache, Config, Store};
    ///
    /// fn cache_over<S: Store>(store: S) -> Result<Cache<S>, webcache_core::Error> {
    ///     Ok(Cache::new(store, Config::builder().master_salt("release-42").build()?))
    /// }
    /// ```
    pub fn new(store: S, config: Config) -> Cache<S> {
        Self::builder(store).config(config).build()
    }
}

impl<S, R, V, P> CacheBuilder<S, Mixins<R, V, P>> {
    /// Replaces how requests are keyed.
    ///
    /// ```
    /// use http::request::Parts;
    /// use webcache_core::handler::Retrieval;
    /// use webcache_core::{Cache, Config, Store};
    ///
    /// /// Never looks up nor stores a request that carries a session cookie.
    /// struct SkipSessions;
    /// impl Retrieval for SkipSessions {
    ///     fn is_exempt(&self, parts: &Parts, config: &Config) -> bool {
    ///         let cookies = parts.headers.get_all("cookie").iter();
    ///         cookies.filter_map(|v| v.to_str().ok()).any(|v| v.contains("session="))
    ///             || config.is_exempt(parts.uri.path())
    ///     }
    /// }
    ///
    /// fn build<S: Store>(store: S) {
    ///     let _cache = Cache::builder(store).retrieval(SkipSessions).build();
    /// }
    /// ```
    pub fn retrieval<R2: Retrieval>(self, retrieval: R2) -> CacheBuilder<S, Mixins<R2, V, P>> {
        let Mixins {
            validation,
            storability,
            ..
        } = self.mixins;
        CacheBuilder {
            store: self.store,
            config: self.config,
            mixins: Mixins {
                retrieval,
                validation,
                storability,
            },
            clock: self.clock,
        }
    }

    /// Replaces how validators are made and checked.
    ///
    /// ```
    /// use webcache_core::handler::Validation;
    /// use webcache_core::headers::EntityTag;
    /// use webcache_core::{Cache, Store};
    ///
    /// /// Adds no generated ETag: the application sets its own where it has one.
    /// struct NoGeneratedEtag;
    /// impl Validation for NoGeneratedEtag {
    ///     fn etag(&self, _body: &[u8]) -> Option<EntityTag> {
    ///         None
    ///     }
    /// }
    ///
    /// fn build<S: Store>(store: S) {
    ///     let _cache = Cache::builder(store).validation(NoGeneratedEtag).build();
    /// }
    /// ```
    pub fn validation<V2: Validation>(self, validation: V2) -> CacheBuilder<S, Mixins<R, V2, P>> {
        let Mixins {
            retrieval,
            storability,
            ..
        } = self.mixins;
        CacheBuilder {
            store: self.store,
            config: self.config,
            mixins: Mixins {
                retrieval,
                validation,
                storability,
            },
            clock: self.clock,
        }
    }

    /// Replaces what is stored.
    ///
    /// ```
    /// use http::{HeaderMap, StatusCode};
    /// use webcache_core::handler::Storability;
    /// use webcache_core::headers::CacheControl;
    /// use webcache_core::request::RequestFacts;
    /// use webcache_core::storage::{self, NotStorable};
    /// use webcache_core::{Cache, Config, Store};
    ///
    /// /// Stores only 200 responses, on top of the RFC's rules.
    /// struct OnlyOk;
    /// impl Storability for OnlyOk {
    ///     fn is_storable(
    ///         &self,
    ///         request: &RequestFacts,
    ///         status: StatusCode,
    ///         headers: &HeaderMap,
    ///         cc: &CacheControl,
    ///         config: &Config,
    ///     ) -> Result<(), NotStorable> {
    ///         if status != StatusCode::OK {
    ///             return Err(NotStorable::NotCacheable);
    ///         }
    ///         storage::is_storable(request, status, headers, cc, config)
    ///     }
    /// }
    ///
    /// fn build<S: Store>(store: S) {
    ///     let _cache = Cache::builder(store).storability(OnlyOk).build();
    /// }
    /// ```
    pub fn storability<P2: Storability>(
        self,
        storability: P2,
    ) -> CacheBuilder<S, Mixins<R, V, P2>> {
        let Mixins {
            retrieval,
            validation,
            ..
        } = self.mixins;
        CacheBuilder {
            store: self.store,
            config: self.config,
            mixins: Mixins {
                retrieval,
                validation,
                storability,
            },
            clock: self.clock,
        }
    }
}

impl<S, M> CacheBuilder<S, M> {
    /// Sets the configuration.
    ///
    /// ```
    /// use webcache_core::{Cache, Config, Store};
    ///
    /// fn build<S: Store>(store: S) -> Result<Cache<S>, webcache_core::Error> {
    ///     let config = Config::builder().shared(false).build()?;
    ///     Ok(Cache::builder(store).config(config).build())
    /// }
    /// ```
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the clock (tests use [`ManualClock`](crate::clock::ManualClock)).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use webcache_core::clock::ManualClock;
    /// use webcache_core::{Cache, Store};
    ///
    /// fn at_a_fixed_time<S: Store>(store: S) -> Cache<S> {
    ///     let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    ///     Cache::builder(store).clock(clock).build()
    /// }
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the cache.
    pub fn build(self) -> Cache<S, M> {
        Cache {
            shared: Arc::new(Shared {
                store: self.store,
                mixins: self.mixins,
                clock: self.clock,
                flights: Arc::new(Flights::default()),
                hints: VaryHints::default(),
                decoded: decoded::DecodedEntries::default(),
                fence: fence::Fence::default(),
                tasks: Arc::new(Tasks::default()),
                counters: Counters::default(),
                id: NEXT_CACHE.fetch_add(1, Ordering::Relaxed),
                metrics: Metrics::register(),
                outages: outage::Outages::default(),
                global_key: StoreKey::global(crate::key::namespace(&self.config)),
                config: self.config,
            }),
        }
    }
}

impl<S: Store, M: Policy> Cache<S, M> {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.shared.store
    }

    /// The time according to the cache's clock.
    pub fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// The request side, to place on its own in a middleware stack.
    pub fn request_handler(&self) -> RequestHandler<S, M> {
        RequestHandler::new(self.shared.clone())
    }

    /// The response side, to place on its own in a middleware stack.
    pub fn response_handler(&self) -> ResponseHandler<S, M> {
        ResponseHandler::new(self.shared.clone())
    }

    /// Counters since the cache was built.
    ///
    /// ```
    /// use webcache_core::{Cache, Store};
    ///
    /// fn hit_ratio<S: Store>(cache: &Cache<S>) -> f64 {
    ///     let stats = cache.stats();
    ///     let answered = stats.hits + stats.misses;
    ///     if answered == 0 { 0.0 } else { stats.hits as f64 / answered as f64 }
    /// }
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Waits until every background task (stores of streamed bodies,
    /// background refreshes) has finished. Tests call this instead of
    /// sleeping.
    pub async fn quiesce(&self) {
        self.shared.tasks.idle().await;
    }

    /// Invalidates every stored representation of the absolute URI `uri`
    /// (e.g. `https://example.com/a?b`), keyed as the cache's
    /// [`Retrieval::primary_key_for_uri`] keys it: the resource's metadata
    /// and representations are removed from the store. Bounded by
    /// [`Config::store_timeout`], counted in [`Stats::invalidations`] (and
    /// a failure in [`Stats::store_errors`]), and logged like every store
    /// call.
    ///
    /// ```
    /// # use webcache_core::{Cache, Config, InvalidateError};
    /// # async fn purge<S: webcache_core::Store>(cache: Cache<S>) {
    /// cache.invalidate("https://example.com/products/42").await.unwrap();
    /// assert!(matches!(
    ///     cache.invalidate("/products/42").await,
    ///     Err(InvalidateError::NotAbsolute(_))
    /// ));
    /// # }
    /// ```
    pub async fn invalidate(&self, uri: &str) -> Result<(), InvalidateError> {
        let s = &*self.shared;
        let key = s
            .mixins
            .retrieval()
            .primary_key_for_uri(uri, &s.config)
            .ok_or_else(|| InvalidateError::NotAbsolute(uri.to_owned()))?;
        tracing::debug!(target: "webcache::core", uri = key.uri(), outcome = "invalidate");
        s.try_delete_resource(&key)
            .await
            .map_err(InvalidateError::Store)
    }
}

/// Runs the store operation `future` for at most `limit`. The timer is
/// armed, and the clock read, only when the first poll is pending: an
/// in-process store answers at once, and arming and clearing a timer on
/// every hit would cost more than the lookup. An operation that is pending
/// is timed from then into `op`'s latency histogram.
pub(crate) async fn bounded<F: Future>(
    limit: Duration,
    future: F,
    metrics: &Metrics,
    op: StoreOp,
) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let first = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
    if let Poll::Ready(output) = first {
        return Ok(output);
    }
    let since = Instant::now();
    let result = tokio::time::timeout(limit, future).await;
    metrics.store_latency(op, since);
    result
}

impl<S: Store, M> Shared<S, M> {
    /// Runs one store operation within [`Config::store_timeout`]; a
    /// failure (or the timeout) is counted and logged, and returned for the
    /// caller to fail open.
    pub(crate) async fn store_call<T>(
        &self,
        op: StoreOp,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        self.metrics.store_op(op);
        let limit = self.config.store_timeout();
        let result = match bounded(limit, operation, &self.metrics, op).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout),
        };
        if let Err(error) = &result {
            self.store_failed(op, error);
        }
        result
    }

    /// Reads `keys`, failing open: `None` on error or timeout. The hit
    /// path: [`store_call`](Self::store_call)'s steps written out, which
    /// saves a move of the store's future per lookup.
    pub(crate) async fn get_many(&self, keys: &[StoreKey]) -> Option<Vec<Option<Bytes>>> {
        self.metrics.store_op(StoreOp::Get);
        let limit = self.config.store_timeout();
        let get = self.store.get_many(keys);
        let error = match bounded(limit, get, &self.metrics, StoreOp::Get).await {
            Ok(Ok(values)) if values.len() == keys.len() => return Some(values),
            Ok(Ok(_)) => StoreError::Backend("store returned the wrong number of values".into()),
            Ok(Err(e)) => e,
            Err(_) => StoreError::Timeout,
        };
        self.store_failed(StoreOp::Get, &error);
        None
    }

    /// Writes, failing open: false on error or timeout.
    pub(crate) async fn put_many(&self, writes: Vec<Write>) -> bool {
        let written = self
            .store_call(StoreOp::Put, self.store.put_many(writes))
            .await
            .is_ok();
        if written {
            Counters::bump(&self.counters.stores);
            self.metrics.stored();
        }
        written
    }

    /// Removes a resource and every representation of it, failing open:
    /// false on error or timeout. Counts the invalidation.
    pub(crate) async fn delete_resource(&self, key: &PrimaryKey) -> bool {
        self.try_delete_resource(key).await.is_ok()
    }

    /// Removes a resource and every representation of it, within
    /// [`Config::store_timeout`]; the error is counted and logged.
    async fn try_delete_resource(&self, key: &PrimaryKey) -> Result<(), StoreError> {
        self.fence.invalidate(key.digest());
        self.hints.remove(key.digest());
        let result = self
            .store_call(StoreOp::Delete, self.store.delete_resource(key.digest()))
            .await;
        if result.is_ok() {
            Counters::bump(&self.counters.invalidations);
            self.metrics.invalidation();
        }
        result
    }

    /// The secondary key of a request for `primary` under the Vary names
    /// `vary`, as the cache's [`Retrieval`] computes it.
    pub(crate) fn secondary_key(
        &self,
        primary: &PrimaryKey,
        vary: &[HeaderName],
        request: &http::HeaderMap,
    ) -> SecondaryKey
    where
        M: Policy,
    {
        self.mixins
            .retrieval()
            .secondary_key(primary, vary, request)
    }

    /// The Cache-Control of a stored copy: `received` (parsed from the
    /// response as received, which had `received_len` field lines) when
    /// storing dropped no field, else parsed again from `stored`, which is
    /// what a hit on it will read.
    pub(crate) fn stored_cache_control(
        &self,
        received: CacheControl,
        received_len: usize,
        stored: &http::HeaderMap,
    ) -> CacheControl {
        if stored.len() == received_len {
            received
        } else {
            crate::targeted::response_cache_control(stored, &self.config)
        }
    }

    /// Counts a store failure and logs it — at most once a second, with
    /// the number of failures not logged since, so that an outage under load
    /// does not flood the log.
    fn store_failed(&self, op: StoreOp, error: &StoreError) {
        self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
        self.metrics.store_error(op);
        let now = crate::headers::unix_millis(SystemTime::now());
        let last = self.counters.last_warning.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= 1000
            && self
                .counters
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok();
        if due {
            let suppressed = self.counters.unlogged.swap(0, Ordering::Relaxed);
            tracing::warn!(
                target: "webcache::core",
                %error,
                suppressed,
                "store failed; serving without the cache"
            );
        } else {
            self.counters.unlogged.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Counters of what the cache did.
///
/// With the feature `serde`, `Serialize` (a map of the field names to
/// numbers) for an endpoint of the application's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub struct Stats {
    /// Requests answered from storage without going forward (fresh or
    /// allowed stale).
    pub hits: u64,
    /// Requests that went forward with nothing usable stored.
    pub misses: u64,
    /// Stored responses validated with the origin.
    pub revalidations: u64,
    /// Purges made through this cache (by URL, by tag, flushes).
    pub purges: u64,
    /// Requests that bypassed the cache (exempt or not cacheable methods).
    pub bypasses: u64,
    /// Successful store writes.
    pub stores: u64,
    /// Store operations that failed or timed out.
    pub store_errors: u64,
    /// Resources invalidated.
    pub invalidations: u64,
    /// Requests that waited for another request's fill.
    pub collapsed: u64,
    /// Background refreshes started.
    pub refreshes: u64,
}

/// A counter bumped from many threads at once: each thread bumps one of
/// [`STRIPES`] counters on cache lines of their own, so that threads on
/// different cores do not take turns owning one line; read as their sum.
#[derive(Debug, Default)]
pub(crate) struct Striped([Padded; STRIPES]);

/// The number of stripes of a [`Striped`] counter.
const STRIPES: usize = 16;

#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

thread_local! {
    /// This thread's stripe.
    static STRIPE: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES
    };
}

impl Striped {
    pub(crate) fn bump(&self) {
        let stripe = STRIPE.try_with(|s| *s).unwrap_or(0);
        self.0[stripe].0.fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self) -> u64 {
        self.0.iter().map(|p| p.0.load(Ordering::Relaxed)).sum()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bumped on every hit, from every thread: striped.
    pub(crate) hits: Striped,
    pub(crate) misses: AtomicU64,
    pub(crate) revalidations: AtomicU64,
    pub(crate) purges: AtomicU64,
    pub(crate) bypasses: AtomicU64,
    pub(crate) stores: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) collapsed: AtomicU64,
    pub(crate) refreshes: AtomicU64,
    /// When a store failure was last logged (ms since the epoch).
    last_warning: AtomicU64,
    /// Store failures not logged since then.
    unlogged: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Stats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            hits: self.hits.sum(),
            misses: l(&self.misses),
            revalidations: l(&self.revalidations),
            purges: l(&self.purges),
            bypasses: l(&self.bypasses),
            stores: l(&self.stores),
            store_errors: l(&self.store_errors),
            invalidations: l(&self.invalidations),
            collapsed: l(&self.collapsed),
            refreshes: l(&self.refreshes),
        }
    }

    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Remembers the Vary field names of resources that have them, so that a
/// lookup can fetch metadata and the right representation in one store
/// round trip. A wrong or missing hint costs a second round trip, never a
/// wrong answer: the metadata read in the same trip is authoritative.
#[derive(Debug, Default)]
pub(crate) struct VaryHints {
    map: RwLock<HashMap<[u8; DIGEST_LEN], Arc<[HeaderName]>>>,
    /// The number of hints, read without the lock: most sites vary on
    /// little, and a hit on a resource without Vary then takes no lock.
    len: AtomicUsize,
}

const MAX_HINTS: usize = 1 << 16;

impl VaryHints {
    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<[u8; DIGEST_LEN], Arc<[HeaderName]>>> {
        self.map.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn get(&self, resource: &[u8; DIGEST_LEN]) -> Option<Arc<[HeaderName]>> {
        if self.len.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(resource).cloned()
    }

    pub(crate) fn set(&self, resource: &[u8; DIGEST_LEN], names: &[HeaderName]) {
        if names.is_empty() {
            self.remove(resource);
            return;
        }
        let mut map = self.write();
        if map.get(resource).is_some_and(|n| &n[..] == names) {
            return;
        }
        if map.len() >= MAX_HINTS {
            map.clear();
        }
        map.insert(*resource, names.into());
        self.len.store(map.len(), Ordering::Relaxed);
    }

    pub(crate) fn clear(&self) {
        let mut map = self.write();
        map.clear();
        self.len.store(0, Ordering::Relaxed);
    }

    pub(crate) fn remove(&self, resource: &[u8; DIGEST_LEN]) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut map = self.write();
        map.remove(resource);
        self.len.store(map.len(), Ordering::Relaxed);
    }
}

/// Background tasks, counted so that [`Cache::quiesce`] can wait for them.
#[derive(Debug, Default)]
pub(crate) struct Tasks {
    running: AtomicUsize,
    idle: Notify,
}

impl Tasks {
    /// Spawns `task` on the current Tokio runtime; false (and `task`
    /// dropped) when there is none.
    pub(crate) fn spawn<F>(self: &Arc<Self>, task: F) -> bool
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        self.running.fetch_add(1, Ordering::SeqCst);
        let tasks = self.clone();
        handle.spawn(async move {
            struct Done(Arc<Tasks>);
            impl Drop for Done {
                fn drop(&mut self) {
                    if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                        self.0.idle.notify_waiters();
                    }
                }
            }
            let _done = Done(tasks);
            task.await;
        });
        true
    }

    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

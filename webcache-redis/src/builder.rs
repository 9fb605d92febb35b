//! [`RedisStoreBuilder`]: the settings of a [`RedisStore`].

use std::time::Duration;

use redis::Client;
use redis::aio::ConnectionManagerConfig;

use crate::backoff::Backoff;
use crate::connection::{Connection, Target};
use crate::error::Error;
use crate::key::{DEFAULT_PREFIX, is_valid_prefix};
use crate::near::DEFAULT_NEAR_HEARTBEAT;
use crate::near::tier::Tier;
use crate::near::tracking::{Settings, Tracking};
use crate::store::{Inner, RedisStore};

/// How long a connection attempt may take by default: 200 ms.
///
/// ```
/// # use std::time::Duration;
/// assert!(webcache_redis::DEFAULT_CONNECTION_TIMEOUT <= Duration::from_secs(1));
/// ```
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_millis(200);

/// How long a reply may take by default: 200 ms, under the cache's default
/// [`store_timeout`](webcache_core::Config::store_timeout) of 250 ms, so
/// that the store sees a stalled server itself and backs off.
///
/// ```
/// # use std::time::Duration;
/// assert!(webcache_redis::DEFAULT_RESPONSE_TIMEOUT <= Duration::from_secs(1));
/// ```
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_millis(200);

/// The first fail-fast window after Redis is found unreachable: 50 ms.
///
/// ```
/// # use std::time::Duration;
/// assert!(webcache_redis::DEFAULT_BACKOFF_MIN <= Duration::from_secs(1));
/// ```
pub const DEFAULT_BACKOFF_MIN: Duration = Duration::from_millis(50);

/// The longest fail-fast window: 1 s. The cache resumes at most this long
/// after Redis is back.
///
/// ```
/// # use std::time::Duration;
/// assert!(webcache_redis::DEFAULT_BACKOFF_MAX <= Duration::from_secs(1));
/// ```
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Builds a [`RedisStore`]: made by [`RedisStore::builder`] (one server) or
/// [`RedisStore::cluster_builder`] (a Redis Cluster).
///
/// ```
/// use std::time::Duration;
/// use webcache_redis::RedisStore;
///
/// let client = redis::Client::open("redis://127.0.0.1/")?;
/// let store = RedisStore::builder(client)
///     .prefix("shop:")                                  // default "webcache:"
///     .connection_timeout(Duration::from_millis(500))   // default 200 ms
///     .response_timeout(Duration::from_millis(200))     // default 200 ms
///     .backoff(Duration::from_millis(100), Duration::from_secs(2)) // default 50 ms .. 1 s
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct RedisStoreBuilder {
    target: TargetClient,
    prefix: String,
    connection_timeout: Duration,
    response_timeout: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    near_capacity: Option<usize>,
    near_heartbeat: Duration,
}

enum TargetClient {
    Single(Client),
    #[cfg(feature = "cluster")]
    Cluster(Box<redis::cluster::ClusterClient>),
}

impl std::fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("backoff_min", &self.backoff_min)
            .field("backoff_max", &self.backoff_max)
            .field("near_capacity", &self.near_capacity)
            .field("near_heartbeat", &self.near_heartbeat)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    fn with_target(target: TargetClient) -> RedisStoreBuilder {
        RedisStoreBuilder {
            target,
            prefix: DEFAULT_PREFIX.to_owned(),
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            backoff_min: DEFAULT_BACKOFF_MIN,
            backoff_max: DEFAULT_BACKOFF_MAX,
            near_capacity: None,
            near_heartbeat: DEFAULT_NEAR_HEARTBEAT,
        }
    }

    pub(crate) fn single(client: Client) -> RedisStoreBuilder {
        Self::with_target(TargetClient::Single(client))
    }

    #[cfg(feature = "cluster")]
    pub(crate) fn cluster(client: redis::cluster::ClusterClient) -> RedisStoreBuilder {
        Self::with_target(TargetClient::Cluster(Box::new(client)))
    }

    /// The prefix of every key (default `webcache:`). Services that share
    /// one Redis but must not share entries use different prefixes (or
    /// different [master salts](webcache_core::ConfigBuilder::master_salt)).
    /// It must not contain `{` or `}`.
    ///
    /// ```
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::builder(client).prefix("shop:").build()?;
    /// assert_eq!(store.prefix(), "shop:");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one attempt to connect may take (default
    /// [`DEFAULT_CONNECTION_TIMEOUT`]).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = redis::Client::open("redis://redis.internal/")?;
    /// let store = webcache_redis::RedisStore::builder(client)
    ///     .connection_timeout(Duration::from_millis(500))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long a reply may take (default [`DEFAULT_RESPONSE_TIMEOUT`]).
    /// Keep it at or under the cache's
    /// [`store_timeout`](webcache_core::Config::store_timeout), which
    /// bounds every operation anyway: the store then sees a stalled
    /// server and fails fast instead of making each request wait.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::builder(client)
    ///     .response_timeout(Duration::from_millis(50))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The fail-fast windows after Redis is found unreachable: the first
    /// lasts `min`, each failed probe doubles it, up to `max` (defaults
    /// [`DEFAULT_BACKOFF_MIN`] and [`DEFAULT_BACKOFF_MAX`]). A zero `min`
    /// sends every operation to Redis, up or down.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::builder(client)
    ///     .backoff(Duration::from_millis(20), Duration::from_millis(500))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// Turns on the near tier: an in-process copy of up to about
    /// `capacity` bytes of what this instance read (keys, values and a
    /// fixed overhead per entry), in front of Redis. Off by default.
    ///
    /// Redis keeps it coherent: the store reads through a connection of
    /// its own with RESP3 and `CLIENT TRACKING ON`, and Redis pushes an
    /// invalidation for each key that connection read when the key is
    /// written, deleted, expired, evicted or flushed, by any client. This
    /// instance's own writes drop their keys from the tier before they are
    /// sent and again once answered, so it reads its own writes at once. A
    /// write acknowledged to any instance is not served from this
    /// tier as fresh later than the invalidation's trip from Redis (Redis
    /// queues it before it acknowledges the write); and in every case not
    /// later than two [heartbeats](Self::near_heartbeat) (200 ms by
    /// default), checked on each near hit, even if the invalidation
    /// channel dies silently. Whenever the tracking connection breaks
    /// (disconnection, a failed or late heartbeat, a failed read, Redis
    /// found unreachable) the tier is emptied and every read goes to Redis
    /// until a new tracking connection is up.
    ///
    /// Needs Redis 6 or later: on a server that refuses RESP3 or `CLIENT
    /// TRACKING` the tier stays off (logged once, and
    /// [`NearState::Unsupported`](crate::NearState::Unsupported) in
    /// [`RedisStore::near_stats`]), and the store works as without it. Not
    /// available on a Redis Cluster: [`build`](Self::build) fails with
    /// [`Error::NearCacheOnCluster`].
    ///
    /// ```
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::builder(client)
    ///     .near_cache(64 << 20) // 64 MiB in this process
    ///     .build()?;
    /// assert!(store.near_stats().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn near_cache(mut self, capacity: usize) -> Self {
        self.near_capacity = Some(capacity);
        self
    }

    /// How often the near tier's tracking connection is sent a `PING`
    /// (default [`DEFAULT_NEAR_HEARTBEAT`](crate::DEFAULT_NEAR_HEARTBEAT),
    /// 100 ms). A `PING` not answered within one heartbeat turns the tier
    /// off; a near hit is served only while the last answered `PING` was
    /// sent less than two heartbeats ago, so twice this is the staleness
    /// bound when invalidations cannot arrive.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::builder(client)
    ///     .near_cache(16 << 20)
    ///     .near_heartbeat(Duration::from_millis(50)) // stale for at most 100 ms
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn near_heartbeat(mut self, interval: Duration) -> Self {
        self.near_heartbeat = interval;
        self
    }

    /// Builds the store. Fails on an invalid prefix, or a near tier asked
    /// of a Redis Cluster; nothing is connected until the first operation.
    ///
    /// ```
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// assert!(webcache_redis::RedisStore::builder(client).prefix("{bad}").build().is_err());
    /// # Ok::<(), redis::RedisError>(())
    /// ```
    pub fn build(self) -> Result<RedisStore, Error> {
        if !is_valid_prefix(&self.prefix) {
            return Err(Error::Prefix(self.prefix));
        }
        let near = match (self.near_capacity, &self.target) {
            (None, _) => None,
            (Some(capacity), TargetClient::Single(client)) => {
                Some(self.tracking(client, capacity).map_err(Error::Url)?)
            }
            #[cfg(feature = "cluster")]
            (Some(_), TargetClient::Cluster(_)) => return Err(Error::NearCacheOnCluster),
        };
        Ok(self.finish_with(near))
    }

    fn tracking(&self, client: &Client, capacity: usize) -> redis::RedisResult<Tracking> {
        let heartbeat = self.near_heartbeat.max(Duration::from_millis(1));
        let settings = Settings {
            heartbeat,
            connection_timeout: self.connection_timeout,
            response_timeout: self.response_timeout,
            retry_min: self.backoff_min,
            retry_max: self.backoff_max,
        };
        Tracking::new(client, Tier::new(capacity, 2 * heartbeat), settings)
    }

    /// Builds the store without checking the prefix (the default one is
    /// valid) and without a near tier.
    pub(crate) fn finish(self) -> RedisStore {
        self.finish_with(None)
    }

    fn finish_with(self, near: Option<Tracking>) -> RedisStore {
        let target = match self.target {
            TargetClient::Single(client) => Target::Single {
                client,
                config: ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.connection_timeout))
                    .set_response_timeout(Some(self.response_timeout))
                    // One attempt per reconnection: the store's back-off
                    // paces the attempts, so no operation waits through the
                    // manager's own retries.
                    .set_number_of_retries(0),
            },
            #[cfg(feature = "cluster")]
            TargetClient::Cluster(client) => Target::Cluster {
                client: *client,
                config: redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(self.connection_timeout)
                    .set_response_timeout(self.response_timeout),
            },
        };
        RedisStore::from_inner(Inner {
            prefix: self.prefix,
            connection: Connection::new(target),
            backoff: Backoff::new(self.backoff_min, self.backoff_max),
            near,
        })
    }
}

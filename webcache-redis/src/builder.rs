//! [`RedisStoreBuilder`]: the settings of a [`RedisStore`].

use std::time::Duration;

use redis::Client;
use redis::aio::ConnectionManagerConfig;

use crate::backoff::Backoff;
use crate::connection::{Connection, Target};
use crate::error::Error;
use crate::key::{DEFAULT_PREFIX, is_valid_prefix};
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

    /// Builds the store. Fails only on an invalid prefix; nothing is
    /// connected until the first operation.
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
        Ok(self.finish())
    }

    /// Builds the store without checking the prefix (the default one is
    /// valid).
    pub(crate) fn finish(self) -> RedisStore {
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
        })
    }
}

//! The tracking connection: a RESP3 connection of its own with `CLIENT
//! TRACKING ON` (default mode: Redis remembers the keys this connection
//! read and pushes an `invalidate` message when one changes, expires, is
//! evicted, or is flushed). Every read that may fill the near tier goes
//! through it, a `PING` every heartbeat proves it alive, and anything
//! wrong with it turns the tier off until a new one is tracking.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, PushInfo, PushKind, RedisResult, Value};
use tokio::sync::Notify;

use super::tier::Tier;
use crate::error::is_outage;

/// How the tracking connection is made and watched.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) heartbeat: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) retry_min: Duration,
    pub(crate) retry_max: Duration,
}

/// The current tracking connection, shared by the store and the task that
/// watches it.
#[derive(Default)]
struct Link {
    current: Mutex<Option<(u64, MultiplexedConnection)>>,
    /// Woken when the current connection is found broken.
    broken: Notify,
    /// The latest session ended, so that one that ends while it is being
    /// set up is never turned on.
    ended: AtomicU64,
    /// Set when Redis refused RESP3 or `CLIENT TRACKING`: the tier stays
    /// off for good.
    unsupported: AtomicBool,
}

impl Link {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, MultiplexedConnection)>> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends `session`: the tier is turned off and flushed first, then the
    /// connection is forgotten and the watcher woken to make a new one.
    fn end(&self, tier: &Tier, session: u64) {
        self.ended.fetch_max(session, Ordering::AcqRel);
        if tier.turn_off(session) {
            tracing::warn!(target: "webcache::redis", session, "near tier off: the tracking connection is lost; reads go to Redis until it is re-established");
        }
        let mut current = self.lock();
        if current.as_ref().is_some_and(|(s, _)| *s == session) {
            *current = None;
        }
        drop(current);
        self.broken.notify_one();
    }
}

/// The near tier's tracking: the tier itself, the link, and the task that
/// keeps a tracking connection up (started by the first read, stopped
/// when the store is dropped).
pub(crate) struct Tracking {
    pub(crate) tier: Arc<Tier>,
    link: Arc<Link>,
    client: Client,
    settings: Settings,
    task: OnceLock<tokio::task::AbortHandle>,
}

impl Tracking {
    /// Tracking over the server `client` points at, spoken in RESP3.
    pub(crate) fn new(client: &Client, tier: Tier, settings: Settings) -> RedisResult<Tracking> {
        let info = client.get_connection_info().clone();
        let redis = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        Ok(Tracking {
            tier: Arc::new(tier),
            link: Arc::default(),
            client: Client::open(info.set_redis_settings(redis))?,
            settings,
            task: OnceLock::new(),
        })
    }

    /// Starts the watcher on the current Tokio runtime, once.
    pub(crate) fn start(&self) {
        if self.task.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        self.task.get_or_init(|| {
            let watcher = watch(
                self.tier.clone(),
                self.link.clone(),
                self.client.clone(),
                self.settings.clone(),
            );
            runtime.spawn(watcher).abort_handle()
        });
    }

    /// True once Redis refused tracking.
    pub(crate) fn unsupported(&self) -> bool {
        self.link.unsupported.load(Ordering::Relaxed)
    }

    /// The tracking connection of `session`, if it is still the current
    /// one.
    pub(crate) fn connection(&self, session: u64) -> Option<MultiplexedConnection> {
        match &*self.link.lock() {
            Some((s, connection)) if *s == session => Some(connection.clone()),
            _ => None,
        }
    }

    /// Ends `session` (a read on it failed, or the store saw Redis fail).
    pub(crate) fn broken(&self, session: u64) {
        if session != 0 {
            self.link.end(&self.tier, session);
        }
    }
}

impl Drop for Tracking {
    fn drop(&mut self) {
        if let Some(task) = self.task.get() {
            task.abort();
        }
        // The connection's reader holds the push handler, which holds the
        // link: forgetting the connection here lets the reader end.
        *self.link.lock() = None;
    }
}

/// Keeps a tracking connection up: makes one, turns the tier on, pings it
/// every heartbeat, and when it breaks turns the tier off and makes
/// another (retries doubling from `retry_min` to `retry_max`). Stops for
/// good if Redis refuses RESP3 or tracking (Redis before 6).
async fn watch(tier: Arc<Tier>, link: Arc<Link>, client: Client, settings: Settings) {
    let floor = Duration::from_millis(10);
    let mut retry = settings.retry_min.max(floor);
    for session in 1u64.. {
        match connect(&client, &settings, &tier, &link, session).await {
            Ok((connection, ping_sent)) => {
                *link.lock() = Some((session, connection.clone()));
                tier.turn_on(session, ping_sent);
                // Ended (a disconnection push) before it was on: off again.
                if link.ended.load(Ordering::Acquire) >= session {
                    link.end(&tier, session);
                    continue;
                }
                tracing::info!(target: "webcache::redis", session, "near tier on: invalidations tracked");
                retry = settings.retry_min.max(floor);
                heartbeat(connection, &settings, &tier, &link, session).await;
                link.end(&tier, session);
            }
            Err(e) if !is_outage(&e) => {
                link.unsupported.store(true, Ordering::Relaxed);
                tracing::warn!(target: "webcache::redis", error = %e, "near tier disabled: this Redis does not support RESP3 client tracking (Redis 6 or later is needed); every read goes to Redis");
                return;
            }
            Err(e) => {
                tracing::debug!(target: "webcache::redis", error = %e, "tracking connection failed; retrying");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(settings.retry_max.max(floor));
            }
        }
    }
}

/// A new tracking connection: RESP3 with invalidations applied to `tier`
/// as they are read, `CLIENT TRACKING ON`, and one answered `PING`
/// (returned with when it was sent).
async fn connect(
    client: &Client,
    settings: &Settings,
    tier: &Arc<Tier>,
    link: &Arc<Link>,
    session: u64,
) -> RedisResult<(MultiplexedConnection, Instant)> {
    let (tier, link) = (tier.clone(), link.clone());
    // Called by the connection's reader, in order with the replies: an
    // invalidation is applied before any reply read after it is handed
    // over, the heartbeat's included.
    let sender = move |push: PushInfo| -> Result<(), std::convert::Infallible> {
        on_push(&tier, &link, session, push);
        Ok(())
    };
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(settings.connection_timeout))
        .set_response_timeout(Some(settings.response_timeout))
        .set_push_sender(sender);
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    redis::cmd("CLIENT")
        .arg("TRACKING")
        .arg("ON")
        .query_async::<()>(&mut connection)
        .await?;
    let sent = Instant::now();
    redis::cmd("PING")
        .query_async::<()>(&mut connection)
        .await?;
    Ok((connection, sent))
}

/// Applies one push of session `session` to the tier.
fn on_push(tier: &Tier, link: &Link, session: u64, push: PushInfo) {
    match push.kind {
        PushKind::Invalidate => match push.data.into_iter().next() {
            Some(Value::Array(keys)) => {
                for key in keys {
                    match key {
                        Value::BulkString(key) => tier.invalidate(&key),
                        // A key that is not a string: not understood,
                        // so nothing held can be trusted.
                        _ => tier.flush(),
                    }
                }
            }
            // A null key: everything (`FLUSHALL`, `FLUSHDB`); anything
            // else is not understood, so the same.
            _ => tier.flush(),
        },
        PushKind::Disconnection => link.end(tier, session),
        _ => {}
    }
}

/// Pings every `settings.heartbeat` until a `PING` fails or is not
/// answered within a heartbeat, or the session ends; each answer extends
/// the time hits may be served (see [`Tier::heartbeat`]).
async fn heartbeat(
    mut connection: MultiplexedConnection,
    settings: &Settings,
    tier: &Tier,
    link: &Link,
    session: u64,
) {
    let ping = redis::cmd("PING");
    loop {
        // Woken early when the session is ended elsewhere.
        let _ = tokio::time::timeout(settings.heartbeat, link.broken.notified()).await;
        if tier.session() != session {
            return;
        }
        let sent = Instant::now();
        let answer = ping.query_async::<()>(&mut connection);
        match tokio::time::timeout(settings.heartbeat, answer).await {
            Ok(Ok(())) => tier.heartbeat(sent),
            Ok(Err(e)) => {
                tracing::debug!(target: "webcache::redis", error = %e, "heartbeat failed");
                return;
            }
            Err(_) => {
                tracing::debug!(target: "webcache::redis", "heartbeat not answered in time");
                return;
            }
        }
    }
}

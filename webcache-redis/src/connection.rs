//! The connection to Redis: made on first use, kept, and remade by the
//! client when it breaks.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Cmd, Pipeline, RedisResult, Value};
use tokio::sync::OnceCell;

use crate::error::is_worth_one_retry;

/// Where the store connects, with the settings of its connection.
pub(crate) enum Target {
    /// One Redis server (or a proxy in front of several).
    Single {
        client: Client,
        config: ConnectionManagerConfig,
    },
    /// A Redis Cluster.
    #[cfg(feature = "cluster")]
    Cluster {
        client: redis::cluster::ClusterClient,
        config: redis::cluster::ClusterConfig,
    },
}

/// The live connection, cheap to clone (both kinds are handles over a
/// shared, multiplexed connection).
#[derive(Clone)]
enum Live {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// A connection made lazily: building a store does no I/O and needs no
/// runtime; the first operation creates the client's connection handle on
/// the current Tokio runtime, and the handle connects (and reconnects) by
/// itself.
pub(crate) struct Connection {
    target: Target,
    live: OnceCell<Live>,
}

impl Connection {
    pub(crate) fn new(target: Target) -> Connection {
        Connection {
            target,
            live: OnceCell::new(),
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        !matches!(self.target, Target::Single { .. })
    }

    async fn live(&self) -> RedisResult<Live> {
        self.live
            .get_or_try_init(|| async {
                match &self.target {
                    // Lazy: no connection attempt until the first command,
                    // so an unreachable server cannot fail this.
                    Target::Single { client, config } => {
                        ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                            .map(Live::Single)
                    }
                    #[cfg(feature = "cluster")]
                    Target::Cluster { client, config } => Ok(Live::Cluster(
                        client.get_pending_async_connection_with_config(config.clone()),
                    )),
                }
            })
            .await
            .cloned()
    }

    /// Sends one command.
    pub(crate) async fn query(&self, cmd: &Cmd) -> RedisResult<Value> {
        match self.live().await? {
            Live::Single(mut manager) => match cmd.query_async(&mut manager).await {
                // The manager has started a new connection when it found the
                // old one broken; a second try uses it (one connection
                // attempt, refused at once if Redis is still down).
                Err(e) if is_worth_one_retry(&e) => cmd.query_async(&mut manager).await,
                result => result,
            },
            #[cfg(feature = "cluster")]
            Live::Cluster(mut cluster) => cmd.query_async(&mut cluster).await,
        }
    }

    /// Sends a pipeline of commands in one write and returns each reply;
    /// fails if any fails.
    pub(crate) async fn pipeline_values(&self, pipeline: &Pipeline) -> RedisResult<Vec<Value>> {
        match self.live().await? {
            Live::Single(mut manager) => match pipeline.query_async(&mut manager).await {
                Err(e) if is_worth_one_retry(&e) => pipeline.query_async(&mut manager).await,
                result => result,
            },
            #[cfg(feature = "cluster")]
            Live::Cluster(mut cluster) => pipeline.query_async(&mut cluster).await,
        }
    }

    /// Sends a pipeline of commands in one write; fails if any fails.
    pub(crate) async fn pipeline(&self, pipeline: &Pipeline) -> RedisResult<()> {
        match self.live().await? {
            Live::Single(mut manager) => match pipeline.exec_async(&mut manager).await {
                Err(e) if is_worth_one_retry(&e) => pipeline.exec_async(&mut manager).await,
                result => result,
            },
            #[cfg(feature = "cluster")]
            Live::Cluster(mut cluster) => pipeline.exec_async(&mut cluster).await,
        }
    }
}

//! Errors of this crate, and how Redis errors become
//! [`StoreError`]s for the cache.

use redis::{ErrorKind, RedisError, ServerErrorKind};
use webcache_core::StoreError;

/// Errors from building a [`RedisStore`](crate::RedisStore). Operations on
/// a built store report [`StoreError`]s instead, which the cache logs,
/// counts and fails open on.
///
/// ```
/// use webcache_redis::{Error, RedisStore};
///
/// assert!(matches!(RedisStore::open("not a url"), Err(Error::Url(_))));
/// let client = redis::Client::open("redis://127.0.0.1/").unwrap();
/// assert!(matches!(
///     RedisStore::builder(client).prefix("{tenant}:").build(),
///     Err(Error::Prefix(_))
/// ));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection URL (or a cluster node's URL) cannot be parsed.
    #[error("invalid Redis URL: {0}")]
    Url(#[source] RedisError),
    /// The key prefix contains `{` or `}`, which would break the hash tag
    /// that keeps a resource's keys in one Redis Cluster slot.
    #[error("invalid key prefix {0:?}: it must not contain '{{' or '}}'")]
    Prefix(String),
    /// A cluster needs at least one node to start from.
    #[error("a Redis Cluster needs at least one node URL")]
    NoClusterNodes,
    /// [`near_cache`](crate::RedisStoreBuilder::near_cache) was asked of a
    /// Redis Cluster store: the near tier tracks one server's keys and is
    /// not supported on a cluster.
    #[error("the near tier is not supported on a Redis Cluster (it tracks one server's keys)")]
    NearCacheOnCluster,
}

/// Maps a Redis error onto the cache's store errors: connection trouble
/// (refused, dropped, a server loading or a cluster down) is
/// [`StoreError::Unavailable`], a reply that did not come in time is
/// [`StoreError::Timeout`], anything else the server or the client said is
/// [`StoreError::Backend`]. The Redis error is kept as the source.
pub(crate) fn store_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        return StoreError::Timeout;
    }
    if is_outage(&error) {
        return StoreError::Unavailable(Box::new(error));
    }
    StoreError::Backend(Box::new(error))
}

/// True when `error` says Redis cannot be reached or cannot serve now,
/// rather than that it refused one command.
pub(crate) fn is_outage(error: &RedisError) -> bool {
    if error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
    {
        return true;
    }
    matches!(
        error.kind(),
        ErrorKind::ClusterConnectionNotFound
            | ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
            )
    )
}

/// True when a second try of the same command may succeed at once: the
/// connection was lost or never made, and the connection manager has just
/// started a new one. A timeout is not retried (it would double the wait).
pub(crate) fn is_worth_one_retry(error: &RedisError) -> bool {
    !error.is_timeout()
        && (error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(kind: std::io::ErrorKind) -> RedisError {
        RedisError::from(std::io::Error::new(kind, "test"))
    }

    #[test]
    fn refused_and_dropped_connections_are_unavailable() {
        for kind in [
            std::io::ErrorKind::ConnectionRefused,
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::BrokenPipe,
            std::io::ErrorKind::UnexpectedEof,
        ] {
            let e = io(kind);
            assert!(is_worth_one_retry(&e), "{kind:?}");
            assert!(
                matches!(store_error(e), StoreError::Unavailable(_)),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_late_reply_is_a_timeout_and_not_retried() {
        let e = io(std::io::ErrorKind::TimedOut);
        assert!(is_outage(&e));
        assert!(!is_worth_one_retry(&e));
        assert!(matches!(store_error(e), StoreError::Timeout));
    }

    #[test]
    fn a_refused_command_is_a_backend_error() {
        let e = RedisError::from((ErrorKind::UnexpectedReturnType, "not an array"));
        assert!(!is_outage(&e));
        assert!(!is_worth_one_retry(&e));
        let mapped = store_error(e);
        assert!(matches!(mapped, StoreError::Backend(_)));
        let source = std::error::Error::source(&mapped).expect("the Redis error is kept");
        assert!(source.to_string().contains("not an array"), "{source}");
    }

    #[test]
    fn a_server_still_loading_is_unavailable() {
        let e = RedisError::from((ErrorKind::Server(ServerErrorKind::BusyLoading), "loading"));
        assert!(is_outage(&e));
        assert!(matches!(store_error(e), StoreError::Unavailable(_)));
    }
}

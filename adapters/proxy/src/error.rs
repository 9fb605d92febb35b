//! Errors of this crate.

use std::time::Duration;

/// A boxed error from the HTTP client or server.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from configuring or running the proxy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The upstream URL is not usable.
    #[error("invalid upstream URL {url:?}: {reason}")]
    Upstream {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// The cache configuration was rejected by webcache-core.
    #[error(transparent)]
    Cache(#[from] webcache_core::Error),
    /// The store could not be set up.
    #[error("{0}")]
    Store(String),
    /// A certificate, key or CA file could not be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// Binding or accepting on the listening socket failed.
    #[error("cannot listen: {0}")]
    Listen(#[source] std::io::Error),
}

/// Why a request could not be forwarded upstream. The proxy answers the
/// client with [`status`](UpstreamError::status) itself (502 or 504) —
/// unless the cache may serve a stored response instead
/// (`stale-if-error`, RFC 5861 §4).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// No connection to the upstream could be made (refused, unreachable,
    /// name not resolved, connect timeout).
    #[error("cannot connect to the upstream: {0}")]
    Connect(#[source] BoxError),
    /// The upstream did not send a response head within the configured
    /// time.
    #[error("the upstream sent no response within {0:?}")]
    Timeout(Duration),
    /// The connection failed after it was made: reset, closed before a
    /// complete response head, or an unparsable response.
    #[error("the upstream exchange failed: {0}")]
    Exchange(#[source] BoxError),
    /// Every upstream slot
    /// ([`max_upstream_requests`](crate::ProxyConfigBuilder::max_upstream_requests))
    /// stayed busy for the queue timeout: answered 503 with `Retry-After`.
    #[error("the upstream request limit was reached for {0:?}")]
    Overloaded(Duration),
}

impl UpstreamError {
    /// The status the proxy answers with: 504 (Gateway Timeout) for a
    /// timeout, 503 (Service Unavailable) over the request limit, 502 (Bad
    /// Gateway) otherwise (RFC 9110 §15.6.3, §15.6.4, §15.6.5).
    pub fn status(&self) -> http::StatusCode {
        match self {
            UpstreamError::Timeout(_) => http::StatusCode::GATEWAY_TIMEOUT,
            UpstreamError::Overloaded(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            UpstreamError::Connect(_) | UpstreamError::Exchange(_) => http::StatusCode::BAD_GATEWAY,
        }
    }

    /// A short token naming the failure, used in the response body and in
    /// the Cache-Status `detail` parameter.
    pub fn kind(&self) -> &'static str {
        match self {
            UpstreamError::Connect(_) => "upstream-connect-error",
            UpstreamError::Timeout(_) => "upstream-timeout",
            UpstreamError::Exchange(_) => "upstream-exchange-error",
            UpstreamError::Overloaded(_) => "upstream-overloaded",
        }
    }
}

/// The body of a response failed while it streamed from the upstream: the
/// upstream stopped sending for longer than the idle timeout, or the
/// connection broke. The client's connection is then closed, so that it
/// cannot mistake a truncated body for a complete one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// No data for longer than the configured idle timeout.
    #[error("the upstream body stalled for {0:?}")]
    Idle(Duration),
    /// The underlying connection failed.
    #[error(transparent)]
    Hyper(#[from] hyper::Error),
}

/// Why the proxy is not ready to serve ([`Proxy::ready`](crate::Proxy::ready)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotReady {
    /// The store failed a read.
    #[error("the store failed: {0}")]
    Store(#[source] webcache_core::StoreError),
    /// The store did not answer a read in time.
    #[error("the store did not answer within {0:?}")]
    StoreTimeout(Duration),
    /// The last exchange with the upstream failed, and it refuses
    /// connections (or does not accept one in time) now.
    #[error("the upstream is unreachable: {0}")]
    Upstream(&'static str),
}

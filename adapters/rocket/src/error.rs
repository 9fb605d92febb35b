//! The adapter's error.

/// Why a loopback request from the cache to its own server failed. The
/// cache logs it and answers as the core says (a background refresh is
/// dropped; a client's request gets `502 Bad Gateway`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server's address is unknown: the [`CacheFairing`](crate::CacheFairing)
    /// was not attached, or the server has not lifted off.
    #[error("the server's address is unknown: attach the CacheFairing")]
    NoAddress,
    /// The request target could not be made absolute.
    #[error("the request target cannot be sent on loopback")]
    Target,
    /// No response head within the loopback timeout.
    #[error("no loopback response within the timeout")]
    Timeout,
    /// The loopback exchange failed.
    #[error("loopback request failed: {0}")]
    Loopback(#[source] hyper_util::client::legacy::Error),
}

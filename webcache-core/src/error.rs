//! Errors of this crate.

/// A boxed error from a backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from configuring or building a cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

/// Errors a [`Store`](crate::store::Store) reports. The cache never passes
/// them to a client: it logs them, counts them, and fails open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend cannot be reached (connection refused, pool exhausted).
    #[error("store unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// The operation did not finish within the configured bound.
    #[error("store operation timed out")]
    Timeout,
    /// The backend answered with an error.
    #[error("store backend error: {0}")]
    Backend(#[source] BoxError),
    /// The store does not implement the operation (purge records or tags,
    /// see [`Store::bump`](crate::store::Store::bump)).
    #[error("store does not support {0}")]
    Unsupported(&'static str),
}

/// Why a purge ([`Cache::purge_url`](crate::Cache::purge_url),
/// [`purge_tag`](crate::Cache::purge_tag), [`flush`](crate::Cache::flush))
/// failed. A purge that failed may have been applied in part (some tagged
/// resources purged); repeating it is safe.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PurgeError {
    /// The URI is not absolute (it needs a scheme and an authority).
    #[error("not an absolute URI: {0}")]
    NotAbsolute(String),
    /// Not a tag (see [`is_valid_tag`](crate::purge::is_valid_tag)).
    #[error("not a valid tag: {0:?}")]
    InvalidTag(String),
    /// The store failed, did not answer within the store timeout, or does
    /// not support purging.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`Cache::invalidate`](crate::Cache::invalidate) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidateError {
    /// The URI is not absolute (it needs a scheme and an authority, e.g.
    /// `https://example.com/a`).
    #[error("not an absolute URI: {0}")]
    NotAbsolute(String),
    /// The store failed or did not answer within the store timeout.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why stored bytes could not be decoded. The cache treats every such entry
/// as a miss.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes end before the encoding does.
    #[error("stored entry is truncated")]
    Truncated,
    /// Not an entry written by webcache.
    #[error("stored entry has no webcache header")]
    BadMagic,
    /// Written by a format version this release does not read.
    #[error("stored entry has unknown format version {0}")]
    UnknownVersion(u8),
    /// A field holds a value that cannot be valid.
    #[error("stored entry is invalid: {0}")]
    Invalid(&'static str),
}

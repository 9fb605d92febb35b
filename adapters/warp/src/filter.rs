//! The header helpers per route: methods on any filter that extracts one
//! reply.

use std::sync::Arc;
use std::time::Duration;

use warp::{Filter, Reply};
use webcache_core::headers::CacheControl;
use webcache_core::modifiers::CacheHeaders;

use crate::reply::{WithCaching, with_caching};

/// Caching header fields for every reply of a route, set without raw
/// header strings. warp's `Filter::with` takes only warp's own wrappers
/// (its `Wrap` trait is sealed), so these are methods on the filter
/// instead, implemented for every filter that extracts one reply.
///
/// ```
/// use std::time::Duration;
/// use warp::Filter;
/// use webcache_warp::{CacheHeaders, CachingExt};
///
/// let prices = warp::path("prices").map(|| "42").cache_for(Duration::from_secs(60));
/// let account = warp::path("account").map(|| "me").dont_cache();
/// let page = warp::path("page")
///     .map(|| "hello")
///     .with_caching(CacheHeaders::cache_for(Duration::from_secs(60)).vary(["accept-language"]));
/// let routes = prices.or(account).or(page);
/// # drop(routes);
/// ```
pub trait CachingExt<R>: Filter<Extract = (R,)> + Clone + Send + Sync + Sized + 'static
where
    R: Reply,
{
    /// Sets `headers` on every reply (see [`CacheHeaders`]).
    fn with_caching(
        self,
        headers: CacheHeaders,
    ) -> impl Filter<Extract = (WithCaching<R>,), Error = Self::Error> + Clone + Send + Sync + 'static
    {
        let headers = Arc::new(headers);
        self.map(move |reply: R| with_caching(reply, headers.clone()))
    }

    /// `Cache-Control: max-age=<ttl>` and a matching `Expires`.
    fn cache_for(
        self,
        ttl: Duration,
    ) -> impl Filter<Extract = (WithCaching<R>,), Error = Self::Error> + Clone + Send + Sync + 'static
    {
        self.with_caching(CacheHeaders::cache_for(ttl))
    }

    /// `Cache-Control: no-store`: never stored by any cache.
    fn dont_cache(
        self,
    ) -> impl Filter<Extract = (WithCaching<R>,), Error = Self::Error> + Clone + Send + Sync + 'static
    {
        self.with_caching(CacheHeaders::dont_cache())
    }

    /// `Cache-Control: private`: stored only by the user's own cache.
    fn private(
        self,
    ) -> impl Filter<Extract = (WithCaching<R>,), Error = Self::Error> + Clone + Send + Sync + 'static
    {
        self.with_caching(CacheHeaders::private())
    }

    /// Any Cache-Control, built with typed directives.
    fn cache_control(
        self,
        cc: CacheControl,
    ) -> impl Filter<Extract = (WithCaching<R>,), Error = Self::Error> + Clone + Send + Sync + 'static
    {
        self.with_caching(CacheHeaders::cache_control(cc))
    }
}

impl<F, R> CachingExt<R> for F
where
    F: Filter<Extract = (R,)> + Clone + Send + Sync + 'static,
    R: Reply,
{
}

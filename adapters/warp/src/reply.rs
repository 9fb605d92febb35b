//! Header helpers, the original's decorators, for warp: a reply wrapper in
//! the manner of `warp::reply::with_header`, and the same per route as
//! methods on any filter ([`CachingExt`](crate::CachingExt)).
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use warp::Filter;
//! use webcache_warp::CacheHeaders;
//!
//! // On one reply:
//! let news = warp::path("news").map(|| {
//!     webcache_warp::reply::cache_for("hello", Duration::from_secs(5))
//! });
//! // With every field the helpers set:
//! let article = warp::path("article").map(|| {
//!     let headers = CacheHeaders::cache_for(Duration::from_secs(300))
//!         .last_modified(SystemTime::UNIX_EPOCH)
//!         .vary(["accept-language"]);
//!     webcache_warp::reply::with_caching("text", headers)
//! });
//! # let _ = news.or(article);
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use warp::Reply;
use webcache_core::headers::CacheControl;
use webcache_core::modifiers::CacheHeaders;

/// A reply with caching header fields set on it (see
/// [`CacheHeaders`] for what each sets). Returned by [`with_caching`] and
/// its shortcuts.
#[derive(Debug)]
pub struct WithCaching<T> {
    reply: T,
    headers: Arc<CacheHeaders>,
}

impl<T> WithCaching<T> {
    /// Adds tags (`Surrogate-Key`) for
    /// [`Cache::purge_tag`](webcache_core::Cache::purge_tag); the cache
    /// removes the field before the response reaches a client. See
    /// [`CacheHeaders::tags`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use warp::Filter;
    ///
    /// let product = warp::path!("p" / u32).map(|id: u32| {
    ///     webcache_warp::reply::cache_for(id.to_string(), Duration::from_secs(60))
    ///         .tags([format!("product-{id}")])
    /// });
    /// # let _ = product;
    /// ```
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let headers = Arc::make_mut(&mut self.headers);
        *headers = std::mem::take(headers).tags(tags);
        self
    }
}

impl<T: Reply> Reply for WithCaching<T> {
    fn into_response(self) -> warp::reply::Response {
        let mut response = self.reply.into_response();
        self.headers
            .apply(response.headers_mut(), SystemTime::now());
        response
    }
}

/// Sets `headers` on `reply` when it is rendered.
///
/// ```
/// use std::time::Duration;
/// use warp::Filter;
/// use webcache_warp::CacheHeaders;
///
/// let route = warp::path("hello").map(|| {
///     let caching = CacheHeaders::cache_for(Duration::from_secs(60)).vary(["accept-language"]);
///     webcache_warp::reply::with_caching("hi", caching)
/// });
/// # let _ = route;
/// ```
pub fn with_caching<T: Reply>(reply: T, headers: impl Into<Arc<CacheHeaders>>) -> WithCaching<T> {
    WithCaching {
        reply,
        headers: headers.into(),
    }
}

/// `Cache-Control: max-age=<ttl>` and a matching `Expires`.
///
/// ```
/// use std::time::Duration;
/// use warp::Filter;
///
/// let route = warp::path("prices").map(|| webcache_warp::reply::cache_for("42", Duration::from_secs(60)));
/// # let _ = route;
/// ```
pub fn cache_for<T: Reply>(reply: T, ttl: Duration) -> WithCaching<T> {
    with_caching(reply, CacheHeaders::cache_for(ttl))
}

/// `Cache-Control: no-store`: never stored by any cache.
///
/// ```
/// use warp::Filter;
///
/// let route = warp::path("basket").map(|| webcache_warp::reply::dont_cache("3 items"));
/// # let _ = route;
/// ```
pub fn dont_cache<T: Reply>(reply: T) -> WithCaching<T> {
    with_caching(reply, CacheHeaders::dont_cache())
}

/// `Cache-Control: private`: stored only by the user's own cache.
///
/// ```
/// use warp::Filter;
///
/// let route = warp::path("me").map(|| webcache_warp::reply::private("account"));
/// # let _ = route;
/// ```
pub fn private<T: Reply>(reply: T) -> WithCaching<T> {
    with_caching(reply, CacheHeaders::private())
}

/// Any Cache-Control, built with typed directives.
///
/// ```
/// use std::time::Duration;
/// use warp::Filter;
/// use webcache_warp::CacheControl;
///
/// let cc = CacheControl::new().with_max_age(Duration::from_secs(10)).with_stale_while_revalidate(Duration::from_secs(30));
/// let route = warp::path("news").map(move || webcache_warp::reply::cache_control("news", cc.clone()));
/// # let _ = route;
/// ```
pub fn cache_control<T: Reply>(reply: T, cc: CacheControl) -> WithCaching<T> {
    with_caching(reply, CacheHeaders::cache_control(cc))
}

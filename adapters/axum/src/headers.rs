//! Header helpers, the original's decorators, for axum and tower: a layer
//! that sets caching headers on every response of a route, and a response
//! part a handler returns.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::get};
//! use webcache_axum::{Caching, cache_for, dont_cache};
//!
//! let app: Router = Router::new()
//!     // Per route, as a layer:
//!     .route("/prices", get(|| async { "42" }).layer(cache_for(Duration::from_secs(60))))
//!     .route("/account", get(|| async { "me" }).layer(dont_cache()))
//!     // Or from the handler, as a response part:
//!     .route("/news", get(|| async { (Caching::cache_for(Duration::from_secs(5)), "hello") }));
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum_core::response::{IntoResponseParts, ResponseParts};
use http::Response;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use webcache_core::headers::{CacheControl, EntityTag};
use webcache_core::modifiers::CacheHeaders;

/// Sets caching header fields on every response of the service it wraps
/// (see [`webcache_core::modifiers::CacheHeaders`] for what each sets).
#[derive(Clone, Debug)]
pub struct CacheHeadersLayer {
    headers: CacheHeaders,
}

impl CacheHeadersLayer {
    /// A layer applying `headers`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_axum::CacheHeadersLayer;
    /// use webcache_core::modifiers::CacheHeaders;
    ///
    /// let layer = CacheHeadersLayer::new(CacheHeaders::cache_for(Duration::from_secs(60)).vary(["accept-language"]));
    /// # let _ = layer;
    /// ```
    pub fn new(headers: CacheHeaders) -> Self {
        CacheHeadersLayer { headers }
    }
}

/// `Cache-Control: max-age=<ttl>` and a matching `Expires`.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use webcache_axum::cache_for;
///
/// let app: Router = Router::new()
///     .route("/prices", get(|| async { "42" }).layer(cache_for(Duration::from_secs(60))));
/// ```
pub fn cache_for(ttl: Duration) -> CacheHeadersLayer {
    CacheHeadersLayer::new(CacheHeaders::cache_for(ttl))
}

/// `Cache-Control: no-store`: never stored by any cache.
///
/// ```
/// use axum::{Router, routing::get};
/// use webcache_axum::dont_cache;
///
/// let app: Router = Router::new().route("/basket", get(|| async { "3 items" }).layer(dont_cache()));
/// ```
pub fn dont_cache() -> CacheHeadersLayer {
    CacheHeadersLayer::new(CacheHeaders::dont_cache())
}

/// `Cache-Control: private`: stored only by the user's own cache.
///
/// ```
/// use axum::{Router, routing::get};
/// use webcache_axum::private;
///
/// let app: Router = Router::new().route("/me", get(|| async { "account" }).layer(private()));
/// ```
pub fn private() -> CacheHeadersLayer {
    CacheHeadersLayer::new(CacheHeaders::private())
}

/// Any Cache-Control, built with typed directives.
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::get};
/// use webcache_axum::cache_control;
/// use webcache_core::headers::CacheControl;
///
/// let cc = CacheControl::new()
///     .with_max_age(Duration::from_secs(10))
///     .with_s_maxage(Duration::from_secs(300))
///     .with_stale_while_revalidate(Duration::from_secs(30));
/// let app: Router = Router::new().route("/news", get(|| async { "news" }).layer(cache_control(cc)));
/// ```
pub fn cache_control(cc: CacheControl) -> CacheHeadersLayer {
    CacheHeadersLayer::new(CacheHeaders::cache_control(cc))
}

impl<Svc> Layer<Svc> for CacheHeadersLayer {
    type Service = CacheHeadersService<Svc>;

    fn layer(&self, inner: Svc) -> Self::Service {
        CacheHeadersService {
            inner,
            headers: self.headers.clone(),
        }
    }
}

/// The service of [`CacheHeadersLayer`].
#[derive(Clone, Debug)]
pub struct CacheHeadersService<Svc> {
    inner: Svc,
    headers: CacheHeaders,
}

impl<Svc, Req, B> Service<Req> for CacheHeadersService<Svc>
where
    Svc: Service<Req, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = Svc::Error;
    type Future = CacheHeadersFuture<Svc::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        CacheHeadersFuture {
            inner: self.inner.call(request),
            headers: Some(self.headers.clone()),
        }
    }
}

pin_project! {
    /// The future of [`CacheHeadersService`].
    pub struct CacheHeadersFuture<F> {
        #[pin]
        inner: F,
        headers: Option<CacheHeaders>,
    }
}

impl<F, B, E> Future for CacheHeadersFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(r)) => r,
        };
        if let Some(headers) = this.headers.take() {
            headers.apply(response.headers_mut(), SystemTime::now());
        }
        Poll::Ready(Ok(response))
    }
}

/// Caching header fields a handler returns as part of its response.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use webcache_axum::Caching;
///
/// async fn article() -> (Caching, &'static str) {
///     let updated = SystemTime::now();
///     (Caching::cache_for(Duration::from_secs(300)).last_modified(updated), "text")
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Caching(pub CacheHeaders);

impl Caching {
    /// See [`cache_for`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_axum::Caching;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     (Caching::cache_for(Duration::from_secs(60)), "body")
    /// }
    /// ```
    pub fn cache_for(ttl: Duration) -> Self {
        Caching(CacheHeaders::cache_for(ttl))
    }
    /// See [`dont_cache`].
    ///
    /// ```
    /// use webcache_axum::Caching;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     (Caching::dont_cache(), "one-time token")
    /// }
    /// ```
    pub fn dont_cache() -> Self {
        Caching(CacheHeaders::dont_cache())
    }
    /// See [`private`].
    ///
    /// ```
    /// use webcache_axum::Caching;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     (Caching::private(), "your account")
    /// }
    /// ```
    pub fn private() -> Self {
        Caching(CacheHeaders::private())
    }
    /// See [`cache_control`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_core::headers::CacheControl;
    /// use webcache_axum::Caching;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     (Caching::cache_control(CacheControl::new().with_max_age(Duration::from_secs(60)).with_stale_if_error(Duration::from_secs(600))), "body")
    /// }
    /// ```
    pub fn cache_control(cc: CacheControl) -> Self {
        Caching(CacheHeaders::cache_control(cc))
    }
    /// Adds `Last-Modified`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use webcache_axum::Caching;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     let updated = SystemTime::now() - Duration::from_secs(3600);
    ///     (Caching::cache_for(Duration::from_secs(60)).last_modified(updated), "article")
    /// }
    /// ```
    pub fn last_modified(self, at: SystemTime) -> Self {
        Caching(self.0.last_modified(at))
    }
    /// Adds `ETag`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_axum::Caching;
    /// use webcache_core::headers::EntityTag;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     let tag = EntityTag::strong("v42").expect("a valid opaque tag");
    ///     (Caching::cache_for(Duration::from_secs(60)).etag(tag), "catalogue")
    /// }
    /// ```
    pub fn etag(self, tag: EntityTag) -> Self {
        Caching(self.0.etag(tag))
    }
    /// Adds names to `Vary`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_axum::Caching;
    ///
    /// async fn handler() -> (Caching, &'static str) {
    ///     (Caching::cache_for(Duration::from_secs(60)).vary(["accept-language"]), "body")
    /// }
    /// ```
    pub fn vary<I, N>(self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        Caching(self.0.vary(names))
    }

    /// Adds tags (`Surrogate-Key`) for
    /// [`Cache::purge_tag`](webcache_core::Cache::purge_tag); the cache
    /// removes the field before the response reaches a client. See
    /// [`CacheHeaders::tags`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_axum::Caching;
    ///
    /// async fn product() -> (Caching, &'static str) {
    ///     (Caching::cache_for(Duration::from_secs(300)).tags(["product-42", "catalog"]), "42")
    /// }
    /// ```
    pub fn tags<I, T>(self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        Caching(self.0.tags(tags))
    }
}

impl IntoResponseParts for Caching {
    type Error = Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        self.0.apply(res.headers_mut(), SystemTime::now());
        Ok(res)
    }
}

//! The layers: the whole cache, or its request and response sides apart.

use std::fmt;

use tower_layer::Layer;
use webcache_core::Cache;
use webcache_core::handler::Mixins;

use crate::service::{CacheService, RequestService, ResponseService};

/// Caches the responses of the service it wraps (see the crate docs).
/// Cheap to clone.
///
/// ```
/// use axum::{Router, routing::get};
/// use webcache_axum::CacheLayer;
///
/// let cache = CacheLayer::new(webcache_memory::easy_setup());
/// let app: Router = Router::new().route("/", get(|| async { "hello" })).layer(cache.clone());
/// assert_eq!(cache.cache().stats().hits, 0);
/// assert!(format!("{cache:?}").starts_with("CacheLayer { cache: Cache"));
/// ```
pub struct CacheLayer<S, M = Mixins> {
    cache: Cache<S, M>,
}

impl<S, M> CacheLayer<S, M> {
    /// A layer over `cache`.
    ///
    /// ```
    /// use webcache_core::{Cache, Config};
    /// use webcache_memory::MemoryStore;
    ///
    /// let config = Config::builder().resource_exemptions(["/admin/"]).build()?;
    /// let layer = webcache_axum::CacheLayer::new(Cache::new(MemoryStore::new(64 << 20), config));
    /// # let _ = layer;
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn new(cache: Cache<S, M>) -> Self {
        CacheLayer { cache }
    }

    /// The request side alone, for stacks that place the two sides at
    /// different depths (requests flow top to bottom, responses bottom to
    /// top). Here the stored responses are the compressed ones: the response
    /// side sits above the compression layer, the request side below it.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use tower_http::compression::CompressionLayer;
    ///
    /// let cache = webcache_axum::CacheLayer::new(webcache_memory::easy_setup());
    /// let app: Router = Router::new()
    ///     .route("/", get(|| async { "hello" }))
    ///     .layer(cache.request_layer())
    ///     .layer(CompressionLayer::new())
    ///     .layer(cache.response_layer());
    /// ```
    pub fn request_layer(&self) -> RequestLayer<S, M> {
        RequestLayer {
            cache: self.cache.clone(),
        }
    }

    /// The response side alone; see [`request_layer`](Self::request_layer).
    ///
    /// ```
    /// let cache = webcache_axum::CacheLayer::new(webcache_memory::easy_setup());
    /// let (request_side, response_side) = (cache.request_layer(), cache.response_layer());
    /// # let _ = (request_side, response_side);
    /// ```
    pub fn response_layer(&self) -> ResponseLayer<S, M> {
        ResponseLayer {
            cache: self.cache.clone(),
        }
    }

    /// The cache, e.g. to read its [`stats`](Cache::stats).
    ///
    /// ```
    /// let layer = webcache_axum::CacheLayer::new(webcache_memory::easy_setup());
    /// let stats = layer.cache().stats();
    /// assert_eq!((stats.hits, stats.misses), (0, 0));
    /// ```
    pub fn cache(&self) -> &Cache<S, M> {
        &self.cache
    }
}

impl<S, M> fmt::Debug for CacheLayer<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer")
            .field("cache", &self.cache)
            .finish()
    }
}

impl<S, M> Clone for CacheLayer<S, M> {
    fn clone(&self) -> Self {
        CacheLayer {
            cache: self.cache.clone(),
        }
    }
}

impl<Svc, S, M> Layer<Svc> for CacheLayer<S, M> {
    type Service = CacheService<Svc, S, M>;

    fn layer(&self, inner: Svc) -> Self::Service {
        CacheService {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The request side of the cache: looks requests up and answers hits.
/// Pair it with a [`ResponseLayer`] of the same cache, above or below it
/// ([`CacheLayer::request_layer`] has an example).
pub struct RequestLayer<S, M = Mixins> {
    cache: Cache<S, M>,
}

impl<S, M> fmt::Debug for RequestLayer<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestLayer")
            .field("cache", &self.cache)
            .finish()
    }
}

impl<S, M> Clone for RequestLayer<S, M> {
    fn clone(&self) -> Self {
        RequestLayer {
            cache: self.cache.clone(),
        }
    }
}

impl<Svc, S, M> Layer<Svc> for RequestLayer<S, M> {
    type Service = RequestService<Svc, S, M>;

    fn layer(&self, inner: Svc) -> Self::Service {
        RequestService {
            inner,
            cache: self.cache.clone(),
        }
    }
}

/// The response side of the cache: stores and finishes forwarded responses.
/// Pair it with a [`RequestLayer`] of the same cache
/// ([`CacheLayer::request_layer`] has an example).
pub struct ResponseLayer<S, M = Mixins> {
    cache: Cache<S, M>,
}

impl<S, M> fmt::Debug for ResponseLayer<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseLayer")
            .field("cache", &self.cache)
            .finish()
    }
}

impl<S, M> Clone for ResponseLayer<S, M> {
    fn clone(&self) -> Self {
        ResponseLayer {
            cache: self.cache.clone(),
        }
    }
}

impl<Svc, S, M> Layer<Svc> for ResponseLayer<S, M> {
    type Service = ResponseService<Svc, S, M>;

    fn layer(&self, inner: Svc) -> Self::Service {
        ResponseService {
            inner,
            cache: self.cache.clone(),
        }
    }
}

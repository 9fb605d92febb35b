//! The layers: the whole cache, or its request and response sides apart.

use tower_layer::Layer;
use webcache_core::Cache;
use webcache_core::handler::Mixins;

use crate::service::{CacheService, RequestService, ResponseService};

/// Caches the responses of the service it wraps (see the crate docs).
/// Cheap to clone.
pub struct CacheLayer<S, M = Mixins> {
    cache: Cache<S, M>,
}

impl<S, M> CacheLayer<S, M> {
    /// A layer over `cache`.
    pub fn new(cache: Cache<S, M>) -> Self {
        CacheLayer { cache }
    }

    /// The request side alone, for stacks that place the two sides at
    /// different depths.
    pub fn request_layer(&self) -> RequestLayer<S, M> {
        RequestLayer {
            cache: self.cache.clone(),
        }
    }

    /// The response side alone.
    pub fn response_layer(&self) -> ResponseLayer<S, M> {
        ResponseLayer {
            cache: self.cache.clone(),
        }
    }

    /// The cache, e.g. to read its [`stats`](Cache::stats).
    pub fn cache(&self) -> &Cache<S, M> {
        &self.cache
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
/// Pair it with a [`ResponseLayer`] of the same cache, above or below it.
pub struct RequestLayer<S, M = Mixins> {
    cache: Cache<S, M>,
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
pub struct ResponseLayer<S, M = Mixins> {
    cache: Cache<S, M>,
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

//! The cached filter: webcache's tower service around `warp::service(filter)`.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;
use warp::{Filter, Reply};
use webcache_axum::{CacheLayer, ResponseFuture};
use webcache_core::handler::{Mixins, Policy};
use webcache_core::{Cache, Store};

use crate::body::{RequestBody, Response};

/// A warp filter behind the cache, as a tower [`Service`] over requests
/// with any body (hyper's `Incoming` included). Built by [`service`];
/// serve it with [`Server::new`](crate::Server::new), or with hyper-util's
/// `TowerToHyperService` in a server of your own.
///
/// Hits are answered without running the filter; everything else runs it
/// through `warp::service` and [`webcache_axum::CacheService`]. Cheap to
/// clone (two `Arc`s): the filter itself is cloned only for the requests
/// that run it, never for a hit.
pub struct CachedFilter<F, S, M = Mixins> {
    filter: Arc<F>,
    layer: CacheLayer<S, M>,
}

impl<F, S, M> std::fmt::Debug for CachedFilter<F, S, M> {
    /// The cache; a warp filter has no `Debug` of its own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedFilter")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

/// Puts `filter` behind `cache`: a tower service to serve with
/// [`Server::new`](crate::Server::new) or hyper-util (see [`serve`](crate::serve)
/// for the one-call server).
///
/// ```
/// use warp::Filter;
///
/// let route = warp::path("hello").map(|| "hi");
/// let service = webcache_warp::service(route, webcache_memory::easy_setup());
/// # drop(service);
/// ```
pub fn service<F, S, M>(filter: F, cache: Cache<S, M>) -> CachedFilter<F, S, M>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
    S: Store,
    M: Policy,
{
    CachedFilter {
        filter: Arc::new(filter),
        layer: CacheLayer::new(cache),
    }
}

impl<F, S, M> CachedFilter<F, S, M> {
    /// The cache, e.g. to read its [`stats`](Cache::stats).
    pub fn cache(&self) -> &Cache<S, M> {
        self.layer.cache()
    }
}

impl<F, S, M> Clone for CachedFilter<F, S, M> {
    fn clone(&self) -> Self {
        CachedFilter {
            filter: self.filter.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<F, S, M, B> Service<Request<B>> for CachedFilter<F, S, M>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
    S: Store,
    M: Policy,
    B: Body + Send + Sync + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<Response, Infallible>;

    /// Always ready: warp filters are, and a hit never touches the filter.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.layer
            .layer(SharedFilter(self.filter.clone()))
            .call(request.map(RequestBody::new))
    }
}

/// The filter as the cache's inner service: cloned for every request (an
/// `Arc`), while the filter itself is cloned, into `warp::service`, only
/// when the request runs it.
struct SharedFilter<F>(Arc<F>);

impl<F> Clone for SharedFilter<F> {
    fn clone(&self) -> Self {
        SharedFilter(self.0.clone())
    }
}

/// The future of a filter's run: boxed, as warp does not name its type.
type FilterFuture = Pin<Box<dyn Future<Output = Result<warp::reply::Response, Infallible>> + Send>>;

impl<F, B> Service<Request<B>> for SharedFilter<F>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
    B: Body + Send + Sync + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Response = warp::reply::Response;
    type Error = Infallible;
    type Future = FilterFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> FilterFuture {
        let mut service = warp::service(F::clone(&self.0));
        Box::pin(service.call(request))
    }
}

/// Gives requests a [`RequestBody`], whose empty default the cache's own
/// requests need: the outermost layer of a tower stack that places the
/// cache's request and response sides apart (see the crate docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestBodyLayer;

impl<Svc> Layer<Svc> for RequestBodyLayer {
    type Service = RequestBodyService<Svc>;

    fn layer(&self, inner: Svc) -> Self::Service {
        RequestBodyService { inner }
    }
}

/// The service of [`RequestBodyLayer`].
#[derive(Clone, Copy, Debug)]
pub struct RequestBodyService<Svc> {
    inner: Svc,
}

impl<Svc, B> Service<Request<B>> for RequestBodyService<Svc>
where
    Svc: Service<Request<RequestBody<B>>>,
{
    type Response = Svc::Response;
    type Error = Svc::Error;
    type Future = Svc::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.inner.call(request.map(RequestBody::new))
    }
}

//! The services the layers build.

use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Buf;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;
use webcache_core::handler::{Pending, Policy, RequestOutcome};
use webcache_core::{Cache, CacheBody, Store, Upstream};

use crate::future::ResponseFuture;

/// The next service, as the cache's [`Upstream`]: each call waits for the
/// service to be ready, then calls it. Every call uses a clone, so the
/// layer never calls a service it did not poll ready.
pub(crate) struct Next<Svc>(pub(crate) Svc);

impl<Svc: Clone> Clone for Next<Svc> {
    fn clone(&self) -> Self {
        Next(self.0.clone())
    }
}

impl<Svc, ReqB, ResB> Upstream<ReqB> for Next<Svc>
where
    Svc: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    Svc::Future: Send,
    Svc::Error: Send + 'static,
    ReqB: Send + 'static,
    ResB: Body + Send + 'static,
    ResB::Data: Buf + Send,
    ResB::Error: Send,
{
    type Body = ResB;
    type Error = Svc::Error;

    async fn call(&mut self, request: Request<ReqB>) -> Result<Response<ResB>, Svc::Error> {
        poll_fn(|cx| self.0.poll_ready(cx)).await?;
        self.0.call(request).await
    }
}

/// The combined service: the whole cache around `Svc`, made by
/// [`CacheLayer`](crate::CacheLayer) (or by hand, to serve with hyper).
///
/// ```
/// use axum::{Router, routing::get};
/// use tower_layer::Layer;
/// use webcache_axum::CacheLayer;
///
/// let app: Router = Router::new().route("/", get(|| async { "hello" }));
/// let service = CacheLayer::new(webcache_memory::easy_setup()).layer(app);
/// // Serve it with `hyper_util::service::TowerToHyperService::new(service)`.
/// # let _ = service;
/// ```
pub struct CacheService<Svc, S, M> {
    pub(crate) inner: Svc,
    pub(crate) cache: Cache<S, M>,
}

impl<Svc: fmt::Debug, S, M> fmt::Debug for CacheService<Svc, S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheService")
            .field("inner", &self.inner)
            .field("cache", &self.cache)
            .finish()
    }
}

impl<Svc: Clone, S, M> Clone for CacheService<Svc, S, M> {
    fn clone(&self) -> Self {
        CacheService {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
        }
    }
}

impl<Svc, S, M, ReqB, ResB> Service<Request<ReqB>> for CacheService<Svc, S, M>
where
    Svc: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    Svc::Future: Send,
    Svc::Error: Send + 'static,
    S: Store,
    M: Policy,
    ReqB: Default + Send + 'static,
    ResB: Body + Send + 'static,
    ResB::Data: Buf + Send,
    ResB::Error: Send,
{
    type Response = Response<CacheBody<ResB>>;
    type Error = Svc::Error;
    type Future = ResponseFuture<Self::Response, Svc::Error>;

    /// Always ready: the inner service is polled ready inside the response
    /// future, and only when the request is forwarded (a hit never touches
    /// it).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let later = match self.cache.serve_now(request, || Next(self.inner.clone())) {
            Ok(hit) => return ResponseFuture::ready(Ok(hit)),
            Err(later) => later,
        };
        let cache = self.cache.clone();
        let next = Next(self.inner.clone());
        ResponseFuture::new(async move { cache.serve_later(later, next).await })
    }
}

/// Carries the request handler's [`Pending`] to the response service, in
/// request extensions (response service below) or response extensions
/// (response service above).
#[derive(Clone)]
pub(crate) struct PendingSlot(Arc<Mutex<Option<Pending>>>);

impl PendingSlot {
    fn new(pending: Pending) -> Self {
        PendingSlot(Arc::new(Mutex::new(Some(pending))))
    }

    fn take(&self) -> Option<Pending> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Marks a request the response service re-sends (an unconditional retry):
/// the request service lets it through without a lookup.
#[derive(Clone, Copy)]
struct Resend;

/// The next service for a retry sent from the response service: marked
/// [`Resend`] so that a request service below lets it through.
struct Resending<Svc>(Next<Svc>);

impl<Svc: Clone> Clone for Resending<Svc> {
    fn clone(&self) -> Self {
        Resending(self.0.clone())
    }
}

impl<Svc, ReqB, ResB> Upstream<ReqB> for Resending<Svc>
where
    Next<Svc>: Upstream<ReqB, Body = ResB, Error = Svc::Error>,
    Svc: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    ReqB: Send + 'static,
    ResB: Body + Send + 'static,
    ResB::Data: Buf + Send,
    ResB::Error: Send,
    Svc::Error: Send + 'static,
{
    type Body = ResB;
    type Error = Svc::Error;

    async fn call(&mut self, mut request: Request<ReqB>) -> Result<Response<ResB>, Svc::Error> {
        request.extensions_mut().insert(Resend);
        self.0.call(request).await
    }
}

/// The request side on its own: answers from storage, or forwards with the
/// cache's account of the request for a [`ResponseService`] to finish.
/// Made by [`CacheLayer::request_layer`](crate::CacheLayer::request_layer),
/// which has an example.
pub struct RequestService<Svc, S, M> {
    pub(crate) inner: Svc,
    pub(crate) cache: Cache<S, M>,
}

impl<Svc: fmt::Debug, S, M> fmt::Debug for RequestService<Svc, S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestService")
            .field("inner", &self.inner)
            .field("cache", &self.cache)
            .finish()
    }
}

impl<Svc: Clone, S, M> Clone for RequestService<Svc, S, M> {
    fn clone(&self) -> Self {
        RequestService {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
        }
    }
}

impl<Svc, S, M, ReqB, ResB> Service<Request<ReqB>> for RequestService<Svc, S, M>
where
    Svc: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    Svc::Future: Send,
    Svc::Error: Send + 'static,
    S: Store,
    M: Policy,
    ReqB: Default + Send + 'static,
    ResB: Body + Send + 'static,
    ResB::Data: Buf + Send,
    ResB::Error: Send,
{
    type Response = Response<CacheBody<ResB>>;
    type Error = Svc::Error;
    type Future = ResponseFuture<Self::Response, Svc::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let cache = self.cache.clone();
        let mut next = Next(self.inner.clone());
        ResponseFuture::new(async move {
            if request.extensions().get::<Resend>().is_some() {
                return Ok(next.call(request).await?.map(CacheBody::stream));
            }
            let (mut parts, body) = request.into_parts();
            let pending = match cache.request_handler().handle(&parts).await {
                RequestOutcome::Respond(response, refresh) => {
                    if let Some(refresh) = refresh {
                        cache.refresh_in_background(refresh, next);
                    }
                    return Ok(response.map(CacheBody::full));
                }
                RequestOutcome::Forward(pending) => pending,
            };
            pending.prepare(&mut parts);
            let slot = PendingSlot::new(pending);
            parts.extensions.insert(slot.clone());
            let response = next.call(Request::from_parts(parts, body)).await?;
            let (mut parts, body) = response.into_parts();
            // No response service below took it: pass it up.
            if let Some(pending) = slot.take() {
                parts.extensions.insert(PendingSlot::new(pending));
            }
            Ok(Response::from_parts(parts, CacheBody::stream(body)))
        })
    }
}

/// The response side on its own: stores, freshens and finishes responses
/// that a [`RequestService`] forwarded, whether it sits above or below this
/// one. Made by [`CacheLayer::response_layer`](crate::CacheLayer::response_layer).
pub struct ResponseService<Svc, S, M> {
    pub(crate) inner: Svc,
    pub(crate) cache: Cache<S, M>,
}

impl<Svc: fmt::Debug, S, M> fmt::Debug for ResponseService<Svc, S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseService")
            .field("inner", &self.inner)
            .field("cache", &self.cache)
            .finish()
    }
}

impl<Svc: Clone, S, M> Clone for ResponseService<Svc, S, M> {
    fn clone(&self) -> Self {
        ResponseService {
            inner: self.inner.clone(),
            cache: self.cache.clone(),
        }
    }
}

impl<Svc, S, M, ReqB, ResB> Service<Request<ReqB>> for ResponseService<Svc, S, M>
where
    Svc: Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    Svc::Future: Send,
    Svc::Error: Send + 'static,
    S: Store,
    M: Policy,
    ReqB: Default + Send + 'static,
    ResB: Body + Send + 'static,
    ResB::Data: Buf + Send,
    ResB::Error: Send,
{
    type Response = Response<CacheBody<ResB>>;
    type Error = Svc::Error;
    type Future = ResponseFuture<Self::Response, Svc::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        let cache = self.cache.clone();
        let mut next = Next(self.inner.clone());
        ResponseFuture::new(async move {
            // A request service above put its account in the request.
            let from_above = request.extensions().get::<PendingSlot>().cloned();
            let mut response = next.call(request).await?;
            let pending = from_above.and_then(|slot| slot.take()).or_else(|| {
                response
                    .extensions_mut()
                    .remove::<PendingSlot>()
                    .and_then(|slot| slot.take())
            });
            let Some(pending) = pending else {
                return Ok(response.map(CacheBody::stream));
            };
            // A retry goes through the request service below unlooked-up.
            cache.finish(pending, response, &mut Resending(next)).await
        })
    }
}

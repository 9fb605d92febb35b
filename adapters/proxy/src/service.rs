//! [`ProxyService`]: a [`Proxy`] as a hyper service for one connection.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use hyper::body::Incoming;
use webcache_core::Store;
use webcache_core::handler::{Mixins, Policy};

use crate::body::ResponseBody;
use crate::forwarded::Peer;
use crate::interim::Relay;
use crate::proxy::Proxy;
use crate::server::Activity;

/// A [`Proxy`] serving the requests of one connection, as a
/// [`hyper::service::Service`]. Infallible: every request gets a response.
pub struct ProxyService<S, M = Mixins> {
    proxy: Proxy<S, M>,
    relay: Option<Arc<Relay>>,
    peer: Option<Peer>,
    activity: Option<Arc<Activity>>,
}

impl<S, M> Clone for ProxyService<S, M> {
    fn clone(&self) -> Self {
        ProxyService {
            proxy: self.proxy.clone(),
            relay: self.relay.clone(),
            peer: self.peer,
            activity: self.activity.clone(),
        }
    }
}

impl<S, M> std::fmt::Debug for ProxyService<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyService")
            .field("relay_interim", &self.relay.is_some())
            .finish_non_exhaustive()
    }
}

impl<S, M> ProxyService<S, M> {
    pub(crate) fn new(
        proxy: Proxy<S, M>,
        relay: Option<Arc<Relay>>,
        peer: Option<Peer>,
        activity: Option<Arc<Activity>>,
    ) -> Self {
        ProxyService {
            proxy,
            relay,
            peer,
            activity,
        }
    }
}

impl<S: Store, M: Policy> hyper::service::Service<Request<Incoming>> for ProxyService<S, M> {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let proxy = self.proxy.clone();
        let relay = self.relay.clone();
        let peer = self.peer;
        // Held until the response head is handed over: the connection is
        // not idle meanwhile.
        let busy = self.activity.as_ref().map(Activity::busy);
        ResponseFuture {
            inner: Box::pin(async move {
                let response = proxy.handle_relayed(request, relay.as_ref(), peer).await;
                drop(busy);
                Ok(response)
            }),
        }
    }
}

/// The future of a [`ProxyService`] call.
pub struct ResponseFuture {
    inner: Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>>,
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

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
        let later = match self.proxy.handle_now(request) {
            Ok(response) => {
                // Answered at once, and still activity: the connection is
                // not idle.
                if let Some(activity) = &self.activity {
                    activity.answered();
                }
                return ResponseFuture::ready(response);
            }
            Err(later) => later,
        };
        let proxy = self.proxy.clone();
        let relay = self.relay.clone();
        let peer = self.peer;
        // Held until the response head is handed over: the connection is
        // not idle meanwhile.
        let busy = self.activity.as_ref().map(Activity::busy);
        ResponseFuture::boxed(async move {
            let response = proxy.handle_later(later, relay.as_ref(), peer).await;
            drop(busy);
            Ok(response)
        })
    }
}

/// The future of a [`ProxyService`] call: ready at once for what the
/// proxy answers without waiting (see [`Proxy::handle`]), boxed otherwise.
pub struct ResponseFuture {
    inner: Inner,
}

type Answer = Result<Response<ResponseBody>, Infallible>;

// The ready response inline is the point: a hit costs no allocation.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Ready(Option<Response<ResponseBody>>),
    Boxed(Pin<Box<dyn Future<Output = Answer> + Send>>),
}

// Nothing in it is ever pinned but the boxed future, which its box pins.
impl Unpin for ResponseFuture {}

impl ResponseFuture {
    fn ready(response: Response<ResponseBody>) -> Self {
        ResponseFuture {
            inner: Inner::Ready(Some(response)),
        }
    }

    fn boxed(future: impl Future<Output = Answer> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Inner::Boxed(Box::pin(future)),
        }
    }
}

impl std::fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Answer;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        match &mut self.get_mut().inner {
            Inner::Ready(response) => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after it completed"),
            },
            Inner::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

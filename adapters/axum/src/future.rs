//! The response future of the cache services.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The future of a cache service's response: ready at once for a hit the
/// cache answered without waiting ([`Cache::serve_now`]), otherwise
/// boxed, since it runs the cache's async handlers, whose futures have no
/// nameable type.
///
/// [`Cache::serve_now`]: webcache_core::Cache::serve_now
pub struct ResponseFuture<T, E> {
    inner: Inner<T, E>,
}

enum Inner<T, E> {
    Ready(Option<Result<T, E>>),
    Boxed(Pin<Box<dyn Future<Output = Result<T, E>> + Send>>),
}

// Nothing in it is ever pinned but the boxed future, which its box pins.
impl<T, E> Unpin for ResponseFuture<T, E> {}

impl<T, E> ResponseFuture<T, E> {
    pub(crate) fn new<F>(future: F) -> Self
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        ResponseFuture {
            inner: Inner::Boxed(Box::pin(future)),
        }
    }

    /// A future ready with `output`.
    pub(crate) fn ready(output: Result<T, E>) -> Self {
        ResponseFuture {
            inner: Inner::Ready(Some(output)),
        }
    }
}

impl<T, E> Future for ResponseFuture<T, E> {
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Inner::Ready(output) => match output.take() {
                Some(output) => Poll::Ready(output),
                None => panic!("ResponseFuture polled after it completed"),
            },
            Inner::Boxed(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T, E> fmt::Debug for ResponseFuture<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

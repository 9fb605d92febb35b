//! The bodies the proxy moves: the client's request body on its way
//! upstream, the upstream's response body on its way back (bounded by an
//! idle timeout), and what the client finally receives.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::{Instant, Sleep};
use webcache_core::CacheBody;

use crate::error::BodyError;

/// A request body on its way upstream: the client's body streamed as it
/// arrives, or nothing — the cache's own requests (background refreshes,
/// the unconditional request after an unusable 304) carry no body, which
/// is why this type implements `Default`.
#[derive(Debug, Default)]
pub struct RequestBody {
    inner: Option<Incoming>,
    /// The first frame, read ahead by [`read_first`](Self::read_first).
    first: Option<Frame<Bytes>>,
    sent: Option<Arc<Notify>>,
}

impl RequestBody {
    /// The client's body.
    pub fn new(body: Incoming) -> Self {
        RequestBody {
            inner: Some(body),
            first: None,
            sent: None,
        }
    }

    /// Reads the first frame of the body ahead, so that a body that is
    /// malformed from its start (a chunk size that overflows, a bad chunk
    /// line) is refused before anything goes upstream.
    pub(crate) async fn read_first(&mut self) -> Result<(), hyper::Error> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        if inner.is_end_stream() {
            return Ok(());
        }
        match http_body_util::BodyExt::frame(inner).await {
            Some(Ok(frame)) => self.first = Some(frame),
            Some(Err(error)) => return Err(error),
            None => {}
        }
        Ok(())
    }

    /// Arranges for `sent` to be notified once the whole body has been
    /// read; returns false (and notifies nothing) when there is no body
    /// left to read.
    pub(crate) fn notify_when_sent(&mut self, sent: Arc<Notify>) -> bool {
        if self.is_end_stream() {
            return false;
        }
        self.sent = Some(sent);
        true
    }

    fn finished(&mut self) {
        if let Some(sent) = self.sent.take() {
            sent.notify_one();
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(frame) = self.first.take() {
            if self.is_end_stream() {
                self.finished();
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.finished(),
            Poll::Ready(Some(Ok(_))) if self.is_end_stream() => self.finished(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self
            .inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint);
        let ahead = self
            .first
            .as_ref()
            .and_then(Frame::data_ref)
            .map_or(0, |d| d.len() as u64);
        if ahead == 0 {
            return rest;
        }
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + ahead);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + ahead);
        }
        hint
    }
}

pin_project! {
    /// A response body streaming from the upstream. It fails with
    /// [`BodyError::Idle`] when the upstream sends nothing for longer than
    /// the idle timeout.
    pub struct UpstreamBody {
        inner: Incoming,
        #[pin]
        idle: Sleep,
        timeout: Duration,
        // The upstream request slot, held until the body is done with.
        permit: Option<OwnedSemaphorePermit>,
    }
}

impl UpstreamBody {
    pub(crate) fn new(inner: Incoming, timeout: Duration, permit: OwnedSemaphorePermit) -> Self {
        UpstreamBody {
            inner,
            idle: tokio::time::sleep(timeout),
            timeout,
            permit: Some(permit),
        }
    }
}

impl std::fmt::Debug for UpstreamBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamBody")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let mut this = self.project();
        match Pin::new(&mut *this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if frame.is_none() {
                    this.permit.take();
                }
                this.idle.as_mut().reset(Instant::now() + *this.timeout);
                Poll::Ready(frame.map(|f| f.map_err(BodyError::from)))
            }
            Poll::Pending => match this.idle.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Idle(*this.timeout)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The body of a response the proxy sends: what the cache produced (a
    /// stored body or the upstream's streamed through), or a whole body in
    /// hand: a hit's, or a short one the proxy generated itself (502, 504).
    pub struct ResponseBody {
        #[pin]
        inner: Inner,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner {
        Cache { #[pin] body: CacheBody<UpstreamBody> },
        Whole { data: Option<Bytes> },
    }
}

impl ResponseBody {
    /// A body from the cache.
    pub fn cache(body: CacheBody<UpstreamBody>) -> Self {
        ResponseBody {
            inner: Inner::Cache { body },
        }
    }

    /// A complete body generated by the proxy.
    pub fn generated(data: Bytes) -> Self {
        Self::whole(data)
    }

    /// A whole body in hand, such as a hit's: sent as one frame.
    pub fn whole(data: Bytes) -> Self {
        ResponseBody {
            inner: Inner::Whole {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Inner::Cache { body } => f.debug_tuple("ResponseBody").field(body).finish(),
            Inner::Whole { data } => f.debug_tuple("ResponseBody").field(data).finish(),
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BodyError;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.project().inner.project() {
            InnerProj::Cache { body } => body.poll_frame(cx),
            InnerProj::Whole { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Cache { body } => body.is_end_stream(),
            Inner::Whole { data } => data.is_none(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Cache { body } => body.size_hint(),
            Inner::Whole { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

//! The response body the cache hands back: a stored body, or the
//! application's body streamed through, optionally captured (up to the
//! storable limit) so it can be stored once it has been sent completely.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::sync::oneshot;

/// Accumulates a streamed body for storage, giving up past the limit.
pub(crate) struct Capture {
    chunks: Vec<Bytes>,
    len: usize,
    limit: usize,
    expected_len: Option<u64>,
    done: oneshot::Sender<Bytes>,
}

impl Capture {
    /// Captures up to `limit` bytes; `expected_len` is the Content-Length
    /// the complete body must have.
    pub(crate) fn new(
        limit: usize,
        expected_len: Option<u64>,
    ) -> (Capture, oneshot::Receiver<Bytes>) {
        let (done, rx) = oneshot::channel();
        (
            Capture {
                chunks: Vec::new(),
                len: 0,
                limit,
                expected_len,
                done,
            },
            rx,
        )
    }

    /// Adds a chunk; false when the limit is exceeded (capture abandoned).
    fn push(&mut self, chunk: &Bytes) -> bool {
        self.len += chunk.len();
        if self.len > self.limit {
            return false;
        }
        self.chunks.push(chunk.clone());
        true
    }

    /// The body is complete: hand it over, if its length is right.
    fn complete(self) {
        if self.expected_len.is_some_and(|l| l != self.len as u64) {
            return;
        }
        let body = match self.chunks.len() {
            0 => Bytes::new(),
            1 => self.chunks.into_iter().next().unwrap_or_default(),
            _ => {
                let mut buf = BytesMut::with_capacity(self.len);
                for c in self.chunks {
                    buf.extend_from_slice(&c);
                }
                buf.freeze()
            }
        };
        let _ = self.done.send(body);
    }
}

pin_project! {
    /// The body of a response that went through the cache: a stored body,
    /// or the inner body streamed through.
    ///
    /// Its data are [`Bytes`]; its error is the inner body's error, so the
    /// cache never changes a service's error type.
    pub struct CacheBody<B>
    where
        B: Body,
    {
        #[pin]
        inner: Inner<B>,
    }
}

pin_project! {
    #[project = InnerProj]
    enum Inner<B>
    where
        B: Body,
    {
        // A complete body (served from storage, or collected).
        Full {
            data: Option<Bytes>,
            trailers: Option<HeaderMap>,
        },
        // The inner body, after anything already read from it. Boxed so
        // that the cache can read it before handing it on, whatever `B`.
        Stream {
            prefix: VecDeque<Bytes>,
            body: Pin<Box<B>>,
            capture: Option<Capture>,
        },
        // The inner body failed while the cache was reading it.
        Failed {
            error: Option<B::Error>,
        },
        // A collected body that ended short of its Content-Length: sent as
        // it came, claiming no exact size, so that the server sees it end
        // early (an error to the client) as it would without the cache.
        Short {
            data: Option<Bytes>,
        },
    }
}

impl<B: Body> CacheBody<B> {
    /// A complete body.
    pub fn full(data: Bytes) -> Self {
        Self::full_with_trailers(data, None)
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::full_with_trailers(Bytes::new(), None)
    }

    /// The inner body, passed through.
    pub fn stream(body: B) -> Self {
        Self::with_parts(VecDeque::new(), Box::pin(body), None)
    }

    pub(crate) fn with_parts(
        prefix: VecDeque<Bytes>,
        body: Pin<Box<B>>,
        capture: Option<Capture>,
    ) -> Self {
        CacheBody {
            inner: Inner::Stream {
                prefix,
                body,
                capture,
            },
        }
    }

    /// A body read whole that is shorter than its Content-Length said: the
    /// server must not be told its exact size (it would frame the message
    /// by it while the header says otherwise).
    pub(crate) fn short(data: Bytes) -> Self {
        CacheBody {
            inner: Inner::Short {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    pub(crate) fn failed(error: B::Error) -> Self {
        CacheBody {
            inner: Inner::Failed { error: Some(error) },
        }
    }

    /// True while a capture for storage is running.
    pub(crate) fn is_capturing(&self) -> bool {
        matches!(
            self.inner,
            Inner::Stream {
                capture: Some(_),
                ..
            }
        )
    }

    pub(crate) fn full_with_trailers(data: Bytes, trailers: Option<HeaderMap>) -> Self {
        CacheBody {
            inner: Inner::Full {
                data: (!data.is_empty()).then_some(data),
                trailers,
            },
        }
    }
}

impl<B: Body> std::fmt::Debug for CacheBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Full { .. } => "full",
            Inner::Stream { .. } => "stream",
            Inner::Failed { .. } => "failed",
            Inner::Short { .. } => "short",
        };
        f.debug_tuple("CacheBody").field(&kind).finish()
    }
}

impl<B> Body for CacheBody<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().inner.project() {
            InnerProj::Full { data, trailers } => {
                if let Some(d) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(d))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))))
            }
            InnerProj::Failed { error } => Poll::Ready(error.take().map(Err)),
            InnerProj::Short { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            InnerProj::Stream {
                prefix,
                body,
                capture,
            } => {
                if let Some(chunk) = prefix.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                match body.as_mut().poll_frame(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(None) => {
                        if let Some(c) = capture.take() {
                            c.complete();
                        }
                        Poll::Ready(None)
                    }
                    Poll::Ready(Some(Err(e))) => {
                        // An incomplete body is never stored.
                        capture.take();
                        Poll::Ready(Some(Err(e)))
                    }
                    Poll::Ready(Some(Ok(frame))) => {
                        let frame = match frame.into_data() {
                            Ok(mut data) => {
                                let chunk = data.copy_to_bytes(data.remaining());
                                if let Some(c) = capture.as_mut() {
                                    if !c.push(&chunk) {
                                        capture.take();
                                    }
                                }
                                Frame::data(chunk)
                            }
                            // Trailers are not stored (RFC 9111 §3.1 lets a
                            // cache discard them) but are passed on.
                            Err(frame) => match frame.into_trailers() {
                                Ok(t) => Frame::trailers(t),
                                Err(_) => return Poll::Ready(None),
                            },
                        };
                        // Some servers stop polling once the body says it
                        // has ended: complete the capture now.
                        if body.is_end_stream() {
                            if let Some(c) = capture.take() {
                                c.complete();
                            }
                        }
                        Poll::Ready(Some(Ok(frame)))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full { data, trailers } => data.is_none() && trailers.is_none(),
            Inner::Stream { prefix, body, .. } => prefix.is_empty() && body.is_end_stream(),
            Inner::Failed { error } => error.is_none(),
            Inner::Short { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full { data, .. } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Inner::Stream { prefix, body, .. } => {
                let buffered: u64 = prefix.iter().map(|c| c.len() as u64).sum();
                let inner = body.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower().saturating_add(buffered));
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper.saturating_add(buffered));
                }
                hint
            }
            Inner::Failed { .. } | Inner::Short { .. } => SizeHint::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use std::convert::Infallible;

    #[tokio::test]
    async fn capture_completes_with_the_whole_body() {
        let inner = Chunks(VecDeque::from([
            Bytes::from_static(b"hel"),
            Bytes::from_static(b"lo"),
        ]));
        let (capture, rx) = Capture::new(100, Some(5));
        let body = CacheBody::with_parts(VecDeque::new(), Box::pin(inner), Some(capture));
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(&out[..], b"hello");
        assert_eq!(&rx.await.unwrap()[..], b"hello");
    }

    #[tokio::test]
    async fn capture_gives_up_past_the_limit_but_the_body_streams_on() {
        let inner = Full::new(Bytes::from_static(b"0123456789"));
        let (capture, rx) = Capture::new(4, None);
        let body = CacheBody::with_parts(VecDeque::new(), Box::pin(inner), Some(capture));
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(&out[..], b"0123456789");
        assert!(rx.await.is_err());
    }

    #[tokio::test]
    async fn capture_rejects_a_body_shorter_than_content_length() {
        let inner = Full::new(Bytes::from_static(b"abc"));
        let (capture, rx) = Capture::new(100, Some(10));
        let body = CacheBody::with_parts(VecDeque::new(), Box::pin(inner), Some(capture));
        let _ = body.collect().await.unwrap();
        assert!(rx.await.is_err());
    }

    #[tokio::test]
    async fn prefix_is_sent_first() {
        let inner = Full::new(Bytes::from_static(b"world"));
        let body = CacheBody::with_parts(
            VecDeque::from([Bytes::from_static(b"hello ")]),
            Box::pin(inner),
            None,
        );
        assert_eq!(body.size_hint().exact(), Some(11));
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(&out[..], b"hello world");
    }

    /// A body that yields the given chunks, one frame per poll.
    struct Chunks(VecDeque<Bytes>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
        }
    }
}

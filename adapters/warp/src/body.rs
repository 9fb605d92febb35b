//! Body types at the edge between hyper, the cache and warp.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// A request body that may be empty: a peer's body, or none.
    ///
    /// The cache sends requests of its own (background refreshes), which
    /// need an empty body of the same type as the peers' requests, and
    /// hyper's `Incoming` has no empty value: this type adds one.
    #[derive(Debug)]
    pub struct RequestBody<B> {
        #[pin]
        inner: Option<B>,
    }
}

impl<B> RequestBody<B> {
    /// A peer's body.
    pub fn new(body: B) -> Self {
        RequestBody { inner: Some(body) }
    }

    /// No body.
    pub fn empty() -> Self {
        RequestBody { inner: None }
    }
}

impl<B> Default for RequestBody<B> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<B: Body> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().inner.as_pin_mut() {
            Some(body) => body.poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(body) => body.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

/// Names the body type of a response type.
///
/// warp's body type has no public name; this trait reaches it through
/// [`warp::reply::Response`] (see [`WarpBody`]).
pub trait HasBody {
    /// The body type.
    type Body;
}

impl<B> HasBody for http::Response<B> {
    type Body = B;
}

/// The body of warp's responses ([`warp::reply::Response`]'s).
pub type WarpBody = <warp::reply::Response as HasBody>::Body;

/// What a cached filter answers: warp's response, through the cache.
pub type Response = http::Response<webcache_core::CacheBody<WarpBody>>;

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-chunk body for the tests.
    struct Chunk(Option<&'static [u8]>);

    impl Body for Chunk {
        type Data = &'static [u8];
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
            Poll::Ready(self.0.take().map(|d| Ok(Frame::data(d))))
        }

        fn size_hint(&self) -> SizeHint {
            SizeHint::with_exact(self.0.map_or(0, |d| d.len() as u64))
        }
    }

    fn poll(body: &mut RequestBody<Chunk>) -> Option<&'static [u8]> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => frame.into_data().ok(),
            _ => None,
        }
    }

    #[test]
    fn the_default_body_is_empty_and_ended() {
        let mut body = RequestBody::<Chunk>::default();
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(0));
        assert_eq!(poll(&mut body), None);
    }

    #[test]
    fn a_peers_body_passes_through_unchanged() {
        let mut body = RequestBody::new(Chunk(Some(b"data")));
        assert!(!body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(4));
        assert_eq!(poll(&mut body), Some(&b"data"[..]));
        assert_eq!(poll(&mut body), None);
    }
}

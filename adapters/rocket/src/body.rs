//! Bodies at the edge between Rocket and the core.
//!
//! The core wants `'static` bodies that implement `http_body::Body`; a
//! Rocket response body is an `AsyncRead` that may borrow from the request.
//! [`AppBody`] is what the core sees: a body read whole (known size within
//! the storable limit), a channel fed from the Rocket body, or a loopback
//! response. [`Outgoing`] is what Rocket sends: it reads the core's body and,
//! whenever that waits for the channel, pumps the next chunk of the Rocket
//! body into it — one task, no buffering beyond one chunk.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use rocket::response::Body as RocketBody;
use rocket::tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;
use webcache_core::CacheBody;

/// How much of a streamed Rocket body is read at a time.
const CHUNK: usize = 16 * 1024;

/// A response body as the core sees it.
pub(crate) enum AppBody {
    /// Read whole before the core saw it.
    Full(Option<Bytes>),
    /// Fed chunk by chunk from a Rocket body by [`Outgoing`].
    Channel(mpsc::UnboundedReceiver<io::Result<Bytes>>),
    /// A response to a loopback request.
    Remote(hyper::body::Incoming),
}

impl AppBody {
    /// A channel body and the sender that feeds it.
    pub(crate) fn channel() -> (Self, mpsc::UnboundedSender<io::Result<Bytes>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (AppBody::Channel(rx), tx)
    }
}

impl Body for AppBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            AppBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            AppBody::Channel(rx) => rx
                .poll_recv(cx)
                .map(|next| next.map(|chunk| chunk.map(Frame::data))),
            AppBody::Remote(incoming) => {
                Pin::new(incoming).poll_frame(cx).map_err(io::Error::other)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            AppBody::Full(data) => data.is_none(),
            AppBody::Channel(_) => false,
            AppBody::Remote(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            AppBody::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            AppBody::Channel(_) => SizeHint::default(),
            AppBody::Remote(incoming) => incoming.size_hint(),
        }
    }
}

/// Moves a Rocket body into a channel, one chunk per call.
pub(crate) struct Pump<'r> {
    source: RocketBody<'r>,
    tx: Option<mpsc::UnboundedSender<io::Result<Bytes>>>,
    buf: Box<[u8]>,
}

impl<'r> Pump<'r> {
    pub(crate) fn new(
        source: RocketBody<'r>,
        tx: mpsc::UnboundedSender<io::Result<Bytes>>,
    ) -> Self {
        Pump {
            source,
            tx: Some(tx),
            buf: vec![0; CHUNK].into_boxed_slice(),
        }
    }

    /// Reads one chunk (or the end, or an error) into the channel.
    /// `Ready(false)` once the source is done and the channel closed.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let Some(tx) = &self.tx else {
            return Poll::Ready(false);
        };
        let mut buf = ReadBuf::new(&mut self.buf);
        let read = ready!(Pin::new(&mut self.source).poll_read(cx, &mut buf));
        match read {
            Ok(()) if buf.filled().is_empty() => {
                self.tx = None;
                Poll::Ready(false)
            }
            Ok(()) => {
                let _ = tx.send(Ok(Bytes::copy_from_slice(buf.filled())));
                Poll::Ready(true)
            }
            Err(e) => {
                let _ = tx.send(Err(e));
                self.tx = None;
                Poll::Ready(false)
            }
        }
    }
}

/// The body Rocket sends: the core's body, fed by a [`Pump`] when it
/// streams a Rocket body.
pub(crate) struct Outgoing<'r> {
    body: Pin<Box<CacheBody<AppBody>>>,
    pump: Option<Pump<'r>>,
    rest: Bytes,
    done: bool,
}

impl<'r> Outgoing<'r> {
    pub(crate) fn new(body: CacheBody<AppBody>, pump: Option<Pump<'r>>) -> Self {
        Outgoing {
            body: Box::pin(body),
            pump,
            rest: Bytes::new(),
            done: false,
        }
    }

    /// The next chunk of data from the core's body; `None` at the end.
    fn poll_data(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        loop {
            match self.body.as_mut().poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if data.is_empty() => continue,
                    Ok(data) => return Poll::Ready(Some(Ok(data))),
                    // Trailers: Rocket cannot send them.
                    Err(_) => continue,
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
            // The core waits for the channel: feed it.
            match &mut self.pump {
                Some(pump) => {
                    if !ready!(pump.poll_chunk(cx)) {
                        self.pump = None;
                    }
                }
                None => return Poll::Pending,
            }
        }
    }
}

impl AsyncRead for Outgoing<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.rest.is_empty() && !this.done {
            match ready!(this.poll_data(cx)) {
                Some(Ok(data)) => this.rest = data,
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Err(e));
                }
                None => this.done = true,
            }
        }
        let n = this.rest.len().min(buf.remaining());
        buf.put_slice(&this.rest.split_to(n));
        Poll::Ready(Ok(()))
    }
}

//! Relaying 1xx interim responses (103 Early Hints, 102 Processing) from
//! the upstream to the client (RFC 9110 §15.2: a proxy forwards 1xx
//! responses it did not ask for).
//!
//! hyper's client reports interim responses through
//! [`hyper::ext::on_informational`], but its server cannot send one: a
//! service returns exactly one response. So the proxy writes them itself,
//! on the client connection, underneath hyper: [`ConnIo`] wraps the client
//! socket, and the [`Relay`] of the connection queues the encoded interim
//! responses of the request in progress and wakes the connection task.
//!
//! They are written only where hyper has nothing buffered — hyper reaches
//! the socket's `poll_flush` only with its write buffer empty, and writes
//! nothing between that flush and the head of the next response — so they
//! never land inside another message. Those still queued when the final
//! response is handed to hyper (an origin often sends its 103 and its 200
//! back to back) go out just before that response's head. Only when hyper
//! may still hold part of an earlier response (a pipelining client that is
//! slow to read) are the unsent ones dropped instead, so that none ever
//! follows the final response. Interim responses are never relayed to
//! HTTP/1.0 clients (RFC 9110 §15.2), never stored (they are not final,
//! RFC 9111 §3), and their fields are never merged into the final response.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use webcache_core::headers::remove_hop_by_hop;

/// The interim responses of one client connection.
#[derive(Debug)]
pub(crate) struct Relay {
    state: Mutex<State>,
    /// Something is queued (read without the lock on every write).
    queued: AtomicBool,
    /// hyper has nothing buffered for the connection: it flushed, and
    /// wrote nothing since.
    clean: AtomicBool,
}

impl Default for Relay {
    fn default() -> Self {
        Relay {
            state: Mutex::default(),
            queued: AtomicBool::new(false),
            clean: AtomicBool::new(true),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// The request in progress; interim responses for any other are late.
    current: u64,
    active: bool,
    /// Encoded interim responses; the first may be partly written.
    queue: VecDeque<Bytes>,
    written: usize,
    /// The connection task, woken when something is queued.
    waker: Option<Waker>,
}

impl State {
    /// Drops the queued responses not yet started.
    fn drop_unstarted(&mut self) {
        let keep = usize::from(self.written > 0);
        self.queue.truncate(keep);
    }
}

impl Relay {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request starts on the connection: returns its number.
    pub(crate) fn begin(&self) -> u64 {
        let mut state = self.lock();
        state.current += 1;
        state.active = true;
        state.drop_unstarted();
        self.queued
            .store(!state.queue.is_empty(), Ordering::Release);
        state.current
    }

    /// The final response to request `id` is about to be handed to hyper:
    /// nothing more may be relayed for it. What is queued goes out just
    /// before the response's head, unless hyper may still hold part of an
    /// earlier message; then it is dropped.
    pub(crate) fn end(&self, id: u64) {
        let mut state = self.lock();
        if state.current == id {
            state.active = false;
            if !self.clean.load(Ordering::Acquire) {
                state.drop_unstarted();
            }
            self.queued
                .store(!state.queue.is_empty(), Ordering::Release);
        }
    }

    /// Queues an interim response to request `id`, if it is still waiting
    /// for its final response, and wakes the connection task to write it.
    pub(crate) fn push(&self, id: u64, status: StatusCode, headers: &HeaderMap) {
        let mut state = self.lock();
        if !state.active || state.current != id || !status.is_informational() {
            return;
        }
        // 101 switches protocols: never relayed (Upgrade is hop-by-hop).
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return;
        }
        state.queue.push_back(encode(status, headers));
        self.queued.store(true, Ordering::Release);
        if let Some(waker) = &state.waker {
            waker.wake_by_ref();
        }
    }

    fn register(&self, waker: &Waker) {
        let mut state = self.lock();
        match &state.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => state.waker = Some(waker.clone()),
        }
    }
}

/// Encodes an interim response as HTTP/1.1, without its hop-by-hop fields.
fn encode(status: StatusCode, headers: &HeaderMap) -> Bytes {
    let mut headers = headers.clone();
    remove_hop_by_hop(&mut headers);
    let reason = status.canonical_reason().unwrap_or("Informational");
    let mut out = BytesMut::with_capacity(64 + headers.len() * 32);
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(reason.as_bytes());
    out.put_slice(b"\r\n");
    for (name, value) in &headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out.freeze()
}

/// A client connection's socket, with the interim responses of its
/// [`Relay`] written between hyper's messages.
#[derive(Debug)]
pub(crate) struct ConnIo<T = TcpStream> {
    stream: T,
    relay: Option<Arc<Relay>>,
    /// The connection task's waker, as last given to the relay.
    waker: Option<Waker>,
}

impl<T: AsyncWrite + Unpin> ConnIo<T> {
    pub(crate) fn new(stream: T, relay: Option<Arc<Relay>>) -> Self {
        ConnIo {
            stream,
            relay,
            waker: None,
        }
    }

    fn register(&mut self, cx: &Context<'_>) {
        let Some(relay) = &self.relay else {
            return;
        };
        if self.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return;
        }
        relay.register(cx.waker());
        self.waker = Some(cx.waker().clone());
    }

    /// hyper wrote bytes of its own: until its next flush it may hold more.
    fn wrote(&self, written: usize) {
        if let Some(relay) = self.relay.as_ref().filter(|_| written > 0) {
            relay.clean.store(false, Ordering::Release);
        }
    }

    /// Writes the queued interim responses if it is safe to: at a clean
    /// point, or to finish one already started. Ready once nothing that
    /// must go first is left.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(relay) = &self.relay else {
            return Poll::Ready(Ok(()));
        };
        if !relay.queued.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        let mut state = relay.lock();
        if !relay.clean.load(Ordering::Acquire) && state.written == 0 {
            // hyper may have part of an earlier message buffered; wait for
            // its flush.
            return Poll::Ready(Ok(()));
        }
        while let Some(front) = state.queue.front().cloned() {
            let rest = &front[state.written..];
            match Pin::new(&mut self.stream).poll_write(cx, rest) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    state.written += n;
                    if state.written == front.len() {
                        state.queue.pop_front();
                        state.written = 0;
                    }
                }
            }
        }
        relay.queued.store(false, Ordering::Release);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for ConnIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.register(cx);
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ConnIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        let written = std::task::ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        this.wrote(written);
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        let written = std::task::ready!(Pin::new(&mut this.stream).poll_write_vectored(cx, bufs))?;
        this.wrote(written);
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // hyper reaches its socket's flush only with its own buffer empty.
        if let Some(relay) = &this.relay {
            relay.clean.store(true, Ordering::Release);
        }
        this.register(cx);
        std::task::ready!(this.drain(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn rfc9110_15_2_interim_responses_are_encoded_without_hop_by_hop_fields() {
        let mut h = HeaderMap::new();
        h.insert("link", HeaderValue::from_static("</a.css>; rel=preload"));
        h.insert("connection", HeaderValue::from_static("x-hop"));
        h.insert("x-hop", HeaderValue::from_static("1"));
        let bytes = encode(StatusCode::from_u16(103).unwrap(), &h);
        assert_eq!(
            &bytes[..],
            b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n"
        );
    }

    #[test]
    fn only_the_request_in_progress_gets_interim_responses() {
        let queued = |relay: &Relay| relay.lock().queue.len();
        let relay = Relay::default();
        let first = relay.begin();
        relay.push(first, StatusCode::PROCESSING, &HeaderMap::new());
        assert_eq!(queued(&relay), 1);
        // Ended at a clean point: kept, to go out before the final head.
        relay.end(first);
        assert_eq!(queued(&relay), 1);
        // Late ones are dropped.
        relay.push(first, StatusCode::PROCESSING, &HeaderMap::new());
        assert_eq!(queued(&relay), 1);
        let second = relay.begin();
        assert_eq!(queued(&relay), 0);
        relay.push(first, StatusCode::PROCESSING, &HeaderMap::new());
        relay.push(second, StatusCode::OK, &HeaderMap::new());
        relay.push(second, StatusCode::SWITCHING_PROTOCOLS, &HeaderMap::new());
        assert_eq!(queued(&relay), 0);
        // hyper may hold part of an earlier message: unsent ones are dropped.
        relay.push(second, StatusCode::PROCESSING, &HeaderMap::new());
        relay.clean.store(false, Ordering::Release);
        relay.end(second);
        assert_eq!(queued(&relay), 0);
    }
}

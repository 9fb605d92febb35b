//! [`Server`]: accepts HTTP/1.1 and HTTP/2 connections and serves them through a
//! [`Proxy`], with a graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;
use webcache_core::Store;
use webcache_core::handler::{Mixins, Policy};

use crate::config::ProxyConfig;
use crate::error::Error;
use crate::forwarded::Peer;
use crate::interim::{ConnIo, Relay};
use crate::proxy::Proxy;
use crate::service::ProxyService;

/// Serves a [`Proxy`] on a TCP listener.
///
/// ```no_run
/// # async fn run(proxy: webcache_proxy::Proxy<webcache_memory::MemoryStore>) -> Result<(), webcache_proxy::Error> {
/// let server = webcache_proxy::Server::bind("127.0.0.1:8080".parse().unwrap(), proxy).await?;
/// server.serve(webcache_proxy::shutdown_signal()).await
/// # }
/// ```
pub struct Server<S, M = Mixins> {
    listener: TcpListener,
    proxy: Proxy<S, M>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
}

impl<S, M> std::fmt::Debug for Server<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl<S: Store, M: Policy> Server<S, M> {
    /// Binds `addr` (port 0 picks a free port; see
    /// [`local_addr`](Server::local_addr)).
    pub async fn bind(addr: SocketAddr, proxy: Proxy<S, M>) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr).await.map_err(Error::Listen)?;
        Ok(Self::from_listener(listener, proxy))
    }

    /// Serves on a listener bound elsewhere.
    pub fn from_listener(listener: TcpListener, proxy: Proxy<S, M>) -> Self {
        Server {
            listener,
            proxy,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Serves every connection over TLS with `tls` (HTTP/2 or HTTP/1.1 by
    /// ALPN); [`TlsConfig::reload`](crate::TlsConfig::reload) replaces its
    /// certificate for the connections that follow.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Listen)
    }

    /// Accepts and serves connections until `shutdown` completes; then
    /// stops accepting, lets the requests in flight finish (closing idle
    /// connections at once and busy ones after their response), waits for
    /// the cache's background stores and refreshes, and returns. Both waits
    /// together are bounded by
    /// [`ProxyConfig::shutdown_timeout`](crate::ProxyConfig::shutdown_timeout).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let config = self.proxy.config().clone();
        let listener = self.listener;
        let shared = Arc::new(Shared {
            builders: Builders::new(&config),
            #[cfg(feature = "tls")]
            tls: self.tls,
            slots: Arc::new(Semaphore::new(config.max_connections())),
            proxy: self.proxy,
        });
        let (stop, stopping) = watch::channel(false);
        // Every connection task holds a sender: `recv` returns `None` once
        // they all finished.
        let (open, mut all_closed) = mpsc::channel::<()>(1);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // Out of file descriptors and the like: wait a
                            // little rather than spin.
                            tracing::warn!(target: "webcache::proxy", %error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let connection = Connection { shared: shared.clone(), stopping: stopping.clone(), _open: open.clone() };
                    tokio::spawn(connection.run(stream, peer));
                }
            }
        }
        drop(listener);
        let deadline = Instant::now() + config.shutdown_timeout();
        let busy = config.max_connections() - shared.slots.available_permits();
        tracing::info!(target: "webcache::proxy", connections = busy, "shutting down");
        let _ = stop.send(true);
        drop(open);
        if tokio::time::timeout_at(deadline, all_closed.recv())
            .await
            .is_err()
        {
            tracing::warn!(target: "webcache::proxy", "requests still in flight at the shutdown timeout");
        }
        if tokio::time::timeout_at(deadline, shared.proxy.cache().quiesce())
            .await
            .is_err()
        {
            tracing::warn!(target: "webcache::proxy", "cache background work still running at the shutdown timeout");
        }
        Ok(())
    }
}

/// The server settings, once per protocol: a connection whose protocol is
/// known before hyper reads from it (by ALPN, or by its first bytes) is
/// served by hyper's own HTTP/1.1 or HTTP/2 connection, with nothing
/// between hyper and the socket; only one whose first bytes are still
/// ambiguous goes to hyper-util's auto server, which reads on and decides.
struct Builders {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    auto: auto::Builder<TokioExecutor>,
}

impl Builders {
    fn new(config: &ProxyConfig) -> Self {
        // hyper answers 431 itself to a head that does not fit its buffer;
        // the proxy's own checks, with their 414 and 431, see everything
        // smaller.
        let head = config.max_request_line() + config.max_header_section();
        let buffer = (head + 1024).max(8192);
        let header_list = u32::try_from(head + 1024).unwrap_or(u32::MAX);
        // hyper's own header-read timeout arms and drops a timer for every
        // request; on a connection known to be HTTP/1 the connection's
        // watcher bounds the wait for a head instead (`serve`).
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .keep_alive(true)
            .auto_date_header(false)
            .max_buf_size(buffer);
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .auto_date_header(false)
            .max_header_list_size(header_list);
        let mut auto = auto::Builder::new(TokioExecutor::new());
        auto.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout())
            .keep_alive(true)
            .auto_date_header(false)
            .max_buf_size(buffer);
        auto.http2()
            .timer(TokioTimer::new())
            .auto_date_header(false)
            .max_header_list_size(header_list);
        Builders { http1, http2, auto }
    }
}

/// What a client connection speaks, as far as is known before hyper reads
/// from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
    /// Not known yet: the bytes so far begin the HTTP/2 preface.
    Either,
}

/// The first bytes of a cleartext HTTP/2 connection with prior knowledge
/// (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The protocol the first bytes a client sent (at most the preface's
/// length) announce. An HTTP/1 request line differs from the preface
/// within its first four bytes ("PRI " is no method a client sends).
fn protocol_of(first: &[u8]) -> Protocol {
    if !H2_PREFACE.starts_with(first) {
        Protocol::Http1
    } else if first.len() == H2_PREFACE.len() {
        Protocol::Http2
    } else {
        Protocol::Either
    }
}

/// Peeks at (does not consume) the first bytes of a cleartext connection;
/// `None` when the client closes, fails or sends nothing within `wait`.
async fn sniff(stream: &TcpStream, wait: Duration) -> Option<Protocol> {
    let mut first = [0u8; H2_PREFACE.len()];
    match tokio::time::timeout(wait, stream.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => Some(protocol_of(&first[..n])),
        _ => None,
    }
}

/// What every connection task shares.
struct Shared<S, M> {
    builders: Builders,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
    /// One permit per client connection served.
    slots: Arc<Semaphore>,
    proxy: Proxy<S, M>,
}

/// One client connection's task.
struct Connection<S, M> {
    shared: Arc<Shared<S, M>>,
    stopping: watch::Receiver<bool>,
    _open: mpsc::Sender<()>,
}

impl<S: Store, M: Policy> Connection<S, M> {
    async fn run(mut self, stream: TcpStream, peer: SocketAddr) {
        let config = self.shared.proxy.config();
        let slot = tokio::select! {
            slot = tokio::time::timeout(config.queue_timeout(), self.shared.slots.clone().acquire_owned()) => slot,
            _ = self.stopping.changed() => return,
        };
        let Ok(Ok(_slot)) = slot else {
            // A plaintext 503 would be garbage to a TLS client: it is only
            // closed.
            #[cfg(feature = "tls")]
            if self.shared.tls.is_some() {
                return;
            }
            return refuse(stream).await;
        };
        #[cfg(feature = "tls")]
        if let Some(tls) = self.shared.tls.clone() {
            let handshake = tls.acceptor().accept(stream);
            match tokio::time::timeout(config.header_read_timeout(), handshake).await {
                Ok(Ok(stream)) => {
                    let protocol = match stream.get_ref().1.alpn_protocol() {
                        Some(b"h2") => Protocol::Http2,
                        _ => Protocol::Http1,
                    };
                    return self.serve(stream, peer, true, protocol).await;
                }
                Ok(Err(error)) => {
                    tracing::debug!(target: "webcache::proxy", %peer, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => return,
            }
        }
        let sniffed = tokio::select! {
            sniffed = sniff(&stream, config.header_read_timeout()) => sniffed,
            _ = self.stopping.changed() => None,
        };
        if let Some(protocol) = sniffed {
            self.serve(stream, peer, false, protocol).await;
        }
    }

    async fn serve<T>(self, stream: T, peer: SocketAddr, https: bool, protocol: Protocol)
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let config = self.shared.proxy.config();
        let relay = config.relay_interim().then(|| Arc::new(Relay::default()));
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(ConnIo::new(stream, relay.clone()));
        let peer_info = Peer {
            ip: peer.ip(),
            https,
        };
        let service = ProxyService::new(
            self.shared.proxy.clone(),
            relay,
            Some(peer_info),
            Some(activity.clone()),
        );
        // The idle timeout, the wait for a request head on HTTP/1 and the
        // shutdown are watched by a task of their own, which raises
        // `close`: the connection's task then only reads a flag on each
        // wake-up, not a timer and a channel.
        let close = Arc::new(CloseSignal::default());
        let head = (protocol == Protocol::Http1).then(|| config.header_read_timeout());
        let watcher = tokio::spawn(watch_connection(
            activity,
            Quiet {
                idle: config.client_idle_timeout(),
                head,
            },
            self.stopping.clone(),
            close.clone(),
        ));
        let builders = &self.shared.builders;
        let result = match protocol {
            Protocol::Http1 => closable(builders.http1.serve_connection(io, service), close).await,
            Protocol::Http2 => closable(builders.http2.serve_connection(io, service), close).await,
            Protocol::Either => closable(builders.auto.serve_connection(io, service), close).await,
        };
        watcher.abort();
        if let Err(error) = result {
            tracing::debug!(target: "webcache::proxy", %peer, %error, "connection ended with an error");
        }
    }
}

/// How long a connection may go without a request in flight or started.
struct Quiet {
    /// The client idle timeout.
    idle: Duration,
    /// On HTTP/1, the header-read timeout: no request in flight means the
    /// connection waits for a head (hyper's timer is off, see `Builders`).
    head: Option<Duration>,
}

/// Raises `close` once the connection has been quiet for the shorter of
/// its bounds, or at the shutdown. An HTTP/1 connection that never
/// completed a request head is dropped instead (nothing is being written
/// on it, and a graceful close would leave it waiting for that head).
async fn watch_connection(
    activity: Arc<Activity>,
    quiet: Quiet,
    mut stopping: watch::Receiver<bool>,
    close: Arc<CloseSignal>,
) {
    let timeout = quiet.head.map_or(quiet.idle, |head| head.min(quiet.idle));
    if !*stopping.borrow_and_update() {
        tokio::select! {
            () = activity.idle(timeout) => {
                if quiet.head.is_some() && activity.never_started() {
                    return close.drop_now();
                }
            }
            _ = stopping.changed() => {}
        }
    }
    close.raise();
}

/// A request to close a connection, from outside its task: gracefully, or
/// by dropping it.
#[derive(Default)]
struct CloseSignal {
    /// [`OPEN`], [`CLOSE`] or [`DROP`].
    state: AtomicU8,
    waker: std::sync::Mutex<Option<std::task::Waker>>,
}

/// No close asked for.
const OPEN: u8 = 0;
/// Close gracefully: answer what is in flight, then close.
const CLOSE: u8 = 1;
/// Drop the connection now.
const DROP: u8 = 2;

impl CloseSignal {
    fn raise(&self) {
        self.signal(CLOSE);
    }

    fn drop_now(&self) {
        self.signal(DROP);
    }

    fn signal(&self, how: u8) {
        self.state.store(how, Ordering::Release);
        let waker = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The state.
    fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// The state, with `waker` registered to be woken when it changes
    /// while it is [`OPEN`].
    fn watch(&self, waker: &std::task::Waker) -> u8 {
        let state = self.state.load(Ordering::Acquire);
        if state != OPEN {
            return state;
        }
        let mut slot = self.waker.lock().unwrap_or_else(|e| e.into_inner());
        match &*slot {
            Some(current) if current.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        drop(slot);
        // Raised between the check and the registration.
        self.state.load(Ordering::Acquire)
    }
}

pin_project_lite::pin_project! {
    /// A connection that shuts down gracefully once its [`CloseSignal`]
    /// is raised, and ends at once (`None`) when it says drop.
    struct Closable<C> {
        #[pin]
        connection: C,
        close: Arc<CloseSignal>,
        closing: bool,
        // The waker last registered with `close`: while the task's waker
        // is still that one, a poll reads the state without the lock
        // (only `signal` empties the slot, and it changes the state
        // first, then wakes what it took).
        registered: Option<std::task::Waker>,
    }
}

impl<C: GracefulConnection> Future for Closable<C> {
    type Output = Option<C::Output>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<C::Output>> {
        let mut this = self.project();
        if !*this.closing {
            let state = match this.registered {
                Some(waker) if waker.will_wake(cx.waker()) => this.close.state(),
                _ => {
                    *this.registered = Some(cx.waker().clone());
                    this.close.watch(cx.waker())
                }
            };
            match state {
                OPEN => {}
                DROP => return std::task::Poll::Ready(None),
                _ => {
                    *this.closing = true;
                    this.connection.as_mut().start_closing();
                }
            }
        }
        this.connection.poll(cx).map(Some)
    }
}

/// Serves `connection` until it ends, closing it gracefully once `close`
/// is raised, or dropping it when `close` says so.
async fn closable<C, E>(connection: C, close: Arc<CloseSignal>) -> Result<(), BoxError>
where
    C: GracefulConnection<Output = Result<(), E>>,
    E: Into<BoxError>,
{
    let closable = Closable {
        connection,
        close,
        closing: false,
        registered: None,
    };
    closable.await.unwrap_or(Ok(())).map_err(Into::into)
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A connection of hyper's or hyper-util's, as [`Closable`] needs it.
trait GracefulConnection: Future {
    fn start_closing(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for http1::Connection<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
{
    fn start_closing(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E, B> GracefulConnection for http2::Connection<I, S, E>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: http_body::Body + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn start_closing(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E, B> GracefulConnection for auto::Connection<'_, I, S, E>
where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>,
    S::Future: 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    E: hyper_util::server::conn::auto::HttpServerConnExec<S::Future, B>,
{
    fn start_closing(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Answers a connection over the limit with 503 and closes it. The
/// request is read first (a little of it), so that closing does not reset
/// the connection before the client reads the answer.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = "503 Service Unavailable (too many connections)\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let mut buf = [0u8; 8192];
    let wait = Duration::from_secs(1);
    let _ = tokio::time::timeout(wait, stream.read(&mut buf)).await;
    if stream.write_all(response.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
        // Drain what the client still sends until it closes, briefly.
        let _ = tokio::time::timeout(wait, async {
            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// Whether a client connection has a request in flight, and whether any
/// started lately: two counters, so that the request path reads no clock.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    started: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity::default()
    }

    /// Whether no request has started on the connection yet.
    fn never_started(&self) -> bool {
        self.started.load(Ordering::Relaxed) == 0
    }

    /// Counts a request answered at once (never in flight).
    pub(crate) fn answered(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a request in flight until the guard is dropped.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Completes once the connection has had no request in flight, and
    /// none started, for `timeout` — measured in quarters, so between
    /// `timeout` and 1.25 × `timeout` after the last request ended.
    async fn idle(&self, timeout: Duration) {
        let step = timeout / 4;
        let mut quiet = 0;
        let mut seen = self.started.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(step).await;
            let now = self.started.load(Ordering::Relaxed);
            if now != seen || self.in_flight.load(Ordering::Relaxed) > 0 {
                seen = now;
                quiet = 0;
                continue;
            }
            quiet += 1;
            if quiet >= 4 {
                return;
            }
        }
    }
}

/// A request in flight on a connection.
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        // Counted as a start too: the quiet time runs from the end.
        self.0.started.fetch_add(1, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT), whichever comes first; on
/// platforms without SIGTERM, on Ctrl-C alone.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{H2_PREFACE, Protocol, protocol_of};

    #[test]
    fn rfc9113_3_4_the_whole_preface_is_http2() {
        assert_eq!(protocol_of(H2_PREFACE), Protocol::Http2);
    }

    #[test]
    fn a_part_of_the_preface_is_not_decided_yet() {
        assert_eq!(protocol_of(b""), Protocol::Either);
        assert_eq!(protocol_of(b"P"), Protocol::Either);
        assert_eq!(protocol_of(b"PRI * HTTP/2.0\r\n"), Protocol::Either);
    }

    #[test]
    fn any_method_is_http1_by_its_first_bytes() {
        for first in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST",
            b"PUT /",
            b"PURGE /x",
            b"PRX",
            b"\r\n",
        ] {
            assert_eq!(protocol_of(first), Protocol::Http1, "{first:?}");
        }
        // The preface's length, one byte off.
        assert_eq!(
            protocol_of(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r"),
            Protocol::Http1
        );
    }
}

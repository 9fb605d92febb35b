//! The one-call server: a cached filter (or any tower service) on a
//! TCP listener, over HTTP/1.1 with hyper.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_service::Service;
use warp::{Filter, Reply};
use webcache_core::handler::Policy;
use webcache_core::{Cache, Store};

use crate::service::{CachedFilter, service};

type BoxError = Box<dyn StdError + Send + Sync>;
type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serves `filter` behind `cache`: warp's `warp::serve(filter)`, with the
/// cache in front.
///
/// ```no_run
/// use std::time::Duration;
/// use warp::Filter;
///
/// # async fn run() -> std::io::Result<()> {
/// let route = warp::path("hello").map(|| "hi");
/// webcache_warp::serve(route, webcache_memory::easy_setup())
///     .run(([127, 0, 0, 1], 3030))
///     .await
/// # }
/// ```
pub fn serve<F, S, M>(filter: F, cache: Cache<S, M>) -> Server<CachedFilter<F, S, M>>
where
    F: Filter + Clone + Send + Sync + 'static,
    F::Extract: Reply,
    S: Store,
    M: Policy,
{
    Server::new(service(filter, cache))
}

/// An HTTP/1.1 server for a tower service: [`serve`] builds one for a
/// cached filter, [`Server::new`] for any stack of tower layers (such as
/// the cache's request and response sides apart).
///
/// It sets `TCP_NODELAY` on each connection and, like warp's, no header-read
/// timeout. It differs from warp's in two ways: it speaks HTTP/1.1 only
/// (for HTTP/2, serve [`service`] with hyper-util's `auto` builder), and
/// `warp::addr::remote()` extracts `None` (warp keeps the type that carries
/// the peer's address to itself): use [`remote_addr`] instead. For anything else (TLS, timeouts, Unix
/// sockets) serve [`service`] with hyper-util in a server of your own.
pub struct Server<Svc> {
    service: Svc,
    shutdown: Option<Signal>,
}

impl<Svc> fmt::Debug for Server<Svc> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("graceful", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

impl<Svc, ResB> Server<Svc>
where
    Svc: Service<Request<Incoming>, Response = Response<ResB>> + Clone + Send + 'static,
    Svc::Future: Send + 'static,
    Svc::Error: Into<BoxError>,
    ResB: Body + Send + 'static,
    ResB::Data: Send,
    ResB::Error: Into<BoxError>,
{
    /// A server for `service`.
    ///
    /// ```
    /// use warp::Filter;
    /// use webcache_warp::Server;
    ///
    /// let route = warp::path("hello").map(|| "hi");
    /// let server = Server::new(webcache_warp::service(route, webcache_memory::easy_setup()));
    /// # let _ = server;
    /// ```
    pub fn new(service: Svc) -> Self {
        Server {
            service,
            shutdown: None,
        }
    }

    /// Stops accepting connections once `signal` completes, then lets the
    /// requests in flight finish before [`run`](Self::run) returns.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use warp::Filter;
    ///
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// # drop(stop);
    /// let route = warp::path("hello").map(|| "hi");
    /// webcache_warp::serve(route, webcache_memory::easy_setup())
    ///     .graceful(async { let _ = stopped.await; }) // `stop.send(())` to stop
    ///     .run(([127, 0, 0, 1], 3030))
    ///     .await
    /// # }
    /// ```
    pub fn graceful(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Binds `addr` and serves until the graceful-shutdown signal, if any.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use warp::Filter;
    ///
    /// let route = warp::path("hello").map(|| "hi");
    /// webcache_warp::serve(route, webcache_memory::easy_setup()).run(([127, 0, 0, 1], 3030)).await
    /// # }
    /// ```
    pub async fn run(self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        let listener = TcpListener::bind(addr.into()).await?;
        self.run_on(listener).await;
        Ok(())
    }

    /// Serves the connections of `listener` until the graceful-shutdown
    /// signal, if any.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// use warp::Filter;
    ///
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let route = warp::path("hello").map(|| "hi");
    /// webcache_warp::serve(route, webcache_memory::easy_setup()).run_on(listener).await;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run_on(self, listener: TcpListener) {
        let graceful = GracefulShutdown::new();
        let mut signal = self
            .shutdown
            .unwrap_or_else(|| Box::pin(std::future::pending()));
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let _ = stream.set_nodelay(true);
                        let service = WithRemoteAddr {
                            inner: self.service.clone(),
                            addr: RemoteAddr(peer),
                        };
                        let connection = hyper::server::conn::http1::Builder::new()
                            .serve_connection(
                                TokioIo::new(stream),
                                TowerToHyperService::new(service),
                            );
                        let connection = graceful.watch(connection);
                        tokio::spawn(async move {
                            if let Err(e) = connection.await {
                                tracing::debug!(target: "webcache::warp", error = %e, "connection error");
                            }
                        });
                    }
                    Err(e) => accept_failed(e).await,
                },
                () = &mut signal => break,
            }
        }
        drop(listener);
        graceful.shutdown().await;
    }
}

/// Out of file descriptors and the like: wait a little instead of spinning.
async fn accept_failed(e: io::Error) {
    tracing::warn!(target: "webcache::warp", error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// The peer's address, which [`Server`] puts in every request's extensions;
/// read it with [`remote_addr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// Extracts the peer's address of a request served by [`Server`], in place
/// of `warp::addr::remote()` (which only warp's own server fills in).
/// `None` for the cache's own background requests and in other servers.
///
/// ```
/// use std::net::SocketAddr;
/// use warp::Filter;
///
/// let route = webcache_warp::remote_addr()
///     .map(|peer: Option<SocketAddr>| format!("{peer:?}"));
/// # drop(route);
/// ```
pub fn remote_addr() -> impl Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Copy {
    warp::ext::optional::<RemoteAddr>().map(|addr: Option<RemoteAddr>| addr.map(|a| a.0))
}

/// Puts the connection's [`RemoteAddr`] in each request.
#[derive(Clone)]
struct WithRemoteAddr<Svc> {
    inner: Svc,
    addr: RemoteAddr,
}

impl<Svc, B> Service<Request<B>> for WithRemoteAddr<Svc>
where
    Svc: Service<Request<B>>,
{
    type Response = Svc::Response;
    type Error = Svc::Error;
    type Future = Svc::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.addr);
        self.inner.call(request)
    }
}

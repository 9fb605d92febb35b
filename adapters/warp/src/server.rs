//! The one-call server: a cached filter (or any tower service) on a
//! TCP listener, over HTTP/1.1 with hyper.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
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
/// It differs from warp's own server in two ways: it speaks HTTP/1.1 only
/// (for HTTP/2, serve [`service`] with hyper-util's `auto` builder), and
/// `warp::addr::remote()` extracts `None` (warp keeps the type that carries
/// the peer's address to itself).
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
    pub fn new(service: Svc) -> Self {
        Server {
            service,
            shutdown: None,
        }
    }

    /// Stops accepting connections once `signal` completes, then lets the
    /// requests in flight finish before [`run`](Self::run) returns.
    pub fn graceful(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// Binds `addr` and serves until the graceful-shutdown signal, if any.
    pub async fn run(self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        let listener = TcpListener::bind(addr.into()).await?;
        self.run_on(listener).await;
        Ok(())
    }

    /// Serves the connections of `listener` until the graceful-shutdown
    /// signal, if any.
    pub async fn run_on(self, listener: TcpListener) {
        let graceful = GracefulShutdown::new();
        let mut signal = self
            .shutdown
            .unwrap_or_else(|| Box::pin(std::future::pending()));
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        let _ = stream.set_nodelay(true);
                        let connection = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .serve_connection(
                                TokioIo::new(stream),
                                TowerToHyperService::new(self.service.clone()),
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

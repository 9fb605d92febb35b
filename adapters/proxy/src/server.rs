//! [`Server`]: accepts HTTP/1.1 connections and serves them through a
//! [`Proxy`], with a graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::time::Instant;
use webcache_core::Store;
use webcache_core::handler::{Mixins, Policy};

use crate::error::Error;
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
        Ok(Server { listener, proxy })
    }

    /// Serves on a listener bound elsewhere.
    pub fn from_listener(listener: TcpListener, proxy: Proxy<S, M>) -> Self {
        Server { listener, proxy }
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
        let Server { listener, proxy } = self;
        let config = proxy.config().clone();
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout())
            .keep_alive(true)
            .auto_date_header(false);
        let graceful = GracefulShutdown::new();
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
                    let relay = config.relay_interim().then(|| Arc::new(Relay::default()));
                    let io = TokioIo::new(ConnIo::new(stream, relay.clone()));
                    let service = ProxyService::new(proxy.clone(), relay);
                    let connection = graceful.watch(builder.serve_connection(io, service));
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(target: "webcache::proxy", %peer, %error, "connection ended with an error");
                        }
                    });
                }
            }
        }
        drop(listener);
        let deadline = Instant::now() + config.shutdown_timeout();
        tracing::info!(target: "webcache::proxy", connections = graceful.count(), "shutting down");
        if tokio::time::timeout_at(deadline, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(target: "webcache::proxy", "requests still in flight at the shutdown timeout");
        }
        if tokio::time::timeout_at(deadline, proxy.cache().quiesce())
            .await
            .is_err()
        {
            tracing::warn!(target: "webcache::proxy", "cache background work still running at the shutdown timeout");
        }
        Ok(())
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

//! [`AdminServer`]: the operator's listener, apart from the proxied
//! traffic — `/metrics` (Prometheus text), `/healthz` and `/readyz`, and
//! with a purge token `/purge/url`, `/purge/tag`, `/purge/flush` (see
//! [`crate::purge`]).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use webcache_core::Store;
use webcache_core::handler::{Mixins, Policy};

use crate::error::Error;
use crate::proxy::Proxy;

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Something run just before each scrape of `/metrics`, to set gauges from
/// state read at that moment (the store's size, say).
pub type BeforeScrape = Arc<dyn Fn() + Send + Sync>;

/// Serves the admin endpoints of a [`Proxy`] on a listener of its own:
///
/// - `GET /metrics`: the metrics of the installed Prometheus recorder in
///   the text exposition format (404 when none was given), with the gauge
///   `webcache_runtime_alive_tasks` (tokio tasks alive) set as it is read;
/// - `GET /healthz`: 200 while the process serves at all;
/// - `GET /readyz`: 200 when [`Proxy::ready`] says so, otherwise 503 with
///   the reason in plain text.
///
/// ```no_run
/// # async fn run(proxy: webcache_proxy::Proxy<webcache_memory::MemoryStore>) -> Result<(), webcache_proxy::Error> {
/// // Install the recorder before the cache is built: the cache registers
/// // its metrics when it is built.
/// let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
///     .install_recorder()
///     .expect("no other recorder");
/// let admin = webcache_proxy::AdminServer::bind("127.0.0.1:9090".parse().unwrap(), proxy)
///     .await?
///     .metrics(handle);
/// admin.serve(webcache_proxy::shutdown_signal()).await
/// # }
/// ```
pub struct AdminServer<S, M = Mixins> {
    listener: TcpListener,
    state: State<S, M>,
}

struct State<S, M> {
    proxy: Proxy<S, M>,
    metrics: Option<PrometheusHandle>,
    before_scrape: Option<BeforeScrape>,
}

impl<S, M> std::fmt::Debug for AdminServer<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminServer")
            .field("listener", &self.listener)
            .field("metrics", &self.state.metrics.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Store, M: Policy> AdminServer<S, M> {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr, proxy: Proxy<S, M>) -> Result<Self, Error> {
        let listener = TcpListener::bind(addr).await.map_err(Error::Listen)?;
        Ok(AdminServer {
            listener,
            state: State {
                proxy,
                metrics: None,
                before_scrape: None,
            },
        })
    }

    /// Serves `handle`'s rendering at `/metrics`.
    pub fn metrics(mut self, handle: PrometheusHandle) -> Self {
        self.state.metrics = Some(handle);
        self
    }

    /// Runs `hook` before each rendering of `/metrics`.
    pub fn before_scrape(mut self, hook: BeforeScrape) -> Self {
        self.state.before_scrape = Some(hook);
        self
    }

    /// The address the admin server listens on.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Listen)
    }

    /// Serves until `shutdown` completes, then closes its connections.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), Error> {
        let AdminServer { listener, state } = self;
        let state = Arc::new(state);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10));
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let state = state.clone();
                    let service = hyper::service::service_fn(move |request| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(state.answer(request).await) }
                    });
                    let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                }
            }
        }
        drop(listener);
        let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
        Ok(())
    }
}

impl<S: Store, M: Policy> State<S, M> {
    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if request.uri().path().starts_with("/purge/") {
            let cache = self.proxy.cache();
            let token = self.proxy.config().purge_token.as_ref();
            return crate::purge::admin_purge(cache, token, request)
                .await
                .map(Full::new);
        }
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n".into());
        }
        match request.uri().path() {
            "/healthz" => text(StatusCode::OK, "ok\n".into()),
            "/readyz" => match self.proxy.ready().await {
                Ok(()) => text(StatusCode::OK, "ready\n".into()),
                Err(why) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: {why}\n"),
                ),
            },
            "/metrics" => self.scrape(),
            _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
        }
    }

    fn scrape(&self) -> Response<Full<Bytes>> {
        let Some(handle) = &self.metrics else {
            return text(StatusCode::NOT_FOUND, "no metrics recorder\n".into());
        };
        if let Some(hook) = &self.before_scrape {
            hook();
        }
        record_runtime();
        handle.run_upkeep();
        let mut response = text(StatusCode::OK, handle.render());
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT));
        response
    }
}

/// The gauge `webcache_runtime_alive_tasks`: the tokio tasks alive in the
/// runtime serving the scrape (the proxy's own, in the binary), read at
/// each scrape, so that a leak of tasks shows as a rising curve.
const ALIVE_TASKS: &str = "webcache_runtime_alive_tasks";

fn record_runtime() {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        metrics::gauge!(ALIVE_TASKS).set(runtime.metrics().num_alive_tasks() as f64);
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

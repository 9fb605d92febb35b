//! The upstream side: an HTTP/1.1 client with a connection pool, as the
//! cache's [`Upstream`].

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use webcache_core::Upstream;

use crate::body::{RequestBody, UpstreamBody};
use crate::config::ProxyConfig;
use crate::error::UpstreamError;
use crate::forward::{prepare_request, prepare_response};
use crate::forwarded::{self, Peer};
use crate::health::UpstreamHealth;
use crate::interim::Relay;

/// The connection pool and settings shared by every request.
/// The connector: TCP, and TLS for an `https://` upstream with the `tls`
/// feature.
#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

pub(crate) struct UpstreamClient {
    client: Client<Connector, RequestBody>,
    config: ProxyConfig,
    pub(crate) health: UpstreamHealth,
    latency: Latency,
    /// One permit per request in flight, up to `max_upstream_requests`.
    slots: Arc<Semaphore>,
}

/// `webcache_upstream_duration_seconds` by `outcome` (`ok`, `error`): the
/// time from handing a request to the pool to its response head (or the
/// failure). Registered when the client is built, so the recorder must be
/// installed first (as the core's handles are); a no-op without the
/// `admin` feature or without a recorder.
struct Latency {
    #[cfg(feature = "admin")]
    ok: metrics::Histogram,
    #[cfg(feature = "admin")]
    error: metrics::Histogram,
}

/// The histogram's name, in the README's metrics list and the dashboard.
#[cfg(feature = "admin")]
const UPSTREAM_SECONDS: &str = "webcache_upstream_duration_seconds";

impl Latency {
    fn new() -> Self {
        Latency {
            #[cfg(feature = "admin")]
            ok: metrics::histogram!(UPSTREAM_SECONDS, "outcome" => "ok"),
            #[cfg(feature = "admin")]
            error: metrics::histogram!(UPSTREAM_SECONDS, "outcome" => "error"),
        }
    }

    #[cfg_attr(not(feature = "admin"), allow(unused_variables))]
    fn record(&self, started: Instant, ok: bool) {
        #[cfg(feature = "admin")]
        {
            let histogram = if ok { &self.ok } else { &self.error };
            histogram.record(started.elapsed().as_secs_f64());
        }
    }
}

impl UpstreamClient {
    pub(crate) fn new(config: ProxyConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(config.connect_timeout()));
        connector.enforce_http(!cfg!(feature = "tls"));
        let connector = wrap_connector(connector, &config);
        // A request is sent again only when hyper gives it back unsent
        // (a pooled connection found closed before any byte of it was
        // written): the upstream never sees a request twice.
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout())
            .pool_max_idle_per_host(config.pool_max_idle())
            .set_host(true)
            .build(connector);
        UpstreamClient {
            client,
            health: UpstreamHealth::default(),
            latency: Latency::new(),
            slots: Arc::new(Semaphore::new(config.max_upstream_requests())),
            config,
        }
    }
}

#[cfg(feature = "tls")]
fn wrap_connector(http: HttpConnector, config: &ProxyConfig) -> Connector {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*config.upstream_tls).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

#[cfg(not(feature = "tls"))]
fn wrap_connector(http: HttpConnector, _config: &ProxyConfig) -> Connector {
    http
}

/// Where a request's interim responses go.
#[derive(Clone)]
pub(crate) struct InterimTarget {
    pub(crate) relay: Arc<Relay>,
    pub(crate) request: u64,
}

/// The upstream of one client request, as the cache's [`Upstream`]: it
/// rewrites the request for forwarding (target, Host, hop-by-hop fields,
/// `Via`), sends it over the pool, bounds the wait for the response head,
/// and prepares the response head for the way back. Clones (for the
/// cache's background refreshes) relay no interim responses once the
/// client has its final response.
#[derive(Clone)]
pub struct HttpUpstream {
    pub(crate) client: Arc<UpstreamClient>,
    pub(crate) interim: Option<InterimTarget>,
    /// The client connection, for the forwarding fields.
    pub(crate) peer: Option<Peer>,
}

impl std::fmt::Debug for HttpUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpUpstream")
            .field("upstream", &self.client.config.upstream().authority())
            .finish_non_exhaustive()
    }
}

impl Upstream<RequestBody> for HttpUpstream {
    type Body = UpstreamBody;
    type Error = UpstreamError;

    async fn call(
        &mut self,
        request: Request<RequestBody>,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let queue = self.client.config.queue_timeout();
        let slots = self.client.slots.clone();
        let permit = match tokio::time::timeout(queue, slots.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            // Not the upstream's failure: its health is unchanged.
            _ => return Err(UpstreamError::Overloaded(queue)),
        };
        let started = Instant::now();
        let result = self.exchange(request, permit).await;
        self.client.latency.record(started, result.is_ok());
        match &result {
            Ok(_) => self.client.health.answered(),
            Err(error) => self.client.health.failed(error),
        }
        result
    }
}

impl HttpUpstream {
    async fn exchange(
        &mut self,
        request: Request<RequestBody>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let config = &self.client.config;
        let (mut parts, mut body) = request.into_parts();
        let uri = config
            .upstream()
            .join(parts.uri.path_and_query())
            .map_err(|e| UpstreamError::Exchange(e.into()))?;
        let target_authority = parts.uri.authority().map(|a| a.as_str().to_owned());
        if let Some(peer) = self.peer {
            // The host the client asked for: an absolute-form or HTTP/2
            // target's authority, else its Host.
            let host = target_authority
                .as_deref()
                .and_then(|a| http::HeaderValue::from_str(a).ok())
                .or_else(|| parts.headers.get(http::header::HOST).cloned());
            forwarded::apply(
                &mut parts.headers,
                peer,
                config.forwarded(),
                config.trusted_proxies(),
                host.as_ref(),
            );
        }
        prepare_request(
            &mut parts.headers,
            parts.version,
            target_authority.as_deref(),
            config.host_header(),
            config.upstream().host_value(),
            config.via_name(),
        );
        parts.uri = uri;
        parts.version = Version::HTTP_11;
        let sent = Arc::new(Notify::new());
        let uploading = body.notify_when_sent(sent.clone());
        let mut request = Request::from_parts(parts, body);
        if let Some(target) = &self.interim {
            let target = target.clone();
            hyper::ext::on_informational(&mut request, move |interim| {
                target
                    .relay
                    .push(target.request, interim.status(), interim.headers());
            });
        }

        let response = self.client.client.request(request);
        tokio::pin!(response);
        // The response timeout runs from the end of the request: a slow
        // upload is not the upstream's delay.
        if uploading {
            tokio::select! {
                result = &mut response => return self.finish(result, permit),
                () = sent.notified() => {}
            }
        }
        match tokio::time::timeout(config.response_timeout(), response).await {
            Ok(result) => self.finish(result, permit),
            Err(_) => Err(UpstreamError::Timeout(config.response_timeout())),
        }
    }

    fn finish(
        &self,
        result: Result<Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>,
        permit: OwnedSemaphorePermit,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let config = &self.client.config;
        match result {
            Ok(response) => {
                let (mut parts, body) = response.into_parts();
                prepare_response(&mut parts.headers, parts.version, config.via_name());
                Ok(Response::from_parts(
                    parts,
                    UpstreamBody::new(body, config.body_idle_timeout(), permit),
                ))
            }
            Err(e) if e.is_connect() => Err(UpstreamError::Connect(e.into())),
            Err(e) => Err(UpstreamError::Exchange(e.into())),
        }
    }
}

//! [`Proxy`]: the cache in front of the upstream, for one request at a time.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, HeaderValue, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode, Version};
use http_body::Body as _;
use hyper::body::Incoming;
use webcache_core::handler::{Mixins, Policy};
use webcache_core::headers::fmt_http_date;
use webcache_core::status::CacheStatus;
use webcache_core::{Cache, NotNow, Store, StoreKey};

use crate::body::{RequestBody, ResponseBody};
use crate::config::ProxyConfig;
use crate::error::{NotReady, UpstreamError};
use crate::forward::{MaxForwards, max_forwards, strip_hop_by_hop};
use crate::forwarded::Peer;
use crate::interim::Relay;
use crate::service::ProxyService;
use crate::upstream::{HttpUpstream, InterimTarget, UpstreamClient};
use crate::validate::{self, Rejection};

/// A request [`Proxy::handle_now`] could not answer, and its access-log
/// entry when the log is on.
pub(crate) struct Later {
    step: Step,
    log: Option<Access>,
}

/// Where a request waits.
pub(crate) enum Step {
    /// Its body is read ahead, or it is a PURGE.
    Edge(Box<(http::request::Parts, RequestBody)>),
    /// The cache could not answer it at once.
    Cache(webcache_core::Later<RequestBody>),
}

/// An access-log entry being timed.
pub(crate) struct Access {
    start: std::time::Instant,
    method: Method,
    path: String,
}

impl Access {
    fn of<B>(request: &Request<B>) -> Access {
        Access {
            start: std::time::Instant::now(),
            method: request.method().clone(),
            path: request.uri().path().to_owned(),
        }
    }

    /// Writes the entry, if any, for `response`.
    fn write(log: Option<Access>, response: &Response<ResponseBody>) {
        if let Some(log) = log {
            crate::access::log(&log.method, &log.path, response, log.start.elapsed());
        }
    }
}

/// A caching reverse proxy: a [`Cache`] in front of one upstream. Cheap to
/// clone; clones share the cache and the upstream connection pool.
///
/// Every request goes through [`Cache::serve`], so the whole of RFC 9111
/// applies as webcache-core implements it — storage, freshness, validation
/// with the upstream, coalescing, `stale-while-revalidate`,
/// `stale-if-error`, invalidation by unsafe methods, Range requests served
/// from stored responses, `Age` and `Cache-Status`. The proxy adds what a
/// forwarding intermediary must do (RFC 9110 §7.6: hop-by-hop fields, `Via`,
/// `Max-Forwards`, Host) and answers 502 or 504 itself when the upstream
/// fails and nothing stored may be served instead. It never retries a
/// request.
pub struct Proxy<S, M = Mixins> {
    inner: Arc<Inner<S, M>>,
}

struct Inner<S, M> {
    cache: Cache<S, M>,
    upstream: Arc<UpstreamClient>,
    config: ProxyConfig,
}

impl<S, M> Clone for Proxy<S, M> {
    fn clone(&self) -> Self {
        Proxy {
            inner: self.inner.clone(),
        }
    }
}

impl<S, M> std::fmt::Debug for Proxy<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("config", &self.inner.config)
            .field("cache", &self.inner.cache)
            .finish()
    }
}

impl<S: Store, M: Policy> Proxy<S, M> {
    /// A proxy that serves through `cache` and forwards to the upstream of
    /// `config`. Build the cache's configuration with
    /// [`Config::gateway_builder`](webcache_core::Config::gateway_builder):
    /// a gateway invents no validators and leaves the client's
    /// preconditions to the origin on a miss.
    pub fn new(cache: Cache<S, M>, config: ProxyConfig) -> Self {
        Proxy {
            inner: Arc::new(Inner {
                cache,
                upstream: Arc::new(UpstreamClient::new(config.clone())),
                config,
            }),
        }
    }

    /// The cache (for its [`stats`](Cache::stats), or to
    /// [`invalidate`](Cache::invalidate) a URI).
    pub fn cache(&self) -> &Cache<S, M> {
        &self.inner.cache
    }

    /// The proxy's settings.
    pub fn config(&self) -> &ProxyConfig {
        &self.inner.config
    }

    /// Whether the proxy can serve: the store answers a read of one key
    /// within the cache's store timeout, and the upstream answered its last
    /// request (or was never asked) — or, when that request failed, accepts
    /// a TCP connection now, within the connect timeout. This is what the
    /// admin listener's `/readyz` reports.
    pub async fn ready(&self) -> Result<(), NotReady> {
        let limit = self.inner.cache.config().store_timeout();
        let probe = [StoreKey::metadata([0; webcache_core::key::DIGEST_LEN])];
        match tokio::time::timeout(limit, self.inner.cache.store().get_many(&probe)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => return Err(NotReady::Store(error)),
            Err(_) => return Err(NotReady::StoreTimeout(limit)),
        }
        if self.inner.upstream.health.last_failed() {
            self.probe_upstream().await?;
        }
        Ok(())
    }

    /// Connects to the upstream and closes the connection at once.
    async fn probe_upstream(&self) -> Result<(), NotReady> {
        let config = &self.inner.config;
        let target = config.upstream().connect_target();
        let connect = tokio::net::TcpStream::connect(target);
        match tokio::time::timeout(config.connect_timeout(), connect).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(NotReady::Upstream(
                "the last request failed and it refuses connections",
            )),
            Err(_) => Err(NotReady::Upstream(
                "the last request failed and it accepts no connection",
            )),
        }
    }

    /// A hyper service answering through this proxy, for serving it on a
    /// connection of your own. It relays no interim responses; the
    /// [`Server`](crate::Server) does.
    pub fn service(&self) -> ProxyService<S, M> {
        ProxyService::new(self.clone(), None, None, None)
    }

    /// Answers one request: from the cache, or from the upstream through
    /// the cache, or with a 502/504 generated here. Never fails.
    ///
    /// No forwarding fields (`X-Forwarded-For`, `Forwarded`) are added:
    /// the client's address is not known here; the
    /// [`Server`](crate::Server) adds them.
    pub async fn handle(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        self.handle_relayed(request, None, None).await
    }

    pub(crate) async fn handle_relayed(
        &self,
        request: Request<Incoming>,
        relay: Option<&Arc<Relay>>,
        peer: Option<Peer>,
    ) -> Response<ResponseBody> {
        match self.handle_now(request) {
            Ok(response) => response,
            Err(later) => self.handle_later(later, relay, peer).await,
        }
    }

    /// [`handle`](Self::handle)'s answer when it needs no waiting: a
    /// request refused at the edge, one the proxy answers itself, or a hit
    /// the cache answers without a future ([`Cache::answer_now`]).
    /// Otherwise [`Later`], for [`handle_later`](Self::handle_later).
    pub(crate) fn handle_now(
        &self,
        request: Request<Incoming>,
    ) -> Result<Response<ResponseBody>, Later> {
        let log = self.inner.config.access_log().then(|| Access::of(&request));
        let (mut parts, body) = request.into_parts();
        let limits = self.inner.config.limits.head;
        let verdict = validate::check(
            &parts.method,
            &parts.uri,
            parts.version,
            &parts.headers,
            limits,
        );
        // Each answer returns from where it is made: the response is
        // moved once less than through a Result matched again.
        if let Err(rejection) = verdict {
            let response = self.rejected(rejection);
            Access::write(log, &response);
            return Ok(response);
        }
        let token = self.inner.config.purge_token.as_ref();
        let step = if body.is_end_stream() && !crate::purge::is_purge(token, &parts) {
            match self.through_cache_now(&mut parts) {
                Ok(response) => {
                    Access::write(log, &response);
                    return Ok(response);
                }
                Err(not_now) => Step::Cache(not_now.later(parts, RequestBody::new(body))),
            }
        } else {
            Step::Edge(Box::new((parts, RequestBody::new(body))))
        };
        Err(Later { step, log })
    }

    /// Answers what [`handle_now`](Self::handle_now) could not.
    pub(crate) async fn handle_later(
        &self,
        later: Later,
        relay: Option<&Arc<Relay>>,
        peer: Option<Peer>,
    ) -> Response<ResponseBody> {
        let response = match later.step {
            Step::Edge(edge) => {
                let (parts, body) = *edge;
                self.answer_body(parts, body, relay, peer).await
            }
            Step::Cache(pending) => self.serve_later(pending, relay, peer).await,
        };
        Access::write(later.log, &response);
        response
    }

    /// Answers a request with a body to read ahead, or a PURGE.
    async fn answer_body(
        &self,
        mut parts: http::request::Parts,
        mut body: RequestBody,
        relay: Option<&Arc<Relay>>,
        peer: Option<Peer>,
    ) -> Response<ResponseBody> {
        if body.read_first().await.is_err() {
            return self.rejected(Rejection {
                status: StatusCode::BAD_REQUEST,
                reason: "malformed request body",
            });
        }
        let token = self.inner.config.purge_token.as_ref();
        if let Some(purged) = crate::purge::purge_method(&self.inner.cache, token, &parts).await {
            return purged.map(ResponseBody::generated);
        }
        match self.through_cache_now(&mut parts) {
            Ok(response) => response,
            Err(not_now) => {
                let pending = not_now.later(parts, body);
                self.serve_later(pending, relay, peer).await
            }
        }
    }

    /// The rest of the way through the cache, when it needs no waiting:
    /// CONNECT and Max-Forwards answered here, the hop-by-hop fields
    /// removed from `parts`, then [`Cache::answer_now`]. On `Err`, `parts`
    /// is the request to take on with [`NotNow::later`].
    #[inline]
    fn through_cache_now(
        &self,
        parts: &mut http::request::Parts,
    ) -> Result<Response<ResponseBody>, NotNow> {
        if parts.method == Method::CONNECT {
            return Ok(self.generated(StatusCode::NOT_IMPLEMENTED, None));
        }
        if max_forwards(&parts.method, &mut parts.headers) == MaxForwards::Answer {
            // RFC 9110 §7.6.2: answer as the final recipient.
            let status = if parts.method == Method::OPTIONS {
                StatusCode::OK
            } else {
                StatusCode::NOT_IMPLEMENTED
            };
            return Ok(self.generated(status, None));
        }
        // The fields meant for the client connection are not part of the
        // request the cache reasons about, nor of the one it forwards.
        strip_hop_by_hop(&mut parts.headers);
        // A background refresh relays no interim response: its client has
        // its answer already.
        let refresh = || HttpUpstream {
            client: self.inner.upstream.clone(),
            interim: None,
            peer: None,
        };
        let response = self.inner.cache.answer_now(parts, refresh)?;
        Ok(response.map(ResponseBody::whole))
    }

    /// Serves through the cache what it could not answer at once,
    /// relaying interim responses when asked to.
    async fn serve_later(
        &self,
        pending: webcache_core::Later<RequestBody>,
        relay: Option<&Arc<Relay>>,
        peer: Option<Peer>,
    ) -> Response<ResponseBody> {
        let version = pending.request().version;
        let interim = relay
            .filter(|_| self.inner.config.relay_interim() && version == Version::HTTP_11)
            .map(|relay| InterimTarget {
                relay: relay.clone(),
                request: relay.begin(),
            });
        let upstream = HttpUpstream {
            client: self.inner.upstream.clone(),
            interim: interim.clone(),
            peer,
        };
        let result = self.inner.cache.serve_later(pending, upstream).await;
        if let Some(target) = &interim {
            target.relay.end(target.request);
        }
        match result {
            Ok(response) => response.map(ResponseBody::cache),
            // Logged (at most once a second) by the upstream.
            Err(error) => self.generated(error.status(), Some(&error)),
        }
    }

    /// The answer to a request refused at the edge: the connection is
    /// closed after it, since what follows on it cannot be trusted.
    fn rejected(&self, rejection: Rejection) -> Response<ResponseBody> {
        tracing::debug!(target: "webcache::proxy", status = rejection.status.as_u16(), reason = rejection.reason, "request refused");
        let mut response = self.generated(rejection.status, None);
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    }

    /// A response generated by the proxy: a short text body, `Date`, and
    /// no field of any stored response.
    fn generated(
        &self,
        status: StatusCode,
        error: Option<&UpstreamError>,
    ) -> Response<ResponseBody> {
        let body = if status == StatusCode::OK {
            Bytes::new()
        } else {
            let reason = status.canonical_reason().unwrap_or("");
            let detail = error.map_or(String::new(), |e| format!(" ({})", e.kind()));
            Bytes::from(format!("{} {reason}{detail}\n", status.as_u16()))
        };
        let mut response = Response::new(());
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(DATE, fmt_http_date(self.inner.cache.now()));
        if !body.is_empty() {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let (Some(name), Some(error)) = (self.inner.cache.config().cache_status(), error) {
            CacheStatus::empty(name)
                .detail(error.kind())
                .append_to(headers);
        }
        response.map(|()| ResponseBody::generated(body))
    }
}

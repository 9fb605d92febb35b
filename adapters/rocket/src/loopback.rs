//! Requests from the cache to its own server.
//!
//! Rocket gives a route handler the client's request, immutable, with one
//! `Data` that a handler consumes. So when the cache must show the route a
//! request other than the client's (its own validators, the client's
//! preconditions removed), ask it a second time (the one retry after an
//! unusable 304), or ask it after the client's request is done (background
//! refreshes), it sends that request to its own server over loopback. The
//! request carries a token that makes the cached route hand it to the route
//! as it is, without a lookup.

use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{DATE, HeaderName, HeaderValue};
use http::{Request, Response, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use webcache_core::Upstream;

use crate::body::AppBody;
use crate::error::Error;

/// The request field that marks a loopback request.
pub(crate) const TOKEN_FIELD: HeaderName = HeaderName::from_static("webcache-loopback");
/// The response field that says the route's response had no `Date` (the
/// server adds one on the way out, which the cache must not take for the
/// route's).
pub(crate) const NO_DATE_NAME: &str = "webcache-loopback-no-date";
const NO_DATE_FIELD: HeaderName = HeaderName::from_static(NO_DATE_NAME);

/// How long a loopback exchange may take before its response head.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The server's own address, learnt at liftoff, and the token.
pub(crate) struct Loopback {
    addr: OnceLock<SocketAddr>,
    token: HeaderValue,
    client: Client<HttpConnector, Empty<Bytes>>,
}

impl Loopback {
    pub(crate) fn new() -> Self {
        let secret = RandomState::new().hash_one(std::process::id())
            ^ RandomState::new().hash_one(std::time::SystemTime::now());
        let token = HeaderValue::from_str(&format!("{secret:016x}"))
            .expect("a hexadecimal number is a valid field value");
        Loopback {
            addr: OnceLock::new(),
            token,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Records where the server listens (an unspecified address is reached
    /// on its loopback address).
    pub(crate) fn set_addr(&self, ip: IpAddr, port: u16) {
        let ip = match ip {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let _ = self.addr.set(SocketAddr::new(ip, port));
    }

    /// Whether the server's address is known.
    pub(crate) fn ready(&self) -> bool {
        self.addr.get().is_some()
    }

    /// Tells this cache's requests from another's.
    pub(crate) fn id(&self) -> usize {
        self as *const Loopback as usize
    }

    /// Whether `value` is this cache's token, compared in constant time
    /// (a client must not learn the token byte by byte from timings).
    pub(crate) fn is_token(&self, value: &str) -> bool {
        let (a, b) = (value.as_bytes(), self.token.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

/// The cache's upstream for loopback requests.
#[derive(Clone)]
pub(crate) struct LoopbackUpstream(pub(crate) Arc<Loopback>);

impl Upstream<Empty<Bytes>> for LoopbackUpstream {
    type Body = AppBody;
    type Error = Error;

    async fn call(&mut self, request: Request<Empty<Bytes>>) -> Result<Response<AppBody>, Error> {
        let loopback = &*self.0;
        let addr = loopback.addr.get().ok_or(Error::NoAddress)?;
        let (mut parts, body) = request.into_parts();
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        parts.uri = format!("http://{addr}{target}")
            .parse::<Uri>()
            .map_err(|_| Error::Target)?;
        parts.headers.insert(TOKEN_FIELD, loopback.token.clone());
        let exchange = loopback.client.request(Request::from_parts(parts, body));
        let response = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| Error::Timeout)?
            .map_err(Error::Loopback)?;
        let (mut parts, body) = response.into_parts();
        if parts.headers.remove(NO_DATE_FIELD).is_some() {
            parts.headers.remove(DATE);
        }
        Ok(Response::from_parts(parts, AppBody::Remote(body)))
    }
}

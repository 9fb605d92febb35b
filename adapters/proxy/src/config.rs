//! The proxy's own settings (the cache's are a [`webcache_core::Config`]),
//! with documented defaults.
//!
//! ```
//! use std::time::Duration;
//! use webcache_proxy::{HostHeader, ProxyConfig};
//!
//! let config = ProxyConfig::builder("http://127.0.0.1:3000/app")
//!     .host_header(HostHeader::Upstream)
//!     .response_timeout(Duration::from_secs(10))
//!     .build()
//!     .unwrap();
//! assert_eq!(config.upstream().authority(), "127.0.0.1:3000");
//! assert_eq!(config.upstream().base_path(), "/app");
//! ```

use std::time::Duration;

use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Uri};

use crate::error::Error;
pub use crate::forwarded::{ForwardedHeaders, IpNet};
use crate::validate::HeadLimits;

/// The origin server the proxy forwards to: `http://host[:port][/base]`
/// (or `https://`, with the `tls` feature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamUrl {
    https: bool,
    authority: Authority,
    base_path: String,
    host_value: HeaderValue,
}

impl UpstreamUrl {
    /// Parses `http://host[:port][/base-path]`, or `https://...` with the
    /// `tls` feature (HTTP/1.1 over TLS, the server's name checked against
    /// the system's roots or the CA file of
    /// [`upstream_ca_file`](ProxyConfigBuilder::upstream_ca_file)); a
    /// query, fragment or user information is refused.
    pub fn parse(url: &str) -> Result<UpstreamUrl, Error> {
        let fail = |reason| Error::Upstream {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| fail("not a URL"))?;
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTP => false,
            #[cfg(feature = "tls")]
            Some(s) if *s == Scheme::HTTPS => true,
            #[cfg(not(feature = "tls"))]
            Some(s) if *s == Scheme::HTTPS => {
                return Err(fail(
                    "https upstreams need the `tls` feature, which this build lacks",
                ));
            }
            _ => return Err(fail("the scheme must be http or https")),
        };
        let authority = uri.authority().ok_or_else(|| fail("no host"))?.clone();
        if authority.as_str().contains('@') {
            return Err(fail("user information is not supported"));
        }
        if authority.host().is_empty() {
            return Err(fail("no host"));
        }
        if uri.query().is_some() {
            return Err(fail("a query is not supported"));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        let host_value = HeaderValue::from_str(authority.as_str())
            .map_err(|_| fail("the host is not a valid Host value"))?;
        Ok(UpstreamUrl {
            https,
            authority,
            base_path,
            host_value,
        })
    }

    /// Whether the upstream is spoken to over TLS.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// `host[:port]`.
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    /// The path prefix prepended to every forwarded request target, without
    /// a trailing slash; empty when the URL has no path.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The host (without IPv6 brackets) and port to connect to.
    pub(crate) fn connect_target(&self) -> (&str, u16) {
        let host = self.authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let default = if self.https { 443 } else { 80 };
        (host, self.authority.port_u16().unwrap_or(default))
    }

    /// The Host field value naming the upstream.
    pub fn host_value(&self) -> &HeaderValue {
        &self.host_value
    }

    /// The absolute URI a request for `target` (its path and query) is sent
    /// to.
    pub fn join(&self, target: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let target = target.map_or("/", PathAndQuery::as_str);
        let path = if self.base_path.is_empty() {
            target.to_owned()
        } else if target == "*" {
            self.base_path.clone()
        } else {
            format!("{}{}", self.base_path, target)
        };
        Uri::builder()
            .scheme(if self.https {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            })
            .authority(self.authority.clone())
            .path_and_query(path)
            .build()
    }
}

/// Which Host the proxy sends upstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostHeader {
    /// The client's Host (or the authority of an absolute-form request
    /// target, RFC 9112 §3.2.2): the upstream sees the name the client
    /// used, as behind most load balancers. The default.
    #[default]
    Preserve,
    /// The upstream's own `host[:port]`, for origins that serve only their
    /// own name. The cache key still uses the client's Host.
    Upstream,
}

/// The proxy's settings. Build with [`ProxyConfig::builder`].
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub(crate) upstream: UpstreamUrl,
    pub(crate) host_header: HostHeader,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) body_idle_timeout: Duration,
    pub(crate) pool_idle_timeout: Duration,
    pub(crate) pool_max_idle: usize,
    pub(crate) via_name: String,
    pub(crate) relay_interim: bool,
    pub(crate) header_read_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) access_log: bool,
    pub(crate) limits: Limits,
    pub(crate) forwarded: ForwardedHeaders,
    pub(crate) trusted_proxies: Vec<IpNet>,
    /// The TLS client settings, for an `https://` upstream (with no roots
    /// for an `http://` one, never used).
    #[cfg(feature = "tls")]
    pub(crate) upstream_tls: std::sync::Arc<rustls::ClientConfig>,
    pub(crate) purge_token: Option<crate::purge::PurgeToken>,
}

/// The proxy's limits on clients and on the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) head: HeadLimits,
    pub(crate) max_connections: usize,
    pub(crate) max_upstream_requests: usize,
    pub(crate) queue_timeout: Duration,
    pub(crate) client_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            head: HeadLimits {
                request_line: 8 << 10,
                header_section: 32 << 10,
            },
            max_connections: 10_000,
            max_upstream_requests: 1_000,
            queue_timeout: Duration::from_secs(5),
            client_idle_timeout: Duration::from_secs(60),
        }
    }
}

impl ProxyConfig {
    /// A builder for a proxy in front of `upstream` (`http://host[:port][/base]`),
    /// starting from the defaults listed on each builder method.
    pub fn builder(upstream: &str) -> ProxyConfigBuilder {
        ProxyConfigBuilder {
            upstream: upstream.to_owned(),
            host_header: HostHeader::Preserve,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(60),
            body_idle_timeout: Duration::from_secs(60),
            pool_idle_timeout: Duration::from_secs(4),
            pool_max_idle: 256,
            via_name: "webcache".to_owned(),
            relay_interim: true,
            header_read_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            access_log: false,
            limits: Limits::default(),
            forwarded: ForwardedHeaders::XForwarded,
            trusted_proxies: Vec::new(),
            #[cfg(feature = "tls")]
            upstream_ca_file: None,
            purge_token: None,
        }
    }

    /// The upstream.
    pub fn upstream(&self) -> &UpstreamUrl {
        &self.upstream
    }
    /// Which Host is sent upstream.
    pub fn host_header(&self) -> HostHeader {
        self.host_header
    }
    /// The bound on connecting to the upstream.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// The bound on receiving a response head from the upstream.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }
    /// The longest pause allowed within an upstream response body.
    pub fn body_idle_timeout(&self) -> Duration {
        self.body_idle_timeout
    }
    /// How long an idle upstream connection is kept for reuse.
    pub fn pool_idle_timeout(&self) -> Duration {
        self.pool_idle_timeout
    }
    /// How many idle upstream connections are kept.
    pub fn pool_max_idle(&self) -> usize {
        self.pool_max_idle
    }
    /// The pseudonym in `Via`.
    pub fn via_name(&self) -> &str {
        &self.via_name
    }
    /// Whether 1xx responses from the upstream are relayed to the client.
    pub fn relay_interim(&self) -> bool {
        self.relay_interim
    }
    /// The bound on receiving a request head from a client.
    pub fn header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }
    /// How long a shutdown waits for requests in flight.
    pub fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }
    /// Whether each request is logged on target `webcache::access`.
    pub fn access_log(&self) -> bool {
        self.access_log
    }
    /// The longest request line accepted.
    pub fn max_request_line(&self) -> usize {
        self.limits.head.request_line
    }
    /// The largest request header section accepted.
    pub fn max_header_section(&self) -> usize {
        self.limits.head.header_section
    }
    /// The most client connections served at once.
    pub fn max_connections(&self) -> usize {
        self.limits.max_connections
    }
    /// The most requests in flight to the upstream at once.
    pub fn max_upstream_requests(&self) -> usize {
        self.limits.max_upstream_requests
    }
    /// How long a connection or an upstream request waits for a free slot.
    pub fn queue_timeout(&self) -> Duration {
        self.limits.queue_timeout
    }
    /// How long a client connection with no request in flight is kept.
    pub fn client_idle_timeout(&self) -> Duration {
        self.limits.client_idle_timeout
    }
    /// Which forwarding fields are added to requests sent upstream.
    pub fn forwarded(&self) -> ForwardedHeaders {
        self.forwarded
    }
    /// The downstream proxies whose forwarding fields are kept.
    pub fn trusted_proxies(&self) -> &[IpNet] {
        &self.trusted_proxies
    }
    /// True when purging is on (a purge token is configured).
    pub fn purging(&self) -> bool {
        self.purge_token.is_some()
    }
}

/// Builds a [`ProxyConfig`].
#[derive(Clone, Debug)]
pub struct ProxyConfigBuilder {
    upstream: String,
    host_header: HostHeader,
    connect_timeout: Duration,
    response_timeout: Duration,
    body_idle_timeout: Duration,
    pool_idle_timeout: Duration,
    pool_max_idle: usize,
    via_name: String,
    relay_interim: bool,
    header_read_timeout: Duration,
    shutdown_timeout: Duration,
    access_log: bool,
    limits: Limits,
    forwarded: ForwardedHeaders,
    trusted_proxies: Vec<IpNet>,
    #[cfg(feature = "tls")]
    upstream_ca_file: Option<std::path::PathBuf>,
    purge_token: Option<crate::purge::PurgeToken>,
}

impl ProxyConfigBuilder {
    /// Which Host is sent upstream; default [`HostHeader::Preserve`].
    pub fn host_header(mut self, host: HostHeader) -> Self {
        self.host_header = host;
        self
    }

    /// The bound on connecting to the upstream; default 5 s. Past it the
    /// client gets 502 (or a stale response `stale-if-error` allows).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The bound on receiving the response head once the request is sent;
    /// default 60 s. Past it the client gets 504 (or a stale response
    /// `stale-if-error` allows).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The longest pause allowed between two pieces of an upstream response
    /// body; default 60 s. Past it the body is cut off and the client's
    /// connection closed (the response head is already sent).
    pub fn body_idle_timeout(mut self, timeout: Duration) -> Self {
        self.body_idle_timeout = timeout;
        self
    }

    /// How long an idle upstream connection is kept for reuse; default 4 s,
    /// below the 5 s idle timeout of Node.js and Apache, so that the proxy
    /// closes an idle connection before the origin does.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// How many idle upstream connections are kept; default 256.
    pub fn pool_max_idle(mut self, connections: usize) -> Self {
        self.pool_max_idle = connections;
        self
    }

    /// The pseudonym the proxy names itself with in `Via` (RFC 9110
    /// §7.6.3); default `webcache`. Must be a token.
    pub fn via_name(mut self, name: &str) -> Self {
        self.via_name = name.to_owned();
        self
    }

    /// Relay 1xx interim responses (103 Early Hints, 102 Processing) from
    /// the upstream to HTTP/1.1 clients (RFC 9110 §15.2); default on.
    pub fn relay_interim(mut self, relay: bool) -> Self {
        self.relay_interim = relay;
        self
    }

    /// The bound on receiving a request head from a client; default 30 s.
    ///
    /// On HTTP/1 it bounds the wait for each head, from the connection's
    /// start or its last response head, checked in quarters (a wait
    /// ends between this and 1.25 × this): the connection is closed, or
    /// dropped if no head ever arrived on it. It also bounds a TLS
    /// handshake and the first bytes of a cleartext connection.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a graceful shutdown waits for requests in flight (and the
    /// cache's background stores) before closing; default 30 s.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Log a line per request — `method`, `path`, `status`, `outcome` (from
    /// Cache-Status: `hit`, the forward reason such as `uri-miss` or
    /// `stale`, or the error detail), `bytes` (when the length is known
    /// with the head) and `duration_ms` (until the response head) — as an
    /// info event on target `webcache::access`, for whatever `tracing`
    /// subscriber is installed to format and filter; default off.
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// The longest request line (method, target, version) accepted; a
    /// longer one is answered 414 by the proxy. Default 8 KiB, as nginx's.
    pub fn max_request_line(mut self, bytes: usize) -> Self {
        self.limits.head.request_line = bytes;
        self
    }

    /// The largest request header section (every field line with its CRLF)
    /// accepted; a larger one is answered 431 by the proxy. Default 32 KiB.
    pub fn max_header_section(mut self, bytes: usize) -> Self {
        self.limits.head.header_section = bytes;
        self
    }

    /// The most client connections served at once; one more waits up to
    /// [`queue_timeout`](Self::queue_timeout) for a slot, then is answered
    /// 503 with `Retry-After` and closed. Default 10 000.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections;
        self
    }

    /// The most requests in flight to the upstream at once (until the end
    /// of each response body); one more waits up to
    /// [`queue_timeout`](Self::queue_timeout), then fails as 503 with
    /// `Retry-After` (or a stale response where `stale-if-error` allows).
    /// Default 1 000.
    pub fn max_upstream_requests(mut self, requests: usize) -> Self {
        self.limits.max_upstream_requests = requests;
        self
    }

    /// How long a connection or an upstream request over its limit waits
    /// for a slot; default 5 s.
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.limits.queue_timeout = timeout;
        self
    }

    /// How long a client connection with no request in flight is kept
    /// open (checked every quarter of it, so closed within 1.25 times
    /// it); default 60 s.
    pub fn client_idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.client_idle_timeout = timeout;
        self
    }

    /// Which forwarding fields the proxy adds to requests it sends
    /// upstream; default [`ForwardedHeaders::XForwarded`].
    pub fn forwarded(mut self, fields: ForwardedHeaders) -> Self {
        self.forwarded = fields;
        self
    }

    /// The downstream proxies (addresses or CIDR ranges) whose forwarding
    /// fields are kept and appended to; from any other client they are
    /// replaced. Default none.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// The CA certificates (PEM) an `https://` upstream's certificate must
    /// chain to, instead of the system's roots.
    #[cfg(feature = "tls")]
    pub fn upstream_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.upstream_ca_file = Some(path.into());
        self
    }

    /// Turns purging on, behind `Authorization: Bearer <token>`: the
    /// `PURGE` method on the proxied listener and `/purge/…` on the admin
    /// listener (see [`crate::purge`]). Default off, and then `PURGE` is
    /// forwarded like any method the proxy does not know. An empty token
    /// is refused.
    pub fn purge_token(mut self, token: &str) -> Self {
        self.purge_token = Some(crate::purge::PurgeToken::new(token));
        self
    }

    /// Checks the values and returns the configuration.
    pub fn build(self) -> Result<ProxyConfig, Error> {
        if self.purge_token == Some(crate::purge::PurgeToken::new("")) {
            return Err(Error::Config("the purge token must not be empty"));
        }
        let upstream = UpstreamUrl::parse(&self.upstream)?;
        let is_token = !self.via_name.is_empty()
            && self
                .via_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !is_token {
            return Err(Error::Config("the Via name must be a token"));
        }
        for timeout in [
            self.connect_timeout,
            self.response_timeout,
            self.body_idle_timeout,
            self.header_read_timeout,
            self.limits.client_idle_timeout,
        ] {
            if timeout.is_zero() {
                return Err(Error::Config("timeouts must be greater than zero"));
            }
        }
        if self.limits.max_connections == 0 || self.limits.max_upstream_requests == 0 {
            return Err(Error::Config(
                "connection and request limits must be at least 1",
            ));
        }
        if self.limits.head.request_line < 16 || self.limits.head.header_section < 16 {
            return Err(Error::Config(
                "request head limits must be at least 16 bytes",
            ));
        }
        #[cfg(feature = "tls")]
        let upstream_tls = if upstream.is_https() {
            crate::tls::upstream_client_config(self.upstream_ca_file.as_deref())?
        } else {
            crate::tls::unused_client_config()?
        };
        Ok(ProxyConfig {
            #[cfg(feature = "tls")]
            upstream_tls,
            upstream,
            host_header: self.host_header,
            connect_timeout: self.connect_timeout,
            response_timeout: self.response_timeout,
            body_idle_timeout: self.body_idle_timeout,
            pool_idle_timeout: self.pool_idle_timeout,
            pool_max_idle: self.pool_max_idle,
            via_name: self.via_name,
            relay_interim: self.relay_interim,
            header_read_timeout: self.header_read_timeout,
            shutdown_timeout: self.shutdown_timeout,
            access_log: self.access_log,
            limits: self.limits,
            forwarded: self.forwarded,
            trusted_proxies: self.trusted_proxies,
            purge_token: self.purge_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_url_is_http_with_an_optional_base_path() {
        let u = UpstreamUrl::parse("http://origin:8080").unwrap();
        assert_eq!((u.authority(), u.base_path()), ("origin:8080", ""));
        let pq: PathAndQuery = "/a?b=1".parse().unwrap();
        assert_eq!(u.join(Some(&pq)).unwrap(), "http://origin:8080/a?b=1");
        let u = UpstreamUrl::parse("http://origin/app/").unwrap();
        assert_eq!(u.base_path(), "/app");
        assert_eq!(u.join(Some(&pq)).unwrap(), "http://origin/app/a?b=1");
        assert_eq!(u.host_value(), "origin");
        #[cfg(not(feature = "tls"))]
        assert!(UpstreamUrl::parse("https://origin").is_err());
        #[cfg(feature = "tls")]
        assert!(UpstreamUrl::parse("https://origin").unwrap().is_https());
        for bad in [
            "origin:80",
            "ftp://origin",
            "http://u:p@origin",
            "http://origin/?q",
            "",
        ] {
            assert!(UpstreamUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builder_checks_values() {
        assert!(ProxyConfig::builder("http://a").build().is_ok());
        assert!(
            ProxyConfig::builder("http://a")
                .via_name("two words")
                .build()
                .is_err()
        );
        assert!(
            ProxyConfig::builder("http://a")
                .response_timeout(Duration::ZERO)
                .build()
                .is_err()
        );
    }
}

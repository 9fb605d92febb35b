//! # webcache-proxy
//!
//! A standalone caching reverse proxy: [webcache](webcache_core) — RFC 9111
//! as a shared cache — in front of any HTTP/1.1 origin server. Use the
//! `webcache-proxy` binary (`webcache-proxy --help`), or embed it:
//!
//! ```no_run
//! use webcache_core::{Cache, Config};
//! use webcache_memory::MemoryStore;
//! use webcache_proxy::{Proxy, ProxyConfig, Server, shutdown_signal};
//!
//! # async fn run() -> Result<(), webcache_proxy::Error> {
//! let cache = Cache::new(MemoryStore::new(256 << 20), Config::gateway_builder().build()?);
//! let proxy = Proxy::new(cache, ProxyConfig::builder("http://127.0.0.1:3000").build()?);
//! let server = Server::bind("127.0.0.1:8080".parse().unwrap(), proxy).await?;
//! server.serve(shutdown_signal()).await // until SIGTERM or Ctrl-C
//! # }
//! ```
//!
//! ## What it does
//!
//! Every request goes through [`Cache::serve`](webcache_core::Cache::serve):
//! hits are answered from the store with `Age` (and 304, or 206 for a
//! `Range` request, when the request asks for it); stale responses are
//! validated with conditional requests and freshened by 304s; concurrent
//! misses are collapsed; `stale-while-revalidate` and `stale-if-error`
//! (RFC 5861) are honoured — an unreachable or slow upstream counts as an
//! error; unsafe methods are forwarded with their bodies and invalidate;
//! `CDN-Cache-Control` (RFC 9213) is obeyed in the gateway configuration.
//! The caching rules all live in webcache-core; this crate only forwards:
//!
//! - hop-by-hop fields, including those named in `Connection`, are removed
//!   both ways; `Via` is appended both ways; `Max-Forwards` is applied to
//!   OPTIONS and TRACE (RFC 9110 §7.6);
//! - `Host` is preserved (or set to the upstream's, [`HostHeader`]);
//! - request and response bodies stream; a response body is held only
//!   when it is being stored and within the cache's size limit;
//! - an upstream that refuses or breaks the connection gives 502, one that
//!   does not answer in time 504 — generated here, with no stored field —
//!   unless the cache may serve a stored response instead; nothing is
//!   ever retried;
//! - 1xx interim responses (103 Early Hints) are relayed to HTTP/1.1
//!   clients by the [`Server`], never stored.
//!
//! ## Operating it
//!
//! With the `admin` feature (on by default), `AdminServer` serves
//! `/metrics` (the Prometheus text of a `metrics-exporter-prometheus`
//! recorder, installed before the cache is built, with the proxy's
//! `webcache_upstream_duration_seconds` by `outcome`, `ok` or `error`:
//! the time to the upstream's response head), `/healthz` and
//! `/readyz` ([`Proxy::ready`]: the store answers, the upstream answered
//! its last request or accepts connections). With
//! [`ProxyConfigBuilder::access_log`] each request is an info event on
//! target `webcache::access`; upstream failures are warnings on target
//! `webcache::proxy`, at most one a second with the count not logged.
//!
//! ## The edge
//!
//! The [`Server`] speaks HTTP/1.0, 1.1 and 2 (prior knowledge in
//! cleartext; by ALPN over TLS with the `tls` feature, [`Server::with_tls`]).
//! Before the cache sees a request it refuses what RFC 9112 says a server
//! must (no Host in HTTP/1.1, two Hosts, an invalid one: 400; a request
//! line or header section over its limit: 414 or 431; a transfer coding
//! other than chunked: 501; framing errors hyper catches: 400). It limits
//! client connections and upstream requests (past a queue timeout: 503
//! with `Retry-After`), closes idle client connections, and adds
//! `X-Forwarded-For`/`-Proto`/`-Host` or `Forwarded` (RFC 7239) upstream
//! ([`ForwardedHeaders`], [`IpNet`] for trusted proxies).
//!
//! The upstream is spoken to in HTTP/1.1 (over TLS for `https://` with the
//! `tls` feature) with a connection pool. WebSocket upgrades and CONNECT
//! are not proxied.
#![deny(missing_docs)]

mod access;
#[cfg(feature = "admin")]
mod admin;
mod body;
mod config;
mod error;
pub mod forward;
mod forwarded;
mod health;
mod interim;
mod proxy;
pub mod purge;
mod server;
mod service;
#[cfg(feature = "tls")]
mod tls;
mod upstream;
mod validate;

#[cfg(feature = "admin")]
pub use admin::{AdminServer, BeforeScrape};
pub use body::{RequestBody, ResponseBody, UpstreamBody};
pub use config::{HostHeader, ProxyConfig, ProxyConfigBuilder, UpstreamUrl};
pub use error::{BodyError, BoxError, Error, NotReady, UpstreamError};
pub use forwarded::{ForwardedHeaders, IpNet};
pub use proxy::Proxy;
pub use server::{Server, shutdown_signal};
pub use service::{ProxyService, ResponseFuture};
#[cfg(feature = "tls")]
pub use tls::TlsConfig;
pub use upstream::HttpUpstream;

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

//! The command line: every setting as a flag, as a `WEBCACHE_*`
//! environment variable and as a key of the `--config` TOML file, with
//! values in human units (`250ms`, `64MiB`).
//!
//! To add a setting, add a field to [`Args`] with its `#[arg(long, env =
//! "WEBCACHE_...")]`: clap gives it its flag and its variable, and the
//! config file finds it by its long name in the clap command (see
//! [`with_config_file`]), so the file key needs nothing more. Then pass the
//! value on in [`Args::proxy_config`] or [`Args::cache_config`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, ValueEnum};
use http::HeaderName;
use tracing::Level;
use webcache_core::{Config, Role};
use webcache_proxy::{Error, ForwardedHeaders, HostHeader, IpNet, ProxyConfig, ProxyConfigBuilder};

const ABOUT: &str =
    "A caching reverse proxy: RFC 9111 HTTP caching in front of one HTTP/1.1 origin.";

const LONG_ABOUT: &str = "\
A caching reverse proxy: RFC 9111 HTTP caching in front of one HTTP/1.1 origin.

Clients talk to the proxy; the proxy answers from its cache when the origin's
Cache-Control (or CDN-Cache-Control) allows, and forwards everything else to
the origin: misses, validations, and every method other than GET and HEAD
(which then invalidate what is stored for the URL).

Quick start, with an origin on port 3000:

    webcache-proxy --upstream http://127.0.0.1:3000 --listen 127.0.0.1:8080
    curl -si http://127.0.0.1:8080/        # Cache-Status: webcache; fwd=uri-miss; ...
    curl -si http://127.0.0.1:8080/        # Cache-Status: webcache; hit; ttl=...

Every option can also be set through the environment variable shown with it,
and in a TOML file named by --config (or WEBCACHE_CONFIG), under the flag's
name without its dashes: `upstream = 'http://127.0.0.1:3000'`,
`max-body-size = '8MiB'`, `exempt = ['/admin', '/login']`,
`access-log = true`. A flag wins over its environment variable, which wins
over the file, which wins over the default; a key the file should not have
is an error naming it.
Durations take a unit (250ms, 10s, 5m, 1h, 1d; a bare number is seconds);
sizes take one too (512KiB, 64MiB, 1GiB; K, M, G mean the same; a bare number
is bytes). The proxy stops on SIGTERM or Ctrl-C after finishing the requests
in flight.";

/// The proxy's command line.
#[derive(Debug, Parser)]
#[command(name = "webcache-proxy", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// A TOML file of settings (keys: the flags' long names, as in
    /// `memory-capacity = "64MiB"`); flags and environment variables
    /// override it.
    #[arg(long, env = "WEBCACHE_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,

    /// The origin server: http://host[:port][/base-path] (or https://, in
    /// a build with TLS). Request paths are appended to it.
    #[arg(short, long, env = "WEBCACHE_UPSTREAM", value_name = "URL")]
    pub upstream: String,

    /// The address to listen on.
    #[arg(
        short,
        long,
        env = "WEBCACHE_LISTEN",
        value_name = "ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// Where responses are stored: `memory` (in this process), a Redis
    /// URL (redis://host:port/db) shared by every proxy pointing at it, or
    /// `sqlite:PATH`, a file that survives restarts and is shared by every
    /// proxy on this host that opens it (sized with --sqlite-max-size).
    #[arg(
        long,
        env = "WEBCACHE_STORE",
        value_name = "STORE",
        default_value = "memory"
    )]
    pub store: String,

    /// The size of the in-memory store.
    #[arg(
        long,
        env = "WEBCACHE_MEMORY_CAPACITY",
        value_name = "SIZE",
        default_value = "256MiB"
    )]
    pub memory_capacity: ByteSize,

    /// With a Redis store: the size of a near tier, an in-process copy of
    /// what this proxy read from Redis, so that a hit sends Redis no command
    /// (Redis 6 or later; one server, not a cluster). Redis keeps it
    /// coherent with client tracking: a write through any proxy is not
    /// served by another more than 200 ms after it is acknowledged, and
    /// far sooner while Redis is reachable. 0 (the default) turns it off.
    #[arg(
        long,
        env = "WEBCACHE_REDIS_NEAR_CACHE",
        value_name = "SIZE",
        default_value = "0"
    )]
    pub redis_near_cache: ByteSize,

    /// The largest size of the SQLite store's file; past it the least
    /// recently used responses are evicted.
    #[arg(
        long,
        env = "WEBCACHE_SQLITE_MAX_SIZE",
        value_name = "SIZE",
        default_value = "1GiB"
    )]
    pub sqlite_max_size: ByteSize,

    /// Worker threads; default: one per CPU.
    #[arg(long, env = "WEBCACHE_THREADS", value_name = "N")]
    pub threads: Option<usize>,

    /// Log level: error, warn, info, debug or trace. RUST_LOG, when set,
    /// takes its place, with the usual directives (`warn,webcache::core=debug`).
    #[arg(
        long,
        env = "WEBCACHE_LOG",
        value_name = "LEVEL",
        default_value = "info"
    )]
    pub log: Level,

    /// The log format: `text` (a human-readable line per event) or `json`
    /// (a JSON object per line, with the event's fields).
    #[arg(long, env = "WEBCACHE_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log a line per request (method, path, status, cache outcome, bytes,
    /// duration) at info level on target `webcache::access`, whatever the
    /// --log level.
    #[arg(long, env = "WEBCACHE_ACCESS_LOG")]
    pub access_log: bool,

    /// Serve the admin endpoints on this address: /metrics (Prometheus
    /// text), /healthz (200 while alive), /readyz (200 when the store
    /// answers and the upstream answered its last request or accepts
    /// connections; 503 with the reason otherwise). Off by default; keep it
    /// off the public network.
    #[arg(long, env = "WEBCACHE_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,

    /// Turn purging on, behind `Authorization: Bearer <TOKEN>`: the PURGE
    /// method on the proxied listener (`Soft-Purge: 1` for a soft purge),
    /// and POST /purge/url, /purge/tag, /purge/flush (`?soft=true`) on the
    /// admin listener. Off by default; without it PURGE is forwarded like
    /// any method the proxy does not know. Prefer the environment variable
    /// to keep the token out of process listings.
    #[arg(
        long,
        env = "WEBCACHE_PURGE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub purge_token: Option<String>,

    // ---- forwarding -----------------------------------------------------
    /// The Host sent upstream: the client's (`preserve`), or the upstream
    /// URL's (`upstream`).
    #[arg(
        long,
        env = "WEBCACHE_HOST_HEADER",
        value_enum,
        default_value = "preserve",
        help_heading = "Forwarding"
    )]
    pub host_header: HostChoice,

    /// The bound on connecting to the upstream (past it: 502). Default 5s.
    #[arg(
        long,
        env = "WEBCACHE_CONNECT_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Forwarding"
    )]
    pub connect_timeout: Option<HumanDuration>,

    /// The bound on the upstream's response head once the request is sent
    /// (past it: 504). Default 60s.
    #[arg(
        long,
        env = "WEBCACHE_UPSTREAM_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Forwarding"
    )]
    pub upstream_timeout: Option<HumanDuration>,

    /// The longest pause within an upstream response body before it is cut
    /// off. Default 60s.
    #[arg(
        long,
        env = "WEBCACHE_UPSTREAM_IDLE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Forwarding"
    )]
    pub upstream_idle_timeout: Option<HumanDuration>,

    /// How long an idle upstream connection is kept for reuse. Default 4s
    /// (below the 5s after which Node.js and Apache close idle connections).
    #[arg(
        long,
        env = "WEBCACHE_POOL_IDLE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Forwarding"
    )]
    pub pool_idle_timeout: Option<HumanDuration>,

    /// How many idle upstream connections are kept. Default 256.
    #[arg(
        long,
        env = "WEBCACHE_POOL_MAX_IDLE",
        value_name = "N",
        help_heading = "Forwarding"
    )]
    pub pool_max_idle: Option<usize>,

    /// The name of this proxy in the Via field. Default webcache.
    #[arg(
        long,
        env = "WEBCACHE_VIA_NAME",
        value_name = "NAME",
        help_heading = "Forwarding"
    )]
    pub via_name: Option<String>,

    /// Relay 1xx interim responses (103 Early Hints) to HTTP/1.1 clients.
    /// Default true.
    #[arg(long, env = "WEBCACHE_RELAY_INTERIM", value_name = "BOOL", action = ArgAction::Set, help_heading = "Forwarding")]
    pub relay_interim: Option<bool>,

    /// The bound on receiving a request head from a client. Default 30s.
    #[arg(
        long,
        env = "WEBCACHE_HEADER_READ_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Forwarding"
    )]
    pub header_read_timeout: Option<HumanDuration>,

    /// How long a shutdown waits for requests in flight. Default 30s.
    #[arg(
        long,
        env = "WEBCACHE_SHUTDOWN_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Forwarding"
    )]
    pub shutdown_timeout: Option<HumanDuration>,

    // ---- edge -----------------------------------------------------------
    /// The longest request line (method, target, version) accepted; past
    /// it: 414. Default 8KiB.
    #[arg(
        long,
        env = "WEBCACHE_MAX_REQUEST_LINE",
        value_name = "SIZE",
        help_heading = "Edge"
    )]
    pub max_request_line: Option<ByteSize>,

    /// The largest request header section accepted; past it: 431. Default
    /// 32KiB.
    #[arg(
        long,
        env = "WEBCACHE_MAX_HEADER_SECTION",
        value_name = "SIZE",
        help_heading = "Edge"
    )]
    pub max_header_section: Option<ByteSize>,

    /// The most client connections served at once; more wait up to
    /// --queue-timeout, then get 503 with Retry-After. Default 10000.
    #[arg(
        long,
        env = "WEBCACHE_MAX_CONNECTIONS",
        value_name = "N",
        help_heading = "Edge"
    )]
    pub max_connections: Option<usize>,

    /// The most requests in flight to the upstream at once; more wait up
    /// to --queue-timeout, then get 503 with Retry-After (or stale, where
    /// stale-if-error allows). Default 1000.
    #[arg(
        long,
        env = "WEBCACHE_MAX_UPSTREAM_REQUESTS",
        value_name = "N",
        help_heading = "Edge"
    )]
    pub max_upstream_requests: Option<usize>,

    /// How long a connection or upstream request over its limit waits.
    /// Default 5s.
    #[arg(
        long,
        env = "WEBCACHE_QUEUE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Edge"
    )]
    pub queue_timeout: Option<HumanDuration>,

    /// How long a client connection with no request in flight is kept
    /// open. Default 60s.
    #[arg(
        long,
        env = "WEBCACHE_CLIENT_IDLE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Edge"
    )]
    pub client_idle_timeout: Option<HumanDuration>,

    /// The fields naming the client added upstream: `x-forwarded`
    /// (X-Forwarded-For, -Proto, -Host), `forwarded` (RFC 7239), `both`,
    /// or `none` (the received ones pass untouched).
    #[arg(
        long,
        env = "WEBCACHE_FORWARDED",
        value_enum,
        default_value = "x-forwarded",
        help_heading = "Edge"
    )]
    pub forwarded: ForwardedChoice,

    /// A downstream proxy (address or CIDR range) whose forwarding fields
    /// are kept and appended to; from other clients they are replaced.
    /// Repeat the flag, or separate with commas in the environment
    /// variable.
    #[arg(
        long = "trusted-proxy",
        env = "WEBCACHE_TRUSTED_PROXIES",
        value_name = "CIDR",
        value_delimiter = ',',
        help_heading = "Edge"
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Serve clients over TLS with this certificate chain (PEM, leaf
    /// first); needs --tls-key. HTTP/2 or HTTP/1.1 by ALPN. SIGHUP reloads
    /// both files.
    #[cfg(feature = "tls")]
    #[arg(
        long,
        env = "WEBCACHE_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key",
        help_heading = "Edge"
    )]
    pub tls_cert: Option<std::path::PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[cfg(feature = "tls")]
    #[arg(
        long,
        env = "WEBCACHE_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert",
        help_heading = "Edge"
    )]
    pub tls_key: Option<std::path::PathBuf>,

    /// The CA certificates (PEM) an https:// upstream's certificate must
    /// chain to; default: the system's roots.
    #[cfg(feature = "tls")]
    #[arg(
        long,
        env = "WEBCACHE_UPSTREAM_CA",
        value_name = "FILE",
        help_heading = "Forwarding"
    )]
    pub upstream_ca: Option<std::path::PathBuf>,

    // ---- cache ----------------------------------------------------------
    /// `gateway`: invent no validators, leave the client's preconditions to
    /// the origin on a miss (right for a proxy). `application`: add strong
    /// ETags to responses and answer preconditions like an origin would.
    #[arg(
        long,
        env = "WEBCACHE_ROLE",
        value_enum,
        default_value = "gateway",
        help_heading = "Cache"
    )]
    pub role: RoleChoice,

    /// A shared cache (true, right for a proxy) obeys s-maxage, private and
    /// the Authorization rules; false makes it a private cache. Default true.
    #[arg(long, env = "WEBCACHE_SHARED", value_name = "BOOL", action = ArgAction::Set, help_heading = "Cache")]
    pub shared: Option<bool>,

    /// A URL path prefix that is never cached (repeat the flag, or separate
    /// with commas in the environment variable).
    #[arg(
        long = "exempt",
        env = "WEBCACHE_EXEMPT",
        value_name = "PREFIX",
        value_delimiter = ',',
        help_heading = "Cache"
    )]
    pub exempt: Vec<String>,

    /// A salt mixed into every cache key; change it to drop the whole cache.
    #[arg(
        long,
        env = "WEBCACHE_MASTER_SALT",
        value_name = "SALT",
        help_heading = "Cache"
    )]
    pub master_salt: Option<String>,

    /// Honour the client's Cache-Control (no-cache, max-age, ...). false is
    /// NOT compliant with RFC 9111. Default true.
    #[arg(long, env = "WEBCACHE_REQUEST_CONTROLS_CACHE", value_name = "BOOL", action = ArgAction::Set, help_heading = "Cache")]
    pub request_controls_cache: Option<bool>,

    /// The largest response body stored; larger ones stream through.
    /// Default 8MiB.
    #[arg(
        long,
        env = "WEBCACHE_MAX_BODY_SIZE",
        value_name = "SIZE",
        help_heading = "Cache"
    )]
    pub max_body_size: Option<ByteSize>,

    /// The largest response header section stored. Default 64KiB.
    #[arg(
        long,
        env = "WEBCACHE_MAX_HEADER_BYTES",
        value_name = "SIZE",
        help_heading = "Cache"
    )]
    pub max_header_bytes: Option<ByteSize>,

    /// The fraction of the time since Last-Modified a response without
    /// explicit freshness stays fresh (0 to 1). Default 0.1.
    #[arg(
        long,
        env = "WEBCACHE_HEURISTIC_FRACTION",
        value_name = "FRACTION",
        help_heading = "Cache"
    )]
    pub heuristic_fraction: Option<f64>,

    /// The cap on that heuristic freshness. Default 24h.
    #[arg(
        long,
        env = "WEBCACHE_HEURISTIC_MAX",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub heuristic_max: Option<HumanDuration>,

    /// Refresh a hit in the background when it has less than this freshness
    /// left. Default off.
    #[arg(
        long,
        env = "WEBCACHE_REFRESH_AHEAD",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub refresh_ahead: Option<HumanDuration>,

    /// The cache's name in the Cache-Status field (RFC 9211). Default
    /// webcache.
    #[arg(
        long,
        env = "WEBCACHE_CACHE_STATUS",
        value_name = "NAME",
        help_heading = "Cache"
    )]
    pub cache_status: Option<String>,

    /// Send no Cache-Status field.
    #[arg(
        long,
        env = "WEBCACHE_NO_CACHE_STATUS",
        conflicts_with = "cache_status",
        help_heading = "Cache"
    )]
    pub no_cache_status: bool,

    /// Include the cache key in Cache-Status. Default false.
    #[arg(long, env = "WEBCACHE_CACHE_STATUS_KEY", value_name = "BOOL", action = ArgAction::Set, help_heading = "Cache")]
    pub cache_status_key: Option<bool>,

    /// Store responses that set cookies even without `public` or
    /// `s-maxage`, as RFC 9111 allows. Default false (a leaked session
    /// cookie is worse than a miss).
    #[arg(long, env = "WEBCACHE_STORE_SET_COOKIE", value_name = "BOOL", action = ArgAction::Set, help_heading = "Cache")]
    pub store_set_cookie: Option<bool>,

    /// Collapse concurrent misses for one URL into one upstream request.
    /// Default true.
    #[arg(long, env = "WEBCACHE_COALESCE", value_name = "BOOL", action = ArgAction::Set, help_heading = "Cache")]
    pub coalesce: Option<bool>,

    /// How long a collapsed request waits for the one in flight. Default
    /// 10s.
    #[arg(
        long,
        env = "WEBCACHE_COALESCE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub coalesce_timeout: Option<HumanDuration>,

    /// The bound on each store operation; past it the request goes to the
    /// upstream. Default 250ms.
    #[arg(
        long,
        env = "WEBCACHE_STORE_TIMEOUT",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub store_timeout: Option<HumanDuration>,

    /// How long a stale response is kept for revalidation and
    /// stale-if-error. Default 1h.
    #[arg(
        long,
        env = "WEBCACHE_STALE_RETENTION",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub stale_retention: Option<HumanDuration>,

    /// Serve a stored response up to this stale when the upstream cannot be
    /// reached (refused, reset, closed, timed out), unless the response
    /// forbids it (must-revalidate, proxy-revalidate, s-maxage, no-cache).
    /// Default: off (only stale-if-error serves stale then).
    #[arg(
        long,
        env = "WEBCACHE_STALE_IF_UNREACHABLE",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub stale_if_unreachable: Option<HumanDuration>,

    /// Count a 500, 502, 503 or 504 answering a revalidation as the
    /// upstream being unreachable (for --stale-if-unreachable): an
    /// agreement with the origin RFC 9111 §4.2.4 requires. Default: off.
    #[arg(long, env = "WEBCACHE_STALE_ON_SERVER_ERROR", help_heading = "Cache")]
    pub stale_on_server_error: bool,

    /// After the upstream failed for a resource, serve it stale (where
    /// allowed) without asking again for this long. Default 1s.
    #[arg(
        long,
        env = "WEBCACHE_UNREACHABLE_BACKOFF",
        value_name = "DURATION",
        help_heading = "Cache"
    )]
    pub unreachable_backoff: Option<HumanDuration>,

    /// The scheme in cache keys (what clients used to reach the proxy):
    /// http, or https behind a TLS terminator. Default http.
    #[arg(
        long,
        env = "WEBCACHE_DEFAULT_SCHEME",
        value_name = "SCHEME",
        help_heading = "Cache"
    )]
    pub default_scheme: Option<String>,

    /// A targeted cache-control field this cache obeys instead of
    /// Cache-Control and Expires when a response carries it (RFC 9213),
    /// most specific first; repeat the flag, or separate with commas in the
    /// environment variable. Default CDN-Cache-Control, then Surrogate-Control.
    #[arg(long = "targeted-field", env = "WEBCACHE_TARGETED_FIELDS", value_name = "NAME", value_delimiter = ',', value_parser = parse_field_name, help_heading = "Cache")]
    pub targeted_fields: Vec<HeaderName>,

    /// Obey no targeted field: Cache-Control alone governs the cache.
    #[arg(
        long,
        env = "WEBCACHE_NO_TARGETED_FIELDS",
        conflicts_with = "targeted_fields",
        help_heading = "Cache"
    )]
    pub no_targeted_fields: bool,
}

/// A header field name, as typed (any case).
fn parse_field_name(s: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(s.trim().to_ascii_lowercase().as_bytes())
        .map_err(|_| format!("{s:?} is not a header field name"))
}

/// Where responses are stored.
#[derive(Debug)]
pub enum StoreChoice {
    /// In this process.
    Memory,
    /// In Redis at this URL.
    #[cfg(feature = "redis")]
    Redis(String),
    /// In the SQLite file at this path.
    #[cfg(feature = "sqlite")]
    Sqlite(std::path::PathBuf),
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// A human-readable line per event.
    Text,
    /// A JSON object per line.
    Json,
}

/// `--host-header`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HostChoice {
    /// The client's Host.
    Preserve,
    /// The upstream URL's host and port.
    Upstream,
}

/// `--forwarded`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ForwardedChoice {
    /// Add none; the received fields pass untouched.
    None,
    /// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host.
    XForwarded,
    /// Forwarded (RFC 7239).
    Forwarded,
    /// Both kinds.
    Both,
}

/// `--role`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RoleChoice {
    /// An intermediary in front of an origin.
    Gateway,
    /// The cache finishes the origin's job (ETags, preconditions).
    Application,
}

impl Args {
    /// The command line, with environment values hidden from `--help` (they
    /// may hold secrets such as a Redis password).
    pub fn command_line() -> clap::Command {
        Self::command().mut_args(|arg| arg.hide_env_values(true))
    }

    /// Parses the process's arguments, environment and config file,
    /// exiting with a message on error or for `--help`.
    pub fn from_env() -> Args {
        let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
        let path = config_path(&argv).or_else(|| std::env::var_os("WEBCACHE_CONFIG"));
        let mut command = Self::command_line();
        if let Some(path) = path {
            command =
                with_config_file(command, std::path::Path::new(&path)).unwrap_or_else(|message| {
                    eprintln!("webcache-proxy: {message}");
                    std::process::exit(2)
                });
        }
        let matches = command.get_matches_from(argv);
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }

    /// The store named by `--store`.
    pub fn store_choice(&self) -> Result<StoreChoice, Error> {
        if self.store.eq_ignore_ascii_case("memory") {
            return Ok(StoreChoice::Memory);
        }
        if self.store.starts_with("rediss://") {
            return Err(Error::Store(
                "--store rediss:// (Redis over TLS) is not supported: this build's Redis client \
                 has no TLS; use redis:// on a private network or through a TLS tunnel \
                 (stunnel, spiped)"
                    .to_owned(),
            ));
        }
        if self.store.starts_with("redis://") || self.store.starts_with("redis+unix://") {
            #[cfg(feature = "redis")]
            return Ok(StoreChoice::Redis(self.store.clone()));
            #[cfg(not(feature = "redis"))]
            return Err(Error::Store(
                "this build has no Redis store (build with the `redis` feature)".to_owned(),
            ));
        }
        if let Some(path) = self.store.strip_prefix("sqlite:") {
            // `sqlite:PATH`, and the URL-like `sqlite://PATH` too.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(Error::Store(
                    "`sqlite:` needs a file path, as in sqlite:/var/cache/webcache.db".to_owned(),
                ));
            }
            #[cfg(feature = "sqlite")]
            return Ok(StoreChoice::Sqlite(path.into()));
            #[cfg(not(feature = "sqlite"))]
            return Err(Error::Store(
                "this build has no SQLite store (build with the `sqlite` feature)".to_owned(),
            ));
        }
        Err(Error::Store(format!(
            "unknown store {:?}: use `memory`, a redis:// URL or sqlite:PATH",
            self.store
        )))
    }

    /// The TLS settings of `--tls-cert` and `--tls-key`, when given.
    #[cfg(feature = "tls")]
    pub fn tls_config(&self) -> Result<Option<webcache_proxy::TlsConfig>, Error> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                webcache_proxy::TlsConfig::from_pem_files(cert, key).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The proxy's settings.
    pub fn proxy_config(&self) -> Result<ProxyConfig, Error> {
        let mut b = ProxyConfig::builder(&self.upstream).host_header(match self.host_header {
            HostChoice::Preserve => HostHeader::Preserve,
            HostChoice::Upstream => HostHeader::Upstream,
        });
        if let Some(d) = self.connect_timeout {
            b = b.connect_timeout(d.0);
        }
        if let Some(d) = self.upstream_timeout {
            b = b.response_timeout(d.0);
        }
        if let Some(d) = self.upstream_idle_timeout {
            b = b.body_idle_timeout(d.0);
        }
        if let Some(d) = self.pool_idle_timeout {
            b = b.pool_idle_timeout(d.0);
        }
        if let Some(n) = self.pool_max_idle {
            b = b.pool_max_idle(n);
        }
        if let Some(name) = &self.via_name {
            b = b.via_name(name);
        }
        if let Some(relay) = self.relay_interim {
            b = b.relay_interim(relay);
        }
        if let Some(d) = self.header_read_timeout {
            b = b.header_read_timeout(d.0);
        }
        if let Some(d) = self.shutdown_timeout {
            b = b.shutdown_timeout(d.0);
        }
        b = self.edge_settings(b);
        #[cfg(feature = "tls")]
        if let Some(path) = &self.upstream_ca {
            b = b.upstream_ca_file(path);
        }
        if let Some(token) = &self.purge_token {
            b = b.purge_token(token);
        }
        b.access_log(self.access_log).build()
    }

    fn edge_settings(&self, mut b: ProxyConfigBuilder) -> ProxyConfigBuilder {
        if let Some(size) = self.max_request_line {
            b = b.max_request_line(size.usize());
        }
        if let Some(size) = self.max_header_section {
            b = b.max_header_section(size.usize());
        }
        if let Some(n) = self.max_connections {
            b = b.max_connections(n);
        }
        if let Some(n) = self.max_upstream_requests {
            b = b.max_upstream_requests(n);
        }
        if let Some(d) = self.queue_timeout {
            b = b.queue_timeout(d.0);
        }
        if let Some(d) = self.client_idle_timeout {
            b = b.client_idle_timeout(d.0);
        }
        b.forwarded(match self.forwarded {
            ForwardedChoice::None => ForwardedHeaders::None,
            ForwardedChoice::XForwarded => ForwardedHeaders::XForwarded,
            ForwardedChoice::Forwarded => ForwardedHeaders::Forwarded,
            ForwardedChoice::Both => ForwardedHeaders::Both,
        })
        .trusted_proxies(self.trusted_proxies.iter().copied())
    }

    /// The cache's configuration: the gateway defaults of webcache-core,
    /// changed by the flags given.
    pub fn cache_config(&self) -> Result<Config, Error> {
        let mut b = Config::gateway_builder().role(match self.role {
            RoleChoice::Gateway => Role::Gateway,
            RoleChoice::Application => Role::Application,
        });
        if let Some(shared) = self.shared {
            b = b.shared(shared);
        }
        if !self.exempt.is_empty() {
            b = b.resource_exemptions(self.exempt.iter().filter(|p| !p.is_empty()).cloned());
        }
        if let Some(salt) = &self.master_salt {
            b = b.master_salt(salt);
        }
        if let Some(honour) = self.request_controls_cache {
            b = b.request_controls_cache(honour);
        }
        if let Some(size) = self.max_body_size {
            b = b.max_body_size(size.usize());
        }
        if let Some(size) = self.max_header_bytes {
            b = b.max_header_bytes(size.usize());
        }
        if let Some(fraction) = self.heuristic_fraction {
            b = b.heuristic_fraction(fraction);
        }
        if let Some(d) = self.heuristic_max {
            b = b.heuristic_max(d.0);
        }
        if let Some(d) = self.refresh_ahead {
            b = b.refresh_ahead(d.0);
        }
        if self.no_cache_status {
            b = b.cache_status(None);
        } else if let Some(name) = &self.cache_status {
            b = b.cache_status(Some(name));
        }
        if let Some(key) = self.cache_status_key {
            b = b.cache_status_key(key);
        }
        if let Some(store) = self.store_set_cookie {
            b = b.store_set_cookie(store);
        }
        if let Some(coalesce) = self.coalesce {
            b = b.coalesce(coalesce);
        }
        if let Some(d) = self.coalesce_timeout {
            b = b.coalesce_timeout(d.0);
        }
        if let Some(d) = self.store_timeout {
            b = b.store_timeout(d.0);
        }
        if let Some(d) = self.stale_retention {
            b = b.stale_retention(d.0);
        }
        if let Some(d) = self.stale_if_unreachable {
            b = b.stale_if_unreachable(Some(d.0));
        }
        if self.stale_on_server_error {
            b = b.stale_on_server_error(true);
        }
        if let Some(d) = self.unreachable_backoff {
            b = b.unreachable_backoff(d.0);
        }
        if let Some(scheme) = &self.default_scheme {
            b = b.default_scheme(scheme);
        }
        if self.no_targeted_fields {
            b = b.targeted_fields([]);
        } else if !self.targeted_fields.is_empty() {
            b = b.targeted_fields(self.targeted_fields.iter().cloned());
        }
        Ok(b.build()?)
    }

    /// Refuses an upstream that is this proxy itself (RFC 9110 §7.6: an
    /// intermediary must not forward a message to itself).
    pub fn check_not_self(&self, config: &ProxyConfig) -> Result<(), Error> {
        let authority: http::uri::Authority = match config.upstream().authority().parse() {
            Ok(a) => a,
            Err(_) => return Ok(()),
        };
        let default_port = if config.upstream().is_https() {
            443
        } else {
            80
        };
        let port = authority.port_u16().unwrap_or(default_port);
        if port != self.listen.port() {
            return Ok(());
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let upstream_ip = if host.eq_ignore_ascii_case("localhost") {
            Some(IpAddr::from([127, 0, 0, 1]))
        } else {
            host.parse::<IpAddr>().ok()
        };
        let listen_ip = self.listen.ip();
        let same = match upstream_ip {
            Some(ip) => ip == listen_ip || (listen_ip.is_unspecified() && ip.is_loopback()),
            None => false,
        };
        if same {
            return Err(Error::Config(
                "the upstream is this proxy's own address: requests would loop",
            ));
        }
        Ok(())
    }
}

// ---- the config file -----------------------------------------------------
//
// The file is generic over the flags: its keys are the long names of the
// command's arguments, found in the clap command itself, and its values
// become those arguments' defaults, parsed by the same value parsers. So a
// flag added to `Args` gets its file key (and, through its `env`
// attribute, its environment variable) with nothing more to write here,
// and clap's order gives the precedence: flag, environment, file, default.

/// `--config FILE` or `--config=FILE` on the command line.
fn config_path(argv: &[std::ffi::OsString]) -> Option<std::ffi::OsString> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            return None;
        }
        if text == "--config" {
            return args.next().cloned();
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(path.into());
        }
    }
    None
}

/// `command` with the settings of the TOML file at `path` as defaults.
pub fn with_config_file(
    command: clap::Command,
    path: &std::path::Path,
) -> Result<clap::Command, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
    with_config_text(command, &text).map_err(|e| format!("config file {}: {e}", path.display()))
}

/// `command` with the settings of a TOML text as defaults.
fn with_config_text(mut command: clap::Command, text: &str) -> Result<clap::Command, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    for (key, value) in table {
        let id = command
            .get_arguments()
            .find(|arg| arg.get_long() == Some(key.as_str()))
            .filter(|_| !matches!(key.as_str(), "config" | "help" | "version"))
            .map(|arg| arg.get_id().clone())
            .ok_or_else(|| format!("unknown key `{key}`"))?;
        let values = toml_values(&key, value)?;
        command = command.mut_arg(id, |arg| arg.required(false).default_values(values));
    }
    Ok(command)
}

/// A TOML value as the command-line values it stands for.
fn toml_values(key: &str, value: toml::Value) -> Result<Vec<String>, String> {
    let scalar = |value: toml::Value| match value {
        toml::Value::String(s) => Ok(s),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!(
            "`{key}` must be a string, a number, a boolean or a list of them"
        )),
    };
    match value {
        toml::Value::Array(items) => items.into_iter().map(scalar).collect(),
        other => scalar(other).map(|one| vec![one]),
    }
}

/// A duration with a unit: `250ms`, `10s`, `5m`, `1h`, `1d`; a bare
/// number is seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl FromStr for HumanDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a duration such as 250ms, 10s, 5m, 1h"))?;
        let millis = match unit.trim() {
            "ms" => Some(n),
            "" | "s" => n.checked_mul(1_000),
            "m" | "min" => n.checked_mul(60_000),
            "h" => n.checked_mul(3_600_000),
            "d" => n.checked_mul(86_400_000),
            other => {
                return Err(format!(
                    "unknown duration unit {other:?} (use ms, s, m, h, d)"
                ));
            }
        };
        millis
            .map(|ms| HumanDuration(Duration::from_millis(ms)))
            .ok_or_else(|| format!("{s:?} is too long"))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A size with a unit: `512KiB`, `64MiB`, `1GiB` (`K`, `M`, `G`, `KB`,
/// ... mean the same powers of 1024); a bare number is bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The size in bytes, saturated to `usize`.
    pub fn usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl FromStr for ByteSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{s:?} is not a size such as 512KiB, 64MiB, 1GiB"))?;
        let shift = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 0,
            "k" | "kb" | "kib" => 10,
            "m" | "mb" | "mib" => 20,
            "g" | "gb" | "gib" => 30,
            other => return Err(format!("unknown size unit {other:?} (use KiB, MiB, GiB)")),
        };
        n.checked_mul(1 << shift)
            .map(ByteSize)
            .ok_or_else(|| format!("{s:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Args::command_line().debug_assert();
    }

    #[test]
    fn durations_and_sizes_take_units() {
        let d = |s: &str| s.parse::<HumanDuration>().map(|d| d.0);
        assert_eq!(d("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(d("10"), Ok(Duration::from_secs(10)));
        assert_eq!(d("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(d("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(d("2d"), Ok(Duration::from_secs(172_800)));
        assert!(d("ten").is_err() && d("5y").is_err() && d("").is_err());
        assert!(d("99999999999999999999d").is_err());
        let b = |s: &str| s.parse::<ByteSize>().map(|b| b.0);
        assert_eq!(b("512"), Ok(512));
        assert_eq!(b("64KiB"), Ok(64 << 10));
        assert_eq!(b("256M"), Ok(256 << 20));
        assert_eq!(b("1gb"), Ok(1 << 30));
        assert!(b("1TB").is_err() && b("-1").is_err());
    }

    #[test]
    fn flags_reach_both_configurations() {
        let args = Args::try_parse_from([
            "webcache-proxy",
            "--upstream",
            "http://origin:3000",
            "--host-header",
            "upstream",
            "--upstream-timeout",
            "2s",
            "--exempt",
            "/admin",
            "--exempt",
            "/login",
            "--max-body-size",
            "1MiB",
            "--shared",
            "false",
            "--no-cache-status",
        ])
        .unwrap();
        let proxy = args.proxy_config().unwrap();
        assert_eq!(proxy.host_header(), HostHeader::Upstream);
        assert_eq!(proxy.response_timeout(), Duration::from_secs(2));
        let cache = args.cache_config().unwrap();
        assert_eq!(cache.role(), Role::Gateway);
        assert!(cache.is_exempt("/admin/x") && cache.is_exempt("/login"));
        assert_eq!(cache.max_body_size(), 1 << 20);
        assert!(!cache.is_shared());
        assert_eq!(cache.cache_status(), None);
        assert!(matches!(args.store_choice(), Ok(StoreChoice::Memory)));
        assert_eq!(
            cache.targeted_fields(),
            ["cdn-cache-control", "surrogate-control"]
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn a_sqlite_store_takes_a_path_and_a_size() {
        for (store, path) in [
            ("sqlite:/var/cache/w.db", "/var/cache/w.db"),
            ("sqlite:w.db", "w.db"),
            ("sqlite:///var/cache/w.db", "/var/cache/w.db"),
        ] {
            let args = Args::try_parse_from(["p", "-u", "http://o", "--store", store]).unwrap();
            match args.store_choice() {
                Ok(StoreChoice::Sqlite(p)) => assert_eq!(p, std::path::Path::new(path)),
                other => panic!("{store}: {other:?}"),
            }
            assert_eq!(args.sqlite_max_size.bytes(), 1 << 30, "the default");
        }
        let args = Args::try_parse_from([
            "p",
            "-u",
            "http://o",
            "--store",
            "sqlite:w.db",
            "--sqlite-max-size",
            "64MiB",
        ])
        .unwrap();
        assert_eq!(args.sqlite_max_size.bytes(), 64 << 20);
    }

    #[test]
    fn targeted_fields_can_be_listed_or_turned_off() {
        let args = Args::try_parse_from([
            "p",
            "-u",
            "http://o",
            "--targeted-field",
            "ExampleCDN-Cache-Control",
            "--targeted-field",
            "CDN-Cache-Control",
        ])
        .unwrap();
        let cache = args.cache_config().unwrap();
        assert_eq!(
            cache.targeted_fields(),
            ["examplecdn-cache-control", "cdn-cache-control"]
        );
        let args = Args::try_parse_from(["p", "-u", "http://o", "--no-targeted-fields"]).unwrap();
        assert!(args.cache_config().unwrap().targeted_fields().is_empty());
        assert!(Args::try_parse_from(["p", "-u", "http://o", "--targeted-field", "a b"]).is_err());
    }

    #[test]
    fn an_upstream_that_is_the_proxy_itself_is_refused() {
        let args = Args::try_parse_from(["p", "-u", "http://localhost:8080", "-l", "0.0.0.0:8080"])
            .unwrap();
        assert!(args.check_not_self(&args.proxy_config().unwrap()).is_err());
        let args =
            Args::try_parse_from(["p", "-u", "http://127.0.0.1:3000", "-l", "127.0.0.1:8080"])
                .unwrap();
        assert!(args.check_not_self(&args.proxy_config().unwrap()).is_ok());
    }

    fn parse_with_file(file: &str, argv: &[&str]) -> Result<Args, String> {
        let command = with_config_text(Args::command_line(), file)?;
        let matches = command
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        Args::from_arg_matches(&matches).map_err(|e| e.to_string())
    }

    #[test]
    fn a_config_file_sets_any_flag_and_flags_override_it() {
        let file = r#"
            upstream = "http://origin:3000"
            memory-capacity = "64MiB"
            exempt = ["/admin", "/login"]
            access-log = true
            shared = false
            max-connections = 12
            client-idle-timeout = 30
            forwarded = "both"
            trusted-proxy = ["10.0.0.0/8"]
        "#;
        let args = parse_with_file(file, &["p"]).unwrap();
        assert_eq!(args.upstream, "http://origin:3000");
        assert_eq!(args.memory_capacity.bytes(), 64 << 20);
        assert!(args.access_log);
        let proxy = args.proxy_config().unwrap();
        assert_eq!(proxy.max_connections(), 12);
        assert_eq!(proxy.client_idle_timeout(), Duration::from_secs(30));
        assert_eq!(proxy.forwarded(), ForwardedHeaders::Both);
        assert_eq!(proxy.trusted_proxies().len(), 1);
        let cache = args.cache_config().unwrap();
        assert!(cache.is_exempt("/login") && !cache.is_shared());
        // A flag wins over the file.
        let args = parse_with_file(file, &["p", "--memory-capacity", "1MiB", "-u", "http://o"]);
        let args = args.unwrap();
        assert_eq!(args.memory_capacity.bytes(), 1 << 20);
        assert_eq!(args.upstream, "http://o");
        // Defaults stay for what the file does not set.
        assert_eq!(args.sqlite_max_size.bytes(), 1 << 30);
    }

    #[test]
    fn a_config_file_with_an_unknown_or_bad_key_is_an_error_naming_it() {
        let error = parse_with_file("upstreams = \"http://o\"", &["p"]).unwrap_err();
        assert!(error.contains("`upstreams`"), "{error}");
        let error = parse_with_file("config = \"x.toml\"", &["p"]).unwrap_err();
        assert!(error.contains("`config`"), "{error}");
        let error = parse_with_file("[cache]\nshared = true", &["p"]).unwrap_err();
        assert!(error.contains("`cache`"), "{error}");
        let error = parse_with_file(
            "upstream = \"http://o\"\nmax-connections = \"many\"",
            &["p"],
        );
        assert!(error.is_err());
        assert!(parse_with_file("not toml", &["p"]).is_err());
    }

    #[test]
    fn the_config_path_is_found_on_the_command_line() {
        let argv = |a: &[&str]| {
            a.iter()
                .map(|s| s.into())
                .collect::<Vec<std::ffi::OsString>>()
        };
        assert_eq!(
            config_path(&argv(&["p", "--config", "a.toml"])),
            Some("a.toml".into())
        );
        assert_eq!(
            config_path(&argv(&["p", "-u", "x", "--config=b.toml"])),
            Some("b.toml".into())
        );
        assert_eq!(config_path(&argv(&["p", "-u", "x"])), None);
    }

    #[test]
    fn bad_values_are_reported() {
        let args = Args::try_parse_from(["p", "-u", "ftp://origin"]).unwrap();
        assert!(args.proxy_config().is_err());
        let args =
            Args::try_parse_from(["p", "-u", "http://o", "--heuristic-fraction", "2"]).unwrap();
        assert!(args.cache_config().is_err());
        for store in ["memcached://x", "sqlite:", "sqlite://", "rediss://r:6380"] {
            let args = Args::try_parse_from(["p", "-u", "http://o", "--store", store]).unwrap();
            assert!(args.store_choice().is_err(), "{store}");
        }
    }
}

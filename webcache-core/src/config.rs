//! Cache configuration, with documented defaults.
//!
//! ```
//! use std::time::Duration;
//! use webcache_core::Config;
//!
//! let config = Config::builder()
//!     .resource_exemptions(["/static/", "/admin"])
//!     .master_salt("release-42")
//!     .max_body_size(1 << 20)
//!     .refresh_ahead(Duration::from_secs(5))
//!     .build()
//!     .unwrap();
//! assert!(config.is_shared());
//! assert!(config.is_exempt("/admin/users"));
//! ```

use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;

use crate::error::Error;
use crate::headers::list::is_token;

/// What the cache does with the responses it forwards besides caching them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The cache sits inside the application, in front of its handlers, and
    /// finishes the origin's job on the way out: it adds a strong `ETag`
    /// computed from the body when the handler set none, and evaluates the
    /// client's preconditions (RFC 9110 §13.2) on GET and HEAD responses,
    /// answering 304 or 412. This is the default for the framework
    /// adapters.
    Application,
    /// The cache is an intermediary in front of another server (the
    /// reverse proxy): it never invents validators and evaluates a client's
    /// preconditions only against responses it serves from storage (RFC
    /// 9111 §4.3.2); on a miss they go to the origin untouched.
    Gateway,
}

/// Cache configuration. Build one with [`Config::builder`]; `Config::default()`
/// is the builder's defaults.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) shared: bool,
    pub(crate) role: Role,
    pub(crate) resource_exemptions: Vec<String>,
    pub(crate) master_salt: Vec<u8>,
    pub(crate) request_controls_cache: bool,
    pub(crate) max_body_size: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) heuristic_fraction: f64,
    pub(crate) heuristic_max: Duration,
    pub(crate) refresh_ahead: Option<Duration>,
    pub(crate) cache_status: Option<String>,
    pub(crate) cache_status_key: bool,
    pub(crate) store_set_cookie: bool,
    pub(crate) coalesce: bool,
    pub(crate) coalesce_timeout: Duration,
    pub(crate) store_timeout: Duration,
    pub(crate) stale_retention: Duration,
    pub(crate) stale_if_unreachable: Option<Duration>,
    pub(crate) stale_on_server_error: bool,
    pub(crate) unreachable_backoff: Duration,
    pub(crate) default_scheme: String,
    // Behind one pointer: Config is moved around by value.
    pub(crate) targeted_fields: Arc<Vec<HeaderName>>,
    pub(crate) tag_fields: Arc<Vec<crate::purge::TagField>>,
    pub(crate) keep_tags: bool,
}

impl Default for Config {
    fn default() -> Self {
        ConfigBuilder::default().config
    }
}

impl Config {
    /// A builder starting from the defaults listed on each of its methods.
    ///
    /// ```
    /// use webcache_core::{Config, Role};
    /// let config = Config::builder().build()?;
    /// assert!(config.is_shared());
    /// assert_eq!(config.role(), Role::Application);
    /// assert_eq!(config.cache_status(), Some("webcache"));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A builder with the defaults for a caching reverse proxy: shared,
    /// [`Role::Gateway`], obeying `CDN-Cache-Control` (RFC 9213) and, after
    /// it, `Surrogate-Control` (Edge Architecture 1.0).
    ///
    /// ```
    /// use webcache_core::{Config, Role};
    /// let config = Config::gateway_builder().build()?;
    /// assert_eq!(config.role(), Role::Gateway);
    /// assert_eq!(config.targeted_fields(), ["cdn-cache-control", "surrogate-control"]);
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn gateway_builder() -> ConfigBuilder {
        ConfigBuilder::default()
            .role(Role::Gateway)
            .targeted_fields([
                crate::targeted::CDN_CACHE_CONTROL,
                crate::targeted::SURROGATE_CONTROL,
            ])
    }

    /// True for a shared cache (RFC 9111 §1).
    pub fn is_shared(&self) -> bool {
        self.shared
    }
    /// The cache's role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// True when `path` starts with one of the resource exemptions.
    pub fn is_exempt(&self, path: &str) -> bool {
        self.resource_exemptions
            .iter()
            .any(|prefix| path.starts_with(prefix.as_str()))
    }
    /// The master salt mixed into every key.
    pub fn master_salt(&self) -> &[u8] {
        &self.master_salt
    }
    /// Whether request Cache-Control directives are honoured.
    pub fn request_controls_cache(&self) -> bool {
        self.request_controls_cache
    }
    /// The largest body that is stored.
    pub fn max_body_size(&self) -> usize {
        self.max_body_size
    }
    /// The largest header section that is stored.
    pub fn max_header_bytes(&self) -> usize {
        self.max_header_bytes
    }
    /// The fraction of the time since Last-Modified used as heuristic
    /// freshness (RFC 9111 §4.2.2).
    pub fn heuristic_fraction(&self) -> f64 {
        self.heuristic_fraction
    }
    /// The cap on heuristic freshness.
    pub fn heuristic_max(&self) -> Duration {
        self.heuristic_max
    }
    /// The refresh-ahead threshold, if enabled.
    pub fn refresh_ahead(&self) -> Option<Duration> {
        self.refresh_ahead
    }
    /// The Cache-Status cache name, when Cache-Status is enabled.
    pub fn cache_status(&self) -> Option<&str> {
        self.cache_status.as_deref()
    }
    /// Whether Cache-Status carries the `key` parameter.
    pub fn cache_status_key(&self) -> bool {
        self.cache_status_key
    }
    /// Whether a shared cache stores responses carrying Set-Cookie without
    /// `public` or `s-maxage`.
    pub fn store_set_cookie(&self) -> bool {
        self.store_set_cookie
    }
    /// Whether concurrent misses are collapsed into one forward request.
    pub fn coalesce(&self) -> bool {
        self.coalesce
    }
    /// How long a collapsed request waits for the one in flight.
    pub fn coalesce_timeout(&self) -> Duration {
        self.coalesce_timeout
    }
    /// The bound on each store operation.
    pub fn store_timeout(&self) -> Duration {
        self.store_timeout
    }
    /// How long a response is kept after it becomes stale.
    pub fn stale_retention(&self) -> Duration {
        self.stale_retention
    }
    /// How stale a stored response may be served when the upstream cannot
    /// be reached; `None` (the default) serves none.
    pub fn stale_if_unreachable(&self) -> Option<Duration> {
        self.stale_if_unreachable
    }
    /// True when a 500, 502, 503 or 504 answering a validation counts as
    /// the upstream being unreachable; false by default.
    pub fn stale_on_server_error(&self) -> bool {
        self.stale_on_server_error
    }
    /// How long after an upstream failure for a resource the cache serves
    /// it stale without asking the upstream again.
    pub fn unreachable_backoff(&self) -> Duration {
        self.unreachable_backoff
    }
    /// The scheme assumed when the request line carries none.
    pub fn default_scheme(&self) -> &str {
        &self.default_scheme
    }
    /// The targeted cache-control fields this cache obeys, most specific
    /// first (RFC 9213 §2.2).
    pub fn targeted_fields(&self) -> &[HeaderName] {
        &self.targeted_fields
    }
    /// The fields that name a response's tags (see [`crate::purge`]).
    pub fn tag_fields(&self) -> &[crate::purge::TagField] {
        &self.tag_fields
    }
    /// Whether tag fields reach clients (by default they are removed).
    pub fn keep_tags(&self) -> bool {
        self.keep_tags
    }
}

/// Builds a [`Config`].
#[derive(Clone, Debug)]
pub struct ConfigBuilder {
    config: Config,
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            config: Config {
                shared: true,
                role: Role::Application,
                resource_exemptions: Vec::new(),
                master_salt: Vec::new(),
                request_controls_cache: true,
                max_body_size: 8 << 20,
                max_header_bytes: 64 << 10,
                heuristic_fraction: 0.1,
                heuristic_max: Duration::from_secs(24 * 60 * 60),
                refresh_ahead: None,
                cache_status: Some("webcache".to_owned()),
                cache_status_key: false,
                store_set_cookie: false,
                coalesce: true,
                coalesce_timeout: Duration::from_secs(10),
                store_timeout: Duration::from_millis(250),
                stale_retention: Duration::from_secs(60 * 60),
                stale_if_unreachable: None,
                stale_on_server_error: false,
                unreachable_backoff: Duration::from_secs(1),
                default_scheme: "http".to_owned(),
                targeted_fields: Arc::default(),
                tag_fields: Arc::new(crate::purge::default_tag_fields()),
                keep_tags: false,
            },
        }
    }
}

impl ConfigBuilder {
    /// Shared cache (`true`, the default: a cache in front of an
    /// application serves many users) or private cache (`false`).
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().shared(false).build()?;
    /// assert!(!config.is_shared());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn shared(mut self, shared: bool) -> Self {
        self.config.shared = shared;
        self
    }

    /// The cache's [`Role`]; default [`Role::Application`].
    ///
    /// ```
    /// use webcache_core::Config;
    /// use webcache_core::Role;
    /// let config = Config::builder().role(Role::Gateway).build()?;
    /// assert_eq!(config.role(), Role::Gateway);
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn role(mut self, role: Role) -> Self {
        self.config.role = role;
        self
    }

    /// URL path prefixes that are never looked up nor stored; default none.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().resource_exemptions(["/static/", "/admin/"]).build()?;
    /// assert!(config.is_exempt("/admin/users"));
    /// assert!(!config.is_exempt("/products"));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn resource_exemptions<I, T>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.config.resource_exemptions = prefixes.into_iter().map(Into::into).collect();
        self
    }

    /// A salt mixed into every key: changing it invalidates the whole
    /// cache. Default empty.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().master_salt("release-42").build()?;
    /// assert_eq!(config.master_salt(), b"release-42");
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn master_salt(mut self, salt: impl AsRef<[u8]>) -> Self {
        self.config.master_salt = salt.as_ref().to_vec();
        self
    }

    /// Honour request Cache-Control directives (`true`, the default).
    ///
    /// `false` ignores `no-cache`, `max-age`, `max-stale`, `min-fresh`,
    /// `no-store` and `only-if-cached` in requests. This is **not
    /// compliant** with RFC 9111 §5.2.1 (which lets a cache ignore them but
    /// not `no-store`), and is there for sites where clients must not be able
    /// to bypass the cache.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().request_controls_cache(false).build()?;
    /// assert!(!config.request_controls_cache());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn request_controls_cache(mut self, honour: bool) -> Self {
        self.config.request_controls_cache = honour;
        self
    }

    /// The largest response body stored; larger ones stream through and are
    /// not stored. Default 8 MiB.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().max_body_size(1 << 20).build()?; // 1 MiB
    /// assert_eq!(config.max_body_size(), 1 << 20);
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.config.max_body_size = bytes;
        self
    }

    /// The largest response header section stored, and the largest total of
    /// request header values a response may vary on. Default 64 KiB.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().max_header_bytes(16 << 10).build()?;
    /// assert_eq!(config.max_header_bytes(), 16 << 10);
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.config.max_header_bytes = bytes;
        self
    }

    /// The fraction of the interval since Last-Modified used as heuristic
    /// freshness (RFC 9111 §4.2.2); default 0.1, must be within 0..=1.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().heuristic_fraction(0.05).build()?;
    /// assert_eq!(config.heuristic_fraction(), 0.05);
    /// assert!(Config::builder().heuristic_fraction(1.5).build().is_err());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn heuristic_fraction(mut self, fraction: f64) -> Self {
        self.config.heuristic_fraction = fraction;
        self
    }

    /// The cap on heuristic freshness; default 24 hours.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder().heuristic_max(Duration::from_secs(3600)).build()?;
    /// assert_eq!(config.heuristic_max(), Duration::from_secs(3600));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn heuristic_max(mut self, max: Duration) -> Self {
        self.config.heuristic_max = max;
        self
    }

    /// Refresh ahead (the original's "preemptive recache"): when a hit has
    /// less than `threshold` of freshness left, serve it and refresh it in
    /// the background, at most one refresh per resource at a time. Default
    /// off.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder().refresh_ahead(Duration::from_secs(5)).build()?;
    /// assert_eq!(config.refresh_ahead(), Some(Duration::from_secs(5)));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn refresh_ahead(mut self, threshold: Duration) -> Self {
        self.config.refresh_ahead = Some(threshold);
        self
    }

    /// Add a Cache-Status field (RFC 9211) naming this cache `name`; `None`
    /// turns it off. Default `Some("webcache")`. The name must be a token.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().cache_status(Some("edge-1")).build()?;
    /// assert_eq!(config.cache_status(), Some("edge-1"));
    /// assert_eq!(Config::builder().cache_status(None).build()?.cache_status(), None);
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn cache_status(mut self, name: Option<&str>) -> Self {
        self.config.cache_status = name.map(str::to_owned);
        self
    }

    /// Include the `key` parameter (the effective request URI) in
    /// Cache-Status; default off.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().cache_status_key(true).build()?;
    /// assert!(config.cache_status_key());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn cache_status_key(mut self, include: bool) -> Self {
        self.config.cache_status_key = include;
        self
    }

    /// Let a shared cache store responses that set cookies even without
    /// `public` or `s-maxage`. Default `false`: such responses are not
    /// stored, the one documented deviation (RFC 9111 §7.3 allows storing
    /// them; Varnish and nginx refuse by default, and a leaked session
    /// cookie is worse than a miss).
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().store_set_cookie(true).build()?;
    /// assert!(config.store_set_cookie());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn store_set_cookie(mut self, store: bool) -> Self {
        self.config.store_set_cookie = store;
        self
    }

    /// Collapse concurrent misses for one key into one forward request
    /// (RFC 9111 §4); default on.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().coalesce(false).build()?;
    /// assert!(!config.coalesce());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn coalesce(mut self, coalesce: bool) -> Self {
        self.config.coalesce = coalesce;
        self
    }

    /// How long a collapsed request waits for the request in flight before
    /// going forward itself; default 10 s.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder().coalesce_timeout(Duration::from_secs(2)).build()?;
    /// assert_eq!(config.coalesce_timeout(), Duration::from_secs(2));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn coalesce_timeout(mut self, timeout: Duration) -> Self {
        self.config.coalesce_timeout = timeout;
        self
    }

    /// The bound on each store operation; past it the cache fails open.
    /// Default 250 ms.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder().store_timeout(Duration::from_millis(50)).build()?;
    /// assert_eq!(config.store_timeout(), Duration::from_millis(50));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.config.store_timeout = timeout;
        self
    }

    /// How long a response is kept after it becomes stale, for revalidation,
    /// `max-stale` and `stale-if-error`; default 1 hour.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder().stale_retention(Duration::from_secs(86_400)).build()?;
    /// assert_eq!(config.stale_retention(), Duration::from_secs(86_400));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn stale_retention(mut self, retention: Duration) -> Self {
        self.config.stale_retention = retention;
        self
    }

    /// Serve a stored response up to `window` stale when the upstream
    /// cannot be reached (no response: refused, reset, closed or timed
    /// out, an error from [`Upstream::call`](crate::Upstream::call)), as
    /// RFC 9111 §4.2.4 allows a disconnected cache — never when the stored
    /// response forbids serving it stale (`no-cache`, `must-revalidate`,
    /// and in a shared cache `proxy-revalidate` and `s-maxage`), nor when
    /// the request asked for validation (`no-cache`, `max-age`,
    /// `min-fresh`). Marked `Cache-Status: …; fwd=stale;
    /// detail=unreachable`. `None` (the default) serves nothing stale on
    /// an outage beyond what `stale-if-error` allows. Responses are kept
    /// [`stale_retention`](Self::stale_retention) past their freshness, so
    /// a longer window needs a longer retention.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder()
    ///     .stale_if_unreachable(Some(Duration::from_secs(600)))
    ///     .stale_retention(Duration::from_secs(600))
    ///     .build()?;
    /// assert_eq!(config.stale_if_unreachable(), Some(Duration::from_secs(600)));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn stale_if_unreachable(mut self, window: Option<Duration>) -> Self {
        self.config.stale_if_unreachable = window;
        self
    }

    /// Treat a 500, 502, 503 or 504 answering a validation as the upstream
    /// being unreachable, for [`stale_if_unreachable`](Self::stale_if_unreachable):
    /// an out-of-band agreement with the origin that RFC 9111 §4.2.4
    /// requires before serving stale on such answers. Off by default.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder()
    ///     .stale_if_unreachable(Some(Duration::from_secs(60)))
    ///     .stale_on_server_error(true)
    ///     .build()?;
    /// assert!(config.stale_on_server_error());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn stale_on_server_error(mut self, stale: bool) -> Self {
        self.config.stale_on_server_error = stale;
        self
    }

    /// After the upstream failed for a resource, how long requests that
    /// may be served stale get the stored response without another attempt
    /// (so a dead origin is not hammered); default 1 s.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use std::time::Duration;
    /// let config = Config::builder().unreachable_backoff(Duration::from_secs(5)).build()?;
    /// assert_eq!(config.unreachable_backoff(), Duration::from_secs(5));
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn unreachable_backoff(mut self, backoff: Duration) -> Self {
        self.config.unreachable_backoff = backoff;
        self
    }

    /// The scheme assumed for the cache key when the request line carries
    /// none (origin-form requests); default `http`.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().default_scheme("HTTPS").build()?;
    /// assert_eq!(config.default_scheme(), "https");
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn default_scheme(mut self, scheme: &str) -> Self {
        self.config.default_scheme = scheme.to_ascii_lowercase();
        self
    }

    /// The targeted cache-control fields (RFC 9213) this cache obeys, most
    /// specific first: the first one a response carries with a valid value
    /// replaces its Cache-Control and Expires for this cache (see
    /// [`crate::targeted`]). Default none; [`Config::gateway_builder`]
    /// starts from `CDN-Cache-Control`, then `Surrogate-Control`.
    ///
    /// ```
    /// use webcache_core::Config;
    /// use webcache_core::targeted::CDN_CACHE_CONTROL;
    /// let config = Config::builder().targeted_fields([CDN_CACHE_CONTROL]).build()?;
    /// assert_eq!(config.targeted_fields(), [CDN_CACHE_CONTROL]);
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn targeted_fields<I: IntoIterator<Item = HeaderName>>(mut self, names: I) -> Self {
        self.config.targeted_fields = Arc::new(names.into_iter().collect());
        self
    }

    /// The fields that name a response's tags, for
    /// [`Cache::purge_tag`](crate::Cache::purge_tag). Default
    /// `Surrogate-Key` (space-separated) and `Cache-Tag` (comma-separated);
    /// none turns tags off.
    ///
    /// ```
    /// use http::HeaderName;
    /// use webcache_core::Config;
    /// use webcache_core::purge::{TagField, TagSeparator};
    ///
    /// let config = Config::builder()
    ///     .tag_fields([TagField { name: HeaderName::from_static("x-tags"), separator: TagSeparator::Comma }])
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(config.tag_fields()[0].name, "x-tags");
    /// ```
    pub fn tag_fields<I: IntoIterator<Item = crate::purge::TagField>>(mut self, fields: I) -> Self {
        self.config.tag_fields = Arc::new(fields.into_iter().collect());
        self
    }

    /// Keeps the tag fields on responses sent to clients (a cache in
    /// front of another that purges by tag). Default false: they are
    /// removed from every response, stored or not.
    pub fn keep_tags(mut self, keep: bool) -> Self {
        self.config.keep_tags = keep;
        self
    }

    /// Checks the values and returns the configuration.
    ///
    /// ```
    /// use webcache_core::Config;
    /// let config = Config::builder().resource_exemptions(["/static/"]).build()?;
    /// assert!(config.is_exempt("/static/app.css"));
    /// assert!(Config::builder().cache_status(Some("not a token")).build().is_err());
    /// # Ok::<(), webcache_core::Error>(())
    /// ```
    pub fn build(self) -> Result<Config, Error> {
        let c = &self.config;
        if !(0.0..=1.0).contains(&c.heuristic_fraction) {
            return Err(Error::Config("heuristic_fraction must be within 0..=1"));
        }
        if let Some(name) = &c.cache_status {
            if !is_token(name.as_bytes()) {
                return Err(Error::Config("the Cache-Status name must be a token"));
            }
        }
        if !matches!(c.default_scheme.as_str(), "http" | "https") {
            return Err(Error::Config("default_scheme must be http or https"));
        }
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rejects_bad_values() {
        assert!(Config::builder().heuristic_fraction(1.5).build().is_err());
        assert!(Config::builder().cache_status(Some("a b")).build().is_err());
        assert!(Config::builder().default_scheme("ftp").build().is_err());
        assert!(Config::builder().build().is_ok());
    }
}

//! Header helpers as a Rocket responder.

use std::time::{Duration, SystemTime};

use http::header::{
    CACHE_CONTROL, ETAG, EXPIRES, HeaderMap, HeaderName, HeaderValue, LAST_MODIFIED, VARY,
};
use rocket::response::{self, Responder};
use rocket::{Request, Response};
use webcache_core::headers::{CacheControl, EntityTag};
use webcache_core::modifiers::CacheHeaders;

/// The fields [`CacheHeaders`] may set.
static FIELDS: [HeaderName; 6] = [
    CACHE_CONTROL,
    EXPIRES,
    LAST_MODIFIED,
    ETAG,
    VARY,
    HeaderName::from_static("surrogate-key"),
];

/// A responder with caching header fields: wraps any responder `R` and sets
/// `Cache-Control`, `Expires`, `Last-Modified`, `ETag`, `Vary` and the
/// tags (`Surrogate-Key`) as [`CacheHeaders`] says, over what `R` set.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use rocket::get;
/// use webcache_core::headers::CacheControl;
/// use webcache_rocket::Cached;
///
/// #[get("/news")]
/// fn news() -> Cached<String> {
///     Cached::cache_for(Duration::from_secs(300), "today".to_string())
///         .last_modified(SystemTime::now())
///         .vary(["accept-language"])
/// }
///
/// #[get("/account")]
/// fn account() -> Cached<&'static str> {
///     Cached::dont_cache("yours only")
/// }
///
/// #[get("/shared")]
/// fn shared() -> Cached<&'static str> {
///     let cc = CacheControl::new().with_public().with_s_maxage(Duration::from_secs(600));
///     Cached::cache_control(cc, "for everyone")
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Cached<R> {
    headers: CacheHeaders,
    inner: R,
}

impl<R> Cached<R> {
    /// `inner` with the fields of `headers`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_core::modifiers::CacheHeaders;
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/")]
    /// fn index() -> Cached<&'static str> {
    ///     Cached::new(CacheHeaders::cache_for(Duration::from_secs(60)).vary(["accept-language"]), "hello")
    /// }
    /// ```
    pub fn new(headers: CacheHeaders, inner: R) -> Self {
        Cached { headers, inner }
    }

    /// `Cache-Control: max-age=<ttl>` and a matching `Expires`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/")]
    /// fn index() -> Cached<&'static str> {
    ///     Cached::cache_for(Duration::from_secs(60), "hello")
    /// }
    /// ```
    pub fn cache_for(ttl: Duration, inner: R) -> Self {
        Self::new(CacheHeaders::cache_for(ttl), inner)
    }

    /// `Cache-Control: no-store`: never stored by any cache.
    ///
    /// ```
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/basket")]
    /// fn basket() -> Cached<&'static str> {
    ///     Cached::dont_cache("3 items")
    /// }
    /// ```
    pub fn dont_cache(inner: R) -> Self {
        Self::new(CacheHeaders::dont_cache(), inner)
    }

    /// `Cache-Control: private`: stored only by the user's own cache.
    ///
    /// ```
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/me")]
    /// fn me() -> Cached<&'static str> {
    ///     Cached::private("account")
    /// }
    /// ```
    pub fn private(inner: R) -> Self {
        Self::new(CacheHeaders::private(), inner)
    }

    /// Any Cache-Control, built with typed directives.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_core::headers::CacheControl;
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/")]
    /// fn index() -> Cached<&'static str> {
    ///     Cached::cache_control(CacheControl::new().with_max_age(Duration::from_secs(10)).with_stale_if_error(Duration::from_secs(600)), "hello")
    /// }
    /// ```
    pub fn cache_control(cc: CacheControl, inner: R) -> Self {
        Self::new(CacheHeaders::cache_control(cc), inner)
    }

    /// Adds `Last-Modified`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/")]
    /// fn index() -> Cached<&'static str> {
    ///     let updated = SystemTime::now() - Duration::from_secs(3600);
    ///     Cached::cache_for(Duration::from_secs(60), "article").last_modified(updated)
    /// }
    /// ```
    pub fn last_modified(mut self, at: SystemTime) -> Self {
        self.headers = self.headers.last_modified(at);
        self
    }

    /// Adds `ETag`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_core::headers::EntityTag;
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/")]
    /// fn index() -> Cached<&'static str> {
    ///     Cached::cache_for(Duration::from_secs(60), "hello").etag(EntityTag::strong("v42").expect("a valid opaque tag"))
    /// }
    /// ```
    pub fn etag(mut self, tag: EntityTag) -> Self {
        self.headers = self.headers.etag(tag);
        self
    }

    /// Adds names to `Vary`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use rocket::get;
    /// use webcache_rocket::Cached;
    ///
    /// #[get("/")]
    /// fn index() -> Cached<&'static str> {
    ///     Cached::cache_for(Duration::from_secs(60), "hello").vary(["accept-language"])
    /// }
    /// ```
    pub fn vary<I, N>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = N>,
        N: AsRef<str>,
    {
        self.headers = self.headers.vary(names);
        self
    }

    /// Adds tags (`Surrogate-Key`) for
    /// [`Cache::purge_tag`](webcache_core::Cache::purge_tag); the cache
    /// removes the field before the response reaches a client. See
    /// [`CacheHeaders::tags`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use webcache_rocket::Cached;
    ///
    /// let page = Cached::cache_for(Duration::from_secs(60), "42").tags(["product-42"]);
    /// # let _ = page;
    /// ```
    pub fn tags<I, T>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.headers = self.headers.tags(tags);
        self
    }
}

impl<'r, 'o: 'r, R: Responder<'r, 'o>> Responder<'r, 'o> for Cached<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'o> {
        let mut response = self.inner.respond_to(request)?;
        apply(&self.headers, &mut response);
        Ok(response)
    }
}

/// Applies `headers` to the caching fields of `response`.
fn apply(headers: &CacheHeaders, response: &mut Response<'_>) {
    let mut fields = HeaderMap::new();
    for name in &FIELDS {
        for value in response.headers().get(name.as_str()) {
            if let Ok(value) = HeaderValue::from_str(value) {
                fields.append(name.clone(), value);
            }
        }
    }
    headers.apply(&mut fields, SystemTime::now());
    for name in &FIELDS {
        response.remove_header(name.as_str());
        for value in fields.get_all(name) {
            if let Ok(value) = value.to_str() {
                response.adjoin_raw_header(name.as_str(), value.to_owned());
            }
        }
    }
}

//! Custom behaviours for the cache, one small trait each (see
//! `webcache::handler`): a key that ignores a tracking query parameter, an
//! ETag made from the release's version number, and a storability rule.
//! `examples/mixins.rs` serves them; the tests below prove each one.

use std::hash::{DefaultHasher, Hasher};

use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri};
use webcache::handler::{Retrieval, Storability, Validation};
use webcache::headers::{CacheControl, EntityTag};
use webcache::key::PrimaryKey;
use webcache::request::RequestFacts;
use webcache::storage::{self, NotStorable};
use webcache::{Cache, Config, Store};

/// Keys a request without the named query parameters (`utm_source`,
/// `utm_campaign`, …), so that links tagged for analytics share the one
/// stored response of the page. Everything else keys as the default does.
pub struct IgnoreQueryParams {
    /// Parameters dropped from the key: exact names, or prefixes ending in `*`.
    pub names: Vec<&'static str>,
}

impl IgnoreQueryParams {
    fn ignored(&self, pair: &str) -> bool {
        let name = pair.split('=').next().unwrap_or(pair);
        self.names.iter().any(|n| match n.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *n,
        })
    }
}

impl Retrieval for IgnoreQueryParams {
    fn primary_key(&self, parts: &Parts, config: &Config) -> PrimaryKey {
        let Some(query) = parts.uri.query() else {
            return PrimaryKey::from_request(parts, config);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !self.ignored(pair))
            .collect();
        let path_and_query = if kept.is_empty() {
            parts.uri.path().to_owned()
        } else {
            format!("{}?{}", parts.uri.path(), kept.join("&"))
        };
        let mut uri = parts.uri.clone().into_parts();
        match path_and_query.parse() {
            Ok(pq) => uri.path_and_query = Some(pq),
            // Unreachable for a URI that parsed; key it as it came.
            Err(_) => return PrimaryKey::from_request(parts, config),
        }
        let mut keyed = parts.clone();
        keyed.uri = Uri::from_parts(uri).unwrap_or_else(|_| parts.uri.clone());
        PrimaryKey::from_request(&keyed, config)
    }
}

/// ETags made from the release's version and a fast hash of the body,
/// instead of SHA-256: every tag changes with a deploy, and two bodies of
/// one release get different tags.
pub struct ReleaseEtag {
    /// The release, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
}

impl Validation for ReleaseEtag {
    fn etag(&self, body: &[u8]) -> Option<EntityTag> {
        // SipHash with fixed keys: the same body gives the same tag in every
        // process of one release (not a cryptographic hash: the tag is a
        // validator, not a secret).
        let mut hasher = DefaultHasher::new();
        hasher.write(body);
        EntityTag::strong(format!("{}-{:016x}", self.version, hasher.finish()))
    }
}

/// Stores what RFC 9111 allows, except responses marked `X-Draft: true`
/// (previews an editor looks at must never reach other readers).
pub struct SkipDrafts;

impl Storability for SkipDrafts {
    fn is_storable(
        &self,
        request: &RequestFacts,
        status: StatusCode,
        headers: &HeaderMap,
        cc: &CacheControl,
        config: &Config,
    ) -> Result<(), NotStorable> {
        if headers.get("x-draft").is_some_and(|v| v == "true") {
            return Err(NotStorable::NotCacheable);
        }
        storage::is_storable(request, status, headers, cc, config)
    }
}

/// A cache over `store` with the three behaviours above.
pub fn custom_cache<S: Store>(
    store: S,
    config: Config,
) -> Cache<S, webcache::handler::Mixins<IgnoreQueryParams, ReleaseEtag, SkipDrafts>> {
    Cache::builder(store)
        .config(config)
        .retrieval(IgnoreQueryParams {
            names: vec!["utm_*", "fbclid"],
        })
        .validation(ReleaseEtag {
            version: env!("CARGO_PKG_VERSION"),
        })
        .storability(SkipDrafts)
        .build()
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::body::Bytes;
    use axum::http::{Request, Response};
    use http_body_util::Full;
    use webcache::Upstream;
    use webcache::memory::MemoryStore;

    use super::*;

    /// The application: counts its calls, marks `/draft` as a draft.
    #[derive(Clone, Default)]
    struct App(Arc<AtomicUsize>);

    impl Upstream<Full<Bytes>> for App {
        type Body = Full<Bytes>;
        type Error = Infallible;
        async fn call(
            &mut self,
            req: Request<Full<Bytes>>,
        ) -> Result<Response<Full<Bytes>>, Infallible> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let mut response = Response::builder().header("cache-control", "max-age=60");
            if req.uri().path() == "/draft" {
                response = response.header("x-draft", "true");
            }
            Ok(response
                .body(Full::new(Bytes::from(format!("page {}", req.uri().path()))))
                .expect("a valid response"))
        }
    }

    fn get(uri: &str) -> Request<Full<Bytes>> {
        Request::get(uri)
            .body(Full::default())
            .expect("a valid request")
    }

    fn cache()
    -> Cache<MemoryStore, webcache::handler::Mixins<IgnoreQueryParams, ReleaseEtag, SkipDrafts>>
    {
        custom_cache(MemoryStore::new(1 << 20), Config::default())
    }

    #[tokio::test]
    async fn rfc9111_4_a_tracking_parameter_does_not_make_another_cache_key() {
        let (cache, app) = (cache(), App::default());
        cache
            .serve(get("http://shop.test/p?id=1&utm_source=news"), app.clone())
            .await
            .unwrap();
        let hit = cache
            .serve(get("http://shop.test/p?id=1&utm_campaign=x"), app.clone())
            .await
            .unwrap();
        assert!(
            hit.headers()["cache-status"]
                .to_str()
                .unwrap()
                .contains("hit")
        );
        let other = cache
            .serve(get("http://shop.test/p?id=2"), app.clone())
            .await
            .unwrap();
        assert!(
            other.headers()["cache-status"]
                .to_str()
                .unwrap()
                .contains("fwd=uri-miss")
        );
        assert_eq!(app.0.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn rfc9110_8_8_3_the_generated_etag_names_the_release() {
        let (cache, app) = (cache(), App::default());
        let response = cache
            .serve(get("http://shop.test/a"), app.clone())
            .await
            .unwrap();
        let tag = response.headers()["etag"].to_str().unwrap().to_owned();
        assert!(
            tag.starts_with(&format!("\"{}-", env!("CARGO_PKG_VERSION"))),
            "{tag}"
        );
        let other = cache.serve(get("http://shop.test/b"), app).await.unwrap();
        assert_ne!(other.headers()["etag"].to_str().unwrap(), tag);
    }

    #[tokio::test]
    async fn rfc9111_3_a_draft_is_never_stored() {
        let (cache, app) = (cache(), App::default());
        cache
            .serve(get("http://shop.test/draft"), app.clone())
            .await
            .unwrap();
        let again = cache
            .serve(get("http://shop.test/draft"), app.clone())
            .await
            .unwrap();
        assert!(
            !again.headers()["cache-status"]
                .to_str()
                .unwrap()
                .contains("hit")
        );
        assert_eq!(app.0.load(Ordering::SeqCst), 2);
    }
}

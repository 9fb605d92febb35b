//! The demo applications behind the examples, as functions, so that the
//! examples stay short and the tests can serve exactly what a user runs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use webcache_axum::{CacheLayer, Caching, cache_control, cache_for};
use webcache_core::Store;
use webcache_core::handler::Policy;
use webcache_core::headers::CacheControl;

/// Seconds since the epoch, to show in bodies whether a response is new.
fn stamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The quickstart's routes, without the cache.
pub fn demo_routes() -> Router {
    Router::new()
        .route("/", get(index))
        // An expensive page, cacheable for 30 s.
        .route(
            "/expensive",
            get(expensive).layer(cache_for(Duration::from_secs(30))),
        )
        // Negotiated by language: one stored response per Accept-Language.
        .route("/hello", get(hello))
        // Per user: `private`, never stored by the shared cache.
        .route("/me", get(me))
        // Served stale for 30 s while refreshed in the background.
        .route(
            "/news",
            get(news).layer(cache_control(
                CacheControl::new()
                    .with_max_age(Duration::from_secs(5))
                    .with_stale_while_revalidate(Duration::from_secs(30)),
            )),
        )
        // Exempt: `easy_setup` never stores `/static/`.
        .route(
            "/static/app.css",
            get(css).layer(cache_for(Duration::from_secs(3600))),
        )
}

/// The quickstart application: [`demo_routes`] behind the cache.
pub fn demo_app<S: Store, M: Policy>(cache: CacheLayer<S, M>) -> Router {
    demo_routes().layer(cache)
}

async fn index() -> &'static str {
    "webcache demo: /expensive /hello /me /news /static/app.css\n"
}

async fn expensive() -> String {
    // Pretend to work hard.
    tokio::time::sleep(Duration::from_millis(500)).await;
    format!("computed the hard way at {}\n", stamp())
}

async fn hello(headers: HeaderMap) -> (Caching, String) {
    let lang = headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en");
    let greeting = if lang.starts_with("de") {
        "Hallo"
    } else if lang.starts_with("fr") {
        "Bonjour"
    } else {
        "Hello"
    };
    (
        Caching::cache_for(Duration::from_secs(60)).vary(["accept-language"]),
        format!("{greeting} (rendered at {})\n", stamp()),
    )
}

async fn me() -> (Caching, String) {
    (
        Caching::private(),
        format!("your account, rendered at {}\n", stamp()),
    )
}

async fn news() -> String {
    format!("news as of {}\n", stamp())
}

async fn css() -> ([(&'static str, &'static str); 1], &'static str) {
    (
        [("content-type", "text/css")],
        "body { font-family: sans-serif }\n",
    )
}

pub mod mixins;

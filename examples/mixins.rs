//! Custom behaviours, one trait each (`webcache_examples::mixins`): a key
//! that ignores `utm_*` and `fbclid` query parameters, ETags made from the
//! release's version, and responses marked `X-Draft: true` never stored.
//!
//! ```sh
//! cargo run -p webcache-examples --example mixins          # on 127.0.0.1:3000 (PORT=... to change)
//! curl -i 'http://127.0.0.1:3000/article?utm_source=mail'  # a miss: stored
//! curl -i 'http://127.0.0.1:3000/article?fbclid=x'         # a hit: the same key
//! curl -i http://127.0.0.1:3000/draft                      # never stored: X-Draft: true
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use webcache::axum::{CacheLayer, cache_for};
use webcache::memory::MemoryStore;
use webcache_examples::mixins::custom_cache;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let cache = custom_cache(MemoryStore::new(64 << 20), webcache::Config::default());
    let app = Router::new()
        .route("/article", get(|| async { "an article\n" }))
        .route(
            "/draft",
            get(|| async { ([("x-draft", "true")], "a draft the editor previews\n") }),
        )
        .layer(cache_for(Duration::from_secs(60)))
        .layer(CacheLayer::new(cache));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("custom mixins on http://{addr}: /article?utm_source=x, /article?fbclid=y, /draft");
    axum::serve(listener, app).await?;
    Ok(())
}

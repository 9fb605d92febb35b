//! The request and response sides of the cache apart, around another layer.
//! Requests flow top to bottom and responses bottom to top: the response side
//! sits above a layer that stamps responses with `X-Rendered`, the request
//! side below it. So what is stored is the stamped response; a hit, answered
//! by the request side, goes up through the stamping layer too, which is why
//! that layer must be idempotent (it stamps only an unstamped response):
//! `X-Rendered` keeps saying when the page was rendered, not when it was
//! served.
//!
//! ```sh
//! cargo run -p webcache-examples --example layers    # on 127.0.0.1:3000 (PORT=... to change)
//! curl -i http://127.0.0.1:3000/                     # twice: the same X-Rendered, then Age
//! ```

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::http::HeaderValue;
use axum::middleware::map_response;
use axum::response::Response;
use axum::routing::get;
use webcache::axum::{CacheLayer, cache_for};

async fn stamp(mut response: Response) -> Response {
    if response.headers().contains_key("x-rendered") {
        return response; // a hit: stamped when it was rendered
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    response
        .headers_mut()
        .insert("x-rendered", HeaderValue::from(secs));
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    let cache = CacheLayer::new(webcache::easy_setup());
    // `.layer` wraps what is above it: the last one added is the outermost.
    let app = Router::new()
        .route(
            "/",
            get(|| async { "a page\n" }).layer(cache_for(Duration::from_secs(30))),
        )
        .layer(cache.request_layer()) // below the stamp: answers hits
        .layer(map_response(stamp))
        .layer(cache.response_layer()); // above the stamp: stores stamped responses

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("separated layers on http://{addr}: curl -i http://{addr}/ (twice)");
    axum::serve(listener, app).await?;
    Ok(())
}

//! The load-benchmark server: the same 1 KiB route twice, on two ports —
//! plain axum on PORT, and behind webcache's layer (in-memory store) on
//! PORT+1 — so that `bench/axum.sh` can compare cache hits with the bare
//! route in one run.
//!
//! `cargo run --release -p webcache-examples --example bench_axum`

use std::net::SocketAddr;

use axum::Router;
use axum::routing::get;
use webcache_axum::CacheLayer;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;

fn routes() -> Router {
    let body = "x".repeat(1024);
    Router::new().route(
        "/object",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [
                        ("cache-control", "max-age=3600"),
                        ("content-type", "text/plain"),
                    ],
                    body,
                )
            }
        }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3100);
    let cache = Cache::new(MemoryStore::new(256 << 20), Config::default());
    let plain = routes();
    let cached = routes().layer(CacheLayer::new(cache));
    let a = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let b = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port + 1))).await?;
    println!("plain on {port}, cached on {}", port + 1);
    let plain = tokio::spawn(async move { axum::serve(a, plain).await });
    let cached = tokio::spawn(async move { axum::serve(b, cached).await });
    let _ = tokio::join!(plain, cached);
    Ok(())
}

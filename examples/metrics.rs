//! The demo app behind the cache, with Prometheus metrics at `/metrics`
//! next to the cached routes (feature `metrics`).
//!
//! ```sh
//! cargo run -p webcache-examples --features metrics --example metrics   # PORT=8080 to change the port
//! curl -s localhost:3000/expensive; curl -s localhost:3000/expensive
//! curl -s localhost:3000/metrics | grep webcache_requests_total
//! ```

use std::net::SocketAddr;

use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use webcache_axum::CacheLayer;
use webcache_examples::demo_app;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The recorder first: the cache registers its metrics when it is built.
    let handle: PrometheusHandle = PrometheusBuilder::new().install_recorder()?;
    let cache = CacheLayer::new(webcache_memory::easy_setup());
    // `/metrics` is added after the cache layer, so it is never cached.
    let app = demo_app(cache).route("/metrics", get(move || std::future::ready(handle.render())));

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("webcache metrics example on http://{addr}: the demo routes, and /metrics");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

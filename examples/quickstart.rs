//! The quickstart: a demo app behind webcache's in-memory cache.
//!
//! ```sh
//! cargo run -p webcache-examples --example quickstart     # PORT=8080 to change the port
//! ```

use std::net::SocketAddr;

use webcache_axum::CacheLayer;
use webcache_examples::demo_app;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Show the cache's events (hit, miss, store, ...) as they happen.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_target(false)
        .init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // One call: the in-memory store, `/static/` exempt, sane defaults.
    let cache = CacheLayer::new(webcache_memory::easy_setup());
    let app = demo_app(cache);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{addr}");
    println!("webcache quickstart listening on {base}\n");
    println!("Try (run each twice; watch Age and Cache-Status):");
    println!(
        "  curl -i {base}/expensive                          # slow miss, then an instant hit"
    );
    println!(
        "  curl -i -H 'Accept-Language: de' {base}/hello     # one stored response per language (Vary)"
    );
    println!("  curl -i {base}/me                                 # private: never stored");
    println!(
        "  curl -i {base}/news                               # stale-while-revalidate after 5 s"
    );
    println!("  curl -i {base}/static/app.css                     # exempt path: never stored");
    println!(
        "  curl -i -H 'If-None-Match: <etag from above>' {base}/expensive   # 304 from the cache"
    );
    println!("\nCtrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

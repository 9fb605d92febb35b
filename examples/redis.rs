//! The quickstart's demo app on Redis: run it twice, on two ports, and the
//! two instances share one cache.
//!
//! ```sh
//! cargo run -p webcache-examples --features redis --example redis            # REDIS_URL=redis://127.0.0.1:6379, PORT=3000
//! PORT=3001 cargo run -p webcache-examples --features redis --example redis  # a second instance, same Redis
//! ```
//!
//! The app starts even when Redis is down: requests are then served by the
//! app alone, and the cache resumes by itself once Redis is up.

use std::net::SocketAddr;

use webcache_axum::CacheLayer;
use webcache_core::{Cache, Config};
use webcache_examples::demo_app;
use webcache_redis::RedisStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::DEBUG)
        .with_target(false)
        .init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // No I/O yet: the store connects on first use and reconnects by itself.
    let store = RedisStore::open(&redis_url)?;
    match store.ping().await {
        Ok(()) => println!("Redis at {redis_url}: reachable"),
        Err(e) => println!(
            "Redis at {redis_url}: not reachable ({e}); serving without the cache until it is"
        ),
    }
    // Unlike `easy_setup`, no per-start master salt: every instance (and
    // every restart) must compute the same keys to share the cache.
    let config = Config::builder()
        .resource_exemptions(["/static/"])
        .build()?;
    let app = demo_app(CacheLayer::new(Cache::new(store, config)));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{addr}");
    println!("webcache on Redis listening on {base}\n");
    // The cache key includes the host the client asked for: behind a load
    // balancer every instance sees the same one; here `-H Host:` plays it.
    println!("Try, then the same against a second instance (PORT=3001):");
    println!(
        "  curl -i -H 'Host: shop.test' {base}/expensive                          # a miss here, then a hit on every instance"
    );
    println!(
        "  curl -i -H 'Host: shop.test' -H 'Accept-Language: de' {base}/hello     # one stored response per language"
    );
    println!(
        "  redis-cli --scan --pattern 'webcache:*'                                  # what is stored"
    );
    println!("\nCtrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

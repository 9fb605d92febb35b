//! The quickstart's demo app on the SQLite store: the cache is a file, so
//! it survives a restart, and every process on this host that opens the
//! same file shares it.
//!
//! ```sh
//! cargo run -p webcache-examples --features sqlite --example sqlite            # WEBCACHE_DB=webcache.db, PORT=3000
//! PORT=3001 cargo run -p webcache-examples --features sqlite --example sqlite  # a second process, same file
//! ```

use std::net::SocketAddr;

use webcache_axum::CacheLayer;
use webcache_core::{Cache, Config};
use webcache_examples::demo_app;
use webcache_sqlite::SqliteStore;

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
    let path = std::env::var("WEBCACHE_DB").unwrap_or_else(|_| "webcache.db".to_owned());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));

    // Opening may create, migrate or replace the file: off the runtime's
    // threads.
    let db = path.clone();
    let store =
        tokio::task::spawn_blocking(move || SqliteStore::builder(db).max_size(256 << 20).build())
            .await??;
    // Unlike `easy_setup`, no per-start master salt: a restarted process
    // (and every other process on the file) must compute the same keys.
    let config = Config::builder()
        .resource_exemptions(["/static/"])
        .build()?;
    let app = demo_app(CacheLayer::new(Cache::new(store.clone(), config)));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{addr}");
    println!("webcache on SQLite ({path}) listening on {base}\n");
    println!("Try, then again after a restart, or against a second process (PORT=3001):");
    println!(
        "  curl -i -H 'Host: shop.test' {base}/expensive                          # a miss once, then a hit in every process"
    );
    println!(
        "  curl -i -H 'Host: shop.test' -H 'Accept-Language: de' {base}/hello     # one stored response per language"
    );
    println!(
        "  sqlite3 {path} 'SELECT count(*) FROM entries'                          # what is stored"
    );
    println!("\nCtrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    // Writes the access times of recent hits before the process ends.
    store.close().await?;
    Ok(())
}

//! The quickstart's demo app written with warp: warp filters behind
//! webcache's in-memory cache, served in one call.
//!
//! ```sh
//! cargo run -p webcache-examples --features warp --example warp    # PORT=8080 to change the port
//! ```

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use warp::Filter;
use webcache_warp::{CacheControl, CacheHeaders, CachingExt};

/// Seconds since the epoch, to show in bodies whether a response is new.
fn stamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn greeting(lang: Option<String>) -> &'static str {
    match lang.as_deref() {
        Some(l) if l.starts_with("de") => "Hallo",
        Some(l) if l.starts_with("fr") => "Bonjour",
        _ => "Hello",
    }
}

/// The routes; each sets its caching policy with a helper, never a raw
/// header string.
fn routes() -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let index = warp::path::end().map(|| "webcache warp demo: /expensive /hello /me /news\n");
    // An expensive page, cacheable for 30 s.
    let expensive = warp::path("expensive")
        .then(|| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            format!("computed the hard way at {}\n", stamp())
        })
        .cache_for(Duration::from_secs(30));
    // Negotiated by language: one stored response per Accept-Language.
    let hello = warp::path("hello")
        .and(warp::header::optional::<String>("accept-language"))
        .map(|lang: Option<String>| {
            let body = format!("{} (rendered at {})\n", greeting(lang), stamp());
            let caching =
                CacheHeaders::cache_for(Duration::from_secs(60)).vary(["accept-language"]);
            webcache_warp::reply::with_caching(body, caching)
        });
    // Per user: `private`, never stored by the shared cache.
    let me = warp::path("me")
        .map(|| format!("your account, rendered at {}\n", stamp()))
        .private();
    // Served stale for 30 s while refreshed in the background.
    let news = warp::path("news")
        .map(|| format!("news as of {}\n", stamp()))
        .cache_control(
            CacheControl::new()
                .with_max_age(Duration::from_secs(5))
                .with_stale_while_revalidate(Duration::from_secs(30)),
        );
    index.or(expensive).or(hello).or(me).or(news)
}

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
    let base = format!("http://{addr}");
    println!("webcache warp demo listening on {base}\n");
    println!("Try (run each twice; watch Age and Cache-Status):");
    println!("  curl -i {base}/expensive                        # slow miss, then an instant hit");
    println!(
        "  curl -i -H 'Accept-Language: de' {base}/hello   # one stored response per language"
    );
    println!("  curl -i {base}/me                               # private: never stored");
    println!(
        "  curl -i {base}/news                             # stale-while-revalidate after 5 s"
    );
    println!("\nCtrl-C to stop.");

    // One call: the in-memory store with sane defaults, in front of the routes.
    webcache_warp::serve(routes(), webcache_memory::easy_setup())
        .graceful(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .run(addr)
        .await?;
    Ok(())
}

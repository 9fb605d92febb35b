//! The Rocket load-benchmark server: the same 1 KiB route twice, in two
//! Rocket servers — plain on PORT, behind webcache (in-memory store) on
//! PORT+1 — so that `bench/rocket.sh` can compare cache hits with the bare
//! route in one run. The route does no work, so the figure is what the
//! cache costs over Rocket itself. Logging is off in both.
//!
//! `cargo run --release -p webcache-examples --features rocket --example bench_rocket`

use std::net::Ipv4Addr;
use std::time::Duration;

use rocket::config::{Config, LogLevel};
use rocket::{Build, Rocket, get, routes};
use webcache_core::{Cache, Config as CacheConfig};
use webcache_memory::MemoryStore;
use webcache_rocket::{CacheFairing, Cached};

static BODY: [u8; 1024] = [b'x'; 1024];

#[get("/object")]
fn object() -> Cached<(rocket::http::ContentType, &'static [u8])> {
    Cached::cache_for(
        Duration::from_secs(3600),
        (rocket::http::ContentType::Plain, &BODY[..]),
    )
}

fn server(port: u16) -> Rocket<Build> {
    let config = Config {
        address: Ipv4Addr::LOCALHOST.into(),
        port,
        log_level: LogLevel::Off,
        ..Config::release_default()
    };
    rocket::custom(config)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3200);
    let cache = CacheFairing::new(Cache::new(
        MemoryStore::new(256 << 20),
        CacheConfig::default(),
    ));
    let plain = server(port).mount("/", routes![object]);
    let cached = server(port + 1)
        .mount("/", cache.cached(routes![object]))
        .attach(cache);
    println!("plain on {port}, cached on {}", port + 1);
    let plain = tokio::spawn(plain.launch());
    let cached = tokio::spawn(cached.launch());
    let (plain, cached) = tokio::join!(plain, cached);
    for (name, result) in [("plain", plain?), ("cached", cached?)] {
        if let Err(error) = result {
            // Rocket's error panics when dropped unread: say what it was.
            eprintln!("{name} server failed: {error}");
            std::process::exit(1);
        }
    }
    Ok(())
}

//! The Rocket load-benchmark server: the same 1 KiB route in three Rocket
//! servers — plain on PORT, behind webcache (in-memory store) on PORT+1,
//! and on PORT+2 a "floor": a handler that answers with a canned response
//! shaped like a hit (the same header fields) and does nothing else — so
//! that `bench/rocket.sh` can compare cache hits with the bare route, and
//! with the cheapest any cache in a Rocket handler could be, in one run.
//! The route does no work, so the figure is what the cache costs over
//! Rocket itself. Logging is off in all three.
//!
//! `cargo run --release -p webcache-examples --features rocket --example bench_rocket`

use std::io::Cursor;
use std::net::Ipv4Addr;
use std::time::Duration;

use rocket::config::{Config, LogLevel};
use rocket::http::Method;
use rocket::route::{Handler, Outcome};
use rocket::{Build, Data, Request, Response, Rocket, Route, get, routes};
use webcache_core::{Cache, Config as CacheConfig};
use webcache_memory::MemoryStore;
use webcache_rocket::{CacheFairing, Cached};

static BODY: [u8; 1024] = [b'x'; 1024];

/// Answers like a hit that costs nothing: a copy of one response.
#[derive(Clone)]
struct Floor;

#[rocket::async_trait]
impl Handler for Floor {
    async fn handle<'r>(&self, _request: &'r Request<'_>, _data: Data<'r>) -> Outcome<'r> {
        let mut response = Response::new();
        for (name, value) in [
            ("content-type", "text/plain; charset=utf-8"),
            ("cache-control", "max-age=3600"),
            ("expires", "Wed, 25 Nov 2026 13:00:00 GMT"),
            ("date", "Wed, 25 Nov 2026 12:00:00 GMT"),
            ("etag", "\"a55ec33f51c50a4918d8ee24c746fec0\""),
            ("cache-status", "webcache; hit; ttl=3600"),
            ("age", "0"),
        ] {
            response.adjoin_raw_header(name, value);
        }
        response.set_sized_body(BODY.len(), Cursor::new(&BODY[..]));
        Outcome::Success(response)
    }
}

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
    let floor = server(port + 2).mount("/", vec![Route::new(Method::Get, "/object", Floor)]);
    println!(
        "plain on {port}, cached on {}, floor on {}",
        port + 1,
        port + 2
    );
    let plain = tokio::spawn(plain.launch());
    let cached = tokio::spawn(cached.launch());
    let floor = tokio::spawn(floor.launch());
    let (plain, cached, floor) = tokio::join!(plain, cached, floor);
    for (name, result) in [("plain", plain?), ("cached", cached?), ("floor", floor?)] {
        if let Err(error) = result {
            // Rocket's error panics when dropped unread: say what it was.
            eprintln!("{name} server failed: {error}");
            std::process::exit(1);
        }
    }
    Ok(())
}

//! The load-benchmark server for warp: the same 1 KiB warp route three
//! times, on three ports — plain `warp::serve` on PORT, behind webcache
//! (`webcache_warp::serve`, in-memory store) on PORT+1, and without the
//! cache on webcache-warp's own HTTP/1.1 server on PORT+2 (to tell the
//! cache's cost from the server's) — so that `bench/warp.sh` can compare
//! cache hits with the bare route in one run.
//!
//! `cargo run --release -p webcache-examples --features warp --example bench_warp`

use std::net::SocketAddr;

use warp::Filter;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;

fn route() -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let body = "x".repeat(1024);
    warp::path("object").map(move || {
        let reply = warp::reply::with_header(body.clone(), "cache-control", "max-age=3600");
        warp::reply::with_header(reply, "content-type", "text/plain")
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3260);
    let at = |offset: u16| SocketAddr::from(([127, 0, 0, 1], port + offset));
    let cache = Cache::new(MemoryStore::new(256 << 20), Config::default());
    let plain = tokio::net::TcpListener::bind(at(0)).await?;
    let cached = tokio::net::TcpListener::bind(at(1)).await?;
    let same_server = tokio::net::TcpListener::bind(at(2)).await?;
    println!(
        "plain warp on {port}, cached on {}, plain on webcache-warp's server on {}",
        port + 1,
        port + 2
    );
    let plain = tokio::spawn(warp::serve(route()).incoming(plain).run());
    let cached = tokio::spawn(webcache_warp::serve(route(), cache).run_on(cached));
    let same_server =
        tokio::spawn(webcache_warp::Server::new(warp::service(route())).run_on(same_server));
    let _ = tokio::join!(plain, cached, same_server);
    Ok(())
}

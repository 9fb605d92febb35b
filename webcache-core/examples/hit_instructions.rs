//! Runs N cache hits through the request handler, for counting the
//! instructions of one hit under callgrind (`bash bench/hit_instructions.sh`):
//! the same store, origin and request as `benches/decision.rs`.
//!
//! `cargo run --release -p webcache-core --example hit_instructions -- 10000`

#[path = "../benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::SystemTime;

use webcache_core::clock::ManualClock;
use webcache_core::handler::RequestOutcome;
use webcache_core::{Cache, Config};

use support::{MapStore, Origin, request};

fn main() {
    let hits: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let cache = Cache::builder(MapStore::default())
        .config(Config::default())
        .clock(ManualClock::new(SystemTime::now()))
        .build();
    rt.block_on(async { cache.serve(request(), Origin).await.expect("the miss") });
    let (parts, _) = request().into_parts();
    let handler = cache.request_handler();
    rt.block_on(async {
        for _ in 0..hits {
            match handler.handle(black_box(&parts)).await {
                RequestOutcome::Respond(response, _) => drop(black_box(response)),
                RequestOutcome::Forward(_) => panic!("expected a hit"),
            }
        }
    });
}

//! Runs N cache hits through the request handler over a [`MemoryStore`],
//! for counting the instructions of one hit under callgrind
//! (`HIT_STORE=memory bash bench/hit_instructions.sh`): the origin and the
//! request of webcache-core's `hit_instructions` example, with the memory
//! store in place of a plain map.
//!
//! `cargo run --release -p webcache-memory --example memory_hit_instructions -- 10000`

#[path = "../../webcache-core/benches/support/mod.rs"]
mod support;

use std::hint::black_box;

use webcache_core::handler::RequestOutcome;
use webcache_memory::MemoryStore;

use support::request;

fn main() {
    let hits: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let (rt, cache) = support::warmed(MemoryStore::new(64 << 20));
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

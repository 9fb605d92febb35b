//! Runs N cache hits through the request handler over a [`MemoryStore`],
//! for counting the instructions of one hit under callgrind
//! (`HIT_STORE=memory bash bench/hit_instructions.sh`): the origin and the
//! request of webcache-core's `hit_instructions` example, with the memory
//! store in place of a plain map.
//!
//! `cargo run --release -p webcache-memory --example memory_hit_instructions -- 10000`
//!
//! With `HIT_VIA=now` each hit goes through [`Cache::serve_now`], as the
//! adapters send them: after the first, from the thread's last lookup
//! (the store's change count has not moved), without reading the store.
//! With `HIT_VARIANTS=2` too, the hits take turns between two variants of
//! the resource (it varies on Accept-Encoding).
//!
//! [`Cache::serve_now`]: webcache_core::Cache::serve_now

#[path = "../../webcache-core/benches/support/mod.rs"]
mod support;

use std::hint::black_box;

use webcache_core::handler::RequestOutcome;
use webcache_memory::MemoryStore;

use support::{request, request_accepting};

fn main() {
    let hits: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let (rt, cache) = support::warmed(MemoryStore::new(64 << 20));
    if std::env::var_os("HIT_VIA").is_some_and(|v| v == "now") {
        let two = std::env::var_os("HIT_VARIANTS").is_some_and(|v| v == "2");
        let variant = |n: u64| match n % 2 {
            1 if two => request_accepting("identity"),
            _ => request(),
        };
        if two {
            // The second variant stored (the first variant already is);
            // the first hits below keep each in the thread's front.
            rt.block_on(async {
                for n in 0..2 {
                    let miss = cache.serve(variant(n), support::Origin).await;
                    drop(miss.expect("infallible"));
                }
            });
        }
        for n in 0..hits {
            let response = cache.serve_now(black_box(variant(n)), || support::Origin);
            drop(black_box(response.expect("a hit answered at once")));
        }
        return;
    }
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

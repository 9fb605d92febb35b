//! How many allocations a cache hit makes through the request handler,
//! counted by a global allocator: a regression guard for the hit path
//! (`bash bench/hit_instructions.sh` measures its instructions), not a
//! timing. Its own test binary, so that the counting allocator sees no
//! other test; only allocations on the counting thread, while counting,
//! are counted.

#[path = "../benches/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use webcache_core::handler::RequestOutcome;

use support::{MapStore, request};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to the system allocator unchanged; counting
// touches only an atomic and a const-initialised thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (and reallocations) per hit, measured by the test below;
/// lower it when a change saves some, never raise it without saying why.
const MAX_ALLOCATIONS_PER_HIT: usize = 14;

#[test]
fn a_hit_through_the_request_handler_allocates_at_most_the_bound() {
    let (rt, cache) = support::warmed(MapStore::default());
    let (parts, _) = request().into_parts();
    let handler = cache.request_handler();
    let hits = 10;
    rt.block_on(async {
        // The first hit decodes the stored response and hashes the keys.
        let hit = |counting: bool| {
            let handler = &handler;
            let parts = &parts;
            async move {
                COUNTING.with(|c| c.set(counting));
                let outcome = handler.handle(parts).await;
                COUNTING.with(|c| c.set(false));
                match outcome {
                    RequestOutcome::Respond(response, _) => {
                        assert!(response.headers().contains_key("age"), "a hit");
                    }
                    RequestOutcome::Forward(_) => panic!("expected a hit"),
                }
            }
        };
        hit(false).await;
        for _ in 0..hits {
            hit(true).await;
        }
    });
    let per_hit = ALLOCATIONS.load(Ordering::Relaxed) / hits;
    assert!(
        per_hit <= MAX_ALLOCATIONS_PER_HIT,
        "{per_hit} allocations per hit, the bound is {MAX_ALLOCATIONS_PER_HIT}"
    );
    println!("allocations per hit: {per_hit}");
}

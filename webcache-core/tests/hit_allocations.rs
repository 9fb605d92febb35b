//! How many allocations a cache hit makes through the request handler,
//! counted by a global allocator: a regression guard for the hit path
//! (`bash bench/hit_instructions.sh` measures its instructions), not a
//! timing. Its own test binary, so that the counting allocator sees no
//! other tests; only allocations on the counting thread, while counting,
//! are counted.

#[path = "../benches/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use webcache_core::handler::RequestOutcome;

use support::{Immediate, MapStore, Origin, request};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's allocations while counting: each test counts its own.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
    }
}

// SAFETY: every call is passed to the system allocator unchanged; counting
// touches only const-initialised thread-locals.
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
const MAX_ALLOCATIONS_PER_HIT: usize = 9;

/// The same for a hit answered from the thread's last lookup
/// (`Cache::serve_now` on a store that counts its changes): the request
/// the adapter hands over is not counted, the response is.
const MAX_ALLOCATIONS_PER_HIT_NOW: usize = 6;

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
    let per_hit = ALLOCATIONS.with(Cell::get) / hits;
    assert!(
        per_hit <= MAX_ALLOCATIONS_PER_HIT,
        "{per_hit} allocations per hit, the bound is {MAX_ALLOCATIONS_PER_HIT}"
    );
    println!("allocations per hit: {per_hit}");
}

#[test]
fn a_hit_answered_from_the_last_lookup_allocates_at_most_the_bound() {
    let (rt, cache) = support::warmed(Immediate::default());
    let hits = 10;
    let _runtime = rt.enter();
    let hit = |counting: bool| {
        let request = request();
        COUNTING.with(|c| c.set(counting));
        let response = cache.serve_now(request, || Origin);
        COUNTING.with(|c| c.set(false));
        let response = response.expect("a hit answered at once");
        assert!(response.headers().contains_key("age"), "a hit");
    };
    // The first hit looks up and leaves what it found to the next; the
    // thread copies the fields and body once that has served two.
    for _ in 0..4 {
        hit(false);
    }
    for _ in 0..hits {
        hit(true);
    }
    let per_hit = ALLOCATIONS.with(Cell::get) / hits;
    assert!(
        per_hit <= MAX_ALLOCATIONS_PER_HIT_NOW,
        "{per_hit} allocations per hit, the bound is {MAX_ALLOCATIONS_PER_HIT_NOW}"
    );
    println!("allocations per hit answered now: {per_hit}");
}

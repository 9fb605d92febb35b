//! Hit latency through the whole cache (request handler, memory store,
//! decode, response) with 1 000 and with 1 000 000 stored responses: does a
//! full cache slow hits down?
//!
//! - `hot/1000` and `hot/1000000`: the same hot set of 1 000 keys, drawn at
//!   random, with 1 000 or 1 000 000 responses stored;
//! - `uniform/1000000`: keys drawn uniformly from all 1 000 000 — every hit
//!   misses the CPU caches; a worst case, for information.
//!
//! The ratio of the two `hot` cases is the figure of merit, but these run
//! one after the other in one process: on a machine whose speed drifts,
//! take the ratio from `hot_set`, which builds each case in a process of
//! its own and alternates them.
//!
//! `cargo bench -p webcache-memory --bench hit_latency`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod support;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("hit_latency");
    for entries in [1_000u64, 1_000_000] {
        let cache = support::filled(&rt, entries);
        let mut cases = vec![("hot", 1_000u64)];
        if entries > 1_000 {
            cases.push(("uniform", entries));
        }
        for (name, range) in cases {
            let mut state = support::SEED;
            group.bench_with_input(BenchmarkId::new(name, entries), &range, |b, &range| {
                b.iter(|| black_box(support::hit(&rt, &cache, &mut state, range)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

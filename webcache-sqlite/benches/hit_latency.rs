//! Hit latency over the Store API — one `get_many` of a resource's metadata
//! and one representation (1 KiB), as a cache hit does — with 1 000 and
//! with 1 000 000 entries stored: does a large file slow hits down?
//!
//! - `hot/1000` and `hot/1000000`: the same hot set of 1 000 resources,
//!   drawn at random, with 1 000 or 1 000 000 resources stored (their ratio
//!   is the figure of merit);
//! - `uniform/1000000`: resources drawn uniformly from all 1 000 000.
//!
//! `cargo bench -p webcache-sqlite --bench hit_latency`
//!
//! The files are kept under Cargo's target directory (`tmp/`) and reused by
//! later runs; the first run fills the large one (about 1.2 GB, a minute).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use webcache_core::store::{Store, StoreKey, Write};
use webcache_sqlite::SqliteStore;

const TTL: Duration = Duration::from_secs(30 * 24 * 3600);

fn digest(n: u64, salt: u8) -> [u8; 16] {
    let mut d = [salt; 16];
    // Spread keys over the index as real digests are.
    d[..8].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    d[8..].copy_from_slice(&n.to_le_bytes());
    d
}

fn keys(n: u64) -> [StoreKey; 2] {
    let resource = digest(n, 0);
    [
        StoreKey::metadata(resource),
        StoreKey::representation(resource, digest(n, 1)),
    ]
}

/// xorshift: cheap, deterministic key choice.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A store holding `entries` resources, filled on first use.
fn store(rt: &tokio::runtime::Runtime, entries: u64) -> SqliteStore {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("hit-latency-{entries}.db"));
    let filled = path.exists();
    let store = SqliteStore::builder(&path)
        .max_size(4 << 30)
        .build()
        .expect("the bench store opens");
    if filled
        && rt
            .block_on(store.get_many(&keys(entries - 1)))
            .is_ok_and(|v| v[1].is_some())
    {
        return store;
    }
    let started = Instant::now();
    let meta = Bytes::from(vec![b'm'; 64]);
    let body = Bytes::from(vec![b'x'; 1024]);
    rt.block_on(async {
        for chunk in (0..entries).collect::<Vec<_>>().chunks(2000) {
            let writes = chunk
                .iter()
                .flat_map(|&n| {
                    let [m, r] = keys(n);
                    [
                        Write::new(m, meta.clone(), TTL),
                        Write::new(r, body.clone(), TTL),
                    ]
                })
                .collect();
            store.put_many(writes).await.expect("fill");
        }
    });
    eprintln!("filled {entries} resources in {:?}", started.elapsed());
    store
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("hit_latency");
    for entries in [1_000u64, 1_000_000] {
        let store = store(&rt, entries);
        let mut cases = vec![("hot", 1_000u64)];
        if entries > 1_000 {
            cases.push(("uniform", entries));
        }
        for (name, range) in cases {
            let mut state = 0x9e37_79b9_7f4a_7c15u64;
            group.bench_with_input(BenchmarkId::new(name, entries), &range, |b, &range| {
                b.iter(|| {
                    let n = next(&mut state) % range;
                    let got = rt.block_on(store.get_many(&keys(n))).expect("a hit");
                    assert!(got[1].is_some(), "a hit");
                    black_box(got);
                })
            });
        }
        rt.block_on(store.close()).expect("close");
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);

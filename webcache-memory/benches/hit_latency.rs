//! Hit latency through the whole cache (request handler, memory store,
//! decode, response) with 1 000 and with 1 000 000 stored responses: does a
//! full cache slow hits down?
//!
//! - `hot/1000` and `hot/1000000`: the same hot set of 1 000 keys, drawn at
//!   random, with 1 000 or 1 000 000 responses stored (the ratio of these two
//!   is the figure of merit: what holding a million entries costs a hit);
//! - `uniform/1000000`: keys drawn uniformly from all 1 000 000 — every hit
//!   misses the CPU caches; a worst case, for information.
//!
//! `cargo bench -p webcache-memory --bench hit_latency`

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use webcache_core::{Cache, Config, Upstream};
use webcache_memory::MemoryStore;

#[derive(Clone)]
struct Origin;

impl Upstream<Full<Bytes>> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;
    async fn call(
        &mut self,
        _req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let mut r = Response::new(Full::new(Bytes::from(vec![b'x'; 1024])));
        r.headers_mut()
            .insert("cache-control", HeaderValue::from_static("max-age=86400"));
        Ok(r)
    }
}

fn request(n: u64) -> Request<Full<Bytes>> {
    Request::get(format!("/item/{n}"))
        .header("host", "bench.test")
        .body(Full::default())
        .unwrap()
}

/// xorshift: cheap, deterministic key choice.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("hit_latency");
    for entries in [1_000u64, 1_000_000] {
        let store = MemoryStore::new(4 << 30);
        let cache = Cache::new(store.clone(), Config::default());
        rt.block_on(async {
            for n in 0..entries {
                cache.serve(request(n), Origin).await.unwrap();
            }
            store.run_pending_tasks().await;
        });
        let mut cases = vec![("hot", 1_000u64)];
        if entries > 1_000 {
            cases.push(("uniform", entries));
        }
        for (name, range) in cases {
            let mut state = 0x9e3779b97f4a7c15u64;
            group.bench_with_input(BenchmarkId::new(name, entries), &range, |b, &range| {
                b.iter(|| {
                    let n = next(&mut state) % range;
                    let response = rt.block_on(cache.serve(request(n), Origin)).unwrap();
                    assert!(response.headers().contains_key("age"), "a hit");
                    black_box(response)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The decision engine's hot path: Cache-Control parsing, key computation,
//! decoding a stored entry, the reuse decision, and a whole hit through the
//! request handler (over an in-memory map, so no backend cost).
//!
//! `cargo bench -p webcache-core --bench decision`

mod support;

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue};
use support::{MapStore, Origin, request};
use webcache_core::clock::ManualClock;
use webcache_core::handler::RequestOutcome;
use webcache_core::headers::CacheControl;
use webcache_core::key::{PrimaryKey, SecondaryKey};
use webcache_core::request::RequestFacts;
use webcache_core::reuse::reuse;
use webcache_core::store::StoredResponse;
use webcache_core::{Cache, Config};

fn bench(c: &mut Criterion) {
    let config = Config::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    c.bench_function("cache_control_parse", |b| {
        let v = HeaderValue::from_static(
            "public, max-age=3600, stale-while-revalidate=60, s-maxage=600",
        );
        b.iter(|| CacheControl::parse_value(black_box(v.as_bytes())))
    });

    let (parts, _) = request().into_parts();
    c.bench_function("primary_key", |b| {
        b.iter(|| PrimaryKey::from_request(black_box(&parts), &config))
    });

    let primary = PrimaryKey::from_request(&parts, &config);
    let vary = [http::header::ACCEPT_ENCODING];
    c.bench_function("secondary_key_vary_accept_encoding", |b| {
        b.iter(|| SecondaryKey::new(&primary, black_box(&vary), &parts.headers))
    });

    // A stored 1 KiB response, as the store holds it.
    let clock = ManualClock::new(SystemTime::now());
    let store = MapStore::default();
    let cache = Cache::builder(store.clone())
        .config(config.clone())
        .clock(clock.clone())
        .build();
    rt.block_on(async { cache.serve(request(), Origin).await.unwrap() });
    let encoded = store
        .0
        .read()
        .unwrap()
        .values()
        .find(|v| v.len() > 1024)
        .cloned()
        .unwrap();
    c.bench_function("entry_decode_1k", |b| {
        b.iter(|| StoredResponse::decode(black_box(encoded.clone())).unwrap())
    });

    let stored = StoredResponse::decode(encoded.clone()).unwrap();
    let facts = RequestFacts::from_parts(&parts, &config);
    let now = SystemTime::now() + Duration::from_secs(5);
    c.bench_function("reuse_decision", |b| {
        b.iter(|| {
            let cc = CacheControl::from_headers(&stored.headers).unwrap_or_default();
            reuse(black_box(&stored), &cc, &facts, &config, now)
        })
    });

    let handler = cache.request_handler();
    c.bench_function("hit_request_handler", |b| {
        b.iter(|| {
            rt.block_on(async {
                match handler.handle(black_box(&parts)).await {
                    RequestOutcome::Respond(r, _) => r,
                    RequestOutcome::Forward(_) => panic!("expected a hit"),
                }
            })
        })
    });

    let mut headers = HeaderMap::new();
    headers.insert("cache-control", HeaderValue::from_static("max-age=60"));
    c.bench_function("serve_hit_end_to_end", |b| {
        b.iter(|| rt.block_on(async { cache.serve(request(), Origin).await.unwrap() }))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

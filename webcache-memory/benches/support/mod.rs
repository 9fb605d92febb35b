//! What the hit benchmarks share: an origin whose responses are fresh for a
//! day, the requests for its keys, and a cheap deterministic key choice.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use webcache_core::{Cache, Upstream};
use webcache_memory::MemoryStore;

/// Answers every request with 1 KiB, `Cache-Control: max-age=86400`.
#[derive(Clone)]
pub struct Origin;

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

/// A GET of key `n`.
pub fn request(n: u64) -> Request<Full<Bytes>> {
    Request::get(format!("/item/{n}"))
        .header("host", "bench.test")
        .body(Full::default())
        .expect("a valid request")
}

/// xorshift: cheap, deterministic key choice.
pub fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The seed of every key sequence.
pub const SEED: u64 = 0x9e3779b97f4a7c15;

/// A cache over a memory store of 4 GiB holding keys `0..entries`.
pub fn filled(rt: &tokio::runtime::Runtime, entries: u64) -> Cache<MemoryStore> {
    let store = MemoryStore::new(4 << 30);
    let cache = Cache::new(store.clone(), webcache_core::Config::default());
    rt.block_on(async {
        for n in 0..entries {
            cache.serve(request(n), Origin).await.expect("stored");
        }
        store.run_pending_tasks().await;
    });
    cache
}

/// One hit on a key drawn from `0..range`; panics on a miss.
pub fn hit(
    rt: &tokio::runtime::Runtime,
    cache: &Cache<MemoryStore>,
    state: &mut u64,
    range: u64,
) -> Response<webcache_core::CacheBody<Full<Bytes>>> {
    let n = next(state) % range;
    let response = rt
        .block_on(cache.serve(request(n), Origin))
        .expect("served");
    assert!(response.headers().contains_key("age"), "a hit");
    response
}

//! Memory bound: writes ten times the store's capacity of distinct
//! responses through the cache and reports the process's resident memory
//! against the capacity.
//!
//! `cargo run --release -p webcache-memory --example rss -- [capacity MiB] [body KiB]`

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use webcache_core::{Cache, Config, Upstream};
use webcache_memory::MemoryStore;

#[derive(Clone)]
struct Origin(usize);

impl Upstream<Full<Bytes>> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;
    async fn call(
        &mut self,
        _req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let mut r = Response::new(Full::new(Bytes::from(vec![b'x'; self.0])));
        r.headers_mut()
            .insert("cache-control", HeaderValue::from_static("max-age=86400"));
        Ok(r)
    }
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let capacity = args.first().copied().unwrap_or(256) << 20;
    let body = (args.get(1).copied().unwrap_or(4) << 10) as usize;
    let store = MemoryStore::new(capacity);
    let cache = Cache::new(store.clone(), Config::default());
    let before = rss_bytes();
    let objects = 10 * capacity / body as u64;
    let mut peak = 0;
    for n in 0..objects {
        let req = Request::get(format!("/object/{n}"))
            .header("host", "rss.test")
            .body(Full::default())
            .unwrap();
        cache.serve(req, Origin(body)).await.unwrap();
        if n % 50_000 == 0 {
            store.run_pending_tasks().await;
            peak = peak.max(rss_bytes());
        }
    }
    store.run_pending_tasks().await;
    let after = rss_bytes();
    peak = peak.max(after);
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("capacity            {:>8.1} MiB", mib(capacity));
    println!(
        "written             {:>8.1} MiB in {objects} objects of {} KiB",
        mib(objects * body as u64),
        body >> 10
    );
    println!(
        "entries kept        {:>8}  (weighted {:.1} MiB)",
        store.entry_count(),
        mib(store.weighted_size())
    );
    println!("RSS before          {:>8.1} MiB", mib(before));
    println!(
        "RSS after           {:>8.1} MiB   ratio to capacity {:.2}",
        mib(after),
        after as f64 / capacity as f64
    );
    println!(
        "RSS peak (sampled)  {:>8.1} MiB   ratio to capacity {:.2}",
        mib(peak),
        peak as f64 / capacity as f64
    );
}

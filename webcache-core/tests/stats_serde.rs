//! `Stats` serialised (feature `serde`): a miss then a hit, as JSON an
//! application's own endpoint would serve.

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use support::{MapStore, collect, get};
use webcache_core::{Cache, Config, Upstream};

#[derive(Clone)]
struct Origin;

impl Upstream<Bytes> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;
    async fn call(&mut self, _: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::builder()
            .header("cache-control", "max-age=60")
            .body(Full::new(Bytes::from_static(b"hello")))
            .expect("a valid response"))
    }
}

#[tokio::test]
async fn stats_serialise_as_a_map_of_counters() {
    let cache = Cache::new(MapStore::default(), Config::default());
    for _ in 0..2 {
        let response = cache.serve(get("http://example.test/a"), Origin).await;
        collect(response.expect("Infallible")).await;
    }
    let json = serde_json::to_value(cache.stats()).expect("serialisable");
    let expected = serde_json::json!({
        "hits": 1,
        "misses": 1,
        "revalidations": 0,
        "purges": 0,
        "bypasses": 0,
        "stores": 1,
        "store_errors": 0,
        "invalidations": 0,
        "collapsed": 0,
        "refreshes": 0,
    });
    assert_eq!(json, expected);
}

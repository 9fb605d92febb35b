//! The load-benchmark server: the same 1 KiB route three times, on three
//! ports — plain axum on PORT, behind webcache's layer (in-memory store) on
//! PORT+1, and behind a "floor" layer on PORT+2 that answers every request
//! with a canned response shaped like a hit (the same header fields) and
//! does nothing else — so that `bench/axum.sh` can compare cache hits with
//! the bare route, and with the cheapest any caching layer could be, in one
//! run.
//!
//! `cargo run --release -p webcache-examples --example bench_axum`

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;
use webcache_axum::CacheLayer;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;

/// Answers with a copy of one response, like a hit that costs nothing.
#[derive(Clone)]
struct Floor {
    headers: HeaderMap,
    body: Bytes,
}

impl Floor {
    fn new() -> Self {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "text/plain"),
            ("cache-control", "max-age=3600"),
            ("date", "Wed, 25 Nov 2026 12:00:00 GMT"),
            ("etag", "\"a55ec33f51c50a4918d8ee24c746fec0\""),
            ("cache-status", "webcache; hit; ttl=3600"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        Floor {
            headers,
            body: Bytes::from(vec![b'x'; 1024]),
        }
    }
}

impl<S> Layer<S> for Floor {
    type Service = Floor;
    fn layer(&self, _inner: S) -> Floor {
        self.clone()
    }
}

impl<B> Service<Request<B>> for Floor {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<B>) -> Self::Future {
        let mut response = Response::new(Full::new(self.body.clone()));
        *response.headers_mut() = self.headers.clone();
        response
            .headers_mut()
            .insert("age", HeaderValue::from(0u32));
        ready(Ok(response))
    }
}

fn routes() -> Router {
    let body = "x".repeat(1024);
    Router::new().route(
        "/object",
        get(move || {
            let body = body.clone();
            async move {
                (
                    [
                        ("cache-control", "max-age=3600"),
                        ("content-type", "text/plain"),
                    ],
                    body,
                )
            }
        }),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3100);
    let cache = Cache::new(MemoryStore::new(256 << 20), Config::default());
    let plain = routes();
    let cached = routes().layer(CacheLayer::new(cache));
    let floor = routes().layer(Floor::new());
    let a = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let b = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port + 1))).await?;
    let c = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port + 2))).await?;
    println!(
        "plain on {port}, cached on {}, floor on {}",
        port + 1,
        port + 2
    );
    let plain = tokio::spawn(async move { axum::serve(a, plain).await });
    let cached = tokio::spawn(async move { axum::serve(b, cached).await });
    let floor = tokio::spawn(async move { axum::serve(c, floor).await });
    let _ = tokio::join!(plain, cached, floor);
    Ok(())
}

//! The cache in front of a plain hyper server: no axum, only hyper, hyper-util
//! and the tower layer (`webcache::axum::CacheLayer` works on any tower
//! `Service` over `http` types).
//!
//! ```sh
//! cargo run -p webcache-examples --example hyper     # on 127.0.0.1:3000 (PORT=... to change)
//! curl -i http://127.0.0.1:3000/time                 # twice: a miss, then a hit with Age
//! ```

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower_layer::Layer;
use tower_service::Service;
use webcache::axum::CacheLayer;

/// The application, as a tower `Service`. The cache needs request bodies
/// that implement `Default` (its background refreshes send requests of
/// their own), so requests arrive with a boxed body.
#[derive(Clone)]
struct App;

impl Service<Request<BoxBody<Bytes, hyper::Error>>> for App {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<BoxBody<Bytes, hyper::Error>>) -> Self::Future {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let response = Response::builder()
            .header("cache-control", "max-age=10")
            .header("content-type", "text/plain")
            .body(Full::new(Bytes::from(format!(
                "{} rendered at {secs}\n",
                request.uri().path()
            ))));
        // A response built from constant, valid parts.
        ready(Ok(response.unwrap_or_default()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let cached = CacheLayer::new(webcache::easy_setup()).layer(App);

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("hyper behind webcache on http://{addr}: curl -i http://{addr}/time (twice)");
    loop {
        let (stream, _) = listener.accept().await?;
        // hyper's `Incoming` body, boxed into a body that has a `Default`.
        let service = TowerToHyperService::new(
            tower_layer::layer_fn(|inner| BoxRequests { inner }).layer(cached.clone()),
        );
        tokio::spawn(async move {
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection: {e}");
            }
        });
    }
}

/// Boxes hyper's request body before the cache sees the request.
#[derive(Clone)]
struct BoxRequests<S> {
    inner: S,
}

impl<S> Service<Request<Incoming>> for BoxRequests<S>
where
    S: Service<Request<BoxBody<Bytes, hyper::Error>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> S::Future {
        self.inner.call(request.map(BodyExt::boxed))
    }
}

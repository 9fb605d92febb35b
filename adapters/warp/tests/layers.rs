//! The cache's parts in stacks of one's own: the request and response sides
//! apart around a tower layer, and the cached filter served with hyper-util
//! directly.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tower_layer::Layer;
use tower_service::Service;
use warp::Filter;
use webcache_warp::{CacheLayer, CachingExt, RequestBodyLayer, Server};

use support::{Calls, Client, listener, spawn};

/// A tower layer between the two sides: counts its calls and marks the
/// response of its first call only.
#[derive(Clone)]
struct Middle(Calls);

impl<S> Layer<S> for Middle {
    type Service = MiddleService<S>;
    fn layer(&self, inner: S) -> MiddleService<S> {
        MiddleService {
            inner,
            calls: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct MiddleService<S> {
    inner: S,
    calls: Calls,
}

impl<S, Req, B> Service<Req> for MiddleService<S>
where
    S: Service<Req, Response = Response<B>>,
    S::Future: Send + 'static,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<B>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let first = self.calls.bump() == 1;
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if first {
                let mark = HeaderValue::from_static("yes");
                response.headers_mut().insert("x-first-pass", mark);
            }
            Ok(response)
        })
    }
}

#[tokio::test]
async fn the_request_and_response_sides_sit_apart_around_a_tower_layer() {
    let (filter_calls, middle_calls) = (Calls::default(), Calls::default());
    let counter = filter_calls.clone();
    let route = warp::any()
        .map(move || format!("call {}", counter.bump()))
        .cache_for(Duration::from_secs(60));
    let cache = CacheLayer::new(webcache_memory::easy_setup());
    let below = cache.request_layer().layer(warp::service(route));
    let middle = Middle(middle_calls.clone()).layer(below);
    let stack = RequestBodyLayer.layer(cache.response_layer().layer(middle));
    let (addr, _) = spawn(Server::new(stack)).await;
    let client = Client::new(addr);

    let miss = client.get("/").await;
    assert!(
        miss.cache_status().contains("stored"),
        "{}",
        miss.cache_status()
    );
    cache.cache().quiesce().await;
    let hit = client.get("/").await;
    assert_eq!(hit.body, "call 1");
    assert!(hit.cache_status().contains("hit"), "{}", hit.cache_status());
    assert_eq!(
        hit.header("x-first-pass"),
        "yes",
        "stored as it left the layer above the request side"
    );
    assert_eq!(filter_calls.get(), 1, "the hit never ran the filter");
    assert_eq!(middle_calls.get(), 2, "hits are answered below the layer");
}

#[tokio::test]
async fn the_cached_filter_serves_with_hyper_util_directly() {
    let calls = Calls::default();
    let counter = calls.clone();
    let route = warp::any()
        .map(move || format!("call {}", counter.bump()))
        .cache_for(Duration::from_secs(60));
    let service = webcache_warp::service(route, webcache_memory::easy_setup());
    let (listener, addr) = listener().await;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let client = Client::new(addr);
    assert_eq!(client.get("/").await.body, "call 1");
    let hit = client.get("/").await;
    assert_eq!(hit.body, "call 1");
    assert!(hit.cache_status().contains("hit"));
    assert_eq!(calls.get(), 1);
}

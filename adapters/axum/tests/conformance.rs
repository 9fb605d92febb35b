//! The core's RFC scenario list, run over real HTTP on loopback through the
//! tower layer, in front of an axum app playing the scripted origin.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use webcache_axum::CacheLayer;
use webcache_core::clock::ManualClock;
use webcache_core::conformance::{self, Harness, Origin};
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;

struct Running {
    cache: Cache<MemoryStore>,
    addr: SocketAddr,
    store: MemoryStore,
    clock: ManualClock,
    origin: Origin,
    server: tokio::task::JoinHandle<()>,
}

struct Loopback {
    running: Option<Running>,
    client: Client<HttpConnector, Full<Bytes>>,
}

async fn serve(
    cache: Cache<MemoryStore>,
    origin: Origin,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app = Router::new()
        .fallback(move |req: Request<Body>| {
            let origin = origin.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = body
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                origin.respond(&parts, body).map(Body::from)
            }
        })
        .layer(CacheLayer::new(cache));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, server)
}

impl Harness for Loopback {
    async fn start(&mut self, config: Config, clock: ManualClock, origin: Origin) {
        if let Some(r) = self.running.take() {
            r.server.abort();
        }
        let store = MemoryStore::new(64 << 20);
        let cache = Cache::builder(store.clone())
            .config(config)
            .clock(clock.clone())
            .build();
        let (addr, server) = serve(cache.clone(), origin.clone()).await;
        self.running = Some(Running {
            cache,
            addr,
            store,
            clock,
            origin,
            server,
        });
    }

    async fn restart(&mut self, config: Config) {
        let r = self.running.take().expect("started");
        r.server.abort();
        let cache = Cache::builder(r.store.clone())
            .config(config)
            .clock(r.clock.clone())
            .build();
        let (addr, server) = serve(cache.clone(), r.origin.clone()).await;
        self.running = Some(Running {
            cache,
            addr,
            server,
            ..r
        });
    }

    async fn send(&mut self, request: Request<Bytes>) -> Response<Bytes> {
        let r = self.running.as_ref().expect("started");
        let (mut parts, body) = request.into_parts();
        parts.uri = format!("http://{}{}", r.addr, parts.uri)
            .parse()
            .expect("uri");
        let response = self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await
            .expect("response");
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, body.collect().await.expect("body").to_bytes())
    }

    async fn settle(&mut self) {
        self.running
            .as_ref()
            .expect("started")
            .cache
            .quiesce()
            .await;
    }
}

#[tokio::test]
async fn every_rfc_scenario_passes_through_the_layer_over_http() {
    let mut harness = Loopback {
        running: None,
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    conformance::assert_all(&mut harness).await;
}

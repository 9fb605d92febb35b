//! The core's RFC scenario list, run over real HTTP on loopback through the
//! tower layer: in front of an axum app playing the scripted origin, and
//! in front of a bare tower service that can fail (an origin that gives no
//! answer), both served by hyper with its automatic `Date` off, so that the
//! cache's own Date rule (RFC 9110 §6.6.1) is what the scenarios see.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use webcache_axum::CacheLayer;
use webcache_core::clock::ManualClock;
use webcache_core::conformance::{self, Harness, Origin, Unreachable};
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
    /// Serve a fallible tower service instead of the axum app.
    fallible: bool,
}

/// The scripted origin as a tower service whose exchanges can fail: an
/// [`Unreachable`] response becomes an error, as from an upstream that
/// cannot be reached.
#[derive(Clone)]
struct FallibleOrigin(Origin);

impl tower_service::Service<Request<Full<Bytes>>> for FallibleOrigin {
    type Response = Response<Full<Bytes>>;
    type Error = std::io::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Full<Bytes>>) -> Self::Future {
        let origin = self.0.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let response = origin.respond(&parts, body);
            if Unreachable::marks(&response) {
                return Err(std::io::Error::other("the origin is unreachable"));
            }
            Ok(response.map(Full::new))
        })
    }
}

/// The cache layer over [`FallibleOrigin`], served by hyper: an error from
/// the service (no stale response to give) closes the connection.
async fn serve_fallible(
    cache: Cache<MemoryStore>,
    origin: Origin,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    use tower_layer::Layer;
    use tower_service::Service;
    let service = CacheLayer::new(cache).layer(FallibleOrigin(origin));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let server = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let hyper_service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let mut service = service.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        service
                            .call(Request::from_parts(parts, Full::new(body)))
                            .await
                    }
                });
                let _ = http1_without_date()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    (addr, server)
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
        while let Ok((stream, _)) = listener.accept().await {
            let app = app.clone();
            tokio::spawn(async move {
                let hyper_service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    use tower_service::Service;
                    app.clone().call(req)
                });
                let _ = http1_without_date()
                    .serve_connection(TokioIo::new(stream), hyper_service)
                    .await;
            });
        }
    });
    (addr, server)
}

/// hyper's HTTP/1 server without its own `Date` (which `axum::serve`
/// adds): every Date a scenario sees then comes from the origin or from
/// the cache (RFC 9110 §6.6.1), never from the server in front of it.
fn http1_without_date() -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.auto_date_header(false);
    builder
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
        let (addr, server) = self.serve(cache.clone(), origin.clone()).await;
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
        let (addr, server) = self.serve(cache.clone(), r.origin.clone()).await;
        self.running = Some(Running {
            cache,
            addr,
            server,
            ..r
        });
    }

    async fn send(&mut self, request: Request<Bytes>) -> Response<Bytes> {
        let r = self.running.as_ref().expect("started");
        if request.uri().scheme().is_some() {
            return send_absolute_form(r.addr, request).await;
        }
        let (mut parts, body) = request.into_parts();
        parts.uri = format!("http://{}{}", r.addr, parts.uri)
            .parse()
            .expect("uri");
        let Ok(response) = self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await
        else {
            // The connection closed without a response: the layer had no
            // answer for an origin that gave none.
            let mut bad_gateway = Response::new(Bytes::new());
            *bad_gateway.status_mut() = http::StatusCode::BAD_GATEWAY;
            return bad_gateway;
        };
        let (parts, body) = response.into_parts();
        Response::from_parts(parts, body.collect().await.expect("body").to_bytes())
    }

    fn can_be_unreachable(&self) -> bool {
        self.fallible
    }

    fn sends_absolute_form(&self) -> bool {
        true
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

/// Sends `request` with its absolute-form target as it is (hyper's
/// connection-level client writes the target it is given), on a
/// connection of its own.
async fn send_absolute_form(addr: SocketAddr, request: Request<Bytes>) -> Response<Bytes> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1 handshake");
    tokio::spawn(connection);
    let response = sender
        .send_request(request.map(Full::new))
        .await
        .expect("a response");
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, body.collect().await.expect("body").to_bytes())
}

impl Loopback {
    fn new(fallible: bool) -> Self {
        Loopback {
            running: None,
            client: Client::builder(TokioExecutor::new()).build_http(),
            fallible,
        }
    }

    async fn serve(
        &self,
        cache: Cache<MemoryStore>,
        origin: Origin,
    ) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        if self.fallible {
            serve_fallible(cache, origin).await
        } else {
            serve(cache, origin).await
        }
    }
}

#[tokio::test]
async fn every_rfc_scenario_passes_through_the_layer_over_http() {
    conformance::assert_all(&mut Loopback::new(false)).await;
}

#[tokio::test]
async fn every_rfc_scenario_passes_through_the_layer_over_a_fallible_service() {
    // Including those with an origin that gives no answer.
    conformance::assert_all(&mut Loopback::new(true)).await;
}

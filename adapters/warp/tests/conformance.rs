//! The core's RFC scenario list, run over real HTTP on loopback through
//! `webcache_warp::serve`, in front of a warp filter playing the scripted
//! origin.

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use warp::Filter;
use warp::path::FullPath;
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

/// The whole request as warp's filters see it: method, path and query,
/// header fields and body.
fn whole_request() -> impl Filter<Extract = (http::request::Parts, Bytes), Error = warp::Rejection>
+ Clone
+ Send
+ Sync
+ 'static {
    let query = warp::query::raw()
        .map(|q: String| format!("?{q}"))
        .or(warp::any().map(String::new))
        .unify();
    warp::method()
        .and(warp::path::full())
        .and(query)
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .map(
            |method: Method, path: FullPath, query: String, headers: HeaderMap, body: Bytes| {
                let mut request = Request::new(());
                *request.method_mut() = method;
                if let Ok(uri) = format!("{}{query}", path.as_str()).parse() {
                    *request.uri_mut() = uri;
                }
                *request.headers_mut() = headers;
                (request.into_parts().0, body)
            },
        )
        .untuple_one()
}

async fn serve(
    cache: Cache<MemoryStore>,
    origin: Origin,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let app =
        whole_request().map(move |parts, body| -> Response<Bytes> { origin.respond(&parts, body) });
    support::spawn(webcache_warp::serve(app, cache)).await
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
        if request.uri().scheme().is_some() {
            return send_absolute_form(r.addr, request).await;
        }
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

    fn sends_absolute_form(&self) -> bool {
        true
    }
}

/// Sends `request` with its absolute-form target as it is (hyper's
/// connection-level client writes the target it is given), on a
/// connection of its own.
async fn send_absolute_form(addr: SocketAddr, request: Request<Bytes>) -> Response<Bytes> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the server");
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
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

#[tokio::test]
async fn every_rfc_scenario_passes_through_the_cached_filter_over_http() {
    let mut harness = Loopback {
        running: None,
        client: Client::builder(TokioExecutor::new()).build_http(),
    };
    conformance::assert_all(&mut harness).await;
}

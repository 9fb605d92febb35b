//! Every conformance scenario of webcache-core through the proxy, over real
//! loopback HTTP: the scripted origin behind a hyper server, the proxy in
//! front of it, a hyper client in front of the proxy.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use webcache_core::clock::ManualClock;
use webcache_core::conformance::{self, Harness, Origin, Unreachable};
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;
use webcache_proxy::{Proxy, ProxyConfig, Server};

/// The scripted origin as a real HTTP server. It adds no Date (scenarios
/// send one only when they script one).
async fn serve_origin(origin: Origin) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let origin = origin.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let origin = origin.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let response = origin.respond(&parts, body);
                        if Unreachable::marks(&response) {
                            // No answer: hyper closes the connection.
                            return Err(std::io::Error::other("the origin is unreachable"));
                        }
                        Ok(response.map(Full::new))
                    }
                });
                let _ = http1::Builder::new()
                    .auto_date_header(false)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, task)
}

struct Running {
    origin_addr: SocketAddr,
    origin_task: JoinHandle<()>,
    store: MemoryStore,
    clock: ManualClock,
    cache: Cache<MemoryStore>,
    proxy_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// The proxy with a memory store.
#[derive(Default)]
struct ProxyHarness(Option<Running>);

async fn start_proxy(
    origin_addr: SocketAddr,
    store: &MemoryStore,
    config: Config,
    clock: &ManualClock,
) -> (Cache<MemoryStore>, SocketAddr, oneshot::Sender<()>) {
    let cache = Cache::builder(store.clone())
        .config(config)
        .clock(clock.clone())
        .build();
    // The scenarios judge the cache: the proxy's own forwarding fields
    // (X-Forwarded-Host replaced for an untrusted client, by default) would
    // hide what the cache passes on. tests/edge.rs covers them.
    let proxy_config = ProxyConfig::builder(&format!("http://{origin_addr}"))
        .forwarded(webcache_proxy::ForwardedHeaders::None)
        .build()
        .expect("proxy config");
    let server = Server::bind(
        "127.0.0.1:0".parse().expect("addr"),
        Proxy::new(cache.clone(), proxy_config),
    )
    .await
    .expect("bind");
    let addr = server.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    (cache, addr, stop)
}

impl Harness for ProxyHarness {
    async fn start(&mut self, config: Config, clock: ManualClock, origin: Origin) {
        if let Some(old) = self.0.take() {
            old.origin_task.abort();
            let _ = old.stop.send(());
        }
        let (origin_addr, origin_task) = serve_origin(origin).await;
        let store = MemoryStore::new(64 << 20);
        let (cache, proxy_addr, stop) = start_proxy(origin_addr, &store, config, &clock).await;
        self.0 = Some(Running {
            origin_addr,
            origin_task,
            store,
            clock,
            cache,
            proxy_addr,
            stop,
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
    }

    async fn restart(&mut self, config: Config) {
        let running = self.0.take().expect("the runner starts every scenario");
        let _ = running.stop.send(());
        let (cache, proxy_addr, stop) =
            start_proxy(running.origin_addr, &running.store, config, &running.clock).await;
        self.0 = Some(Running {
            cache,
            proxy_addr,
            stop,
            ..running
        });
    }

    async fn send(&mut self, request: Request<Bytes>) -> Response<Bytes> {
        let running = self.0.as_ref().expect("the runner starts every scenario");
        if request.uri().scheme().is_some() {
            return send_absolute_form(running.proxy_addr, request).await;
        }
        let (mut parts, body) = request.into_parts();
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        parts.uri = format!("http://{}{target}", running.proxy_addr)
            .parse()
            .expect("a valid URI");
        let request = Request::from_parts(parts, Full::new(body));
        let response =
            tokio::time::timeout(Duration::from_secs(10), running.client.request(request))
                .await
                .expect("a response within 10 s")
                .expect("a response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("the body").to_bytes();
        Response::from_parts(parts, body)
    }

    async fn settle(&mut self) {
        let running = self.0.as_ref().expect("the runner starts every scenario");
        running.cache.quiesce().await;
    }

    fn can_be_unreachable(&self) -> bool {
        true
    }

    fn sends_absolute_form(&self) -> bool {
        true
    }
}

/// Sends `request` with its absolute-form target as it is (hyper's
/// connection-level client writes the target it is given), on a
/// connection of its own.
async fn send_absolute_form(proxy: SocketAddr, request: Request<Bytes>) -> Response<Bytes> {
    let stream = tokio::net::TcpStream::connect(proxy)
        .await
        .expect("connect to the proxy");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("an HTTP/1 handshake");
    tokio::spawn(connection);
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        sender.send_request(request.map(Full::new)),
    )
    .await
    .expect("a response within 10 s")
    .expect("a response");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the body").to_bytes();
    Response::from_parts(parts, body)
}

impl Drop for ProxyHarness {
    fn drop(&mut self) {
        if let Some(running) = self.0.take() {
            running.origin_task.abort();
            let _ = running.stop.send(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_through_the_proxy() {
    conformance::assert_all(&mut ProxyHarness::default()).await;
}

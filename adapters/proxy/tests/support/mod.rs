//! Real HTTP over loopback: a scriptable origin, the proxy in front of it,
//! and a client.
#![allow(dead_code)]

#[cfg(feature = "tls")]
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use webcache_core::clock::ManualClock;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;
use webcache_proxy::{Proxy, ProxyConfig, ProxyConfigBuilder, Server};

/// A response body for the test origin.
pub type OriginBody = BoxBody<Bytes, Infallible>;

/// A complete body.
pub fn full(data: impl Into<Bytes>) -> OriginBody {
    Full::new(data.into()).boxed()
}

type Handler = Arc<
    dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<OriginBody>> + Send>>
        + Send
        + Sync,
>;

/// What the origin received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: HeaderMap,
}

/// An origin server on loopback: every request is recorded and answered by
/// the handler; `kill` stops it and drops every connection.
pub struct Origin {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    tasks: Arc<Mutex<JoinSet<()>>>,
    stop: Option<oneshot::Sender<()>>,
}

impl Origin {
    /// Starts an origin answering with `handler`.
    pub async fn start<F, Fut>(handler: F) -> Origin
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<OriginBody>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::start_on(listener, handler)
    }

    /// Starts an origin on a bound listener.
    pub fn start_on<F, Fut>(listener: TcpListener, handler: F) -> Origin
    where
        F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<OriginBody>> + Send + 'static,
    {
        let addr = listener.local_addr().expect("addr");
        let handler: Handler = Arc::new(move |req| Box::pin(handler(req)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tasks = Arc::new(Mutex::new(JoinSet::new()));
        let (stop, mut stopped) = oneshot::channel();
        let (seen2, tasks2) = (seen.clone(), tasks.clone());
        tasks.lock().unwrap().spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => match accepted {
                        Ok(a) => a,
                        Err(_) => continue,
                    },
                };
                let handler = handler.clone();
                let seen = seen2.clone();
                let service = service_fn(move |req: Request<Incoming>| {
                    seen.lock().unwrap().push(Seen {
                        method: req.method().clone(),
                        uri: req.uri().clone(),
                        headers: req.headers().clone(),
                    });
                    let fut = handler(req);
                    async move { Ok::<_, Infallible>(fut.await) }
                });
                tasks2.lock().unwrap().spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Origin {
            addr,
            seen,
            tasks,
            stop: Some(stop),
        }
    }

    /// The upstream URL of this origin.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests the origin received.
    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// The requests the origin received.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The last request the origin received.
    pub fn last(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }

    /// Stops accepting and drops every connection.
    pub async fn kill(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap());
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.tasks.lock().unwrap().abort_all();
    }
}

/// A clock for the cache and the origin's dates.
pub fn clock() -> ManualClock {
    ManualClock::new(SystemTime::now())
}

/// An HTTP-date of `clock`'s time.
pub fn date(clock: &ManualClock) -> http::HeaderValue {
    use webcache_core::clock::Clock;
    webcache_core::headers::fmt_http_date(clock.now())
}

/// The proxy under test, serving on loopback.
pub struct Running {
    pub addr: SocketAddr,
    pub proxy: Proxy<MemoryStore>,
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    pub done: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Triggers the graceful shutdown.
    pub fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for background stores and refreshes.
    pub async fn settle(&self) {
        self.proxy.cache().quiesce().await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the proxy in front of `upstream` with the gateway defaults.
pub async fn proxy(upstream: &str, clock: &ManualClock) -> Running {
    proxy_with(
        upstream,
        clock,
        Config::gateway_builder().build().unwrap(),
        |b| b,
    )
    .await
}

/// Starts the proxy with a cache configuration and proxy settings of the
/// test's choosing.
pub async fn proxy_with(
    upstream: &str,
    clock: &ManualClock,
    config: Config,
    settings: impl FnOnce(ProxyConfigBuilder) -> ProxyConfigBuilder,
) -> Running {
    let cache = Cache::builder(MemoryStore::new(64 << 20))
        .config(config)
        .clock(clock.clone())
        .build();
    let proxy_config: ProxyConfig = settings(ProxyConfig::builder(upstream)).build().unwrap();
    let proxy = Proxy::new(cache, proxy_config);
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), proxy.clone())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        server
            .serve(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        addr,
        proxy,
        client: Client::new(addr),
        stop: Some(stop),
        done: Some(done),
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Got {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn cache_status(&self) -> &str {
        self.header("cache-status")
    }

    pub fn is_hit(&self) -> bool {
        self.cache_status().contains("; hit")
    }
}

/// A client for the proxy.
#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    inner: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Client {
            addr,
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn request(&self, method: &str, path: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path))
    }

    pub async fn send_streaming(&self, request: Request<Full<Bytes>>) -> Response<Incoming> {
        tokio::time::timeout(Duration::from_secs(10), self.inner.request(request))
            .await
            .expect("response within 10 s")
            .expect("response")
    }

    pub async fn send(&self, request: Request<Full<Bytes>>) -> Got {
        let response = self.send_streaming(request).await;
        read(response).await
    }

    pub async fn get(&self, path: &str) -> Got {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        self.method_with("GET", path, headers).await
    }

    pub async fn method_with(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut b = self.request(method, path);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        self.send(b.body(Full::default()).unwrap()).await
    }
}

/// Reads a response whole.
pub async fn read(response: Response<Incoming>) -> Got {
    let (parts, body) = response.into_parts();
    let body = tokio::time::timeout(Duration::from_secs(10), body.collect())
        .await
        .expect("body within 10 s")
        .expect("body")
        .to_bytes();
    Got {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A counter shared with an origin handler.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    pub fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A free port nothing listens on (bound, then released).
pub async fn unused_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

//! Real HTTP over loopback: a webcache-warp server on a free port and a
//! hyper client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower_service::Service;
use webcache_warp::Server;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Binds 127.0.0.1 on a free port.
pub async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// Serves `server` on 127.0.0.1 on a free port, in a task.
pub async fn spawn<Svc, ResB>(server: Server<Svc>) -> (SocketAddr, tokio::task::JoinHandle<()>)
where
    Svc: Service<Request<Incoming>, Response = Response<ResB>> + Clone + Send + 'static,
    Svc::Future: Send + 'static,
    Svc::Error: Into<BoxError>,
    ResB: Body + Send + 'static,
    ResB::Data: Send,
    ResB::Error: Into<BoxError>,
{
    let (listener, addr) = listener().await;
    let task = tokio::spawn(server.run_on(listener));
    (addr, task)
}

/// Counts the calls of a filter.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn bump(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
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

    pub fn cache_status(&self) -> &str {
        self.header("cache-status")
    }
}

/// A client for one server.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
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

    /// Sends and returns the response head with its streaming body.
    pub async fn send_streaming(&self, request: Request<Full<Bytes>>) -> Response<Incoming> {
        tokio::time::timeout(Duration::from_secs(10), self.inner.request(request))
            .await
            .expect("response within 10 s")
            .expect("request")
    }

    /// Sends and reads the whole response.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Got {
        let (parts, body) = self.send_streaming(request).await.into_parts();
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

    pub async fn get(&self, path: &str) -> Got {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut b = self.request("GET", path);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        self.send(b.body(Full::default()).expect("request")).await
    }
}

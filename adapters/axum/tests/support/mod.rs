//! Real HTTP over loopback: an axum app on a free port and a hyper client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Serves `app` on 127.0.0.1 on a free port.
pub async fn spawn(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
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
        let response = self.send_streaming(request).await;
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

    /// A GET whose failure (no response, or a body that does not read to
    /// its end) is returned, not a panic.
    pub async fn try_get(&self, path: &str) -> Result<Got, String> {
        let request = self
            .request("GET", path)
            .body(Full::default())
            .expect("request");
        let response = tokio::time::timeout(Duration::from_secs(10), self.inner.request(request))
            .await
            .map_err(|_| "no response within 10 s".to_owned())?
            .map_err(|e| format!("no response: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = tokio::time::timeout(Duration::from_secs(10), body.collect())
            .await
            .map_err(|_| "no body end within 10 s".to_owned())?
            .map_err(|e| format!("the body failed: {e}"))?
            .to_bytes();
        Ok(Got {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Got {
        self.send(
            self.request("GET", path)
                .body(Full::default())
                .expect("request"),
        )
        .await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Got {
        let mut b = self.request("GET", path);
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        self.send(b.body(Full::default()).expect("request")).await
    }
}

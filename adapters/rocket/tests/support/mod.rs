//! Real HTTP over loopback: a Rocket server on a free port, quiet, and a
//! hyper client.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rocket::config::{Config, LogLevel, Shutdown as ShutdownConfig};
use rocket::fairing::AdHoc;
use rocket::shield::Shield;
use rocket::{Build, Rocket, Shutdown};

/// A Rocket with logging off, no `Server` field, no security headers, on
/// 127.0.0.1 on a free port, that shuts down at once.
pub fn quiet() -> Rocket<Build> {
    let config = Config {
        address: Ipv4Addr::LOCALHOST.into(),
        port: 0,
        log_level: LogLevel::Off,
        cli_colors: false,
        ident: rocket::config::Ident::none(),
        shutdown: ShutdownConfig {
            ctrlc: false,
            grace: 0,
            mercy: 0,
            ..ShutdownConfig::default()
        },
        ..Config::debug_default()
    };
    rocket::custom(config).attach(Shield::new())
}

/// Launches `rocket` and returns where it listens and how to stop it.
pub async fn launch(rocket: Rocket<Build>) -> (SocketAddr, Shutdown) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let rocket = rocket.attach(AdHoc::on_liftoff("test address", move |rocket| {
        let config = rocket.config();
        let addr = SocketAddr::new(config.address, config.port);
        let shutdown = rocket.shutdown();
        if let Some(tx) = tx.lock().expect("not poisoned").take() {
            let _ = tx.send((addr, shutdown));
        }
        Box::pin(async {})
    }));
    tokio::spawn(async move {
        if let Err(error) = rocket.launch().await {
            eprintln!("launch failed: {error}");
        }
    });
    tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("liftoff within 10 s")
        .expect("liftoff")
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
    pub async fn send_streaming(
        &self,
        request: Request<Full<Bytes>>,
    ) -> http::Response<hyper::body::Incoming> {
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

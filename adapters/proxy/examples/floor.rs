//! The floor of `bench/proxy.sh`: a server that answers `/1k` and `/64k`
//! with the very bytes a webcache-proxy hit sends (the same status line,
//! header fields and body), built once, and does nothing else: no cache,
//! no upstream, no parsing beyond hyper's. It runs like the proxy (hyper's
//! HTTP/1.1 server on one current-thread runtime), so the proxy's hit
//! throughput divided by this one's is what the cache costs.
//!
//! ```sh
//! cargo run --release -p webcache-proxy --example floor -- 127.0.0.1:3001
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{DATE, HeaderMap, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

fn body_of(len: usize) -> Bytes {
    Bytes::from((0..len).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

/// The header fields of a proxy hit on the `origin` example's objects,
/// `Date` with a placeholder value (each answer overwrites it in place, so
/// that the copy never grows).
fn hit_fields(len: usize) -> HeaderMap {
    let mut fields = HeaderMap::new();
    let mut put = |name: &'static str, value: HeaderValue| {
        fields.insert(name, value);
    };
    put(
        "cache-control",
        HeaderValue::from_static("public, max-age=3600"),
    );
    put(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    put("origin-requests", HeaderValue::from_static("1"));
    put("content-length", HeaderValue::from(len));
    put("date", HeaderValue::from_static(""));
    put("via", HeaderValue::from_static("1.1 webcache"));
    put("age", HeaderValue::from_static("0"));
    put(
        "cache-status",
        HeaderValue::from_static("webcache; hit; ttl=3600"),
    );
    fields
}

/// `Date` as an IMF-fixdate, rendered once a second.
struct Clock {
    now: std::sync::Mutex<(u64, HeaderValue)>,
}

impl Clock {
    fn date(&self) -> HeaderValue {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if now.0 != secs {
            let text = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
            if let Ok(value) = HeaderValue::from_str(&text) {
                *now = (secs, value);
            }
        }
        now.1.clone()
    }
}

fn answer(
    objects: &[(&str, HeaderMap, Bytes)],
    clock: &Clock,
    path: &str,
) -> Response<Full<Bytes>> {
    let Some((_, fields, body)) = objects.iter().find(|(p, _, _)| *p == path) else {
        let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    };
    let mut response = Response::new(Full::new(body.clone()));
    let headers = response.headers_mut();
    *headers = fields.clone();
    headers.insert(DATE, clock.date());
    response
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned())
        .parse()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(addr))
}

async fn serve(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("floor listening on http://{addr} (/1k, /64k)");
    let objects: Arc<[(&str, HeaderMap, Bytes)]> = Arc::new([
        ("/1k", hit_fields(1024), body_of(1024)),
        ("/64k", hit_fields(64 * 1024), body_of(64 * 1024)),
    ]);
    let clock = Arc::new(Clock {
        now: std::sync::Mutex::new((0, HeaderValue::from_static(""))),
    });
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (objects, clock) = (objects.clone(), clock.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let response = answer(&objects, &clock, req.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .auto_date_header(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

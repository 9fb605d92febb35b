//! A small origin server for trying and benchmarking the proxy.
//!
//! ```sh
//! cargo run --release -p webcache-proxy --example origin -- 127.0.0.1:3000
//! ```
//!
//! `GET /1k` and `GET /64k` answer 1 KiB and 64 KiB bodies with
//! `Cache-Control: public, max-age=3600`; `GET /size/N` answers N bytes;
//! `GET /slow` waits a second. Every response says how many requests the
//! origin has answered (`Origin-Requests`), so a hit is easy to tell from a
//! miss.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

fn body_of(len: usize) -> Bytes {
    Bytes::from((0..len).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("origin listening on http://{addr} (/1k, /64k, /size/N, /slow)");
    let count = Arc::new(AtomicU64::new(0));
    let one_k = body_of(1024);
    let sixty_four_k = body_of(64 * 1024);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (count, one_k, sixty_four_k) = (count.clone(), one_k.clone(), sixty_four_k.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                let (one_k, sixty_four_k) = (one_k.clone(), sixty_four_k.clone());
                async move {
                    let path = req.uri().path().to_owned();
                    let body = match path.as_str() {
                        "/1k" => Some(one_k),
                        "/64k" => Some(sixty_four_k),
                        "/slow" => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            Some(Bytes::from_static(b"slow\n"))
                        }
                        p => p
                            .strip_prefix("/size/")
                            .and_then(|n| n.parse::<usize>().ok())
                            .filter(|n| *n <= 64 << 20)
                            .map(body_of),
                    };
                    let response = match body {
                        Some(body) => Response::builder()
                            .header("cache-control", "public, max-age=3600")
                            .header("content-type", "application/octet-stream")
                            .header("origin-requests", n)
                            .body(Full::new(body)),
                        None => Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"not found\n"))),
                    };
                    Ok::<_, Infallible>(response.unwrap_or_default())
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

//! An axum app behind the cache for `bench/soak.sh`: the routes of the
//! proxy's `fault_origin` example (`/obj/<len>/<name>` fresh for an hour,
//! `/reval/<len>/<name>` for a second, any other method `no-store`), with
//! bodies streamed from one shared pattern chunk so that the app holds no
//! body of its own, and `/tasks` (outside the cache): the tokio tasks alive.
//! The memory store holds `CACHE_BYTES` (default 32 MiB).
//!
//! ```sh
//! cargo run --release -p webcache-examples --example soak_app   # PORT=3000
//! ```

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use bytes::Bytes;
use http_body_util::BodyExt;
use webcache_axum::CacheLayer;

/// `left` bytes of the pattern (`b'a' + i % 26`), a shared chunk at a time.
struct Pattern {
    left: u64,
    chunk: Bytes,
}

impl http_body::Body for Pattern {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(self.chunk.len() as u64);
        self.left -= n;
        let data = self.chunk.slice(..n as usize);
        Poll::Ready(Some(Ok(http_body::Frame::data(data))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.left)
    }
}

fn object(chunk: Bytes, control: &'static str, len: u64, name: &str) -> Response {
    let mut response = Body::new(Pattern { left: len, chunk }.boxed_unsync()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(control));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{name}-{len}\"")) {
        headers.insert(header::ETAG, etag);
    }
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let chunk = Bytes::from(
        (0..26 * 2048)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    );
    let (fresh, short) = (chunk.clone(), chunk);
    // CACHE_BYTES (default 32 MiB): small, so that the soak fills the store
    // early and the memory curve shows what happens once it is full.
    let capacity: u64 = std::env::var("CACHE_BYTES")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(32 << 20);
    let store = webcache_memory::MemoryStore::new(capacity);
    let cache = CacheLayer::new(webcache_core::Cache::new(
        store,
        webcache_memory::easy_config(),
    ));
    let app = Router::new()
        .route(
            "/obj/{len}/{name}",
            any(
                move |method: Method, Path((len, name)): Path<(u64, String)>| {
                    let chunk = fresh.clone();
                    async move {
                        if method != Method::GET && method != Method::HEAD {
                            return (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], "ok")
                                .into_response();
                        }
                        object(chunk, "public, max-age=3600", len, &name)
                    }
                },
            ),
        )
        .route(
            "/reval/{len}/{name}",
            get(move |Path((len, name)): Path<(u64, String)>| {
                let chunk = short.clone();
                async move { object(chunk, "public, max-age=1", len, &name) }
            }),
        )
        .layer(cache)
        // Outside the cache: never stored.
        .route(
            "/tasks",
            get(|| async {
                let tasks = tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks();
                format!("{tasks}\n")
            }),
        );

    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("soak app on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

//! Request smuggling shapes and CR/LF/NUL on raw bytes, against the tower
//! layer served by hyper (RFC 9112 §2.2, §5, §6.1, §6.3, §7.1): hyper
//! rejects each (400 or a closed connection; a chunk-size overflow in a
//! body the application never reads fails after the one response), no
//! smuggled request is ever answered, and none leaves a response in the
//! cache that a later, clean request is served.

mod support;

use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::routing::any;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webcache_axum::CacheLayer;
use webcache_core::Config;
use webcache_memory::MemoryStore;

use support::{Client, spawn};

/// An app answering every path with `max-age=60` and a body that names
/// the path and the X-Forwarded-Host it saw (a reflecting origin).
fn reflecting() -> Router {
    Router::new().fallback(any(|request: Request| async move {
        let host = request
            .headers()
            .get("x-forwarded-host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        (
            [("cache-control", "max-age=60")],
            format!("{} via {host}", request.uri().path()),
        )
    }))
}

/// Sends `bytes` on a connection of its own and returns what came back
/// before the server closed it or went quiet for 500 ms.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Every shape: hyper answers 400 (or nothing), no response names the
/// smuggled request, and a clean GET of the smuggled target afterwards
/// is the origin's answer to the clean request.
#[tokio::test]
async fn rfc9112_smuggling_shapes_are_rejected_and_poison_nothing() {
    let cache = webcache_core::Cache::new(MemoryStore::new(16 << 20), Config::default());
    let addr = spawn(reflecting().layer(CacheLayer::new(cache.clone()))).await;
    let smuggled = "GET /victim HTTP/1.1\r\nHost: t\r\nX-Forwarded-Host: evil.test\r\n\r\n";
    let shapes: Vec<(&str, String)> = vec![
        (
            "two Content-Length values",
            format!(
                "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
        ),
        (
            "a Content-Length list",
            format!(
                "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 0, {}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
        ),
        (
            "obs-fold",
            format!("GET /a HTTP/1.1\r\nHost: t\r\nX-Long: one\r\n two\r\n\r\n{smuggled}"),
        ),
        (
            "chunk-size overflow",
            format!(
                "POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
                 10000000000000000000000000000001\r\nx\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "a NUL in a field value",
            "GET /victim HTTP/1.1\r\nHost: t\r\nX-Forwarded-Host: evil\0.test\r\n\r\n".to_owned(),
        ),
        (
            "a CR in the target",
            "GET /vic\rtim HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
        ),
        (
            "a space in the target",
            "GET /victim HTTP/1.1 x HTTP/1.1\r\nHost: t\r\n\r\n".to_owned(),
        ),
    ];
    let mut report = Vec::new();
    for (shape, bytes) in &shapes {
        let got = raw(addr, bytes.as_bytes()).await;
        let status = got.lines().next().unwrap_or("(closed)").to_owned();
        // Rejected (400, or closed), or — a body the application never
        // reads — answered once before hyper fails reading it; never a
        // second response.
        assert!(
            got.matches("HTTP/1.1 ").count() <= 1,
            "{shape}: more than one response: {got}"
        );
        assert!(
            !got.contains("evil"),
            "{shape}: the smuggled request was answered: {got}"
        );
        report.push(format!("{shape}: {status}"));
    }
    cache.quiesce().await;
    let clean = Client::new(addr)
        .get_with("/victim", &[("host", "t")])
        .await;
    assert_eq!(clean.body, "/victim via -", "{report:?}");
    assert!(
        clean.cache_status().contains("fwd=uri-miss"),
        "nothing was stored for the smuggled target: {} ({report:?})",
        clean.cache_status()
    );
}

/// RFC 9112 §2.2 lets a recipient take a bare LF for a line end, and
/// hyper does: the two fields are the attacker's own request, answered to
/// the attacker, and nothing else.
#[tokio::test]
async fn rfc9112_2_2_a_bare_lf_ends_a_field_line_and_smuggles_no_request() {
    let cache = webcache_core::Cache::new(MemoryStore::new(16 << 20), Config::default());
    let addr = spawn(reflecting().layer(CacheLayer::new(cache.clone()))).await;
    let got = raw(
        addr,
        b"GET /lf HTTP/1.1\r\nHost: t\r\nX-A: 1\nX-B: 2\r\n\r\n",
    )
    .await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert_eq!(got.matches("HTTP/1.1").count(), 1, "one response: {got}");
}

/// RFC 9112 §6.1: a request with both Content-Length and Transfer-Encoding
/// is framed by Transfer-Encoding, and the server must close the
/// connection after responding, so what follows is never read as a request.
#[tokio::test]
async fn rfc9112_6_1_content_length_with_transfer_encoding_answers_once() {
    let cache = webcache_core::Cache::new(MemoryStore::new(16 << 20), Config::default());
    let addr = spawn(reflecting().layer(CacheLayer::new(cache.clone()))).await;
    let got = raw(
        addr,
        b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    eprintln!("{got}");
    assert!(
        !got.contains("/second"),
        "the bytes after the chunked body were answered: {got}"
    );
}

//! Request smuggling shapes and CR/LF/NUL on raw bytes, against cached
//! Rocket routes (RFC 9112 §2.2, §5, §6.1, §6.3, §7.1): Rocket's server
//! rejects each one or answers the one request it framed, never a request
//! smuggled after it, and nothing is left in the cache for a later clean
//! request.

mod support;

use std::time::Duration;

use rocket::request::{FromRequest, Outcome};
use rocket::{Request, get, post, routes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;
use webcache_rocket::{CacheFairing, Cached};

/// The X-Forwarded-Host a request carried, or "-".
struct Forwarded(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Forwarded {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let host = request.headers().get_one("x-forwarded-host").unwrap_or("-");
        Outcome::Success(Forwarded(host.to_owned()))
    }
}

/// A reflecting route: the body names the X-Forwarded-Host it saw.
#[get("/<path>")]
fn reflect(path: &str, forwarded: Forwarded) -> Cached<String> {
    Cached::cache_for(
        Duration::from_secs(60),
        format!("/{path} via {}", forwarded.0),
    )
}

#[post("/<path>")]
fn accept(path: &str) -> String {
    format!("posted /{path}")
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9112_smuggling_shapes_are_rejected_and_poison_nothing() {
    let cache = Cache::new(MemoryStore::new(16 << 20), Config::default());
    let fairing = CacheFairing::new(cache.clone());
    let rocket = support::quiet()
        .mount("/", fairing.cached(routes![reflect]))
        .mount("/", routes![accept])
        .attach(fairing);
    let (addr, _shutdown) = support::launch(rocket).await;
    let smuggled = "GET /victim HTTP/1.1\r\nHost: t\r\nX-Forwarded-Host: evil.test\r\n\r\n";
    let shapes: Vec<(&str, String)> = vec![
        (
            "Content-Length with Transfer-Encoding",
            format!(
                "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "two Content-Length values",
            format!(
                "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{smuggled}",
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
    ];
    let mut report = Vec::new();
    for (shape, bytes) in &shapes {
        let got = raw(addr, bytes.as_bytes()).await;
        let status = got.lines().next().unwrap_or("(closed)").to_owned();
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
    let clean = support::Client::new(addr)
        .get_with("/victim", &[("host", "t")])
        .await;
    assert_eq!(clean.body, "/victim via -", "{report:?}");
    assert!(
        clean.cache_status().contains("fwd=uri-miss"),
        "nothing was stored for the smuggled target: {} ({report:?})",
        clean.cache_status()
    );
}

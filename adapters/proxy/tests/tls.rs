//! TLS over loopback (feature `tls`): clients over TLS with ALPN `h2` and
//! `http/1.1`, the certificate reloaded in place, and an `https://`
//! upstream checked against a given CA file. The certificates are
//! self-signed ones made by each test.
#![cfg(feature = "tls")]

mod support;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use webcache_core::{Cache, Config};
use webcache_memory::MemoryStore;
use webcache_proxy::{Proxy, ProxyConfig, ProxyConfigBuilder, Server, TlsConfig};

use support::tls::{TempDir, provider, tls_connect, write_cert};
use support::{Origin, full};

/// The proxy over TLS in front of `upstream`.
async fn tls_proxy(
    upstream: &str,
    tls: TlsConfig,
    settings: impl FnOnce(ProxyConfigBuilder) -> ProxyConfigBuilder,
) -> std::net::SocketAddr {
    let cache = Cache::new(
        MemoryStore::new(16 << 20),
        Config::gateway_builder().build().unwrap(),
    );
    let config: ProxyConfig = settings(ProxyConfig::builder(upstream)).build().unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), Proxy::new(cache, config))
        .await
        .unwrap()
        .with_tls(tls);
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(std::future::pending()));
    addr
}

async fn cacheable_origin() -> Origin {
    Origin::start(|_req| async {
        Response::builder()
            .header("cache-control", "max-age=60")
            .body(full("secret"))
            .unwrap()
    })
    .await
}

/// An HTTP/1.1 GET over `stream`, read until the proxy closes.
async fn get_raw<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    path: &str,
) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn rfc9113_3_2_http2_by_alpn_over_tls_is_cached() {
    let dir = TempDir::new("alpn-h2");
    let cert = write_cert(&dir.0);
    let tls = TlsConfig::from_pem_files(dir.0.join("cert.pem"), dir.0.join("key.pem")).unwrap();
    let origin = cacheable_origin().await;
    let addr = tls_proxy(&origin.url(), tls, |b| b).await;

    let stream = tls_connect(addr, &cert, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let request = Request::get("https://localhost/a")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), Version::HTTP_2);
        let cache_status = response.headers()["cache-status"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "secret");
        statuses.push(cache_status);
    }
    assert!(statuses[1].contains("; hit"), "{statuses:?}");
    assert_eq!(origin.count(), 1);
    let seen = origin.last();
    assert_eq!(seen.headers["x-forwarded-proto"], "https");
    assert_eq!(seen.headers["x-forwarded-host"], "localhost");
    assert_eq!(seen.headers["via"], "2 webcache");
}

#[tokio::test]
async fn http1_by_alpn_over_tls_is_served() {
    let dir = TempDir::new("alpn-h1");
    let cert = write_cert(&dir.0);
    let tls = TlsConfig::from_pem_files(dir.0.join("cert.pem"), dir.0.join("key.pem")).unwrap();
    let origin = cacheable_origin().await;
    let addr = tls_proxy(&origin.url(), tls, |b| b).await;
    let mut stream = tls_connect(addr, &cert, &[b"http/1.1"]).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let answer = get_raw(&mut stream, "/b").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("secret"), "{answer}");
    // The edge checks hold over TLS too.
    let mut stream = tls_connect(addr, &cert, &[]).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out).await;
    assert!(
        out.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[tokio::test]
async fn a_reloaded_certificate_is_used_by_the_next_handshakes() {
    let dir = TempDir::new("reload");
    let old = write_cert(&dir.0);
    let tls = TlsConfig::from_pem_files(dir.0.join("cert.pem"), dir.0.join("key.pem")).unwrap();
    let origin = cacheable_origin().await;
    let addr = tls_proxy(&origin.url(), tls.clone(), |b| b).await;
    assert!(tls_connect(addr, &old, &[]).await.is_ok());
    let new = write_cert(&dir.0);
    // Not yet reloaded: the old certificate is still served.
    assert!(tls_connect(addr, &new, &[]).await.is_err());
    tls.reload().unwrap();
    assert!(tls_connect(addr, &new, &[]).await.is_ok());
    assert!(tls_connect(addr, &old, &[]).await.is_err());
    // A broken file is refused and the current certificate kept.
    std::fs::write(dir.0.join("key.pem"), "not a key").unwrap();
    assert!(tls.reload().is_err());
    assert!(tls_connect(addr, &new, &[]).await.is_ok());
}

#[tokio::test]
async fn bad_certificate_files_are_refused_with_the_path() {
    let dir = TempDir::new("bad");
    write_cert(&dir.0);
    let missing = TlsConfig::from_pem_files(dir.0.join("nope.pem"), dir.0.join("key.pem"));
    let error = missing.unwrap_err().to_string();
    assert!(error.contains("nope.pem"), "{error}");
    // A key that is not the certificate's.
    let other = TempDir::new("bad-other");
    write_cert(&other.0);
    let mismatched = TlsConfig::from_pem_files(dir.0.join("cert.pem"), other.0.join("key.pem"));
    assert!(mismatched.is_err());
}

/// An origin over TLS with the certificate in `dir`.
async fn https_origin(dir: &Path) -> std::net::SocketAddr {
    let certs: Vec<_> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(
                        Response::builder()
                            .header("cache-control", "max-age=60")
                            .body(full("over tls"))
                            .unwrap(),
                    )
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn an_https_upstream_is_checked_against_the_ca_file() {
    let dir = TempDir::new("upstream");
    write_cert(&dir.0);
    let origin = https_origin(&dir.0).await;
    let upstream = format!("https://localhost:{}", origin.port());
    let p = support::proxy_with(
        &upstream,
        &support::clock(),
        Config::gateway_builder().build().unwrap(),
        |b| b.upstream_ca_file(dir.0.join("cert.pem")),
    )
    .await;
    let got = p.client.get("/u").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, "over tls");
    // Another CA: the origin's certificate is not trusted.
    let other = TempDir::new("upstream-other");
    write_cert(&other.0);
    let p = support::proxy_with(
        &upstream,
        &support::clock(),
        Config::gateway_builder().build().unwrap(),
        |b| b.upstream_ca_file(other.0.join("cert.pem")),
    )
    .await;
    assert_eq!(p.client.get("/u").await.status, StatusCode::BAD_GATEWAY);
}

//! Upstream bodies that break mid-stream (RFC 9112 §6.3, RFC 9111 §3): an
//! origin that announces a Content-Length and closes the connection before
//! sending it all, or sends a chunked body whose terminating chunk never
//! comes. The proxy's client must see an error (never a short 200 that
//! looks complete) and nothing is stored: the next request goes upstream.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use support::{clock, proxy};

/// An origin on raw TCP that answers every request with `response` (a head
/// and part of a body) and closes; counts the requests.
async fn raw_origin(response: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, count)
}

/// GET `/b` through a proxy in front of `response`, twice: each read of the
/// body fails, and both requests reach the origin.
async fn broken_twice(response: &'static str) {
    let clock = clock();
    let (url, count) = raw_origin(response).await;
    let p = proxy(&url, &clock).await;
    for n in 1..=2 {
        let request = p
            .client
            .request("GET", "/b")
            .body(Full::<Bytes>::default())
            .expect("request");
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<Bytes>>()
                .request(request),
        )
        .await
        .expect("an answer within 10 s");
        if let Ok(response) = answer {
            let status = response.status();
            let read =
                tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
                    .await
                    .expect("the body ends within 10 s");
            assert!(
                read.is_err() || status.is_server_error(),
                "request {n}: a broken upstream body reached the client as a complete {status}: {:?}",
                read.map(|b| b.to_bytes())
            );
        }
        p.settle().await;
        assert_eq!(count.load(Ordering::SeqCst), n, "request {n} went upstream");
    }
    assert_eq!(p.proxy.cache().stats().stores, 0);
}

#[tokio::test]
async fn rfc9112_6_3_a_body_cut_short_of_its_content_length_is_an_error_and_not_stored() {
    broken_twice(
        "HTTP/1.1 200 OK\r\ncontent-length: 100\r\ncache-control: max-age=60\r\n\r\nonly this",
    )
    .await;
}

#[tokio::test]
async fn rfc9112_7_1_a_chunked_body_without_its_last_chunk_is_an_error_and_not_stored() {
    broken_twice(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncache-control: max-age=60\r\n\r\n5\r\nhello\r\n",
    )
    .await;
}

#[tokio::test]
async fn rfc9112_6_3_a_large_body_cut_short_streams_then_fails_and_is_not_stored() {
    // Over the proxy's collection size: streamed through while captured.
    static RESPONSE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let response = RESPONSE.get_or_init(|| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 10000000\r\ncache-control: max-age=60\r\n\r\n{}",
            "x".repeat(300_000)
        )
    });
    broken_twice(response.as_str()).await;
}

//! The proxy's edge, on raw bytes over loopback: which requests it refuses
//! before the cache or the origin sees them (RFC 9112 §3.2, §5.2, §6.1,
//! §6.3, size limits), its connection and upstream limits, its idle
//! timeout, and the forwarding fields it adds.

mod support;

use std::time::Duration;

use http::{Response, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webcache_core::Config;
use webcache_proxy::{ForwardedHeaders, ProxyConfigBuilder};

use support::{Origin, Running, clock, full, proxy, proxy_with};

/// An origin answering every request with a cacheable 200.
async fn origin() -> Origin {
    Origin::start(|req| async move {
        if req.uri().path() == "/slow" {
            tokio::time::sleep(Duration::from_millis(800)).await;
        }
        Response::builder()
            .header("cache-control", "max-age=60")
            .body(full("ok"))
            .unwrap()
    })
    .await
}

async fn proxy_for(origin: &Origin) -> Running {
    proxy(&origin.url(), &clock()).await
}

async fn proxy_set(
    origin: &Origin,
    settings: impl FnOnce(ProxyConfigBuilder) -> ProxyConfigBuilder,
) -> Running {
    let config = Config::gateway_builder().build().unwrap();
    proxy_with(&origin.url(), &clock(), config, settings).await
}

/// Writes `bytes` on a new connection and reads until the proxy closes it
/// (every case here closes: a refusal, or `Connection: close`).
async fn raw(p: &Running, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    // The proxy may answer and close before reading everything.
    let _ = stream.write_all(bytes).await;
    read_all(&mut stream).await
}

async fn read_all(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await
        .expect("the proxy closes the connection within 10 s");
    String::from_utf8_lossy(&out).into_owned()
}

/// The status code of the first response in `text`.
fn status(text: &str) -> u16 {
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

async fn refused(bytes: &[u8], expected: u16) {
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let answer = raw(&p, bytes).await;
    assert_eq!(status(&answer), expected, "{answer}");
    assert_eq!(origin.count(), 0, "the origin saw nothing");
}

#[tokio::test]
async fn rfc9112_3_2_a_request_without_host_is_400() {
    refused(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 400).await;
}

#[tokio::test]
async fn rfc9112_3_2_two_host_fields_are_400() {
    refused(
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
        400,
    )
    .await;
    // Even when they agree.
    refused(
        b"GET / HTTP/1.1\r\nHost: a.example\r\nHost: a.example\r\n\r\n",
        400,
    )
    .await;
}

#[tokio::test]
async fn rfc9112_3_2_an_invalid_host_is_400() {
    for host in [
        "",
        "user@a.example",
        "a.example:http",
        "a.example:1:2",
        "[::1",
    ] {
        let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        refused(request.as_bytes(), 400).await;
    }
}

#[tokio::test]
async fn rfc9112_3_2_2_absolute_form_authority_replaces_a_disagreeing_host() {
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let answer = raw(
        &p,
        b"GET http://right.example/p HTTP/1.1\r\nHost: wrong.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(origin.last().headers["host"], "right.example");
    assert_eq!(origin.last().uri, "/p");
    // The cache keyed it under the target's authority: the same target
    // with the right Host is a hit.
    p.settle().await;
    let again = raw(
        &p,
        b"GET /p HTTP/1.1\r\nHost: right.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(again.contains("; hit"), "{again}");
    assert_eq!(origin.count(), 1);
}

#[tokio::test]
async fn rfc9112_6_3_content_length_and_transfer_encoding_smuggle_nothing() {
    // §6.3 item 3: Transfer-Encoding overrides Content-Length; the
    // intermediary removes Content-Length and closes after the response.
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let answer = raw(
        &p,
        b"POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    .await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    let seen = origin.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].uri, "/form");
    assert_ne!(
        seen[0].headers.get("content-length").map(|v| v.as_bytes()),
        Some(&b"40"[..])
    );
}

#[tokio::test]
async fn rfc9112_6_3_differing_content_lengths_are_400() {
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        400,
    )
    .await;
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd",
        400,
    )
    .await;
}

#[tokio::test]
async fn rfc9112_6_3_transfer_encoding_not_ending_in_chunked_is_400() {
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabcd",
        400,
    )
    .await;
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        400,
    )
    .await;
}

#[tokio::test]
async fn rfc9112_6_1_an_unknown_coding_before_chunked_is_501() {
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    )
    .await;
}

#[tokio::test]
async fn rfc9112_5_2_obs_fold_is_rejected() {
    refused(
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
        400,
    )
    .await;
}

#[tokio::test]
async fn rfc9112_7_1_a_chunk_size_that_overflows_is_400() {
    refused(
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
          fffffffffffffffffffff\r\nx\r\n0\r\n\r\n",
        400,
    )
    .await;
}

#[tokio::test]
async fn rfc9110_15_5_15_a_request_line_over_the_limit_is_414() {
    let path = "a".repeat(9 << 10);
    let request = format!("GET /{path} HTTP/1.1\r\nHost: a\r\n\r\n");
    refused(request.as_bytes(), 414).await;
    // Within a configured limit it goes through.
    let origin = origin().await;
    let p = proxy_set(&origin, |b| b.max_request_line(16 << 10)).await;
    let request = format!("GET /{path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(status(&raw(&p, request.as_bytes()).await), 200);
}

#[tokio::test]
async fn rfc6585_5_a_header_section_over_the_limit_is_431() {
    // Over the 32 KiB limit, within hyper's buffer: the proxy's check.
    let big = "b".repeat(33 << 10);
    let request = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n");
    refused(request.as_bytes(), 431).await;
    // A 100 KB field line: past the buffer, hyper's own 431.
    let huge = "h".repeat(100_000);
    let request = format!("GET / HTTP/1.1\r\nHost: a\r\nX-Huge: {huge}\r\n\r\n");
    refused(request.as_bytes(), 431).await;
}

#[tokio::test]
async fn an_http_1_0_request_without_host_is_forwarded_with_the_upstreams() {
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let answer = raw(&p, b"GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(
        origin.last().headers["host"],
        origin.addr.to_string().as_str()
    );
}

// ---- limits -----------------------------------------------------------

/// Sends one keep-alive request and reads its response head and body
/// ("ok"), leaving the connection open.
async fn keep_alive_request(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !out.ends_with(b"\r\n\r\nok") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("a response within 10 s");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn connections_over_the_limit_wait_then_get_503_with_retry_after() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.max_connections(1)
            .queue_timeout(Duration::from_millis(200))
    })
    .await;
    let mut first = TcpStream::connect(p.addr).await.unwrap();
    assert_eq!(status(&keep_alive_request(&mut first, "/a").await), 200);
    let second = raw(&p, b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(status(&second), 503, "{second}");
    assert!(second.contains("Retry-After: 1"), "{second}");
    assert_eq!(origin.count(), 1);
    // Once the first closes, its slot is free: a queued connection gets it.
    let mut waiting = TcpStream::connect(p.addr).await.unwrap();
    waiting
        .write_all(b"GET /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    drop(first);
    let third = read_all(&mut waiting).await;
    assert_eq!(status(&third), 200, "{third}");
}

#[tokio::test]
async fn upstream_requests_over_the_limit_wait_then_get_503_with_retry_after() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.max_upstream_requests(1)
            .queue_timeout(Duration::from_millis(200))
    })
    .await;
    let client = p.client.clone();
    let slow = tokio::spawn(async move { client.get("/slow").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let over = p.client.get("/other").await;
    assert_eq!(over.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(over.header("retry-after"), "1");
    assert!(over.cache_status().contains("upstream-overloaded"));
    assert_eq!(slow.await.unwrap().status, StatusCode::OK);
    // The slot is back once the slow response is done.
    assert_eq!(p.client.get("/other").await.status, StatusCode::OK);
}

#[tokio::test]
async fn idle_client_connections_are_closed_but_busy_ones_are_not() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.client_idle_timeout(Duration::from_millis(300))
    })
    .await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    // A request taking longer than the idle timeout completes.
    assert_eq!(status(&keep_alive_request(&mut stream, "/slow").await), 200);
    // Then, idle, the connection is closed.
    let started = std::time::Instant::now();
    let rest = read_all(&mut stream).await;
    assert!(rest.is_empty(), "{rest}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_connection_busy_with_hits_is_not_closed_as_idle() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.client_idle_timeout(Duration::from_millis(300))
    })
    .await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    assert_eq!(status(&keep_alive_request(&mut stream, "/hot").await), 200);
    // Hits (answered without waiting) for four idle timeouts, on the one
    // connection: each is answered, and none says it closes.
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1200) {
        let answer = keep_alive_request(&mut stream, "/hot").await;
        assert_eq!(status(&answer), 200, "{answer}");
        assert!(answer.contains("age:"), "a hit: {answer}");
        assert!(!answer.contains("connection: close"), "{answer}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(origin.count(), 1);
}

// ---- forwarding fields ------------------------------------------------

#[tokio::test]
async fn forwarding_fields_name_the_client_and_replace_an_untrusted_clients() {
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    p.client
        .get_with(
            "/f",
            &[
                ("host", "shop.example"),
                ("x-forwarded-for", "6.6.6.6"),
                ("forwarded", "for=6.6.6.6"),
            ],
        )
        .await;
    let seen = origin.last().headers;
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-host"], "shop.example");
    assert!(!seen.contains_key("forwarded"));
    // Not part of the key: another client address is a hit.
    p.settle().await;
    let hit = p
        .client
        .get_with(
            "/f",
            &[("host", "shop.example"), ("x-forwarded-for", "7.7.7.7")],
        )
        .await;
    assert!(hit.is_hit(), "{}", hit.cache_status());
}

#[tokio::test]
async fn rfc7239_a_trusted_proxys_fields_are_kept_and_appended_to() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.forwarded(ForwardedHeaders::Both)
            .trusted_proxies(["127.0.0.0/8".parse().unwrap()])
    })
    .await;
    p.client
        .get_with(
            "/t",
            &[
                ("host", "shop.example"),
                ("x-forwarded-for", "198.51.100.7"),
                ("x-forwarded-proto", "https"),
                ("forwarded", "for=198.51.100.7;proto=https"),
            ],
        )
        .await;
    let seen = origin.last().headers;
    assert_eq!(seen["x-forwarded-for"], "198.51.100.7, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "https");
    let forwarded: Vec<_> = seen.get_all("forwarded").iter().collect();
    assert_eq!(
        forwarded,
        [
            "for=198.51.100.7;proto=https",
            "for=127.0.0.1;host=\"shop.example\";proto=http"
        ]
    );
}

#[tokio::test]
async fn forwarding_fields_can_be_turned_off() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| b.forwarded(ForwardedHeaders::None)).await;
    p.client.get("/n").await;
    let seen = origin.last().headers;
    assert!(!seen.contains_key("x-forwarded-for"));
    assert!(!seen.contains_key("forwarded"));
}

// ---- HTTP/2 -----------------------------------------------------------

#[tokio::test]
async fn rfc9113_3_3_http2_prior_knowledge_gets_the_same_caching() {
    use http_body_util::{BodyExt, Empty};
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Empty<bytes::Bytes>>();
    let uri: http::Uri = format!("http://{}/h2", p.addr).parse().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = client.get(uri.clone()).await.unwrap();
        assert_eq!(response.version(), http::Version::HTTP_2);
        statuses.push(
            response.headers()["cache-status"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "ok");
        p.settle().await;
    }
    assert!(statuses[0].contains("fwd=uri-miss"), "{statuses:?}");
    assert!(statuses[1].contains("; hit"), "{statuses:?}");
    assert_eq!(origin.count(), 1);
    let seen = origin.last();
    assert_eq!(seen.headers["via"], "2 webcache");
    assert_eq!(seen.headers["host"], p.addr.to_string().as_str());
    assert_eq!(
        seen.headers["x-forwarded-host"],
        p.addr.to_string().as_str()
    );
    // An HTTP/1.1 request for the same URL is a hit on the same entry.
    let hit = p.client.get("/h2").await;
    assert!(hit.is_hit(), "{}", hit.cache_status());
}

/// A client whose first bytes arrive one write at a time: the proxy cannot
/// tell the protocol from them yet and must read on, not guess.
async fn trickled(p: &Running, parts: &[&[u8]]) -> TcpStream {
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    for part in parts {
        stream.write_all(part).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stream
}

#[tokio::test]
async fn an_http_1_request_whose_first_byte_arrives_alone_is_served() {
    // "P" could begin the HTTP/2 preface ("PRI * HTTP/2.0 ..."), "POST"
    // cannot: the proxy decides after the second write.
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let head = format!(
        "OST /p HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        p.addr
    );
    let mut stream = trickled(&p, &[b"P", head.as_bytes()]).await;
    let answer = read_all(&mut stream).await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert_eq!(origin.count(), 1);
}

#[tokio::test]
async fn rfc9113_3_4_a_preface_split_across_writes_is_http2() {
    // The preface in two writes, then an empty SETTINGS frame (RFC 9113
    // §6.5): the proxy answers with its own SETTINGS frame first.
    let origin = origin().await;
    let p = proxy_for(&origin).await;
    let settings: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
    let mut stream = trickled(&p, &[b"PRI * HTTP/2", b".0\r\n\r\nSM\r\n\r\n", settings]).await;
    let mut frame = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut frame))
        .await
        .expect("the proxy answers within 10 s")
        .expect("a frame header");
    assert_eq!(frame[3], 4, "a SETTINGS frame: {frame:?}");
    assert_eq!(&frame[5..9], &[0, 0, 0, 0], "on stream 0: {frame:?}");
}

#[tokio::test]
async fn a_head_trickled_slower_than_the_header_read_timeout_is_cut_off() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.header_read_timeout(Duration::from_millis(300))
    })
    .await;
    for earlier in [false, true] {
        let mut stream = TcpStream::connect(p.addr).await.unwrap();
        let mut answered = String::new();
        if earlier {
            // A whole request first: the bound is on each head.
            answered = keep_alive_request(&mut stream, "/first").await;
            assert_eq!(status(&answered), 200, "{answered}");
        }
        let started = std::time::Instant::now();
        let trickle = async {
            for byte in b"GET /slow-head HTTP/1.1\r\nHost: a\r\nX-Pad: aaaaaaaaaaaaaaaa" {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        };
        trickle.await;
        let rest = read_all(&mut stream).await;
        assert!(rest.is_empty(), "after {answered:?}: {rest}");
        let waited = started.elapsed();
        // The trickle alone takes about 2.4 s: it was cut off well before.
        assert!(waited >= Duration::from_millis(250), "{waited:?}");
        assert!(
            waited < Duration::from_millis(2400),
            "not cut off: {waited:?}"
        );
    }
    assert_eq!(origin.count(), 1, "only /first reached the origin");
}

#[tokio::test]
async fn a_keep_alive_connection_waits_for_its_next_head_at_most_the_header_read_timeout() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.header_read_timeout(Duration::from_millis(300))
            .client_idle_timeout(Duration::from_secs(60))
    })
    .await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    assert_eq!(status(&keep_alive_request(&mut stream, "/k").await), 200);
    let started = std::time::Instant::now();
    let rest = read_all(&mut stream).await;
    assert!(rest.is_empty(), "{rest}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
    let origin = origin().await;
    let p = proxy_set(&origin, |b| {
        b.header_read_timeout(Duration::from_millis(300))
    })
    .await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    let started = std::time::Instant::now();
    let answer = read_all(&mut stream).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

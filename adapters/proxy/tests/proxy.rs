//! The proxy over real loopback HTTP: a test origin behind it, a hyper
//! client in front.

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use tokio::sync::mpsc;
use webcache_core::Config;

use support::{Counter, Origin, clock, date, full, proxy, proxy_with, unused_addr};

/// An origin answering `call N` with the given Cache-Control.
async fn counting_origin(
    cc: &'static str,
    clock: &webcache_core::clock::ManualClock,
) -> (Origin, Counter) {
    let calls = Counter::default();
    let (c, clock) = (calls.clone(), clock.clone());
    let origin = Origin::start(move |_req| {
        let n = c.bump();
        let date = date(&clock);
        async move {
            Response::builder()
                .header("cache-control", cc)
                .header("date", date)
                .body(full(format!("call {n}")))
                .unwrap()
        }
    })
    .await;
    (origin, calls)
}

#[tokio::test]
async fn rfc9111_4_a_second_request_is_a_hit_with_age_and_cache_status() {
    let clock = clock();
    let (origin, calls) = counting_origin("max-age=60", &clock).await;
    let p = proxy(&origin.url(), &clock).await;
    let miss = p.client.get("/a").await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.body, "call 1");
    assert_eq!(
        miss.cache_status(),
        "webcache; fwd=uri-miss; fwd-status=200; stored"
    );
    clock.advance(Duration::from_secs(5));
    let hit = p.client.get("/a").await;
    assert_eq!(hit.body, "call 1");
    assert_eq!(hit.header("age"), "5");
    assert!(hit.is_hit(), "{}", hit.cache_status());
    assert_eq!(calls.get(), 1);
    // A different URL (the query is part of the key) is a miss.
    let other = p.client.get("/a?x=1").await;
    assert_eq!(other.body, "call 2");
}

#[tokio::test]
async fn rfc9111_4_3_stale_response_is_revalidated_and_the_304_merged() {
    let clock = clock();
    let calls = Counter::default();
    let (c, ck) = (calls.clone(), clock.clone());
    let origin = Origin::start(move |req| {
        let n = c.bump();
        let date = date(&ck);
        async move {
            let conditional = req
                .headers()
                .get("if-none-match")
                .is_some_and(|v| v == "\"v1\"");
            if conditional {
                Response::builder()
                    .status(304)
                    .header("cache-control", "max-age=10")
                    .header("etag", "\"v1\"")
                    .header("x-version", format!("{n}"))
                    .header("date", date)
                    .body(full(""))
                    .unwrap()
            } else {
                Response::builder()
                    .header("cache-control", "max-age=10")
                    .header("etag", "\"v1\"")
                    .header("x-version", format!("{n}"))
                    .header("x-kept", "yes")
                    .header("date", date)
                    .body(full("the body"))
                    .unwrap()
            }
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    assert_eq!(p.client.get("/r").await.body, "the body");
    clock.advance(Duration::from_secs(11));
    let validated = p.client.get("/r").await;
    assert_eq!(origin.last().headers["if-none-match"], "\"v1\"");
    assert_eq!(validated.status, StatusCode::OK);
    assert_eq!(validated.body, "the body");
    // RFC 9111 §3.2: the 304's fields replace the stored ones; the others stay.
    assert_eq!(validated.header("x-version"), "2");
    assert_eq!(validated.header("x-kept"), "yes");
    // Freshened: a hit again.
    let hit = p.client.get("/r").await;
    assert!(hit.is_hit());
    assert_eq!(hit.header("x-version"), "2");
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn rfc9111_4_1_vary_selects_the_representation() {
    let clock = clock();
    let ck = clock.clone();
    let origin = Origin::start(move |req| {
        let lang = req
            .headers()
            .get("accept-language")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let date = date(&ck);
        async move {
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("vary", "accept-language")
                .header("date", date)
                .body(full(format!("lang={lang}")))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    assert_eq!(
        p.client
            .get_with("/v", &[("accept-language", "en")])
            .await
            .body,
        "lang=en"
    );
    assert_eq!(
        p.client
            .get_with("/v", &[("accept-language", "de")])
            .await
            .body,
        "lang=de"
    );
    let en = p.client.get_with("/v", &[("accept-language", "en")]).await;
    assert!(en.is_hit());
    assert_eq!(en.body, "lang=en");
    let de = p.client.get_with("/v", &[("accept-language", "de")]).await;
    assert!(de.is_hit());
    assert_eq!(de.body, "lang=de");
    assert_eq!(origin.count(), 2);
}

#[tokio::test]
async fn rfc9111_4_4_unsafe_methods_go_upstream_with_their_body_and_invalidate() {
    let clock = clock();
    let ck = clock.clone();
    let origin = Origin::start(move |req| {
        let date = date(&ck);
        async move {
            let method = req.method().clone();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("date", date)
                .body(full(format!("{method} {}", String::from_utf8_lossy(&body))))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    p.client.get("/doc").await;
    assert!(p.client.get("/doc").await.is_hit());
    let post = p
        .client
        .send(
            p.client
                .request("POST", "/doc")
                .header("content-type", "text/plain")
                .body(Full::new(Bytes::from_static(b"abc")))
                .unwrap(),
        )
        .await;
    assert_eq!(post.body, "POST abc");
    assert_eq!(origin.last().method, "POST");
    let after = p.client.get("/doc").await;
    assert!(!after.is_hit(), "{}", after.cache_status());
    assert_eq!(after.body, "GET ");
    // An extension method is unsafe too.
    p.client.method_with("M-SEARCH", "/doc", &[]).await;
    assert!(!p.client.get("/doc").await.is_hit());
}

#[tokio::test]
async fn rfc5861_4_stale_if_error_serves_stale_when_the_origin_is_gone() {
    let clock = clock();
    let (mut origin, _) = counting_origin("max-age=1, stale-if-error=60", &clock).await;
    let p = proxy(&origin.url(), &clock).await;
    assert_eq!(p.client.get("/s").await.body, "call 1");
    origin.kill().await;
    clock.advance(Duration::from_secs(5));
    let stale = p.client.get("/s").await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, "call 1");
    assert!(
        stale.cache_status().contains("fwd=stale"),
        "{}",
        stale.cache_status()
    );
    // Past the window, the error shows: 502, nothing stored in it.
    clock.advance(Duration::from_secs(120));
    let gone = p.client.get("/s").await;
    assert_eq!(gone.status, StatusCode::BAD_GATEWAY);
    assert_eq!(gone.header("cache-control"), "");
}

#[tokio::test]
async fn rfc9111_4_2_4_stale_if_unreachable_serves_stale_when_the_origin_is_gone() {
    let clock = clock();
    let (mut origin, calls) = counting_origin("max-age=1", &clock).await;
    let config = Config::gateway_builder()
        .stale_if_unreachable(Some(Duration::from_secs(60)))
        .build()
        .unwrap();
    let p = proxy_with(&origin.url(), &clock, config, |b| b).await;
    assert_eq!(p.client.get("/u").await.body, "call 1");
    origin.kill().await;
    clock.advance(Duration::from_secs(5));
    let stale = p.client.get("/u").await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, "call 1");
    assert_eq!(
        stale.cache_status(),
        "webcache; fwd=stale; ttl=-4; detail=\"unreachable\""
    );
    // Past the window (1 s fresh + 60 s), the proxy's own 502.
    clock.advance(Duration::from_secs(60));
    let gone = p.client.get("/u").await;
    assert_eq!(gone.status, StatusCode::BAD_GATEWAY);
    assert_eq!(calls.get(), 1, "the origin answered once, before it died");
}

#[tokio::test]
async fn rfc9111_4_2_4_must_revalidate_is_never_served_stale_on_error() {
    for cc in [
        "max-age=1, must-revalidate, stale-if-error=60",
        "max-age=1, proxy-revalidate, stale-if-error=60",
        "max-age=1, s-maxage=1, stale-if-error=60",
        "max-age=1, no-cache, stale-if-error=60",
    ] {
        let clock = clock();
        let (mut origin, _) = counting_origin(cc, &clock).await;
        let p = proxy(&origin.url(), &clock).await;
        p.client.get("/m").await;
        origin.kill().await;
        clock.advance(Duration::from_secs(5));
        let error = p.client.get("/m").await;
        assert_eq!(error.status, StatusCode::BAD_GATEWAY, "{cc}");
        assert_eq!(error.header("cache-control"), "", "{cc}: no stored field");
        assert!(!error.header("date").is_empty());
    }
}

#[tokio::test]
async fn rfc9110_15_6_3_refused_connection_is_502_with_no_stored_fields() {
    let clock = clock();
    let p = proxy(&format!("http://{}", unused_addr().await), &clock).await;
    let got = p.client.get("/x").await;
    assert_eq!(got.status, StatusCode::BAD_GATEWAY);
    assert_eq!(got.body, "502 Bad Gateway (upstream-connect-error)\n");
    assert_eq!(got.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(
        got.cache_status(),
        "webcache; detail=\"upstream-connect-error\""
    );
    // HEAD gets the same status and no body.
    let head = p.client.method_with("HEAD", "/x", &[]).await;
    assert_eq!(head.status, StatusCode::BAD_GATEWAY);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn rfc9110_15_6_5_upstream_timeout_is_504_and_not_retried() {
    let clock = clock();
    let calls = Counter::default();
    let c = calls.clone();
    let origin = Origin::start(move |_req| {
        c.bump();
        async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Response::new(full("late"))
        }
    })
    .await;
    let p = proxy_with(
        &origin.url(),
        &clock,
        Config::gateway_builder().build().unwrap(),
        |b| b.response_timeout(Duration::from_millis(200)),
    )
    .await;
    let started = std::time::Instant::now();
    let got = p.client.get("/slow").await;
    assert_eq!(got.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(got.body, "504 Gateway Timeout (upstream-timeout)\n");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(calls.get(), 1, "the proxy never retries");
}

#[tokio::test]
async fn rfc9111_5_2_1_7_only_if_cached_without_a_stored_response_is_504() {
    let clock = clock();
    let (origin, calls) = counting_origin("max-age=60", &clock).await;
    let p = proxy(&origin.url(), &clock).await;
    let got = p
        .client
        .get_with("/o", &[("cache-control", "only-if-cached")])
        .await;
    assert_eq!(got.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(calls.get(), 0);
    p.client.get("/o").await;
    let got = p
        .client
        .get_with("/o", &[("cache-control", "only-if-cached")])
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn rfc9110_7_6_1_hop_by_hop_fields_are_removed_both_ways() {
    let clock = clock();
    let ck = clock.clone();
    let origin = Origin::start(move |_req| {
        let date = date(&ck);
        async move {
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("date", date)
                .header("connection", "x-resp-hop")
                .header("x-resp-hop", "1")
                .header("keep-alive", "timeout=5")
                .header("proxy-authenticate", "Basic")
                .header("upgrade", "h2c")
                .header("x-resp-kept", "1")
                .body(full("body"))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    let got = p
        .client
        .get_with(
            "/h",
            &[
                ("connection", "x-req-hop"),
                ("x-req-hop", "1"),
                ("proxy-authorization", "Basic eA=="),
                ("te", "trailers"),
                ("x-req-kept", "1"),
            ],
        )
        .await;
    let seen = origin.last().headers;
    for name in ["x-req-hop", "proxy-authorization", "te"] {
        assert!(!seen.contains_key(name), "{name} reached the origin");
    }
    assert_eq!(seen["x-req-kept"], "1");
    assert_eq!(seen["via"], "1.1 webcache");
    for name in ["x-resp-hop", "keep-alive", "proxy-authenticate", "upgrade"] {
        assert!(!got.headers.contains_key(name), "{name} reached the client");
    }
    assert_eq!(got.header("x-resp-kept"), "1");
    assert_eq!(got.header("via"), "1.1 webcache");
    // Nor are they stored: the hit has none of them either.
    let hit = p.client.get("/h").await;
    assert!(hit.is_hit());
    assert!(!hit.headers.contains_key("x-resp-hop"));
    assert_eq!(hit.all("via"), vec!["1.1 webcache"]);
}

#[tokio::test]
async fn rfc9110_7_6_3_via_is_appended_to_an_existing_via() {
    let clock = clock();
    let origin = Origin::start(|_req| async {
        Response::builder()
            .header("via", "1.1 origin-side")
            .body(full("x"))
            .unwrap()
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    let got = p
        .client
        .get_with("/via", &[("via", "1.0 client-side")])
        .await;
    let seen: Vec<_> = origin
        .last()
        .headers
        .get_all("via")
        .iter()
        .cloned()
        .collect();
    assert_eq!(seen, vec!["1.0 client-side", "1.1 webcache"]);
    assert_eq!(got.all("via"), vec!["1.1 origin-side", "1.1 webcache"]);
}

#[tokio::test]
async fn host_is_preserved_by_default_or_rewritten_to_the_upstream() {
    let clock = clock();
    let origin = Origin::start(|_req| async { Response::new(full("x")) }).await;
    let p = proxy(&origin.url(), &clock).await;
    p.client
        .get_with("/h", &[("host", "www.example.com")])
        .await;
    assert_eq!(origin.last().headers["host"], "www.example.com");
    assert_eq!(origin.last().uri, "/h");
    let p = proxy_with(
        &format!("{}/base", origin.url()),
        &clock,
        Config::gateway_builder().build().unwrap(),
        |b| b.host_header(webcache_proxy::HostHeader::Upstream),
    )
    .await;
    p.client
        .get_with("/h?q=1", &[("host", "www.example.com")])
        .await;
    assert_eq!(
        origin.last().headers["host"],
        origin.addr.to_string().as_str()
    );
    assert_eq!(origin.last().uri, "/base/h?q=1");
}

#[tokio::test]
async fn rfc9111_3_responses_larger_than_the_limit_stream_through_unstored() {
    // The origin sends its second chunk only once the client has read the
    // first: a proxy that buffered the body would never answer.
    let clock = clock();
    let (read_first, first_read) = mpsc::channel::<()>(1);
    let first_read = std::sync::Arc::new(tokio::sync::Mutex::new(first_read));
    let origin = Origin::start(move |_req| {
        let first_read = first_read.clone();
        async move {
            let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(2);
            tokio::spawn(async move {
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from(vec![b'a'; 64 * 1024]))))
                    .await;
                let _ = first_read.lock().await.recv().await;
                let _ = tx
                    .send(Ok(Frame::data(Bytes::from(vec![b'b'; 64 * 1024]))))
                    .await;
            });
            Response::builder()
                .header("cache-control", "max-age=60")
                .body(StreamBody::new(Frames(rx)).boxed())
                .unwrap()
        }
    })
    .await;
    let config = Config::gateway_builder()
        .max_body_size(16 * 1024)
        .build()
        .unwrap();
    let p = proxy_with(&origin.url(), &clock, config, |b| b).await;
    let response = p
        .client
        .send_streaming(
            p.client
                .request("GET", "/big")
                .body(Full::default())
                .unwrap(),
        )
        .await;
    let mut body = response.into_body();
    let mut received = 0usize;
    let mut signalled = false;
    while let Some(frame) = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("the body streams")
    {
        received += frame.unwrap().into_data().map_or(0, |d| d.len());
        if received >= 64 * 1024 && !signalled {
            read_first.send(()).await.unwrap();
            signalled = true;
        }
    }
    assert_eq!(received, 128 * 1024);
    p.settle().await;
    // Let the next origin response through at once.
    read_first.send(()).await.unwrap();
    let again = p.client.get("/big").await;
    assert_eq!(again.body.len(), 128 * 1024);
    assert!(!again.is_hit(), "too large to store");
}

/// The frames sent on a channel, as a body stream.
struct Frames(mpsc::Receiver<Result<Frame<Bytes>, Infallible>>);

impl futures_core::Stream for Frames {
    type Item = Result<Frame<Bytes>, Infallible>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[tokio::test]
async fn request_bodies_stream_upstream_as_they_arrive() {
    // The client sends its second chunk only once the origin has received
    // the first.
    let clock = clock();
    let (got_first, mut first_received) = mpsc::channel::<()>(1);
    let origin = Origin::start(move |req: http::Request<Incoming>| {
        let got_first = got_first.clone();
        async move {
            let mut body = req.into_body();
            let mut total = 0usize;
            let mut told = false;
            while let Some(frame) = body.frame().await {
                total += frame.unwrap().into_data().map_or(0, |d| d.len());
                if !told && total >= 64 * 1024 {
                    let _ = got_first.send(()).await;
                    told = true;
                }
            }
            Response::new(full(format!("{total}")))
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    let (tx, rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(1);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<StreamBody<Frames>>();
    let request = http::Request::post(format!("http://{}/upload", p.addr))
        .body(StreamBody::new(Frames(rx)))
        .unwrap();
    let sender = tokio::spawn(async move {
        tx.send(Ok(Frame::data(Bytes::from(vec![b'x'; 64 * 1024]))))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), first_received.recv())
            .await
            .expect("the first chunk reached the origin before the second was sent");
        tx.send(Ok(Frame::data(Bytes::from(vec![b'y'; 64 * 1024]))))
            .await
            .unwrap();
    });
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .unwrap()
        .unwrap();
    let got = support::read(response).await;
    sender.await.unwrap();
    assert_eq!(got.body, "131072");
}

#[tokio::test]
async fn rfc9110_9_3_2_head_is_answered_from_a_stored_get_or_forwarded_as_head() {
    let clock = clock();
    let (origin, calls) = counting_origin("max-age=60", &clock).await;
    let p = proxy(&origin.url(), &clock).await;
    let head = p.client.method_with("HEAD", "/hd", &[]).await;
    assert_eq!(origin.last().method, "HEAD");
    assert!(head.body.is_empty());
    p.client.get("/hd").await;
    let head = p.client.method_with("HEAD", "/hd", &[]).await;
    assert!(head.is_hit());
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), "6");
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn rfc9111_4_concurrent_misses_are_collapsed_into_one_upstream_request() {
    let clock = clock();
    let calls = Counter::default();
    let c = calls.clone();
    let gate = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
    let held = gate.clone();
    let origin = Origin::start(move |_req| {
        c.bump();
        let mut open = held.subscribe();
        async move {
            let _ = open.wait_for(|open| *open).await;
            Response::builder()
                .header("cache-control", "max-age=60")
                .body(full("once"))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let client = p.client.clone();
        tasks.push(tokio::spawn(async move { client.get("/c").await }));
    }
    // All nine followers wait on the one fill before the origin answers:
    // they cannot have run one after the other.
    let cache = p.proxy.cache().clone();
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while cache.stats().collapsed < 9 || calls.get() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "nine requests never waited for the first");
    assert_eq!(calls.get(), 1);
    gate.send_replace(true);
    let mut collapsed = 0;
    for t in tasks {
        let got = t.await.unwrap();
        assert_eq!(got.body, "once");
        collapsed += usize::from(got.cache_status().contains("collapsed"));
    }
    assert_eq!(calls.get(), 1);
    assert_eq!(collapsed, 9);
}

#[tokio::test]
async fn rfc9110_7_6_2_max_forwards_zero_is_answered_by_the_proxy() {
    let clock = clock();
    let origin = Origin::start(|_req| async { Response::new(full("origin")) }).await;
    let p = proxy(&origin.url(), &clock).await;
    let got = p
        .client
        .method_with("OPTIONS", "/", &[("max-forwards", "0")])
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(origin.count(), 0);
    p.client
        .method_with("OPTIONS", "/", &[("max-forwards", "5")])
        .await;
    assert_eq!(origin.last().headers["max-forwards"], "4");
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let clock = clock();
    let origin = Origin::start(|_req| async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Response::new(full("finished"))
    })
    .await;
    let mut p = proxy(&origin.url(), &clock).await;
    let client = p.client.clone();
    let in_flight = tokio::spawn(async move { client.get("/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.shutdown();
    let got = in_flight.await.unwrap();
    assert_eq!(got.body, "finished");
    tokio::time::timeout(Duration::from_secs(5), p.done.take().unwrap())
        .await
        .expect("the server stops")
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(p.addr).await.is_err(),
        "no longer accepting"
    );
}

/// An origin with a 26-byte body and a strong validator.
async fn ranged_origin(clock: &webcache_core::clock::ManualClock) -> Origin {
    let ck = clock.clone();
    Origin::start(move |_req| {
        let date = date(&ck);
        async move {
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("etag", "\"abc\"")
                .header("content-type", "text/plain")
                .header("date", date)
                .body(full("abcdefghijklmnopqrstuvwxyz"))
                .unwrap()
        }
    })
    .await
}

#[tokio::test]
async fn rfc9110_14_2_range_requests_are_answered_from_a_stored_response() {
    let clock = clock();
    let origin = ranged_origin(&clock).await;
    let p = proxy(&origin.url(), &clock).await;
    // A miss forwards Range as it is.
    p.client.get_with("/r", &[("range", "bytes=0-1")]).await;
    assert_eq!(origin.last().headers["range"], "bytes=0-1");
    p.client.get("/r").await;
    let calls = origin.count();

    let single = p.client.get_with("/r", &[("range", "bytes=2-4")]).await;
    assert_eq!(single.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(single.header("content-range"), "bytes 2-4/26");
    assert_eq!(single.header("content-length"), "3");
    assert_eq!(single.body, "cde");
    assert!(single.is_hit());

    let suffix = p.client.get_with("/r", &[("range", "bytes=-3")]).await;
    assert_eq!(suffix.body, "xyz");

    let multi = p.client.get_with("/r", &[("range", "bytes=0-0,-1")]).await;
    assert_eq!(multi.status, StatusCode::PARTIAL_CONTENT);
    // Close ranges are coalesced: the parts would cost more than the gap.
    assert_eq!(multi.header("content-range"), "bytes 0-25/26");

    let matching = p
        .client
        .get_with("/r", &[("range", "bytes=0-1"), ("if-range", "\"abc\"")])
        .await;
    assert_eq!(matching.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(matching.body, "ab");
    let changed = p
        .client
        .get_with("/r", &[("range", "bytes=0-1"), ("if-range", "\"other\"")])
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    assert_eq!(changed.body.len(), 26);

    let unsatisfiable = p.client.get_with("/r", &[("range", "bytes=26-")]).await;
    assert_eq!(unsatisfiable.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(unsatisfiable.header("content-range"), "bytes */26");

    let other_unit = p.client.get_with("/r", &[("range", "pages=1-2")]).await;
    assert_eq!(other_unit.status, StatusCode::OK);
    assert_eq!(origin.count(), calls, "every range came from the cache");
}

#[tokio::test]
async fn rfc9110_15_3_7_2_distant_ranges_get_a_multipart_body() {
    let clock = clock();
    let ck = clock.clone();
    let origin = Origin::start(move |_req| {
        let date = date(&ck);
        async move {
            Response::builder()
                .header("cache-control", "max-age=60")
                .header("content-type", "application/octet-stream")
                .header("date", date)
                .body(full(vec![b'.'; 1000]))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    p.client.get("/m").await;
    let multi = p
        .client
        .get_with("/m", &[("range", "bytes=0-9,500-509")])
        .await;
    assert_eq!(multi.status, StatusCode::PARTIAL_CONTENT);
    let ct = multi.header("content-type").to_owned();
    let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
    let body = String::from_utf8(multi.body.to_vec()).unwrap();
    assert!(body.contains("content-range: bytes 0-9/1000"));
    assert!(body.contains("content-range: bytes 500-509/1000"));
    assert!(body.ends_with(&format!("--{boundary}--\r\n")));
    assert_eq!(multi.header("content-length"), body.len().to_string());
}

#[tokio::test]
async fn rfc9213_cdn_cache_control_governs_the_proxy_and_is_forwarded() {
    let clock = clock();
    let ck = clock.clone();
    let origin = Origin::start(move |_req| {
        let date = date(&ck);
        async move {
            Response::builder()
                .header("cache-control", "no-store")
                .header("cdn-cache-control", "max-age=600")
                .header("date", date)
                .body(full("for the CDN"))
                .unwrap()
        }
    })
    .await;
    let p = proxy(&origin.url(), &clock).await;
    let miss = p.client.get("/cdn").await;
    assert_eq!(miss.header("cdn-cache-control"), "max-age=600");
    clock.advance(Duration::from_secs(10));
    let hit = p.client.get("/cdn").await;
    assert!(hit.is_hit(), "{}", hit.cache_status());
    assert_eq!(hit.header("cache-control"), "no-store");
    assert_eq!(hit.header("cdn-cache-control"), "max-age=600");
    assert_eq!(hit.header("age"), "10");
    assert_eq!(origin.count(), 1);
}

//! 1xx interim responses from the upstream reach HTTP/1.1 clients, and are
//! never stored (RFC 9110 §15.2, RFC 9111 §3).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use support::{Client, clock, proxy};

/// An origin written by hand (hyper's server cannot send 1xx): every
/// response is a 102, a 103 with two fields, then a cacheable 200.
async fn interim_origin() -> (String, Arc<Mutex<usize>>) {
    interim_origin_with(Some(Duration::from_millis(20))).await
}

/// The same, with `gap` between the three responses, or all of them in
/// one write (as an origin that sends its 103 and 200 back to back).
async fn interim_origin_with(gap: Option<Duration>) -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(Mutex::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request at a time, heads only (GETs).
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    *seen.lock().unwrap() += 1;
                    let parts: [&[u8]; 3] = [
                        b"HTTP/1.1 102 Processing\r\n\r\n",
                        b"HTTP/1.1 103 Early Hints\r\n\
                          link: </styles.css>; rel=preload; as=style\r\n\
                          x-my-header: test\r\n\r\n",
                        b"HTTP/1.1 200 OK\r\n\
                          cache-control: max-age=100000\r\n\
                          content-length: 5\r\n\r\nfinal",
                    ];
                    match gap {
                        Some(gap) => {
                            for (i, part) in parts.iter().enumerate() {
                                if i > 0 {
                                    tokio::time::sleep(gap).await;
                                }
                                let _ = stream.write_all(part).await;
                            }
                        }
                        None => {
                            let _ = stream.write_all(&parts.concat()).await;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

/// Sends a GET and returns the interim responses seen and the final one.
async fn get_with_interim(client: &Client, path: &str) -> (Vec<(u16, Vec<String>)>, support::Got) {
    let interim = Arc::new(Mutex::new(Vec::new()));
    let mut request = client
        .request("GET", path)
        .body(Full::<Bytes>::default())
        .unwrap();
    let record = interim.clone();
    hyper::ext::on_informational(&mut request, move |res| {
        let names = res
            .headers()
            .keys()
            .map(|n| n.as_str().to_owned())
            .collect();
        record.lock().unwrap().push((res.status().as_u16(), names));
    });
    let got = client.send(request).await;
    let interim = interim.lock().unwrap().clone();
    (interim, got)
}

#[tokio::test]
async fn rfc9110_15_2_interim_responses_are_relayed_and_not_stored() {
    let clock = clock();
    let (upstream, calls) = interim_origin().await;
    let p = proxy(&upstream, &clock).await;
    let (interim, first) = get_with_interim(&p.client, "/i").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, "final");
    assert_eq!(interim.len(), 2, "{interim:?}");
    assert_eq!(interim[0].0, 102);
    assert_eq!(interim[1].0, 103);
    assert!(interim[1].1.contains(&"link".to_owned()));
    assert!(interim[1].1.contains(&"x-my-header".to_owned()));
    // The interim fields are not merged into the final response.
    assert!(!first.headers.contains_key("x-my-header"));
    assert!(!first.headers.contains_key("link"));
    // The final response was stored; a hit relays nothing.
    let (interim, second) = get_with_interim(&p.client, "/i").await;
    assert!(second.is_hit());
    assert!(interim.is_empty());
    assert!(!second.headers.contains_key("x-my-header"));
    assert_eq!(*calls.lock().unwrap(), 1);
    // The connection stays usable: another miss on it relays again.
    let (interim, third) = get_with_interim(&p.client, "/j").await;
    assert_eq!(interim.len(), 2, "{interim:?}");
    assert_eq!(third.body, "final");
}

#[tokio::test]
async fn rfc9110_15_2_interim_responses_sent_with_the_final_one_still_come_first() {
    let clock = clock();
    let (upstream, _) = interim_origin_with(None).await;
    let p = proxy(&upstream, &clock).await;
    for path in ["/a", "/b", "/c"] {
        let (interim, got) = get_with_interim(&p.client, path).await;
        let statuses: Vec<u16> = interim.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, vec![102, 103], "{path}");
        assert_eq!(got.body, "final");
    }
}

#[tokio::test]
async fn rfc9110_15_2_no_interim_response_goes_to_an_http_1_0_client() {
    let clock = clock();
    let (upstream, _) = interim_origin().await;
    let p = proxy(&upstream, &clock).await;
    let mut stream = TcpStream::connect(p.addr).await.unwrap();
    stream
        .write_all(b"GET /old HTTP/1.0\r\nHost: a.test\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(!text.contains(" 103 ") && !text.contains(" 102 "), "{text}");
    assert!(text.contains("via: 1.1 webcache"), "{text}");
    assert!(text.ends_with("final"));
}

#[tokio::test]
async fn interim_responses_can_be_turned_off() {
    let clock = clock();
    let (upstream, _) = interim_origin().await;
    let p = support::proxy_with(
        &upstream,
        &clock,
        webcache_core::Config::gateway_builder().build().unwrap(),
        |b| b.relay_interim(false),
    )
    .await;
    let (interim, got) = get_with_interim(&p.client, "/off").await;
    assert!(interim.is_empty());
    assert_eq!(got.body, "final");
}

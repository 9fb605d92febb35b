//! Memory per slow client stays bounded: a client reading a 64 MiB miss
//! slowly does not make the proxy hold the body (it is too large to store,
//! so it streams, at the pace of the client). Measured as the growth of
//! this process's resident memory (origin, proxy and client all live here)
//! while the client reads: holding the body would add at least 64 MiB.
#![cfg(target_os = "linux")]

mod support;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use support::{Origin, clock, proxy};

const LEN: u64 = 64 << 20;

/// `left` bytes, one shared 64 KiB chunk at a time: the origin holds no
/// body either.
struct Pattern {
    left: u64,
    chunk: Bytes,
}

impl http_body::Body for Pattern {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let n = self.left.min(self.chunk.len() as u64);
        self.left -= n;
        let data = self.chunk.slice(..n as usize);
        Poll::Ready(Some(Ok(http_body::Frame::data(data))))
    }
}

/// This process's resident set, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("a VmRSS line")
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_reading_a_64_mib_miss_does_not_make_the_proxy_hold_the_body() {
    let chunk = Bytes::from(vec![b'x'; 64 << 10]);
    let origin = Origin::start(move |_| {
        let body = Pattern {
            left: LEN,
            chunk: chunk.clone(),
        };
        async move {
            Response::builder()
                .header("cache-control", "public, max-age=60")
                .header("content-length", LEN)
                .body(body.boxed())
                .unwrap()
        }
    })
    .await;
    let clock = clock();
    let proxy = proxy(&origin.url(), &clock).await;

    // A first read at full speed: connections, pools and allocator arenas
    // exist before the baseline is taken.
    let (read, _) = read_through(&proxy.client, "/warm", None).await;
    assert_eq!(read, LEN);
    let baseline = rss();
    // Then about 40 MiB/s: far slower than the origin and the proxy go.
    let (read, peak) = read_through(&proxy.client, "/big", Some(Duration::from_millis(6))).await;
    assert_eq!(read, LEN);
    let growth = peak.saturating_sub(baseline);
    drop(origin);
    assert!(
        growth < 24 << 20,
        "resident memory grew by {} MiB while a client read a 64 MiB miss slowly",
        growth >> 20
    );
}

/// Reads `path` through the proxy frame by frame, pausing `pause` every
/// 256 KiB when given; the bytes read and the peak resident memory seen.
async fn read_through(client: &support::Client, path: &str, pause: Option<Duration>) -> (u64, u64) {
    let request = client
        .request("GET", path)
        .body(Default::default())
        .unwrap();
    let response = client.send_streaming(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let (mut read, mut peak, mut next_pause) = (0u64, rss(), 0u64);
    while let Some(frame) = body.frame().await {
        let frame = frame.expect("the body streams whole");
        if let Some(data) = frame.data_ref() {
            read += data.len() as u64;
        }
        if let Some(pause) = pause.filter(|_| read >= next_pause) {
            next_pause = read + (256 << 10);
            tokio::time::sleep(pause).await;
            peak = peak.max(rss());
        }
    }
    (read, peak)
}

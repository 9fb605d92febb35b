//! An origin server that misbehaves on demand, for `bench/faults.sh` and
//! `bench/soak.sh`. It speaks HTTP/1.1 by hand over TCP so that it can
//! fail the way real origins do: slowly, by resetting the connection, or by
//! dying in the middle of a body.
//!
//! ```sh
//! cargo run --release -p webcache-proxy --example fault_origin -- 127.0.0.1:3000
//! ```
//!
//! - `GET /obj/<len>/<name>`: `<len>` bytes, `Cache-Control: public,
//!   max-age=3600`, an ETag;
//! - `GET /reval/<len>/<name>`: the same with `max-age=1`, answering 304 to
//!   a matching `If-None-Match` (so that hits turn into revalidations);
//! - `GET /nostore/<len>/<name>`: the same with `no-store`;
//! - any other method: `200 ok`, `no-store` (an unsafe method invalidates);
//! - `GET /_mode/<mode>`: every later response misbehaves as `<mode>` says:
//!   `normal`; `slow` (waits `SLOW_MS`, default 2000, before the head);
//!   `reset` (reads the request and resets the connection); `truncate`
//!   (sends the head with the full Content-Length, half the body, and
//!   closes).
//!
//! Body byte `i` is `b'a' + i % 26`, so a client can check what it got.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const NORMAL: u8 = 0;
const SLOW: u8 = 1;
const RESET: u8 = 2;
const TRUNCATE: u8 = 3;

/// A request head: method, path, whether `If-None-Match` was sent, and the
/// length of the body that follows.
struct Head {
    method: String,
    path: String,
    if_none_match: Option<String>,
    content_length: usize,
}

fn parse_head(head: &str) -> Option<Head> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
    let mut parsed = Head {
        method,
        path,
        if_none_match: None,
        content_length: 0,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("if-none-match") {
            parsed.if_none_match = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            parsed.content_length = value.parse().ok()?;
        }
    }
    Some(parsed)
}

/// Reads one request head (and skips its body); `None` at the end of the
/// connection or on a malformed request.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = parse_head(std::str::from_utf8(&buf[..end]).ok()?)?;
            let mut skip = end + 4 + head.content_length;
            while buf.len() < skip {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            skip = skip.min(buf.len());
            buf.drain(..skip);
            return Some(head);
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The status line and fields, and the body length, of the answer to `head`.
fn answer(head: &Head) -> (String, usize) {
    if head.method != "GET" && head.method != "HEAD" {
        let fields = "HTTP/1.1 200 OK\r\ncache-control: no-store\r\ncontent-length: 3\r\n\r\n";
        return (fields.to_owned(), 3);
    }
    let parts: Vec<&str> = head.path.trim_start_matches('/').split('/').collect();
    let (control, len, name) = match parts.as_slice() {
        ["obj", len, name] => ("public, max-age=3600", len, name),
        ["reval", len, name] => ("public, max-age=1", len, name),
        ["nostore", len, name] => ("no-store", len, name),
        _ => {
            let fields = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
            return (fields.to_owned(), 0);
        }
    };
    let len: usize = len.parse().unwrap_or(0).min(1 << 30);
    let etag = format!("\"{name}-{len}\"");
    if head.if_none_match.as_deref() == Some(etag.as_str()) {
        let fields = format!(
            "HTTP/1.1 304 Not Modified\r\ncache-control: {control}\r\netag: {etag}\r\n\r\n"
        );
        return (fields, 0);
    }
    let fields = format!(
        "HTTP/1.1 200 OK\r\ncache-control: {control}\r\netag: {etag}\r\n\
         content-type: application/octet-stream\r\ncontent-length: {len}\r\n\r\n"
    );
    (fields, len)
}

/// Writes `len` bytes of the body pattern.
async fn write_body(stream: &mut TcpStream, pattern: &[u8], len: usize) -> std::io::Result<()> {
    let mut left = len;
    while left > 0 {
        let n = left.min(pattern.len());
        stream.write_all(&pattern[..n]).await?;
        left -= n;
    }
    Ok(())
}

async fn serve(mut stream: TcpStream, mode: Arc<AtomicU8>, pattern: Arc<Vec<u8>>, slow: Duration) {
    let mut buf = Vec::new();
    while let Some(head) = read_request(&mut stream, &mut buf).await {
        if let Some(next) = head.path.strip_prefix("/_mode/") {
            let value = match next {
                "slow" => SLOW,
                "reset" => RESET,
                "truncate" => TRUNCATE,
                _ => NORMAL,
            };
            mode.store(value, Ordering::SeqCst);
            let ok = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
            if stream.write_all(ok.as_bytes()).await.is_err() {
                return;
            }
            continue;
        }
        let (fields, len) = answer(&head);
        let len = if head.method == "HEAD" { 0 } else { len };
        match mode.load(Ordering::SeqCst) {
            RESET => {
                // SO_LINGER 0: close sends a RST (and, with a zero linger,
                // the drop does not block, which is why tokio deprecates it).
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(Duration::ZERO));
                return;
            }
            SLOW => tokio::time::sleep(slow).await,
            TRUNCATE if len > 1 => {
                let _ = stream.write_all(fields.as_bytes()).await;
                let _ = write_body(&mut stream, &pattern, len / 2).await;
                let _ = stream.flush().await;
                return;
            }
            _ => {}
        }
        if stream.write_all(fields.as_bytes()).await.is_err()
            || write_body(&mut stream, &pattern, len).await.is_err()
        {
            return;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned())
        .parse()?;
    let slow = Duration::from_millis(
        std::env::var("SLOW_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2000),
    );
    let listener = TcpListener::bind(addr).await?;
    eprintln!("fault origin listening on http://{addr}");
    let mode = Arc::new(AtomicU8::new(NORMAL));
    // A whole number of periods of the pattern, so that chunks line up.
    let pattern: Arc<Vec<u8>> = Arc::new((0..26 * 2048).map(|i| b'a' + (i % 26) as u8).collect());
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve(stream, mode.clone(), pattern.clone(), slow));
    }
}

//! The admin endpoints over loopback: `/healthz` and `/readyz` of a proxy
//! in this process (its upstream killed and brought back), and the
//! binary's `/metrics` and access log.
#![cfg(feature = "admin")]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::{Response, StatusCode};
use tokio::net::TcpListener;
use webcache_proxy::AdminServer;

use support::{Client, Origin, clock, full, proxy};

fn answer_cacheable()
-> impl Fn(http::Request<hyper::body::Incoming>) -> std::future::Ready<Response<support::OriginBody>>
+ Send
+ Sync
+ 'static {
    |req| {
        std::future::ready(
            Response::builder()
                .header("cache-control", "max-age=60")
                .body(full(format!("origin says {}", req.uri().path())))
                .unwrap(),
        )
    }
}

#[tokio::test]
async fn healthz_is_ok_and_readyz_follows_the_upstream() {
    let clock = clock();
    let mut origin = Origin::start(answer_cacheable()).await;
    let origin_addr = origin.addr;
    let p = proxy(&origin.url(), &clock).await;
    let admin = AdminServer::bind("127.0.0.1:0".parse().unwrap(), p.proxy.clone())
        .await
        .unwrap();
    let admin_client = Client::new(admin.local_addr().unwrap());
    tokio::spawn(admin.serve(std::future::pending()));

    let health = admin_client.get("/healthz").await;
    assert_eq!(
        (health.status, &health.body[..]),
        (StatusCode::OK, &b"ok\n"[..])
    );
    // Never asked: ready.
    assert_eq!(admin_client.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(p.client.get("/a").await.status, StatusCode::OK);
    assert_eq!(admin_client.get("/readyz").await.status, StatusCode::OK);
    // No metrics recorder was given.
    assert_eq!(
        admin_client.get("/metrics").await.status,
        StatusCode::NOT_FOUND
    );

    origin.kill().await;
    assert_eq!(p.client.get("/b").await.status, StatusCode::BAD_GATEWAY);
    // Not ready once a connect to the upstream is refused: on a loaded
    // machine the killed origin's socket can take a moment to close.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let not_ready = loop {
        let got = admin_client.get("/readyz").await;
        if got.status != StatusCode::OK || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(not_ready.status, StatusCode::SERVICE_UNAVAILABLE);
    let reason = String::from_utf8_lossy(&not_ready.body);
    assert!(reason.contains("upstream"), "{reason}");
    assert_eq!(admin_client.get("/healthz").await.status, StatusCode::OK);

    // The upstream comes back on its address: ready again, before any
    // client request reaches it.
    let listener = TcpListener::bind(origin_addr).await.unwrap();
    let _origin = Origin::start_on(listener, answer_cacheable());
    assert_eq!(admin_client.get("/readyz").await.status, StatusCode::OK);
    assert_eq!(p.client.get("/b").await.status, StatusCode::OK);
    assert_eq!(admin_client.get("/readyz").await.status, StatusCode::OK);
}

/// A running child process, killed if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn wait_for(addr: std::net::SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the binary listens within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts the binary with an admin listener and `env`; its stderr goes to
/// `log`. Returns the proxy's and the admin listener's addresses.
async fn start_binary(
    env: &[(&str, &str)],
    log: &std::path::Path,
) -> (Running, std::net::SocketAddr, std::net::SocketAddr) {
    let (port, admin_port) = (free_port(), free_port());
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let admin: std::net::SocketAddr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"));
    command
        .env("WEBCACHE_LISTEN", addr.to_string())
        .env("WEBCACHE_ADMIN_LISTEN", admin.to_string())
        .env("WEBCACHE_LOG", "warn")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("a log file"));
    for (name, value) in env {
        command.env(name, value);
    }
    let child = Running(command.spawn().expect("the binary starts"));
    wait_for(addr).await;
    wait_for(admin).await;
    (child, addr, admin)
}

fn metric_line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

#[tokio::test]
async fn the_binary_exposes_prometheus_metrics_and_logs_each_request_as_json() {
    let origin = Origin::start(answer_cacheable()).await;
    let log = std::env::temp_dir().join(format!("webcache-admin-{}.log", std::process::id()));
    let upstream = origin.url();
    let (child, addr, admin) = start_binary(
        &[
            ("WEBCACHE_UPSTREAM", &upstream),
            ("WEBCACHE_ACCESS_LOG", "true"),
            ("WEBCACHE_LOG_FORMAT", "json"),
        ],
        &log,
    )
    .await;
    let client = Client::new(addr);
    assert!(!client.get("/m").await.is_hit());
    assert!(client.get("/m").await.is_hit());

    let admin_client = Client::new(admin);
    let scrape = admin_client.get("/metrics").await;
    assert_eq!(scrape.status, StatusCode::OK);
    assert!(
        scrape
            .header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8_lossy(&scrape.body);
    let hit = metric_line(
        &text,
        "webcache_requests_total{outcome=\"hit\",reason=\"fresh\"}",
    );
    assert_eq!(hit.and_then(|l| l.rsplit(' ').next()), Some("1"), "{text}");
    let miss = metric_line(
        &text,
        "webcache_requests_total{outcome=\"miss\",reason=\"uri-miss\"}",
    );
    assert_eq!(miss.and_then(|l| l.rsplit(' ').next()), Some("1"), "{text}");
    assert!(
        text.contains("# TYPE webcache_requests_total counter"),
        "{text}"
    );
    let entries = metric_line(&text, "webcache_store_entries{backend=\"memory\"}");
    assert!(entries.is_some(), "{text}");
    // At least the task serving the proxy's listener is alive.
    let tasks = metric_line(&text, "webcache_runtime_alive_tasks ")
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    assert!(tasks.is_some_and(|n| n >= 1.0), "{text}");
    // One request went upstream: its time to the response head.
    let upstream = metric_line(
        &text,
        "webcache_upstream_duration_seconds_count{outcome=\"ok\"}",
    );
    assert_eq!(
        upstream.and_then(|l| l.rsplit(' ').next()),
        Some("1"),
        "{text}"
    );
    assert_eq!(admin_client.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(admin_client.get("/readyz").await.status, StatusCode::OK);
    drop(child);

    let written = std::fs::read_to_string(&log).expect("the log");
    let _ = std::fs::remove_file(&log);
    let access: Vec<&str> = written
        .lines()
        .filter(|l| l.contains("\"target\":\"webcache::access\""))
        .collect();
    assert_eq!(access.len(), 2, "{written}");
    for (line, outcome) in access.iter().zip(["uri-miss", "hit"]) {
        assert!(
            line.starts_with("{\"ts\":") && line.ends_with('}'),
            "{line}"
        );
        for field in [
            "\"level\":\"INFO\"",
            "\"method\":\"GET\"",
            "\"path\":\"/m\"",
            "\"status\":200",
            "\"bytes\":14",
            "\"duration_ms\":",
        ] {
            assert!(line.contains(field), "{field} in {line}");
        }
        assert!(
            line.contains(&format!("\"outcome\":\"{outcome}\"")),
            "{line}"
        );
    }
}

#[tokio::test]
async fn the_access_log_in_text_follows_rust_log() {
    let origin = Origin::start(answer_cacheable()).await;
    let log = std::env::temp_dir().join(format!("webcache-admin-text-{}.log", std::process::id()));
    let upstream = origin.url();
    let (child, addr, _) = start_binary(
        &[
            ("WEBCACHE_UPSTREAM", &upstream),
            ("WEBCACHE_ACCESS_LOG", "true"),
            ("RUST_LOG", "warn"),
        ],
        &log,
    )
    .await;
    let client = Client::new(addr);
    client.get("/t").await;
    drop(child);
    let written = std::fs::read_to_string(&log).expect("the log");
    let _ = std::fs::remove_file(&log);
    let line = written
        .lines()
        .find(|l| l.contains("webcache::access"))
        .unwrap_or_else(|| panic!("an access line in {written}"));
    for field in [
        "INFO",
        "method=GET",
        "path=/t",
        "status=200",
        "outcome=uri-miss",
        "bytes=14",
        "duration_ms=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
}

#[tokio::test]
async fn upstream_failures_are_logged_at_most_once_a_second_with_a_count() {
    let log = std::env::temp_dir().join(format!("webcache-admin-fail-{}.log", std::process::id()));
    let upstream = format!("http://127.0.0.1:{}", free_port());
    let (child, addr, admin) = start_binary(
        &[
            ("WEBCACHE_UPSTREAM", &upstream),
            ("WEBCACHE_LOG_FORMAT", "json"),
        ],
        &log,
    )
    .await;
    let client = Client::new(addr);
    for _ in 0..5 {
        assert_eq!(client.get("/down").await.status, StatusCode::BAD_GATEWAY);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(client.get("/down").await.status, StatusCode::BAD_GATEWAY);
    let scrape = Client::new(admin).get("/metrics").await;
    let text = String::from_utf8_lossy(&scrape.body);
    let failed = metric_line(
        &text,
        "webcache_upstream_duration_seconds_count{outcome=\"error\"}",
    );
    assert_eq!(
        failed.and_then(|l| l.rsplit(' ').next()),
        Some("6"),
        "{text}"
    );
    drop(child);
    let written = std::fs::read_to_string(&log).expect("the log");
    let _ = std::fs::remove_file(&log);
    let logged: Vec<u64> = written
        .lines()
        .filter(|l| l.contains("\"message\":\"upstream failed\""))
        .inspect(|l| assert!(l.contains("\"target\":\"webcache::proxy\""), "{l}"))
        .map(|l| {
            let (_, rest) = l.split_once("\"suppressed\":").expect("a count");
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a number")
        })
        .collect();
    // The last failure, a second after the others, is logged with the
    // count of those not logged: every failure is accounted for once.
    assert!(logged.len() >= 2 && logged.len() < 6, "{written}");
    let accounted: u64 = logged.iter().map(|n| n + 1).sum();
    assert_eq!(accounted, 6, "{written}");
}

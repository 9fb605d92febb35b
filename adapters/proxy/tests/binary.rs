//! The `webcache-proxy` binary itself: configured from the environment,
//! serving, sharing a Redis store, and stopping gracefully on SIGTERM.
#![cfg(feature = "cli")]

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http::{Response, StatusCode};

use support::{Client, Origin, full};

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running child process, killed if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with `env` and waits until it accepts connections.
async fn start_binary(env: &[(&str, String)]) -> (Running, std::net::SocketAddr) {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"));
    command
        .env("WEBCACHE_LISTEN", format!("127.0.0.1:{port}"))
        .env("WEBCACHE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let child = Running(command.spawn().expect("the binary starts"));
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the binary listens within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, addr)
}

async fn cacheable_origin() -> Origin {
    Origin::start(|req| async move {
        if req.uri().path() == "/slow" {
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        Response::builder()
            .header("cache-control", "max-age=60")
            .body(full(format!("origin says {}", req.uri().path())))
            .unwrap()
    })
    .await
}

#[tokio::test]
async fn the_binary_serves_from_the_environment_and_stops_gracefully_on_sigterm() {
    let origin = cacheable_origin().await;
    let (mut child, addr) = start_binary(&[("WEBCACHE_UPSTREAM", origin.url())]).await;
    let client = Client::new(addr);
    let miss = client.get("/fast").await;
    assert_eq!(miss.body, "origin says /fast");
    assert!(client.get("/fast").await.is_hit());
    assert_eq!(origin.count(), 1);

    let slow_client = client.clone();
    let in_flight = tokio::spawn(async move { slow_client.get("/slow").await });
    // Signal only once the request is in flight (it reached the origin),
    // however slow a loaded machine is to get it there.
    let deadline = Instant::now() + Duration::from_secs(10);
    while origin.count() < 2 {
        assert!(
            Instant::now() < deadline,
            "the slow request reaches the origin"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The shell's own `kill`, so that no procps is needed.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.0.id())])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let got = in_flight.await.expect("the request task");
    assert_eq!(got.status, StatusCode::OK, "the request in flight finishes");
    assert_eq!(got.body, "origin says /slow");
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.0.try_wait().expect("wait") {
            break exit;
        }
        assert!(Instant::now() < deadline, "the binary exits after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn the_binary_refuses_a_bad_configuration() {
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .env("WEBCACHE_UPSTREAM", "ftp://origin.example")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the scheme must be http"), "{stderr}");
}

#[test]
fn the_binary_refuses_rediss_with_a_reason() {
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .env("WEBCACHE_UPSTREAM", "http://127.0.0.1:1")
        .env("WEBCACHE_STORE", "rediss://redis.example:6380")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("rediss:// (Redis over TLS) is not supported"),
        "{stderr}"
    );
}

/// A config file in a directory of its own.
struct ConfigFile(std::path::PathBuf);

impl ConfigFile {
    fn new(name: &str, text: &str) -> ConfigFile {
        let path =
            std::env::temp_dir().join(format!("webcache-{name}-{}.toml", std::process::id()));
        std::fs::write(&path, text).expect("the config file is written");
        ConfigFile(path)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn the_config_file_is_read_and_the_environment_and_flags_win_over_it() {
    let origin = cacheable_origin().await;
    let file = ConfigFile::new(
        "config",
        &format!(
            "upstream = \"{}\"\nvia-name = \"from-file\"\ncache-status = \"filecache\"\n",
            origin.url()
        ),
    );
    let (_child, addr) = start_binary(&[
        ("WEBCACHE_CONFIG", file.0.display().to_string()),
        ("WEBCACHE_VIA_NAME", "from-env".to_owned()),
    ])
    .await;
    let got = Client::new(addr).get("/c").await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        got.all("via").contains(&"1.1 from-env".to_owned()),
        "{:?}",
        got.all("via")
    );
    assert!(
        got.cache_status().starts_with("filecache;"),
        "{}",
        got.cache_status()
    );
    // A flag wins over both.
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .args([
            "--config",
            &file.0.display().to_string(),
            "--upstream",
            "ftp://x",
        ])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ftp://x"), "{stderr}");
}

#[test]
fn an_unknown_key_in_the_config_file_is_an_error_naming_it() {
    let file = ConfigFile::new(
        "unknown",
        "upstream = \"http://o\"\nmemory-capacty = \"1MiB\"\n",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .args(["--config", &file.0.display().to_string()])
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown key `memory-capacty`"), "{stderr}");
}

#[test]
fn the_help_states_the_precedence_of_flags_environment_and_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--config <FILE>",
        "WEBCACHE_CONFIG",
        "A flag wins over its environment variable",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn the_binary_serves_tls_and_reloads_its_certificate_on_sighup() {
    use support::tls::{TempDir, tls_connect, write_cert};
    let dir = TempDir::new("sighup");
    let old = write_cert(&dir.0);
    let origin = cacheable_origin().await;
    let (child, addr) = start_binary(&[
        ("WEBCACHE_UPSTREAM", origin.url()),
        (
            "WEBCACHE_TLS_CERT",
            dir.0.join("cert.pem").display().to_string(),
        ),
        (
            "WEBCACHE_TLS_KEY",
            dir.0.join("key.pem").display().to_string(),
        ),
    ])
    .await;
    assert!(tls_connect(addr, &old, &[]).await.is_ok());
    let new = write_cert(&dir.0);
    assert!(
        tls_connect(addr, &new, &[]).await.is_err(),
        "not reloaded yet"
    );
    let status = Command::new("sh")
        .args(["-c", &format!("kill -HUP {}", child.0.id())])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while tls_connect(addr, &new, &[]).await.is_err() {
        assert!(Instant::now() < deadline, "the new certificate within 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(tls_connect(addr, &old, &[]).await.is_err());
}

/// Starts `redis-server` on a free port, if it is installed.
fn redis_server() -> Option<(Running, u16)> {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(child) => Some((Running(child), port)),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: redis-server is not installed");
            None
        }
        Err(e) => panic!("redis-server is needed in CI: {e}"),
    }
}

#[tokio::test]
async fn two_proxies_share_a_redis_store() {
    let Some(TwoOnRedis {
        a: addr_a,
        b: addr_b,
        origin,
        _running: _keep,
        ..
    }) = two_proxies_on_redis(&[]).await
    else {
        return;
    };
    // The cache key holds the Host the client used: the same for both.
    let headers = [("host", "shop.test")];
    let miss = Client::new(addr_a).get_with("/shared", &headers).await;
    assert_eq!(miss.body, "origin says /shared");
    // A body of known, small size is stored before the response is sent.
    let hit = Client::new(addr_b).get_with("/shared", &headers).await;
    assert!(hit.is_hit(), "{}", hit.cache_status());
    assert_eq!(origin.count(), 1);
    assert_eq!(hit.body, "origin says /shared");
}

#[tokio::test]
async fn rfc9111_4_4_a_post_through_one_proxy_reaches_the_others_near_tier() {
    let near = [("WEBCACHE_REDIS_NEAR_CACHE", "16MiB".to_owned())];
    let Some(TwoOnRedis {
        redis_port,
        a: addr_a,
        b: addr_b,
        origin,
        _running: _keep,
        ..
    }) = two_proxies_on_redis(&near).await
    else {
        return;
    };
    let headers = [("host", "shop.test")];
    let (a, b) = (Client::new(addr_a), Client::new(addr_b));
    assert_eq!(
        a.get_with("/near", &headers).await.body,
        "origin says /near"
    );
    // Once B's near tier is on (its tracking connection set up), a hit
    // reads Redis once and fills it; the next hits come from it and send
    // Redis no MGET.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut mgets = redis_calls(redis_port, "mget").await;
    loop {
        let hit = b.get_with("/near", &headers).await;
        assert!(hit.is_hit(), "{}", hit.cache_status());
        let now = redis_calls(redis_port, "mget").await;
        if now == mgets {
            break;
        }
        assert!(Instant::now() < deadline, "B's near tier serves within 5 s");
        mgets = now;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        let hit = b.get_with("/near", &headers).await;
        assert!(hit.is_hit(), "{}", hit.cache_status());
    }
    assert_eq!(redis_calls(redis_port, "mget").await, mgets, "near hits");
    assert_eq!(origin.count(), 1);
    // RFC 9111 §4.4: a successful POST invalidates the target, in Redis,
    // and Redis tells B's near tier.
    let posted = a.method_with("POST", "/near", &headers).await;
    assert_eq!(posted.status, http::StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let got = b.get_with("/near", &headers).await;
        if !got.is_hit() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B still serves the invalidated response"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        origin.count(),
        3,
        "the POST and B's refill reached the origin"
    );
}

/// A redis-server, and two proxy binaries on it in front of one cacheable
/// origin. Bind `_running` where it is taken apart: the processes are
/// killed when it is dropped.
struct TwoOnRedis {
    redis_port: u16,
    a: std::net::SocketAddr,
    b: std::net::SocketAddr,
    origin: Origin,
    _running: [Running; 3],
}

/// Starts [`TwoOnRedis`] with the settings `extra`; `None` when
/// redis-server is not installed (outside CI).
async fn two_proxies_on_redis(extra: &[(&str, String)]) -> Option<TwoOnRedis> {
    let (redis, redis_port) = redis_server()?;
    wait_for_redis(redis_port).await;
    let origin = cacheable_origin().await;
    let mut env = vec![
        ("WEBCACHE_UPSTREAM", origin.url()),
        ("WEBCACHE_STORE", format!("redis://127.0.0.1:{redis_port}")),
    ];
    env.extend(extra.iter().cloned());
    let (proxy_a, a) = start_binary(&env).await;
    let (proxy_b, b) = start_binary(&env).await;
    Some(TwoOnRedis {
        redis_port,
        a,
        b,
        origin,
        _running: [redis, proxy_a, proxy_b],
    })
}

/// How many times Redis has run `command` (`INFO commandstats`).
async fn redis_calls(port: u16, command: &str) -> u64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut redis = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("redis-server");
    redis.write_all(b"INFO commandstats\r\n").await.unwrap();
    // A bulk string: "$<len>\r\n<text>\r\n".
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let complete = |reply: &[u8]| {
        let Some(end) = reply.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let len: usize = String::from_utf8_lossy(&reply[1..end]).parse().unwrap_or(0);
        reply.len() >= end + 2 + len + 2
    };
    while !complete(&reply) {
        let n = redis.read(&mut buf).await.unwrap();
        assert!(n > 0, "redis closed the connection");
        reply.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&reply);
    let prefix = format!("cmdstat_{command}:calls=");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

async fn wait_for_redis(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "redis-server listens within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends SIGTERM to `child` and waits for it to exit.
#[cfg(feature = "sqlite")]
async fn stop(mut child: Running) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.0.id())])
        .status()
        .expect("sh runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the binary exits after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn two_proxies_share_a_sqlite_file_that_survives_a_restart() {
    let dir = std::env::temp_dir().join(format!("webcache-proxy-sqlite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let origin = cacheable_origin().await;
    let env = [
        ("WEBCACHE_UPSTREAM", origin.url()),
        (
            "WEBCACHE_STORE",
            format!("sqlite:{}", dir.join("cache.db").display()),
        ),
        ("WEBCACHE_SQLITE_MAX_SIZE", "16MiB".to_owned()),
    ];
    let (a, addr_a) = start_binary(&env).await;
    let (b, addr_b) = start_binary(&env).await;
    let headers = [("host", "shop.test")];
    let miss = Client::new(addr_a).get_with("/shared", &headers).await;
    assert_eq!(miss.body, "origin says /shared");
    let hit = Client::new(addr_b).get_with("/shared", &headers).await;
    assert!(hit.is_hit(), "{}", hit.cache_status());
    assert_eq!(hit.body, "origin says /shared");

    // Both stop; a new proxy on the file serves what they stored.
    stop(a).await;
    stop(b).await;
    let (_c, addr_c) = start_binary(&env).await;
    let hit = Client::new(addr_c).get_with("/shared", &headers).await;
    assert!(hit.is_hit(), "after a restart: {}", hit.cache_status());
    assert_eq!(origin.count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sqlite")]
#[test]
fn the_help_documents_the_sqlite_store_and_its_size() {
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("sqlite:PATH"), "{help}");
    assert!(help.contains("--sqlite-max-size"), "{help}");
}

#[test]
fn the_help_documents_the_admin_listener_and_the_logs() {
    let output = Command::new(env!("CARGO_BIN_EXE_webcache-proxy"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--admin-listen <ADDR>",
        "WEBCACHE_ADMIN_LISTEN",
        "/readyz",
        "--access-log",
        "webcache::access",
        "--log-format",
        "json",
        "RUST_LOG",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
}

//! Real Redis servers for the tests: each test starts its own
//! `redis-server` on a free loopback port, in a temporary directory, with
//! persistence off, and the server dies with the value that started it.
//! The system's Redis (port 6379) is never touched.
//!
//! Where `redis-server` is not installed the tests skip, each printing
//! `SKIPPED <test>: <why>` on the terminal (past the harness's output
//! capture, so that the skip shows beside its `ok`); when the environment
//! variable `CI` is set, a missing `redis-server` is a failure instead.

#![allow(dead_code)] // each test uses a different part

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use webcache_redis::redis;

/// The `redis-server` binary: `$REDIS_SERVER` or `redis-server` on `PATH`.
fn binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

/// True when `redis-server` can run; otherwise prints why the calling test
/// skips, or panics when `CI` is set.
pub fn redis_server_available() -> bool {
    let found = Command::new(binary())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "`{}` is not installed, and CI is set: the Redis tests must run (apt-get install redis-server)",
            binary()
        );
    }
    skipped(&format!(
        "`{}` not found (install redis-server to run the Redis tests; CI=true makes this a failure)",
        binary()
    ));
    false
}

/// Says on the terminal that the calling test skipped, and why. The test
/// harness captures `eprintln!` and shows it only for failures, so a skip
/// would pass silently as `ok`; this writes to the process's stderr
/// directly, past the capture, naming the test (libtest names its thread
/// after it).
pub fn skipped(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a Redis test")
        .to_owned();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("the OS hands out a free loopback port")
}

fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "webcache-redis-test-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// One `redis-server` process.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server on a free port; `None` (after printing why) when
    /// `redis-server` is not installed and `CI` is not set.
    pub fn start() -> Option<RedisServer> {
        Self::start_with(&[])
    }

    /// Starts a server with extra `redis-server` arguments.
    pub fn start_with(extra: &[&str]) -> Option<RedisServer> {
        if !redis_server_available() {
            return None;
        }
        Some(Self::start_on(free_port(), extra))
    }

    /// Starts a server on `port` (for instance one a store already points
    /// at), retrying on other ports only if the caller did not choose one.
    pub fn start_on(port: u16, extra: &[&str]) -> RedisServer {
        let mut server = RedisServer {
            child: None,
            port,
            dir: temp_dir(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = self.dir.join("redis.log");
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                panic!(
                    "redis-server on port {} exited with {status}:\n{log}",
                    self.port
                );
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.try_query(&["PING"]).is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(|c| c.id())
            .expect("the server runs")
    }

    /// Kills the server (SIGKILL: no goodbye to clients) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty: persistence is
    /// off).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn try_query(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let client = redis::Client::open(self.url())?;
        let mut con = client.get_connection_with_timeout(Duration::from_secs(2))?;
        con.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut con)
    }

    /// Runs a command on a connection of its own.
    pub fn query(&self, args: &[&str]) -> redis::Value {
        self.try_query(args)
            .unwrap_or_else(|e| panic!("{args:?} on port {}: {e}", self.port))
    }

    /// Runs a command that answers with text (`INFO`, `CLUSTER INFO`).
    pub fn text(&self, args: &[&str]) -> String {
        match self.query(args) {
            redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            redis::Value::VerbatimString { text, .. } => text,
            redis::Value::SimpleString(s) => s,
            other => panic!("{args:?} answered {other:?}"),
        }
    }

    /// Calls per command since the last `CONFIG RESETSTAT`, from
    /// `INFO commandstats` (`get`, `mget`, `set`, `cluster|slots`, …).
    pub fn command_calls(&self) -> HashMap<String, u64> {
        let info = self.text(&["INFO", "commandstats"]);
        info.lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("cmdstat_")?;
                let (name, stats) = rest.split_once(':')?;
                let calls = stats
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("calls="))?
                    .parse()
                    .ok()?;
                Some((name.to_owned(), calls))
            })
            .collect()
    }

    /// Resets the command statistics.
    pub fn reset_stats(&self) {
        self.query(&["CONFIG", "RESETSTAT"]);
    }

    /// The keys in the server.
    pub fn keys(&self) -> Vec<String> {
        match self.query(&["KEYS", "*"]) {
            redis::Value::Array(items) => items
                .into_iter()
                .filter_map(|v| match v {
                    redis::Value::BulkString(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    _ => None,
                })
                .collect(),
            other => panic!("KEYS answered {other:?}"),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Calls of the commands a store sends (not those of the test's own
/// inspection: `info`, `config|*`, `ping`, `keys`, `cluster|*`, …).
pub fn store_commands(calls: &HashMap<String, u64>) -> HashMap<String, u64> {
    calls
        .iter()
        .filter(|(name, _)| {
            !(name.starts_with("info")
                || name.starts_with("config")
                || name.starts_with("ping")
                || name.starts_with("keys")
                || name.starts_with("cluster")
                || name.starts_with("client")
                || name.starts_with("hello")
                || name.starts_with("select")
                || name.starts_with("readonly"))
        })
        .map(|(n, c)| (n.clone(), *c))
        .collect()
}

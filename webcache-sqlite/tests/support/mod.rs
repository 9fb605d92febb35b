//! What the store's integration tests share: a temporary directory, an
//! origin that counts its calls, and requests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use webcache_core::Upstream;

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("webcache-sqlite-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn db(&self) -> PathBuf {
        self.0.join("cache.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An origin answering `max-age=3600` and the body `<path> <n>`, counting
/// its calls.
#[derive(Clone, Default)]
pub struct Origin {
    pub calls: Arc<AtomicUsize>,
}

impl Origin {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Upstream<Full<Bytes>> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut response =
            Response::new(Full::new(Bytes::from(format!("{} {n}", req.uri().path()))));
        response
            .headers_mut()
            .insert("cache-control", HeaderValue::from_static("max-age=3600"));
        Ok(response)
    }
}

pub fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .body(Full::default())
        .expect("a valid request")
}

pub async fn body<B: http_body::Body>(response: Response<B>) -> String
where
    B::Error: std::fmt::Debug,
{
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub fn is_hit<B>(response: &Response<B>) -> bool {
    response.headers().contains_key("age")
}

/// The environment variable that makes a test binary act as a child
/// process: its value names what to do.
pub const CHILD_ROLE: &str = "WEBCACHE_SQLITE_CHILD_ROLE";
/// The database file a child process works on.
pub const CHILD_DB: &str = "WEBCACHE_SQLITE_CHILD_DB";

/// Starts this test binary again as a child process running only the test
/// `entry` (which acts on [`CHILD_ROLE`] and does nothing without it).
pub fn spawn_child(entry: &str, role: &str, db: &Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([entry, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ROLE, role)
        .env(CHILD_DB, db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the child process starts")
}

/// The child's role and database, when this process is a child.
pub fn child_role() -> Option<(String, PathBuf)> {
    let role = std::env::var(CHILD_ROLE).ok()?;
    let db = std::env::var_os(CHILD_DB)?;
    Some((role, PathBuf::from(db)))
}

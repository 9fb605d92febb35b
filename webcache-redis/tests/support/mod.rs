//! Test support: real Redis servers ([`server`]), a three-master Redis
//! Cluster, and a counting application behind the cache.

#![allow(dead_code)] // each test file uses a different part

mod server;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub use server::*;

/// A Redis Cluster of three masters (no replicas), each a `redis-server`
/// of its own; slots are split evenly.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts the cluster and waits until every node reports it `ok`.
    pub fn start() -> Option<RedisCluster> {
        if !redis_server_available() {
            return None;
        }
        let mut nodes = Vec::new();
        while nodes.len() < 3 {
            // The cluster bus listens on port + 10000.
            let port = free_port();
            if port > 55_000 || TcpListener::bind(("127.0.0.1", port + 10_000)).is_err() {
                continue;
            }
            nodes.push(RedisServer::start_on(
                port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "2000",
                ],
            ));
        }
        let ranges = [(0u16, 5460u16), (5461, 10922), (10923, 16383)];
        for (node, (start, end)) in nodes.iter().zip(ranges) {
            let slots: Vec<String> = (start..=end).map(|s| s.to_string()).collect();
            let mut args = vec!["CLUSTER", "ADDSLOTS"];
            args.extend(slots.iter().map(String::as_str));
            node.query(&args);
        }
        for (epoch, node) in nodes.iter().enumerate() {
            node.query(&["CLUSTER", "SET-CONFIG-EPOCH", &(epoch + 1).to_string()]);
        }
        for other in &nodes[1..] {
            nodes[0].query(&["CLUSTER", "MEET", "127.0.0.1", &other.port().to_string()]);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ok = nodes.iter().all(|n| {
                let info = n.text(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
            if ok {
                break;
            }
            assert!(Instant::now() < deadline, "the cluster did not form");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(RedisCluster { nodes })
    }

    /// Every node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// Resets every node's command statistics.
    pub fn reset_stats(&self) {
        for n in &self.nodes {
            n.reset_stats();
        }
    }

    /// Per node, the calls of the commands a store sends.
    pub fn store_commands(&self) -> Vec<HashMap<String, u64>> {
        self.nodes
            .iter()
            .map(|n| store_commands(&n.command_calls()))
            .collect()
    }
}

/// The application behind the cache in these tests: answers every request
/// with `200`, `Cache-Control: max-age=3600` (plus `extra` headers) and the
/// body `n`, the number of calls so far.
#[derive(Clone, Default)]
pub struct Origin {
    pub calls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    pub extra: Vec<(&'static str, &'static str)>,
}

impl Origin {
    /// An origin that adds `extra` header fields.
    pub fn with(extra: &[(&'static str, &'static str)]) -> Origin {
        Origin {
            extra: extra.to_vec(),
            ..Origin::default()
        }
    }

    /// Calls so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl webcache_core::Upstream<http_body_util::Full<bytes::Bytes>> for Origin {
    type Body = http_body_util::Full<bytes::Bytes>;
    type Error = std::convert::Infallible;

    async fn call(
        &mut self,
        _request: http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Result<http::Response<Self::Body>, Self::Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let mut response =
            http::Response::new(http_body_util::Full::new(bytes::Bytes::from(n.to_string())));
        let headers = response.headers_mut();
        headers.insert(
            "cache-control",
            http::HeaderValue::from_static("max-age=3600"),
        );
        for (name, value) in &self.extra {
            headers.insert(*name, http::HeaderValue::from_static(value));
        }
        Ok(response)
    }
}

/// A GET of `uri` with extra request header fields.
pub fn get(
    uri: &str,
    headers: &[(&str, &str)],
) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut request = http::Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .body(http_body_util::Full::default())
        .expect("a valid request")
}

/// The `Cache-Status` of a response, or "".
pub fn cache_status<B>(response: &http::Response<B>) -> String {
    response
        .headers()
        .get("cache-status")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

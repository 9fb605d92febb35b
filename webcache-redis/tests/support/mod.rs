//! Test support: real Redis servers ([`server`]), a three-master Redis
//! Cluster, and a counting application behind the cache.

#![allow(dead_code)] // each test file uses a different part

mod server;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub use server::*;

/// A Redis Cluster of three masters (and, from
/// [`start_with_replicas`](RedisCluster::start_with_replicas), a replica of
/// each), each a `redis-server` of its own; slots are split evenly.
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
            nodes.push(RedisServer::start_on(port, &cluster_args()));
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

    /// Starts the three masters, then one replica of each (`CLUSTER
    /// REPLICATE`), and waits until the six nodes agree and every replica
    /// is in sync. `nodes[0..3]` are the masters, `nodes[3 + i]` replicates
    /// `nodes[i]`.
    pub fn start_with_replicas() -> Option<RedisCluster> {
        let mut cluster = Self::start()?;
        let ids: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| n.text(&["CLUSTER", "MYID"]))
            .collect();
        for id in &ids {
            let replica = loop {
                let port = free_port();
                if port <= 55_000 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
                    break RedisServer::start_on(port, &cluster_args());
                }
            };
            cluster.nodes[0].query(&["CLUSTER", "MEET", "127.0.0.1", &replica.port().to_string()]);
            // REPLICATE needs the master known to the replica.
            wait_until("the replica learns its master", || {
                replica.text(&["CLUSTER", "NODES"]).contains(id.as_str())
            });
            replica.query(&["CLUSTER", "REPLICATE", id]);
            cluster.nodes.push(replica);
        }
        wait_until("six nodes agree and every replica is in sync", || {
            cluster.nodes.iter().all(|n| {
                let info = n.text(&["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:6")
            }) && cluster.nodes[3..].iter().all(|r| {
                r.text(&["INFO", "replication"])
                    .contains("master_link_status:up")
            })
        });
        Some(cluster)
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

/// The arguments of a cluster node: a node is judged failed after 2 s.
fn cluster_args() -> [&'static str; 6] {
    [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
    ]
}

/// Polls `done` every 50 ms for at most 30 s.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
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

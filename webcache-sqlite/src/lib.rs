//! # webcache-sqlite
//!
//! The persistent, embedded store for [webcache](webcache_core): the cache
//! lives in one SQLite file, survives restarts, and is shared by every
//! process of one host that opens the same file — no server to run. SQLite
//! is compiled in (rusqlite's `bundled` feature), so nothing needs to be
//! installed.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use webcache_core::{Cache, Config, Upstream};
//! use webcache_sqlite::SqliteStore;
//!
//! // The application the cache sits in front of.
//! #[derive(Clone)]
//! struct App;
//! impl Upstream<Full<Bytes>> for App {
//!     type Body = Full<Bytes>;
//!     type Error = Infallible;
//!     async fn call(&mut self, _: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
//!         Ok(Response::builder()
//!             .header("cache-control", "max-age=60")
//!             .body(Full::new(Bytes::from_static(b"hello")))
//!             .unwrap())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("webcache-doc-lib-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let store = SqliteStore::builder(dir.join("cache.db"))
//!     .max_size(512 << 20) // bytes; least recently used entries go first
//!     .build()?;           // blocks while the file is opened: do it before serving
//! let cache = Cache::new(store, Config::default());
//! let get = || Request::get("http://example.test/").body(Full::default()).unwrap();
//! cache.serve(get(), App).await?; // a miss: stored in the file
//! let hit = cache.serve(get(), App).await?;
//! assert!(hit.headers().contains_key("age")); // a hit, also after a restart
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```
//!
//! ## How it works
//!
//! - **Threads.** One writer connection on a thread of its own, fed by a
//!   bounded channel: writes that queue up while a transaction runs go
//!   into the next one (`BEGIN IMMEDIATE`). A small pool of reader
//!   connections, each on its own thread, reads while the writer writes
//!   (WAL). No SQLite call runs on the async runtime's threads.
//! - **Settings.** WAL, `synchronous=NORMAL` (a power cut may lose the
//!   last writes, never the file), a busy timeout of 100 ms (below the
//!   cache's 250 ms `store_timeout`), incremental auto-vacuum, prepared
//!   statements cached per connection.
//! - **Schema.** One table, `entries` (resource digest, variant digest,
//!   value, expiry, last access), versioned with `PRAGMA user_version` and
//!   marked as webcache's with `PRAGMA application_id`. A file of an older
//!   version is migrated (or, if it cannot be, rebuilt: it is a cache); a
//!   file of a newer version is refused with [`Error::NewerSchema`].
//! - **Expiry and size.** Entries past their TTL are never returned and
//!   are swept in the background. Past the maximum size, the least
//!   recently used entries are evicted; a hit records its access time in
//!   memory, written in batches, so a hit is not a write.
//! - **Faults** fail open: the cache logs and counts the
//!   [`StoreError`](webcache_core::StoreError) and goes to the
//!   application. A database locked by another process fails after the
//!   busy timeout; a read-only file serves reads and writes resume when it
//!   is writable; a full database or disk evicts and retries; a malformed
//!   row is a miss; a corrupt file is moved aside (`<path>.corrupt-<ms>`),
//!   replaced, logged and counted ([`SqliteStore::stats`]).
//! - **Several processes** on one file see each other's entries at once;
//!   each process evicts and sweeps for all. A corrupt file is moved aside
//!   by the first process that finds it; another that finds it later sees
//!   that the path names a new file, and moves over to it without moving
//!   it aside again.
#![deny(missing_docs)]

mod buffers;
mod builder;
mod error;
mod purge;
mod reader;
mod schema;
mod shared;
mod store;
mod writer;

pub use builder::{
    DEFAULT_ACCESS_FLUSH_INTERVAL, DEFAULT_BUSY_TIMEOUT, DEFAULT_MAX_SIZE, DEFAULT_READERS,
    DEFAULT_SWEEP_INTERVAL, SqliteStoreBuilder,
};
pub use error::Error;
pub use schema::SCHEMA_VERSION;
pub use store::{SqliteStats, SqliteStore};

/// The crate's README, whose code blocks are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
mod readme {}

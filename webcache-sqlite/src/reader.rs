//! The readers: a small pool of connections, each on its own thread with
//! its own channel. In WAL mode they read while the writer writes. A hit
//! is not a write: its access time is recorded in memory for the writer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};

use bytes::Bytes;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Statement};
use tokio::sync::oneshot;
use webcache_core::store::StoreKey;

use crate::error::Error;
use crate::schema::{self, Role, now_ms, row_id};
use crate::shared::{Counters, Shared};
use crate::writer::variant_bytes;

/// What a reader is asked to do.
pub(crate) enum ReadJob {
    /// Look these keys up.
    Get {
        keys: Vec<StoreKey>,
        reply: oneshot::Sender<Result<Vec<Option<Bytes>>, Error>>,
    },
    /// Close the connection (the file is being replaced), and say so.
    Close(mpsc::Sender<()>),
}

const LOOKUP: &str = "SELECT resource, variant, value, expires_at FROM entries WHERE id = ?1";

/// Starts reader `n`.
pub(crate) fn spawn(shared: Arc<Shared>, n: usize) -> std::io::Result<mpsc::Sender<ReadJob>> {
    let (tx, rx) = mpsc::channel();
    let reader = Reader {
        shared,
        conn: None,
        generation: 0,
        closed_at: None,
    };
    std::thread::Builder::new()
        .name(format!("webcache-sqlite-reader-{n}"))
        .spawn(move || reader.run(rx))?;
    Ok(tx)
}

struct Reader {
    shared: Arc<Shared>,
    conn: Option<Connection>,
    /// The file generation `conn` is on.
    generation: u64,
    /// The generation at which the writer asked this reader to close.
    closed_at: Option<u64>,
}

/// The most lookups answered in one read transaction.
const MAX_BATCH: usize = 64;

/// A lookup waiting for its answer.
type Get = (
    Vec<StoreKey>,
    oneshot::Sender<Result<Vec<Option<Bytes>>, Error>>,
);

impl Reader {
    fn run(mut self, rx: Receiver<ReadJob>) {
        // Connect before the first request needs it.
        let _ = self.connection();
        let mut gets: Vec<Get> = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = wait(&rx) {
            // What is queued now was sent before the read transaction
            // below begins, so it sees every write that finished before
            // its lookup was asked: one transaction (one pair of file
            // locks) for the lot.
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    ReadJob::Get { keys, reply } => gets.push((keys, reply)),
                    ReadJob::Close(ack) => {
                        self.answer(&mut gets);
                        self.conn = None;
                        self.closed_at = Some(self.shared.generation.load(Ordering::SeqCst));
                        let _ = ack.send(());
                    }
                }
                if gets.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            self.answer(&mut gets);
        }
    }

    /// Answers `gets` in one read transaction.
    fn answer(&mut self, gets: &mut Vec<Get>) {
        if gets.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        let conn = match self.connection() {
            Ok(conn) => conn,
            Err(error) => {
                for (_, reply) in gets.drain(..) {
                    let _ = reply.send(Err(shared.read_failed(&error)));
                }
                return;
            }
        };
        let tx = conn.unchecked_transaction();
        let now = now_ms();
        let mut hits = Vec::with_capacity(gets.len() * 2);
        for (keys, reply) in gets.drain(..) {
            let result = conn
                .prepare_cached(LOOKUP)
                .map_err(Error::from)
                .and_then(|mut stmt| {
                    keys.iter()
                        .map(|key| match key.is_purge_record() {
                            true => crate::purge::read_record(conn, key)
                                .map(|v| v.map(Bytes::from))
                                .map_err(Error::from),
                            false => lookup(&mut stmt, key, now, &shared, &mut hits),
                        })
                        .collect::<Result<Vec<_>, Error>>()
                });
            let _ = reply.send(result.map_err(|e| shared.note_read_error(e)));
        }
        // Read only: ending it either way releases the snapshot.
        if let Ok(tx) = tx {
            let _ = tx.commit();
        }
        shared.record_accesses(&hits, now);
    }

    /// The connection, (re)opened on the current file.
    fn connection(&mut self) -> Result<&Connection, Error> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        let generation = self.shared.generation.load(Ordering::SeqCst);
        if self.closed_at == Some(generation) {
            return Err(Error::Rebuilding);
        }
        if self.generation != generation {
            self.conn = None;
        }
        let conn = match self.conn.take() {
            Some(conn) => conn,
            None => {
                let settings = &self.shared.settings;
                schema::connect(&settings.path, Role::Reader, &settings.tuning)?
            }
        };
        self.generation = generation;
        self.closed_at = None;
        Ok(self.conn.insert(conn))
    }
}

/// The next job; `None` once every handle is gone. Yields the CPU a few
/// times before sleeping: under load the runtime's threads meanwhile queue
/// more lookups, which then need no wake-up and share one transaction.
fn wait(rx: &Receiver<ReadJob>) -> Option<ReadJob> {
    for _ in 0..YIELDS {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv().ok()
}

/// How often [`wait`] yields before it sleeps.
const YIELDS: usize = 3;

/// One row: its value if it is present, well-formed and not expired (its id
/// is then added to `hits`). A row whose columns are not what this crate
/// writes is a miss, counted.
fn lookup(
    stmt: &mut Statement<'_>,
    key: &StoreKey,
    now: i64,
    shared: &Shared,
    hits: &mut Vec<i64>,
) -> Result<Option<Bytes>, Error> {
    let id = row_id(key.resource(), key.variant());
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let (resource, variant) = (row.get_ref(0)?, row.get_ref(1)?);
    match (row.get_ref(2)?, row.get_ref(3)?) {
        (ValueRef::Blob(value), ValueRef::Integer(expires_at)) => {
            let same_key = resource == ValueRef::Blob(&key.resource()[..])
                && variant == ValueRef::Blob(variant_bytes(key.variant()));
            if expires_at <= now || !same_key {
                return Ok(None);
            }
            hits.push(id);
            Ok(Some(shared.buffers.copy(value)))
        }
        _ => {
            Counters::add(&shared.counters.corrupt_rows, 1);
            tracing::warn!(target: "webcache::sqlite", key = %key.to_hex(), "a malformed cache row: treated as a miss");
            Ok(None)
        }
    }
}

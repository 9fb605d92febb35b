//! The writer: the one connection that writes, on its own thread, fed by a
//! bounded channel. Commands that queue up while a transaction runs are
//! batched into the next `BEGIN IMMEDIATE` transaction. Between commands
//! the writer flushes the access times the readers recorded, sweeps expired
//! rows, evicts the least recently used rows past the size limit, reopens a
//! file that could not be written, and rebuilds a corrupt one.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, params};
use tokio::sync::oneshot;
use webcache_core::store::{StoreKey, Write};

use crate::error::{Error, Fault, fault};
use crate::reader::ReadJob;
use crate::schema::{self, Role, now_ms, resource_ids, row_id};
use crate::shared::{Counters, Shared};

/// Where a command's outcome goes.
pub(crate) type Reply = oneshot::Sender<Result<(), Error>>;

/// What the writer is asked to do.
pub(crate) enum Command {
    /// Write every value.
    Put(Vec<Write>, Reply),
    /// Remove these keys.
    Delete(Vec<StoreKey>, Reply),
    /// Remove a resource's metadata and every representation.
    DeleteResource([u8; 16], Reply),
    /// A purge operation, in a transaction of its own.
    Purge(
        crate::purge::PurgeOp,
        oneshot::Sender<Result<crate::purge::PurgeAnswer, Error>>,
    ),
    /// Flush access times, sweep and evict now.
    Maintain(Reply),
    /// Flush, close every connection, and stop.
    Close(Reply),
}

/// A data command, taken apart from its reply.
enum Op {
    Put(Vec<Write>),
    Delete(Vec<StoreKey>),
    DeleteResource([u8; 16]),
}

/// The longest TTL kept: about a hundred years (a store may evict early,
/// never serve late).
const MAX_TTL_MS: i64 = 100 * 365 * 24 * 3600 * 1000;
/// Rows removed per statement by the sweep and by eviction.
const SWEEP_CHUNK: i64 = 1000;
const EVICT_CHUNK: i64 = 256;
/// How soon a file that could not be written is tried again.
const REOPEN_DELAY: Duration = Duration::from_secs(1);

// A write to the id of another key (a 64-bit collision) replaces it: for
// a cache, an early eviction.
const UPSERT: &str = "INSERT INTO entries (id, resource, variant, value, expires_at, accessed_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (id) DO UPDATE SET
         resource = excluded.resource, variant = excluded.variant, value = excluded.value,
         expires_at = excluded.expires_at, accessed_at = excluded.accessed_at";
const DELETE_ONE: &str = "DELETE FROM entries WHERE id = ?1 AND resource = ?2 AND variant = ?3";
const DELETE_RESOURCE: &str = "DELETE FROM entries WHERE id BETWEEN ?1 AND ?2 AND resource = ?3";
const TOUCH: &str = "UPDATE entries SET accessed_at = ?2 WHERE id = ?1 AND accessed_at < ?2";
const SWEEP: &str = "DELETE FROM entries WHERE id IN
     (SELECT id FROM entries WHERE expires_at <= ?1 LIMIT ?2)";
const EVICT: &str = "DELETE FROM entries WHERE id IN
     (SELECT id FROM entries ORDER BY accessed_at LIMIT ?1)";

/// The variant column of `key`: its digest, or empty for metadata.
pub(crate) fn variant_bytes(variant: Option<&[u8; 16]>) -> &[u8] {
    variant.map_or(&[], |v| &v[..])
}

/// Starts the writer thread on `conn`.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    conn: Connection,
    read_only: bool,
    readers: Vec<mpsc::Sender<ReadJob>>,
    queue: usize,
) -> std::io::Result<SyncSender<Command>> {
    let (tx, rx) = mpsc::sync_channel(queue);
    let now = Instant::now();
    let writer = Writer {
        next_flush: now + shared.settings.access_flush_interval,
        next_sweep: now + shared.settings.sweep_interval,
        next_reopen: now + REOPEN_DELAY,
        unwritable: read_only,
        file: schema::FileId::of(&shared.settings.path),
        conn: Some(conn),
        readers,
        shared,
    };
    std::thread::Builder::new()
        .name("webcache-sqlite-writer".to_owned())
        .spawn(move || writer.run(rx))?;
    Ok(tx)
}

struct Writer {
    shared: Arc<Shared>,
    conn: Option<Connection>,
    readers: Vec<mpsc::Sender<ReadJob>>,
    /// The file could not be written; reopen it at `next_reopen`.
    unwritable: bool,
    /// The file the connections were opened on, to tell whether another
    /// process has already replaced it.
    file: Option<schema::FileId>,
    next_flush: Instant,
    next_sweep: Instant,
    next_reopen: Instant,
}

impl Writer {
    fn run(mut self, rx: Receiver<Command>) {
        loop {
            let due = self.next_flush.min(self.next_sweep);
            match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                Ok(first) => {
                    let mut batch = vec![first];
                    while batch.len() < self.shared.settings.write_batch {
                        match rx.try_recv() {
                            Ok(command) => batch.push(command),
                            Err(_) => break,
                        }
                    }
                    if !self.handle(batch) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // Every handle is gone: keep what was recorded, and stop.
                    self.flush_accesses();
                    return;
                }
            }
            self.background();
        }
    }

    /// Runs one batch of commands; false once the store is closed.
    fn handle(&mut self, batch: Vec<Command>) -> bool {
        let mut ops = Vec::with_capacity(batch.len());
        let mut after = Vec::new();
        for command in batch {
            match command {
                Command::Put(writes, reply) => match self.check_sizes(&writes) {
                    Ok(()) => ops.push((Op::Put(writes), reply)),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
                Command::Delete(keys, reply) => ops.push((Op::Delete(keys), reply)),
                Command::DeleteResource(r, reply) => ops.push((Op::DeleteResource(r), reply)),
                other => after.push(other),
            }
        }
        if !ops.is_empty() {
            self.execute(ops);
        }
        for command in after {
            match command {
                Command::Purge(op, reply) => {
                    let answer = self.transaction(|tx| crate::purge::apply(tx, &op));
                    let _ = reply.send(answer);
                }
                Command::Maintain(reply) => {
                    if self.shared.corrupt.load(Ordering::SeqCst) {
                        self.rebuild();
                    }
                    self.flush_accesses();
                    self.sweep();
                    self.evict_if_needed();
                    let _ = reply.send(Ok(()));
                }
                Command::Close(reply) => {
                    self.close();
                    let _ = reply.send(Ok(()));
                    return false;
                }
                _ => {}
            }
        }
        true
    }

    fn check_sizes(&self, writes: &[Write]) -> Result<(), Error> {
        let limit = self.shared.settings.max_value_size;
        match writes.iter().find(|w| w.value.len() as u64 > limit) {
            Some(w) => Err(Error::TooLarge {
                size: w.value.len(),
                limit,
            }),
            None => Ok(()),
        }
    }

    /// Runs `ops` in one transaction; if it fails, each op in its own, so
    /// that one bad op fails alone.
    fn execute(&mut self, ops: Vec<(Op, Reply)>) {
        let together = self.transaction(|tx| {
            let now = now_ms();
            ops.iter().try_for_each(|(op, _)| apply(tx, op, now))
        });
        match together {
            Ok(()) => {
                for (_, reply) in ops {
                    let _ = reply.send(Ok(()));
                }
            }
            Err(_) if ops.len() > 1 => {
                for (op, reply) in ops {
                    let _ = reply.send(self.execute_one(&op));
                }
            }
            Err(error) => {
                if let Some((op, reply)) = ops.into_iter().next() {
                    let retried = match &error {
                        Error::Sqlite(e) if fault(e) == Fault::Full => self.retry_when_full(&op),
                        _ => Err(error),
                    };
                    let _ = reply.send(retried);
                }
            }
        }
        self.evict_if_needed();
    }

    fn execute_one(&mut self, op: &Op) -> Result<(), Error> {
        match self.transaction(|tx| apply(tx, op, now_ms())) {
            Err(Error::Sqlite(e)) if fault(&e) == Fault::Full => self.retry_when_full(op),
            other => other,
        }
    }

    /// The database (or the disk) is full: make room by evicting a quarter
    /// of the store, and try once more.
    fn retry_when_full(&mut self, op: &Op) -> Result<(), Error> {
        tracing::warn!(target: "webcache::sqlite", "the cache database is full: evicting to make room");
        self.evict_to(self.shared.settings.max_size / 4 * 3);
        let result = self.transaction(|tx| apply(tx, op, now_ms()));
        if result.is_err() {
            Counters::add(&self.shared.counters.write_errors, 1);
        }
        result
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, noting what a failure
    /// says about the file.
    fn transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        self.reopen_if_due();
        let Some(conn) = self.conn.as_mut() else {
            return Err(Error::Rebuilding);
        };
        let result = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .and_then(|tx| {
                let value = f(&tx)?;
                tx.commit()?;
                Ok(value)
            });
        result.map_err(|error| {
            self.note(&error);
            Error::Sqlite(error)
        })
    }

    fn note(&mut self, error: &rusqlite::Error) {
        Counters::add(&self.shared.counters.write_errors, 1);
        match fault(error) {
            Fault::Corrupt => self.shared.report_corrupt(error),
            Fault::Unwritable => {
                if !self.unwritable {
                    tracing::error!(target: "webcache::sqlite", %error, "the cache database cannot be written: serving reads, retrying writes every second");
                }
                self.unwritable = true;
            }
            Fault::Full | Fault::Other => {
                tracing::warn!(target: "webcache::sqlite", %error, "a cache write failed");
            }
        }
    }

    /// A file that could not be written is reopened once a second, so that
    /// writes resume when it is writable again.
    fn reopen_if_due(&mut self) {
        if !self.unwritable || Instant::now() < self.next_reopen {
            return;
        }
        self.next_reopen = Instant::now() + REOPEN_DELAY;
        let settings = &self.shared.settings;
        let Ok(conn) = schema::connect(&settings.path, Role::Writer, &settings.tuning) else {
            return;
        };
        if conn.is_readonly(rusqlite::MAIN_DB) == Ok(false) {
            tracing::info!(target: "webcache::sqlite", "the cache database is writable again");
            self.conn = Some(conn);
            self.unwritable = false;
        }
    }

    /// The periodic work, when due.
    fn background(&mut self) {
        if self.shared.corrupt.load(Ordering::SeqCst) {
            self.rebuild();
        }
        let now = Instant::now();
        if now >= self.next_flush {
            self.flush_accesses();
            self.next_flush = now + self.shared.settings.access_flush_interval;
        }
        if now >= self.next_sweep {
            self.sweep();
            self.evict_if_needed();
            self.next_sweep = now + self.shared.settings.sweep_interval;
        }
    }

    /// Writes the access times recorded by the readers, in one transaction.
    fn flush_accesses(&mut self) {
        let pending = self.shared.take_accesses();
        if pending.is_empty() || self.conn.is_none() {
            return;
        }
        let _ = self.transaction(|tx| {
            let mut stmt = tx.prepare_cached(TOUCH)?;
            for (id, at) in &pending {
                stmt.execute(params![id, at])?;
            }
            Ok(())
        });
    }

    /// Removes expired rows, a chunk per transaction so that readers of
    /// other processes are never held up long.
    fn sweep(&mut self) {
        let now = now_ms();
        let mut removed = 0;
        for _ in 0..1000 {
            let n =
                self.transaction(|tx| tx.prepare_cached(SWEEP)?.execute(params![now, SWEEP_CHUNK]));
            match n {
                Ok(n) => {
                    removed += n as u64;
                    if (n as i64) < SWEEP_CHUNK {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        for _ in 0..1000 {
            let n = self.transaction(|tx| {
                tx.prepare_cached(crate::purge::SWEEP_TAGS)?
                    .execute(params![now, SWEEP_CHUNK])
            });
            if !matches!(n, Ok(n) if n as i64 == SWEEP_CHUNK) {
                break;
            }
        }
        if removed > 0 {
            Counters::add(&self.shared.counters.expired, removed);
            tracing::debug!(target: "webcache::sqlite", removed, "swept expired entries");
            self.vacuum();
        }
    }

    /// Evicts past the size limit, down to 90 % of it.
    fn evict_if_needed(&mut self) {
        let max = self.shared.settings.max_size;
        let used = match &self.conn {
            Some(conn) => used_bytes(conn).unwrap_or(0),
            None => 0,
        };
        if used > max {
            self.evict_to(max / 10 * 9);
        }
    }

    /// Removes the least recently used rows until the used pages fit in
    /// `target` bytes, then gives the free pages back to the file system.
    fn evict_to(&mut self, target: u64) {
        self.flush_accesses();
        let evicted = self.transaction(|tx| {
            // One row, then twice as many each round while still too
            // large: a small store loses what it must, a large one is
            // brought down in a few rounds.
            let mut evicted = 0;
            let mut chunk = 1;
            let mut stmt = tx.prepare_cached(EVICT)?;
            while used_bytes(tx)? > target {
                let n = stmt.execute([chunk])?;
                if n == 0 {
                    break;
                }
                evicted += n as u64;
                chunk = (chunk * 2).min(EVICT_CHUNK);
            }
            Ok(evicted)
        });
        if let Ok(evicted) = evicted {
            Counters::add(&self.shared.counters.evicted, evicted);
            tracing::debug!(target: "webcache::sqlite", evicted, "evicted least recently used entries");
        }
        self.vacuum();
    }

    /// Truncates the file by its free pages (incremental auto-vacuum).
    fn vacuum(&mut self) {
        let Some(conn) = &self.conn else {
            return;
        };
        // Each step of the pragma frees one page: step it to the end.
        let result = conn
            .prepare_cached("PRAGMA incremental_vacuum")
            .and_then(|mut stmt| {
                let mut rows = stmt.query([])?;
                while rows.next()?.is_some() {}
                Ok(())
            });
        if let Err(error) = result {
            self.note(&error);
        }
    }

    /// Moves a corrupt file aside and starts a new one: every reader first
    /// closes its connection (a connection left on the old file could
    /// remove the new file's WAL when it closes), then the writer. What
    /// fails is tried again at the next tick (at most a second later).
    fn rebuild(&mut self) {
        self.close_readers();
        self.conn = None;
        let settings = &self.shared.settings;
        let current = schema::FileId::of(&settings.path);
        let replaced = current.is_some() && current != self.file;
        let moved = if replaced {
            // Another process found it corrupt first and made a new file:
            // use that one.
            Err(Error::MoveAside {
                path: settings.path.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            })
        } else {
            schema::move_aside(&settings.path)
        };
        match moved {
            Ok(aside) => {
                tracing::error!(target: "webcache::sqlite", path = %settings.path.display(), moved_to = %aside.display(), "the corrupt cache database was moved aside");
                Counters::add(&self.shared.counters.corrupt_files, 1);
            }
            // Gone already (moved by another process): start a new one.
            Err(Error::MoveAside { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::error!(target: "webcache::sqlite", %error, "the corrupt cache database cannot be moved aside; retrying");
                return;
            }
        }
        match schema::open_writer(&settings.path, &settings.tuning) {
            Ok((conn, opened)) => {
                tracing::info!(target: "webcache::sqlite", path = %settings.path.display(), "a new cache database is in use");
                self.file = schema::FileId::of(&settings.path);
                self.unwritable = opened.read_only;
                self.conn = Some(conn);
                self.shared.corrupt.store(false, Ordering::SeqCst);
                // Readers reopen on the new file.
                self.shared.generation.fetch_add(1, Ordering::SeqCst);
            }
            Err(error) => {
                // The flag stays set: tried again at the next tick, while
                // readers stay closed (every lookup a miss).
                tracing::error!(target: "webcache::sqlite", %error, "a new cache database cannot be made; retrying");
            }
        }
    }

    /// Asks every reader to close its connection, and waits (at most 2 s).
    fn close_readers(&mut self) {
        let (ack, acks) = mpsc::channel();
        let mut asked = 0;
        for reader in &self.readers {
            if reader.send(ReadJob::Close(ack.clone())).is_ok() {
                asked += 1;
            }
        }
        drop(ack);
        let deadline = Instant::now() + Duration::from_secs(2);
        for _ in 0..asked {
            let left = deadline.saturating_duration_since(Instant::now());
            if acks.recv_timeout(left).is_err() {
                break;
            }
        }
    }

    fn close(&mut self) {
        self.flush_accesses();
        self.shared.closed.store(true, Ordering::SeqCst);
        self.close_readers();
        self.conn = None;
    }
}

/// Applies one op.
fn apply(tx: &Connection, op: &Op, now: i64) -> rusqlite::Result<()> {
    match op {
        Op::Put(writes) => {
            let mut stmt = tx.prepare_cached(UPSERT)?;
            for w in writes {
                let ttl = i64::try_from(w.ttl.as_millis()).unwrap_or(MAX_TTL_MS);
                let expires = now.saturating_add(ttl.min(MAX_TTL_MS));
                stmt.execute(params![
                    row_id(w.key.resource(), w.key.variant()),
                    &w.key.resource()[..],
                    variant_bytes(w.key.variant()),
                    &w.value[..],
                    expires,
                    now
                ])?;
            }
        }
        Op::Delete(keys) => {
            let mut stmt = tx.prepare_cached(DELETE_ONE)?;
            for key in keys {
                stmt.execute(params![
                    row_id(key.resource(), key.variant()),
                    &key.resource()[..],
                    variant_bytes(key.variant())
                ])?;
            }
        }
        Op::DeleteResource(resource) => {
            let (first, last) = resource_ids(resource);
            tx.prepare_cached(DELETE_RESOURCE)?
                .execute(params![first, last, &resource[..]])?;
        }
    }
    Ok(())
}

/// The bytes in pages that hold data (the file less its free pages).
fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: u64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
    let free: u64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    let size: u64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    Ok(pages.saturating_sub(free) * size)
}

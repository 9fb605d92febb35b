//! Purge records and tag indexes in SQLite (schema version 2, see
//! [`crate::schema`]): each operation one `BEGIN IMMEDIATE` transaction of
//! the writer, so atomic across every process sharing the file; reads by
//! primary key, no table scan.

use rusqlite::{Connection, OptionalExtension, params};
use webcache_core::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use webcache_core::store::StoreKey;

use crate::schema::now_ms;

/// A purge operation for the writer.
pub(crate) enum PurgeOp {
    /// [`Store::bump`](webcache_core::Store::bump).
    Bump(Vec<StoreKey>, Bump),
    /// [`Store::tag`](webcache_core::Store::tag): the tags, the resource,
    /// and the expiry (ms since the epoch).
    Tag(Vec<[u8; 16]>, [u8; 16], i64),
    /// [`Store::take_tag`](webcache_core::Store::take_tag).
    Take([u8; 16], u64, PurgeMode),
}

/// What a [`PurgeOp`] answers.
pub(crate) enum PurgeAnswer {
    Records(Vec<PurgeRecord>),
    Marks(TagMarks),
    Members(Vec<[u8; 16]>),
}

const GET_RECORD: &str = "SELECT value FROM purge_records WHERE key = ?1";
const PUT_RECORD: &str = "INSERT INTO purge_records (key, value) VALUES (?1, ?2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";
const ADD_MEMBER: &str = "INSERT INTO tags (tag, resource, expires_at) VALUES (?1, ?2, ?3)
     ON CONFLICT (tag, resource) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)";
const GET_MARKS: &str = "SELECT hard, soft FROM tag_marks WHERE tag = ?1";
const RAISE_MARKS: &str = "INSERT INTO tag_marks (tag, hard, soft) VALUES (?1, ?2, ?3)
     ON CONFLICT (tag) DO UPDATE SET hard = max(hard, excluded.hard), soft = max(soft, excluded.soft)";
const MEMBERS: &str = "SELECT resource FROM tags WHERE tag = ?1 AND expires_at > ?2";
const DROP_MEMBERS: &str = "DELETE FROM tags WHERE tag = ?1";
/// Expired tag members, removed by the writer's sweep.
pub(crate) const SWEEP_TAGS: &str = "DELETE FROM tags WHERE (tag, resource) IN
     (SELECT tag, resource FROM tags WHERE expires_at <= ?1 LIMIT ?2)";

/// The encoded record at `key`, for a lookup.
pub(crate) fn read_record(conn: &Connection, key: &StoreKey) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached(GET_RECORD)?
        .query_row([key.to_bytes()], |r| r.get(0))
        .optional()
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Applies `op` in the transaction `tx`.
pub(crate) fn apply(tx: &Connection, op: &PurgeOp) -> rusqlite::Result<PurgeAnswer> {
    match op {
        PurgeOp::Bump(keys, bump) => {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let name = key.to_bytes();
                let before: Option<Vec<u8>> = tx
                    .prepare_cached(GET_RECORD)?
                    .query_row([&name], |r| r.get(0))
                    .optional()?;
                // A record that does not decode is restarted above what
                // any entry recorded from it could hold: it counts as lost.
                let before = match before.map(|b| PurgeRecord::decode(&b)) {
                    Some(Err(_)) => PurgeRecord::default().apply(Bump::Hard),
                    Some(Ok(r)) => r,
                    None => PurgeRecord::default(),
                };
                let after = before.apply(*bump);
                tx.prepare_cached(PUT_RECORD)?
                    .execute(params![name, &after.encode()[..]])?;
                out.push(after);
            }
            Ok(PurgeAnswer::Records(out))
        }
        PurgeOp::Tag(tags, resource, expires_at) => {
            let mut marks = TagMarks::default();
            for tag in tags {
                tx.prepare_cached(ADD_MEMBER)?.execute(params![
                    &tag[..],
                    &resource[..],
                    expires_at
                ])?;
                let found: Option<(i64, i64)> = tx
                    .prepare_cached(GET_MARKS)?
                    .query_row([&tag[..]], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                if let Some((hard, soft)) = found {
                    let n = |v: i64| u64::try_from(v).unwrap_or(0);
                    marks = marks.max(TagMarks::new(n(hard), n(soft)));
                }
            }
            Ok(PurgeAnswer::Marks(marks))
        }
        PurgeOp::Take(tag, seq, mode) => {
            let (hard, soft) = match mode {
                PurgeMode::Hard => (to_i64(*seq), 0),
                PurgeMode::Soft => (0, to_i64(*seq)),
            };
            tx.prepare_cached(RAISE_MARKS)?
                .execute(params![&tag[..], hard, soft])?;
            let members = tx
                .prepare_cached(MEMBERS)?
                .query_map(params![&tag[..], now_ms()], |r| r.get::<_, Vec<u8>>(0))?
                .filter_map(|r| r.ok().and_then(|v| <[u8; 16]>::try_from(v).ok()))
                .collect();
            tx.prepare_cached(DROP_MEMBERS)?.execute([&tag[..]])?;
            Ok(PurgeAnswer::Members(members))
        }
    }
}

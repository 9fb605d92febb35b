//! Purge records and tag indexes on Redis: three server-side scripts, each
//! on one slot, so that every update is atomic on a cluster too. No scan.
//!
//! - A bump is one `EVAL` per record (pipelined on one server; concurrent
//!   requests on a cluster, where each record has its own slot).
//! - Indexing a response's tags is one `EVAL` per tag (`SADD`, the set's
//!   expiry extended to the longest member's TTL, and the tag's marks read
//!   back).
//! - Taking a tag is one `EVAL`: the mark raised, `SMEMBERS`, `UNLINK`.

use std::time::Duration;

use redis::Value;
use webcache_core::StoreError;
use webcache_core::key::DIGEST_LEN;
use webcache_core::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use webcache_core::store::StoreKey;

use crate::key::{write_hex, write_key, write_tag_key};
use crate::store::RedisStore;

/// Applies a bump to the record `KEYS[1]` (`ARGV[1]`: `h`, `s` or `t`;
/// `ARGV[2]`: the soft purge's time in ms); the record is the four numbers
/// of [`PurgeRecord::encode`], without expiry. Returns the record after.
/// Lua numbers are doubles: exact up to 2^53, far above any counter or
/// millisecond timestamp.
const BUMP_SCRIPT: &str = r#"
local v = redis.call('GET', KEYS[1])
local h, s, a, t = 0, 0, 0, 0
if v then
  local x1, x2, x3, x4 = string.match(v, '^(%d+) (%d+) (%d+) (%d+)$')
  if not x1 then
    return redis.error_reply('ERR webcache: undecodable purge record')
  end
  h, s, a, t = tonumber(x1), tonumber(x2), tonumber(x3), tonumber(x4)
end
if ARGV[1] == 'h' then
  h = h + 1
elseif ARGV[1] == 's' then
  s = s + 1
  a = tonumber(ARGV[2])
else
  t = t + 1
end
local out = string.format('%.0f %.0f %.0f %.0f', h, s, a, t)
redis.call('SET', KEYS[1], out)
return out
"#;

/// Adds `ARGV[1]` to the tag index `KEYS[1]`, keeping it at least
/// `ARGV[2]` ms, and returns the marks `KEYS[2]` (`"<hard> <soft>"`).
const TAG_SCRIPT: &str = r#"
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return redis.call('GET', KEYS[2]) or '0 0'
"#;

/// Raises the mark `ARGV[1]` (`h` or `s`) of `KEYS[2]` to `ARGV[2]`, and
/// removes and returns the members of the tag index `KEYS[1]`.
const TAKE_SCRIPT: &str = r#"
local m = redis.call('GET', KEYS[2])
local h, s = 0, 0
if m then
  local a, b = string.match(m, '^(%d+) (%d+)$')
  if a then h, s = tonumber(a), tonumber(b) end
end
local seq = tonumber(ARGV[2])
if ARGV[1] == 'h' then h = math.max(h, seq) else s = math.max(s, seq) end
redis.call('SET', KEYS[2], string.format('%.0f %.0f', h, s))
local members = redis.call('SMEMBERS', KEYS[1])
redis.call('UNLINK', KEYS[1])
return members
"#;

/// Bumps sent at once on a cluster, where each is its own request.
const CONCURRENT: usize = 256;

impl RedisStore {
    fn bump_command(&self, key: &StoreKey, bump: Bump) -> redis::Cmd {
        let mut name = Vec::new();
        write_key(self.prefix(), key, &mut name);
        let (field, at) = match bump {
            Bump::Hard => ("h", 0),
            Bump::Soft { at_ms } => ("s", at_ms),
            Bump::Tags => ("t", 0),
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(BUMP_SCRIPT).arg(1).arg(name).arg(field).arg(at);
        cmd
    }

    fn tag_command(&self, tag: &[u8], resource: &[u8], ttl: Duration) -> redis::Cmd {
        let (mut index, mut marks, mut member) = (Vec::new(), Vec::new(), Vec::new());
        write_tag_key(self.prefix(), tag, false, &mut index);
        write_tag_key(self.prefix(), tag, true, &mut marks);
        write_hex(&mut member, resource);
        let ms = crate::store::ttl_millis(ttl).max(1);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TAG_SCRIPT)
            .arg(2)
            .arg(index)
            .arg(marks)
            .arg(member)
            .arg(ms);
        cmd
    }

    /// Runs `commands`: one pipeline on a server; on a cluster, where each
    /// may be on its own slot, concurrent single commands.
    async fn run_each(&self, commands: Vec<redis::Cmd>) -> Result<Vec<Value>, StoreError> {
        if !self.is_cluster() {
            let mut pipeline = redis::pipe();
            for cmd in commands {
                pipeline.add_command(cmd);
            }
            return self.run_values(&pipeline).await;
        }
        let mut out = Vec::with_capacity(commands.len());
        for chunk in commands.chunks(CONCURRENT) {
            let replies =
                futures_util::future::join_all(chunk.iter().map(|c| self.run(c, Ok))).await;
            for reply in replies {
                out.push(reply?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn bump_records(
        &self,
        keys: &[StoreKey],
        bump: Bump,
    ) -> Result<Vec<PurgeRecord>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let commands = keys.iter().map(|k| self.bump_command(k, bump)).collect();
        let replies = self.run_each(commands).await?;
        replies
            .into_iter()
            .map(|reply| match reply {
                Value::BulkString(bytes) => {
                    PurgeRecord::decode(&bytes).map_err(|e| StoreError::Backend(Box::new(e)))
                }
                _ => Err(crate::store::unexpected("a bump answered with no record")),
            })
            .collect()
    }

    pub(crate) async fn tag_resource(
        &self,
        tags: &[[u8; DIGEST_LEN]],
        resource: &[u8; DIGEST_LEN],
        ttl: Duration,
    ) -> Result<TagMarks, StoreError> {
        let commands = tags
            .iter()
            .map(|t| self.tag_command(t, resource, ttl))
            .collect();
        let mut marks = TagMarks::default();
        for reply in self.run_each(commands).await? {
            marks = marks.max(parse_marks(&reply)?);
        }
        Ok(marks)
    }

    pub(crate) async fn take_tag_members(
        &self,
        tag: &[u8; DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> Result<Vec<[u8; DIGEST_LEN]>, StoreError> {
        let (mut index, mut marks) = (Vec::new(), Vec::new());
        write_tag_key(self.prefix(), tag, false, &mut index);
        write_tag_key(self.prefix(), tag, true, &mut marks);
        let field = match mode {
            PurgeMode::Hard => "h",
            PurgeMode::Soft => "s",
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(TAKE_SCRIPT)
            .arg(2)
            .arg(index)
            .arg(marks)
            .arg(field)
            .arg(seq);
        let reply = self.run(&cmd, Ok).await?;
        let Value::Array(items) = reply else {
            return Err(crate::store::unexpected("taking a tag answered no members"));
        };
        // Members that are not a digest in hex (written by something else)
        // are skipped.
        Ok(items
            .iter()
            .filter_map(|item| match item {
                Value::BulkString(hex) => parse_digest(hex),
                _ => None,
            })
            .collect())
    }
}

fn parse_marks(reply: &Value) -> Result<TagMarks, StoreError> {
    let bad = || crate::store::unexpected("undecodable tag marks");
    let Value::BulkString(bytes) = reply else {
        return Err(bad());
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
    let (hard, soft) = text.split_once(' ').ok_or_else(bad)?;
    Ok(TagMarks::new(
        hard.parse().map_err(|_| bad())?,
        soft.parse().map_err(|_| bad())?,
    ))
}

fn parse_digest(hex: &[u8]) -> Option<[u8; DIGEST_LEN]> {
    if hex.len() != 2 * DIGEST_LEN {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; DIGEST_LEN];
    for (i, pair) in hex.chunks(2).enumerate() {
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_marks_parse_or_are_rejected() {
        assert_eq!(parse_digest(b"0f".repeat(16).as_slice()), Some([0x0f; 16]));
        assert_eq!(parse_digest(b"0F".repeat(16).as_slice()), None);
        assert_eq!(parse_digest(b"0f"), None);
        let marks = Value::BulkString(b"3 4".to_vec());
        assert_eq!(parse_marks(&marks).unwrap(), TagMarks::new(3, 4));
        assert!(parse_marks(&Value::BulkString(b"3".to_vec())).is_err());
        assert!(parse_marks(&Value::Nil).is_err());
    }
}

//! [`RedisStore`]: the [`Store`] over Redis.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use redis::{Client, Value};
use webcache_core::StoreError;
use webcache_core::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};
use webcache_core::store::{Store, StoreKey, Write};

use crate::backoff::Backoff;
use crate::builder::RedisStoreBuilder;
use crate::connection::Connection;
use crate::error::{Error, is_outage, store_error};
use crate::key::{redis_key, write_hex, write_index_key, write_key};
use crate::near::NearStats;
use crate::near::tracking::Tracking;

/// The longest time-to-live sent to Redis: about a hundred years. Longer
/// ones are cut (a store may evict early, never serve late), which keeps
/// `PX` far from the overflow Redis rejects.
const MAX_TTL_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

/// A [`Store`] on Redis (a single server, or a Redis Cluster with the
/// `cluster` feature), shared by every instance of a service that points
/// at it. Cheap to clone; clones share the connection.
///
/// - **Keys** are `<prefix>{<resource>}` for a resource's metadata and
///   `<prefix>{<resource>}:<variant>` for each stored representation, in
///   lower-case hex; the prefix is `webcache:` unless
///   [set](RedisStoreBuilder::prefix). The `{…}` hash tag keeps all keys of
///   one resource in one cluster slot.
/// - **Expiry** is Redis's own: every write is `SET key value PX ttl`.
///   Nothing sweeps.
/// - **Round trips**: [`get_many`](Store::get_many) is one `MGET`,
///   [`put_many`](Store::put_many) one pipeline of `SET … PX`,
///   [`delete_many`](Store::delete_many) one `UNLINK`. A cache hit is one
///   `MGET` of the resource's metadata, the selected representation and
///   the purge records (see [`webcache_core::purge`]).
///   On a cluster, writes that span several resources are one pipeline per
///   resource.
/// - **Connection**: made on first use, not by the constructors, so a
///   store can be built before Redis is up (or outside any runtime); it
///   lives on the Tokio runtime of its first operation. One multiplexed
///   connection carries every concurrent operation, and is remade by
///   itself when it breaks.
/// - **Faults** are [`StoreError`]s, never panics: the cache logs them,
///   counts them and serves from the application. While Redis is
///   unreachable, operations fail at once for a short, growing window
///   (50 ms up to 1 s by default, see [`RedisStoreBuilder::backoff`]) and
///   then probe again, so the cache resumes by itself when Redis is back.
///
/// ```
/// use webcache_core::{Cache, Config};
/// use webcache_redis::RedisStore;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::open("redis://127.0.0.1:6379")?;
/// let cache = Cache::new(store, Config::default());
/// # let _ = cache;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) prefix: String,
    pub(crate) connection: Connection,
    pub(crate) backoff: Backoff,
    /// The near tier, when [configured](RedisStoreBuilder::near_cache).
    pub(crate) near: Option<Tracking>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("cluster", &self.inner.connection.is_cluster())
            .field("near", &self.near_stats())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    pub(crate) fn from_inner(inner: Inner) -> RedisStore {
        RedisStore {
            inner: Arc::new(inner),
        }
    }

    /// A store on the Redis server at `url` (`redis://[user:password@]host[:port][/db]`
    /// or `redis+unix:///path`), with the default settings. Fails only when
    /// `url` cannot be parsed: nothing is connected yet.
    ///
    /// ```
    /// let store = webcache_redis::RedisStore::open("redis://127.0.0.1:6379/0")?;
    /// # Ok::<(), webcache_redis::Error>(())
    /// ```
    pub fn open(url: &str) -> Result<RedisStore, Error> {
        let client = Client::open(url).map_err(Error::Url)?;
        Ok(RedisStore::new(client))
    }

    /// A store on the server `client` points at, with the default settings.
    ///
    /// ```
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::new(client);
    /// # Ok::<(), redis::RedisError>(())
    /// ```
    pub fn new(client: Client) -> RedisStore {
        RedisStoreBuilder::single(client).finish()
    }

    /// A builder for a store on the server `client` points at, to set the
    /// key prefix, timeouts and back-off.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = webcache_redis::RedisStore::builder(client)
    ///     .prefix("shop:")
    ///     .response_timeout(Duration::from_millis(100))
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(client: Client) -> RedisStoreBuilder {
        RedisStoreBuilder::single(client)
    }

    /// A store on the Redis Cluster reachable through any of `nodes`
    /// (URLs as for [`open`](Self::open)), with the default settings. Fails
    /// only when a URL cannot be parsed or `nodes` is empty.
    ///
    /// ```
    /// let store = webcache_redis::RedisStore::open_cluster([
    ///     "redis://10.0.0.1:6379",
    ///     "redis://10.0.0.2:6379",
    /// ])?;
    /// # Ok::<(), webcache_redis::Error>(())
    /// ```
    #[cfg(feature = "cluster")]
    pub fn open_cluster<I>(nodes: I) -> Result<RedisStore, Error>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let nodes: Vec<String> = nodes.into_iter().map(|n| n.as_ref().to_owned()).collect();
        if nodes.is_empty() {
            return Err(Error::NoClusterNodes);
        }
        let client = redis::cluster::ClusterClientBuilder::new(nodes.iter().map(String::as_str))
            // A few quick retries on redirections and lost nodes, well
            // within the response timeout that bounds the whole operation.
            .retries(3)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .build()
            .map_err(Error::Url)?;
        Ok(RedisStore::cluster(client))
    }

    /// A store on the Redis Cluster `client` points at, with the default
    /// settings.
    ///
    /// ```
    /// let client = redis::cluster::ClusterClient::new(vec!["redis://127.0.0.1:7000"])?;
    /// let store = webcache_redis::RedisStore::cluster(client);
    /// # Ok::<(), redis::RedisError>(())
    /// ```
    #[cfg(feature = "cluster")]
    pub fn cluster(client: redis::cluster::ClusterClient) -> RedisStore {
        RedisStoreBuilder::cluster(client).finish()
    }

    /// A builder for a store on the Redis Cluster `client` points at.
    ///
    /// ```
    /// let client = redis::cluster::ClusterClient::new(vec!["redis://127.0.0.1:7000"])?;
    /// let store = webcache_redis::RedisStore::cluster_builder(client)
    ///     .prefix("shop:")
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "cluster")]
    pub fn cluster_builder(client: redis::cluster::ClusterClient) -> RedisStoreBuilder {
        RedisStoreBuilder::cluster(client)
    }

    /// The key prefix.
    ///
    /// ```
    /// let store = webcache_redis::RedisStore::open("redis://127.0.0.1/")?;
    /// assert_eq!(store.prefix(), "webcache:");
    /// # Ok::<(), webcache_redis::Error>(())
    /// ```
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// True for a store on a Redis Cluster.
    ///
    /// ```
    /// let store = webcache_redis::RedisStore::open("redis://127.0.0.1/")?;
    /// assert!(!store.is_cluster());
    /// # Ok::<(), webcache_redis::Error>(())
    /// ```
    pub fn is_cluster(&self) -> bool {
        self.inner.connection.is_cluster()
    }

    /// The Redis key under which `key` is stored, to look at it with
    /// `redis-cli` (`PTTL`, `MEMORY USAGE`, …).
    ///
    /// ```
    /// use webcache_core::StoreKey;
    ///
    /// let store = webcache_redis::RedisStore::open("redis://127.0.0.1/")?;
    /// let key = store.redis_key(&StoreKey::metadata([0xab; 16]));
    /// assert_eq!(key, "webcache:{abababababababababababababababab}");
    /// # Ok::<(), webcache_redis::Error>(())
    /// ```
    pub fn redis_key(&self, key: &StoreKey) -> String {
        // The prefix is a `String` and the rest is ASCII.
        String::from_utf8_lossy(&redis_key(&self.inner.prefix, key)).into_owned()
    }

    /// The near tier's state and counters; `None` when the store has no
    /// near tier (see [`RedisStoreBuilder::near_cache`]).
    ///
    /// ```
    /// use webcache_redis::{NearState, RedisStore};
    ///
    /// let client = redis::Client::open("redis://127.0.0.1/")?;
    /// let store = RedisStore::builder(client).near_cache(16 << 20).build()?;
    /// // Off until the first read has made the tracking connection.
    /// assert_eq!(store.near_stats().map(|s| s.state), Some(NearState::Off));
    /// assert!(RedisStore::open("redis://127.0.0.1/")?.near_stats().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn near_stats(&self) -> Option<NearStats> {
        self.inner.near.as_ref().map(Tracking::stats)
    }

    /// Sends `PING`: `Ok` when Redis answers. For readiness checks and
    /// start-up logs; the cache itself never needs it.
    ///
    /// ```no_run
    /// # async fn check() {
    /// let store = webcache_redis::RedisStore::open("redis://127.0.0.1/").unwrap();
    /// if let Err(e) = store.ping().await {
    ///     eprintln!("Redis is not reachable yet ({e}); serving without the cache");
    /// }
    /// # }
    /// ```
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(&redis::cmd("PING"), |_| Ok(())).await
    }

    fn keys_command(&self, name: &str, keys: &[StoreKey]) -> redis::Cmd {
        let mut cmd = redis::cmd(name);
        let mut buf = Vec::with_capacity(self.inner.prefix.len() + 72);
        for key in keys {
            buf.clear();
            write_key(&self.inner.prefix, key, &mut buf);
            cmd.arg(&buf[..]);
        }
        cmd
    }

    /// Runs one command through the back-off, and turns its reply into `T`.
    pub(crate) async fn run<T>(
        &self,
        cmd: &redis::Cmd,
        reply: impl FnOnce(Value) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.fail_fast()?;
        let result = self.inner.connection.query(cmd).await;
        self.record(&result);
        reply(result.map_err(store_error)?)
    }

    /// Runs a pipeline through the back-off and returns its replies.
    pub(crate) async fn run_values(
        &self,
        pipeline: &redis::Pipeline,
    ) -> Result<Vec<Value>, StoreError> {
        self.fail_fast()?;
        let result = self.inner.connection.pipeline_values(pipeline).await;
        self.record(&result);
        result.map_err(store_error)
    }

    /// Sends a pipeline of writes. A `WRONGTYPE` error can only come from
    /// a variant index that something else overwrote (every other command
    /// replaces its key whatever it held): Redis ran the rest of the
    /// pipeline, so the values are written; the bad indexes are unlinked,
    /// for the next write to recreate.
    async fn run_store_pipeline(
        &self,
        pipeline: &redis::Pipeline,
        writes: &[Write],
    ) -> Result<(), StoreError> {
        self.fail_fast()?;
        let result = self.inner.connection.pipeline(pipeline).await;
        self.record(&result);
        match result {
            Err(e) if only_wrong_type(&e) => {
                let mut unlink = redis::cmd("UNLINK");
                for write in writes.iter().filter(|w| !w.key.is_metadata()) {
                    let mut index = Vec::new();
                    write_index_key(&self.inner.prefix, write.key.resource(), &mut index);
                    unlink.arg(index);
                }
                self.run(&unlink, |_| Ok(())).await
            }
            result => result.map_err(store_error),
        }
    }

    fn fail_fast(&self) -> Result<(), StoreError> {
        self.inner.backoff.check().map_err(|remaining| {
            StoreError::Unavailable(
                format!(
                    "Redis unreachable; next attempt in {} ms",
                    remaining.as_millis()
                )
                .into(),
            )
        })
    }

    fn record<T>(&self, result: &redis::RedisResult<T>) {
        match result {
            Ok(_) => self.inner.backoff.succeeded(),
            Err(e) if is_outage(e) => {
                self.inner.backoff.failed();
                // Redis unreachable or late: the invalidation channel may
                // be too; stop serving near hits until it is proven.
                if let Some(near) = &self.inner.near {
                    near.broken(near.tier.session());
                }
            }
            // Redis answered, with an error: it is up.
            Err(_) => self.inner.backoff.succeeded(),
        }
    }

    /// One `MGET` on the shared connection.
    async fn get_redis(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        let cmd = self.keys_command("MGET", keys);
        self.run(&cmd, |reply| mget_values(reply, keys.len())).await
    }

    /// The near tier's values for `keys`, and one `MGET` on the tracking
    /// connection for those it lacks, inserted unless invalidated while in
    /// flight. With the tier off, [`get_redis`](Self::get_redis).
    async fn get_near(
        &self,
        near: &Tracking,
        keys: &[StoreKey],
    ) -> Result<Vec<Option<Bytes>>, StoreError> {
        near.start();
        let redis_keys: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| redis_key(&self.inner.prefix, k))
            .collect();
        let lookup = near.tier.lookup(&redis_keys);
        let counters = &near.tier.counters;
        if lookup.is_complete() {
            counters.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(lookup.found.into_iter().map(Option::flatten).collect());
        }
        counters.misses.fetch_add(1, Ordering::Relaxed);
        let Some(mut connection) = near.connection(lookup.session) else {
            return self.get_redis(keys).await;
        };
        let mut cmd = redis::cmd("MGET");
        let mut missing = 0;
        for (key, found) in redis_keys.iter().zip(&lookup.found) {
            if found.is_none() {
                cmd.arg(&key[..]);
                missing += 1;
            }
        }
        self.fail_fast()?;
        let result = cmd.query_async::<Value>(&mut connection).await;
        self.record(&result);
        let values = match result {
            Ok(reply) => mget_values(reply, missing)?,
            Err(e) => {
                near.broken(lookup.session);
                return Err(store_error(e));
            }
        };
        near.tier.insert(&lookup, &redis_keys, &values);
        let mut read = values.into_iter();
        Ok(lookup
            .found
            .into_iter()
            .map(|found| found.unwrap_or_else(|| read.next().flatten()))
            .collect())
    }

    /// The writes of [`put_many`](Store::put_many), on Redis.
    async fn put_redis(&self, writes: &[Write]) -> Result<(), StoreError> {
        let mut buf = Vec::with_capacity(self.inner.prefix.len() + 72);
        if !self.inner.connection.is_cluster() {
            let mut pipeline = redis::pipe();
            for write in writes {
                self.set_or_unlink(&mut pipeline, write, &mut buf);
            }
            return self.run_store_pipeline(&pipeline, writes).await;
        }
        let mut groups: Vec<([u8; webcache_core::key::DIGEST_LEN], redis::Pipeline)> = Vec::new();
        for write in writes {
            let resource = *write.key.resource();
            let index = match groups.iter().position(|(r, _)| *r == resource) {
                Some(i) => i,
                None => {
                    groups.push((resource, redis::pipe()));
                    groups.len() - 1
                }
            };
            self.set_or_unlink(&mut groups[index].1, write, &mut buf);
        }
        for (_, pipeline) in &groups {
            self.run_store_pipeline(pipeline, writes).await?;
        }
        Ok(())
    }

    /// Drops `keys` from the near tier. Called before a write or delete of
    /// them is sent, so that no read started later inserts the old value,
    /// and again once it is answered, so that a read that was in flight
    /// meanwhile cannot leave the old value for this instance's next read
    /// (Redis's push would remove it, but only after its trip).
    pub(crate) fn invalidate_near<'k>(&self, keys: impl IntoIterator<Item = &'k StoreKey>) {
        if let Some(near) = &self.inner.near {
            let mut buf = Vec::with_capacity(self.inner.prefix.len() + 72);
            for key in keys {
                buf.clear();
                write_key(&self.inner.prefix, key, &mut buf);
                near.tier.invalidate(&buf);
            }
        }
    }

    fn set_or_unlink(&self, pipeline: &mut redis::Pipeline, write: &Write, buf: &mut Vec<u8>) {
        buf.clear();
        write_key(&self.inner.prefix, &write.key, buf);
        match ttl_millis(write.ttl) {
            // Already expired: replacing the value means removing it.
            0 => pipeline.cmd("UNLINK").arg(&buf[..]).ignore(),
            ms => pipeline
                .cmd("SET")
                .arg(&buf[..])
                .arg(&write.value[..])
                .arg("PX")
                .arg(ms)
                .ignore(),
        };
        if let (Some(variant), ms @ 1..) = (write.key.variant(), ttl_millis(write.ttl)) {
            self.index_variant(pipeline, write.key.resource(), variant, ms, buf);
        }
    }

    /// Adds `variant` to its resource's variant index, which then lives as
    /// long as the newest representation written. (An older representation
    /// that outlives the index is only space held until its own TTL: it is
    /// reachable only through the metadata, which a resource delete always
    /// removes.)
    fn index_variant(
        &self,
        pipeline: &mut redis::Pipeline,
        resource: &[u8],
        variant: &[u8],
        ms: u64,
        buf: &mut Vec<u8>,
    ) {
        buf.clear();
        write_index_key(&self.inner.prefix, resource, buf);
        let mut member = Vec::with_capacity(2 * variant.len());
        write_hex(&mut member, variant);
        pipeline.cmd("SADD").arg(&buf[..]).arg(member).ignore();
        pipeline.cmd("PEXPIRE").arg(&buf[..]).arg(ms).ignore();
    }
}

/// True when every error of a pipeline (or the one error of a command) is
/// `WRONGTYPE`.
fn only_wrong_type(error: &redis::RedisError) -> bool {
    if error.code() == Some("WRONGTYPE") {
        return true;
    }
    match error.clone().into_server_errors() {
        Some(errors) => !errors.is_empty() && errors.iter().all(|(_, e)| e.code() == "WRONGTYPE"),
        None => false,
    }
}

/// A time-to-live in whole milliseconds, rounded down (never kept longer
/// than asked) and capped at [`MAX_TTL_MS`].
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis())
        .unwrap_or(u64::MAX)
        .min(MAX_TTL_MS)
}

/// The values of an `MGET` reply, zero-copy: each value takes the reply's
/// buffer.
fn mget_values(reply: Value, expected: usize) -> Result<Vec<Option<Bytes>>, StoreError> {
    let Value::Array(items) = reply else {
        return Err(unexpected("MGET did not answer with an array"));
    };
    if items.len() != expected {
        return Err(unexpected("MGET answered with the wrong number of values"));
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::BulkString(bytes) => Ok(Some(Bytes::from(bytes))),
            Value::Nil => Ok(None),
            _ => Err(unexpected(
                "MGET answered with a value that is not a string",
            )),
        })
        .collect()
}

pub(crate) fn unexpected(what: &'static str) -> StoreError {
    StoreError::Backend(
        redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, what)).into(),
    )
}

impl Store for RedisStore {
    /// One `MGET`. On a cluster, keys of one resource are one `MGET` on one
    /// node; keys of several resources are split by slot by the client.
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        match &self.inner.near {
            Some(near) => self.get_near(near, keys).await,
            None => self.get_redis(keys).await,
        }
    }

    /// One pipeline of `SET key value PX ttl` (an `UNLINK` for a zero
    /// TTL). On a cluster, one pipeline per resource, since a pipeline
    /// goes to one node.
    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.invalidate_near(writes.iter().map(|w| &w.key));
        let result = self.put_redis(&writes).await;
        self.invalidate_near(writes.iter().map(|w| &w.key));
        result
    }

    /// One `UNLINK` (Redis frees the values in the background). On a
    /// cluster the client splits it by slot.
    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.invalidate_near(keys);
        let cmd = self.keys_command("UNLINK", keys);
        let result = self.run(&cmd, |_| Ok(())).await;
        self.invalidate_near(keys);
        result
    }

    /// One `EVAL` on the resource's slot: a script that unlinks the
    /// metadata, the variant index and every representation the index
    /// names, atomically. No scan.
    async fn delete_resource(
        &self,
        resource: &[u8; webcache_core::key::DIGEST_LEN],
    ) -> Result<(), StoreError> {
        let mut index = Vec::new();
        write_index_key(&self.inner.prefix, resource, &mut index);
        let mut metadata = Vec::new();
        write_key(
            &self.inner.prefix,
            &StoreKey::metadata(*resource),
            &mut metadata,
        );
        if let Some(near) = &self.inner.near {
            near.tier.invalidate_resource(&metadata);
        }
        // A representation's key is the index key without its final `v`,
        // then the variant's hex.
        let representation_prefix = &index[..index.len() - 1];
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(DELETE_RESOURCE_SCRIPT)
            .arg(2)
            .arg(&metadata[..])
            .arg(&index[..])
            .arg(representation_prefix);
        let result = self.run(&cmd, |_| Ok(())).await;
        if let Some(near) = &self.inner.near {
            near.tier.invalidate_resource(&metadata);
        }
        result
    }

    /// One `EVAL` per record, on the record's slot (see the keys in [`RedisStore`]):
    /// a pipeline on one server, concurrent requests on a cluster.
    async fn bump(&self, keys: &[StoreKey], bump: Bump) -> Result<Vec<PurgeRecord>, StoreError> {
        self.invalidate_near(keys);
        let result = self.bump_records(keys, bump).await;
        self.invalidate_near(keys);
        result
    }

    /// One `EVAL` per tag, on the tag's slot.
    async fn tag(
        &self,
        tags: &[[u8; webcache_core::key::DIGEST_LEN]],
        resource: &[u8; webcache_core::key::DIGEST_LEN],
        ttl: Duration,
    ) -> Result<TagMarks, StoreError> {
        self.tag_resource(tags, resource, ttl).await
    }

    /// One `EVAL` on the tag's slot.
    async fn take_tag(
        &self,
        tag: &[u8; webcache_core::key::DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> Result<Vec<[u8; webcache_core::key::DIGEST_LEN]>, StoreError> {
        self.take_tag_members(tag, seq, mode).await
    }
}

/// Unlinks `KEYS[1]` (metadata), `KEYS[2]` (the variant index) and
/// `ARGV[1] .. member` for every member of the index that is a variant
/// digest in hex, so that nothing else in the set can name a key outside
/// the resource. An index that is not a set (written by something else)
/// is just unlinked. Every key shares the resource's hash tag: one slot.
const DELETE_RESOURCE_SCRIPT: &str = r#"
local members = redis.pcall('SMEMBERS', KEYS[2])
if type(members) == 'table' and members.err == nil then
  for _, member in ipairs(members) do
    if string.len(member) == 32 and string.match(member, '^[0-9a-f]+$') then
      redis.call('UNLINK', ARGV[1] .. member)
    end
  end
end
redis.call('UNLINK', KEYS[1], KEYS[2])
return 0
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_down_to_milliseconds_and_are_capped() {
        assert_eq!(ttl_millis(Duration::from_micros(999)), 0);
        assert_eq!(ttl_millis(Duration::from_micros(1500)), 1);
        assert_eq!(ttl_millis(Duration::from_secs(60)), 60_000);
        assert_eq!(ttl_millis(Duration::MAX), MAX_TTL_MS);
    }

    #[test]
    fn an_mget_reply_becomes_values_in_key_order() {
        let reply = Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::Nil,
            Value::BulkString(Vec::new()),
        ]);
        assert_eq!(
            mget_values(reply, 3).expect("valid reply"),
            vec![Some(Bytes::from_static(b"a")), None, Some(Bytes::new())]
        );
    }

    #[test]
    fn a_malformed_mget_reply_is_a_backend_error() {
        for (reply, n) in [
            (Value::Okay, 1),
            (Value::Array(vec![Value::Nil]), 2),
            (Value::Array(vec![Value::Int(1)]), 1),
        ] {
            assert!(matches!(mget_values(reply, n), Err(StoreError::Backend(_))));
        }
    }
}

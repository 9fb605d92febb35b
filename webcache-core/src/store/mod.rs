//! The storage interface backends implement: a handful of async operations
//! over opaque keys and bytes, with a time-to-live hint per write.
//!
//! Backends know nothing of HTTP. The cache writes two kinds of value: the
//! [`Metadata`](crate::key::Metadata) of a resource and its stored
//! representations ([`StoredResponse`]), both in the versioned encoding of
//! [`entry`]. Both kinds of key of one resource share
//! [`StoreKey::resource`], so a backend can keep them together (a Redis hash
//! tag, for instance) and fetch them in one round trip with
//! [`Store::get_many`].
//!
//! A minimal backend:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use std::time::Duration;
//! use bytes::Bytes;
//! use webcache_core::StoreError;
//! use webcache_core::store::{Store, StoreKey, Write};
//!
//! #[derive(Default)]
//! struct MapStore(Mutex<HashMap<StoreKey, Bytes>>);
//!
//! impl Store for MapStore {
//!     async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
//!         let map = self.0.lock().unwrap();
//!         Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
//!     }
//!     async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
//!         let mut map = self.0.lock().unwrap();
//!         for w in writes {
//!             map.insert(w.key, w.value); // a real store honours w.ttl
//!         }
//!         Ok(())
//!     }
//!     async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
//!         let mut map = self.0.lock().unwrap();
//!         for k in keys {
//!             map.remove(k);
//!         }
//!         Ok(())
//!     }
//! }
//! # let _ = Duration::from_secs(1);
//! ```

pub mod entry;
#[cfg(feature = "conformance")]
pub mod purge_suite;
#[cfg(feature = "conformance")]
pub mod suite;

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use entry::StoredResponse;

use crate::error::StoreError;
use crate::key::DIGEST_LEN;
use crate::purge::{Bump, PurgeMode, PurgeRecord, TagMarks};

/// The key of one stored value: a resource digest, and for a representation
/// its variant digest. Four kinds: a resource's metadata, one of its
/// representations, its purge record, and a cache's global purge record
/// (see [`crate::purge`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct StoreKey {
    resource: [u8; DIGEST_LEN],
    variant: Option<[u8; DIGEST_LEN]>,
    kind: KeyKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum KeyKind {
    Metadata,
    Representation,
    Purge,
    Global,
}

impl StoreKey {
    /// The key of a resource's metadata.
    pub fn metadata(resource: [u8; DIGEST_LEN]) -> StoreKey {
        StoreKey {
            resource,
            variant: None,
            kind: KeyKind::Metadata,
        }
    }

    /// The key of one representation of a resource.
    pub fn representation(resource: [u8; DIGEST_LEN], variant: [u8; DIGEST_LEN]) -> StoreKey {
        StoreKey {
            resource,
            variant: Some(variant),
            kind: KeyKind::Representation,
        }
    }

    /// The key of a resource's purge record (a
    /// [`PurgeRecord`]), which a store keeps
    /// beside the resource's other keys (the same Redis slot) and never
    /// expires.
    pub fn purge(resource: [u8; DIGEST_LEN]) -> StoreKey {
        StoreKey {
            resource,
            variant: None,
            kind: KeyKind::Purge,
        }
    }

    /// The key of a cache's global purge record, named by `namespace`
    /// (a digest of the master salt: caches with different master salts
    /// sharing a store flush separately). Never expires.
    pub fn global(namespace: [u8; DIGEST_LEN]) -> StoreKey {
        StoreKey {
            resource: namespace,
            variant: None,
            kind: KeyKind::Global,
        }
    }

    /// True for the key of a purge record ([`purge`](Self::purge) or
    /// [`global`](Self::global)): a value only [`Store::bump`] writes.
    pub fn is_purge_record(&self) -> bool {
        matches!(self.kind, KeyKind::Purge | KeyKind::Global)
    }

    /// True for a [`global`](Self::global) key.
    pub fn is_global(&self) -> bool {
        self.kind == KeyKind::Global
    }

    /// The resource digest, shared by the metadata and every representation
    /// of the resource.
    pub fn resource(&self) -> &[u8; DIGEST_LEN] {
        &self.resource
    }

    /// The variant digest; `None` for metadata and purge records.
    pub fn variant(&self) -> Option<&[u8; DIGEST_LEN]> {
        self.variant.as_ref()
    }

    /// True for a metadata key.
    pub fn is_metadata(&self) -> bool {
        self.kind == KeyKind::Metadata
    }

    /// A printable form: `<resource hex>` for metadata,
    /// `<resource hex>:<variant hex>` for a representation,
    /// `<resource hex>:p` for a purge record, `<namespace hex>:g` for a
    /// global one.
    pub fn to_hex(&self) -> String {
        let mut s = hex(&self.resource);
        match (self.kind, &self.variant) {
            (KeyKind::Representation, Some(v)) => {
                s.push(':');
                s.push_str(&hex(v));
            }
            (KeyKind::Purge, _) => s.push_str(":p"),
            (KeyKind::Global, _) => s.push_str(":g"),
            _ => {}
        }
        s
    }

    /// A compact binary form: one kind byte (`m`, `r`, `p` or `g`), the
    /// resource digest, then the variant digest for a representation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 2 * DIGEST_LEN);
        out.push(match self.kind {
            KeyKind::Metadata => b'm',
            KeyKind::Representation => b'r',
            KeyKind::Purge => b'p',
            KeyKind::Global => b'g',
        });
        out.extend_from_slice(&self.resource);
        if let Some(v) = &self.variant {
            out.extend_from_slice(v);
        }
        out
    }
}

/// Hashes one word: the first eight bytes of each digest, mixed with the
/// kind. The digests are SHA-256 output, uniform already, so eight bytes
/// spread keys as well as all of them would, at a fraction of a keyed
/// hasher's work on every lookup; equal keys hash equally (the word is a
/// function of their fields), and keys whose words collide only share a
/// bucket.
impl Hash for StoreKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let word = |d: &[u8; DIGEST_LEN]| {
            let [a, b, c, d, e, f, g, h, ..] = *d;
            u64::from_le_bytes([a, b, c, d, e, f, g, h])
        };
        let variant = self.variant.as_ref().map_or(0, word).rotate_left(29);
        state.write_u64(word(&self.resource) ^ variant ^ self.kind as u64);
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({})", self.to_hex())
    }
}

/// Lower-case hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// One write: a value and how long the store should keep it.
///
/// Built with [`Write::new`]; more fields may be added (the type is
/// `#[non_exhaustive]`), so backends read the fields and never build one
/// with a struct literal.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Write {
    /// Where.
    pub key: StoreKey,
    /// What: an encoded [`StoredResponse`] or metadata.
    pub value: Bytes,
    /// How long to keep it. The cache computes it from the response's
    /// freshness plus the time it may still serve or revalidate it stale; a
    /// store may evict earlier, never serve later.
    pub ttl: Duration,
}

impl Write {
    /// A write of `value` at `key`, to be kept for `ttl`.
    pub fn new(key: StoreKey, value: Bytes, ttl: Duration) -> Write {
        Write { key, value, ttl }
    }
}

/// An async key-value store for the cache.
///
/// Implement the three `*_many` operations; the single-key forms have
/// defaults. Each operation should be one round trip where the backend
/// allows. Errors are never shown to clients: the cache logs them and
/// fails open, and bounds every call with
/// [`Config::store_timeout`](crate::Config::store_timeout).
pub trait Store: Send + Sync + 'static {
    /// The values at `keys`, in order; `None` where absent or expired.
    fn get_many(
        &self,
        keys: &[StoreKey],
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>, StoreError>> + Send;

    /// Performs every write, replacing existing values.
    fn put_many(&self, writes: Vec<Write>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes `keys`; absent keys are not an error.
    fn delete_many(&self, keys: &[StoreKey])
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// True when every future of [`get_many`](Self::get_many) is ready at
    /// its first poll: an in-process store that never waits. The cache
    /// then answers hits without a future of its own
    /// ([`Cache::serve_now`](crate::Cache::serve_now)). A read that is
    /// pending anyway is dropped and made again on the usual path, so a
    /// store that may wait must keep the default, `false`.
    fn reads_without_waiting(&self) -> bool {
        false
    }

    /// A count that moves after every write that may change what a read
    /// of `resource`'s keys returns: a put or delete of its metadata or
    /// representations, a bump of its purge record or of a global record,
    /// a tag purge, a flush. It must move once the write is visible to
    /// readers, never before. Expiry and eviction need not move it (the
    /// cache uses it only to serve fresh responses). While it stands still
    /// the cache may answer hits from what its last lookup read, without
    /// reading again.
    ///
    /// `None` (the default): the store cannot tell (a store shared with
    /// other processes), and every hit reads it.
    fn change_count(&self, resource: &[u8; DIGEST_LEN]) -> Option<u64> {
        let _ = resource;
        None
    }

    /// The value at `key`.
    fn get(&self, key: StoreKey) -> impl Future<Output = Result<Option<Bytes>, StoreError>> + Send {
        async move {
            let mut values = self.get_many(&[key]).await?;
            Ok(values.pop().flatten())
        }
    }

    /// Writes one value.
    fn put(
        &self,
        key: StoreKey,
        value: Bytes,
        ttl: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.put_many(vec![Write::new(key, value, ttl)])
    }

    /// Removes one key.
    fn delete(&self, key: StoreKey) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move { self.delete_many(&[key]).await }
    }

    /// Removes a resource: its metadata and every representation of it
    /// stored under `resource` ([`StoreKey::resource`]).
    ///
    /// The default removes the metadata only. That is enough for
    /// correctness, since representations are reachable only through the
    /// salt in their resource's metadata, but they then hold space until
    /// their TTL; a backend that can find a resource's representations
    /// (a prefix, an index, a hash tag) should remove them too, without
    /// scanning the whole store.
    fn delete_resource(
        &self,
        resource: &[u8; DIGEST_LEN],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let key = StoreKey::metadata(*resource);
        async move { self.delete_many(&[key]).await }
    }

    /// Applies `bump` to the purge record at each of `keys`
    /// ([`StoreKey::purge`] or [`StoreKey::global`]), **atomically** per
    /// record (concurrent bumps from any number of instances all count),
    /// creating absent records from [`PurgeRecord::default`]; returns the
    /// records after, in order. Records never expire: they must outlive
    /// every response stored before them. No scan: one atomic update per
    /// key, pipelined where the backend allows.
    ///
    /// The default fails with [`StoreError::Unsupported`]: a store that
    /// cannot update a value atomically cannot purge.
    fn bump(
        &self,
        keys: &[StoreKey],
        bump: Bump,
    ) -> impl Future<Output = Result<Vec<PurgeRecord>, StoreError>> + Send {
        let _ = (keys, bump);
        async { Err(StoreError::Unsupported("purge records")) }
    }

    /// Adds `resource` to the index of each tag of `tags` (tag digests,
    /// see [`crate::key::tag_digest`]), keeping each index at least `ttl`,
    /// and returns the highest marks (see [`take_tag`](Self::take_tag))
    /// among the tags, read atomically with the addition.
    ///
    /// The default fails with [`StoreError::Unsupported`]; the cache then
    /// does not store responses that carry tags.
    fn tag(
        &self,
        tags: &[[u8; DIGEST_LEN]],
        resource: &[u8; DIGEST_LEN],
        ttl: Duration,
    ) -> impl Future<Output = Result<TagMarks, StoreError>> + Send {
        let _ = (tags, resource, ttl);
        async { Err(StoreError::Unsupported("tags")) }
    }

    /// Marks the tag `tag` purged (`mode`) with the sequence number `seq`
    /// (its mark for `mode` becomes the higher of the two), and removes and
    /// returns its index's members, atomically: a resource added after is
    /// told the mark by [`tag`](Self::tag). Cost proportional to the
    /// members; no scan.
    ///
    /// The default fails with [`StoreError::Unsupported`].
    fn take_tag(
        &self,
        tag: &[u8; DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> impl Future<Output = Result<Vec<[u8; DIGEST_LEN]>, StoreError>> + Send {
        let _ = (tag, seq, mode);
        async { Err(StoreError::Unsupported("tags")) }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Store`], implemented for every `Store`, so that
/// a backend can be chosen at run time (see [`BoxStore`]).
pub trait DynStore: Send + Sync + 'static {
    /// See [`Store::get_many`].
    fn dyn_get_many<'a>(
        &'a self,
        keys: &'a [StoreKey],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, StoreError>>;
    /// See [`Store::reads_without_waiting`].
    fn dyn_reads_without_waiting(&self) -> bool;
    /// See [`Store::change_count`].
    fn dyn_change_count(&self, resource: &[u8; DIGEST_LEN]) -> Option<u64>;
    /// See [`Store::put_many`].
    fn dyn_put_many(&self, writes: Vec<Write>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// See [`Store::delete_many`].
    fn dyn_delete_many<'a>(&'a self, keys: &'a [StoreKey])
    -> BoxFuture<'a, Result<(), StoreError>>;
    /// See [`Store::delete_resource`].
    fn dyn_delete_resource<'a>(
        &'a self,
        resource: &'a [u8; DIGEST_LEN],
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// See [`Store::bump`].
    fn dyn_bump<'a>(
        &'a self,
        keys: &'a [StoreKey],
        bump: Bump,
    ) -> BoxFuture<'a, Result<Vec<PurgeRecord>, StoreError>>;
    /// See [`Store::tag`].
    fn dyn_tag<'a>(
        &'a self,
        tags: &'a [[u8; DIGEST_LEN]],
        resource: &'a [u8; DIGEST_LEN],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<TagMarks, StoreError>>;
    /// See [`Store::take_tag`].
    fn dyn_take_tag<'a>(
        &'a self,
        tag: &'a [u8; DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> BoxFuture<'a, Result<Vec<[u8; DIGEST_LEN]>, StoreError>>;
}

impl<T: Store> DynStore for T {
    fn dyn_get_many<'a>(
        &'a self,
        keys: &'a [StoreKey],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, StoreError>> {
        Box::pin(self.get_many(keys))
    }
    fn dyn_reads_without_waiting(&self) -> bool {
        self.reads_without_waiting()
    }
    fn dyn_change_count(&self, resource: &[u8; DIGEST_LEN]) -> Option<u64> {
        self.change_count(resource)
    }
    fn dyn_put_many(&self, writes: Vec<Write>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.put_many(writes))
    }
    fn dyn_delete_many<'a>(
        &'a self,
        keys: &'a [StoreKey],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.delete_many(keys))
    }
    fn dyn_delete_resource<'a>(
        &'a self,
        resource: &'a [u8; DIGEST_LEN],
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.delete_resource(resource))
    }
    fn dyn_bump<'a>(
        &'a self,
        keys: &'a [StoreKey],
        bump: Bump,
    ) -> BoxFuture<'a, Result<Vec<PurgeRecord>, StoreError>> {
        Box::pin(self.bump(keys, bump))
    }
    fn dyn_tag<'a>(
        &'a self,
        tags: &'a [[u8; DIGEST_LEN]],
        resource: &'a [u8; DIGEST_LEN],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<TagMarks, StoreError>> {
        Box::pin(self.tag(tags, resource, ttl))
    }
    fn dyn_take_tag<'a>(
        &'a self,
        tag: &'a [u8; DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> BoxFuture<'a, Result<Vec<[u8; DIGEST_LEN]>, StoreError>> {
        Box::pin(self.take_tag(tag, seq, mode))
    }
}

/// A store chosen at run time.
///
/// ```
/// # use webcache_core::store::{BoxStore, Store};
/// fn pick<S: Store>(store: S) -> BoxStore {
///     BoxStore::new(store)
/// }
/// ```
#[derive(Clone)]
pub struct BoxStore(Arc<dyn DynStore>);

impl BoxStore {
    /// Boxes `store`.
    pub fn new<S: Store>(store: S) -> BoxStore {
        BoxStore(Arc::new(store))
    }
}

impl fmt::Debug for BoxStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoxStore")
    }
}

impl Store for BoxStore {
    async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
        self.0.dyn_get_many(keys).await
    }
    fn reads_without_waiting(&self) -> bool {
        self.0.dyn_reads_without_waiting()
    }
    fn change_count(&self, resource: &[u8; DIGEST_LEN]) -> Option<u64> {
        self.0.dyn_change_count(resource)
    }
    async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.0.dyn_put_many(writes).await
    }
    async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
        self.0.dyn_delete_many(keys).await
    }
    async fn delete_resource(&self, resource: &[u8; DIGEST_LEN]) -> Result<(), StoreError> {
        self.0.dyn_delete_resource(resource).await
    }
    async fn bump(&self, keys: &[StoreKey], bump: Bump) -> Result<Vec<PurgeRecord>, StoreError> {
        self.0.dyn_bump(keys, bump).await
    }
    async fn tag(
        &self,
        tags: &[[u8; DIGEST_LEN]],
        resource: &[u8; DIGEST_LEN],
        ttl: Duration,
    ) -> Result<TagMarks, StoreError> {
        self.0.dyn_tag(tags, resource, ttl).await
    }
    async fn take_tag(
        &self,
        tag: &[u8; DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> Result<Vec<[u8; DIGEST_LEN]>, StoreError> {
        self.0.dyn_take_tag(tag, seq, mode).await
    }
}

impl<S: Store> Store for Arc<S> {
    fn get_many(
        &self,
        keys: &[StoreKey],
    ) -> impl Future<Output = Result<Vec<Option<Bytes>>, StoreError>> + Send {
        (**self).get_many(keys)
    }
    fn reads_without_waiting(&self) -> bool {
        (**self).reads_without_waiting()
    }
    fn change_count(&self, resource: &[u8; DIGEST_LEN]) -> Option<u64> {
        (**self).change_count(resource)
    }
    fn put_many(&self, writes: Vec<Write>) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put_many(writes)
    }
    fn delete_many(
        &self,
        keys: &[StoreKey],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete_many(keys)
    }
    fn delete_resource(
        &self,
        resource: &[u8; DIGEST_LEN],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete_resource(resource)
    }
    fn bump(
        &self,
        keys: &[StoreKey],
        bump: Bump,
    ) -> impl Future<Output = Result<Vec<PurgeRecord>, StoreError>> + Send {
        (**self).bump(keys, bump)
    }
    fn tag(
        &self,
        tags: &[[u8; DIGEST_LEN]],
        resource: &[u8; DIGEST_LEN],
        ttl: Duration,
    ) -> impl Future<Output = Result<TagMarks, StoreError>> + Send {
        (**self).tag(tags, resource, ttl)
    }
    fn take_tag(
        &self,
        tag: &[u8; DIGEST_LEN],
        seq: u64,
        mode: PurgeMode,
    ) -> impl Future<Output = Result<Vec<[u8; DIGEST_LEN]>, StoreError>> + Send {
        (**self).take_tag(tag, seq, mode)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn the_kinds_of_key_of_one_resource_hash_apart() {
        let state = std::collections::hash_map::RandomState::new();
        let r = [7u8; DIGEST_LEN];
        let keys = [
            StoreKey::metadata(r),
            StoreKey::representation(r, [0; DIGEST_LEN]),
            StoreKey::representation(r, [1; DIGEST_LEN]),
            StoreKey::purge(r),
            StoreKey::global(r),
        ];
        let hashes: HashSet<u64> = keys.iter().map(|k| state.hash_one(k)).collect();
        assert_eq!(hashes.len(), keys.len());
        assert_eq!(
            state.hash_one(keys[2]),
            state.hash_one(StoreKey::representation(r, [1; 16]))
        );
        // A map tells them apart.
        let set: HashSet<StoreKey> = keys.into_iter().collect();
        assert_eq!(set.len(), 5);
    }
}

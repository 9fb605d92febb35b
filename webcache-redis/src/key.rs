//! How a [`StoreKey`] becomes a Redis key.
//!
//! ```text
//! metadata        <prefix>{<resource hex>}
//! representation  <prefix>{<resource hex>}:<variant hex>
//! variant index   <prefix>{<resource hex>}:v   (a set of <variant hex>)
//! purge record    <prefix>{<resource hex>}:p   (no expiry)
//! global record   <prefix>{<namespace hex>}:g  (no expiry)
//! tag index       <prefix>tag:{<tag hex>}      (a set of <resource hex>)
//! tag marks       <prefix>tag:{<tag hex>}:m    (no expiry)
//! ```
//!
//! The variant index names the representations stored under a resource,
//! so that removing a resource removes them too without a scan.
//!
//! The braces are a Redis Cluster hash tag: only `<resource hex>` is
//! hashed, so the metadata and every representation of one resource live
//! in one slot, and the lookup's `MGET` of both is one command on one node.
//! That is also why a prefix may not contain braces.

use webcache_core::StoreKey;

/// The default key prefix.
///
/// ```
/// let store = webcache_redis::RedisStore::open("redis://127.0.0.1/").unwrap();
/// assert_eq!(store.prefix(), webcache_redis::DEFAULT_PREFIX);
/// ```
pub const DEFAULT_PREFIX: &str = "webcache:";

const HEX: &[u8; 16] = b"0123456789abcdef";

/// True when `prefix` keeps the hash tag intact.
pub(crate) fn is_valid_prefix(prefix: &str) -> bool {
    !prefix.contains(['{', '}'])
}

/// Appends the Redis key of `key` under `prefix` to `out`.
pub(crate) fn write_key(prefix: &str, key: &StoreKey, out: &mut Vec<u8>) {
    out.reserve(prefix.len() + 3 + 4 * webcache_core::key::DIGEST_LEN);
    out.extend_from_slice(prefix.as_bytes());
    out.push(b'{');
    push_hex(out, key.resource());
    out.push(b'}');
    if let Some(variant) = key.variant() {
        out.push(b':');
        push_hex(out, variant);
    } else if key.is_global() {
        out.extend_from_slice(b":g");
    } else if key.is_purge_record() {
        out.extend_from_slice(b":p");
    }
}

/// Appends the Redis key of a tag's index (`marks` false) or of its marks.
pub(crate) fn write_tag_key(prefix: &str, tag: &[u8], marks: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(b"tag:{");
    push_hex(out, tag);
    out.push(b'}');
    if marks {
        out.extend_from_slice(b":m");
    }
}

/// Appends the Redis key of the variant index of `resource` to `out`.
pub(crate) fn write_index_key(prefix: &str, resource: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(prefix.as_bytes());
    out.push(b'{');
    push_hex(out, resource);
    out.extend_from_slice(b"}:v");
}

/// Appends the lower-case hex of `bytes` to `out`.
pub(crate) fn write_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    push_hex(out, bytes);
}

/// The Redis key of `key` under `prefix`.
pub(crate) fn redis_key(prefix: &str, key: &StoreKey) -> Vec<u8> {
    let mut out = Vec::new();
    write_key(prefix, key, &mut out);
    out
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0xf)]);
    }
}

/// The part of a Redis key that Redis Cluster hashes (the first
/// non-empty `{…}`, else the whole key), as Redis defines it. The near
/// tier shards by it, so that a resource's keys share a shard.
pub(crate) fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_and_representation_keys_follow_the_documented_layout() {
        let resource = [0xab; 16];
        let meta = redis_key("webcache:", &StoreKey::metadata(resource));
        assert_eq!(meta, b"webcache:{abababababababababababababababab}");
        let rep = redis_key("app:", &StoreKey::representation(resource, [0x01; 16]));
        assert_eq!(
            rep,
            b"app:{abababababababababababababababab}:01010101010101010101010101010101"
        );
    }

    #[test]
    fn every_key_of_a_resource_hashes_to_the_same_cluster_slot() {
        let resource = [7; 16];
        let meta = redis_key(DEFAULT_PREFIX, &StoreKey::metadata(resource));
        let a = redis_key(DEFAULT_PREFIX, &StoreKey::representation(resource, [1; 16]));
        let b = redis_key(DEFAULT_PREFIX, &StoreKey::representation(resource, [2; 16]));
        assert_eq!(hash_tag(&meta), hash_tag(&a));
        assert_eq!(hash_tag(&a), hash_tag(&b));
        assert_eq!(hash_tag(&meta), b"07070707070707070707070707070707");
        let other = redis_key(DEFAULT_PREFIX, &StoreKey::metadata([8; 16]));
        assert_ne!(hash_tag(&meta), hash_tag(&other));
    }

    #[test]
    fn a_prefix_with_braces_is_invalid() {
        assert!(is_valid_prefix(DEFAULT_PREFIX));
        assert!(is_valid_prefix(""));
        assert!(is_valid_prefix("shop:v2:"));
        assert!(!is_valid_prefix("{tenant}:"));
        assert!(!is_valid_prefix("a}"));
    }
}

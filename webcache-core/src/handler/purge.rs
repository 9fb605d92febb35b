//! The purge operations on [`Cache`] (see [`crate::purge`] for the model)
//! and the fill's side of tags.

use std::time::Duration;

use super::request::Seen;
use super::{Cache, Counters, Policy, Retrieval, Shared};
use crate::error::{PurgeError, StoreError};
use crate::headers::unix_millis;
use crate::key::{DIGEST_LEN, tag_digest};
use crate::purge::{Bump, FillVerdict, PurgeMode, fill_verdict, is_valid_tag};
use crate::store::{Store, StoreKey, StoredResponse};
use crate::telemetry::{PurgeKind, StoreOp};

impl<S: Store, M: Policy> Cache<S, M> {
    /// Purges every stored representation of the absolute URI `uri`,
    /// keyed as [`Retrieval::primary_key_for_uri`] keys it: `Hard`, the
    /// next request is a miss (and the representations are removed);
    /// `Soft`, they are stale (see [`PurgeMode::Soft`]). Takes effect at
    /// once on every instance sharing the store, and on fills already in
    /// flight. One atomic store update.
    ///
    /// ```
    /// # use webcache_core::{Cache, PurgeError, PurgeMode};
    /// # async fn purge<S: webcache_core::Store>(cache: Cache<S>) {
    /// cache.purge_url("https://example.com/products/42", PurgeMode::Soft).await.unwrap();
    /// assert!(matches!(
    ///     cache.purge_url("/products/42", PurgeMode::Hard).await,
    ///     Err(PurgeError::NotAbsolute(_))
    /// ));
    /// # }
    /// ```
    pub async fn purge_url(&self, uri: &str, mode: PurgeMode) -> Result<(), PurgeError> {
        let s = &*self.shared;
        let key = s
            .mixins
            .retrieval()
            .primary_key_for_uri(uri, &s.config)
            .ok_or_else(|| PurgeError::NotAbsolute(uri.to_owned()))?;
        let resource = *key.digest();
        s.bump(&[StoreKey::purge(resource)], Bump::of(mode, s.now_ms()))
            .await?;
        if mode == PurgeMode::Hard {
            s.hints.remove(&resource);
            // Only space: the bump already made them unreachable.
            let _ = s
                .store_call(StoreOp::Delete, s.store.delete_resource(&resource))
                .await;
        }
        s.purged(PurgeKind::Url, mode, key.uri());
        Ok(())
    }

    /// [`purge_url`](Self::purge_url) of the resource the request `parts`
    /// targets, keyed as [`Retrieval::primary_key`] keys a request to it
    /// (scheme, Host, path and query): what a `PURGE` request at the edge
    /// names. Returns the effective URI purged.
    pub async fn purge_target(
        &self,
        parts: &http::request::Parts,
        mode: PurgeMode,
    ) -> Result<String, PurgeError> {
        let key = self
            .shared
            .mixins
            .retrieval()
            .primary_key(parts, &self.shared.config);
        self.purge_url(key.uri(), mode).await?;
        Ok(key.uri().to_owned())
    }

    /// Purges every stored response that carries the tag `tag` (see
    /// [`Config::tag_fields`](crate::Config::tag_fields)); returns how many
    /// resources the tag named. Cost: three store calls, the last one
    /// updating one record per tagged resource (pipelined); no scan.
    ///
    /// ```
    /// # use webcache_core::{Cache, PurgeError, PurgeMode};
    /// # async fn purge<S: webcache_core::Store>(cache: Cache<S>) {
    /// let purged = cache.purge_tag("product-42", PurgeMode::Hard).await.unwrap();
    /// # let _ = purged;
    /// assert!(matches!(
    ///     cache.purge_tag("two tags", PurgeMode::Hard).await,
    ///     Err(PurgeError::InvalidTag(_))
    /// ));
    /// # }
    /// ```
    pub async fn purge_tag(&self, tag: &str, mode: PurgeMode) -> Result<usize, PurgeError> {
        if !is_valid_tag(tag) {
            return Err(PurgeError::InvalidTag(tag.to_owned()));
        }
        let s = &*self.shared;
        let digest = tag_digest(&s.config, tag);
        let global = s.bump(&[s.global_key], Bump::Tags).await?;
        let seq = global.first().map_or(0, |r| r.tags);
        let members = s
            .store_call(StoreOp::Purge, s.store.take_tag(&digest, seq, mode))
            .await?;
        if !members.is_empty() {
            let keys: Vec<StoreKey> = members.iter().map(|r| StoreKey::purge(*r)).collect();
            if let Err(error) = s.bump(&keys, Bump::of(mode, s.now_ms())).await {
                s.restore_tag(&digest, &members).await;
                return Err(error.into());
            }
        }
        s.purged(PurgeKind::Tag, mode, tag);
        Ok(members.len())
    }

    /// Purges everything this cache stored (the master salt's role):
    /// every response stored before is a miss (`Hard`) or stale (`Soft`),
    /// on every instance sharing the store, after restarts too. One atomic
    /// store update.
    ///
    /// ```
    /// # use webcache_core::{Cache, PurgeMode};
    /// # async fn flush<S: webcache_core::Store>(cache: Cache<S>) {
    /// cache.flush(PurgeMode::Hard).await.unwrap();
    /// # }
    /// ```
    pub async fn flush(&self, mode: PurgeMode) -> Result<(), PurgeError> {
        let s = &*self.shared;
        s.bump(&[s.global_key], Bump::of(mode, s.now_ms())).await?;
        s.hints_clear();
        s.purged(PurgeKind::Flush, mode, "*");
        Ok(())
    }
}

impl<S: Store, M> Shared<S, M> {
    fn now_ms(&self) -> u64 {
        unix_millis(self.clock.now())
    }

    /// [`Store::bump`] within the store timeout, counted and logged.
    async fn bump(
        &self,
        keys: &[StoreKey],
        bump: Bump,
    ) -> Result<Vec<crate::purge::PurgeRecord>, StoreError> {
        self.store_call(StoreOp::Purge, self.store.bump(keys, bump))
            .await
    }

    /// Counts and logs a purge.
    fn purged(&self, kind: PurgeKind, mode: PurgeMode, target: &str) {
        Counters::bump(&self.counters.purges);
        self.metrics.purge(kind, mode);
        tracing::debug!(target: "webcache::core", kind = kind.as_str(), mode = mode.as_str(), target, outcome = "purge");
    }

    /// Puts the members of a tag purge that failed half-way back in the
    /// tag's index, so that repeating the purge reaches them.
    async fn restore_tag(&self, digest: &[u8; DIGEST_LEN], members: &[[u8; DIGEST_LEN]]) {
        // Their entries' lifetimes are not known here: the longest.
        let ttl = Duration::from_secs(100 * 365 * 24 * 3600);
        for member in members {
            let restored = self
                .store_call(StoreOp::Purge, self.store.tag(&[*digest], member, ttl))
                .await;
            if restored.is_err() {
                tracing::warn!(target: "webcache::core", "tag purge failed half-way; some tagged resources were not purged");
                return;
            }
        }
    }

    fn hints_clear(&self) {
        // Hints only save round trips; after a flush they name nothing.
        self.hints.clear();
    }

    /// The purge records of `resource` read now, for a response stored
    /// without a lookup before it (a POST's response stored for GET).
    async fn read_seen(&self, resource: &[u8; DIGEST_LEN]) -> Option<Seen> {
        let keys = [StoreKey::purge(*resource), self.global_key];
        let mut values = self.get_many(&keys).await?;
        let global = values.pop().flatten();
        Some(Seen::read(values.pop().flatten(), global))
    }

    /// Prepares `stored` for a write of `resource` kept for `ttl`: records
    /// the generations its lookup saw (`looked_up`: one was made), and indexes its tags, checking that
    /// none was purged since the lookup. False when it must not be stored.
    pub(crate) async fn prepare_fill(
        &self,
        resource: &[u8; DIGEST_LEN],
        (seen, looked_up): (Option<Seen>, bool),
        stored: &mut StoredResponse,
        ttl: Duration,
    ) -> bool {
        // Generations of zero are always safe to record: any purge ever
        // made makes them differ, so at worst the response is purged too
        // often. They stand in for a lookup that failed; a response that
        // had no lookup (a POST's) reads the records now.
        let seen = match seen {
            Some(seen) => seen,
            None if !looked_up => self.read_seen(resource).await.unwrap_or_default(),
            None => Seen::default(),
        };
        if seen.corrupt {
            return false;
        }
        stored.generations = seen.generations;
        stored.purged = crate::purge::Verdict::Valid;
        if stored.tags.is_empty() {
            return true;
        }
        let digests: Vec<[u8; DIGEST_LEN]> = stored
            .tags
            .iter()
            .map(|t| tag_digest(&self.config, t))
            .collect();
        let Ok(marks) = self
            .store_call(StoreOp::Put, self.store.tag(&digests, resource, ttl))
            .await
        else {
            // Unindexed, a tag purge would miss it.
            tracing::debug!(target: "webcache::core", uri = stored.uri, "tags not indexed: not stored");
            return false;
        };
        match fill_verdict(marks, seen.tags) {
            FillVerdict::Store => true,
            FillVerdict::Discard => false,
            // Stale from now: a soft purge of its own resource.
            FillVerdict::Stale => self
                .bump(
                    &[StoreKey::purge(*resource)],
                    Bump::Soft {
                        at_ms: self.now_ms(),
                    },
                )
                .await
                .is_ok(),
        }
    }
}

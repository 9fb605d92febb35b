//! Purging: a resource by URL, every resource carrying a tag, or
//! everything this cache stored; each hard (gone) or soft (stale). The
//! rules are here, pure; [`Cache::purge_url`](crate::Cache::purge_url),
//! [`Cache::purge_tag`](crate::Cache::purge_tag) and
//! [`Cache::flush`](crate::Cache::flush) do the store calls.
//!
//! # The model: generations
//!
//! Purges never touch stored responses. They increment counters in
//! **purge records** kept in the store beside them:
//!
//! - one record per purged resource ([`StoreKey::purge`]): a hard and a
//!   soft generation, and when the last soft purge happened;
//! - one global record per cache ([`StoreKey::global`], named by the
//!   master salt): the flush generations, and the sequence number of tag
//!   purges.
//!
//! A lookup reads both records in the same [`Store::get_many`] as the
//! metadata and the representation, and a stored response carries the
//! [`Generations`] its request saw at its own lookup (before it went
//! forward). [`verdict`] compares them: a hard generation that moved makes
//! the response a miss; a soft one makes it stale (see [`Verdict::Stale`]).
//! A 304 or a new 200 records the current generations, so the response is
//! fresh again. A fill that started before a purge recorded the
//! generations before it, so it is dead on arrival: no race with
//! responses in flight, and every instance sharing the store sees a purge
//! at its next lookup, after restarts too.
//!
//! # Tags
//!
//! A response names its tags in [`Config::tag_fields`](crate::Config::tag_fields)
//! (`Surrogate-Key`, space-separated, and `Cache-Tag`, comma-separated, by
//! default; see [`response_tags`]). Storing it adds its resource to each
//! tag's index ([`Store::tag`]); a tag purge takes the index's members
//! ([`Store::take_tag`]) and bumps each member's record. A fill whose
//! response carries a tag purged after its lookup learns it from the
//! tag's mark ([`fill_verdict`]).
//!
//! # Cost
//!
//! - A hit reads two small records more, in the same round trip (one
//!   `MGET` on Redis; on a Redis Cluster the global record's slot is a
//!   second request sent in parallel by the client). Tags cost a hit
//!   nothing.
//! - A URL purge or a flush is one atomic increment.
//! - A tag purge is one increment, one take of the tag's index, and one
//!   increment per tagged resource (pipelined): proportional to the
//!   tagged resources, never a scan of the keyspace.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use webcache_core::purge::{Bump, Generations, PurgeRecord, Verdict, verdict};
//!
//! let before = PurgeRecord::default();
//! let recorded = Generations::current(&before, &before);
//! let at = 1_700_000_000_000;
//! let after = before.apply(Bump::Soft { at_ms: at });
//! assert_eq!(verdict(&recorded, &before, &before), Verdict::Valid);
//! assert_eq!(
//!     verdict(&recorded, &after, &before),
//!     Verdict::Stale { since: Some(UNIX_EPOCH + Duration::from_millis(at)) }
//! );
//! assert_eq!(verdict(&recorded, &after.apply(Bump::Hard), &before), Verdict::Gone);
//! ```
//!
//! [`StoreKey::purge`]: crate::store::StoreKey::purge
//! [`StoreKey::global`]: crate::store::StoreKey::global
//! [`Store::get_many`]: crate::store::Store::get_many
//! [`Store::tag`]: crate::store::Store::tag
//! [`Store::take_tag`]: crate::store::Store::take_tag

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::HeaderMap;
use http::header::HeaderName;

use crate::error::DecodeError;
use crate::headers::from_unix_millis;

/// How a purge treats what it reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PurgeMode {
    /// Gone: the next request is a miss.
    Hard,
    /// Stale: still usable where a stale response may be used
    /// (`max-stale`, `stale-while-revalidate`, `stale-if-error`, an
    /// unreachable upstream), and validated with the origin otherwise.
    Soft,
}

impl PurgeMode {
    /// `hard` or `soft`, the `mode` label of `webcache_purges_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeMode::Hard => "hard",
            PurgeMode::Soft => "soft",
        }
    }
}

/// The counters of a purge record: a resource's ([`StoreKey::purge`]) or
/// the cache's global one ([`StoreKey::global`]). Only purges change them,
/// through [`Store::bump`], which applies a [`Bump`] atomically.
///
/// Encoded as four decimal integers separated by single spaces,
/// `<hard> <soft> <soft_at> <tags>`, so that a store can apply a bump in a
/// server-side script (Redis) without knowing anything else.
///
/// ```
/// use webcache_core::purge::{Bump, PurgeRecord};
///
/// let r = PurgeRecord::default().apply(Bump::Hard).apply(Bump::Tags);
/// assert_eq!(r.encode(), "1 0 0 1");
/// assert_eq!(PurgeRecord::decode(b"1 0 0 1").unwrap(), r);
/// ```
///
/// [`StoreKey::purge`]: crate::store::StoreKey::purge
/// [`StoreKey::global`]: crate::store::StoreKey::global
/// [`Store::bump`]: crate::store::Store::bump
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeRecord {
    /// Hard purges (of the resource; flushes for the global record).
    pub hard: u64,
    /// Soft purges.
    pub soft: u64,
    /// When the last soft purge happened, in milliseconds since the Unix
    /// epoch (0 for never).
    pub soft_at: u64,
    /// Tag purges (the global record's sequence; unused in a resource's).
    pub tags: u64,
}

/// What a purge does to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bump {
    /// Increments `hard`.
    Hard,
    /// Increments `soft` and sets `soft_at` to `at_ms` (milliseconds since
    /// the Unix epoch).
    Soft {
        /// When the purge happened.
        at_ms: u64,
    },
    /// Increments `tags`.
    Tags,
}

impl Bump {
    /// The bump of a purge in `mode` at `at_ms`.
    pub fn of(mode: PurgeMode, at_ms: u64) -> Bump {
        match mode {
            PurgeMode::Hard => Bump::Hard,
            PurgeMode::Soft => Bump::Soft { at_ms },
        }
    }
}

impl PurgeRecord {
    /// The record after `bump`.
    pub fn apply(self, bump: Bump) -> PurgeRecord {
        let mut r = self;
        match bump {
            Bump::Hard => r.hard = r.hard.saturating_add(1),
            Bump::Soft { at_ms } => {
                r.soft = r.soft.saturating_add(1);
                r.soft_at = at_ms;
            }
            Bump::Tags => r.tags = r.tags.saturating_add(1),
        }
        r
    }

    /// The encoded form (see the type's docs).
    pub fn encode(&self) -> Bytes {
        Bytes::from(format!(
            "{} {} {} {}",
            self.hard, self.soft, self.soft_at, self.tags
        ))
    }

    /// Decodes what [`encode`](Self::encode) wrote.
    pub fn decode(bytes: &[u8]) -> Result<PurgeRecord, DecodeError> {
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid("purge record"))?;
        let mut fields = text.split(' ').map(|f| {
            // Digits only: no sign, no spaces, as `encode` writes them.
            if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DecodeError::Invalid("purge record"));
            }
            f.parse::<u64>()
                .map_err(|_| DecodeError::Invalid("purge record"))
        });
        let mut next = || fields.next().unwrap_or(Err(DecodeError::Truncated));
        let record = PurgeRecord {
            hard: next()?,
            soft: next()?,
            soft_at: next()?,
            tags: next()?,
        };
        match fields.next() {
            None => Ok(record),
            Some(_) => Err(DecodeError::Invalid("trailing bytes")),
        }
    }
}

/// The generations a stored response recorded: those of its resource's
/// record and of the global record, read by the lookup that sent its
/// request forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Generations {
    /// The resource record's `hard`.
    pub resource_hard: u64,
    /// The resource record's `soft`.
    pub resource_soft: u64,
    /// The global record's `hard` (flushes).
    pub global_hard: u64,
    /// The global record's `soft`.
    pub global_soft: u64,
}

impl Generations {
    /// The generations of the records `resource` and `global` as they are.
    pub fn current(resource: &PurgeRecord, global: &PurgeRecord) -> Generations {
        Generations {
            resource_hard: resource.hard,
            resource_soft: resource.soft,
            global_hard: global.hard,
            global_soft: global.soft,
        }
    }

    /// True before any purge: then nothing needs recording.
    pub fn is_zero(&self) -> bool {
        *self == Generations::default()
    }
}

/// What purges did to a stored response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No purge since it was fetched.
    Valid,
    /// Purged hard (or a record it depends on was lost): a miss.
    Gone,
    /// Purged soft: stale from `since` (its freshness lifetime is cut to
    /// its age then), or from the start (`None`: a lifetime of zero) when
    /// more than one soft purge happened since it was fetched, so that
    /// repeating a soft purge only ever shortens its life.
    Stale {
        /// When it became stale.
        since: Option<SystemTime>,
    },
}

/// The verdict on a stored response that `recorded` these generations,
/// given its resource's record and the global record now (absent records
/// are [`PurgeRecord::default`]). A generation that differs either way
/// counts: one lower than recorded means a record was lost, and the safe
/// answer is then a miss (hard) or stale (soft).
pub fn verdict(recorded: &Generations, resource: &PurgeRecord, global: &PurgeRecord) -> Verdict {
    if recorded.resource_hard != resource.hard || recorded.global_hard != global.hard {
        return Verdict::Gone;
    }
    let since = |recorded_soft: u64, record: &PurgeRecord| {
        (recorded_soft != record.soft)
            .then(|| (recorded_soft.checked_add(1) == Some(record.soft)).then_some(record.soft_at))
    };
    match (
        since(recorded.resource_soft, resource),
        since(recorded.global_soft, global),
    ) {
        (None, None) => Verdict::Valid,
        (Some(a), None) | (None, Some(a)) => Verdict::Stale {
            since: a.map(from_unix_millis),
        },
        (Some(a), Some(b)) => Verdict::Stale {
            since: a.zip(b).map(|(a, b)| from_unix_millis(a.min(b))),
        },
    }
}

/// The freshness lifetime of a response soft-purged `since` (see
/// [`Verdict::Stale`]): `lifetime` cut to the age it had then — its age
/// `age` now minus the time since — and to zero when `since` is `None`.
/// Never longer than `lifetime`.
pub fn purged_lifetime(
    lifetime: Duration,
    age: Duration,
    now: SystemTime,
    since: Option<SystemTime>,
) -> Duration {
    let Some(since) = since else {
        return Duration::ZERO;
    };
    let elapsed = now.duration_since(since).unwrap_or(Duration::ZERO);
    lifetime.min(age.saturating_sub(elapsed))
}

/// How a tag field separates its tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagSeparator {
    /// Spaces (`Surrogate-Key: a b`, Fastly's form).
    Space,
    /// Commas, with optional spaces (`Cache-Tag: a, b`, Cloudflare's form).
    Comma,
}

/// A field that names a response's tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagField {
    /// The field.
    pub name: HeaderName,
    /// How it separates tags.
    pub separator: TagSeparator,
}

/// The default tag fields: `Surrogate-Key` (space-separated) and
/// `Cache-Tag` (comma-separated).
pub fn default_tag_fields() -> Vec<TagField> {
    vec![
        TagField {
            name: HeaderName::from_static("surrogate-key"),
            separator: TagSeparator::Space,
        },
        TagField {
            name: HeaderName::from_static("cache-tag"),
            separator: TagSeparator::Comma,
        },
    ]
}

/// The most tags read from one response; more are ignored.
pub const MAX_TAGS: usize = 64;
/// The longest tag, in bytes; longer ones are ignored.
pub const MAX_TAG_LEN: usize = 256;

/// The tags `headers` name in `fields`, in order, without duplicates (at
/// most [`MAX_TAGS`], each at most [`MAX_TAG_LEN`] bytes). Values that are
/// not UTF-8 are skipped; tags are case-sensitive.
///
/// ```
/// use http::HeaderMap;
/// use webcache_core::purge::{default_tag_fields, response_tags};
///
/// let mut h = HeaderMap::new();
/// h.insert("surrogate-key", "product-42  shop".parse().unwrap());
/// h.insert("cache-tag", "shop, Blog".parse().unwrap());
/// assert_eq!(response_tags(&h, &default_tag_fields()), ["product-42", "shop", "Blog"]);
/// ```
pub fn response_tags(headers: &HeaderMap, fields: &[TagField]) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for field in fields {
        for value in headers.get_all(&field.name) {
            let Ok(value) = value.to_str() else { continue };
            let parts: Box<dyn Iterator<Item = &str>> = match field.separator {
                TagSeparator::Space => Box::new(value.split(' ')),
                TagSeparator::Comma => Box::new(value.split(',')),
            };
            for tag in parts.map(str::trim) {
                if tags.len() >= MAX_TAGS {
                    return tags;
                }
                if is_valid_tag(tag) && !tags.iter().any(|t| t == tag) {
                    tags.push(tag.to_owned());
                }
            }
        }
    }
    tags
}

/// True for a tag that can be purged: 1 to [`MAX_TAG_LEN`] visible ASCII
/// characters, no comma, no space.
pub fn is_valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && tag.bytes().all(|b| b.is_ascii_graphic() && b != b',')
}

/// Removes the tag fields from `headers`.
pub fn strip_tags(headers: &mut HeaderMap, fields: &[TagField]) {
    for field in fields {
        headers.remove(&field.name);
    }
}

/// The marks of the tags a response carries, read when storing it: the
/// highest tag-purge sequence number among its tags' last hard and last
/// soft purges (0 for never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagMarks {
    /// The last hard purge of any of the tags.
    pub hard: u64,
    /// The last soft purge of any of the tags.
    pub soft: u64,
}

impl TagMarks {
    /// Marks with these sequence numbers.
    pub fn new(hard: u64, soft: u64) -> TagMarks {
        TagMarks { hard, soft }
    }

    /// The higher of each.
    pub fn max(self, other: TagMarks) -> TagMarks {
        TagMarks {
            hard: self.hard.max(other.hard),
            soft: self.soft.max(other.soft),
        }
    }
}

/// What to do with a response about to be stored whose tags have `marks`,
/// its lookup having seen the global tag-purge sequence at `seen`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillVerdict {
    /// No tag of it was purged since the lookup.
    Store,
    /// A tag was purged hard since: do not store it.
    Discard,
    /// A tag was purged soft since: store it stale.
    Stale,
}

/// Decides whether a fill missed a purge of one of its tags: a tag purge
/// with a sequence number above the one its lookup saw started after the
/// lookup, so the response may predate it. (A purge numbered at or below
/// started before the lookup: the response was fetched after it.)
pub fn fill_verdict(marks: TagMarks, seen: u64) -> FillVerdict {
    if marks.hard > seen {
        FillVerdict::Discard
    } else if marks.soft > seen {
        FillVerdict::Stale
    } else {
        FillVerdict::Store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn at(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn records_round_trip_and_reject_anything_else() {
        let r = PurgeRecord {
            hard: 3,
            soft: u64::MAX,
            soft_at: 1_700_000_000_000,
            tags: 0,
        };
        assert_eq!(PurgeRecord::decode(&r.encode()).unwrap(), r);
        for bad in [
            &b""[..],
            b"1 2 3",
            b"1 2 3 4 5",
            b"1  2 3 4",
            b"-1 2 3 4",
            b"+1 2 3 4",
            b"1 2 3 x",
            b"1 2 3 99999999999999999999",
            b"\xff",
        ] {
            assert!(PurgeRecord::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_hard_generation_that_moved_either_way_is_gone() {
        let zero = PurgeRecord::default();
        let rec = Generations::current(&zero, &zero);
        assert_eq!(verdict(&rec, &zero, &zero), Verdict::Valid);
        let hard = zero.apply(Bump::Hard);
        assert_eq!(verdict(&rec, &hard, &zero), Verdict::Gone);
        assert_eq!(verdict(&rec, &zero, &hard), Verdict::Gone);
        // A lost record (lower than recorded) is not trusted.
        let rec = Generations::current(&hard, &zero);
        assert_eq!(verdict(&rec, &zero, &zero), Verdict::Gone);
    }

    #[test]
    fn one_soft_purge_is_stale_from_its_time_more_are_stale_from_the_start() {
        let zero = PurgeRecord::default();
        let rec = Generations::current(&zero, &zero);
        let once = zero.apply(Bump::Soft { at_ms: 5_000 });
        assert_eq!(
            verdict(&rec, &once, &zero),
            Verdict::Stale {
                since: Some(at(5_000))
            }
        );
        let twice = once.apply(Bump::Soft { at_ms: 9_000 });
        assert_eq!(verdict(&rec, &twice, &zero), Verdict::Stale { since: None });
        // Resource and global soft purges: the earlier counts.
        let global = zero.apply(Bump::Soft { at_ms: 2_000 });
        assert_eq!(
            verdict(&rec, &once, &global),
            Verdict::Stale {
                since: Some(at(2_000))
            }
        );
        assert_eq!(
            verdict(&rec, &twice, &global),
            Verdict::Stale { since: None }
        );
    }

    #[test]
    fn purged_lifetime_only_ever_shortens() {
        let now = at(100_000);
        let lifetime = Duration::from_secs(300);
        let age = Duration::from_secs(40);
        // Purged 10 s ago, at age 30 s: the lifetime becomes 30 s.
        assert_eq!(
            purged_lifetime(lifetime, age, now, Some(at(90_000))),
            Duration::from_secs(30)
        );
        // Purged before it arrived: zero.
        assert_eq!(
            purged_lifetime(lifetime, age, now, Some(at(0))),
            Duration::ZERO
        );
        // A purge time in the future (clock skew) never lengthens it.
        assert_eq!(
            purged_lifetime(Duration::from_secs(5), age, now, Some(at(200_000))),
            Duration::from_secs(5)
        );
        assert_eq!(purged_lifetime(lifetime, age, now, None), Duration::ZERO);
        // Repeating a soft purge: a later purge time gives a longer cut
        // lifetime, but `verdict` then answers `since: None`.
        let later = purged_lifetime(lifetime, age, now, Some(at(95_000)));
        let repeated = PurgeRecord::default()
            .apply(Bump::Soft { at_ms: 90_000 })
            .apply(Bump::Soft { at_ms: 95_000 });
        let rec = Generations::default();
        assert!(later > Duration::from_secs(30));
        assert_eq!(
            verdict(&rec, &repeated, &PurgeRecord::default()),
            Verdict::Stale { since: None }
        );
    }

    #[test]
    fn tags_are_read_from_both_default_fields() {
        let mut h = HeaderMap::new();
        h.append("surrogate-key", "a b".parse().unwrap());
        h.append("surrogate-key", " c  a".parse().unwrap());
        h.append("cache-tag", "d,e , ,f".parse().unwrap());
        h.append("cache-tag", http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(
            response_tags(&h, &default_tag_fields()),
            ["a", "b", "c", "d", "e", "f"]
        );
        strip_tags(&mut h, &default_tag_fields());
        assert!(h.is_empty());
    }

    #[test]
    fn tags_are_bounded_in_number_and_length() {
        let mut h = HeaderMap::new();
        let many: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        h.insert("surrogate-key", many.join(" ").parse().unwrap());
        assert_eq!(response_tags(&h, &default_tag_fields()).len(), MAX_TAGS);
        let long = "x".repeat(MAX_TAG_LEN + 1);
        h.insert("surrogate-key", long.parse().unwrap());
        assert!(response_tags(&h, &default_tag_fields()).is_empty());
    }

    #[test]
    fn a_fill_that_missed_a_tag_purge_is_discarded_or_stale() {
        assert_eq!(fill_verdict(TagMarks::new(0, 0), 0), FillVerdict::Store);
        assert_eq!(fill_verdict(TagMarks::new(5, 7), 7), FillVerdict::Store);
        assert_eq!(fill_verdict(TagMarks::new(8, 0), 7), FillVerdict::Discard);
        assert_eq!(fill_verdict(TagMarks::new(8, 9), 7), FillVerdict::Discard);
        assert_eq!(fill_verdict(TagMarks::new(1, 8), 7), FillVerdict::Stale);
    }
}

//! Entity tags (RFC 9110 §8.8.3) and the entity-tag lists of If-Match and
//! If-None-Match (RFC 9110 §13.1.1, §13.1.2).
//!
//! ```
//! use webcache_core::headers::EntityTag;
//!
//! let strong = EntityTag::parse(b"\"v1\"").unwrap();
//! let weak = EntityTag::parse(b"W/\"v1\"").unwrap();
//! assert!(strong.weak_eq(&weak));
//! assert!(!strong.strong_eq(&weak));
//! assert_eq!(weak.to_string(), "W/\"v1\"");
//! ```

use std::fmt;

use http::HeaderValue;
use http::header::{HeaderMap, HeaderName};

use super::list::{split_members, trim_ows};

/// An entity tag: an opaque validator, strong or weak (RFC 9110 §8.8.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EntityTag {
    weak: bool,
    opaque: Vec<u8>,
}

/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 §8.8.3).
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7E).contains(&b) || b >= 0x80
}

impl EntityTag {
    /// A strong entity tag; `None` if `opaque` holds a character that is not
    /// allowed inside an entity tag (a double quote or a control character).
    pub fn strong(opaque: impl Into<Vec<u8>>) -> Option<Self> {
        Self::new(false, opaque.into())
    }

    /// A weak entity tag (`W/"..."`); see [`EntityTag::strong`].
    pub fn weak(opaque: impl Into<Vec<u8>>) -> Option<Self> {
        Self::new(true, opaque.into())
    }

    fn new(weak: bool, opaque: Vec<u8>) -> Option<Self> {
        opaque
            .iter()
            .all(|&b| is_etagc(b))
            .then_some(EntityTag { weak, opaque })
    }

    /// Parses `entity-tag = [ weak ] opaque-tag`. The weakness indicator is
    /// case-sensitive (`W/`), as RFC 9110 §8.8.3 defines it.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let value = trim_ows(value);
        let (weak, rest) = match value.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let inner = rest.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        Self::new(weak, inner.to_vec())
    }

    /// Reads the ETag field of a response; `None` when absent or invalid.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get(http::header::ETAG)
            .and_then(|v| Self::parse(v.as_bytes()))
    }

    /// True for a weak tag.
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The opaque tag, without quotes.
    pub fn opaque(&self) -> &[u8] {
        &self.opaque
    }

    /// Strong comparison: both strong and equal (RFC 9110 §8.8.3.2).
    pub fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison: opaque tags equal, weakness ignored (RFC 9110 §8.8.3.2).
    pub fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }

    /// The field value.
    pub fn to_header_value(&self) -> HeaderValue {
        let mut bytes = Vec::with_capacity(self.opaque.len() + 4);
        if self.weak {
            bytes.extend_from_slice(b"W/");
        }
        bytes.push(b'"');
        bytes.extend_from_slice(&self.opaque);
        bytes.push(b'"');
        HeaderValue::from_bytes(&bytes).expect("etagc bytes form a valid header value")
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.weak {
            f.write_str("W/")?;
        }
        write!(f, "\"{}\"", String::from_utf8_lossy(&self.opaque))
    }
}

/// The value of If-Match or If-None-Match: `"*" / #entity-tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityTagCondition {
    /// `*`: any current representation.
    Any,
    /// A list of entity tags. Members that are not valid entity tags are
    /// dropped, so the list may be empty.
    Tags(Vec<EntityTag>),
}

impl EntityTagCondition {
    /// Parses every line of the field `name`; `None` when absent.
    ///
    /// A `*` member makes the condition [`EntityTagCondition::Any`] only
    /// when it is the sole member; mixed with tags the value is invalid
    /// (RFC 9110 §13.1.1) and only the valid tags are kept.
    pub fn from_headers(headers: &HeaderMap, name: &HeaderName) -> Option<Self> {
        let mut lines = headers.get_all(name).iter().peekable();
        lines.peek()?;
        let members: Vec<&[u8]> = lines.flat_map(|v| split_members(v.as_bytes())).collect();
        if members.len() == 1 && members[0] == b"*" {
            return Some(EntityTagCondition::Any);
        }
        Some(EntityTagCondition::Tags(
            members.into_iter().filter_map(EntityTag::parse).collect(),
        ))
    }

    /// True when the selected representation, whose entity tag is
    /// `current`, matches under weak comparison (If-None-Match). The caller
    /// asks only when a current representation exists, so `*` matches.
    pub fn matches_weak(&self, current: Option<&EntityTag>) -> bool {
        match self {
            EntityTagCondition::Any => true,
            EntityTagCondition::Tags(tags) => {
                current.is_some_and(|c| tags.iter().any(|t| t.weak_eq(c)))
            }
        }
    }

    /// True when the selected representation, whose entity tag is
    /// `current`, matches under strong comparison (If-Match). As with
    /// [`matches_weak`](Self::matches_weak), `*` matches.
    pub fn matches_strong(&self, current: Option<&EntityTag>) -> bool {
        match self {
            EntityTagCondition::Any => true,
            EntityTagCondition::Tags(tags) => {
                current.is_some_and(|c| tags.iter().any(|t| t.strong_eq(c)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{IF_MATCH, IF_NONE_MATCH};

    fn tag(s: &str) -> EntityTag {
        EntityTag::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn rfc9110_8_8_3_parses_strong_weak_and_empty() {
        assert!(!tag("\"xyzzy\"").is_weak());
        assert!(tag("W/\"xyzzy\"").is_weak());
        assert_eq!(tag("\"\"").opaque(), b"");
        assert_eq!(tag("\"a,b\"").opaque(), b"a,b");
    }

    #[test]
    fn rfc9110_8_8_3_rejects_invalid_tags() {
        assert_eq!(EntityTag::parse(b"xyzzy"), None);
        assert_eq!(EntityTag::parse(b"\"xy\"zy\""), None);
        assert_eq!(EntityTag::parse(b"w/\"x\""), None);
        assert_eq!(EntityTag::parse(b"\"x"), None);
        assert_eq!(EntityTag::parse(b"\"a b\""), None);
    }

    #[test]
    fn rfc9110_8_8_3_2_comparison_table() {
        // Table 3 of RFC 9110 §8.8.3.2.
        assert!(!tag("W/\"1\"").strong_eq(&tag("W/\"1\"")));
        assert!(tag("W/\"1\"").weak_eq(&tag("W/\"1\"")));
        assert!(!tag("W/\"1\"").strong_eq(&tag("W/\"2\"")));
        assert!(!tag("W/\"1\"").weak_eq(&tag("W/\"2\"")));
        assert!(!tag("W/\"1\"").strong_eq(&tag("\"1\"")));
        assert!(tag("W/\"1\"").weak_eq(&tag("\"1\"")));
        assert!(tag("\"1\"").strong_eq(&tag("\"1\"")));
        assert!(tag("\"1\"").weak_eq(&tag("\"1\"")));
    }

    #[test]
    fn rfc9110_13_1_2_lists_span_lines_and_star() {
        let mut h = HeaderMap::new();
        h.append(IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        h.append(IF_NONE_MATCH, HeaderValue::from_static("\"c\""));
        let cond = EntityTagCondition::from_headers(&h, &IF_NONE_MATCH).unwrap();
        assert!(cond.matches_weak(Some(&tag("\"b\""))));
        assert!(cond.matches_weak(Some(&tag("W/\"c\""))));
        assert!(!cond.matches_strong(Some(&tag("\"b\""))));
        assert!(cond.matches_strong(Some(&tag("\"a\""))));
        assert!(!cond.matches_weak(None));

        let mut h = HeaderMap::new();
        h.insert(IF_MATCH, HeaderValue::from_static("*"));
        let cond = EntityTagCondition::from_headers(&h, &IF_MATCH).unwrap();
        assert_eq!(cond, EntityTagCondition::Any);
        assert!(cond.matches_strong(Some(&tag("W/\"x\""))));
        assert!(cond.matches_strong(None));
        assert_eq!(
            EntityTagCondition::from_headers(&HeaderMap::new(), &IF_MATCH),
            None
        );
    }
}

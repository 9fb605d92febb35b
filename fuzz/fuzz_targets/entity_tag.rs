//! Entity tags and their lists (RFC 9110 §8.8.3, §13.1.1, §13.1.2): any
//! bytes parse without panicking; a parsed tag renders to a value that
//! parses back to the same tag; a list's strong match implies its weak
//! match; `*` matches any current representation.
#![no_main]

use http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use libfuzzer_sys::fuzz_target;
use webcache_core::headers::{EntityTag, EntityTagCondition};
use webcache_fuzz::{field_lines, split_at_byte};

fuzz_target!(|data: &[u8]| {
    let (tag, list) = split_at_byte(data, 0);
    let current = EntityTag::parse(tag);
    if let Some(tag) = &current {
        let rendered = tag.to_header_value();
        assert_eq!(EntityTag::parse(rendered.as_bytes()).as_ref(), Some(tag));
        assert!(tag.weak_eq(tag));
        assert_eq!(tag.strong_eq(tag), !tag.is_weak());
        let headers = field_lines(&ETAG, rendered.as_bytes());
        assert_eq!(EntityTag::from_headers(&headers).as_ref(), Some(tag));
    }
    for name in [IF_MATCH, IF_NONE_MATCH] {
        let headers = field_lines(&name, list);
        let Some(condition) = EntityTagCondition::from_headers(&headers, &name) else {
            continue;
        };
        let strong = condition.matches_strong(current.as_ref());
        let weak = condition.matches_weak(current.as_ref());
        assert!(!strong || weak, "a strong match is also a weak match");
        if condition == EntityTagCondition::Any {
            assert!(strong && weak);
        }
    }
});

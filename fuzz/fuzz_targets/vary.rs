//! Vary and the secondary key (RFC 9111 §4.1): any Vary lines give `*` or
//! a list of distinct field names; the normalised value of any request
//! field is stable (normalising a normalised value changes nothing), so
//! two requests match exactly when their normalised values are equal. (Not
//! asserted for values with a double quote: an unbalanced quoted string in
//! one line takes in the commas of the next once the lines are combined,
//! which only makes two such requests miss each other.)
#![no_main]

use http::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use webcache_core::headers::{Vary, normalized_value};
use webcache_fuzz::header_lines;

fuzz_target!(|data: &[u8]| {
    let headers = header_lines(data);
    if let Vary::Fields(names) = Vary::from_headers(&headers) {
        for (i, name) in names.iter().enumerate() {
            assert!(!names[i + 1..].contains(name), "duplicate {name}");
        }
    }
    let names: Vec<HeaderName> = headers.keys().cloned().collect();
    for name in names {
        let Some(normalized) = normalized_value(&headers, &name) else {
            panic!("{name} is present but has no normalised value");
        };
        if normalized.contains(&b'"') {
            continue;
        }
        let Ok(value) = HeaderValue::from_bytes(&normalized) else {
            continue;
        };
        let mut again = HeaderMap::new();
        again.insert(name.clone(), value);
        assert_eq!(
            normalized_value(&again, &name).as_deref(),
            Some(&normalized[..]),
            "normalising {name} twice changed it"
        );
    }
});

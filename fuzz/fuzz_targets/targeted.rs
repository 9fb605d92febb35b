//! Targeted cache control (RFC 9213) over Structured Fields dictionaries
//! (RFC 8941 §4.2.2) and the Surrogate-Control field: any lines of
//! `CDN-Cache-Control` or `Surrogate-Control` parse without panicking; a
//! targeted field that yields directives is marked targeted; the field a
//! gateway obeys is the most specific one that yields directives, and
//! without one it is `Cache-Control`.
#![no_main]

use std::sync::LazyLock;

use http::header::CACHE_CONTROL;
use libfuzzer_sys::fuzz_target;
use webcache_core::Config;
use webcache_core::headers::CacheControl;
use webcache_core::targeted::{
    CDN_CACHE_CONTROL, SURROGATE_CONTROL, response_cache_control, surrogate_cache_control,
    targeted_cache_control,
};
use webcache_fuzz::{field_lines, split_at_byte};

static GATEWAY: LazyLock<Config> = LazyLock::new(|| {
    Config::gateway_builder()
        .build()
        .expect("the gateway defaults are valid")
});

fuzz_target!(|data: &[u8]| {
    let (cdn, rest) = split_at_byte(data, 0);
    let (surrogate, cc) = split_at_byte(rest, 0);
    let mut headers = field_lines(&CDN_CACHE_CONTROL, cdn);
    for (name, lines) in [(SURROGATE_CONTROL, surrogate), (CACHE_CONTROL, cc)] {
        for (_, value) in field_lines(&name, lines) {
            headers.append(name.clone(), value);
        }
    }

    let from_cdn = targeted_cache_control(&headers, &CDN_CACHE_CONTROL);
    if let Some(cc) = &from_cdn {
        assert!(cc.is_targeted());
        let _ = cc.to_header_value();
    }
    let from_surrogate = surrogate_cache_control(&headers, "webcache");
    if let Some(cc) = &from_surrogate {
        assert!(cc.is_targeted());
        let _ = cc.to_header_value();
    }
    assert!(targeted_cache_control(&headers, &CACHE_CONTROL).is_none());

    let obeyed = response_cache_control(&headers, &GATEWAY);
    let expected = from_cdn
        .or(from_surrogate)
        .unwrap_or_else(|| CacheControl::from_headers(&headers).unwrap_or_default());
    assert_eq!(obeyed, expected);
});

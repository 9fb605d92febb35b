//! Property tests: every parser accepts any bytes without panicking, and
//! what the crate writes it reads back unchanged.

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use proptest::prelude::*;
use webcache_core::headers::{
    CacheControl, EntityTag, EntityTagCondition, Vary, age_field, normalized_value,
    parse_delta_seconds, parse_http_date,
};
use webcache_core::invalidation::resolve;
use webcache_core::key::Metadata;
use webcache_core::partial::PartialContent;
use webcache_core::range::{ByteRange, parse_content_range};
use webcache_core::store::StoredResponse;

// ---- strategies ----------------------------------------------------------

/// Bytes a header field value may hold: HTAB, visible ASCII, SP, obs-text.
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff],
        0..64,
    )
}

/// Values assembled from the pieces the parsers care about, so that the
/// interesting paths are reached far more often than by random bytes.
fn fragments() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop::sample::select(vec![
        "max-age",
        "s-maxage",
        "no-cache",
        "private",
        "no-store",
        "max-stale",
        "min-fresh",
        "public",
        "must-understand",
        "stale-if-error",
        "stale-while-revalidate",
        "=",
        "=\"",
        "\"",
        "\\",
        ",",
        ", ",
        " ",
        "\t",
        ";",
        "*",
        "W/",
        "w/",
        "0",
        "1",
        "007",
        "3600",
        "2147483648",
        "99999999999999999999",
        "-1",
        "1.5",
        "abc",
        "x-foo",
        "GMT",
        "gmt",
        "Sun, ",
        "Sunday, ",
        "06 Nov 1994 ",
        "06-Nov-94 ",
        "Nov  6 ",
        "08:49:37",
        " 1994",
        "é",
        "\u{1F600}",
    ]);
    prop::collection::vec(piece, 0..16).prop_map(|pieces| pieces.concat().into_bytes())
}

/// Any bytes, or fragments.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![any::<Vec<u8>>(), fragments()]
}

/// A field value valid for `HeaderValue`: fragments filtered, or value bytes.
fn field_value() -> impl Strategy<Value = HeaderValue> {
    prop_oneof![value_bytes(), fragments()]
        .prop_filter_map("a valid field value", |b| HeaderValue::from_bytes(&b).ok())
}

fn header_name() -> impl Strategy<Value = HeaderName> {
    "[a-z][a-z0-9-]{0,15}".prop_map(|s| HeaderName::from_bytes(s.as_bytes()).expect("a token"))
}

/// One to four lines of `name`.
fn lines(name: HeaderName) -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(field_value(), 1..4).prop_map(move |values| {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name.clone(), v);
        }
        map
    })
}

// ---- never panic -----------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cache_control_parse_value_never_panics(bytes in input()) {
        let cc = CacheControl::parse_value(&bytes);
        // What was parsed renders, and renders to a valid field value.
        let _ = cc.to_header_value();
    }

    #[test]
    fn cache_control_from_headers_never_panics(map in lines(http::header::CACHE_CONTROL)) {
        let cc = CacheControl::from_headers(&map).expect("the field is present");
        let _ = CacheControl::from_request_headers(&map);
        let _ = (cc.max_age(), cc.no_cache(), cc.private(), cc.max_stale());
    }

    #[test]
    fn entity_tag_parse_never_panics(bytes in input()) {
        if let Some(tag) = EntityTag::parse(&bytes) {
            // A parsed tag renders back to something that parses to itself.
            let again = EntityTag::parse(tag.to_header_value().as_bytes());
            prop_assert_eq!(again, Some(tag));
        }
    }

    #[test]
    fn entity_tag_conditions_never_panic(
        inm in lines(IF_NONE_MATCH),
        current in input(),
    ) {
        let current = EntityTag::parse(&current);
        let cond = EntityTagCondition::from_headers(&inm, &IF_NONE_MATCH)
            .expect("the field is present");
        let _ = cond.matches_weak(current.as_ref());
        let _ = cond.matches_strong(current.as_ref());
        prop_assert!(EntityTagCondition::from_headers(&inm, &IF_MATCH).is_none());
    }

    #[test]
    fn parse_http_date_never_panics(bytes in input()) {
        if let Some(time) = parse_http_date(&bytes) {
            // Whatever parses is a real time that formats and parses back.
            let text = webcache_core::headers::fmt_http_date(time);
            prop_assert_eq!(parse_http_date(text.as_bytes()), Some(time));
        }
    }

    #[test]
    fn parse_delta_seconds_never_panics(bytes in input()) {
        if let Some(secs) = parse_delta_seconds(&bytes) {
            prop_assert!(secs <= 1 << 31);
            prop_assert!(bytes.iter().all(u8::is_ascii_digit));
        }
    }

    #[test]
    fn age_field_never_panics(map in lines(http::header::AGE)) {
        if let Some(age) = age_field(&map) {
            prop_assert!(age <= 1 << 31);
        }
    }

    #[test]
    fn vary_from_headers_never_panics(map in lines(http::header::VARY)) {
        match Vary::from_headers(&map) {
            Vary::Any => {}
            Vary::Fields(names) => {
                let mut unique = names.clone();
                unique.dedup();
                prop_assert_eq!(unique.len(), names.len());
            }
        }
    }

    #[test]
    fn normalized_value_never_panics(
        map in lines(HeaderName::from_static("accept-language")),
        other in lines(HeaderName::from_static("x-foo")),
    ) {
        let _ = normalized_value(&map, &http::header::ACCEPT_LANGUAGE);
        let _ = normalized_value(&other, &HeaderName::from_static("x-foo"));
    }

    /// Combining field lines does not change the normalised value (RFC 9111
    /// §4.1) — for values without quoted strings, which an unterminated
    /// quote on one line would otherwise extend over the next.
    #[test]
    fn normalized_value_is_the_same_for_lines_and_their_combination(
        values in prop::collection::vec(
            field_value().prop_filter("no quoted strings", |v| !v.as_bytes().contains(&b'"')),
            1..4,
        ),
        name in prop::sample::select(vec!["accept-language", "accept", "x-foo"]),
    ) {
        let name = HeaderName::from_static(name);
        let mut map = HeaderMap::new();
        for v in &values {
            map.append(name.clone(), v.clone());
        }
        let one = normalized_value(&map, &name).expect("the field is present");
        // The same members on one line normalise the same (RFC 9111 §4.1).
        let joined: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        let mut combined = HeaderMap::new();
        combined.insert(
            name.clone(),
            HeaderValue::from_bytes(&joined.join(&b", "[..])).expect("valid"),
        );
        prop_assert_eq!(normalized_value(&combined, &name), Some(one));
    }

    #[test]
    fn parse_content_range_never_panics(
        bytes in prop_oneof![
            input(),
            "[Bb][Yy][Tt][Ee][Ss] ?[0-9]{0,3}-?[0-9]{0,3}/?([0-9]{0,3}|\\*)"
                .prop_map(String::into_bytes),
        ],
    ) {
        if let Some(cr) = parse_content_range(&bytes) {
            prop_assert!(cr.range.first <= cr.range.last);
            prop_assert!(cr.complete_length.is_none_or(|l| l > cr.range.last));
            // What parses renders back to itself.
            let length = cr.complete_length.map_or("*".to_owned(), |l| l.to_string());
            let text = format!("bytes {}-{}/{length}", cr.range.first, cr.range.last);
            prop_assert_eq!(parse_content_range(text.as_bytes()), Some(cr));
        }
    }

    #[test]
    fn stored_response_decode_never_panics(bytes in any::<Vec<u8>>()) {
        let _ = StoredResponse::decode(Bytes::from(bytes.clone()));
        for prefix in [&b"WC\x01R"[..], b"WC\x02R"] {
            let mut prefixed = prefix.to_vec();
            prefixed.extend_from_slice(&bytes);
            let _ = StoredResponse::decode(Bytes::from(prefixed));
        }
    }

    #[test]
    fn metadata_decode_never_panics(bytes in any::<Vec<u8>>()) {
        let _ = Metadata::decode(&bytes);
        let mut prefixed = b"WC\x01M".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = Metadata::decode(&prefixed);
    }

    #[test]
    fn corrupted_entries_never_panic(
        stored in stored_response(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = stored.encode().to_vec();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = StoredResponse::decode(Bytes::from(bytes.clone()));
        let end = cut.index(bytes.len());
        prop_assert!(StoredResponse::decode(Bytes::from(bytes[..end].to_vec())).is_err()
            || end == bytes.len());
    }

    #[test]
    fn resolve_never_panics(base in any::<String>(), reference in any::<String>()) {
        let _ = resolve(&base, &reference);
    }

    #[test]
    fn resolve_keeps_the_scheme_and_authority_of_relative_references(
        path in "(/[a-z]{1,6}){0,4}/?",
        reference in "(\\.\\./|\\./|[a-z]{1,4}/){0,4}[a-z]{0,4}(\\?[a-z=]{0,6})?",
    ) {
        let base = format!("http://a.test{path}");
        let resolved = resolve(&base, &reference).expect("a relative reference resolves");
        prop_assert!(resolved.starts_with("http://a.test/"), "{}", resolved);
        prop_assert!(!resolved.contains("/./") && !resolved.contains("/../"), "{}", resolved);
    }
}

// ---- round trips -------------------------------------------------------------

fn field_names() -> impl Strategy<Value = Vec<HeaderName>> {
    prop::collection::vec(header_name(), 1..4)
}

fn delta() -> impl Strategy<Value = Duration> {
    prop_oneof![
        0u64..100_000,
        any::<u32>().prop_map(u64::from),
        any::<u64>()
    ]
    .prop_map(Duration::from_secs)
}

fn extension_value() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof!["[ -~]{0,12}", "\\PC{0,6}"])
}

fn cache_control() -> impl Strategy<Value = CacheControl> {
    let flags = prop::collection::vec(any::<bool>(), 9);
    let lists = (
        prop::option::of(prop::option::of(field_names())),
        prop::option::of(prop::option::of(field_names())),
    );
    let deltas = (
        prop::option::of(delta()),
        prop::option::of(delta()),
        prop::option::of(delta()),
        prop::option::of(delta()),
        prop::option::of(prop::option::of(delta())),
        prop::option::of(delta()),
    );
    let extensions = prop::collection::vec(("x-[a-z0-9-]{1,10}", extension_value()), 0..3);
    (flags, lists, deltas, extensions).prop_map(|(f, (private, no_cache), d, extensions)| {
        let mut cc = CacheControl::new();
        let setters: [fn(CacheControl) -> CacheControl; 9] = [
            CacheControl::with_public,
            CacheControl::with_no_store,
            CacheControl::with_no_transform,
            CacheControl::with_must_revalidate,
            CacheControl::with_proxy_revalidate,
            CacheControl::with_must_understand,
            CacheControl::with_immutable,
            CacheControl::with_only_if_cached,
            |cc| cc,
        ];
        for (on, set) in f.into_iter().zip(setters) {
            if on {
                cc = set(cc);
            }
        }
        cc = match private {
            None => cc,
            Some(None) => cc.with_private(),
            Some(Some(names)) => cc.with_private_fields(names),
        };
        cc = match no_cache {
            None => cc,
            Some(None) => cc.with_no_cache(),
            Some(Some(names)) => cc.with_no_cache_fields(names),
        };
        let (max_age, s_maxage, swr, sie, max_stale, min_fresh) = d;
        if let Some(v) = max_age {
            cc = cc.with_max_age(v);
        }
        if let Some(v) = s_maxage {
            cc = cc.with_s_maxage(v);
        }
        if let Some(v) = swr {
            cc = cc.with_stale_while_revalidate(v);
        }
        if let Some(v) = sie {
            cc = cc.with_stale_if_error(v);
        }
        if let Some(v) = max_stale {
            cc = cc.with_max_stale(v);
        }
        if let Some(v) = min_fresh {
            cc = cc.with_min_fresh(v);
        }
        for (name, value) in &extensions {
            cc = cc.with_extension(name, value.as_deref());
        }
        cc
    })
}

fn time() -> impl Strategy<Value = std::time::SystemTime> {
    (0u64..=253_402_300_799_000).prop_map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
}

fn stored_response() -> impl Strategy<Value = StoredResponse> {
    let headers = prop::collection::vec((header_name(), value_bytes()), 0..10).prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (n, v) in pairs {
            map.append(
                n,
                HeaderValue::from_bytes(&v).expect("value bytes are valid"),
            );
        }
        map
    });
    let selecting =
        prop::collection::vec((header_name(), prop::option::of(any::<Vec<u8>>())), 0..4);
    // Sometimes an incomplete response: ranges (gap before, length) and
    // bytes past the last one.
    let partial = prop::option::of((
        prop::collection::vec((0u64..1000, 1u64..32), 1..5),
        0u64..1000,
    ))
    .prop_map(|spec| {
        spec.map(|(gaps, tail)| {
            let mut ranges = Vec::new();
            let mut next = 0u64;
            for (i, (gap, len)) in gaps.into_iter().enumerate() {
                // Ranges after the first are at least one byte apart.
                let first = next + gap + u64::from(i > 0);
                ranges.push(ByteRange {
                    first,
                    last: first + len - 1,
                });
                next = first + len;
            }
            PartialContent::new(next + tail, ranges).expect("ordered, apart, within")
        })
    });
    (
        (100u16..=999).prop_map(|s| StatusCode::from_u16(s).expect("within 100..=999")),
        headers,
        any::<Vec<u8>>(),
        (time(), time()),
        any::<String>(),
        selecting,
        (any::<u64>(), any::<bool>()),
        partial,
    )
        .prop_map(
            |(
                status,
                headers,
                body,
                (request_time, response_time),
                uri,
                selecting,
                (salt, invalidated),
                partial,
            )| {
                // An incomplete response's body holds its ranges' bytes.
                let body = match &partial {
                    Some(p) => body
                        .iter()
                        .copied()
                        .cycle()
                        .chain(std::iter::repeat(0))
                        .take(usize::try_from(p.stored_len()).expect("small"))
                        .collect(),
                    None => body,
                };
                let mut stored = StoredResponse::new(
                    status,
                    headers,
                    Bytes::from(body),
                    request_time,
                    response_time,
                    uri,
                );
                stored.selecting = selecting;
                stored.salt = salt;
                stored.invalidated = invalidated;
                stored.partial = partial;
                stored
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cache_control_renders_and_parses_back_to_itself(cc in cache_control()) {
        let text = cc.to_string();
        prop_assert_eq!(CacheControl::parse_value(text.as_bytes()), cc.clone(), "{}", text);
        let value = cc.to_header_value();
        prop_assert_eq!(value.as_bytes(), text.as_bytes());
    }

    #[test]
    fn stored_response_encodes_and_decodes_to_itself(stored in stored_response()) {
        prop_assert_eq!(StoredResponse::decode(stored.encode()), Ok(stored));
    }

    #[test]
    fn metadata_encodes_and_decodes_to_itself(
        salt in any::<u64>(),
        vary in prop::collection::vec(header_name(), 0..6),
        expires_at in any::<u64>(),
        variants in prop::collection::vec((any::<[u8; 16]>(), "[!#-~]{0,12}"), 0..4),
    ) {
        let mut m = Metadata::with_salt(salt, vary, expires_at);
        let list: Vec<_> = variants
            .into_iter()
            .map(|(digest, tag)| webcache_core::key::Variant {
                digest,
                etag: http::HeaderValue::from_str(&format!("\"{tag}\"")).expect("visible ASCII"),
            })
            .collect();
        m.variants = webcache_core::key::Variants::new(&list);
        prop_assert_eq!(m.variants.to_vec(), list);
        prop_assert_eq!(Metadata::decode(&m.encode()), Ok(m));
    }
}

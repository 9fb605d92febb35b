//! Typed views of the header fields that caching depends on.
//!
//! Every parser here accepts any bytes and never panics: invalid input gets
//! the meaning the RFCs give it (an invalid `Expires` is "already expired",
//! an invalid `Age` is ignored, an invalid `max-age` makes a response stale).

mod cache_control;
mod entity_tag;
pub(crate) mod list;
pub(crate) mod structured;
mod time;
mod vary;

pub use cache_control::{CacheControl, Delta, Extension, FieldNames, MaxStale};
pub use entity_tag::{EntityTag, EntityTagCondition};
pub use time::{
    DELTA_SECONDS_MAX, age_field, date_field, date_field_at, fmt_http_date, parse_delta_seconds,
    parse_http_date, parse_http_date_at,
};
pub(crate) use time::{from_unix_millis, unix_millis, unix_secs};
pub use vary::{Vary, normalized_value};

use http::header::{CONNECTION, HeaderMap, HeaderName};

/// Hop-by-hop fields that a proxy removes before forwarding (RFC 9110
/// §7.6.1) and that a cache therefore does not store (RFC 9111 §3.1), plus
/// the proxy-specific authentication fields RFC 9111 §3.1 forbids storing.
/// (`Trailer` is end to end; the cache drops it only from what it stores,
/// because it stores no trailers.)
pub const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authentication-info",
    "proxy-authorization",
];

/// The field names listed in `Connection` (RFC 9110 §7.6.1).
pub fn connection_options(headers: &HeaderMap) -> Vec<HeaderName> {
    list::members(headers, &CONNECTION)
        .filter_map(|m| HeaderName::from_bytes(m).ok())
        .collect()
}

/// True when `name` is hop-by-hop: one of [`HOP_BY_HOP`] or named in
/// `connection_options`.
pub fn is_hop_by_hop(name: &HeaderName, connection_options: &[HeaderName]) -> bool {
    HOP_BY_HOP.contains(&name.as_str()) || connection_options.contains(name)
}

/// Removes the hop-by-hop fields, including those named by `Connection`,
/// from `headers` (RFC 9110 §7.6.1).
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named = connection_options(headers);
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    for name in named {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn rfc9110_7_6_1_connection_named_fields_are_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert(CONNECTION, HeaderValue::from_static("close, X-Private"));
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        h.insert("x-kept", HeaderValue::from_static("1"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-kept"));
    }
}

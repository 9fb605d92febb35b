//! What a proxy does to a message it forwards (RFC 9110 §7.6): remove the
//! fields meant only for the connection it arrived on, add itself to `Via`,
//! and decrement `Max-Forwards`. These are forwarding rules, not caching
//! rules: the cache sees the messages after them.

use http::header::{EXPECT, HOST, HeaderMap, HeaderName, HeaderValue, VIA};
use http::{Method, Version};
use webcache_core::headers::remove_hop_by_hop;

use crate::config::HostHeader;

/// The `Max-Forwards` field (RFC 9110 §7.6.2).
pub const MAX_FORWARDS: HeaderName = HeaderName::from_static("max-forwards");

/// The `received-protocol` of a message received with `version`, as `Via`
/// writes it (RFC 9110 §7.6.3: the protocol name is omitted for HTTP).
pub fn received_protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Appends this proxy's member to `Via`: `<received-protocol> <name>`
/// (RFC 9110 §7.6.3), after the members of intermediaries before it.
pub fn append_via(headers: &mut HeaderMap, received: Version, name: &str) {
    let value = format!("{} {name}", received_protocol(received));
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.append(VIA, value);
    }
}

/// Removes the hop-by-hop fields (RFC 9110 §7.6.1), after a cheap scan
/// that finds most requests and responses carry none.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let any = headers
        .keys()
        .any(|name| webcache_core::headers::HOP_BY_HOP.contains(&name.as_str()));
    if any {
        remove_hop_by_hop(headers);
    }
}

/// Prepares a request's header fields for forwarding (RFC 9110 §7.6.1,
/// §7.6.3, RFC 9112 §3.2.2): removes `Connection`, the fields it names and
/// the other hop-by-hop fields; removes `Expect` (the proxy's server has
/// already answered `100-continue` when it started reading the body, RFC
/// 9110 §10.1.1); sets `Host` per `host` — for an absolute-form target the
/// target's authority replaces the received Host — and appends `Via`.
pub fn prepare_request(
    headers: &mut HeaderMap,
    version: Version,
    target_authority: Option<&str>,
    host: HostHeader,
    upstream_host: &HeaderValue,
    via_name: &str,
) {
    strip_hop_by_hop(headers);
    headers.remove(EXPECT);
    match host {
        HostHeader::Upstream => {
            headers.insert(HOST, upstream_host.clone());
        }
        HostHeader::Preserve => {
            if let Some(authority) = target_authority {
                if let Ok(value) = HeaderValue::from_str(authority) {
                    headers.insert(HOST, value);
                }
            } else if !headers.contains_key(HOST) {
                headers.insert(HOST, upstream_host.clone());
            }
        }
    }
    append_via(headers, version, via_name);
}

/// Prepares a response's header fields for forwarding: hop-by-hop fields
/// removed, `Via` appended (RFC 9110 §7.6.1, §7.6.3).
pub fn prepare_response(headers: &mut HeaderMap, version: Version, via_name: &str) {
    strip_hop_by_hop(headers);
    append_via(headers, version, via_name);
}

/// What `Max-Forwards` says about an OPTIONS or TRACE request (RFC 9110
/// §7.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxForwards {
    /// Not applicable or absent: forward unchanged.
    Forward,
    /// Zero: the proxy must answer as the final recipient.
    Answer,
}

/// Applies `Max-Forwards` to a request: for OPTIONS and TRACE, a zero
/// value means the proxy answers itself, any other valid value is
/// decremented. Other methods, and invalid values, are left alone (RFC 9110
/// §7.6.2 lets a recipient ignore the field on other methods).
pub fn max_forwards(method: &Method, headers: &mut HeaderMap) -> MaxForwards {
    if method != Method::OPTIONS && method != Method::TRACE {
        return MaxForwards::Forward;
    }
    let Some(value) = headers.get(&MAX_FORWARDS) else {
        return MaxForwards::Forward;
    };
    let Ok(text) = value.to_str() else {
        return MaxForwards::Forward;
    };
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return MaxForwards::Forward;
    }
    // Anything too large for u64 is "many hops left".
    let hops: u64 = text.parse().unwrap_or(u64::MAX);
    if hops == 0 {
        return MaxForwards::Answer;
    }
    headers.insert(MAX_FORWARDS, HeaderValue::from(hops - 1));
    MaxForwards::Forward
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn rfc9110_7_6_1_request_loses_hop_by_hop_and_connection_named_fields() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-connection", "keep-alive"),
            ("expect", "100-continue"),
            ("host", "client.example"),
            ("x-end-to-end", "kept"),
        ]);
        let upstream = HeaderValue::from_static("origin:8080");
        prepare_request(
            &mut h,
            Version::HTTP_11,
            None,
            HostHeader::Preserve,
            &upstream,
            "webcache",
        );
        let mut names: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, vec!["host", "via", "x-end-to-end"]);
        assert_eq!(h["host"], "client.example");
        assert_eq!(h["via"], "1.1 webcache");
    }

    #[test]
    fn rfc9112_3_2_2_absolute_form_authority_replaces_host() {
        let upstream = HeaderValue::from_static("origin:8080");
        let mut h = map(&[("host", "wrong.example")]);
        prepare_request(
            &mut h,
            Version::HTTP_11,
            Some("right.example"),
            HostHeader::Preserve,
            &upstream,
            "webcache",
        );
        assert_eq!(h["host"], "right.example");
        let mut h = map(&[("host", "client.example")]);
        prepare_request(
            &mut h,
            Version::HTTP_10,
            None,
            HostHeader::Upstream,
            &upstream,
            "webcache",
        );
        assert_eq!(h["host"], "origin:8080");
        assert_eq!(h["via"], "1.0 webcache");
        // An HTTP/1.0 request without Host gets the upstream's.
        let mut h = HeaderMap::new();
        prepare_request(
            &mut h,
            Version::HTTP_10,
            None,
            HostHeader::Preserve,
            &upstream,
            "webcache",
        );
        assert_eq!(h["host"], "origin:8080");
    }

    #[test]
    fn rfc9110_7_6_3_via_is_appended_after_earlier_members() {
        let mut h = map(&[("via", "1.0 fred"), ("connection", "close")]);
        prepare_response(&mut h, Version::HTTP_11, "edge");
        let via: Vec<_> = h.get_all("via").iter().collect();
        assert_eq!(via, vec!["1.0 fred", "1.1 edge"]);
        assert!(!h.contains_key("connection"));
    }

    #[test]
    fn rfc9110_7_6_2_max_forwards_is_decremented_or_answered() {
        let mut h = map(&[("max-forwards", "3")]);
        assert_eq!(max_forwards(&Method::OPTIONS, &mut h), MaxForwards::Forward);
        assert_eq!(h["max-forwards"], "2");
        let mut h = map(&[("max-forwards", "0")]);
        assert_eq!(max_forwards(&Method::TRACE, &mut h), MaxForwards::Answer);
        let mut h = map(&[("max-forwards", "0")]);
        assert_eq!(max_forwards(&Method::GET, &mut h), MaxForwards::Forward);
        assert_eq!(h["max-forwards"], "0");
        let mut h = map(&[("max-forwards", "x")]);
        assert_eq!(max_forwards(&Method::OPTIONS, &mut h), MaxForwards::Forward);
        let mut h = map(&[("max-forwards", "99999999999999999999999")]);
        assert_eq!(max_forwards(&Method::OPTIONS, &mut h), MaxForwards::Forward);
    }
}

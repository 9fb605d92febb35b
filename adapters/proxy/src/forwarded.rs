//! The client's address on its way upstream: `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Host` (the de-facto fields) and/or
//! `Forwarded` (RFC 7239).
//!
//! They are added to the request the proxy sends upstream, after the
//! cache has computed its key and chosen a stored response, so they never
//! take part in either. From a trusted downstream proxy the received
//! values are kept and the proxy's own hop appended; from any other client
//! they are removed first, so that a client cannot claim another address.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::str::FromStr;

use http::header::{FORWARDED, HeaderMap, HeaderName, HeaderValue};

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `X-Forwarded-Proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `X-Forwarded-Host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Which forwarding fields the proxy adds upstream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeaders {
    /// None: the received fields pass through untouched.
    None,
    /// `X-Forwarded-For`, `-Proto` and `-Host`. The default.
    #[default]
    XForwarded,
    /// `Forwarded` (RFC 7239): `for=`, `host=` and `proto=`.
    Forwarded,
    /// Both.
    Both,
}

/// An address or a CIDR range: `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`.
///
/// ```
/// use webcache_proxy::IpNet;
/// let net: IpNet = "10.0.0.0/8".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("11.0.0.1".parse().unwrap()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as
    /// its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let fail = || format!("{s:?} is not an address or a CIDR range such as 10.0.0.0/8");
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| fail())?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(fail)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// The client connection a request arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) ip: IpAddr,
    pub(crate) https: bool,
}

/// Adds the forwarding fields for `peer` to a request going upstream,
/// `host` being the Host the client sent (before any rewriting).
pub(crate) fn apply(
    headers: &mut HeaderMap,
    peer: Peer,
    fields: ForwardedHeaders,
    trusted: &[IpNet],
    host: Option<&HeaderValue>,
) {
    if fields == ForwardedHeaders::None {
        return;
    }
    let ip = peer.ip.to_canonical();
    if !trusted.iter().any(|net| net.contains(ip)) {
        for name in [
            X_FORWARDED_FOR,
            X_FORWARDED_PROTO,
            X_FORWARDED_HOST,
            FORWARDED,
        ] {
            headers.remove(name);
        }
    }
    let proto = if peer.https { "https" } else { "http" };
    if matches!(
        fields,
        ForwardedHeaders::XForwarded | ForwardedHeaders::Both
    ) {
        let mut chain = joined(headers, &X_FORWARDED_FOR);
        if !chain.is_empty() {
            chain.push_str(", ");
        }
        let _ = write!(chain, "{ip}");
        if let Ok(value) = HeaderValue::from_str(&chain) {
            headers.insert(X_FORWARDED_FOR, value);
        }
        if !headers.contains_key(X_FORWARDED_PROTO) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
        }
        if let (false, Some(host)) = (headers.contains_key(X_FORWARDED_HOST), host) {
            headers.insert(X_FORWARDED_HOST, host.clone());
        }
    }
    if matches!(fields, ForwardedHeaders::Forwarded | ForwardedHeaders::Both)
        && let Ok(value) = HeaderValue::from_str(&forwarded_element(ip, proto, host))
    {
        headers.append(FORWARDED, value);
    }
}

/// Every line of a field, joined with commas.
fn joined(headers: &HeaderMap, name: &HeaderName) -> String {
    let mut out = String::new();
    for value in headers.get_all(name) {
        if let Ok(text) = value.to_str() {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(text.trim());
        }
    }
    out
}

/// `for=...;host=...;proto=...` (RFC 7239 §4, §6: an IPv6 node is
/// bracketed and quoted; a host with a port is quoted).
fn forwarded_element(ip: IpAddr, proto: &str, host: Option<&HeaderValue>) -> String {
    let mut out = match ip {
        IpAddr::V4(v4) => format!("for={v4}"),
        IpAddr::V6(v6) => format!("for=\"[{v6}]\""),
    };
    if let Some(host) = host.and_then(|h| h.to_str().ok()) {
        // A valid Host has no `"` or `\` to escape.
        let _ = write!(out, ";host=\"{host}\"");
    }
    let _ = write!(out, ";proto={proto}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: &str) -> Peer {
        Peer {
            ip: ip.parse().unwrap(),
            https: false,
        }
    }

    #[test]
    fn cidr_ranges_match_their_addresses() {
        let net: IpNet = "192.168.0.0/16".parse().unwrap();
        assert!(net.contains("192.168.40.1".parse().unwrap()));
        assert!(net.contains("::ffff:192.168.1.1".parse().unwrap()));
        assert!(!net.contains("192.169.0.1".parse().unwrap()));
        let one: IpNet = "2001:db8::1".parse().unwrap();
        assert!(one.contains("2001:db8::1".parse().unwrap()));
        assert!(!one.contains("2001:db8::2".parse().unwrap()));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "x", "10.0.0.0/", "::/129"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_untrusted_clients_values_are_replaced() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("6.6.6.6"));
        h.insert(FORWARDED, HeaderValue::from_static("for=6.6.6.6"));
        let host = HeaderValue::from_static("shop.example");
        apply(
            &mut h,
            peer("203.0.113.9"),
            ForwardedHeaders::Both,
            &[],
            Some(&host),
        );
        assert_eq!(h[X_FORWARDED_FOR], "203.0.113.9");
        assert_eq!(h[X_FORWARDED_PROTO], "http");
        assert_eq!(h[X_FORWARDED_HOST], "shop.example");
        assert_eq!(
            h[FORWARDED],
            "for=203.0.113.9;host=\"shop.example\";proto=http"
        );
    }

    #[test]
    fn rfc7239_a_trusted_proxys_values_are_kept_and_appended_to() {
        let mut h = HeaderMap::new();
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("198.51.100.1"));
        h.append(X_FORWARDED_FOR, HeaderValue::from_static("198.51.100.2"));
        h.insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        h.insert(FORWARDED, HeaderValue::from_static("for=198.51.100.1"));
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        apply(
            &mut h,
            peer("10.1.1.1"),
            ForwardedHeaders::Both,
            &trusted,
            None,
        );
        assert_eq!(h[X_FORWARDED_FOR], "198.51.100.1, 198.51.100.2, 10.1.1.1");
        assert_eq!(h[X_FORWARDED_PROTO], "https");
        let forwarded: Vec<_> = h.get_all(FORWARDED).iter().collect();
        assert_eq!(forwarded, ["for=198.51.100.1", "for=10.1.1.1;proto=http"]);
        let mut h = HeaderMap::new();
        apply(&mut h, peer("::1"), ForwardedHeaders::Forwarded, &[], None);
        assert_eq!(h[FORWARDED], "for=\"[::1]\";proto=http");
        assert!(!h.contains_key(X_FORWARDED_FOR));
    }

    #[test]
    fn none_leaves_the_fields_alone() {
        let mut h = HeaderMap::new();
        h.insert(X_FORWARDED_FOR, HeaderValue::from_static("6.6.6.6"));
        apply(
            &mut h,
            peer("203.0.113.9"),
            ForwardedHeaders::None,
            &[],
            None,
        );
        assert_eq!(h[X_FORWARDED_FOR], "6.6.6.6");
        assert_eq!(h.len(), 1);
    }
}

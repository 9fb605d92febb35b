//! Which client requests the proxy refuses before the cache or the
//! upstream sees them: the edge checks of RFC 9112 that hyper's parser
//! leaves to the server, and the size limits.
//!
//! hyper already answers, on its own and before any service runs: 400 to
//! an unparsable request line or field line — including obs-fold (RFC 9112
//! §5.2: "a server MUST either reject the message by sending a 400 ... or
//! replace each received obs-fold with one or more SP"; hyper rejects) —,
//! to Content-Length values that differ (§6.3 item 5), to a
//! Transfer-Encoding whose last coding is not chunked (§6.3 item 4) and to
//! Transfer-Encoding in HTTP/1.0 (§6.1); 431 to a head larger than its
//! read buffer, which the [`Server`](crate::Server) sizes just above the
//! limits here. A request with both Transfer-Encoding and Content-Length is
//! the case §6.3 item 3 lets an intermediary forward: hyper removes
//! Content-Length, reads the body chunked, and closes the connection after
//! the response, so nothing after the body can be smuggled in as a
//! request.
//!
//! [`check`] adds, as a pure verdict on the parsed head: 400 to an HTTP/1.1
//! request without Host, to any request with more than one Host line or an
//! invalid Host value (RFC 9112 §3.2); 414 to a request target over the
//! request-line limit; 431 to a header section over its limit; and 501 to a
//! transfer coding other than chunked (RFC 9112 §6.1: "a server that
//! receives a request message with a transfer coding it does not
//! understand SHOULD respond with 501").

use http::header::{HOST, HeaderMap, HeaderValue, TRANSFER_ENCODING};
use http::{StatusCode, Uri, Version};

/// The size limits on a request head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeadLimits {
    /// The longest request line: method, target and version.
    pub(crate) request_line: usize,
    /// The largest header section: every field line with its CRLF.
    pub(crate) header_section: usize,
}

/// Why a request is refused: the status the proxy answers with, and a
/// short reason for its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
}

const fn reject(status: StatusCode, reason: &'static str) -> Rejection {
    Rejection { status, reason }
}

/// Checks a parsed request head; `Ok` when it may go to the cache.
pub(crate) fn check(
    method: &http::Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    limits: HeadLimits,
) -> Result<(), Rejection> {
    // "METHOD SP target SP HTTP/1.1".
    let line = method.as_str().len() + target_len(uri) + 10;
    if line > limits.request_line {
        return Err(reject(StatusCode::URI_TOO_LONG, "request line too long"));
    }
    let fields = Fields::of(headers);
    if fields.section > limits.header_section {
        return Err(reject(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header section too large",
        ));
    }
    check_host(uri, version, &fields)?;
    if fields.transfer_encoding {
        check_transfer_coding(headers)?;
    }
    Ok(())
}

/// What the checks need of the header section, read in one pass (no
/// lookup by name: this runs on every request).
struct Fields<'a> {
    /// The section's size: every field line with its ": " and CRLF.
    section: usize,
    /// The Host field lines, and the first one's value.
    hosts: usize,
    host: Option<&'a HeaderValue>,
    transfer_encoding: bool,
}

impl<'a> Fields<'a> {
    fn of(headers: &'a HeaderMap) -> Self {
        let mut fields = Fields {
            section: 0,
            hosts: 0,
            host: None,
            transfer_encoding: false,
        };
        for (name, value) in headers {
            fields.section += name.as_str().len() + value.len() + 4;
            if name == HOST {
                fields.hosts += 1;
                fields.host = fields.host.or(Some(value));
            } else if name == TRANSFER_ENCODING {
                fields.transfer_encoding = true;
            }
        }
        fields
    }
}

/// The length of the request target as received: the URI's text.
fn target_len(uri: &Uri) -> usize {
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    let path = uri.path_and_query().map_or(0, |p| p.as_str().len());
    scheme + authority + path
}

/// RFC 9112 §3.2: exactly one valid Host in HTTP/1.1; at most one, valid,
/// in HTTP/1.0. In HTTP/2 the authority comes in `:authority` (the URI
/// here); a Host beside it must be valid and name the same authority (RFC
/// 9113 §8.3.1).
fn check_host(uri: &Uri, version: Version, fields: &Fields<'_>) -> Result<(), Rejection> {
    if fields.hosts > 1 {
        return Err(reject(StatusCode::BAD_REQUEST, "more than one Host"));
    }
    let Some(host) = fields.host else {
        if version == Version::HTTP_11 {
            return Err(reject(StatusCode::BAD_REQUEST, "no Host"));
        }
        return Ok(());
    };
    if !is_valid_host(host.as_bytes()) {
        return Err(reject(StatusCode::BAD_REQUEST, "invalid Host"));
    }
    let authority = uri.authority().filter(|_| version == Version::HTTP_2);
    if let Some(authority) = authority {
        let host = host.to_str().unwrap_or("");
        if !authority.as_str().eq_ignore_ascii_case(host) {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "Host differs from :authority",
            ));
        }
    }
    Ok(())
}

/// `Host = uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2): a
/// non-empty reg-name, IPv4 address or bracketed IP literal, then digits
/// after a colon; no user information. An `http` URI may not have an empty
/// host (RFC 9110 §4.2.1).
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    // Checked byte by byte, with no allocation: this runs on every request.
    let (host, rest) = if value.first() == Some(&b'[') {
        let Some(end) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &value[1..end];
        let ok = std::str::from_utf8(literal).is_ok_and(|ip| {
            ip.parse::<std::net::Ipv6Addr>().is_ok()
                || (ip.starts_with('v') && ip.bytes().all(is_reg_name_byte))
        });
        if !ok {
            return false;
        }
        (&value[..=end], &value[end + 1..])
    } else {
        let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        (&value[..end], &value[end..])
    };
    if host.is_empty() || !(host[0] == b'[' || host.iter().all(|&b| is_reg_name_byte(b))) {
        return false;
    }
    match rest.split_first() {
        None => true,
        Some((b':', port)) => port.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2), and `:` for
/// an IPvFuture literal.
fn is_reg_name_byte(b: u8) -> bool {
    REG_NAME[usize::from(b)]
}

/// [`is_reg_name_byte`] as a table, so that a Host costs one load per byte.
const REG_NAME: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            );
        i += 1;
    }
    table
};

/// hyper has checked that chunked is the last coding; any coding before it
/// would reach the upstream undecoded (Transfer-Encoding is hop-by-hop),
/// so it is not implemented.
fn check_transfer_coding(headers: &HeaderMap) -> Result<(), Rejection> {
    for value in headers.get_all(TRANSFER_ENCODING) {
        let codings = value.to_str().unwrap_or("x");
        let only_chunked = codings
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .all(|c| c.eq_ignore_ascii_case("chunked"));
        if !only_chunked {
            return Err(reject(
                StatusCode::NOT_IMPLEMENTED,
                "transfer coding not implemented",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Method};

    const LIMITS: HeadLimits = HeadLimits {
        request_line: 100,
        header_section: 200,
    };

    fn verdict(uri: &str, version: Version, fields: &[(&str, &str)]) -> Result<(), StatusCode> {
        let mut headers = HeaderMap::new();
        for (name, value) in fields {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let uri: Uri = uri.parse().unwrap();
        check(&Method::GET, &uri, version, &headers, LIMITS).map_err(|r| r.status)
    }

    #[test]
    fn rfc3986_3_2_2_reg_name_bytes_are_unreserved_pct_encoded_or_sub_delims() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b);
            assert_eq!(is_reg_name_byte(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn one_pass_over_the_fields_counts_hosts_and_the_section() {
        let mut headers = HeaderMap::new();
        headers.append(HOST, HeaderValue::from_static("a.test"));
        headers.append("x-one", HeaderValue::from_static("1"));
        headers.append(HOST, HeaderValue::from_static("b.test"));
        let fields = Fields::of(&headers);
        assert_eq!(fields.hosts, 2);
        assert_eq!(fields.host.map(HeaderValue::as_bytes), Some(&b"a.test"[..]));
        assert!(!fields.transfer_encoding);
        // "host: a.test\r\n" twice (b.test is as long) and "x-one: 1\r\n".
        assert_eq!(fields.section, 2 * (4 + 6 + 4) + (5 + 1 + 4));
    }

    #[test]
    fn rfc9112_3_2_host_is_required_once_and_valid() {
        let v11 = Version::HTTP_11;
        assert_eq!(verdict("/", v11, &[("host", "a.example")]), Ok(()));
        assert_eq!(verdict("/", v11, &[("host", "a.example:8080")]), Ok(()));
        assert_eq!(verdict("/", v11, &[("host", "[::1]:80")]), Ok(()));
        assert_eq!(verdict("/", v11, &[]), Err(StatusCode::BAD_REQUEST));
        let two = [("host", "a.example"), ("host", "a.example")];
        assert_eq!(verdict("/", v11, &two), Err(StatusCode::BAD_REQUEST));
        for bad in [
            "",
            "a b",
            "u@a.example",
            "a.example:8o",
            "[::1",
            "a/b",
            "a:1:2",
        ] {
            assert_eq!(
                verdict("/", v11, &[("host", bad)]),
                Err(StatusCode::BAD_REQUEST),
                "{bad:?}"
            );
        }
        // HTTP/1.0 may omit it, but not repeat it.
        assert_eq!(verdict("/", Version::HTTP_10, &[]), Ok(()));
        assert_eq!(
            verdict("/", Version::HTTP_10, &two),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn rfc9113_8_3_1_host_must_agree_with_authority_in_http2() {
        let h2 = Version::HTTP_2;
        assert_eq!(verdict("http://a.example/", h2, &[]), Ok(()));
        let same = [("host", "A.example")];
        assert_eq!(verdict("http://a.example/", h2, &same), Ok(()));
        let other = [("host", "b.example")];
        assert_eq!(
            verdict("http://a.example/", h2, &other),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn request_line_and_header_section_have_limits() {
        let host = [("host", "a")];
        let long = format!("/{}", "x".repeat(100));
        assert_eq!(
            verdict(&long, Version::HTTP_11, &host),
            Err(StatusCode::URI_TOO_LONG)
        );
        let big = "y".repeat(200);
        assert_eq!(
            verdict("/", Version::HTTP_11, &[("host", "a"), ("x-big", &big)]),
            Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }

    #[test]
    fn rfc9112_6_1_codings_other_than_chunked_are_not_implemented() {
        let with = |te| {
            verdict(
                "/",
                Version::HTTP_11,
                &[("host", "a"), ("transfer-encoding", te)],
            )
        };
        assert_eq!(with("chunked"), Ok(()));
        assert_eq!(with("Chunked"), Ok(()));
        assert_eq!(with("gzip, chunked"), Err(StatusCode::NOT_IMPLEMENTED));
    }
}

//! The proxy's handling of raw request bytes. The bytes are parsed as an
//! HTTP/1.1 request head by `httparse` (hyper's own parser: what it rejects
//! never reaches the proxy), then go through what the proxy does with a
//! parsed request: `Max-Forwards` (RFC 9110 §7.6.2), hop-by-hop removal
//! (§7.6.1), the cache's whole request path (`Cache::serve`: key, request
//! directives, conditionals, Range) twice, so that the second may be a hit,
//! and, on each forward, the upstream target URI, Host and Via
//! (`UpstreamUrl::join`, `prepare_request`, RFC 9112 §3.2). The origin's
//! answer is fuzzed too: the bytes after the request head are its header
//! lines, then (after a NUL) its body.
//!
//! Properties: nothing panics; a forwarded request carries no hop-by-hop
//! field, a Host and this proxy's Via, and targets the upstream's
//! authority; every answer's body is complete and as long as its
//! Content-Length says.
//!
//! The proxy's RFC 9112 request validation (one valid Host, sane lengths,
//! no smuggling shapes) belongs at the top of `fuzz_target!`, before
//! `max_forwards`, as `Proxy::answer` calls it; once it rejects requests
//! with several Host lines, the Host property above becomes "exactly one".
#![no_main]

use std::convert::Infallible;
use std::sync::LazyLock;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderMap, HeaderName, HeaderValue, VIA};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use webcache_core::headers::{HOP_BY_HOP, connection_options};
use webcache_core::{Cache, Config, Upstream};
use webcache_fuzz::{header_lines, split_at_byte};
use webcache_memory::MemoryStore;
use webcache_proxy::forward::{MaxForwards, max_forwards, prepare_request, strip_hop_by_hop};
use webcache_proxy::{HostHeader, UpstreamUrl};

static UPSTREAM: LazyLock<UpstreamUrl> =
    LazyLock::new(|| UpstreamUrl::parse("http://127.0.0.1:9").expect("a valid upstream URL"));

/// An origin answering every request with the same fuzzed response, after
/// checking the request as the proxy would send it.
#[derive(Clone)]
struct Origin {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    host: HostHeader,
}

fn assert_no_hop_by_hop(headers: &HeaderMap, named: &[HeaderName]) {
    for name in headers.keys() {
        assert!(!HOP_BY_HOP.contains(&name.as_str()), "{name} was forwarded");
        assert!(
            !named.contains(name),
            "{name}, named by Connection, was forwarded"
        );
    }
}

impl Upstream<Bytes> for Origin {
    type Body = Full<Bytes>;
    type Error = Infallible;

    async fn call(&mut self, request: Request<Bytes>) -> Result<Response<Full<Bytes>>, Infallible> {
        let (mut parts, _) = request.into_parts();
        // What `HttpUpstream` does before sending.
        if let Ok(uri) = UPSTREAM.join(parts.uri.path_and_query()) {
            assert_eq!(
                uri.authority().map(|a| a.as_str()),
                Some(UPSTREAM.authority())
            );
        }
        let target_authority = parts.uri.authority().map(|a| a.as_str().to_owned());
        let named = connection_options(&parts.headers);
        prepare_request(
            &mut parts.headers,
            parts.version,
            target_authority.as_deref(),
            self.host,
            UPSTREAM.host_value(),
            "webcache",
        );
        assert_no_hop_by_hop(&parts.headers, &named);
        assert!(
            parts
                .headers
                .get_all(VIA)
                .iter()
                .any(|v| v.as_bytes().ends_with(b" webcache"))
        );
        assert!(parts.headers.contains_key(HOST));

        let mut response = Response::new(Full::new(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        Ok(response)
    }
}

/// The request head in `data`, as hyper would hand it to the proxy, and
/// the bytes after it.
fn parse_request(data: &[u8]) -> Option<(Request<Bytes>, &[u8])> {
    let mut slots = [httparse::EMPTY_HEADER; 64];
    let mut head = httparse::Request::new(&mut slots);
    let httparse::Status::Complete(len) = head.parse(data).ok()? else {
        return None;
    };
    let method = Method::from_bytes(head.method?.as_bytes()).ok()?;
    let target = Uri::try_from(head.path?).ok()?;
    let version = if head.version? == 0 {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let mut headers = HeaderMap::new();
    for h in head.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        headers.append(name, HeaderValue::from_bytes(h.value).ok()?);
    }
    // As a server builds the URI of an origin-form target: from Host.
    let uri = if target.scheme().is_some() {
        target
    } else {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let pq = target.path_and_query().map_or("/", |p| p.as_str());
        Uri::try_from(format!("http://{host}{pq}")).ok()?
    };
    let mut request = Request::new(Bytes::new());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Some((request, &data[len..]))
}

/// Reads a whole answer and checks its framing.
async fn drain(response: Response<webcache_core::CacheBody<Full<Bytes>>>, method: &Method) {
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .expect("a complete origin body is relayed whole")
        .to_bytes();
    if *method == Method::HEAD || parts.status == StatusCode::NOT_MODIFIED {
        return;
    }
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    if let Some(len) = declared.and_then(|v| v.parse::<usize>().ok()) {
        assert_eq!(len, body.len(), "Content-Length matches the body");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((request, rest)) = parse_request(data) else {
        return;
    };
    let (origin_head, body) = split_at_byte(rest, 0);
    let mut origin_headers = header_lines(origin_head);
    // Framing is the connection's, not the message's.
    origin_headers.remove(CONTENT_LENGTH);
    origin_headers.remove(http::header::TRANSFER_ENCODING);
    let status = match origin_headers
        .remove("x-status")
        .and_then(|v| v.to_str().ok()?.parse().ok())
    {
        Some(s @ 200..=599) => StatusCode::from_u16(s).unwrap_or(StatusCode::OK),
        _ => StatusCode::OK,
    };
    let host = if data.len().is_multiple_of(2) {
        HostHeader::Preserve
    } else {
        HostHeader::Upstream
    };
    let origin = Origin {
        status,
        headers: origin_headers,
        body: Bytes::copy_from_slice(body),
        host,
    };

    let (mut parts, body) = request.into_parts();
    if parts.method == Method::CONNECT {
        return;
    }
    if max_forwards(&parts.method, &mut parts.headers) == MaxForwards::Answer {
        assert!(parts.method == Method::OPTIONS || parts.method == Method::TRACE);
        return;
    }
    let named = connection_options(&parts.headers);
    strip_hop_by_hop(&mut parts.headers);
    assert_no_hop_by_hop(&parts.headers, &named);
    assert!(!parts.headers.contains_key(CONNECTION));

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime builds");
    runtime.block_on(async {
        let config = Config::gateway_builder()
            .build()
            .expect("the gateway defaults are valid");
        let cache = Cache::new(MemoryStore::new(1 << 20), config);
        for _ in 0..2 {
            let mut request = Request::new(body.clone());
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.version_mut() = parts.version;
            *request.headers_mut() = parts.headers.clone();
            let Ok(response) = cache.serve(request, origin.clone()).await;
            drain(response, &parts.method).await;
        }
    });
});

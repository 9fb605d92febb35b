//! Conversions between Rocket's request and response types and `http` 1,
//! done once at the edge.

use std::io::Cursor;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode, Uri};
use http_body::Body as _;
use rocket::http::{Header, Status};
use rocket::{Request, Response as RocketResponse};
use webcache_core::CacheBody;

use crate::body::{AppBody, Outgoing, Pump};
use crate::local::RequestLocal;

/// The request as the core reads it: method, origin-form target and
/// header fields. Fields that `http` cannot carry are left out.
pub(crate) fn request_parts(request: &Request<'_>) -> Parts {
    let method = Method::from_bytes(request.method().as_str().as_bytes()).unwrap_or(Method::GET);
    let origin = request.uri();
    let uri = match origin.query() {
        None => Uri::try_from(origin.path().as_str()),
        Some(query) => Uri::try_from(format!("{}?{}", origin.path(), query.as_str())),
    }
    .unwrap_or_else(|_| Uri::from_static("/"));
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = method;
    parts.uri = uri;
    parts.headers = headers_from_rocket(request.headers().iter(), request.headers().len());
    parts
}

fn headers_from_rocket<'h>(fields: impl Iterator<Item = Header<'h>>, len: usize) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(len);
    for field in fields {
        let name = HeaderName::from_bytes(field.name().as_str().as_bytes());
        let value = HeaderValue::from_bytes(field.value().as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    headers
}

/// A route's response as the core reads it. A body of known size within
/// `limit` is read whole; any other is streamed through a channel fed by
/// the returned [`Pump`], which [`Outgoing`] drives.
pub(crate) async fn response_from_rocket<'r>(
    mut response: RocketResponse<'r>,
    limit: usize,
) -> (Response<AppBody>, Option<Pump<'r>>) {
    let status = StatusCode::from_u16(response.status().code).unwrap_or(StatusCode::OK);
    let mut headers = headers_from_rocket(response.headers().iter(), response.headers().len());
    let size = response.body_mut().size().await;
    if response.body().is_none() {
        let mut out = Response::new(AppBody::Full(None));
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        return (out, None);
    }
    if let Some(size) = size {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(size));
    }
    let (body, pump) = match size {
        Some(size) if size <= limit => match response.body_mut().to_bytes().await {
            Ok(bytes) => (AppBody::Full(Some(Bytes::from(bytes))), None),
            Err(e) => {
                let (body, tx) = AppBody::channel();
                let _ = tx.send(Err(e));
                (body, None)
            }
        },
        _ => {
            let (body, tx) = AppBody::channel();
            (body, Some(Pump::new(response.body_mut().take(), tx)))
        }
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    (out, pump)
}

/// Copies `headers` into `response`, every field line kept.
fn set_headers(response: &mut RocketResponse<'_>, headers: &HeaderMap) {
    for (name, value) in headers {
        // Rocket carries field values as UTF-8 text: other octets
        // (obs-text) cannot be sent.
        if let Ok(value) = std::str::from_utf8(value.as_bytes()) {
            response.adjoin_raw_header(name.as_str().to_owned(), value.to_owned());
        }
    }
}

fn status(code: StatusCode) -> Status {
    Status::new(code.as_u16())
}

/// A response the core answered from storage, as Rocket sends it.
pub(crate) fn stored_response<'r>(
    request: &'r Request<'_>,
    response: Response<Bytes>,
) -> RocketResponse<'r> {
    let (mut parts, body) = response.into_parts();
    let declared = parts.headers.remove(CONTENT_LENGTH);
    // A HEAD hit carries the length a GET would have had (RFC 9110 §8.6);
    // Rocket sends the size of the body, which it strips for HEAD.
    let len = match declared.and_then(|v| v.to_str().ok()?.parse().ok()) {
        Some(declared) if request.method() == rocket::http::Method::Head => declared,
        _ => body.len(),
    };
    let mut out = RocketResponse::new();
    out.set_status(status(parts.status));
    match RequestLocal::of(request).keep_fields(parts.headers) {
        Ok(headers) => {
            for (name, value) in headers {
                if let Ok(value) = std::str::from_utf8(value.as_bytes()) {
                    out.adjoin_raw_header(name.as_str(), value);
                }
            }
        }
        // A second stored response for one request: copy its fields.
        Err(headers) => set_headers(&mut out, &headers),
    }
    out.set_sized_body(len, Cursor::new(body));
    out
}

/// A response the core finished, as Rocket sends it: its body read from
/// the core, which `pump` feeds when the route's body streams.
pub(crate) fn finished_response<'r>(
    response: Response<CacheBody<AppBody>>,
    pump: Option<Pump<'r>>,
) -> RocketResponse<'r> {
    let (mut parts, body) = response.into_parts();
    let mut out = RocketResponse::new();
    out.set_status(status(parts.status));
    if let Some(len) = body.size_hint().exact()
        && pump.is_none()
        && parts.headers.get(CONTENT_LENGTH).is_none()
    {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    set_headers(&mut out, &parts.headers);
    out.set_streamed_body(Outgoing::new(body, pump));
    out
}

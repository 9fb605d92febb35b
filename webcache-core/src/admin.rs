//! The purge endpoints, one protocol for every adapter (the axum service,
//! the proxy's admin listener and its `PURGE` method, warp and Rocket):
//! parsed, authenticated and answered here, so that adapters only move
//! bytes.
//!
//! | Request | Purges |
//! |---|---|
//! | `POST <mount>/url`, body `https://example.com/a` | [`Cache::purge_url`] |
//! | `POST <mount>/tag`, body `product-42` | [`Cache::purge_tag`] |
//! | `POST <mount>/flush` | [`Cache::flush`] |
//!
//! `?soft=true` (or `soft=1`) makes any of them soft. Every request needs
//! `Authorization: Bearer <token>`, compared in constant time
//! ([`token_matches`]). Answers are JSON: `{"purged":"tag","target":"product-42","mode":"hard","resources":3}`,
//! or `{"error":"…"}` with 400 (bad input), 401 (no or wrong token, with
//! `WWW-Authenticate: Bearer`), 404, 405, or 503 (the store failed).
//!
//! ```
//! use bytes::Bytes;
//! use http::{Method, Request, StatusCode};
//! use webcache_core::admin;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let cache = webcache_memory_like::cache();
//! let req = Request::post("/tag?soft=true")
//!     .header("authorization", "Bearer s3cret")
//!     .body(Bytes::from("product-42"))
//!     .unwrap();
//! let res = admin::handle(&cache, b"s3cret", req).await;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.body(), r#"{"purged":"tag","target":"product-42","mode":"soft","resources":0}"#);
//! # });
//! # mod webcache_memory_like {
//! #     use std::collections::HashMap;
//! #     use std::sync::Mutex;
//! #     use bytes::Bytes;
//! #     use webcache_core::purge::{Bump, PurgeMode, PurgeRecord};
//! #     use webcache_core::store::{Store, StoreKey, Write};
//! #     #[derive(Default)]
//! #     pub struct S(Mutex<HashMap<StoreKey, PurgeRecord>>);
//! #     impl Store for S {
//! #         async fn get_many(&self, k: &[StoreKey]) -> Result<Vec<Option<Bytes>>, webcache_core::StoreError> { Ok(vec![None; k.len()]) }
//! #         async fn put_many(&self, _: Vec<Write>) -> Result<(), webcache_core::StoreError> { Ok(()) }
//! #         async fn delete_many(&self, _: &[StoreKey]) -> Result<(), webcache_core::StoreError> { Ok(()) }
//! #         async fn bump(&self, keys: &[StoreKey], b: Bump) -> Result<Vec<PurgeRecord>, webcache_core::StoreError> {
//! #             let mut m = self.0.lock().unwrap();
//! #             Ok(keys.iter().map(|k| { let r = m.entry(*k).or_default(); *r = r.apply(b); *r }).collect())
//! #         }
//! #         async fn take_tag(&self, _: &[u8; 16], _: u64, _: PurgeMode) -> Result<Vec<[u8; 16]>, webcache_core::StoreError> { Ok(vec![]) }
//! #     }
//! #     pub fn cache() -> webcache_core::Cache<S> { webcache_core::Cache::new(S::default(), Default::default()) }
//! # }
//! ```

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request, Response, StatusCode};
use sha2::{Digest, Sha256};

use crate::error::PurgeError;
use crate::handler::{Cache, Policy};
use crate::purge::PurgeMode;
use crate::store::Store;

/// The longest body read by an endpoint (a URL or a tag).
pub const MAX_BODY: usize = 8 << 10;

/// True when `headers` carry `Authorization: Bearer <token>`. The
/// comparison takes the same time whatever the token sent (both sides are
/// hashed first, so neither the length nor any prefix leaks). An empty
/// `token` matches nothing.
///
/// ```
/// use http::HeaderMap;
/// use webcache_core::admin::token_matches;
///
/// let mut h = HeaderMap::new();
/// h.insert("authorization", "Bearer s3cret".parse().unwrap());
/// assert!(token_matches(&h, b"s3cret"));
/// assert!(!token_matches(&h, b"s3cre"));
/// assert!(!token_matches(&HeaderMap::new(), b"s3cret"));
/// ```
pub fn token_matches(headers: &HeaderMap, token: &[u8]) -> bool {
    let sent = headers
        .get(AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .and_then(|v| {
            let scheme = v.get(..7)?;
            scheme
                .eq_ignore_ascii_case(b"bearer ")
                .then(|| v[7..].trim_ascii())
        });
    let Some(sent) = sent else {
        return false;
    };
    let (a, b) = (Sha256::digest(sent), Sha256::digest(token));
    let differ = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the fold from being cut short.
    std::hint::black_box(differ) == 0 && !token.is_empty()
}

/// What a purge request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// [`Cache::purge_url`] of this URI.
    Url(String, PurgeMode),
    /// [`Cache::purge_tag`] of this tag.
    Tag(String, PurgeMode),
    /// [`Cache::flush`].
    Flush(PurgeMode),
}

/// Why a request names no [`Action`]: the status and message to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 400, 404 or 405.
    pub status: StatusCode,
    /// What is wrong.
    pub message: &'static str,
}

/// The action of `POST <path>?<query>` with `body` (see the module docs);
/// `path` is relative to where the endpoints are mounted.
///
/// ```
/// use webcache_core::admin::{Action, parse};
/// use webcache_core::PurgeMode;
/// use http::Method;
///
/// assert_eq!(parse(&Method::POST, "/flush", Some("soft=1"), b""), Ok(Action::Flush(PurgeMode::Soft)));
/// assert!(parse(&Method::GET, "/flush", None, b"").is_err());
/// ```
pub fn parse(
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Action, Refusal> {
    let refuse = |status, message| Err(Refusal { status, message });
    let kind = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if !matches!(kind, "url" | "tag" | "flush") {
        return refuse(StatusCode::NOT_FOUND, "no such endpoint: url, tag or flush");
    }
    if method != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    let soft = query
        .unwrap_or("")
        .split('&')
        .any(|p| matches!(p, "soft" | "soft=1" | "soft=true"));
    let mode = if soft {
        PurgeMode::Soft
    } else {
        PurgeMode::Hard
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return refuse(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    let text = text.trim();
    match kind {
        "flush" => Ok(Action::Flush(mode)),
        _ if text.is_empty() => refuse(StatusCode::BAD_REQUEST, "the body names no target"),
        "url" => Ok(Action::Url(text.to_owned(), mode)),
        _ => Ok(Action::Tag(text.to_owned(), mode)),
    }
}

/// Carries out `action` on `cache`: the status and JSON body to answer.
pub async fn execute<S: Store, M: Policy>(
    cache: &Cache<S, M>,
    action: &Action,
) -> (StatusCode, String) {
    let (kind, target, mode, result) = match action {
        Action::Url(uri, mode) => (
            "url",
            uri.as_str(),
            *mode,
            cache.purge_url(uri, *mode).await.map(|()| None),
        ),
        Action::Tag(tag, mode) => (
            "tag",
            tag.as_str(),
            *mode,
            cache.purge_tag(tag, *mode).await.map(Some),
        ),
        Action::Flush(mode) => ("flush", "*", *mode, cache.flush(*mode).await.map(|()| None)),
    };
    match result {
        Ok(resources) => {
            let mut json = format!(
                r#"{{"purged":"{kind}","target":{},"mode":"{}""#,
                json_string(target),
                mode.as_str()
            );
            if let Some(n) = resources {
                json.push_str(&format!(r#","resources":{n}"#));
            }
            json.push('}');
            (StatusCode::OK, json)
        }
        Err(error) => {
            let status = match error {
                PurgeError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, error_json(&error.to_string()))
        }
    }
}

/// Answers a whole purge request: the token checked, the action parsed and
/// carried out. The body is at most [`MAX_BODY`] bytes (the caller reads
/// no more; a longer one is refused with 413 by the adapter).
pub async fn handle<S: Store, M: Policy>(
    cache: &Cache<S, M>,
    token: &[u8],
    request: Request<Bytes>,
) -> Response<Bytes> {
    if !token_matches(request.headers(), token) {
        return unauthorized();
    }
    let action = parse(
        request.method(),
        request.uri().path(),
        request.uri().query(),
        request.body(),
    );
    match action {
        Ok(action) => {
            let (status, json) = execute(cache, &action).await;
            json_response(status, json)
        }
        Err(refusal) => json_response(refusal.status, error_json(refusal.message)),
    }
}

/// Answers a `PURGE` request (the method some proxies and CDNs accept)
/// for the resource it targets ([`Cache::purge_target`]): hard, or soft
/// with `Soft-Purge: 1`. Same token and JSON answers as [`handle`].
pub async fn handle_purge_method<S: Store, M: Policy>(
    cache: &Cache<S, M>,
    token: &[u8],
    parts: &http::request::Parts,
) -> Response<Bytes> {
    if !token_matches(&parts.headers, token) {
        return unauthorized();
    }
    let soft = parts
        .headers
        .get("soft-purge")
        .is_some_and(|v| v == "1" || v.as_bytes().eq_ignore_ascii_case(b"true"));
    let mode = if soft {
        PurgeMode::Soft
    } else {
        PurgeMode::Hard
    };
    match cache.purge_target(parts, mode).await {
        Ok(uri) => json_response(
            StatusCode::OK,
            format!(
                r#"{{"purged":"url","target":{},"mode":"{}"}}"#,
                json_string(&uri),
                mode.as_str()
            ),
        ),
        Err(error) => json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            error_json(&error.to_string()),
        ),
    }
}

fn unauthorized() -> Response<Bytes> {
    let mut res = json_response(StatusCode::UNAUTHORIZED, error_json("unauthorized"));
    res.headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    res
}

/// A JSON response.
pub fn json_response(status: StatusCode, json: String) -> Response<Bytes> {
    let mut res = Response::new(Bytes::from(json));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// `{"error":"<message>"}`.
pub fn error_json(message: &str) -> String {
    format!(r#"{{"error":{}}}"#, json_string(message))
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bearer_and_exact() {
        let mut h = HeaderMap::new();
        for (sent, ok) in [
            ("Bearer abc", true),
            ("bearer abc", true),
            ("Bearer  abc ", true),
            ("Bearer abcd", false),
            ("Bearer ab", false),
            ("Basic abc", false),
            ("abc", false),
            ("Bearer ", false),
        ] {
            h.insert(AUTHORIZATION, sent.parse().unwrap());
            assert_eq!(token_matches(&h, b"abc"), ok, "{sent}");
        }
        h.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert!(!token_matches(&h, b""), "an empty token matches nothing");
    }

    #[test]
    fn endpoints_parse_their_target_and_mode() {
        let post = Method::POST;
        assert_eq!(
            parse(&post, "/admin/url", None, b" https://a.test/x \n"),
            Ok(Action::Url("https://a.test/x".into(), PurgeMode::Hard))
        );
        assert_eq!(
            parse(&post, "/tag/", Some("x=1&soft=true"), b"t"),
            Ok(Action::Tag("t".into(), PurgeMode::Soft))
        );
        assert_eq!(
            parse(&post, "/tag", None, b"").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse(&post, "/tag", None, b"\xff").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse(&post, "/nope", None, b"").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            parse(&Method::GET, "/url", None, b"").unwrap_err().status,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n"), r#""a\"b\\c\u000a""#);
        assert_eq!(error_json("x"), r#"{"error":"x"}"#);
    }
}

//! Purging through the proxy, on when a token is configured
//! ([`ProxyConfigBuilder::purge_token`](crate::ProxyConfigBuilder::purge_token),
//! `--purge-token`): the `PURGE` method on the proxied listener, and
//! `POST /purge/url`, `/purge/tag`, `/purge/flush` on the admin listener,
//! both behind `Authorization: Bearer <token>` with JSON answers (the
//! protocol of [`webcache_core::admin`]).
//!
//! `PURGE` is not a method of RFC 9110; an intermediary forwards methods
//! it does not know (RFC 9110 §7.6), and so does this proxy while no token
//! is configured. With a token, `PURGE` is the operator's: the proxy
//! answers it itself (401 without the right token) and never forwards it.

#![cfg_attr(not(feature = "admin"), allow(dead_code, unused_imports))]

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use webcache_core::admin;
use webcache_core::handler::Policy;
use webcache_core::{Cache, Store};

/// The purge token: compared in constant time, never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PurgeToken(Arc<[u8]>);

impl PurgeToken {
    pub(crate) fn new(token: &str) -> PurgeToken {
        PurgeToken(Arc::from(token.as_bytes()))
    }
}

impl std::fmt::Debug for PurgeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PurgeToken(<redacted>)")
    }
}

/// True for a `PURGE` request when purging is on (with no token, PURGE is
/// forwarded as any unknown method).
pub(crate) fn is_purge(token: Option<&PurgeToken>, parts: &Parts) -> bool {
    token.is_some() && parts.method.as_str() == "PURGE"
}

/// The answer to a `PURGE` request when purging is on; `None` for any
/// other request.
pub(crate) async fn purge_method<S: Store, M: Policy>(
    cache: &Cache<S, M>,
    token: Option<&PurgeToken>,
    parts: &Parts,
) -> Option<Response<Bytes>> {
    if !is_purge(token, parts) {
        return None;
    }
    let token = token?;
    let response = admin::handle_purge_method(cache, &token.0, parts).await;
    tracing::info!(target: "webcache::proxy", uri = %parts.uri, status = response.status().as_u16(), "PURGE");
    Some(response)
}

/// The answer to an admin request under `/purge/`: 404 when purging is
/// off.
pub(crate) async fn admin_purge<S: Store, M: Policy>(
    cache: &Cache<S, M>,
    token: Option<&PurgeToken>,
    request: Request<Incoming>,
) -> Response<Bytes> {
    let Some(token) = token else {
        let json = admin::error_json("purging is off: no purge token configured");
        return admin::json_response(StatusCode::NOT_FOUND, json);
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, admin::MAX_BODY).collect().await else {
        let json = admin::error_json("the body is too large or failed");
        return admin::json_response(StatusCode::PAYLOAD_TOO_LARGE, json);
    };
    let response =
        admin::handle(cache, &token.0, Request::from_parts(parts, body.to_bytes())).await;
    tracing::info!(target: "webcache::proxy", status = response.status().as_u16(), "admin purge");
    response
}

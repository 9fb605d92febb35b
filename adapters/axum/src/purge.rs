//! The purge endpoints as a tower service, to mount on an axum router (or
//! any tower stack): `POST <mount>/url`, `/tag`, `/flush`, `?soft=true`,
//! behind a bearer token, answered in JSON (the protocol of
//! [`webcache_core::admin`]).
//!
//! ```
//! use axum::Router;
//! use axum::routing::get;
//! use webcache_axum::{CacheLayer, purge_service};
//!
//! let cache = webcache_memory::easy_setup();
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(CacheLayer::new(cache.clone()))
//!     .nest_service("/admin/purge", purge_service(cache, "s3cret"));
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use tower_service::Service;
use webcache_core::admin::{self, MAX_BODY};
use webcache_core::handler::{Mixins, Policy};
use webcache_core::{Cache, Store};

/// The purge endpoints of `cache`, for requests that carry
/// `Authorization: Bearer <token>`. Nothing is purged without the token;
/// an empty token refuses every request.
pub fn purge_service<S: Store, M: Policy>(
    cache: Cache<S, M>,
    token: impl Into<Vec<u8>>,
) -> PurgeService<S, M> {
    PurgeService {
        cache,
        token: Arc::from(token.into()),
    }
}

/// See [`purge_service`].
pub struct PurgeService<S, M = Mixins> {
    cache: Cache<S, M>,
    token: Arc<[u8]>,
}

impl<S, M> Clone for PurgeService<S, M> {
    fn clone(&self) -> Self {
        PurgeService {
            cache: self.cache.clone(),
            token: self.token.clone(),
        }
    }
}

impl<S, M> std::fmt::Debug for PurgeService<S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PurgeService").finish_non_exhaustive()
    }
}

impl<S, M, B> Service<Request<B>> for PurgeService<S, M>
where
    S: Store,
    M: Policy,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<webcache_core::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
                let json = admin::error_json("the body is too large or failed");
                let res = admin::json_response(StatusCode::PAYLOAD_TOO_LARGE, json);
                return Ok(res.map(Body::from));
            };
            let request = Request::from_parts(parts, body.to_bytes());
            let response: Response<Bytes> = admin::handle(&this.cache, &this.token, request).await;
            Ok(response.map(Body::from))
        })
    }
}

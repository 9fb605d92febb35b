//! The handler of a cached route: the cache in front of the route's own
//! handler.

use std::sync::Arc;

use bytes::Bytes;
use http::header::DATE;
use http::request::Parts;
use http_body_util::Empty;
use rocket::http::Status;
use rocket::route::{Handler, Outcome};
use rocket::{Data, Request, Response as RocketResponse};
use webcache_core::handler::{Pending, Policy, RequestOutcome};
use webcache_core::{Cache, Store};

use crate::convert;
use crate::local::RequestLocal;
use crate::loopback::{Loopback, LoopbackUpstream, NO_DATE_NAME, TOKEN_FIELD};

/// Answers hits from storage without calling the route's handler (so
/// without its request guards either); hands everything else to it and
/// gives its response to the cache's response handler.
pub struct CachedHandler<S, M> {
    pub(crate) cache: Cache<S, M>,
    pub(crate) loopback: Arc<Loopback>,
    pub(crate) inner: Arc<dyn Handler>,
}

impl<S, M> std::fmt::Debug for CachedHandler<S, M> {
    /// The cache; the route's handler has no `Debug` of its own.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedHandler")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl<S, M> Clone for CachedHandler<S, M> {
    fn clone(&self) -> Self {
        CachedHandler {
            cache: self.cache.clone(),
            loopback: self.loopback.clone(),
            inner: self.inner.clone(),
        }
    }
}

#[rocket::async_trait]
impl<S, M> Handler for CachedHandler<S, M>
where
    S: Store + Sync + 'static,
    M: Policy + Sync + 'static,
{
    async fn handle<'r>(&self, request: &'r Request<'_>, data: Data<'r>) -> Outcome<'r> {
        if self.is_loopback(request) {
            return pass_loopback(self.inner.handle(request, data).await);
        }
        let parts = convert::request_parts(request);
        let pending = match self.cache.request_handler().handle(&parts).await {
            RequestOutcome::Respond(response, refresh) => {
                if let Some(refresh) = refresh {
                    self.refresh(refresh);
                }
                return Outcome::Success(convert::stored_response(request, response));
            }
            RequestOutcome::Forward(pending) => pending,
        };
        // The forward path's state is large: boxed, so that the future of
        // every hit stays small (Rocket boxes it, and it is moved).
        Box::pin(self.forward(request, data, parts, pending)).await
    }
}

/// `parts` as the cache forwards them.
fn prepared(parts: &Parts, pending: &Pending) -> Parts {
    let mut prepared = http::Request::new(()).into_parts().0;
    prepared.method = parts.method.clone();
    prepared.uri = parts.uri.clone();
    prepared.headers = parts.headers.clone();
    pending.prepare(&mut prepared);
    prepared
}

/// A loopback request's response, as the route made it, marked when it
/// has no `Date` (the server adds one).
fn pass_loopback(outcome: Outcome<'_>) -> Outcome<'_> {
    match outcome {
        Outcome::Success(mut response) => {
            if !response.headers().contains(DATE.as_str()) {
                response.set_raw_header(NO_DATE_NAME, "1");
            }
            Outcome::Success(response)
        }
        other => other,
    }
}

impl<S, M> CachedHandler<S, M>
where
    S: Store + Sync + 'static,
    M: Policy + Sync + 'static,
{
    fn is_loopback(&self, request: &Request<'_>) -> bool {
        request
            .headers()
            .get_one(TOKEN_FIELD.as_str())
            .is_some_and(|token| self.loopback.is_token(token))
    }

    /// Sends the request on to the route's handler: as it is, or over
    /// loopback when the route must see another request than the client's.
    async fn forward<'r>(
        &self,
        request: &'r Request<'_>,
        data: Data<'r>,
        parts: Parts,
        pending: Pending,
    ) -> Outcome<'r> {
        let prepared = prepared(&parts, &pending);
        if prepared.headers == parts.headers || !self.loopback.ready() {
            self.forward_here(request, data, pending).await
        } else {
            self.forward_on_loopback(prepared, pending).await
        }
    }

    fn upstream(&self) -> LoopbackUpstream {
        LoopbackUpstream(self.loopback.clone())
    }

    fn refresh(&self, refresh: Pending) {
        if self.loopback.ready() {
            self.cache
                .refresh_in_background::<Empty<Bytes>, _>(refresh, self.upstream());
        }
    }

    /// Calls the route's handler with the client's request. A forward or an
    /// error (a guard that failed) passes on to Rocket unchanged, and the
    /// cache lets the request go. A response is finished by the fairing's
    /// `on_response`, once Rocket has added the route's cookies — or here,
    /// when the fairing is not attached.
    async fn forward_here<'r>(
        &self,
        request: &'r Request<'_>,
        data: Data<'r>,
        pending: Pending,
    ) -> Outcome<'r> {
        if !self.loopback.ready() {
            return self.finish_here(request, data, pending).await;
        }
        let slot = RequestLocal::of(request);
        slot.put(self.loopback.id(), pending);
        let outcome = self.inner.handle(request, data).await;
        if !matches!(outcome, Outcome::Success(_)) {
            drop(slot.take(self.loopback.id()));
        }
        outcome
    }

    /// Without the fairing: finishes the route's response in the handler.
    async fn finish_here<'r>(
        &self,
        request: &'r Request<'_>,
        data: Data<'r>,
        pending: Pending,
    ) -> Outcome<'r> {
        let response = match self.inner.handle(request, data).await {
            Outcome::Success(response) => response,
            other => return other,
        };
        let mut upstream = self.upstream();
        match finish(&self.cache, pending, response, &mut upstream).await {
            Ok(done) => Outcome::Success(done),
            Err(error) => bad_gateway(&error),
        }
    }

    /// Sends the prepared request to the server itself, and hands the
    /// response to the cache.
    async fn forward_on_loopback<'r>(&self, prepared: Parts, pending: Pending) -> Outcome<'r> {
        let mut upstream = self.upstream();
        let request = http::Request::from_parts(prepared, Empty::new());
        let response = match webcache_core::Upstream::call(&mut upstream, request).await {
            Ok(response) => response,
            Err(error) => return bad_gateway(&error),
        };
        match self.cache.finish(pending, response, &mut upstream).await {
            Ok(done) => Outcome::Success(convert::finished_response(done, None)),
            Err(error) => bad_gateway(&error),
        }
    }
}

fn bad_gateway<'r>(error: &crate::Error) -> Outcome<'r> {
    tracing::warn!(target: "webcache::rocket", %error, "loopback request failed");
    Outcome::Error(Status::BadGateway)
}

/// Hands a route's response to the core's response handler (and its one
/// retry to the loopback upstream), and returns what to send.
pub(crate) async fn finish<'r, S, M>(
    cache: &Cache<S, M>,
    pending: Pending,
    response: RocketResponse<'r>,
    upstream: &mut LoopbackUpstream,
) -> Result<RocketResponse<'r>, crate::Error>
where
    S: Store,
    M: Policy,
{
    let limit = cache.config().max_body_size();
    let (response, pump) = convert::response_from_rocket(response, limit).await;
    let done = cache.finish(pending, response, upstream).await?;
    Ok(convert::finished_response(done, pump))
}

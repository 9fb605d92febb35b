//! The whole exchange, for adapters that own the next hop: request handler,
//! forward, response handler, background refreshes and the one retry.

use std::future::Future;

use bytes::Buf;
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tracing::Instrument;

use super::Cache;
use super::body::CacheBody;
use super::mixins::Policy;
use super::request::{Pending, RequestOutcome};
use super::response::ResponseOutcome;
use crate::store::Store;

/// Where the cache forwards requests: the application (an inner service)
/// or an upstream server. Cloned for background refreshes.
pub trait Upstream<ReqBody>: Clone + Send + 'static {
    /// The response body.
    type Body: Body<Data: Buf + Send, Error: Send> + Send + 'static;
    /// The error of a failed exchange; passed to the caller unchanged.
    type Error: Send + 'static;

    /// Sends `request` and returns the response.
    fn call(
        &mut self,
        request: Request<ReqBody>,
    ) -> impl Future<Output = Result<Response<Self::Body>, Self::Error>> + Send;
}

impl<S: Store, M: Policy> Cache<S, M> {
    /// Serves `request` through the cache, forwarding to `upstream` when
    /// needed: the whole of RFC 9111 as the request and response handlers
    /// implement it, plus background refreshes (refresh-ahead,
    /// stale-while-revalidate) on clones of `upstream`, and stale responses
    /// when `upstream` fails within `stale-if-error`.
    ///
    /// Errors from `upstream` are returned unchanged; the cache itself never
    /// fails a request.
    ///
    /// Each call runs in a `debug` span `webcache.request` (target
    /// `webcache::core`) with the fields `method`, `uri`, and `outcome` and
    /// `reason` (the labels of `webcache_requests_total`, see the crate
    /// docs, "Metrics"), recorded once the request handler has decided.
    pub async fn serve<ReqBody, U>(
        &self,
        request: Request<ReqBody>,
        upstream: U,
    ) -> Result<Response<CacheBody<U::Body>>, U::Error>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let span = tracing::debug_span!(
            target: "webcache::core",
            "webcache.request",
            method = %request.method(),
            uri = %request.uri(),
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
        );
        self.serve_in_span(request, upstream).instrument(span).await
    }

    /// [`serve`](Self::serve), inside its span.
    async fn serve_in_span<ReqBody, U>(
        &self,
        request: Request<ReqBody>,
        upstream: U,
    ) -> Result<Response<CacheBody<U::Body>>, U::Error>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let (parts, body) = request.into_parts();
        let pending = match self.request_handler().handle(&parts).await {
            RequestOutcome::Respond(response, refresh) => {
                if let Some(refresh) = refresh {
                    self.refresh_in_background(refresh, upstream);
                }
                return Ok(response.map(CacheBody::full));
            }
            RequestOutcome::Forward(pending) => pending,
        };
        // The forward path's state is several kilobytes: boxed, so that the
        // future of every hit stays small (it is moved into a box by tower
        // adapters, and copied on each move).
        Box::pin(self.forward(parts, body, pending, upstream)).await
    }

    /// Forwards a request the request handler could not answer, and hands
    /// the response to the response handler (once more after an unusable
    /// 304).
    async fn forward<ReqBody, U>(
        &self,
        mut parts: http::request::Parts,
        body: ReqBody,
        pending: Pending,
        mut upstream: U,
    ) -> Result<Response<CacheBody<U::Body>>, U::Error>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let span = tracing::debug_span!(target: "webcache::core", "webcache.forward", method = %parts.method, uri = pending.uri());
        async move {
            pending.prepare(&mut parts);
            let response = match upstream.call(Request::from_parts(parts, body)).await {
                Ok(response) => response,
                Err(error) => {
                    let mut pending = pending;
                    return match self.shared.no_answer(&mut pending) {
                        Some(stale) => Ok(stale.map(CacheBody::full)),
                        None => Err(error),
                    };
                }
            };
            self.finish(pending, response, &mut upstream).await
        }
        .instrument(span)
        .await
    }

    /// Hands the response to a forwarded request to the response handler,
    /// and when it asks for its one unconditional retry (a 304 that matches
    /// nothing stored, RFC 9111 §4.3.4), sends that through `upstream` and
    /// hands the new response over too. Adapters that forward on their own
    /// (the separated response layer) call this after their forward.
    pub async fn finish<ReqBody, U>(
        &self,
        pending: Pending,
        response: Response<U::Body>,
        upstream: &mut U,
    ) -> Result<Response<CacheBody<U::Body>>, U::Error>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let mut outcome = self.response_handler().handle(pending, response).await;
        loop {
            match outcome {
                ResponseOutcome::Respond(response) => return Ok(response),
                // A retry is unconditional, so the response handler never
                // asks twice; the loop ends at the second response.
                ResponseOutcome::Retry(pending) => {
                    let response = upstream.call(pending.synthesize_request()).await?;
                    outcome = self.response_handler().handle(*pending, response).await;
                }
            }
        }
    }

    /// Runs a background refresh: forwards the synthesized request and
    /// gives the response to the response handler, reading the body so
    /// that it is stored.
    pub fn refresh_in_background<ReqBody, U>(&self, pending: Pending, mut upstream: U)
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let handler = self.response_handler();
        let shared = self.shared.clone();
        let tasks = self.shared.tasks.clone();
        tasks.spawn(async move {
            let mut pending = pending;
            let request = pending.synthesize_request();
            let Ok(response) = upstream.call(request).await else {
                shared.no_answer(&mut pending);
                return;
            };
            if let ResponseOutcome::Respond(response) = handler.handle(pending, response).await {
                let mut body = response.into_body();
                while let Some(frame) = body.frame().await {
                    if frame.is_err() {
                        break;
                    }
                }
            }
        });
    }
}

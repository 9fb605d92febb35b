//! The whole exchange, for adapters that own the next hop: request handler,
//! forward, response handler, background refreshes and the one retry.

use std::future::Future;

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tracing::Instrument;

use super::Cache;
use super::body::CacheBody;
use super::mixins::Policy;
use super::request::{Answer, Early, Now, Pending, RequestOutcome, Requests};
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

/// A request [`Cache::serve_now`] could not answer without waiting:
/// give it to [`Cache::serve_later`]. It holds the request, its span and
/// the lookup already made, if any (boxed: it is handed back by value).
pub struct Later<ReqBody>(Box<Deferred<ReqBody>>);

struct Deferred<ReqBody> {
    parts: http::request::Parts,
    body: ReqBody,
    early: Option<Box<Early>>,
    span: tracing::Span,
}

/// A request [`Cache::answer_now`] could not answer without waiting:
/// its span and the lookup already made, if any.
pub struct NotNow {
    early: Option<Box<Early>>,
    span: tracing::Span,
}

impl NotNow {
    /// The [`Later`] of the request `answer_now` was given, for
    /// [`Cache::serve_later`], which goes on from the lookup already made.
    /// Give it the same parts: a lookup made for another resource is not
    /// reused (it is looked up again).
    pub fn later<ReqBody>(self, parts: http::request::Parts, body: ReqBody) -> Later<ReqBody> {
        Later(Box::new(Deferred {
            parts,
            body,
            early: self.early,
            span: self.span,
        }))
    }
}

impl std::fmt::Debug for NotNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotNow")
            .field("looked_up", &self.early.is_some())
            .finish_non_exhaustive()
    }
}

impl<ReqBody> Later<ReqBody> {
    /// The request.
    pub fn request(&self) -> &http::request::Parts {
        &self.0.parts
    }
}

impl<ReqBody> std::fmt::Debug for Later<ReqBody> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Later")
            .field("method", &self.0.parts.method)
            .field("uri", &self.0.parts.uri)
            .field("looked_up", &self.0.early.is_some())
            .finish_non_exhaustive()
    }
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
        match self.serve_now(request, || upstream.clone()) {
            Ok(response) => Ok(response),
            Err(later) => self.serve_later(later, upstream).await,
        }
    }

    /// [`serve`](Self::serve)'s answer when it needs no waiting: a hit (or
    /// an `only-if-cached` 504) from a store that reads without waiting
    /// ([`Store::reads_without_waiting`], e.g. the in-memory store), with
    /// no future at all. Otherwise [`Later`], which
    /// [`serve_later`](Self::serve_later) takes on from where this
    /// stopped; the two together are `serve`, counted once.
    ///
    /// `upstream` is called only when a background refresh starts. An
    /// adapter whose response future is boxed answers hits through this
    /// without the box.
    ///
    /// ```
    /// # use std::collections::HashMap;
    /// # use std::convert::Infallible;
    /// # use std::sync::Mutex;
    /// # use bytes::Bytes;
    /// # use http::{Request, Response};
    /// # use http_body_util::Full;
    /// # use webcache_core::store::{Store, StoreKey, Write};
    /// # use webcache_core::{Cache, Config, StoreError, Upstream};
    /// /// A map in memory: its reads never wait, and it says so.
    /// #[derive(Default)]
    /// struct MapStore(Mutex<HashMap<StoreKey, Bytes>>);
    ///
    /// impl Store for MapStore {
    ///     fn reads_without_waiting(&self) -> bool {
    ///         true
    ///     }
    ///     async fn get_many(&self, keys: &[StoreKey]) -> Result<Vec<Option<Bytes>>, StoreError> {
    ///         let map = self.0.lock().unwrap();
    ///         Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
    ///     }
    /// #   async fn put_many(&self, writes: Vec<Write>) -> Result<(), StoreError> {
    /// #       let mut map = self.0.lock().unwrap();
    /// #       for w in writes { map.insert(w.key, w.value); }
    /// #       Ok(())
    /// #   }
    /// #   async fn delete_many(&self, keys: &[StoreKey]) -> Result<(), StoreError> {
    /// #       let mut map = self.0.lock().unwrap();
    /// #       for k in keys { map.remove(k); }
    /// #       Ok(())
    /// #   }
    ///     // put_many, delete_many ...
    /// }
    /// # #[derive(Clone)]
    /// # struct App;
    /// # impl Upstream<Full<Bytes>> for App {
    /// #     type Body = Full<Bytes>;
    /// #     type Error = Infallible;
    /// #     async fn call(&mut self, _: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    /// #         Ok(Response::builder().header("cache-control", "max-age=60").body(Full::new(Bytes::from("hi"))).unwrap())
    /// #     }
    /// # }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let cache = Cache::new(MapStore::default(), Config::default());
    /// let req = || Request::get("http://example.com/").body(Full::default()).unwrap();
    ///
    /// // A miss cannot be answered now; serve_later forwards it.
    /// let later = cache.serve_now(req(), || App).unwrap_err();
    /// cache.serve_later(later, App).await.unwrap();
    ///
    /// // The hit is answered at once.
    /// let hit = cache.serve_now(req(), || App).unwrap();
    /// assert_eq!(hit.headers()["cache-status"], "webcache; hit; ttl=60");
    ///
    /// // answer_now borrows the parts, and gives the whole body.
    /// let (parts, _) = req().into_parts();
    /// let hit = cache.answer_now(&parts, || App).unwrap();
    /// assert_eq!(hit.body(), "hi");
    ///
    /// // What it cannot answer goes on with the same parts.
    /// let other = || Request::get("http://example.com/b").body(Full::default()).unwrap();
    /// let (parts, body) = other().into_parts();
    /// let not_now = cache.answer_now(&parts, || App).unwrap_err();
    /// cache.serve_later(not_now.later(parts, body), App).await.unwrap();
    /// # });
    /// ```
    pub fn serve_now<ReqBody, U>(
        &self,
        request: Request<ReqBody>,
        upstream: impl FnOnce() -> U,
    ) -> Result<Response<CacheBody<U::Body>>, Later<ReqBody>>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let (parts, body) = request.into_parts();
        match self.answer_now(&parts, upstream) {
            Ok(response) => Ok(response.map(CacheBody::full)),
            Err(not_now) => Err(not_now.later(parts, body)),
        }
    }

    /// [`serve_now`](Self::serve_now) on a request the caller keeps: the
    /// hit's response with its whole body, or [`NotNow`], which
    /// [`NotNow::later`] turns into the [`Later`] of the same request. An
    /// adapter that already holds the request's parts answers a hit
    /// through this without moving them (see `serve_now`'s example).
    #[inline]
    pub fn answer_now<ReqBody, U>(
        &self,
        parts: &http::request::Parts,
        upstream: impl FnOnce() -> U,
    ) -> Result<Response<Bytes>, NotNow>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let span = tracing::debug_span!(
            target: "webcache::core",
            "webcache.request",
            method = %parts.method,
            uri = %parts.uri,
            outcome = tracing::field::Empty,
            reason = tracing::field::Empty,
        );
        let now = {
            let _entered = span.enter();
            Requests(&self.shared).handle_now(parts)
        };
        match now {
            Now::Answered(Answer(response, refresh)) => {
                if let Some(refresh) = refresh {
                    self.refresh_in_background(*refresh, upstream());
                }
                Ok(response)
            }
            Now::Later(early) => Err(NotNow { early, span }),
        }
    }

    /// Serves a request [`serve_now`](Self::serve_now) could not answer,
    /// forwarding to `upstream` when needed, in the request's span.
    pub async fn serve_later<ReqBody, U>(
        &self,
        later: Later<ReqBody>,
        upstream: U,
    ) -> Result<Response<CacheBody<U::Body>>, U::Error>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let Deferred {
            parts,
            body,
            early,
            span,
        } = *later.0;
        self.serve_in_span(parts, body, early, upstream)
            .instrument(span)
            .await
    }

    /// [`serve_later`](Self::serve_later), inside its span.
    async fn serve_in_span<ReqBody, U>(
        &self,
        parts: http::request::Parts,
        body: ReqBody,
        early: Option<Box<Early>>,
        upstream: U,
    ) -> Result<Response<CacheBody<U::Body>>, U::Error>
    where
        ReqBody: Default + Send + 'static,
        U: Upstream<ReqBody>,
    {
        let pending = match Requests(&self.shared).handle_from(&parts, early).await {
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

//! The response side: finish, store, freshen and invalidate.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{DATE, ETAG, HeaderMap, HeaderName};
use http::response::Parts;
use http::{Method, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use super::Shared;
use super::body::{CacheBody, Capture};
use super::mixins::{Policy, Retrieval, Storability, Validation};
use super::plan::{ResponsePlan, plan_response};
use super::request::{Kind, Pending};
use crate::config::Role;
use crate::freshness::Freshness;
use crate::headers::{CacheControl, Vary, fmt_http_date, unix_secs};
use crate::invalidation::invalidation_targets;
use crate::key::Metadata;
use crate::partial::can_answer;
use crate::reuse::freshness;
use crate::status::CacheStatus;
use crate::storage::{NotStorable, body_matches_length, content_length, selecting_within_limits};
use crate::store::{Store, StoreKey, StoredResponse, Write};
use crate::telemetry::StoreOp;
use crate::validation::{
    Evaluator, Precondition, freshen, has_preconditions, head_matches, identifies,
    not_modified_headers,
};

/// What the response handler decided.
#[derive(Debug)]
// The common variant is the response itself; boxing it would cost an
// allocation on every forwarded response.
#[allow(clippy::large_enum_variant)]
pub enum ResponseOutcome<B: Body> {
    /// Send this response.
    Respond(Response<CacheBody<B>>),
    /// The upstream answered a validation with a 304 that matches nothing
    /// stored (RFC 9111 §4.3.4), or that leaves a stored incomplete
    /// response unable to answer the request (its If-Range no longer
    /// holds, RFC 9111 §3.3), or answered the cache's request for the
    /// bytes a stored part lacks with something that does not complete it
    /// (§3.4): send [`Pending::synthesize_request`] (now the client's own
    /// request, unconditional) forward once more and hand that response
    /// back with this `Pending`.
    Retry(Box<Pending>),
}

/// The response side of the cache.
pub struct ResponseHandler<S, M> {
    shared: Arc<Shared<S, M>>,
}

impl<S, M> Clone for ResponseHandler<S, M> {
    fn clone(&self) -> Self {
        ResponseHandler {
            shared: self.shared.clone(),
        }
    }
}

/// The result of reading a body of known, storable size.
enum Collected<B: Body> {
    Complete(Bytes, Option<HeaderMap>),
    /// Longer than announced: what was read, and the rest.
    Overflow(VecDeque<Bytes>, Pin<Box<B>>),
    Failed(B::Error),
}

async fn collect<B>(mut body: Pin<Box<B>>, limit: usize) -> Collected<B>
where
    B: Body,
    B::Data: Buf,
{
    let mut chunks: VecDeque<Bytes> = VecDeque::new();
    let mut len = 0usize;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame: Frame<B::Data> = match frame {
            Ok(f) => f,
            Err(e) => return Collected::Failed(e),
        };
        match frame.into_data() {
            Ok(mut data) => {
                let chunk = data.copy_to_bytes(data.remaining());
                len += chunk.len();
                chunks.push_back(chunk);
                if len > limit {
                    return Collected::Overflow(chunks, body);
                }
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    trailers = Some(t);
                }
            }
        }
    }
    let data = match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop_front().unwrap_or_default(),
        _ => {
            let mut buf = BytesMut::with_capacity(len);
            for c in chunks {
                buf.extend_from_slice(&c);
            }
            buf.freeze()
        }
    };
    Collected::Complete(data, trailers)
}

/// What storing a response needs besides the response: its Cache-Control,
/// when it was received, whether it may be stored, and whether the cache
/// added its Date (a 206's Last-Modified is then no strong validator).
struct Fill {
    cc: CacheControl,
    now: SystemTime,
    store: Result<(), NotStorable>,
    date_added: bool,
    /// The response's tags (see [`crate::purge`]).
    tags: Vec<String>,
}

impl<S: Store, M: Policy> ResponseHandler<S, M> {
    pub(crate) fn new(shared: Arc<Shared<S, M>>) -> Self {
        ResponseHandler { shared }
    }

    /// Handles the response to a forwarded request.
    ///
    /// `Date` is added when missing (RFC 9110 §6.6.1); then
    /// [`plan_response`] decides, and this carries the plan out: unsafe
    /// methods invalidate (RFC 9111 §4.4), and a POST's response that is a
    /// representation of its target is then stored for GET (RFC 9110
    /// §9.3.3); a 304 to a validation freshens
    /// the stored response and serves it (§4.3.4); a 5xx to a validation
    /// may be answered stale (RFC 5861 §4); a 200 to HEAD freshens or
    /// invalidates the stored GET response (§4.3.5); a full response to GET
    /// is stored when the rules allow (§3) — collected first when its size
    /// is known and small enough, otherwise streamed through while it is
    /// captured; a 206 is stored as an incomplete response, combined with
    /// the stored one when they share a strong validator (§3.3, §3.4) — and
    /// in the application role gets an ETag and has the client's
    /// preconditions evaluated (RFC 9110 §13).
    pub async fn handle<B>(&self, pending: Pending, response: Response<B>) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let s = &*self.shared;
        let now = s.clock.now();
        s.outages.answered(pending.primary.digest());
        let (mut parts, body) = response.into_parts();
        let body = Box::pin(body);
        let date_added = !parts.headers.contains_key(DATE);
        if date_added {
            parts.headers.insert(DATE, fmt_http_date(now));
        }
        let tags = self.take_tags(&pending, &mut parts.headers);
        let cc = crate::targeted::response_cache_control(&parts.headers, &s.config);
        let announced = content_length(&parts.headers).or_else(|| body.size_hint().exact());
        let plan = plan_response(
            &pending,
            &parts,
            &cc,
            announced,
            s.mixins.storability(),
            &s.config,
        );
        let fill_tags = tags.clone();
        let fill = move |store| Fill {
            cc,
            now,
            store,
            date_added,
            tags: fill_tags,
        };
        let streamed = |body| CacheBody::with_parts(VecDeque::new(), body, None);
        match plan {
            ResponsePlan::PassThrough => self.pass_forwarded(pending, parts, streamed(body)),
            ResponsePlan::Invalidate => {
                self.invalidate(&pending, &parts).await;
                self.pass_forwarded(pending, parts, streamed(body))
            }
            // RFC 9110 §9.3.3, after RFC 9111 §4.4.
            ResponsePlan::InvalidateAndStore { collect } => {
                self.invalidate_and_store(pending, parts, body, fill(Ok(())), collect)
                    .await
            }
            ResponsePlan::Complete => self.complete(pending, parts, body, fill(Ok(()))).await,
            ResponsePlan::Freshen => self.freshen(pending, parts, body, (now, tags)).await,
            ResponsePlan::FreshenVariant => {
                self.freshen_variant(pending, parts, body, (now, tags))
                    .await
            }
            ResponsePlan::Retry => ResponseOutcome::Retry(Box::new(pending.into_retry())),
            ResponsePlan::StaleOnError => self.stale_on_error(pending, parts, body),
            ResponsePlan::Head { update } => {
                let mut pending = pending;
                if update {
                    self.update_from_head(&mut pending, &parts, now).await;
                }
                pending.release_flight(false);
                self.pass_forwarded(pending, parts, streamed(body))
            }
            ResponsePlan::Collect { store, etag } => {
                self.collect(pending, parts, body, fill(store), etag).await
            }
            ResponsePlan::Capture => self.capture(pending, parts, body, fill(Ok(()))),
            ResponsePlan::Pass(why) => {
                s.metrics.not_stored(why);
                tracing::debug!(target: "webcache::core", uri = pending.uri(), reason = %why, "not stored");
                let mut pending = pending;
                pending.release_flight(false);
                self.pass_forwarded(pending, parts, streamed(body))
            }
        }
    }

    /// Invalidates what an unsafe method changed (RFC 9111 §4.4), then
    /// stores its response for GET (RFC 9110 §9.3.3): collected first when
    /// `collect`, else captured while it streams through.
    async fn invalidate_and_store<B>(
        &self,
        mut pending: Pending,
        parts: Parts,
        body: Pin<Box<B>>,
        fill: Fill,
        collect: bool,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        self.invalidate(&pending, &parts).await;
        // Its own invalidation does not void its store; a later one does.
        pending.ticket = self.shared.fence.ticket();
        if collect {
            self.collect(pending, parts, body, fill, false).await
        } else {
            self.capture(pending, parts, body, fill)
        }
    }

    /// The tags `headers` name (see [`crate::purge`]), removed from them
    /// unless configured to keep them; none for an exempt request, which
    /// is left untouched.
    fn take_tags(&self, pending: &Pending, headers: &mut HeaderMap) -> Vec<String> {
        let config = &self.shared.config;
        if pending.kind == Kind::Exempt || config.tag_fields().is_empty() {
            return Vec::new();
        }
        let tags = crate::purge::response_tags(headers, config.tag_fields());
        if !config.keep_tags() {
            crate::purge::strip_tags(headers, config.tag_fields());
        }
        tags
    }

    /// Invalidates what a response to an unsafe method names (RFC 9111
    /// §4.4): each target resource with every representation of it.
    async fn invalidate(&self, pending: &Pending, parts: &Parts) {
        let s = &*self.shared;
        let retrieval = s.mixins.retrieval();
        let targets = invalidation_targets(
            &pending.facts.method,
            parts.status,
            &pending.primary,
            &parts.headers,
            &s.config,
            |uri| retrieval.primary_key_for_uri(uri, &s.config),
        );
        for key in &targets {
            tracing::debug!(target: "webcache::core", uri = key.uri(), outcome = "invalidate");
            s.delete_resource(key).await;
        }
    }

    /// A 304 that identifies the stored response: freshen it (RFC 9111
    /// §4.3.4), store it, and serve it. An incomplete response that the
    /// freshened fields no longer let answer (its If-Range no longer holds)
    /// needs the full response: one unconditional retry for a client, and
    /// nothing more for a background refresh.
    async fn freshen<B>(
        &self,
        mut pending: Pending,
        parts: Parts,
        body: Pin<Box<B>>,
        (now, tags): (SystemTime, Vec<String>),
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let Some(mut stored) = pending.stored.take() else {
            // The plan is Freshen only with a stored response.
            return self.pass(
                pending,
                parts,
                CacheBody::with_parts(VecDeque::new(), body, None),
                None,
            );
        };
        freshen(&mut stored, &parts.headers, pending.request_time, now);
        if !tags.is_empty() {
            // The 304 names the tags anew (RFC 9111 §4.3.4: its fields
            // replace the stored ones).
            stored.tags = tags;
        }
        let cc = crate::targeted::response_cache_control(&stored.headers, &self.shared.config);
        let f = freshness(&stored, &cc, &self.shared.config, now);
        let stored_ok = self.rewrite(&pending, &stored, &cc, &f).await;
        if !can_answer(&stored, &pending.facts.method, &pending.request_headers) {
            if pending.kind == Kind::Refresh {
                pending.release_flight(stored_ok);
                let body = CacheBody::with_parts(VecDeque::new(), body, None);
                return self.pass(pending, parts, body, None);
            }
            pending.stored = Some(stored);
            return ResponseOutcome::Retry(Box::new(pending.into_retry()));
        }
        pending.release_flight(stored_ok);
        let status = CacheStatus::forward(self.shared.status_name(), pending.forward_reason())
            .fwd_status(304)
            .ttl(f.ttl_secs())
            .stored(stored_ok);
        let response = self.respond_stored(&pending, stored, &f, status);
        ResponseOutcome::Respond(response.map(CacheBody::full))
    }

    /// The stored variant a 304 to a Vary miss selects (RFC 9111 §4.3.4),
    /// fetched, checked against the 304, and given the request's selecting
    /// fields: the origin's 304 says it is what it selects for them too, so
    /// that, freshened, it is stored for them as well. `None` when it is
    /// gone, written under another salt, purged hard, or not what the 304
    /// identifies.
    async fn selected_variant(
        &self,
        pending: &Pending,
        not_modified: &HeaderMap,
    ) -> Option<StoredResponse> {
        let s = &*self.shared;
        let metadata = pending.metadata.as_ref()?;
        let variants = metadata.variants.to_vec();
        let variant = crate::validation::selected_variant(&variants, not_modified)?;
        let key = StoreKey::representation(*pending.primary.digest(), variant.digest);
        let bytes = s.get_many(&[key]).await?.pop().flatten()?;
        let mut stored = StoredResponse::decode(bytes)
            .ok()
            .filter(|st| st.salt == metadata.salt && st.uri == pending.primary.uri())
            // Purged hard: gone, whatever the origin says of it now.
            .filter(|st| {
                pending
                    .seen
                    .is_some_and(|seen| seen.verdict(st) != crate::purge::Verdict::Gone)
            })
            .filter(|st| identifies(&st.headers, not_modified))?;
        let secondary = s.secondary_key(&pending.primary, &metadata.vary, &pending.request_headers);
        stored.selecting = secondary.selecting().to_vec();
        Some(stored)
    }

    /// A 304 to a validation of the stored variants: the variant it names
    /// is fetched and freshened (RFC 9111 §4.3.4); one unconditional retry
    /// when it names none that is still stored.
    async fn freshen_variant<B>(
        &self,
        mut pending: Pending,
        parts: Parts,
        body: Pin<Box<B>>,
        now: (SystemTime, Vec<String>),
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        match self.selected_variant(&pending, &parts.headers).await {
            Some(stored) => {
                pending.stored = Some(stored);
                self.freshen(pending, parts, body, now).await
            }
            None => ResponseOutcome::Retry(Box::new(pending.into_retry())),
        }
    }

    /// Serves the stored response stale in place of an error answering its
    /// validation (RFC 5861 §4).
    fn stale_on_error<B>(
        &self,
        mut pending: Pending,
        parts: Parts,
        body: Pin<Box<B>>,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        // The waiting requests get the same answer. With the agreement that
        // a 5xx means the origin is down, the next ones too for a moment
        // (Config::unreachable_backoff); plain stale-if-error asks again.
        if self.shared.config.stale_on_server_error() {
            let now = self.shared.clock.now();
            self.shared.outages.failed(pending.primary.digest(), now);
        }
        pending.release_flight_failed();
        match self.shared.stale_on_error(&pending, Some(parts.status)) {
            Some(stale) => ResponseOutcome::Respond(stale.map(CacheBody::full)),
            // Not reached: the plan is StaleOnError only when it can serve.
            None => {
                let body = CacheBody::with_parts(VecDeque::new(), body, None);
                self.pass_forwarded(pending, parts, body)
            }
        }
    }

    /// A 200 to HEAD updates the stored response to GET (RFC 9111 §4.3.5):
    /// freshened when it agrees with it, marked stale when it contradicts
    /// it.
    async fn update_from_head(&self, pending: &mut Pending, parts: &Parts, now: SystemTime) {
        let Some(mut stored) = pending.stored.take() else {
            return;
        };
        if head_matches(&stored, &parts.headers) {
            freshen(&mut stored, &parts.headers, pending.request_time, now);
        } else {
            stored.invalidated = true;
        }
        let cc = crate::targeted::response_cache_control(&stored.headers, &self.shared.config);
        let f = freshness(&stored, &cc, &self.shared.config, now);
        self.rewrite(pending, &stored, &cc, &f).await;
    }

    /// Reads a body of known, small length whole; stores it when the plan
    /// allows and gives it an ETag when it asks (RFC 9110 §8.8.3). A body
    /// longer than announced, or one that fails, is passed on unstored.
    async fn collect<B>(
        &self,
        mut pending: Pending,
        mut parts: Parts,
        body: Pin<Box<B>>,
        fill: Fill,
        etag: bool,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let s = &*self.shared;
        let status = CacheStatus::forward(s.status_name(), pending.forward_reason())
            .fwd_status(parts.status.as_u16());
        let (data, trailers) = match collect(body, s.config.max_body_size()).await {
            Collected::Complete(data, trailers) => (data, trailers),
            Collected::Overflow(prefix, rest) => {
                pending.release_flight(false);
                let body = CacheBody::with_parts(prefix, rest, None);
                return self.pass(pending, parts, body, Some(status));
            }
            Collected::Failed(error) => {
                pending.release_flight(false);
                return self.pass(pending, parts, CacheBody::failed(error), Some(status));
            }
        };
        if let Err(why) = body_matches_length(&parts.headers, data.len()) {
            // Cut short (RFC 9112 §6.3): never stored; the client gets what
            // came, and the server's framing by Content-Length fails it.
            s.metrics.not_stored(why);
            pending.release_flight(false);
            let body = CacheBody::short(data);
            return self.pass(pending, parts, body, Some(status));
        }
        if etag {
            if let Some(tag) = s.mixins.validation().etag(&data) {
                parts.headers.insert(ETAG, tag.to_header_value());
            }
        }
        let stored_ok = self
            .store_or_log(&pending, &parts, data.clone(), fill)
            .await;
        pending.release_flight(stored_ok);
        self.respond_collected(pending, parts, data, trailers, status.stored(stored_ok))
    }

    /// Combines the 206 answering the cache's request for the bytes a
    /// stored part lacks with that part (RFC 9111 §3.4), stores the result
    /// and answers the client's request from it; when the body cannot be
    /// read whole, or the result cannot answer the request, sends the
    /// client's own request forward once more instead.
    async fn complete<B>(
        &self,
        mut pending: Pending,
        parts: Parts,
        body: Pin<Box<B>>,
        fill: Fill,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let s = &*self.shared;
        let combined = match collect(body, s.config.max_body_size()).await {
            Collected::Complete(data, _) => self
                .to_store(&pending, &parts, data, &fill.cc, fill.now, fill.date_added)
                .ok()
                .filter(|(c, _)| can_answer(c, &pending.facts.method, &pending.request_headers)),
            _ => None,
        };
        let Some((mut stored, vary)) = combined else {
            tracing::debug!(target: "webcache::core", uri = pending.uri(), "part not combined: the client's request goes forward");
            return ResponseOutcome::Retry(Box::new(pending.into_retry()));
        };
        stored.tags = fill.tags;
        let cc = s.stored_cache_control(fill.cc, parts.headers.len(), &stored.headers);
        let f = freshness(&stored, &cc, &s.config, fill.now);
        let stored_ok = self.write(&pending, stored.clone(), vary, &cc, &f).await;
        pending.release_flight(stored_ok);
        let status = CacheStatus::forward(s.status_name(), pending.forward_reason())
            .fwd_status(parts.status.as_u16())
            .ttl(f.ttl_secs())
            .stored(stored_ok);
        let response = self.respond_stored(&pending, stored, &f, status);
        ResponseOutcome::Respond(response.map(CacheBody::full))
    }

    /// Streams a storable body of unknown length on while a background task
    /// waits for the captured copy and stores it once complete.
    fn capture<B>(
        &self,
        mut pending: Pending,
        parts: Parts,
        body: Pin<Box<B>>,
        plan: Fill,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let s = &*self.shared;
        let (capture, rx) = Capture::new(s.config.max_body_size(), content_length(&parts.headers));
        let handler = self.clone();
        let store_parts = clone_parts(&parts);
        let mut fill = pending.take_fill();
        let started = s.tasks.spawn(async move {
            let stored_ok = match rx.await {
                Ok(data) => handler.store_or_log(&fill, &store_parts, data, plan).await,
                Err(_) => false,
            };
            fill.release_flight(stored_ok);
        });
        // Without a runtime to store on, the body streams through as is.
        let capture = started.then_some(capture);
        let body = CacheBody::with_parts(VecDeque::new(), body, capture);
        self.pass_forwarded(pending, parts, body)
    }

    /// Stores a response to GET when `fill` allows, logging why not; true
    /// when written.
    async fn store_or_log(
        &self,
        pending: &Pending,
        parts: &Parts,
        body: Bytes,
        fill: Fill,
    ) -> bool {
        let stored = fill.store.and_then(|()| {
            self.to_store(pending, parts, body, &fill.cc, fill.now, fill.date_added)
        });
        match stored {
            Ok((mut stored, vary)) => {
                stored.tags = fill.tags;
                let cc =
                    self.shared
                        .stored_cache_control(fill.cc, parts.headers.len(), &stored.headers);
                let f = freshness(&stored, &cc, &self.shared.config, fill.now);
                self.write(pending, stored, vary, &cc, &f).await
            }
            Err(why) => {
                self.shared.metrics.not_stored(why);
                tracing::debug!(target: "webcache::core", uri = pending.uri(), reason = %why, "not stored");
                false
            }
        }
    }

    /// The stored form of a response to GET — a 206 as an incomplete
    /// response, or combined with the stored one (see
    /// [`crate::partial::combine`]) — with the field names it varies on.
    fn to_store(
        &self,
        pending: &Pending,
        parts: &Parts,
        body: Bytes,
        cc: &CacheControl,
        now: SystemTime,
        date_added: bool,
    ) -> Result<(StoredResponse, Vec<HeaderName>), NotStorable> {
        let s = &*self.shared;
        let config = &s.config;
        let Vary::Fields(vary) = Vary::from_headers(&parts.headers) else {
            return Err(NotStorable::VaryAny);
        };
        let secondary = s.secondary_key(&pending.primary, &vary, &pending.request_headers);
        selecting_within_limits(secondary.selecting_len(), config)?;
        body_matches_length(&parts.headers, body.len())?;
        let stored = StoredResponse {
            status: parts.status,
            headers: s
                .mixins
                .storability()
                .headers_to_store(&parts.headers, cc, config),
            body,
            request_time: pending.request_time,
            response_time: now,
            uri: pending.primary.uri().to_owned(),
            selecting: secondary.selecting().to_vec(),
            salt: pending.metadata.as_ref().map_or(0, |m| m.salt),
            invalidated: false,
            partial: None,
            generations: Default::default(),
            tags: Vec::new(),
            purged: crate::purge::Verdict::Valid,
        };
        if parts.status != StatusCode::PARTIAL_CONTENT {
            return Ok((stored, vary));
        }
        let combined = crate::partial::combine(
            stored,
            pending.stored.as_ref(),
            &pending.request_headers,
            !date_added,
        )?;
        // The parts held count against the limit as a whole body.
        if combined.body.len() > config.max_body_size() {
            return Err(NotStorable::BodyTooLarge);
        }
        Ok((combined, vary))
    }

    /// Rewrites a stored response after freshening (or marking it invalid).
    ///
    /// The updated response is stored only if it may still be (RFC 9111
    /// §3): a 304 or HEAD response can bring `no-store`, `private` or a
    /// Set-Cookie, and a validation request can carry `no-store`; then the
    /// earlier stored response is left as it was. The fields that may not
    /// be stored (§3.1: qualified `no-cache` and `private`) are dropped from
    /// the stored copy, whatever was just sent to the client.
    async fn rewrite(
        &self,
        pending: &Pending,
        stored: &StoredResponse,
        cc: &CacheControl,
        f: &Freshness,
    ) -> bool {
        let s = &*self.shared;
        let storage = s.mixins.storability();
        let mut facts = pending.facts.clone();
        // A HEAD response updates the stored response to GET.
        facts.method = Method::GET;
        if let Err(why) = storage.is_storable(&facts, stored.status, &stored.headers, cc, &s.config)
        {
            s.metrics.not_stored(why);
            tracing::debug!(target: "webcache::core", uri = pending.uri(), reason = %why, "updated response not stored");
            return false;
        }
        let mut stored = stored.clone();
        let received = stored.headers.len();
        stored.headers = storage.headers_to_store(&stored.headers, cc, &s.config);
        let vary: Vec<HeaderName> = stored.selecting.iter().map(|(n, _)| n.clone()).collect();
        if stored.headers.len() == received {
            return self.write(pending, stored, vary, cc, f).await;
        }
        // Fields were dropped: read the stored copy as a hit will.
        let cc = s.stored_cache_control(cc.clone(), received, &stored.headers);
        let f = freshness(&stored, &cc, &s.config, s.clock.now());
        self.write(pending, stored, vary, &cc, &f).await
    }

    /// Writes `stored` and its resource's metadata in one store operation,
    /// kept for `f`'s remaining freshness plus what the rules let the cache
    /// use it stale ([`Storability::retention`]).
    async fn write(
        &self,
        pending: &Pending,
        mut stored: StoredResponse,
        vary: Vec<HeaderName>,
        cc: &CacheControl,
        f: &Freshness,
    ) -> bool {
        let s = &*self.shared;
        let now = s.clock.now();
        let ttl = s.mixins.storability().retention(f, cc, &s.config);
        let expires_at = unix_secs(now + ttl);
        let secondary = s.secondary_key(&pending.primary, &vary, &pending.request_headers);
        let metadata = Metadata::updated(
            pending.metadata.as_ref(),
            vary.clone(),
            expires_at,
            secondary.digest(),
            stored.headers.get(ETAG),
        );
        stored.salt = metadata.salt;
        let resource = *pending.primary.digest();
        if !s
            .prepare_fill(
                &resource,
                (pending.seen, pending.kind != Kind::Method),
                &mut stored,
                ttl,
            )
            .await
        {
            return false;
        }
        let meta_ttl =
            Duration::from_secs(metadata.expires_at.saturating_sub(unix_secs(now)).max(1));
        let writes = vec![
            Write::new(StoreKey::metadata(resource), metadata.encode(), meta_ttl),
            Write::new(
                StoreKey::representation(resource, *secondary.digest()),
                stored.encode(),
                ttl,
            ),
        ];
        if s.fence.overtaken(&resource, pending.ticket) {
            tracing::debug!(target: "webcache::core", uri = pending.uri(), "not stored: invalidated while in flight");
            return false;
        }
        let ok = s.put_many(writes).await;
        if ok && s.fence.overtaken(&resource, pending.ticket) {
            // The invalidation landed during the write: undo it.
            s.store_call(StoreOp::Delete, s.store.delete_resource(&resource))
                .await
                .ok();
            return false;
        }
        if ok {
            s.hints.set(&resource, &vary);
            tracing::debug!(target: "webcache::core", uri = pending.uri(), ttl = ttl.as_secs(), outcome = "store");
        }
        ok
    }

    /// The response for a stored response just validated.
    fn respond_stored(
        &self,
        pending: &Pending,
        stored: StoredResponse,
        f: &Freshness,
        status: CacheStatus,
    ) -> Response<Bytes> {
        self.shared.respond_from_storage(
            &stored,
            None,
            f,
            &pending.facts.method,
            &pending.request_headers,
            status,
        )
    }

    /// Which evaluator judges the client's preconditions against a
    /// forwarded response, if any: the origin's in the application role; a
    /// cache's when the cache replaced the client's validators with its own
    /// (RFC 9111 §4.3.2); none otherwise (they went to the origin).
    fn evaluator(&self, pending: &Pending) -> Option<Evaluator> {
        match (self.shared.config.role(), pending.kind) {
            (Role::Application, _) => Some(Evaluator::Origin),
            (Role::Gateway, Kind::Validate(_) | Kind::Retry) => Some(Evaluator::Cache),
            _ => None,
        }
    }

    /// Evaluates the client's preconditions against a forwarded 2xx
    /// response to GET or HEAD.
    fn precondition(&self, pending: &Pending, parts: &Parts) -> Precondition {
        let Some(evaluator) = self.evaluator(pending) else {
            return Precondition::Proceed;
        };
        let method = &pending.facts.method;
        let applies = (*method == Method::GET || *method == Method::HEAD)
            && parts.status.is_success()
            && (evaluator == Evaluator::Origin || parts.status == StatusCode::OK)
            && has_preconditions(&pending.request_headers);
        if !applies {
            return Precondition::Proceed;
        }
        self.shared.mixins.validation().evaluate(
            method,
            &pending.request_headers,
            &parts.headers,
            evaluator,
            None,
        )
    }

    /// Replaces a response by the 304 or 412 its preconditions call for.
    fn conditional(&self, parts: &mut Parts, outcome: Precondition) {
        match outcome {
            Precondition::Proceed => {}
            Precondition::NotModified => {
                parts.status = StatusCode::NOT_MODIFIED;
                parts.headers = not_modified_headers(&parts.headers);
            }
            Precondition::Failed => {
                parts.status = StatusCode::PRECONDITION_FAILED;
                let date = parts.headers.get(DATE).cloned();
                parts.headers = HeaderMap::new();
                if let Some(date) = date {
                    parts.headers.insert(DATE, date);
                }
            }
        }
    }

    /// Sends a body read whole, after the client's preconditions (RFC 9110
    /// §13.2), with `status`.
    fn respond_collected<B: Body>(
        &self,
        pending: Pending,
        mut parts: Parts,
        data: Bytes,
        trailers: Option<HeaderMap>,
        status: CacheStatus,
    ) -> ResponseOutcome<B> {
        let outcome = self.precondition(&pending, &parts);
        self.conditional(&mut parts, outcome);
        let body = if outcome == Precondition::Proceed {
            CacheBody::full_with_trailers(data, trailers)
        } else {
            CacheBody::empty()
        };
        self.shared
            .add_status(&mut parts.headers, status, pending.uri());
        ResponseOutcome::Respond(Response::from_parts(parts, body))
    }

    /// Passes a forwarded response on with the Cache-Status of a forward
    /// (its reason and the status received), as [`pass`](Self::pass) does.
    fn pass_forwarded<B>(
        &self,
        pending: Pending,
        parts: Parts,
        body: CacheBody<B>,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let status = CacheStatus::forward(self.shared.status_name(), pending.forward_reason())
            .fwd_status(parts.status.as_u16());
        self.pass(pending, parts, body, Some(status))
    }

    /// Passes a streamed response on, answering 304/412 instead when the
    /// client's preconditions say so (the body is then dropped; a capture
    /// in it is abandoned).
    fn pass<B>(
        &self,
        pending: Pending,
        mut parts: Parts,
        body: CacheBody<B>,
        status: Option<CacheStatus>,
    ) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let outcome = match pending.kind {
            Kind::Exempt | Kind::Method => Precondition::Proceed,
            _ => self.precondition(&pending, &parts),
        };
        let body = if outcome == Precondition::Proceed {
            body
        } else {
            self.conditional(&mut parts, outcome);
            // Keep a capture going so that the full response is still
            // stored: drain the body in the background.
            if body.is_capturing() {
                self.shared.tasks.spawn(async move {
                    let mut body = std::pin::pin!(body);
                    while let Some(frame) = body.frame().await {
                        if frame.is_err() {
                            break;
                        }
                    }
                });
            }
            CacheBody::empty()
        };
        if let Some(status) = status {
            self.shared
                .add_status(&mut parts.headers, status, pending.uri());
        }
        ResponseOutcome::Respond(Response::from_parts(parts, body))
    }
}

/// Copies a response head (`Parts` has private fields and no `Clone`).
fn clone_parts(parts: &Parts) -> Parts {
    let mut response = Response::new(());
    *response.status_mut() = parts.status;
    *response.version_mut() = parts.version;
    *response.headers_mut() = parts.headers.clone();
    response.into_parts().0
}

impl Pending {
    /// Moves what a background store needs (and the flight) out of `self`.
    fn take_fill(&mut self) -> Pending {
        Pending {
            kind: self.kind,
            facts: self.facts.clone(),
            primary: self.primary.clone(),
            metadata: self.metadata.clone(),
            // What a 206 combines with (the rest of `self` no longer needs it).
            stored: self.stored.take(),
            stale_if_error: false,
            stale_if_unreachable: false,
            request_headers: self.request_headers.clone(),
            uri: self.uri.clone(),
            version: self.version,
            request_time: self.request_time,
            flight: self.flight.take(),
            role: self.role,
            ticket: self.ticket,
            seen: self.seen,
        }
    }

    /// This forward, turned into its one unconditional retry (RFC 9111
    /// §4.3.4).
    fn into_retry(mut self) -> Pending {
        self.kind = Kind::Retry;
        self
    }
}

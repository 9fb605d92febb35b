//! The response side: finish, store, freshen and invalidate.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, DATE, ETAG, HeaderMap};
use http::response::Parts;
use http::{Method, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use super::Shared;
use super::body::{CacheBody, Capture};
use super::flight::FillOutcome;
use super::mixins::{Policy, Storage, Validation};
use super::request::{Kind, Pending};
use crate::config::Role;
use crate::freshness::{Freshness, current_age, freshness_lifetime};
use crate::headers::{CacheControl, Vary, fmt_http_date, unix_secs};
use crate::invalidation::invalidation_targets;
use crate::key::{Metadata, SecondaryKey};
use crate::partial::can_answer;
use crate::reuse::freshness;
use crate::status::CacheStatus;
use crate::storage::{NotStorable, header_bytes};
use crate::store::{Store, StoreKey, StoredResponse, Write};
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
    /// holds, RFC 9111 §3.3): send [`Pending::synthesize_request`] (now
    /// unconditional) forward once more and hand that response back with
    /// this `Pending`.
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

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn is_error_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

impl<S: Store, M: Policy> ResponseHandler<S, M> {
    pub(crate) fn new(shared: Arc<Shared<S, M>>) -> Self {
        ResponseHandler { shared }
    }

    /// Handles the response to a forwarded request.
    ///
    /// In order: `Date` is added when missing (RFC 9110 §6.6.1); unsafe
    /// methods invalidate (RFC 9111 §4.4); a 304 to a validation freshens
    /// the stored response and serves it (§4.3.4); a 5xx to a validation
    /// may be answered stale (RFC 5861 §4); a 200 to HEAD freshens or
    /// invalidates the stored GET response (§4.3.5); a full response to GET
    /// is stored when the rules allow (§3) — collected first when its size
    /// is known and small enough, otherwise streamed through while it is
    /// captured; a 206 is stored as an incomplete response, combined with
    /// the stored one when they share a strong validator (§3.3, §3.4) — and
    /// in the application role gets an ETag and has the client's
    /// preconditions evaluated (RFC 9110 §13).
    pub async fn handle<B>(&self, mut pending: Pending, response: Response<B>) -> ResponseOutcome<B>
    where
        B: Body + Send + 'static,
        B::Data: Buf + Send,
        B::Error: Send,
    {
        let s = &*self.shared;
        let now = s.clock.now();
        let (mut parts, body) = response.into_parts();
        let body = Box::pin(body);
        let date_added = !parts.headers.contains_key(DATE);
        if date_added {
            parts.headers.insert(DATE, fmt_http_date(now));
        }
        let reason = pending.forward_reason();
        let name = s.status_name().to_owned();
        let forward_status =
            || CacheStatus::forward(&name, reason).fwd_status(parts.status.as_u16());

        match pending.kind {
            Kind::Exempt => {
                let status = forward_status();
                return self.pass(
                    pending,
                    parts,
                    CacheBody::with_parts(VecDeque::new(), body, None),
                    Some(status),
                );
            }
            Kind::Method => {
                let targets = invalidation_targets(
                    &pending.facts.method,
                    parts.status,
                    &pending.primary,
                    &parts.headers,
                    &s.config,
                );
                if !targets.is_empty() {
                    let keys: Vec<StoreKey> = targets
                        .iter()
                        .map(|k| StoreKey::metadata(*k.digest()))
                        .collect();
                    for k in &targets {
                        s.hints.remove(k.digest());
                        tracing::debug!(target: "webcache", uri = k.uri(), outcome = "invalidate");
                    }
                    if s.delete_many(&keys).await {
                        s.counters
                            .invalidations
                            .fetch_add(targets.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                let status = forward_status();
                return self.pass(
                    pending,
                    parts,
                    CacheBody::with_parts(VecDeque::new(), body, None),
                    Some(status),
                );
            }
            _ => {}
        }

        let validating = matches!(pending.kind, Kind::Validate(_) | Kind::Refresh);

        if parts.status == StatusCode::NOT_MODIFIED && validating {
            if let Some(mut stored) = pending.stored.take() {
                if identifies(&stored.headers, &parts.headers) {
                    freshen(&mut stored, &parts.headers, pending.request_time, now);
                    let stored_ok = self.write(&pending, &stored).await;
                    if !can_answer(&stored, &pending.facts.method, &pending.request_headers) {
                        // An incomplete response that the freshened fields
                        // no longer let answer (If-Range). A refresh is
                        // done; a client still needs its answer: ask once
                        // more, unconditionally, and combine what comes back.
                        if pending.kind == Kind::Refresh {
                            pending.finish(if stored_ok {
                                FillOutcome::Stored
                            } else {
                                FillOutcome::NotStored
                            });
                            let body = CacheBody::with_parts(VecDeque::new(), body, None);
                            return self.pass(pending, parts, body, None);
                        }
                        pending.stored = Some(stored);
                        pending.kind = Kind::Retry;
                        return ResponseOutcome::Retry(Box::new(pending));
                    }
                    pending.finish(if stored_ok {
                        FillOutcome::Stored
                    } else {
                        FillOutcome::NotStored
                    });
                    let cc = crate::targeted::response_cache_control(&stored.headers, &s.config);
                    let f = freshness(&stored, &cc, &s.config, now);
                    let status = CacheStatus::forward(&name, reason)
                        .fwd_status(304)
                        .ttl(f.ttl_secs())
                        .stored(stored_ok);
                    let response = self.respond_stored(&pending, stored, &f, status);
                    return ResponseOutcome::Respond(response.map(CacheBody::full));
                }
                if pending.kind != Kind::Refresh {
                    // Nothing stored matches: the client asked no question
                    // this 304 answers. One unconditional retry.
                    pending.kind = Kind::Retry;
                    return ResponseOutcome::Retry(Box::new(pending));
                }
            }
        }

        if validating && is_error_status(parts.status) {
            if let Some(stale) = s.stale_on_error(&pending, Some(parts.status)) {
                pending.finish(FillOutcome::NotStored);
                return ResponseOutcome::Respond(stale.map(CacheBody::full));
            }
        }

        if pending.facts.method == Method::HEAD {
            if parts.status == StatusCode::OK {
                if let Some(mut stored) = pending.stored.take() {
                    if head_matches(&stored, &parts.headers) {
                        freshen(&mut stored, &parts.headers, pending.request_time, now);
                    } else {
                        // RFC 9111 §4.3.5: consider it stale.
                        stored.invalidated = true;
                    }
                    self.write(&pending, &stored).await;
                }
            }
            pending.finish(FillOutcome::NotStored);
            let status = forward_status();
            return self.pass(
                pending,
                parts,
                CacheBody::with_parts(VecDeque::new(), body, None),
                Some(status),
            );
        }

        // A full response to GET.
        let cc = crate::targeted::response_cache_control(&parts.headers, &s.config);
        let config = &s.config;
        let mut storable = s.mixins.storage().is_storable(
            &pending.facts,
            parts.status,
            &parts.headers,
            &cc,
            config,
        );
        let announced = content_length(&parts.headers).or_else(|| body.size_hint().exact());
        if storable.is_ok() {
            if parts.status == StatusCode::PARTIAL_CONTENT
                && date_added
                && !parts.headers.contains_key(ETAG)
            {
                // RFC 9110 §8.8.2.2: Last-Modified is strong only against a
                // Date from the origin's clock, not one the cache added.
                storable = Err(NotStorable::NoStrongValidator);
            } else if announced.is_some_and(|l| l > config.max_body_size() as u64) {
                storable = Err(NotStorable::BodyTooLarge);
            } else if header_bytes(&parts.headers) > config.max_header_bytes() {
                storable = Err(NotStorable::HeadersTooLarge);
            }
        }
        let application = config.role() == Role::Application;
        let wants_etag =
            application && parts.status == StatusCode::OK && !parts.headers.contains_key(ETAG);
        let small = announced.is_some_and(|l| l <= config.max_body_size() as u64);

        if small && (storable.is_ok() || wants_etag) {
            return match collect(body, config.max_body_size()).await {
                Collected::Complete(data, trailers) => {
                    if wants_etag {
                        if let Some(tag) = s.mixins.validation().etag(&data) {
                            parts.headers.insert(ETAG, tag.to_header_value());
                        }
                    }
                    let stored_ok = match storable {
                        Ok(()) => self.store(&pending, &parts, data.clone(), &cc, now).await,
                        Err(why) => {
                            tracing::debug!(target: "webcache", uri = pending.uri(), reason = %why, "not stored");
                            false
                        }
                    };
                    pending.finish(if stored_ok {
                        FillOutcome::Stored
                    } else {
                        FillOutcome::NotStored
                    });
                    let status = forward_status().stored(stored_ok);
                    self.finish_full(pending, parts, data, trailers, status)
                }
                Collected::Overflow(prefix, rest) => {
                    pending.finish(FillOutcome::NotStored);
                    let status = forward_status();
                    self.pass(
                        pending,
                        parts,
                        CacheBody::with_parts(prefix, rest, None),
                        Some(status),
                    )
                }
                Collected::Failed(error) => {
                    pending.finish(FillOutcome::NotStored);
                    let status = forward_status();
                    self.pass(pending, parts, CacheBody::failed(error), Some(status))
                }
            };
        }

        let status = forward_status();
        if storable.is_ok() {
            let (capture, rx) =
                Capture::new(config.max_body_size(), content_length(&parts.headers));
            let handler = self.clone();
            let store_parts = clone_parts(&parts);
            let mut fill = pending.take_fill();
            let started = s.tasks.spawn(async move {
                let stored_ok = match rx.await {
                    Ok(data) => handler.store(&fill, &store_parts, data, &cc, now).await,
                    Err(_) => false,
                };
                fill.finish(if stored_ok {
                    FillOutcome::Stored
                } else {
                    FillOutcome::NotStored
                });
            });
            if started {
                let body = CacheBody::with_parts(VecDeque::new(), body, Some(capture));
                return self.pass(pending, parts, body, Some(status));
            }
        } else if let Err(why) = storable {
            tracing::debug!(target: "webcache", uri = pending.uri(), reason = %why, "not stored");
        }
        pending.finish(FillOutcome::NotStored);
        self.pass(
            pending,
            parts,
            CacheBody::with_parts(VecDeque::new(), body, None),
            Some(status),
        )
    }

    /// Stores a response to GET — a 206 as an incomplete response, or
    /// combined with the stored one (see [`crate::partial::combine`]); true
    /// when written.
    async fn store(
        &self,
        pending: &Pending,
        parts: &Parts,
        body: Bytes,
        cc: &CacheControl,
        now: SystemTime,
    ) -> bool {
        let s = &*self.shared;
        let config = &s.config;
        let storage = s.mixins.storage();
        let Vary::Fields(vary) = Vary::from_headers(&parts.headers) else {
            return false;
        };
        let secondary = SecondaryKey::new(&pending.primary, &vary, &pending.request_headers);
        if secondary.selecting_len() > config.max_header_bytes() {
            return false;
        }
        if let Some(expected) = content_length(&parts.headers) {
            if expected != body.len() as u64 {
                tracing::debug!(target: "webcache", uri = pending.uri(), reason = %NotStorable::Incomplete, "not stored");
                return false;
            }
        }
        let mut stored = StoredResponse {
            status: parts.status,
            headers: storage.headers_to_store(&parts.headers, cc, config),
            body,
            request_time: pending.request_time,
            response_time: now,
            uri: pending.primary.uri().to_owned(),
            selecting: secondary.selecting().to_vec(),
            salt: pending.metadata.as_ref().map_or(0, |m| m.salt),
            invalidated: false,
            partial: None,
        };
        if parts.status == StatusCode::PARTIAL_CONTENT {
            let combined =
                crate::partial::combine(stored, pending.stored.as_ref(), &pending.request_headers)
                    .and_then(|combined| {
                        // The parts held count against the limit as a whole body.
                        if combined.body.len() > config.max_body_size() {
                            Err(NotStorable::BodyTooLarge)
                        } else {
                            Ok(combined)
                        }
                    });
            stored = match combined {
                Ok(combined) => combined,
                Err(why) => {
                    tracing::debug!(target: "webcache", uri = pending.uri(), reason = %why, "not stored");
                    return false;
                }
            };
        }
        self.write_with(pending, stored, vary, now).await
    }

    /// Rewrites a stored response after freshening (or marking it invalid).
    ///
    /// The updated response is stored only if it may still be (RFC 9111
    /// §3): a 304 or HEAD response can bring `no-store`, `private` or a
    /// Set-Cookie, and a validation request can carry `no-store`; then the
    /// earlier stored response is left as it was. The fields that may not
    /// be stored (§3.1: qualified `no-cache` and `private`) are dropped from
    /// the stored copy, whatever was just sent to the client.
    async fn write(&self, pending: &Pending, stored: &StoredResponse) -> bool {
        let s = &*self.shared;
        let storage = s.mixins.storage();
        let cc = crate::targeted::response_cache_control(&stored.headers, &s.config);
        let mut facts = pending.facts.clone();
        // A HEAD response updates the stored response to GET.
        facts.method = Method::GET;
        if let Err(why) =
            storage.is_storable(&facts, stored.status, &stored.headers, &cc, &s.config)
        {
            tracing::debug!(target: "webcache", uri = pending.uri(), reason = %why, "updated response not stored");
            return false;
        }
        let mut stored = stored.clone();
        stored.headers = storage.headers_to_store(&stored.headers, &cc, &s.config);
        let vary: Vec<http::HeaderName> = stored.selecting.iter().map(|(n, _)| n.clone()).collect();
        self.write_with(pending, stored, vary, s.clock.now()).await
    }

    /// Writes `stored` and its resource's metadata in one store operation.
    async fn write_with(
        &self,
        pending: &Pending,
        mut stored: StoredResponse,
        vary: Vec<http::HeaderName>,
        now: SystemTime,
    ) -> bool {
        let s = &*self.shared;
        let cc = crate::targeted::response_cache_control(&stored.headers, &s.config);
        let (lifetime, source) = freshness_lifetime(
            stored.status,
            &stored.headers,
            &cc,
            stored.response_time,
            &s.config,
        );
        let age = current_age(
            &stored.headers,
            stored.request_time,
            stored.response_time,
            now,
        );
        let ttl = s.mixins.storage().retention(
            &Freshness {
                lifetime,
                source,
                age,
            },
            &cc,
            &s.config,
        );
        let expires_at = unix_secs(now + ttl);
        let metadata = match &pending.metadata {
            Some(m) => Metadata {
                salt: m.salt,
                vary: vary.clone(),
                expires_at: m.expires_at.max(expires_at),
            },
            None => Metadata::new(vary.clone(), expires_at),
        };
        stored.salt = metadata.salt;
        let resource = *pending.primary.digest();
        let secondary = SecondaryKey::from_selecting(&pending.primary, stored.selecting.clone());
        let meta_ttl = std::time::Duration::from_secs(
            metadata.expires_at.saturating_sub(unix_secs(now)).max(1),
        );
        let writes = vec![
            Write::new(StoreKey::metadata(resource), metadata.encode(), meta_ttl),
            Write {
                key: StoreKey::representation(resource, *secondary.digest()),
                value: stored.encode(),
                ttl,
            },
        ];
        let ok = s.put_many(writes).await;
        if ok {
            s.hints.set(&resource, &vary);
            tracing::debug!(target: "webcache", uri = pending.uri(), ttl = ttl.as_secs(), outcome = "store");
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
            stored,
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

    fn finish_full<B: Body>(
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
            request_headers: self.request_headers.clone(),
            uri: self.uri.clone(),
            version: self.version,
            request_time: self.request_time,
            flight: self.flight.take(),
            role: self.role,
        }
    }
}

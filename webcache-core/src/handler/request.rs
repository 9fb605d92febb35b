//! The request side: look the request up, answer it from storage when the
//! rules allow, otherwise say what to forward.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{AGE, CONTENT_LENGTH, DATE, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, Response, StatusCode, Uri, Version};

use super::decoded::{Decoded, ServedFields, whole_fields};
use super::flight::{FillOutcome, FlightKey, Join, wait};
use super::front;
use super::mixins::{Policy, Retrieval, Validation};
use super::plan::{RequestPlan, Served, plan_parsed, validates_variants};
use super::{Counters, Shared};
use crate::config::{Config, Role};
use crate::freshness::Freshness;
use crate::headers::fmt_http_date;
use crate::key::{Metadata, PrimaryKey, SecondaryKey};
use crate::partial::can_answer;
use crate::purge::{Generations, PurgeRecord, Verdict, verdict};
use crate::request::{Present, RequestFacts};
use crate::reuse::{ValidateReason, freshness};
use crate::status::{CacheStatus, Forward};
use crate::store::{Store, StoreKey, StoredResponse};
use crate::telemetry::Outcome;
use crate::validation::{
    Evaluator, Precondition, has_preconditions, not_modified_headers, remove_preconditions,
    remove_validators, validation_headers,
};

/// What kind of forward a [`Pending`] stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Exempt by configuration: untouched both ways.
    Exempt,
    /// A method whose responses are not reused: written through, and
    /// invalidating when unsafe (RFC 9111 §4, §4.4).
    Method,
    /// Nothing usable stored.
    Miss(Forward),
    /// A stored response is being validated (RFC 9111 §4.3).
    Validate(ValidateReason),
    /// A background refresh (refresh-ahead or stale-while-revalidate).
    Refresh,
    /// An unconditional request after a 304 that matched nothing stored.
    Retry,
    /// The cache's request for the bytes a stored incomplete response
    /// lacks (RFC 9111 §3.4).
    Complete(crate::range::ByteRange),
    /// A Vary miss sent with the stored variants' entity tags (RFC 9111
    /// §4.3.1).
    Variants,
}

/// The request handler's account of a request that goes forward; give it
/// back to the [`ResponseHandler`](super::ResponseHandler) with the
/// response.
pub struct Pending {
    pub(crate) kind: Kind,
    pub(crate) facts: RequestFacts,
    pub(crate) primary: PrimaryKey,
    pub(crate) metadata: Option<Metadata>,
    pub(crate) stored: Option<StoredResponse>,
    pub(crate) stale_if_error: bool,
    pub(crate) stale_if_unreachable: bool,
    pub(crate) request_headers: HeaderMap,
    pub(crate) uri: Uri,
    pub(crate) version: Version,
    pub(crate) request_time: SystemTime,
    pub(crate) flight: Option<super::FlightGuard>,
    pub(crate) role: Role,
    /// Taken before the lookup: an invalidation after it voids the store
    /// (see `fence`). The default, 0, counts as overtaken by any.
    pub(crate) ticket: super::fence::Ticket,
    /// The purge records its lookup read (`None`: no lookup, or it failed).
    pub(crate) seen: Option<Seen>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("kind", &self.kind)
            .field("uri", &self.primary.uri())
            .finish_non_exhaustive()
    }
}

impl Pending {
    pub(crate) fn new(
        kind: Kind,
        parts: &Parts,
        facts: RequestFacts,
        primary: PrimaryKey,
        config: &Config,
        now: SystemTime,
    ) -> Self {
        Pending {
            kind,
            facts,
            primary,
            metadata: None,
            stored: None,
            stale_if_error: false,
            stale_if_unreachable: false,
            request_headers: parts.headers.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            request_time: now,
            flight: None,
            role: config.role(),
            ticket: super::fence::Ticket::default(),
            seen: None,
        }
    }

    /// The effective request URI being forwarded.
    pub fn uri(&self) -> &str {
        self.primary.uri()
    }

    /// Adjusts the request about to be forwarded: the cache's own
    /// validators on a validation (RFC 9111 §4.3.1) — on a Vary miss, the
    /// stored variants' entity tags —, a Range and If-Range of its own when
    /// completing a stored part (§3.4), and in the application
    /// role no client preconditions (the cache evaluates them on the way
    /// out, against the full response). In the gateway role the client's
    /// If-Match and If-Unmodified-Since still go to the origin, the only
    /// server that can evaluate them (RFC 9110 §13.2.1), except on a
    /// background refresh, which is the cache's own request.
    pub fn prepare(&self, parts: &mut Parts) {
        match self.kind {
            Kind::Exempt | Kind::Method => {}
            Kind::Miss(_) => {
                if self.role == Role::Application {
                    remove_preconditions(&mut parts.headers);
                }
            }
            Kind::Validate(_) | Kind::Refresh => {
                if self.role == Role::Application || self.kind == Kind::Refresh {
                    remove_preconditions(&mut parts.headers);
                } else {
                    remove_validators(&mut parts.headers);
                }
                if let Some(stored) = &self.stored {
                    for (name, value) in &validation_headers(&stored.headers) {
                        parts.headers.insert(name.clone(), value.clone());
                    }
                }
            }
            Kind::Retry => {
                if self.role == Role::Application {
                    remove_preconditions(&mut parts.headers);
                } else {
                    remove_validators(&mut parts.headers);
                }
            }
            Kind::Variants => {
                if self.role == Role::Application {
                    remove_preconditions(&mut parts.headers);
                }
                let tags = self
                    .metadata
                    .as_ref()
                    .and_then(|m| crate::validation::variants_condition(&m.variants.to_vec()));
                if let Some(tags) = tags {
                    parts.headers.insert(http::header::IF_NONE_MATCH, tags);
                }
            }
            // The client's request carries no precondition (see
            // `missing_range`): only the range changes.
            Kind::Complete(missing) => {
                if let Some(stored) = &self.stored {
                    let fields = crate::partial::completion_headers(&stored.headers, missing);
                    for (name, value) in &fields {
                        parts.headers.insert(name.clone(), value.clone());
                    }
                }
            }
        }
    }

    /// A request with no body for a background refresh or a retry, built
    /// from the client request that caused it (its headers, so that Vary
    /// selects the same representation) and prepared as above.
    pub fn synthesize_request<B: Default>(&self) -> Request<B> {
        let mut request = Request::new(B::default());
        *request.method_mut() = if self.kind == Kind::Refresh {
            Method::GET
        } else {
            self.facts.method.clone()
        };
        *request.uri_mut() = self.uri.clone();
        *request.version_mut() = self.version;
        *request.headers_mut() = self.request_headers.clone();
        let (mut parts, body) = request.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        self.prepare(&mut parts);
        Request::from_parts(parts, body)
    }

    /// True when an error from upstream (no response, or 500/502/503/504)
    /// may be answered with the stored response, stale (RFC 5861 §4).
    pub fn may_serve_stale_on_error(&self) -> bool {
        self.stale_if_error && self.stored.is_some()
    }

    /// True when an upstream that failed may be met with the stored
    /// response, stale: `stale-if-error` (RFC 5861 §4) allows it for no
    /// answer and for a 500, 502, 503 or 504; [`Config::stale_if_unreachable`]
    /// (RFC 9111 §4.2.4) for no answer, and for those statuses only with
    /// [`Config::stale_on_server_error`]. `error` is the status received,
    /// `None` for no answer.
    pub(crate) fn may_serve_stale_after(&self, error: Option<StatusCode>, config: &Config) -> bool {
        let unreachable = error.is_none() || config.stale_on_server_error();
        self.stored.is_some() && (self.stale_if_error || (unreachable && self.stale_if_unreachable))
    }

    /// Tells the requests waiting on this one's fill that the upstream
    /// failed: they answer as this one did (stale, or forward themselves
    /// when they may not serve stale), without waiting for another attempt.
    pub(crate) fn release_flight_failed(&mut self) {
        if let Some(flight) = self.flight.take() {
            flight.finish(FillOutcome::Failed);
        }
    }

    /// Tells the requests waiting on this one's fill whether it stored a
    /// response (they then look it up) or not (they go forward themselves).
    pub(crate) fn release_flight(&mut self, stored: bool) {
        if let Some(flight) = self.flight.take() {
            flight.finish(if stored {
                FillOutcome::Stored
            } else {
                FillOutcome::NotStored
            });
        }
    }

    /// The Cache-Status `fwd` value for this forward.
    pub(crate) fn forward_reason(&self) -> Forward {
        match self.kind {
            Kind::Exempt => Forward::Bypass,
            Kind::Method => Forward::Method,
            Kind::Miss(f) => f,
            Kind::Validate(ValidateReason::Request) => Forward::Request,
            Kind::Validate(_) | Kind::Refresh => Forward::Stale,
            Kind::Retry => Forward::Miss,
            Kind::Complete(_) => Forward::Partial,
            Kind::Variants => Forward::VaryMiss,
        }
    }
}

/// What the request handler decided.
#[derive(Debug)]
pub enum RequestOutcome {
    /// Answer with this response from storage. When a [`Pending`] comes
    /// with it, refresh the stored response in the background: send
    /// [`Pending::synthesize_request`] forward and give the response to the
    /// response handler (refresh-ahead, stale-while-revalidate).
    Respond(Response<Bytes>, Option<Pending>),
    /// Forward the request, after [`Pending::prepare`], and give the
    /// response and this to the response handler.
    Forward(Pending),
}

/// The request side of the cache.
pub struct RequestHandler<S, M> {
    shared: Arc<Shared<S, M>>,
}

impl<S, M> Clone for RequestHandler<S, M> {
    fn clone(&self) -> Self {
        RequestHandler {
            shared: self.shared.clone(),
        }
    }
}

/// What a lookup found.
pub(crate) struct Found {
    pub(crate) metadata: Option<Metadata>,
    pub(crate) secondary: SecondaryKey,
    /// Shared with the decoded entries: copied before any change.
    pub(crate) stored: Option<Arc<Decoded>>,
    /// The purge records as the lookup read them; `None` when it could not.
    pub(crate) seen: Option<Seen>,
}

/// A lookup made by [`Requests::handle_now`] for a request it could not
/// answer, with what it read of the request and the time and fence ticket
/// taken before the lookup: where [`Requests::handle_from`] goes on, with
/// nothing read twice.
pub(crate) struct Early {
    found: Found,
    facts: RequestFacts,
    primary: PrimaryKey,
    now: SystemTime,
    ticket: super::fence::Ticket,
}

/// A request answered without going forward: the response, and the
/// background refresh to start, if any. Small, unlike [`RequestOutcome`],
/// since it is moved along the hit path.
pub(crate) struct Answer(pub(crate) Response<Bytes>, pub(crate) Option<Box<Pending>>);

impl From<Answer> for RequestOutcome {
    fn from(Answer(response, refresh): Answer) -> Self {
        RequestOutcome::Respond(response, refresh.map(|r| *r))
    }
}

/// What [`RequestHandler::decide`] made of a lookup.
enum Decision {
    /// Answered from storage (or with a 504).
    Answer(Answer),
    /// To go forward as planned, with what the lookup found.
    Forward(RequestPlan, Found),
}

/// What [`RequestHandler::handle_now`] did.
pub(crate) enum Now {
    /// Answered from storage (or with a 504).
    Answered(Answer),
    /// Not answered: go on with [`RequestHandler::handle_from`].
    Later(Option<Box<Early>>),
}

/// The output of `future` if it is ready at its first poll; otherwise it
/// is dropped. Used only on lookups of stores that read without waiting.
fn ready_now<F: std::future::Future>(future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

/// The purge records a lookup read: what a response it sends forward
/// records when stored (see [`crate::purge`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub(crate) generations: Generations,
    /// The global tag-purge sequence.
    pub(crate) tags: u64,
    /// True when a record did not decode: nothing stored is trusted.
    pub(crate) corrupt: bool,
    resource: PurgeRecord,
    global: PurgeRecord,
}

impl Seen {
    /// The records `resource` and `global` as read (absent: `None`).
    pub(crate) fn read(resource: Option<Bytes>, global: Option<Bytes>) -> Seen {
        let mut corrupt = false;
        let mut decode = |bytes: Option<Bytes>| match bytes.map(|b| PurgeRecord::decode(&b)) {
            None => PurgeRecord::default(),
            Some(Ok(r)) => r,
            Some(Err(error)) => {
                tracing::debug!(target: "webcache::core", %error, "undecodable purge record");
                corrupt = true;
                PurgeRecord::default()
            }
        };
        let resource = decode(resource);
        let global = decode(global);
        Seen {
            generations: Generations::current(&resource, &global),
            tags: global.tags,
            corrupt,
            resource,
            global,
        }
    }

    /// What purges did to `stored`.
    pub(crate) fn verdict(&self, stored: &StoredResponse) -> Verdict {
        if self.corrupt {
            return Verdict::Gone;
        }
        verdict(&stored.generations, &self.resource, &self.global)
    }
}

impl<S: Store, M: Policy> Shared<S, M> {
    /// Fetches the metadata, the selected representation and the purge
    /// records, in one round trip when the Vary hint is right (RFC 9111
    /// §4.1).
    pub(crate) async fn lookup(&self, primary: &PrimaryKey, request: &HeaderMap) -> Found {
        let resource = *primary.digest();
        let hint = self.hints.get(&resource);
        let guess = self.secondary_key(primary, hint.as_deref().unwrap_or(&[]), request);
        let keys = [
            StoreKey::metadata(resource),
            StoreKey::representation(resource, *guess.digest()),
            StoreKey::purge(resource),
            self.global_key,
        ];
        let miss = |secondary, seen| Found {
            metadata: None,
            secondary,
            stored: None,
            seen,
        };
        let Some(mut values) = self.get_many(&keys).await else {
            return miss(self.secondary_key(primary, &[], request), None);
        };
        let global = values.pop().flatten();
        let seen = Some(Seen::read(values.pop().flatten(), global));
        let representation = values.pop().flatten();
        let metadata =
            values
                .pop()
                .flatten()
                .and_then(|bytes| match Metadata::decode_bytes(bytes) {
                    Ok(m) => Some(m),
                    Err(error) => {
                        tracing::debug!(target: "webcache::core", %error, "undecodable metadata: a miss");
                        None
                    }
                });
        let Some(metadata) = metadata else {
            self.hints.remove(&resource);
            return miss(self.secondary_key(primary, &[], request), seen);
        };
        let (secondary, key, representation) =
            if hint.as_deref().unwrap_or(&[]) == metadata.vary.as_slice() {
                (guess, keys[1], representation)
            } else {
                self.hints.set(&resource, &metadata.vary);
                let secondary = self.secondary_key(primary, &metadata.vary, request);
                let key = StoreKey::representation(resource, *secondary.digest());
                let representation = self
                    .get_many(&[key])
                    .await
                    .and_then(|mut v| v.pop().flatten());
                (secondary, key, representation)
            };
        let stored = self.decode_stored(&key, representation).filter(|d| {
            let s = &d.stored;
            s.salt == metadata.salt
                && s.uri == primary.uri()
                && s.selecting == secondary.selecting()
        });
        let (stored, metadata) = purged(stored, seen.as_ref(), metadata);
        Found {
            metadata: Some(metadata),
            secondary,
            stored,
            seen,
        }
    }

    /// The stored response read at `key`: decoded, or as decoded last time
    /// when the store returned the very same buffer (see `decoded`);
    /// `None` when absent or undecodable (a miss).
    fn decode_stored(&self, key: &StoreKey, bytes: Option<Bytes>) -> Option<Arc<Decoded>> {
        let Some(bytes) = bytes else {
            self.decoded.forget(key);
            return None;
        };
        match self.decoded.decode(key, bytes, &self.config) {
            Ok(stored) => Some(stored),
            Err(error) => {
                tracing::debug!(target: "webcache::core", %error, "undecodable entry: a miss");
                None
            }
        }
    }

    /// Builds the response for a stored response served to `parts`: the
    /// stored status, fields and body with a fresh Age (RFC 9111 §4), or a
    /// 304 / 412 when the request's preconditions say so (RFC 9111 §4.3.2,
    /// RFC 9110 §13.2). An incomplete response answers with a 206 (RFC
    /// 9111 §3.3): callers serve one only where
    /// [`can_answer`](crate::partial::can_answer) holds.
    /// `served`, when given, holds the stored fields as a hit sends them
    /// (see [`ServedFields`]).
    pub(crate) fn respond_from_storage(
        &self,
        stored: &StoredResponse,
        served: Option<&ServedFields>,
        f: &Freshness,
        method: &Method,
        request: &HeaderMap,
        status: CacheStatus,
    ) -> Response<Bytes> {
        let precondition = self.precondition_on_stored(stored, method, request);
        let age = HeaderValue::from(f.age_secs());
        let mut status_slot = false;
        let (status_code, mut headers, body) = match (precondition, &stored.partial) {
            // RFC 9111 §3.3: an incomplete response answers with a 206.
            (Precondition::Proceed, Some(partial)) => {
                match crate::partial::answer(
                    method,
                    request,
                    &stored.headers,
                    partial,
                    &stored.body,
                ) {
                    Some(answer) => answer,
                    None => {
                        // Unreachable while callers check `can_answer`: a
                        // partial body is never sent without a 206.
                        tracing::error!(target: "webcache::core", uri = stored.uri, "an incomplete response cannot answer; 504");
                        return self.gateway_timeout(&stored.uri, "incomplete");
                    }
                }
            }
            // RFC 9110 §14.2: Range, evaluated after the preconditions.
            (Precondition::Proceed, None) => crate::range::partial_response(
                method,
                request,
                stored.status,
                &stored.headers,
                &stored.body,
            )
            .unwrap_or_else(|| {
                let (answer, slot) = whole_answer(stored, served, method);
                status_slot = slot;
                answer
            }),
            (Precondition::NotModified, _) => {
                self.metrics.precondition(true);
                (
                    StatusCode::NOT_MODIFIED,
                    not_modified_headers(&stored.headers),
                    Bytes::new(),
                )
            }
            (Precondition::Failed, _) => {
                self.metrics.precondition(false);
                let mut h = HeaderMap::new();
                h.insert(DATE, fmt_http_date(self.clock.now()));
                (StatusCode::PRECONDITION_FAILED, h, Bytes::new())
            }
        };
        headers.insert(AGE, age);
        if status_slot {
            // Room for the member appended next, not a field to send.
            headers.remove(crate::status::CACHE_STATUS);
        }
        self.add_status(&mut headers, status, &stored.uri);
        self.served(status_code, headers, body)
    }

    /// A hit's response: [`respond_from_storage`](Self::respond_from_storage)'s,
    /// with the fields of a whole answer (a request with no precondition
    /// and no Range, a complete stored response) made once per second of
    /// age: the same Age and Cache-Status make the same fields, so they are
    /// kept with the decoded entry and cloned (see [`ServedFields`]).
    pub(crate) fn respond_hit(
        &self,
        decoded: &Decoded,
        f: &Freshness,
        parts: &Parts,
        collapsed: bool,
        own: Option<&mut front::Own>,
    ) -> Response<Bytes> {
        let stored = &decoded.stored;
        let status = || CacheStatus::hit(self.status_name(), f.ttl_secs()).collapsed(collapsed);
        let whole = stored.partial.is_none()
            && !Present::of(&parts.headers).has(Present::PRECONDITION | Present::RANGE);
        let Some(served) = decoded.served.get().filter(|_| whole) else {
            let served = decoded.served.get();
            let (method, request) = (&parts.method, &parts.headers);
            return self.respond_from_storage(stored, served, f, method, request, status());
        };
        let key = (f.age_secs(), f.ttl_secs(), collapsed);
        let make = || {
            let ((_, mut headers, _), status_slot) =
                whole_answer(stored, Some(served), &parts.method);
            headers.insert(AGE, HeaderValue::from(key.0));
            if status_slot {
                headers.remove(crate::status::CACHE_STATUS);
            }
            self.add_status(&mut headers, status(), &stored.uri);
            headers
        };
        let head = parts.method == Method::HEAD;
        let (headers, body) = match own {
            Some(own) => {
                let body = if head {
                    Bytes::new()
                } else {
                    own.body(&stored.body)
                };
                (own.fields(key, make), body)
            }
            None => {
                let body = if head {
                    Bytes::new()
                } else {
                    stored.body.clone()
                };
                (served.prepared.get_or_make(key, make), body)
            }
        };
        self.served(stored.status, headers, body)
    }

    /// The response made of `status`, `headers` and `body`, counted as
    /// served from storage.
    fn served(&self, status: StatusCode, headers: HeaderMap, body: Bytes) -> Response<Bytes> {
        self.metrics.served(body.len());
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    /// The client's preconditions evaluated against a stored 200 (RFC 9111
    /// §4.3.2; in the application role as the origin would, RFC 9110
    /// §13.2.2).
    fn precondition_on_stored(
        &self,
        stored: &StoredResponse,
        method: &Method,
        request: &HeaderMap,
    ) -> Precondition {
        if stored.status != StatusCode::OK || !has_preconditions(request) {
            return Precondition::Proceed;
        }
        let evaluator = match self.config.role() {
            Role::Application => Evaluator::Origin,
            Role::Gateway => Evaluator::Cache,
        };
        self.mixins.validation().evaluate(
            method,
            request,
            &stored.headers,
            evaluator,
            Some(stored.response_time),
        )
    }

    /// Appends Cache-Status when enabled.
    pub(crate) fn add_status(&self, headers: &mut HeaderMap, status: CacheStatus, uri: &str) {
        if self.config.cache_status().is_some() {
            let status = if self.config.cache_status_key() {
                status.key(uri)
            } else {
                status
            };
            status.append_to(headers);
        }
    }

    pub(crate) fn status_name(&self) -> &str {
        self.config.cache_status().unwrap_or("webcache")
    }
}

impl<S: Store, M: Policy> RequestHandler<S, M> {
    pub(crate) fn new(shared: Arc<Shared<S, M>>) -> Self {
        RequestHandler { shared }
    }

    /// Handles the request head `parts` (RFC 9111 §4): unsafe and other
    /// non-GET/HEAD methods are written through; otherwise the stored
    /// response selected by the URI and Vary is served when fresh or
    /// allowed stale, validated when not, and a miss goes forward —
    /// collapsed with concurrent misses for the same key. [`plan_request`](super::plan::plan_request)
    /// decides; this does the lookups, the waiting and the counting.
    ///
    /// A hit that needs no waiting (see
    /// [`Cache::serve_now`](crate::Cache::serve_now)) is answered before
    /// the first await.
    pub async fn handle(&self, parts: &Parts) -> RequestOutcome {
        let requests = Requests(&self.shared);
        match requests.handle_now(parts) {
            Now::Answered(answer) => answer.into(),
            Now::Later(early) => requests.handle_from(parts, early).await,
        }
    }
}

/// The request handler's work on a borrowed cache: what
/// [`RequestHandler`] and [`Cache::serve_now`](crate::Cache::serve_now)
/// run, the latter without a reference count to touch on every hit.
pub(crate) struct Requests<'a, S, M>(pub(crate) &'a Shared<S, M>);

impl<S: Store, M: Policy> Requests<'_, S, M> {
    /// [`RequestHandler::handle`], continuing from the lookup `early` when
    /// [`handle_now`](Self::handle_now) made one.
    pub(crate) async fn handle_from(
        &self,
        parts: &Parts,
        early: Option<Box<Early>>,
    ) -> RequestOutcome {
        let s = self.0;
        let config = &s.config;
        // The lookup is of the request `Cache::answer_now` was given: one
        // made for another resource is not reused.
        let retrieval = s.mixins.retrieval();
        let early = early.filter(|e| e.primary == retrieval.primary_key(parts, config));
        let (request, bypass, mut early) = match early.map(|e| *e) {
            Some(Early {
                found,
                facts,
                primary,
                now,
                ticket,
            }) => {
                let request = Looked {
                    parts,
                    facts,
                    primary,
                    now,
                    ticket,
                };
                (request, None, Some(found))
            }
            None => {
                let (request, bypass) = self.admit(parts);
                (request, bypass, None)
            }
        };
        if let Some(kind) = bypass {
            Counters::bump(&s.counters.bypasses);
            let Looked {
                facts,
                primary,
                now,
                ..
            } = request;
            let pending = Pending::new(kind, parts, facts, primary, config, now);
            s.metrics
                .request(Outcome::forward(pending.forward_reason()));
            return RequestOutcome::Forward(pending);
        }
        let mut collapsed = false;
        for _ in 0..3 {
            let found = match early.take() {
                Some(found) => found,
                None => s.lookup(&request.primary, &parts.headers).await,
            };
            let (plan, found) = match self.decide(&request, found, collapsed) {
                Decision::Answer(answer) => return answer.into(),
                Decision::Forward(plan, found) => (plan, found),
            };
            let key: FlightKey = (*request.primary.digest(), *found.secondary.digest());
            let pending = request.forward(plan, found, config);
            match self.lead_or_follow(pending, key).await {
                Ok(outcome) => return outcome,
                Err(()) => collapsed = true,
            }
        }
        self.forward_alone(&request).await
    }

    /// [`RequestHandler::handle`] without waiting, when it can be: the store
    /// reads without waiting ([`Store::reads_without_waiting`]) and the
    /// request is answered from storage, or with a 504 (`only-if-cached`).
    /// Otherwise nothing is counted and [`handle_from`](Self::handle_from)
    /// takes over, with the lookup made here when there was one.
    pub(crate) fn handle_now(&self, parts: &Parts) -> Now {
        let s = self.0;
        if !s.store.reads_without_waiting() {
            return Now::Later(None);
        }
        let (request, bypass) = self.admit(parts);
        if bypass.is_some() {
            return Now::Later(None);
        }
        let changes = s.store.change_count(request.primary.digest());
        if let Some(answer) = changes.and_then(|c| self.front_hit(&request, c)) {
            return Now::Answered(answer);
        }
        let Some(found) = ready_now(s.lookup(&request.primary, &parts.headers)) else {
            return Now::Later(None);
        };
        if let (Some(changes), Some(stored), Some(metadata)) =
            (changes, &found.stored, &found.metadata)
        {
            let resource = request.primary.digest();
            front::offer(s.id, resource, changes, stored, &metadata.vary);
        }
        match self.decide(&request, found, false) {
            Decision::Answer(answer) => Now::Answered(answer),
            Decision::Forward(_, found) => Now::Later(Some(Box::new(Early {
                found,
                facts: request.facts,
                primary: request.primary,
                now: request.now,
                ticket: request.ticket,
            }))),
        }
    }

    /// What every attempt at `parts` reads, taken before its first lookup,
    /// and the kind of forward when the request bypasses the cache.
    fn admit<'a>(&self, parts: &'a Parts) -> (Looked<'a>, Option<Kind>) {
        let s = self.0;
        let config = &s.config;
        let retrieval = s.mixins.retrieval();
        let facts = retrieval.request_facts(parts, config);
        let bypass = if retrieval.is_exempt(parts, config) {
            Some(Kind::Exempt)
        } else {
            (!facts.is_cacheable_method()).then_some(Kind::Method)
        };
        let request = Looked {
            parts,
            facts,
            primary: retrieval.primary_key(parts, config),
            now: s.clock.now(),
            ticket: s.fence.ticket(),
        };
        (request, bypass)
    }

    /// Plans the request on what its lookup `found` (see
    /// [`plan_parsed`]) and answers it when the plan serves from storage
    /// (or says 504); otherwise gives the plan and `found` back, to go
    /// forward.
    fn decide(&self, request: &Looked<'_>, found: Found, collapsed: bool) -> Decision {
        let s = self.0;
        let plan = plan_parsed(
            found
                .stored
                .as_deref()
                .map(|d| (&d.stored, &d.cache_control, d.timing)),
            found.metadata.is_some(),
            &request.parts.headers,
            &request.facts,
            &s.config,
            request.now,
        );
        match plan {
            RequestPlan::Serve {
                freshness,
                served,
                refresh,
            } => {
                let hit = Hit {
                    freshness,
                    served,
                    refresh,
                    collapsed,
                };
                Decision::Answer(self.serve(request, found, hit))
            }
            RequestPlan::GatewayTimeout => {
                s.metrics.request(Outcome::GatewayTimeout);
                let response = s.gateway_timeout(request.primary.uri(), "only-if-cached");
                Decision::Answer(Answer(response, None))
            }
            plan => Decision::Forward(plan, found),
        }
    }

    /// After collapsing onto other requests' fills too many times: goes
    /// forward alone, as a miss.
    async fn forward_alone(&self, request: &Looked<'_>) -> RequestOutcome {
        let s = self.0;
        let found = s.lookup(&request.primary, &request.parts.headers).await;
        let why = if found.metadata.is_none() {
            Forward::UriMiss
        } else {
            Forward::VaryMiss
        };
        let found = Found {
            stored: None,
            ..found
        };
        let pending = request.pending(Kind::Miss(why), found, false, &s.config);
        RequestOutcome::Forward(s.forwarding(pending))
    }

    /// Serves a stored response (RFC 9111 §4), with a background refresh
    /// when the plan asks for one and none is running.
    #[inline(always)]
    fn serve(&self, request: &Looked<'_>, mut found: Found, hit: Hit) -> Answer {
        let s = self.0;
        let Some(decoded) = found.stored.take() else {
            // Not reached: a plan serves only a stored response.
            return Answer(s.gateway_timeout(request.primary.uri(), "lost"), None);
        };
        self.count_hit(request, hit.served);
        let refresh = if hit.refresh {
            let key = (*request.primary.digest(), *found.secondary.digest());
            self.refresh(request, &found, &decoded.stored, key)
                .map(Box::new)
        } else {
            None
        };
        let response = s.respond_hit(&decoded, &hit.freshness, request.parts, hit.collapsed, None);
        Answer(response, refresh)
    }

    /// Counts a request served from storage as `served`.
    fn count_hit(&self, request: &Looked<'_>, served: Served) {
        let s = self.0;
        s.counters.hits.bump();
        let (outcome, counted) = match served {
            Served::Fresh => ("hit", Outcome::Hit),
            Served::MaxStale => ("stale", Outcome::StaleMaxStale),
            Served::StaleWhileRevalidate => {
                ("stale-while-revalidate", Outcome::StaleWhileRevalidate)
            }
        };
        s.metrics.request(counted);
        tracing::debug!(target: "webcache::core", uri = request.primary.uri(), outcome);
    }

    /// A fresh hit answered from this thread's last lookup of the resource
    /// (see `front`), when the store says nothing under it changed since.
    fn front_hit(&self, request: &Looked<'_>, changes: u64) -> Option<Answer> {
        let s = self.0;
        let resource = request.primary.digest();
        front::with(s.id, resource, changes, |entry| {
            let selected = (!entry.vary().is_empty()).then(|| {
                let headers = &request.parts.headers;
                s.secondary_key(&request.primary, entry.vary(), headers)
            });
            let (d, own) = entry.split();
            if d.stored.uri != request.primary.uri() {
                return None;
            }
            if selected.is_some_and(|key| d.stored.selecting != key.selecting()) {
                return None;
            }
            let plan = plan_parsed(
                Some((&d.stored, &d.cache_control, d.timing)),
                true,
                &request.parts.headers,
                &request.facts,
                &s.config,
                request.now,
            );
            let RequestPlan::Serve {
                freshness,
                served: Served::Fresh,
                refresh: false,
            } = plan
            else {
                return None;
            };
            self.count_hit(request, Served::Fresh);
            // Not decoded again, so made here (see `decoded`).
            d.served_fields(&s.config);
            let response = s.respond_hit(d, &freshness, request.parts, false, own);
            Some(Answer(response, None))
        })
    }

    /// Sends `pending` forward, as the one request for its key when
    /// coalescing (RFC 9111 §4: a cache may collapse requests). `Err` when
    /// it waited on another request's fill that stored a response (or was
    /// abandoned): the caller looks up again.
    async fn lead_or_follow(
        &self,
        mut pending: Pending,
        key: FlightKey,
    ) -> Result<RequestOutcome, ()> {
        let s = self.0;
        let backoff = s.config.unreachable_backoff();
        if s.outages
            .backing_off(pending.primary.digest(), pending.request_time, backoff)
        {
            // The upstream failed for this resource moments ago: do not ask
            // again; serve stale if allowed (RFC 9111 §4.2.4).
            if let Some(stale) = s.stale_on_error(&pending, None) {
                s.metrics.request(stale_outcome(&pending));
                return Ok(RequestOutcome::Respond(stale, None));
            }
        }
        if !s.config.coalesce() {
            return Ok(RequestOutcome::Forward(s.forwarding(pending)));
        }
        match s.flights.join(key) {
            Join::Leader(guard) => {
                pending.flight = Some(guard);
                Ok(RequestOutcome::Forward(s.forwarding(pending)))
            }
            Join::Follower(rx) => {
                Counters::bump(&s.counters.collapsed);
                s.metrics.coalesced();
                match Box::pin(wait(rx, s.config.coalesce_timeout())).await {
                    FillOutcome::NotStored => Ok(RequestOutcome::Forward(s.forwarding(pending))),
                    FillOutcome::Failed => match s.stale_on_error(&pending, None) {
                        Some(stale) => {
                            s.metrics.request(stale_outcome(&pending));
                            Ok(RequestOutcome::Respond(stale, None))
                        }
                        None => Ok(RequestOutcome::Forward(s.forwarding(pending))),
                    },
                    FillOutcome::Stored | FillOutcome::Abandoned => Err(()),
                }
            }
        }
    }

    /// A background refresh of `stored`, if none is running for the key.
    fn refresh(
        &self,
        request: &Looked<'_>,
        found: &Found,
        stored: &StoredResponse,
        key: FlightKey,
    ) -> Option<Pending> {
        let (metadata, seen) = (&found.metadata, found.seen);
        let s = self.0;
        let guard = s.flights.try_lead(key)?;
        Counters::bump(&s.counters.refreshes);
        s.metrics.refresh();
        tracing::debug!(target: "webcache::core", uri = request.primary.uri(), "background refresh");
        let mut pending = Pending::new(
            Kind::Refresh,
            request.parts,
            request.facts.clone(),
            request.primary.clone(),
            &s.config,
            request.now,
        );
        pending.facts.method = Method::GET;
        pending.metadata = metadata.clone();
        pending.stored = Some(stored.clone());
        pending.seen = seen;
        pending.flight = Some(guard);
        pending.ticket = request.ticket;
        Some(pending)
    }
}

/// A request being looked up: what every attempt of [`RequestHandler::handle`]
/// reads.
struct Looked<'a> {
    parts: &'a Parts,
    facts: RequestFacts,
    primary: PrimaryKey,
    now: SystemTime,
    ticket: super::fence::Ticket,
}

impl Looked<'_> {
    /// The forward a plan that is not served from storage calls for.
    fn forward(&self, plan: RequestPlan, found: Found, config: &Config) -> Pending {
        match plan {
            RequestPlan::Validate {
                reason,
                stale_if_error,
                stale_if_unreachable,
            } => {
                let kind = Kind::Validate(reason);
                let mut pending = self.pending(kind, found, stale_if_error, config);
                pending.stale_if_unreachable = stale_if_unreachable;
                pending
            }
            RequestPlan::Forward(Forward::VaryMiss)
                if found.metadata.as_ref().is_some_and(|m| {
                    validates_variants(m, &self.parts.headers, &self.facts, config)
                }) =>
            {
                self.pending(Kind::Variants, found, false, config)
            }
            RequestPlan::Complete { missing } => {
                self.pending(Kind::Complete(missing), found, false, config)
            }
            RequestPlan::Forward(why) => self.pending(Kind::Miss(why), found, false, config),
            // Served plans are answered before; should one come here, it
            // goes forward as a miss, which is always safe.
            RequestPlan::Serve { .. } | RequestPlan::GatewayTimeout => {
                self.pending(Kind::Miss(Forward::Miss), found, false, config)
            }
        }
    }

    /// The account of this request going forward as `kind`, with what the
    /// lookup found.
    fn pending(&self, kind: Kind, found: Found, stale_if_error: bool, config: &Config) -> Pending {
        let mut pending = Pending::new(
            kind,
            self.parts,
            self.facts.clone(),
            self.primary.clone(),
            config,
            self.now,
        );
        pending.metadata = found.metadata;
        pending.stored = found.stored.map(|d| Arc::unwrap_or_clone(d).stored);
        pending.seen = found.seen;
        pending.stale_if_error = stale_if_error;
        pending.ticket = self.ticket;
        pending
    }
}

/// `stored` as purges left it: `None` when purged hard, marked stale when
/// purged soft (see [`crate::purge`]). Purged hard, so are the variants
/// `metadata` remembers (hard generations are per resource): they are
/// dropped, so that the request goes forward as a plain miss.
#[inline]
fn purged(
    stored: Option<Arc<Decoded>>,
    seen: Option<&Seen>,
    mut metadata: Metadata,
) -> (Option<Arc<Decoded>>, Metadata) {
    let Some(mut stored) = stored else {
        return (None, metadata);
    };
    match seen.map_or(Verdict::Valid, |seen| seen.verdict(&stored.stored)) {
        Verdict::Valid => (Some(stored), metadata),
        Verdict::Gone => {
            metadata.variants = Default::default();
            (None, metadata)
        }
        stale => {
            Arc::make_mut(&mut stored).stored.purged = stale;
            (Some(stored), metadata)
        }
    }
}

/// The stored response whole, as a hit sends it: its status, its fields
/// (from `served` when given) and, but to HEAD, its body; the body and the
/// field values are shared, not copied. True when the fields hold a
/// Cache-Status placeholder.
fn whole_answer(
    stored: &StoredResponse,
    served: Option<&ServedFields>,
    method: &Method,
) -> ((StatusCode, HeaderMap, Bytes), bool) {
    let body = if *method == Method::HEAD {
        Bytes::new()
    } else {
        stored.body.clone()
    };
    let (fields, slot) = match served {
        Some(served) => (served.fields.clone(), served.status_slot),
        None => (whole_fields(stored), false),
    };
    ((stored.status, fields, body), slot)
}

/// The outcome of a request answered stale without going forward, in
/// place of an upstream that failed (for it, or for the request it waited
/// on).
fn stale_outcome(pending: &Pending) -> Outcome {
    if pending.stale_if_error {
        Outcome::StaleIfError
    } else {
        Outcome::StaleUnreachable
    }
}

/// How a stored response is served: the plan's verdict, and whether the
/// request waited on another's fill first (Cache-Status `collapsed`).
struct Hit {
    freshness: Freshness,
    served: Served,
    refresh: bool,
    collapsed: bool,
}

impl<S: Store, M: Policy> Shared<S, M> {
    fn forwarding(&self, pending: Pending) -> Pending {
        match pending.kind {
            Kind::Validate(why) => {
                Counters::bump(&self.counters.revalidations);
                self.metrics.request(Outcome::revalidate(why));
                tracing::debug!(target: "webcache::core", uri = pending.uri(), outcome = "revalidate");
            }
            _ => {
                Counters::bump(&self.counters.misses);
                self.metrics
                    .request(Outcome::forward(pending.forward_reason()));
                tracing::debug!(target: "webcache::core", uri = pending.uri(), outcome = "miss");
            }
        }
        pending
    }

    /// 504 when the cache must answer and has no usable stored response
    /// (`only-if-cached`, RFC 9111 §5.2.1.7); `detail` goes into
    /// Cache-Status.
    #[cold]
    pub(crate) fn gateway_timeout(&self, uri: &str, detail: &str) -> Response<Bytes> {
        let mut headers = HeaderMap::new();
        headers.insert(DATE, fmt_http_date(self.clock.now()));
        self.add_status(
            &mut headers,
            CacheStatus::empty(self.status_name()).detail(detail),
            uri,
        );
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::GATEWAY_TIMEOUT;
        *response.headers_mut() = headers;
        response
    }

    /// The upstream gave no answer to `pending`: remembers the outage (see
    /// [`Config::unreachable_backoff`]), tells the waiting requests, and
    /// serves the stored response stale if that is allowed.
    pub(crate) fn no_answer(&self, pending: &mut Pending) -> Option<Response<Bytes>> {
        self.outages
            .failed(pending.primary.digest(), self.clock.now());
        pending.release_flight_failed();
        let stale = self.stale_on_error(pending, None);
        let outcome = if stale.is_some() {
            "stale-if-unreachable"
        } else {
            "unreachable"
        };
        tracing::debug!(target: "webcache::core", uri = pending.uri(), outcome);
        stale
    }

    /// Serves `stored` stale because validation failed: with an error
    /// status, or with no answer (`error_status` `None`) — RFC 5861 §4,
    /// RFC 9111 §4.2.4.
    pub(crate) fn stale_on_error(
        &self,
        pending: &Pending,
        error_status: Option<StatusCode>,
    ) -> Option<Response<Bytes>> {
        let stored = pending
            .stored
            .as_ref()
            .filter(|_| pending.may_serve_stale_after(error_status, &self.config))
            .filter(|s| can_answer(s, &pending.facts.method, &pending.request_headers))?;
        if pending.kind != Kind::Refresh {
            // A failed background refresh serves no one.
            self.metrics.stale_on_error(pending.stale_if_error);
        }
        let cc = crate::targeted::response_cache_control(&stored.headers, &self.config);
        let f = freshness(stored, &cc, &self.config, self.clock.now());
        let mut status = CacheStatus::forward(self.status_name(), Forward::Stale).ttl(f.ttl_secs());
        match error_status {
            Some(code) => status = status.fwd_status(code.as_u16()),
            None => status = status.detail("unreachable"),
        }
        tracing::debug!(target: "webcache::core", uri = pending.uri(), outcome = "stale-if-error");
        Some(self.respond_from_storage(
            stored,
            None,
            &f,
            &pending.facts.method,
            &pending.request_headers,
            status,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthesized_refresh_carries_the_client_headers_and_our_validators() {
        let (parts, _) = Request::get("http://a.test/x")
            .header("req-num", "2")
            .header("if-none-match", "\"client\"")
            .body(())
            .unwrap()
            .into_parts();
        let config = Config::default();
        let facts = RequestFacts::from_parts(&parts, &config);
        let primary = PrimaryKey::from_request(&parts, &config);
        let mut p = Pending::new(
            Kind::Refresh,
            &parts,
            facts,
            primary,
            &config,
            SystemTime::now(),
        );
        let mut headers = HeaderMap::new();
        headers.insert("etag", HeaderValue::from_static("\"stored\""));
        p.stored = Some(StoredResponse {
            status: StatusCode::OK,
            headers,
            body: Bytes::new(),
            request_time: SystemTime::now(),
            response_time: SystemTime::now(),
            uri: String::new(),
            selecting: vec![],
            salt: 0,
            invalidated: false,
            partial: None,
            generations: Default::default(),
            tags: Vec::new(),
            purged: crate::purge::Verdict::Valid,
        });
        let req: Request<()> = p.synthesize_request();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.headers()["req-num"], "2");
        assert_eq!(req.headers()["if-none-match"], "\"stored\"");
    }
}

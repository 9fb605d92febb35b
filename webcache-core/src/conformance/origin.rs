//! The scripted origin server a scenario talks to through the cache.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{DATE, HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use http::{Method, Response, StatusCode, Uri};

use crate::clock::{Clock, ManualClock};
use crate::headers::fmt_http_date;

/// A header field value in a scenario: written out when the message is
/// built, so that dates can follow the scenario's clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// Sent as is.
    Text(String),
    /// Sent as these bytes (obs-text and other non-UTF-8 values).
    Bytes(Vec<u8>),
    /// An IMF-fixdate this many seconds after the clock's current time
    /// (negative: before it), computed when the message is built or, in an
    /// expectation, when the response is checked.
    DateOffset(i64),
}

impl Value {
    /// The field value at `now`.
    pub fn render(&self, now: SystemTime) -> HeaderValue {
        match self {
            Value::Text(text) => HeaderValue::from_str(text)
                .expect("scenario header values are visible ASCII, SP or HTAB"),
            Value::Bytes(bytes) => HeaderValue::from_bytes(bytes)
                .expect("scenario header bytes are valid field-value octets"),
            Value::DateOffset(secs) => fmt_http_date(offset(now, *secs)),
        }
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<HeaderValue> for Value {
    fn from(value: HeaderValue) -> Self {
        Value::Bytes(value.as_bytes().to_vec())
    }
}

/// `now` moved by `secs` seconds either way.
pub(crate) fn offset(now: SystemTime, secs: i64) -> SystemTime {
    let by = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 { now + by } else { now - by }
}

/// A header name written in a scenario.
pub(crate) fn name(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes()).expect("scenario header names are tokens")
}

/// What the origin answers: status, header fields in order (repeated names
/// become repeated field lines), and body. Nothing is added: a `Date` is
/// sent only when the response lists one ([`OriginResponse::date`]).
#[derive(Clone, Debug, PartialEq)]
pub struct OriginResponse {
    /// The status code (100–999; unknown codes such as 599 are allowed).
    pub status: u16,
    /// The header fields, in order.
    pub headers: Vec<(HeaderName, Value)>,
    /// The body.
    pub body: Bytes,
    /// No answer at all: the harness fails the exchange (see
    /// [`Unreachable`]) instead of sending this response.
    pub unreachable: bool,
}

/// Marks the response [`Origin::respond`] returns for
/// [`OriginResponse::unreachable`], in its extensions: a harness whose
/// [`can_be_unreachable`](super::Harness::can_be_unreachable) is true fails
/// the exchange instead of sending it (an error from the upstream, a closed
/// connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreachable;

impl Unreachable {
    /// True when `response` stands for no answer.
    pub fn marks<B>(response: &Response<B>) -> bool {
        response.extensions().get::<Unreachable>().is_some()
    }
}

impl OriginResponse {
    /// A response with `status`, no header fields and no body.
    pub fn new(status: u16) -> Self {
        OriginResponse {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            unreachable: false,
        }
    }

    /// No answer: the origin cannot be reached (RFC 9111 §4.2.4's
    /// disconnected cache).
    pub fn unreachable() -> Self {
        OriginResponse {
            unreachable: true,
            ..Self::new(502)
        }
    }

    /// `200 OK` with no header fields and no body.
    pub fn ok() -> Self {
        Self::new(200)
    }

    /// Adds a header field line.
    pub fn header(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.headers.push((name(field), value.into()));
        self
    }

    /// Adds `Date` with the clock's time when the response is sent.
    pub fn date(self) -> Self {
        self.header("date", Value::DateOffset(0))
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The response as sent at `now`.
    pub fn render(&self, now: SystemTime) -> Response<Bytes> {
        let mut response = Response::new(self.body.clone());
        *response.status_mut() =
            StatusCode::from_u16(self.status).expect("scenario status codes are within 100..=999");
        let headers = response.headers_mut();
        for (field, value) in &self.headers {
            headers.append(field.clone(), value.render(now));
        }
        if self.unreachable {
            response.extensions_mut().insert(Unreachable);
        }
        response
    }
}

/// A request as the origin received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The request target as received (origin-form or absolute-form).
    pub uri: Uri,
    /// The header fields.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The path and query of the target.
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("/", |pq| pq.as_str())
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<OriginResponse>,
    log: Vec<RecordedRequest>,
}

/// A scripted origin server, shared by a scenario and the application (or
/// upstream) behind the cache under test. Clones share one script and one
/// request log.
///
/// The test says what the origin answers next with
/// [`will_respond`](Origin::will_respond) (and
/// [`then_respond`](Origin::then_respond) for the requests after that); the
/// application calls [`respond`](Origin::respond) for every request it
/// receives. Responses are taken from the script in order and the last one
/// repeats; with nothing scripted the origin answers `500`.
///
/// ```
/// use std::time::UNIX_EPOCH;
/// use bytes::Bytes;
/// use webcache_core::clock::ManualClock;
/// use webcache_core::conformance::{Origin, OriginResponse};
///
/// let origin = Origin::new(ManualClock::new(UNIX_EPOCH));
/// origin.will_respond(OriginResponse::ok().date().header("cache-control", "max-age=60").body("hi"));
/// let (parts, _) = http::Request::get("/a").body(()).unwrap().into_parts();
/// let response = origin.respond(&parts, Bytes::new());
/// assert_eq!(response.headers()["date"], "Thu, 01 Jan 1970 00:00:00 GMT");
/// assert_eq!(origin.count(), 1);
/// assert_eq!(origin.requests()[0].path_and_query(), "/a");
/// ```
#[derive(Clone)]
pub struct Origin {
    state: Arc<Mutex<State>>,
    clock: ManualClock,
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Origin")
            .field("requests", &self.count())
            .finish_non_exhaustive()
    }
}

impl Origin {
    /// An origin with nothing scripted, whose dates follow `clock`.
    pub fn new(clock: ManualClock) -> Self {
        Origin {
            state: Arc::default(),
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The clock the origin's dates follow.
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// Replaces the script: the next request (and every one after it,
    /// until the script changes) gets `response`.
    pub fn will_respond(&self, response: OriginResponse) {
        let mut state = self.lock();
        state.script.clear();
        state.script.push_back(response);
    }

    /// Appends `response` to the script: it answers the request after the
    /// ones already scripted.
    pub fn then_respond(&self, response: OriginResponse) {
        self.lock().script.push_back(response);
    }

    /// Replaces the script with `responses`, answered in order (the last
    /// repeats).
    pub fn script(&self, responses: impl IntoIterator<Item = OriginResponse>) {
        let mut state = self.lock();
        state.script = responses.into_iter().collect();
    }

    /// Answers a request: records it and returns the next scripted
    /// response, its dates taken from the clock now.
    pub fn respond(&self, parts: &Parts, body: Bytes) -> Response<Bytes> {
        let now = self.clock.now();
        let mut state = self.lock();
        state.log.push(RecordedRequest {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            body,
        });
        let next = if state.script.len() > 1 {
            state.script.pop_front()
        } else {
            state.script.front().cloned()
        };
        drop(state);
        match next {
            Some(response) => response.render(now),
            None => {
                let mut response =
                    Response::new(Bytes::from_static(b"conformance origin: nothing scripted"));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response.headers_mut().insert(DATE, fmt_http_date(now));
                response
            }
        }
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().log.clone()
    }

    /// The requests received after the first `skip`.
    pub fn requests_since(&self, skip: usize) -> Vec<RecordedRequest> {
        self.lock().log.iter().skip(skip).cloned().collect()
    }

    /// How many requests the origin has received.
    pub fn count(&self) -> usize {
        self.lock().log.len()
    }
}

//! What a scenario is made of: steps, exchanges and expectations, with
//! builders that keep the scenario list readable.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HOST, HeaderName};
use http::{Method, Request};

use super::origin::{OriginResponse, Value, name};
use crate::config::Config;

/// The Host every scenario request carries unless the scenario sets its
/// own. Requests are sent in origin-form (`/path?query`), so the cache keys
/// them as `http://conformance.test/path?query`.
pub const HOST_NAME: &str = "conformance.test";

/// One RFC behaviour, proven by a sequence of steps against a fresh cache.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The RFC-section name, e.g. `rfc9111_4_2_1_s_maxage_overrides_max_age`
    /// (or `config_…` / `deviation_…` for configured behaviour).
    pub name: &'static str,
    /// The configuration of the cache under test.
    pub config: Config,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// A scenario with no steps yet.
    pub fn new(name: &'static str, config: Config) -> Self {
        Scenario {
            name,
            config,
            steps: Vec::new(),
        }
    }

    /// Adds an exchange.
    pub fn then(mut self, exchange: Exchange) -> Self {
        self.steps.push(Step::Exchange(Box::new(exchange)));
        self
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance(mut self, secs: u64) -> Self {
        self.steps.push(Step::Advance(Duration::from_secs(secs)));
        self
    }

    /// Rebuilds the cache with `config` over the same store.
    pub fn restart(mut self, config: Config) -> Self {
        self.steps.push(Step::Restart(Box::new(config)));
        self
    }
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub enum Step {
    /// Moves the shared [`ManualClock`](crate::clock::ManualClock) forward.
    Advance(Duration),
    /// Sends a request through the cache and checks what happened.
    Exchange(Box<Exchange>),
    /// Rebuilds the cache under test with another configuration over the
    /// same store (see [`Harness::restart`](super::Harness::restart)).
    Restart(Box<Config>),
}

/// A request sent through the cache, what the origin answers if the cache
/// forwards it, and what must be seen.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The client's request.
    pub request: ClientRequest,
    /// The origin's answers to the requests it receives during this step,
    /// in order; the last one repeats (see [`Origin`](super::Origin)).
    pub origin: Vec<OriginResponse>,
    /// What must be seen.
    pub expect: Expect,
}

/// A client request in a scenario.
#[derive(Clone, Debug)]
pub struct ClientRequest {
    /// The method.
    pub method: Method,
    /// Path and query (origin-form).
    pub target: String,
    /// Header fields in order; repeated names become repeated lines.
    pub headers: Vec<(HeaderName, Value)>,
    /// The body.
    pub body: Bytes,
}

impl ClientRequest {
    /// The request as sent at `now`: origin-form target, the scenario's
    /// header fields, and `Host: conformance.test` unless one is given.
    pub fn render(&self, now: SystemTime) -> Request<Bytes> {
        let mut request = Request::new(self.body.clone());
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self
            .target
            .parse()
            .expect("scenario targets are valid origin-form targets");
        let headers = request.headers_mut();
        if !self.headers.iter().any(|(n, _)| n == HOST) {
            headers.insert(HOST, http::HeaderValue::from_static(HOST_NAME));
        }
        for (field, value) in &self.headers {
            headers.append(field.clone(), value.render(now));
        }
        request
    }
}

/// A `GET` of `target`.
pub fn get(target: &str) -> Exchange {
    request("GET", target)
}

/// A `HEAD` of `target`.
pub fn head(target: &str) -> Exchange {
    request("HEAD", target)
}

/// A request with any method (extension methods included) to `target`.
pub fn request(method: &str, target: &str) -> Exchange {
    Exchange {
        request: ClientRequest {
            method: Method::from_bytes(method.as_bytes()).expect("scenario methods are tokens"),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        },
        origin: Vec::new(),
        expect: Expect::default(),
    }
}

impl Exchange {
    /// Adds a request header field line.
    pub fn header(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.request.headers.push((name(field), value.into()));
        self
    }

    /// Sets the request body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.request.body = body.into();
        self
    }

    /// Appends an answer to the origin's script for this step.
    pub fn origin(mut self, response: OriginResponse) -> Self {
        self.origin.push(response);
        self
    }

    /// Sets what must be seen.
    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }
}

/// A check on one request the origin received during a step.
#[derive(Clone, Debug, PartialEq)]
pub enum RequestCheck {
    /// The field's lines, joined with `", "`, equal the value.
    Header(HeaderName, Value),
    /// The field is present.
    Present(HeaderName),
    /// The field is absent.
    Absent(HeaderName),
    /// The method.
    Method(Method),
    /// The body.
    Body(Bytes),
    /// The path and query.
    Target(String),
}

/// What must be seen after an exchange (and the background work it
/// started) has finished. Unset fields are not checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    /// Whether the origin received any request during the step (including
    /// background refreshes the exchange started).
    pub forwarded: Option<bool>,
    /// Exactly how many requests the origin received during the step.
    pub origin_calls: Option<usize>,
    /// The response status.
    pub status: Option<u16>,
    /// Response fields whose lines, joined with `", "`, equal the value.
    pub headers: Vec<(HeaderName, Value)>,
    /// Response fields whose lines equal these, in order.
    pub header_lines: Vec<(HeaderName, Vec<Value>)>,
    /// Response fields that must be absent.
    pub absent: Vec<HeaderName>,
    /// Response fields that must be present.
    pub present: Vec<HeaderName>,
    /// The response body.
    pub body: Option<Bytes>,
    /// A lower bound on the response's Age.
    pub age_at_least: Option<u64>,
    /// Checks on the origin's requests during the step: the index of the
    /// request within the step (0 is the first), and the check.
    pub origin_received: Vec<(usize, RequestCheck)>,
    /// Members the cache's own `Cache-Status` entry (the last line) must
    /// have, such as `stored` or `fwd=stale` (RFC 9211 §2).
    pub cache_status_has: Vec<String>,
}

impl Expect {
    /// The origin must have been reached.
    pub fn forwarded() -> Self {
        Expect {
            forwarded: Some(true),
            ..Self::default()
        }
    }

    /// The origin must not have been reached: the cache answered alone.
    pub fn from_cache() -> Self {
        Expect {
            forwarded: Some(false),
            ..Self::default()
        }
    }

    /// The origin must have received exactly `n` requests.
    pub fn origin_calls(mut self, n: usize) -> Self {
        self.origin_calls = Some(n);
        self
    }

    /// The response status.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// A response field's value (all lines joined with `", "`).
    pub fn header(mut self, field: &str, value: impl Into<Value>) -> Self {
        self.headers.push((name(field), value.into()));
        self
    }

    /// A response field's lines, in order.
    pub fn header_lines<V: Into<Value>>(
        mut self,
        field: &str,
        lines: impl IntoIterator<Item = V>,
    ) -> Self {
        self.header_lines
            .push((name(field), lines.into_iter().map(Into::into).collect()));
        self
    }

    /// The response field must be absent.
    pub fn absent(mut self, field: &str) -> Self {
        self.absent.push(name(field));
        self
    }

    /// The response field must be present.
    pub fn present(mut self, field: &str) -> Self {
        self.present.push(name(field));
        self
    }

    /// The response body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The response's Age must be at least `secs`.
    pub fn age_at_least(mut self, secs: u64) -> Self {
        self.age_at_least = Some(secs);
        self
    }

    /// The `Cache-Status` field (RFC 9211) of the response.
    pub fn cache_status(self, value: &str) -> Self {
        self.header("cache-status", value)
    }

    /// The cache's own `Cache-Status` entry has `member` among its
    /// parameters (`stored`, `fwd=stale`, `collapsed`, …), whatever else
    /// it says.
    pub fn cache_status_has(mut self, member: &str) -> Self {
        self.cache_status_has.push(member.to_owned());
        self
    }

    /// The response was stored (Cache-Status `stored`): a later forward
    /// then proves it went stale rather than was never kept.
    pub fn stored(self) -> Self {
        self.cache_status_has("stored")
    }

    /// The request went forward because the stored response was stale
    /// (Cache-Status `fwd=stale`), so it had been stored.
    pub fn stale_forward(self) -> Self {
        self.cache_status_has("fwd=stale")
    }

    /// The response was not stored (no `stored` in Cache-Status).
    pub fn not_stored(self) -> Self {
        self.cache_status_has("!stored")
    }

    /// A check on the `n`th request (0-based) the origin received during
    /// the step.
    pub fn nth_origin(mut self, n: usize, check: RequestCheck) -> Self {
        self.origin_received.push((n, check));
        self
    }

    /// The `n`th request (0-based) the origin received during the step
    /// carried `field: value`.
    pub fn nth_origin_got(self, n: usize, field: &str, value: impl Into<Value>) -> Self {
        self.nth_origin(n, RequestCheck::Header(name(field), value.into()))
    }

    /// The `n`th request (0-based) the origin received during the step did
    /// not carry `field`.
    pub fn nth_origin_lacks(self, n: usize, field: &str) -> Self {
        self.nth_origin(n, RequestCheck::Absent(name(field)))
    }

    /// The first request the origin received carried `field: value`.
    pub fn origin_got(self, field: &str, value: impl Into<Value>) -> Self {
        self.nth_origin(0, RequestCheck::Header(name(field), value.into()))
    }

    /// The first request the origin received carried `field`.
    pub fn origin_has(self, field: &str) -> Self {
        self.nth_origin(0, RequestCheck::Present(name(field)))
    }

    /// The first request the origin received did not carry `field`.
    pub fn origin_lacks(self, field: &str) -> Self {
        self.nth_origin(0, RequestCheck::Absent(name(field)))
    }

    /// The method of the first request the origin received.
    pub fn origin_method(self, method: &str) -> Self {
        self.nth_origin(
            0,
            RequestCheck::Method(
                Method::from_bytes(method.as_bytes()).expect("scenario methods are tokens"),
            ),
        )
    }

    /// The body of the first request the origin received.
    pub fn origin_body(self, body: impl Into<Bytes>) -> Self {
        self.nth_origin(0, RequestCheck::Body(body.into()))
    }

    /// The path and query of the first request the origin received.
    pub fn origin_target(self, target: &str) -> Self {
        self.nth_origin(0, RequestCheck::Target(target.to_owned()))
    }
}

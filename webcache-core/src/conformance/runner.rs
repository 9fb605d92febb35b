//! Runs scenarios against a [`Harness`] and says precisely what differed.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{AGE, HeaderMap, HeaderName};
use http::{Request, Response};

use super::origin::{Origin, RecordedRequest, Value};
use super::scenario::{Exchange, Expect, RequestCheck, Scenario, Step};
use super::scenarios::scenarios;
use crate::clock::{Clock, ManualClock};
use crate::config::Config;

/// An adapter under test: builds a cache in front of an application that
/// answers with [`Origin::respond`], and sends requests through it.
///
/// Implement it once per adapter; [`run_all`] (or [`assert_all`]) then
/// proves the adapter behaves as the core does. Every method is called from
/// one task, in order.
pub trait Harness {
    /// Builds a fresh cache (over a fresh, empty store) with `config`,
    /// whose clock is `clock`, in front of an application that answers
    /// every request with `origin.respond(&parts, body)`.
    fn start(
        &mut self,
        config: Config,
        clock: ManualClock,
        origin: Origin,
    ) -> impl Future<Output = ()> + Send;

    /// Rebuilds the cache with `config`, keeping the store, the clock and
    /// the origin of the last [`start`](Harness::start) (a deployment that
    /// changes its configuration over the same backend).
    fn restart(&mut self, config: Config) -> impl Future<Output = ()> + Send;

    /// Sends `request` (origin-form target, with a Host field) through the
    /// cache and returns the response with its whole body read.
    fn send(&mut self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send;

    /// Waits until the cache has no background work left (stores of
    /// streamed bodies, background refreshes): the core's
    /// [`Cache::quiesce`](crate::Cache::quiesce).
    fn settle(&mut self) -> impl Future<Output = ()> + Send;

    /// True when the adapter can meet an origin that gives no answer
    /// ([`OriginResponse::unreachable`](super::OriginResponse::unreachable)):
    /// it fails the exchange the way its upstream would (an error from the
    /// upstream, a closed connection), and [`send`](Harness::send) returns
    /// what the adapter then answers, or a bare 502 when it answers nothing.
    /// Frameworks whose applications cannot fail (their services are
    /// infallible) leave it false, and the scenarios that need it are not
    /// run through them.
    fn can_be_unreachable(&self) -> bool {
        false
    }

    /// True when [`send`](Harness::send) delivers a request whose target is
    /// in absolute-form (`http://other.test/p`, RFC 9112 §3.2.2) as it is,
    /// beside a Host field that may name another host. A harness whose
    /// client always sends origin-form leaves it false, and the scenarios
    /// that need it are skipped (and said so on the terminal).
    fn sends_absolute_form(&self) -> bool {
        false
    }
}

/// True when a request of `scenario` has an absolute-form target.
pub fn needs_absolute_form(scenario: &Scenario) -> bool {
    scenario.steps.iter().any(|step| match step {
        Step::Exchange(exchange) => !exchange.request.target.starts_with('/'),
        _ => false,
    })
}

/// Why `harness` cannot run `scenario`, if it cannot.
fn cannot_run<H: Harness>(harness: &H, scenario: &Scenario) -> Option<&'static str> {
    if needs_unreachable(scenario) && !harness.can_be_unreachable() {
        return Some("needs an origin that gives no answer (Harness::can_be_unreachable)");
    }
    if needs_absolute_form(scenario) && !harness.sends_absolute_form() {
        return Some("needs an absolute-form target (Harness::sends_absolute_form)");
    }
    None
}

/// Says on the terminal that `name` was skipped, past the test harness's
/// output capture, so that a skip never passes silently.
fn report_skip(name: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED scenario {name}: {why}");
}

/// True when `scenario` needs an origin that gives no answer.
pub fn needs_unreachable(scenario: &Scenario) -> bool {
    scenario.steps.iter().any(|step| match step {
        Step::Exchange(exchange) => exchange.origin.iter().any(|r| r.unreachable),
        _ => false,
    })
}

/// The time every scenario starts at: 2023-11-14T22:13:20Z.
pub fn start_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

/// Runs one scenario on a fresh cache built by `harness`. The error names
/// the scenario, the step and everything that differed.
pub async fn run<H: Harness>(harness: &mut H, scenario: &Scenario) -> Result<(), String> {
    let clock = ManualClock::new(start_time());
    let origin = Origin::new(clock.clone());
    harness
        .start(scenario.config.clone(), clock.clone(), origin.clone())
        .await;
    for (index, step) in scenario.steps.iter().enumerate() {
        match step {
            Step::Advance(by) => clock.advance(*by),
            Step::Restart(config) => harness.restart((**config).clone()).await,
            Step::Exchange(exchange) => {
                origin.script(exchange.origin.iter().cloned());
                let before = origin.count();
                let request = exchange.request.render(clock.now());
                let response = harness.send(request).await;
                harness.settle().await;
                let received = origin.requests_since(before);
                let problems = check(&exchange.expect, &response, &received, clock.now());
                if !problems.is_empty() {
                    return Err(format!(
                        "{}: step {index} ({}): {}\n  response: {}",
                        scenario.name,
                        describe(exchange),
                        problems.join("; "),
                        show_response(&response),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Runs every scenario of [`scenarios`] that applies to `harness` (see
/// [`Harness::can_be_unreachable`], [`Harness::sends_absolute_form`]),
/// each on a fresh cache, and returns each name with its result. Each one
/// skipped is named on stderr (`SKIPPED scenario …`), past the output
/// capture.
pub async fn run_all<H: Harness>(harness: &mut H) -> Vec<(&'static str, Result<(), String>)> {
    let mut results = Vec::new();
    for scenario in scenarios() {
        if let Some(why) = cannot_run(harness, &scenario) {
            report_skip(scenario.name, why);
            continue;
        }
        let result = run(harness, &scenario).await;
        results.push((scenario.name, result));
    }
    results
}

/// Runs every scenario and panics listing each one that failed.
///
/// ```ignore
/// #[tokio::test]
/// async fn the_axum_layer_conforms() {
///     webcache_core::conformance::assert_all(&mut AxumHarness::default()).await;
/// }
/// ```
pub async fn assert_all<H: Harness>(harness: &mut H) {
    let results = run_all(harness).await;
    let total = results.len();
    {
        use std::io::Write;
        let skipped = scenarios().len() - total;
        let _ = writeln!(
            std::io::stderr().lock(),
            "conformance: {total} scenarios run, {skipped} skipped"
        );
    }
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|(_, result)| result.err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {total} conformance scenarios failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn describe(exchange: &Exchange) -> String {
    let r = &exchange.request;
    let mut s = format!("{} {}", r.method, r.target);
    for (n, v) in &r.headers {
        s.push_str(&format!(", {n}: {}", show_value(v)));
    }
    s
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Text(t) => t.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::DateOffset(secs) => format!("<now{secs:+}s>"),
    }
}

fn show_response(response: &Response<Bytes>) -> String {
    let mut s = response.status().as_u16().to_string();
    for (n, v) in response.headers() {
        s.push_str(&format!(
            " | {n}: {}",
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    s.push_str(&format!(
        " | body {:?}",
        String::from_utf8_lossy(response.body())
    ));
    s
}

/// The lines of `field` joined with `", "`, as bytes; `None` when absent.
fn joined(headers: &HeaderMap, field: &HeaderName) -> Option<Vec<u8>> {
    let mut lines = headers.get_all(field).iter().peekable();
    lines.peek()?;
    let lines: Vec<&[u8]> = lines.map(|v| v.as_bytes()).collect();
    Some(lines.join(&b", "[..]))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything that differs from `expect`: what reached the origin, then
/// the response's status, fields and body.
fn check(
    expect: &Expect,
    response: &Response<Bytes>,
    received: &[RecordedRequest],
    now: SystemTime,
) -> Vec<String> {
    let mut problems = check_origin(expect, received, now);
    problems.extend(check_status_and_body(expect, response));
    problems.extend(check_fields(expect, response.headers(), now));
    problems
}

/// Whether, how often and with what the origin was asked.
fn check_origin(expect: &Expect, received: &[RecordedRequest], now: SystemTime) -> Vec<String> {
    let mut problems = Vec::new();
    match expect.forwarded {
        Some(true) if received.is_empty() => {
            problems.push("expected the origin to be reached; it was not".to_owned());
        }
        Some(false) if !received.is_empty() => problems.push(format!(
            "expected an answer from the cache; the origin received {} request(s)",
            received.len()
        )),
        _ => {}
    }
    if let Some(n) = expect.origin_calls {
        if received.len() != n {
            problems.push(format!(
                "expected {n} origin request(s), got {}",
                received.len()
            ));
        }
    }
    for (n, check) in &expect.origin_received {
        let Some(request) = received.get(*n) else {
            problems.push(format!(
                "expected origin request #{n} ({check:?}); the origin received {}",
                received.len()
            ));
            continue;
        };
        if let Some(problem) = check_request(check, request, now) {
            problems.push(format!("origin request #{n}: {problem}"));
        }
    }
    problems
}

/// The response's status, body and Age.
fn check_status_and_body(expect: &Expect, response: &Response<Bytes>) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(status) = expect.status {
        if response.status().as_u16() != status {
            problems.push(format!(
                "expected status {status}, got {}",
                response.status().as_u16()
            ));
        }
    }
    if let Some(body) = &expect.body {
        if response.body() != body {
            problems.push(format!(
                "expected body {:?}, got {:?}",
                lossy(body),
                lossy(response.body())
            ));
        }
    }
    if let Some(min) = expect.age_at_least {
        let age = response
            .headers()
            .get(AGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match age {
            Some(age) if age >= min => {}
            other => problems.push(format!("expected Age >= {min}, got {other:?}")),
        }
    }
    problems
}

/// The response's header fields: values, lines, absent and present ones.
fn check_fields(expect: &Expect, headers: &HeaderMap, now: SystemTime) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, value) in &expect.headers {
        let want = value.render(now);
        match joined(headers, field) {
            Some(got) if got == want.as_bytes() => {}
            Some(got) => problems.push(format!(
                "expected {field}: {}, got {field}: {}",
                lossy(want.as_bytes()),
                lossy(&got)
            )),
            None => problems.push(format!(
                "expected {field}: {}, the field is absent",
                lossy(want.as_bytes())
            )),
        }
    }
    for (field, lines) in &expect.header_lines {
        let want: Vec<String> = lines
            .iter()
            .map(|v| lossy(v.render(now).as_bytes()))
            .collect();
        let got: Vec<String> = headers
            .get_all(field)
            .iter()
            .map(|v| lossy(v.as_bytes()))
            .collect();
        if want != got {
            problems.push(format!("expected {field} lines {want:?}, got {got:?}"));
        }
    }
    for field in &expect.absent {
        if let Some(got) = joined(headers, field) {
            problems.push(format!("expected no {field}, got {field}: {}", lossy(&got)));
        }
    }
    for field in &expect.present {
        if !headers.contains_key(field) {
            problems.push(format!("expected a {field} field, none present"));
        }
    }
    problems.extend(check_cache_status(&expect.cache_status_has, headers));
    problems
}

/// The members of the cache's own Cache-Status entry (its last line, RFC
/// 9211 §2: each cache appends); `!member` must be absent.
fn check_cache_status(wanted: &[String], headers: &HeaderMap) -> Vec<String> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let Some(last) = headers
        .get_all(http::header::HeaderName::from_static("cache-status"))
        .iter()
        .next_back()
    else {
        return vec![format!(
            "expected Cache-Status with {wanted:?}, the field is absent"
        )];
    };
    let entry = lossy(last.as_bytes());
    let members: Vec<&str> = entry.split(';').map(str::trim).collect();
    wanted
        .iter()
        .filter(|want| match want.strip_prefix('!') {
            Some(absent) => members.contains(&absent),
            None => !members.contains(&want.as_str()),
        })
        .map(|want| format!("expected Cache-Status member {want}, got {entry}"))
        .collect()
}

fn check_request(
    check: &RequestCheck,
    request: &RecordedRequest,
    now: SystemTime,
) -> Option<String> {
    match check {
        RequestCheck::Header(field, value) => {
            let want = value.render(now);
            match joined(&request.headers, field) {
                Some(got) if got == want.as_bytes() => None,
                Some(got) => Some(format!(
                    "expected {field}: {}, got {field}: {}",
                    lossy(want.as_bytes()),
                    lossy(&got)
                )),
                None => Some(format!(
                    "expected {field}: {}, the field is absent",
                    lossy(want.as_bytes())
                )),
            }
        }
        RequestCheck::Present(field) => (!request.headers.contains_key(field))
            .then(|| format!("expected a {field} field, none present")),
        RequestCheck::Absent(field) => joined(&request.headers, field)
            .map(|got| format!("expected no {field}, got {field}: {}", lossy(&got))),
        RequestCheck::Method(method) => (request.method != *method)
            .then(|| format!("expected method {method}, got {}", request.method)),
        RequestCheck::Body(body) => (request.body != *body).then(|| {
            format!(
                "expected body {:?}, got {:?}",
                lossy(body),
                lossy(&request.body)
            )
        }),
        RequestCheck::Target(target) => (request.path_and_query() != target)
            .then(|| format!("expected target {target}, got {}", request.path_and_query())),
    }
}

//! The access log: one info event per request on target `webcache::access`.

use std::time::Duration;

use http::header::{CONTENT_LENGTH, HeaderMap};
use http::{Method, Response};
use http_body::Body;

use crate::body::ResponseBody;

/// The target of access log events.
pub(crate) const TARGET: &str = "webcache::access";

/// Logs one answered request.
pub(crate) fn log(method: &Method, path: &str, response: &Response<ResponseBody>, took: Duration) {
    let bytes = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .or_else(|| response.body().size_hint().exact());
    tracing::info!(
        target: TARGET,
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        outcome = %outcome(response.headers()),
        bytes,
        duration_ms = (took.as_secs_f64() * 1e6).round() / 1e3,
    );
}

/// How the cache answered, read from the last Cache-Status member (this
/// proxy's): `hit`, the `fwd` reason, the `detail` of an error, or `-`.
fn outcome(headers: &HeaderMap) -> &str {
    let Some(member) = headers
        .get_all("cache-status")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
    else {
        return "-";
    };
    let mut detail = None;
    for param in member.split(';').skip(1).map(str::trim) {
        match param.split_once('=') {
            None if param == "hit" => return "hit",
            Some(("fwd", why)) => return why,
            Some(("detail", what)) => detail = Some(what.trim_matches('"')),
            _ => {}
        }
    }
    detail.unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("cache-status", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_outcome_is_read_from_the_last_cache_status_member() {
        assert_eq!(outcome(&with(&[])), "-");
        assert_eq!(outcome(&with(&["webcache; hit; ttl=55"])), "hit");
        assert_eq!(
            outcome(&with(&["edge; hit", "webcache; fwd=uri-miss; stored"])),
            "uri-miss"
        );
        assert_eq!(
            outcome(&with(&["a; fwd=miss, webcache; fwd=stale"])),
            "stale"
        );
        assert_eq!(
            outcome(&with(&["webcache; detail=upstream-connect-error"])),
            "upstream-connect-error"
        );
    }
}

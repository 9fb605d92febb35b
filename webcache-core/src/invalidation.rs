//! Invalidation after unsafe requests (RFC 9111 §4.4).

use http::header::{CONTENT_LOCATION, HeaderMap, LOCATION};
use http::{Method, StatusCode};

use crate::config::Config;
use crate::key::PrimaryKey;

/// True for the safe methods of RFC 9110 §9.2.1. Every other method,
/// including unknown ones, is treated as unsafe (RFC 9111 §4.4).
pub fn is_safe_method(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The resources to invalidate after a response to `method` on `target`
/// (RFC 9111 §4.4): for an unsafe method and a non-error (2xx or 3xx)
/// status, the target URI, plus the URIs in Location and Content-Location
/// when they have the same origin as the target. `key_of` gives the
/// primary key of an absolute URI (the cache's
/// [`Retrieval::primary_key_for_uri`](crate::handler::Retrieval::primary_key_for_uri),
/// so that a custom key is honoured).
pub fn invalidation_targets(
    method: &Method,
    status: StatusCode,
    target: &PrimaryKey,
    response: &HeaderMap,
    config: &Config,
    key_of: impl Fn(&str) -> Option<PrimaryKey>,
) -> Vec<PrimaryKey> {
    if is_safe_method(method) || !(status.is_success() || status.is_redirection()) {
        return Vec::new();
    }
    let mut out = vec![target.clone()];
    for name in [LOCATION, CONTENT_LOCATION] {
        let Some(reference) = response.get(&name).and_then(|v| v.to_str().ok()) else {
            continue;
        };
        let Some(absolute) = resolve(target.uri(), reference.trim()) else {
            continue;
        };
        // Same origin, compared on the URIs as the request named them.
        let same_origin = PrimaryKey::from_uri(&absolute, config)
            .is_some_and(|plain| plain.origin() == target.origin());
        let Some(key) = key_of(&absolute).filter(|_| same_origin) else {
            continue;
        };
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

/// Resolves a URI reference against an absolute base URI (RFC 3986 §5.2),
/// dropping any fragment. `None` when the reference cannot be resolved.
pub fn resolve(base: &str, reference: &str) -> Option<String> {
    let reference = reference.split('#').next().unwrap_or("");
    let (base_scheme, base_rest) = base.split_once("://")?;
    // Absolute reference: scheme ":" ...
    if let Some(colon) = reference.find(':') {
        let scheme = &reference[..colon];
        let is_scheme = !scheme.is_empty()
            && scheme.as_bytes()[0].is_ascii_alphabetic()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if is_scheme && !reference[..colon].contains('/') {
            return Some(normalize_absolute(reference));
        }
    }
    let (authority, base_path_query) = match base_rest.find('/') {
        Some(i) => (&base_rest[..i], &base_rest[i..]),
        None => (base_rest, "/"),
    };
    if let Some(network) = reference.strip_prefix("//") {
        return Some(normalize_absolute(&format!("{base_scheme}://{network}")));
    }
    let (base_path, base_query) = match base_path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (base_path_query, None),
    };
    let (ref_path, ref_query) = match reference.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (reference, None),
    };
    let (path, query) = if ref_path.is_empty() {
        (base_path.to_owned(), ref_query.or(base_query))
    } else if ref_path.starts_with('/') {
        (remove_dot_segments(ref_path), ref_query)
    } else {
        let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
        (remove_dot_segments(&format!("{dir}{ref_path}")), ref_query)
    };
    let mut out = format!("{base_scheme}://{authority}{path}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

fn normalize_absolute(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_query, None),
    };
    let mut out = format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority,
        remove_dot_segments(path)
    );
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let mut output: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => trailing_slash = i == last,
            ".." => {
                if output.len() > usize::from(absolute) {
                    output.pop();
                }
                trailing_slash = i == last;
            }
            s => {
                output.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = output.join("/");
    if absolute && !out.starts_with('/') {
        out.insert(0, '/');
    }
    if trailing_slash && !out.ends_with('/') {
        out.push('/');
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn key(uri: &str) -> PrimaryKey {
        PrimaryKey::from_uri(uri, &Config::default()).unwrap()
    }

    #[test]
    fn rfc3986_5_4_reference_resolution_examples() {
        let base = "http://a/b/c/d;p?q";
        for (r, expected) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("https://other/x", "https://other/x"),
        ] {
            assert_eq!(resolve(base, r).as_deref(), Some(expected), "{r}");
        }
    }

    #[test]
    fn rfc9111_4_4_unsafe_success_invalidates_target_and_same_origin_locations() {
        let c = Config::default();
        let mut h = HeaderMap::new();
        h.insert(LOCATION, HeaderValue::from_static("/items/2"));
        h.insert(
            CONTENT_LOCATION,
            HeaderValue::from_static("http://evil.example/x"),
        );
        let targets = invalidation_targets(
            &Method::POST,
            StatusCode::CREATED,
            &key("http://a.example/items"),
            &h,
            &c,
            |u| PrimaryKey::from_uri(u, &c),
        );
        let uris: Vec<&str> = targets.iter().map(|k| k.uri()).collect();
        assert_eq!(
            uris,
            vec!["http://a.example/items", "http://a.example/items/2"]
        );
    }

    #[test]
    fn rfc9111_4_4_errors_and_safe_methods_do_not_invalidate() {
        let c = Config::default();
        let h = HeaderMap::new();
        let target = key("http://a/x");
        assert!(
            invalidation_targets(
                &Method::POST,
                StatusCode::INTERNAL_SERVER_ERROR,
                &target,
                &h,
                &c,
                |u| PrimaryKey::from_uri(u, &c),
            )
            .is_empty()
        );
        assert!(
            invalidation_targets(&Method::POST, StatusCode::NOT_FOUND, &target, &h, &c, |u| {
                PrimaryKey::from_uri(u, &c)
            })
            .is_empty()
        );
        assert!(
            invalidation_targets(&Method::GET, StatusCode::OK, &target, &h, &c, |u| {
                PrimaryKey::from_uri(u, &c)
            })
            .is_empty()
        );
        assert!(
            invalidation_targets(&Method::OPTIONS, StatusCode::OK, &target, &h, &c, |u| {
                PrimaryKey::from_uri(u, &c)
            })
            .is_empty()
        );
        assert_eq!(
            invalidation_targets(
                &Method::DELETE,
                StatusCode::NO_CONTENT,
                &target,
                &h,
                &c,
                |u| PrimaryKey::from_uri(u, &c)
            )
            .len(),
            1
        );
        assert_eq!(
            invalidation_targets(&Method::PUT, StatusCode::SEE_OTHER, &target, &h, &c, |u| {
                PrimaryKey::from_uri(u, &c)
            })
            .len(),
            1
        );
        let unknown = Method::from_bytes(b"FROB").unwrap();
        assert_eq!(
            invalidation_targets(&unknown, StatusCode::OK, &target, &h, &c, |u| {
                PrimaryKey::from_uri(u, &c)
            })
            .len(),
            1
        );
    }

    #[test]
    fn rfc9111_4_4_different_port_or_scheme_is_another_origin() {
        let c = Config::default();
        let mut h = HeaderMap::new();
        h.insert(LOCATION, HeaderValue::from_static("https://a/x"));
        h.insert(
            CONTENT_LOCATION,
            HeaderValue::from_static("http://a:8080/x"),
        );
        assert_eq!(
            invalidation_targets(
                &Method::POST,
                StatusCode::OK,
                &key("http://a/y"),
                &h,
                &c,
                |u| PrimaryKey::from_uri(u, &c)
            )
            .len(),
            1
        );
    }
}

//! The Vary field (RFC 9110 §12.5.5) and the normalisation of the request
//! header fields it nominates (RFC 9111 §4.1).

use http::header::{
    ACCEPT, ACCEPT_CHARSET, ACCEPT_ENCODING, ACCEPT_LANGUAGE, HeaderMap, HeaderName, VARY,
};

use super::list::{is_ows, split_members};

/// A parsed Vary field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Vary {
    /// `*`: the response can never be selected by a later request without
    /// revalidation (RFC 9111 §4.1).
    Any,
    /// The selecting header fields, lower-cased and without duplicates, in
    /// order of first appearance. Empty when Vary is absent.
    Fields(Vec<HeaderName>),
}

impl Vary {
    /// Reads every Vary line of a response. Members that are not valid field
    /// names are ignored; a `*` member anywhere makes the whole value `*`.
    pub fn from_headers(headers: &HeaderMap) -> Vary {
        let mut names: Vec<HeaderName> = Vec::new();
        for member in headers
            .get_all(VARY)
            .iter()
            .flat_map(|v| split_members(v.as_bytes()))
        {
            if member == b"*" {
                return Vary::Any;
            }
            if let Ok(name) = HeaderName::from_bytes(member) {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        Vary::Fields(names)
    }

    /// True for `Vary: *`.
    pub fn is_any(&self) -> bool {
        matches!(self, Vary::Any)
    }
}

/// Fields whose values are case-insensitive and whose list members carry
/// parameters (`;q=`): Accept (RFC 9110 §12.5.1, media types compare
/// case-insensitively), Accept-Charset, Accept-Encoding (content codings are
/// case-insensitive tokens) and Accept-Language (language tags are
/// case-insensitive).
fn is_case_insensitive_list(name: &HeaderName) -> bool {
    name == ACCEPT || name == ACCEPT_ENCODING || name == ACCEPT_LANGUAGE || name == ACCEPT_CHARSET
}

/// The normalised value of request field `name`, for comparing two requests
/// under RFC 9111 §4.1; `None` when the field is absent.
///
/// All lines are combined as one list (RFC 9110 §5.3) and whitespace around
/// list commas is removed. For the content-negotiation fields above, whose
/// members are unordered (preference is expressed by `q`, not position),
/// whitespace around `;` and `=` is removed, the value is lower-cased and
/// the members are sorted. Values that differ only in these ways normalise
/// to the same bytes.
pub fn normalized_value(headers: &HeaderMap, name: &HeaderName) -> Option<Vec<u8>> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let fold = is_case_insensitive_list(name);
    // The members written one after another, a comma between, and where
    // each lies: sorted already (or not to be sorted), that is the value.
    let mut joined = Vec::new();
    let mut spans: Vec<std::ops::Range<usize>> = Vec::new();
    for line in lines {
        for member in split_members(line.as_bytes()) {
            if !spans.is_empty() {
                joined.push(b',');
            }
            let start = joined.len();
            if fold {
                push_folded(member, &mut joined);
            } else {
                joined.extend_from_slice(member);
            }
            spans.push(start..joined.len());
        }
    }
    let member = |span: &std::ops::Range<usize>| &joined[span.clone()];
    if fold && !spans.windows(2).all(|w| member(&w[0]) <= member(&w[1])) {
        spans.sort_by(|a, b| member(a).cmp(member(b)));
        let mut sorted = Vec::with_capacity(joined.len());
        for (i, span) in spans.iter().enumerate() {
            if i > 0 {
                sorted.push(b',');
            }
            sorted.extend_from_slice(member(span));
        }
        return Some(sorted);
    }
    Some(joined)
}

/// Appends `member` lower-cased, without whitespace around `;` and `=`.
fn push_folded(member: &[u8], out: &mut Vec<u8>) {
    let mut pending_space = false;
    for &b in member {
        if is_ows(b) {
            pending_space = true;
            continue;
        }
        if b == b';' || b == b'=' {
            pending_space = false;
            // Drop whitespace already written before the separator.
            while out.last().is_some_and(|&l| is_ows(l)) {
                out.pop();
            }
            out.push(b);
            continue;
        }
        if pending_space && !matches!(out.last(), Some(b';') | Some(b'=') | Some(b',') | None) {
            out.push(b' ');
        }
        pending_space = false;
        out.push(b.to_ascii_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn norm(lines: &[&str], name: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        for l in lines {
            h.append(name.clone(), HeaderValue::from_str(l).unwrap());
        }
        normalized_value(&h, &name).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn rfc9110_12_5_5_vary_parses_names_and_star() {
        let mut h = HeaderMap::new();
        h.append(
            VARY,
            HeaderValue::from_static("Accept-Encoding, accept-language"),
        );
        h.append(VARY, HeaderValue::from_static("ACCEPT-ENCODING"));
        assert_eq!(
            Vary::from_headers(&h),
            Vary::Fields(vec![ACCEPT_ENCODING, ACCEPT_LANGUAGE])
        );
        h.append(VARY, HeaderValue::from_static("foo, *"));
        assert!(Vary::from_headers(&h).is_any());
        assert_eq!(Vary::from_headers(&HeaderMap::new()), Vary::Fields(vec![]));
    }

    #[test]
    fn rfc9111_4_1_whitespace_and_line_combining_normalise() {
        assert_eq!(norm(&["a, b"], "x-foo"), norm(&["a,b"], "x-foo"));
        assert_eq!(norm(&["a", "b"], "x-foo"), norm(&["a ,  b"], "x-foo"));
        assert_ne!(norm(&["a"], "x-foo"), norm(&["b"], "x-foo"));
        // Case is significant for fields not known to be case-insensitive.
        assert_ne!(norm(&["A"], "x-foo"), norm(&["a"], "x-foo"));
    }

    #[test]
    fn rfc9111_4_1_content_negotiation_fields_fold_case_and_params() {
        assert_eq!(
            norm(&["GZIP;q=1.0, br"], "accept-encoding"),
            norm(&["gzip ; q = 1.0,br"], "accept-encoding")
        );
        assert_eq!(
            norm(&["en-US"], "accept-language"),
            norm(&["en-us"], "accept-language")
        );
        assert_eq!(
            norm(&["text/html; charset=UTF-8"], "accept"),
            Some("text/html;charset=utf-8".into())
        );
        assert_eq!(
            norm(&["en, de"], "accept-language"),
            norm(&[" De ,   eN "], "accept-language")
        );
        // Unknown fields keep their order.
        assert_ne!(norm(&["a, b"], "x-foo"), norm(&["b, a"], "x-foo"));
    }

    /// The normalisation as first written: each member folded on its own,
    /// sorted, joined.
    fn reference(lines: &[&str], name: &str) -> Option<String> {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        if lines.is_empty() {
            return None;
        }
        let fold = is_case_insensitive_list(&name);
        let mut members: Vec<Vec<u8>> = Vec::new();
        for line in lines {
            for member in split_members(line.as_bytes()) {
                let mut m = Vec::new();
                if fold {
                    push_folded(member, &mut m);
                } else {
                    m.extend_from_slice(member);
                }
                members.push(m);
            }
        }
        if fold {
            members.sort();
        }
        Some(String::from_utf8(members.join(&b',')).unwrap())
    }

    #[test]
    fn rfc9111_4_1_normalised_values_are_those_first_specified() {
        // Secondary keys hash these values: they must not change.
        let cases: [&[&str]; 8] = [
            &["gzip, br"],
            &["gzip, deflate, br, zstd"],
            &["br", "GZIP ;Q=0.5", " deflate"],
            &["en-US,en;q=0.9, de ; q = 0.8"],
            &["text/html, application/xhtml+xml, */*;q=0.8"],
            &["a, a, b"],
            &[""],
            &[" , x ,"],
        ];
        for lines in cases {
            for name in ["accept-encoding", "accept-language", "accept", "x-foo"] {
                assert_eq!(
                    norm(lines, name),
                    reference(lines, name),
                    "{lines:?} {name}"
                );
            }
        }
    }

    #[test]
    fn rfc9111_4_1_absent_differs_from_empty() {
        assert_eq!(norm(&[], "x-foo"), None);
        assert_eq!(norm(&[""], "x-foo"), Some(String::new()));
    }
}

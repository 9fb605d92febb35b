//! Comma-separated list fields (RFC 9110 §5.6.1), read across every field line.

use http::HeaderValue;
use http::header::{GetAll, HeaderMap, HeaderName};

/// Optional whitespace (RFC 9110 §5.6.3): space and horizontal tab.
pub(crate) fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims optional whitespace from both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if is_ows(*first) {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if is_ows(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' |
        b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// True when `s` is a non-empty `token` (RFC 9110 §5.6.2).
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Splits one field line into list members at commas outside quoted strings,
/// trimming whitespace and skipping empty members (RFC 9110 §5.6.1.2).
pub(crate) fn split_members(line: &[u8]) -> Members<'_> {
    Members { rest: line }
}

/// Iterator returned by [`split_members`].
pub(crate) struct Members<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Members<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let mut in_quotes = false;
            let mut escaped = false;
            let mut end = self.rest.len();
            for (i, &b) in self.rest.iter().enumerate() {
                if in_quotes {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_quotes = false;
                    }
                } else if b == b'"' {
                    in_quotes = true;
                } else if b == b',' {
                    end = i;
                    break;
                }
            }
            let member = trim_ows(&self.rest[..end]);
            self.rest = if end < self.rest.len() {
                &self.rest[end + 1..]
            } else {
                &[]
            };
            if !member.is_empty() {
                return Some(member);
            }
        }
    }
}

/// Every list member of every line of `name` in `headers`, in order.
pub(crate) fn members<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    let lines: GetAll<'a, HeaderValue> = headers.get_all(name);
    lines
        .into_iter()
        .flat_map(|value| split_members(value.as_bytes()))
}

/// Unquotes a `quoted-string` (RFC 9110 §5.6.4), resolving quoted pairs.
/// Returns `None` when `s` is not a complete quoted string.
pub(crate) fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    let inner = s.strip_prefix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut escaped = false;
    for (i, &b) in inner.iter().enumerate() {
        if escaped {
            out.push(b);
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            // The closing quote must end the value.
            return (i + 1 == inner.len()).then_some(out);
        } else {
            out.push(b);
        }
    }
    None
}

/// Renders `s` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> Vec<&str> {
        split_members(s.as_bytes())
            .map(|m| std::str::from_utf8(m).unwrap())
            .collect()
    }

    #[test]
    fn rfc9110_5_6_1_2_empty_members_and_whitespace_are_ignored() {
        assert_eq!(all(" a ,, b\t,c , "), vec!["a", "b", "c"]);
        assert_eq!(all(",,,"), Vec::<&str>::new());
    }

    #[test]
    fn rfc9110_5_6_4_commas_inside_quotes_do_not_split() {
        assert_eq!(
            all(r#"no-cache="a, b", x="\"q,\"", max-age=1"#),
            vec![r#"no-cache="a, b""#, r#"x="\"q,\"""#, "max-age=1"]
        );
    }

    #[test]
    fn rfc9110_5_6_4_unquote_resolves_quoted_pairs() {
        assert_eq!(unquote(br#""a\"b""#).unwrap(), b"a\"b");
        assert_eq!(unquote(br#""abc"#), None);
        assert_eq!(unquote(br#""a"b"#), None);
        let mut s = String::new();
        quote("a\"b", &mut s);
        assert_eq!(s, r#""a\"b""#);
    }
}

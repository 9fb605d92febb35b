//! A strict parser for Structured Field Dictionaries (RFC 8941 §3.2,
//! §4.2.2), the syntax of targeted cache-control fields (RFC 9213 §2.1).
//!
//! Any syntax error makes the whole field invalid, as RFC 8941 §4.2
//! requires: `max-age =100`, `max-age= 100`, `MaX-aGe=1` (keys are lower
//! case) and `&&&&&` all fail.

/// A bare item (RFC 8941 §3.3). Decimals, byte sequences and inner lists
/// are kept only as far as a cache needs to tell them apart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Item {
    Integer(i64),
    Decimal,
    String(Vec<u8>),
    Token(Vec<u8>),
    ByteSequence,
    Boolean(bool),
    InnerList,
}

/// A parsed dictionary: keys in order of first appearance, each with the
/// value of its last appearance (RFC 8941 §4.2.2); parameters dropped.
pub(crate) type Dictionary = Vec<(Vec<u8>, Item)>;

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// `key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )`
    fn key(&mut self) -> Option<Vec<u8>> {
        let start = self.pos;
        match self.peek()? {
            b'a'..=b'z' | b'*' => self.pos += 1,
            _ => return None,
        }
        while let Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*') = self.peek() {
            self.pos += 1;
        }
        Some(self.input[start..self.pos].to_vec())
    }

    fn bare_item(&mut self) -> Option<Item> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => self.string(),
            b'A'..=b'Z' | b'a'..=b'z' | b'*' => self.token(),
            b':' => self.byte_sequence(),
            b'?' => self.boolean(),
            _ => None,
        }
    }

    /// RFC 8941 §4.2.4.
    fn number(&mut self) -> Option<Item> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        let mut dot = None;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' => self.pos += 1,
                b'.' if dot.is_none() => {
                    if self.pos - start > 12 {
                        return None;
                    }
                    dot = Some(self.pos);
                    self.pos += 1;
                }
                _ => break,
            }
            let len = self.pos - start;
            if (dot.is_none() && len > 15) || (dot.is_some() && len > 16) {
                return None;
            }
        }
        let digits = &self.input[start..self.pos];
        if digits.is_empty() || !digits[0].is_ascii_digit() {
            return None;
        }
        match dot {
            None => {
                let mut n: i64 = 0;
                for &d in digits {
                    n = n * 10 + i64::from(d - b'0');
                }
                Some(Item::Integer(if negative { -n } else { n }))
            }
            Some(at) => {
                let fraction = self.pos - at - 1;
                (1..=3).contains(&fraction).then_some(Item::Decimal)
            }
        }
    }

    /// RFC 8941 §4.2.5.
    fn string(&mut self) -> Option<Item> {
        self.next()?; // the opening DQUOTE
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'\\' => match self.next()? {
                    c @ (b'"' | b'\\') => out.push(c),
                    _ => return None,
                },
                b'"' => return Some(Item::String(out)),
                c @ 0x20..=0x7e => out.push(c),
                _ => return None,
            }
        }
    }

    /// RFC 8941 §4.2.6.
    fn token(&mut self) -> Option<Item> {
        let start = self.pos;
        self.pos += 1;
        while let Some(b) = self.peek() {
            if crate::headers::list::is_tchar(b) || b == b':' || b == b'/' {
                self.pos += 1;
            } else {
                break;
            }
        }
        Some(Item::Token(self.input[start..self.pos].to_vec()))
    }

    /// RFC 8941 §4.2.7.
    fn byte_sequence(&mut self) -> Option<Item> {
        self.next()?;
        loop {
            match self.next()? {
                b':' => return Some(Item::ByteSequence),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => {}
                _ => return None,
            }
        }
    }

    /// RFC 8941 §4.2.8.
    fn boolean(&mut self) -> Option<Item> {
        self.next()?;
        match self.next()? {
            b'0' => Some(Item::Boolean(false)),
            b'1' => Some(Item::Boolean(true)),
            _ => None,
        }
    }

    /// `*( ";" *SP key [ "=" bare-item ] )`, discarded.
    fn parameters(&mut self) -> Option<()> {
        while self.peek() == Some(b';') {
            self.pos += 1;
            self.skip_sp();
            self.key()?;
            if self.peek() == Some(b'=') {
                self.pos += 1;
                self.bare_item()?;
            }
        }
        Some(())
    }

    /// RFC 8941 §4.2.1.2.
    fn inner_list(&mut self) -> Option<Item> {
        self.next()?; // "("
        loop {
            self.skip_sp();
            if self.peek()? == b')' {
                self.pos += 1;
                self.parameters()?;
                return Some(Item::InnerList);
            }
            self.bare_item()?;
            self.parameters()?;
            match self.peek()? {
                b' ' | b')' => {}
                _ => return None,
            }
        }
    }

    fn item_or_inner_list(&mut self) -> Option<Item> {
        if self.peek()? == b'(' {
            return self.inner_list();
        }
        let item = self.bare_item()?;
        self.parameters()?;
        Some(item)
    }

    /// RFC 8941 §4.2.2.
    fn dictionary(&mut self) -> Option<Dictionary> {
        let mut out: Dictionary = Vec::new();
        if self.peek().is_none() {
            return Some(out);
        }
        loop {
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.pos += 1;
                self.item_or_inner_list()?
            } else {
                self.parameters()?;
                Item::Boolean(true)
            };
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => out.push((key, value)),
            }
            self.skip_ows();
            if self.peek().is_none() {
                return Some(out);
            }
            if self.next()? != b',' {
                return None;
            }
            self.skip_ows();
            // A trailing comma is an error.
            self.peek()?;
        }
    }
}

/// Parses the field lines of a Dictionary field, combined with `", "` (RFC
/// 8941 §4.2): `None` on any syntax error (the field is then ignored); an
/// empty or all-blank field is an empty dictionary.
pub(crate) fn parse_dictionary<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Option<Dictionary> {
    let mut combined = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        if i > 0 {
            combined.extend_from_slice(b", ");
        }
        combined.extend_from_slice(line);
    }
    let mut p = Parser {
        input: &combined,
        pos: 0,
    };
    p.skip_sp();
    let dict = p.dictionary()?;
    p.skip_sp();
    (p.pos == combined.len()).then_some(dict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Option<Dictionary> {
        parse_dictionary([s.as_bytes()])
    }

    #[test]
    fn rfc8941_4_2_2_dictionaries_parse() {
        assert_eq!(
            parse("max-age=3600, no-store, private=\"a, b\", foo;x=1, bar=?0"),
            Some(vec![
                (b"max-age".to_vec(), Item::Integer(3600)),
                (b"no-store".to_vec(), Item::Boolean(true)),
                (b"private".to_vec(), Item::String(b"a, b".to_vec())),
                (b"foo".to_vec(), Item::Boolean(true)),
                (b"bar".to_vec(), Item::Boolean(false)),
            ])
        );
        assert_eq!(
            parse("a=tok/en:x, b=1.5, c=:aGk=:, d=(1 2), e=-3"),
            Some(vec![
                (b"a".to_vec(), Item::Token(b"tok/en:x".to_vec())),
                (b"b".to_vec(), Item::Decimal),
                (b"c".to_vec(), Item::ByteSequence),
                (b"d".to_vec(), Item::InnerList),
                (b"e".to_vec(), Item::Integer(-3)),
            ])
        );
        // The last value of a repeated key wins.
        assert_eq!(
            parse("a=1, a=2"),
            Some(vec![(b"a".to_vec(), Item::Integer(2))])
        );
        assert_eq!(parse(""), Some(vec![]));
        assert_eq!(
            parse_dictionary([&b"a=1"[..], b"b"]),
            Some(vec![
                (b"a".to_vec(), Item::Integer(1)),
                (b"b".to_vec(), Item::Boolean(true))
            ])
        );
    }

    #[test]
    fn rfc8941_4_2_invalid_dictionaries_fail_whole() {
        for bad in [
            "max-age =100",
            "max-age= 100",
            "MaX-aGe=3600",
            "&&&&&",
            "max-age=10000, &&&&&",
            "a=1,",
            "a=1,,b",
            "a=\"unterminated",
            "a=\"bad\\escape\"",
            "a=1234567890123456",
            "a=1.2345",
            "a=1.",
            "a=?2",
            "a=@1",
            "a b",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

//! Helpers shared by the fuzz targets: turning fuzzer bytes into header
//! maps the way a server's parser would hand them over.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Header fields from `data`, one `name: value` per line (`\n`-separated).
/// Lines whose name or value a server would reject are skipped, as hyper
/// rejects them before any application code sees them.
pub fn header_lines(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    headers
}

/// One field `name` with each `\n`-separated line of `data` as a line of it.
pub fn field_lines(name: &HeaderName, data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(trim(line)) {
            headers.append(name.clone(), value);
        }
    }
    headers
}

/// `value` without the spaces and tabs around it (what a server's parser
/// strips from a field value).
pub fn trim(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// Splits `data` at the first `sep`: before and after (empty when absent).
pub fn split_at_byte(data: &[u8], sep: u8) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == sep) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A big-endian integer from the first `N` bytes of `data` (zero-padded),
/// and the rest.
pub fn take_u64<const N: usize>(data: &[u8]) -> (u64, &[u8]) {
    let n = data.len().min(N);
    let value = data[..n].iter().fold(0u64, |v, &b| (v << 8) | u64::from(b));
    (value, &data[n..])
}

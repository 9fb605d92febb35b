//! The binary's log output: `tracing` events to stderr, filtered by
//! RUST_LOG (or --log), as text or one JSON object per line.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;
use std::time::SystemTime;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{Args, LogFormat};

/// Installs the global subscriber.
pub fn init(args: &Args) {
    let filter = filter(args);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.event_format(Json).init(),
    }
}

/// RUST_LOG when set (and valid), else --log; the access log's target at
/// info when --access-log is given.
fn filter(args: &Args) -> EnvFilter {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| match EnvFilter::try_new(&v) {
            Ok(filter) => Some(filter),
            Err(error) => {
                eprintln!("webcache-proxy: ignoring RUST_LOG={v:?}: {error}");
                None
            }
        });
    let filter = from_env.unwrap_or_else(|| EnvFilter::new(args.log.as_str().to_lowercase()));
    if !args.access_log {
        return filter;
    }
    match "webcache::access=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// One JSON object per event: `ts` (Unix seconds), `level`, `target`,
/// then the event's fields (`message` among them when it has one).
struct Json;

impl<S, N> FormatEvent<S, N> for Json
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ts = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let meta = event.metadata();
        let mut line = format!(
            "{{\"ts\":{ts:.3},\"level\":\"{}\",\"target\":",
            meta.level()
        );
        quote(&mut line, meta.target());
        let mut fields = JsonFields(&mut line);
        event.record(&mut fields);
        line.push('}');
        writeln!(writer, "{line}")
    }
}

/// Appends each field as `,"name":value`.
struct JsonFields<'a>(&'a mut String);

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        self.0.push(',');
        quote(self.0, field.name());
        self.0.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.0, "{value:.3}");
        } else {
            self.0.push_str("null");
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        quote(self.0, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        quote(self.0, &format!("{value:?}"));
    }
}

/// Appends `text` as a JSON string.
fn quote(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn strings_are_escaped_for_json() {
        let mut out = String::new();
        quote(&mut out, "a\"b\\c\nd\u{1}é");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é""#);
    }
}

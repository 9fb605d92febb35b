//! A load driver bounded in time and in count, with per-request error
//! accounting, for `bench/faults.sh` and `bench/soak.sh`. It talks to a
//! cache in front of the `fault_origin` example, checks every body against
//! the origin's pattern and length, and logs one CSV line per request.
//!
//! ```sh
//! cargo run --release -p webcache-proxy --example load -- \
//!     --target http://127.0.0.1:8080 --seconds 20 --concurrency 16 --log /tmp/requests.csv
//! ```
//!
//! Options (all `--name value`): `target`, `seconds` (10), `max-requests`
//! (1000000), `concurrency` (16), `hot` (hot objects, requested once each
//! before the run so that they are hits; 50), `cold` (objects not warmed,
//! 200), `len` (body length, 1024), `prefix` (names, so runs do not share
//! objects; `r`), `mix` (weights of `hot`, `cold`, `unique` (a new object
//! each time: a miss), `reval` (max-age=1: revalidations), `large` (a
//! `large-len` object), `post` (an unsafe method on a hot object:
//! invalidation), default `hot:80,cold:10,unique:5,reval:5`), `large-len`
//! (1048576), `slow-readers` (clients that each loop on a `slow-len` unique
//! miss read at `slow-rate` bytes/s; 0), `slow-len` (67108864), `slow-rate`
//! (4194304), `log` (the CSV file: `start_ms,end_ms,kind,status,hit,class`).
//!
//! `class` is `ok`, `short` (a 200 whose body ended early without error: a
//! stored truncated body, or a truncated relay), `corrupt` (wrong bytes),
//! `body-error` (the body ended in error), `status-<code>` (not 200/304)
//! or `transport` (no response). The summary goes to stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

#[derive(Clone)]
struct Options {
    target: String,
    seconds: u64,
    max_requests: u64,
    concurrency: usize,
    hot: u64,
    cold: u64,
    len: u64,
    prefix: String,
    mix: Vec<(String, u64)>,
    large_len: u64,
    slow_readers: usize,
    slow_len: u64,
    slow_rate: u64,
    log: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut map = BTreeMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let name = name
            .strip_prefix("--")
            .ok_or(format!("not an option: {name}"))?;
        let value = args.next().ok_or(format!("--{name} needs a value"))?;
        map.insert(name.to_owned(), value);
    }
    let get = |name: &str, default: &str| map.get(name).cloned().unwrap_or(default.to_owned());
    let num = |name: &str, default: u64| -> Result<u64, String> {
        get(name, &default.to_string())
            .parse()
            .map_err(|_| format!("--{name}: not a number"))
    };
    let mix = get("mix", "hot:80,cold:10,unique:5,reval:5")
        .split(',')
        .map(|m| {
            let (kind, weight) = m.split_once(':').ok_or(format!("bad mix member {m}"))?;
            Ok((
                kind.to_owned(),
                weight.parse().map_err(|_| format!("bad weight {m}"))?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Options {
        target: get("target", "http://127.0.0.1:8080"),
        seconds: num("seconds", 10)?,
        max_requests: num("max-requests", 1_000_000)?,
        concurrency: num("concurrency", 16)? as usize,
        hot: num("hot", 50)?.max(1),
        cold: num("cold", 200)?.max(1),
        len: num("len", 1024)?,
        prefix: get("prefix", "r"),
        mix,
        large_len: num("large-len", 1 << 20)?,
        slow_readers: num("slow-readers", 0)? as usize,
        slow_len: num("slow-len", 64 << 20)?,
        slow_rate: num("slow-rate", 4 << 20)?.max(1),
        log: map.get("log").cloned(),
    })
}

/// A small xorshift generator: no dependency, and the mix is all it needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Record {
    start_ms: u64,
    end_ms: u64,
    kind: &'static str,
    status: u16,
    hit: bool,
    class: String,
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Sends one request and reads the whole body (at `rate` bytes/s when
/// given), checking it against the origin's pattern.
async fn exchange(
    client: &HttpClient,
    method: Method,
    uri: &str,
    expected: u64,
    kind: &'static str,
    rate: Option<u64>,
) -> Record {
    let start_ms = epoch_ms();
    let request = Request::builder()
        .method(method.clone())
        .uri(uri)
        .body(Empty::new())
        .expect("the driver builds valid requests");
    let mut record = Record {
        start_ms,
        end_ms: 0,
        kind,
        status: 0,
        hit: false,
        class: "transport".into(),
    };
    let Ok(response) = client.request(request).await else {
        record.end_ms = epoch_ms();
        return record;
    };
    record.status = response.status().as_u16();
    record.hit = response
        .headers()
        .get_all("cache-status")
        .iter()
        .any(|v| v.as_bytes().windows(5).any(|w| w == b"; hit"));
    let ok_status =
        response.status() == StatusCode::OK || response.status() == StatusCode::NOT_MODIFIED;
    let check = method == Method::GET && response.status() == StatusCode::OK;
    let mut body = response.into_body();
    let (mut got, mut corrupt, mut failed) = (0u64, false, false);
    let started = Instant::now();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            failed = true;
            break;
        };
        if let Some(data) = frame.data_ref() {
            if check {
                corrupt |= data
                    .iter()
                    .enumerate()
                    .any(|(i, &b)| b != b'a' + ((got + i as u64) % 26) as u8);
            }
            got += data.len() as u64;
            if let Some(rate) = rate {
                let due = Duration::from_secs_f64(got as f64 / rate as f64);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
    record.end_ms = epoch_ms();
    record.class = if failed {
        "body-error".into()
    } else if !ok_status {
        format!("status-{}", record.status)
    } else if check && got != expected {
        "short".into()
    } else if corrupt {
        "corrupt".into()
    } else {
        "ok".into()
    };
    record
}

/// One worker: requests drawn from the mix until the deadline or the count.
async fn worker(
    client: HttpClient,
    options: Arc<Options>,
    seed: u64,
    deadline: Instant,
    sent: Arc<AtomicU64>,
    unique: Arc<AtomicU64>,
) -> Vec<Record> {
    let mut rng = Rng(seed | 1);
    let total: u64 = options.mix.iter().map(|(_, w)| w).sum::<u64>().max(1);
    let (base, p, len) = (&options.target, &options.prefix, options.len);
    let mut records = Vec::new();
    while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < options.max_requests {
        let mut pick = rng.next() % total;
        let kind = options
            .mix
            .iter()
            .find(|(_, w)| {
                let found = pick < *w;
                pick = pick.saturating_sub(*w);
                found
            })
            .map_or("hot", |(k, _)| k.as_str());
        let (kind, method, uri, expected): (&'static str, Method, String, u64) = match kind {
            "cold" => {
                let i = rng.next() % options.cold;
                (
                    "cold",
                    Method::GET,
                    format!("{base}/obj/{len}/{p}-cold-{i}"),
                    len,
                )
            }
            "unique" => {
                let i = unique.fetch_add(1, Ordering::Relaxed);
                (
                    "unique",
                    Method::GET,
                    format!("{base}/obj/{len}/{p}-u-{seed}-{i}"),
                    len,
                )
            }
            "reval" => {
                let i = rng.next() % 20;
                (
                    "reval",
                    Method::GET,
                    format!("{base}/reval/{len}/{p}-reval-{i}"),
                    len,
                )
            }
            "large" => {
                let l = options.large_len;
                ("large", Method::GET, format!("{base}/obj/{l}/{p}-large"), l)
            }
            "post" => {
                let i = rng.next() % options.hot;
                (
                    "post",
                    Method::POST,
                    format!("{base}/obj/{len}/{p}-hot-{i}"),
                    3,
                )
            }
            _ => {
                let i = rng.next() % options.hot;
                (
                    "hot",
                    Method::GET,
                    format!("{base}/obj/{len}/{p}-hot-{i}"),
                    len,
                )
            }
        };
        records.push(exchange(&client, method, &uri, expected, kind, None).await);
    }
    records
}

/// A slow reader: unique large misses, one after another, each read at the
/// slow rate, until the deadline.
async fn slow_reader(
    client: HttpClient,
    options: Arc<Options>,
    n: usize,
    deadline: Instant,
) -> Vec<Record> {
    let mut records = Vec::new();
    let mut i = 0;
    while Instant::now() < deadline {
        let uri = format!(
            "{}/obj/{}/{}-slow-{n}-{i}",
            options.target, options.slow_len, options.prefix
        );
        let rate = Some(options.slow_rate);
        records.push(exchange(&client, Method::GET, &uri, options.slow_len, "slow", rate).await);
        i += 1;
    }
    records
}

fn summary(records: &[Record]) -> String {
    let mut by_class: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut hits = 0;
    for r in records {
        *by_class.entry((r.kind, r.class.as_str())).or_default() += 1;
        hits += u64::from(r.hit);
    }
    let mut out = format!("requests {} hits {hits}", records.len());
    for ((kind, class), n) in by_class {
        out.push_str(&format!(" {kind}/{class} {n}"));
    }
    out
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Arc::new(options()?);
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(options.concurrency + options.slow_readers)
        .build(connector);

    // Warm the hot set: each hot object once, so that the run starts on hits.
    for i in 0..options.hot {
        let uri = format!(
            "{}/obj/{}/{}-hot-{i}",
            options.target, options.len, options.prefix
        );
        exchange(&client, Method::GET, &uri, options.len, "warm", None).await;
    }

    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let sent = Arc::new(AtomicU64::new(0));
    let unique = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for n in 0..options.concurrency {
        let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(n as u64 + 1);
        tasks.push(tokio::spawn(worker(
            client.clone(),
            options.clone(),
            seed,
            deadline,
            sent.clone(),
            unique.clone(),
        )));
    }
    for n in 0..options.slow_readers {
        tasks.push(tokio::spawn(slow_reader(
            client.clone(),
            options.clone(),
            n,
            deadline,
        )));
    }
    let mut records = Vec::new();
    for task in tasks {
        records.extend(task.await?);
    }
    records.sort_by_key(|r| r.end_ms);
    if let Some(path) = &options.log {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(out, "start_ms,end_ms,kind,status,hit,class")?;
        for r in &records {
            let hit = u8::from(r.hit);
            writeln!(
                out,
                "{},{},{},{},{hit},{}",
                r.start_ms, r.end_ms, r.kind, r.status, r.class
            )?;
        }
    }
    println!("{}", summary(&records));
    Ok(())
}

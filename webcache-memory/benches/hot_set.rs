//! What holding a million responses costs a hit on a hot set, as one
//! ratio measured so that a machine whose speed drifts cannot bias it.
//!
//! Each case, the same hot set of 1 000 keys with 1 000 or with 1 000 000
//! responses stored, is built in a process of its own (this binary, run
//! again with `HOT_SET_ENTRIES`), so that neither case's store, per-thread
//! state or heap is the other's. The two processes then take turns,
//! ABBA, each timing a round of hits on its one thread while the other
//! waits. Printed: each case's median time per hit, and the median over
//! the rounds of (time with 1 000) / (time with 1 000 000) — the hit rate
//! with a million entries as a share of the rate with a thousand.
//!
//! ```sh
//! cargo bench -p webcache-memory --bench hot_set
//! ROUNDS=30 HITS=200000 cargo bench -p webcache-memory --bench hot_set
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use std::hint::black_box;

mod support;

/// The hot set's size.
const HOT: u64 = 1_000;

fn main() {
    match std::env::var("HOT_SET_ENTRIES") {
        Ok(entries) => serve_rounds(entries.parse().expect("HOT_SET_ENTRIES: a count")),
        Err(_) => compare(),
    }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One case: fills its cache, says `ready`, then for each line `K` on
/// standard input times `K` hits and prints the nanoseconds per hit.
fn serve_rounds(entries: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let cache = support::filled(&rt, entries);
    let mut state = support::SEED;
    for _ in 0..10 * HOT {
        black_box(support::hit(&rt, &cache, &mut state, HOT));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").expect("stdout");
    out.flush().expect("stdout");
    for line in std::io::stdin().lock().lines() {
        let hits: u32 = line.expect("stdin").trim().parse().expect("a count");
        let started = Instant::now();
        for _ in 0..hits {
            black_box(support::hit(&rt, &cache, &mut state, HOT));
        }
        let per_hit = started.elapsed().as_nanos() as f64 / f64::from(hits.max(1));
        writeln!(out, "{per_hit}").expect("stdout");
        out.flush().expect("stdout");
    }
}

/// A case's process.
struct Case {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    times: Vec<f64>,
}

impl Case {
    fn start(entries: u64) -> Case {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .env("HOT_SET_ENTRIES", entries.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the case's process starts");
        let input = child.stdin.take().expect("piped");
        let output = BufReader::new(child.stdout.take().expect("piped"));
        let mut case = Case {
            child,
            input,
            output,
            times: Vec::new(),
        };
        assert_eq!(case.line(), "ready", "the case's process is ready");
        case
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.output.read_line(&mut line).expect("the case answers");
        line.trim().to_owned()
    }

    fn round(&mut self, hits: usize) -> f64 {
        writeln!(self.input, "{hits}").expect("the case reads");
        let time = self.line().parse().expect("nanoseconds per hit");
        self.times.push(time);
        time
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn compare() {
    let rounds = setting("ROUNDS", 20);
    let hits = setting("HITS", 200_000);
    let mut small = Case::start(HOT);
    let mut large = Case::start(1_000_000);
    let mut ratios = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = small.round(hits);
            (a, large.round(hits))
        } else {
            let b = large.round(hits);
            (small.round(hits), b)
        };
        ratios.push(a / b);
    }
    for (case, entries) in [(&mut small, HOT), (&mut large, 1_000_000)] {
        let _ = case.child.kill();
        let _ = case.child.wait();
        let times = std::mem::take(&mut case.times);
        println!(
            "hot set of {HOT}, {entries:>9} stored: {:.0} ns per hit (median of {rounds} rounds of {hits})",
            median(times)
        );
    }
    println!(
        "1 000 000 vs 1 000: {:.3}x (median of the rounds' ratios)",
        median(ratios)
    );
}

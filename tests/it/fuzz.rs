//! A fuzz harness over the scenario loader, the `--set` parser and the
//! trace reader: inputs from the corpus `tests/fixtures/fuzz/` (valid files
//! and reproducers of past findings: `*.toml` scenarios, `*.csv` traces,
//! `sets.txt` overrides) are mutated with a fixed-seed generator, and every
//! result must be `Ok` or an `offsim::Error` with a message, never a panic.
//!
//! It runs `OFFSIM_FUZZ_ITERATIONS` iterations (default 5000) or about 20
//! seconds, whichever ends first; `OFFSIM_FUZZ_SEED` changes the seed. To
//! fuzz longer:
//! `OFFSIM_FUZZ_ITERATIONS=1000000 cargo test --test it fuzz:: -- --nocapture`.

use crate::helpers::{TempDir, repo};
use offsim::model::World;
use offsim::scenario::LoadedScenario;
use offsim::workload::TraceReader;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

const DEFAULT_ITERATIONS: u64 = 5000;
const TIME_LIMIT: Duration = Duration::from_secs(20);
/// Rows read from one mutated trace at most.
const MAX_ROWS: usize = 10_000;

/// SplitMix64: small, fixed, good enough to pick mutations.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens that have broken parsers before: extremes, special floats,
/// separators, quotes, NUL and very long text.
const TOKENS: &[&str] = &[
    "0",
    "-1",
    "1e300",
    "-1e300",
    "1e-300",
    "nan",
    "inf",
    "-inf",
    "4294967295",
    "18446744073709551615",
    "9223372036854775807",
    "0.001",
    "1e-6",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    ";",
    ".",
    "\n",
    "\r\n",
    "\0",
    "é",
    "[[devices]]",
    "kind = \"lognormal\"",
    "mean = 0",
    "std = 1e300",
    "count = 0",
];

/// One to four mutations of `input`, splicing from `other` at times.
fn mutate(g: &mut Gen, input: &str, other: &str) -> String {
    let mut bytes = input.as_bytes().to_vec();
    for _ in 0..1 + g.below(4) {
        let at = g.below(bytes.len() + 1);
        match g.below(6) {
            0 if !bytes.is_empty() => {
                let end = (at + 1 + g.below(16)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 => bytes.splice(at..at, TOKENS[g.below(TOKENS.len())].bytes()).for_each(drop),
            2 if !bytes.is_empty() => {
                let i = at.min(bytes.len() - 1);
                bytes[i] = g.next() as u8;
            }
            3 => {
                let o = other.as_bytes();
                let from = g.below(o.len());
                let to = (from + g.below(64)).min(o.len());
                bytes.splice(at..at, o[from..to].iter().copied()).for_each(drop);
            }
            4 => bytes.splice(at..at, std::iter::repeat_n(b'9', 1 + g.below(400))).for_each(drop),
            _ => {
                // Replace a number with a token.
                if let Some(p) = bytes[at..].iter().position(u8::is_ascii_digit) {
                    let start = at + p;
                    let len = bytes[start..].iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count();
                    bytes.splice(start..start + len, TOKENS[g.below(12)].bytes()).for_each(drop);
                }
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn corpus(ext: &str) -> Vec<String> {
    let mut files: Vec<_> = fs::read_dir(repo("tests/fixtures/fuzz"))
        .expect("the fuzz corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files.iter().map(|p| fs::read_to_string(p).expect("read a corpus file")).collect()
}

/// Runs `f`; a panic fails the test with the input that caused it.
fn no_panic<T>(what: &str, input: &str, f: impl FnOnce() -> Result<T, offsim::Error>) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => assert!(!e.to_string().trim().is_empty(), "{what}: an error without a message for\n{input}"),
        Err(_) => panic!("{what} panicked on this input:\n{input:?}"),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Reads every row of `trace` (written into `dir`) against `world`.
fn read_trace(dir: &Path, trace: &str, world: &mut World) -> offsim::Result<usize> {
    let path = dir.join("t.csv");
    fs::write(&path, trace).expect("write the trace");
    let mut reader = TraceReader::open(&path)?;
    let mut rows = 0;
    while rows < MAX_ROWS && reader.next_row(world)?.is_some() {
        rows += 1;
    }
    Ok(rows)
}

#[test]
fn loader_overrides_and_trace_reader_never_panic() {
    let scenarios = corpus("toml");
    let traces = corpus("csv");
    let sets: Vec<String> = fs::read_to_string(repo("tests/fixtures/fuzz/sets.txt"))
        .expect("read sets.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let valid = fs::read_to_string(repo("tests/fixtures/fuzz/valid.toml")).expect("read valid.toml");
    let base = LoadedScenario::from_toml(&valid, "valid", "valid", Path::new("."), &[]).expect("valid.toml is valid");
    let dir = TempDir::new("fuzz", "traces");
    let mut g = Gen(env_u64("OFFSIM_FUZZ_SEED", 1));
    let iterations = env_u64("OFFSIM_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    let start = Instant::now();
    // The reproducers themselves first, unmutated.
    for text in &scenarios {
        no_panic("from_toml", text, || LoadedScenario::from_toml(text, "fuzz", "fuzz", dir.0.as_path(), &[]));
    }
    for set in &sets {
        no_panic("--set", set, || base.with_overrides(std::slice::from_ref(set)));
    }
    for trace in &traces {
        let mut world = World::build(&base.spec, 1);
        no_panic("the trace reader", trace, || read_trace(&dir.0, trace, &mut world));
    }
    let mut done = 0;
    while done < iterations && start.elapsed() < TIME_LIMIT {
        let pick = |g: &mut Gen, v: &[String]| v[g.below(v.len())].clone();
        let (a, b) = (pick(&mut g, &scenarios), pick(&mut g, &scenarios));
        let text = mutate(&mut g, &a, &b);
        no_panic("from_toml", &text, || LoadedScenario::from_toml(&text, "fuzz", "fuzz", dir.0.as_path(), &[]));

        let (a, b) = (pick(&mut g, &sets), pick(&mut g, &sets));
        let set = mutate(&mut g, &a, &b);
        no_panic("--set", &set, || base.with_overrides(std::slice::from_ref(&set)));
        no_panic("--set", &set, || {
            LoadedScenario::from_toml(&valid, "fuzz", "fuzz", dir.0.as_path(), std::slice::from_ref(&set))
        });

        let (a, b) = (pick(&mut g, &traces), pick(&mut g, &traces));
        let trace = mutate(&mut g, &a, &b);
        let mut world = World::build(&base.spec, 1);
        no_panic("the trace reader", &trace, || read_trace(&dir.0, &trace, &mut world));
        done += 1;
    }
    eprintln!("fuzz: {done} iterations in {:.1} s", start.elapsed().as_secs_f64());
}

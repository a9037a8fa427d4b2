//! Benchmark (not a test) of the input checks a person can make Keyhold run: 200,000 distinct keys
//! read from `.env` text and checked, and 200,000 generic key/value rows checked. Both must stay
//! linear: the target is well under a second each. `make bench` runs it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use keyhold::domain::new_credential::SecretValues;
use keyhold::domain::project_secrets::parse_env_file;

// Only its summary of figures is needed here.
#[allow(dead_code)]
mod fixture;

use fixture::percentiles;

const KEYS: usize = 200_000;
const ROUNDS: usize = 30;

/// The median and p90 of `ROUNDS` runs of `work`.
fn measure(mut work: impl FnMut()) -> (f64, f64) {
    let samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    percentiles(samples)
}

fn main() {
    // Short values: together they stay under a Secret's 1 MiB, so every line is read and checked.
    let text: String = (0..KEYS).map(|i| format!("export KEY_{i:07}=\"v\"\n")).collect();
    let (p50, p90) = measure(|| assert_eq!(black_box(parse_env_file(black_box(&text))).unwrap().len(), KEYS));
    println!(".env import, {KEYS} distinct keys ({} KiB) read and checked: p50 {p50:.1} ms, p90 {p90:.1} ms", text.len() / 1024);

    let rows = SecretValues::Generic { entries: (0..KEYS).map(|i| (format!("KEY_{i:07}"), "v".to_string())).collect() };
    let (p50, p90) = measure(|| assert!(black_box(rows.problems()).is_empty()));
    println!("generic rows, {KEYS} distinct keys checked: p50 {p50:.1} ms, p90 {p90:.1} ms");
}

//! The real-work suite (issue 21): allocation-heavy programs built on crates no one here
//! wrote, run under whichever global allocator the binary names (`suite`: glibc,
//! `suite_mimalloc`, `suite_slab`). `benches/suite.sh` runs them, and binary-trees, one process
//! per contender with rounds interleaved.
//!
//! - `syn`: `syn::parse_file` over the first 8 MiB of Rust sources in cargo's registry
//!   (sorted by path, so every allocator parses the same files), twice: many small
//!   allocations, `Vec` growth and strings.
//! - `json`: a 150,000-record `serde_json::Value` built, printed, parsed back and walked, three
//!   times: maps, strings and vectors of every size.
//! - `words`: the same sources split into words, each a `String`, counted in a `HashMap` and
//!   ranked in a `BTreeMap`, ten times.
//!
//! Each prints `allocator workload seconds peak_rss_kib checksum`; the checksum must be the
//! same under every allocator. Reading the sources is not timed.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bytes of sources the `syn` and `words` workloads read.
const SOURCE_BYTES: usize = 8 << 20;

/// cargo's registry sources: `$CARGO_HOME/registry/src`, else `~/.cargo/registry/src`.
fn registry() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .expect("CARGO_HOME or HOME is set")
        .join("registry/src")
}

/// Every `.rs` file under `dir`, sorted by path.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The first `SOURCE_BYTES` of sources (whole files), in path order; `TYPOOL_SUITE_MIB`
/// changes the amount (for profiling under callgrind, never for the table).
fn sources() -> Vec<String> {
    let budget = std::env::var("TYPOOL_SUITE_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(SOURCE_BYTES, |mib| mib << 20);
    let mut files = Vec::new();
    rust_files(&registry(), &mut files);
    let mut total = 0;
    let mut out = Vec::new();
    for f in files {
        if total >= budget {
            break;
        }
        if let Ok(text) = std::fs::read_to_string(&f) {
            total += text.len();
            out.push(text);
        }
    }
    assert!(
        total >= budget / 2,
        "too few sources under {:?}",
        registry()
    );
    out
}

/// Parses every file, twice; the checksum counts items and files that do not parse.
fn syn_parse(files: &[String]) -> u64 {
    let mut sum = 0u64;
    for _ in 0..2 {
        for text in files {
            sum = sum
                .wrapping_mul(31)
                .wrapping_add(match syn::parse_file(text) {
                    Ok(file) => file.items.len() as u64 + 1,
                    Err(_) => 0,
                });
        }
    }
    sum
}

/// Builds, prints, parses back and walks a large JSON document, three times.
fn json() -> u64 {
    use serde_json::{json, Value};
    let mut sum = 0u64;
    for round in 0..3u64 {
        let records: Vec<Value> = (0..150_000u64)
            .map(|i| {
                json!({
                    "id": i,
                    "name": format!("user-{}-{}", i, round),
                    "tags": (0..i % 5).map(|t| format!("tag{t}")).collect::<Vec<_>>(),
                    "scores": (0..i % 7).map(|s| (s * i) as f64 / 3.0).collect::<Vec<_>>(),
                    "active": i % 3 == 0,
                })
            })
            .collect();
        let text = serde_json::to_string(&Value::Array(records)).expect("prints");
        let back: Value = serde_json::from_str(&text).expect("parses");
        let arr = back.as_array().expect("an array");
        sum = sum.wrapping_add(text.len() as u64);
        for r in arr {
            sum = sum.wrapping_add(r["tags"].as_array().map_or(0, Vec::len) as u64);
            sum = sum.wrapping_add(r["name"].as_str().map_or(0, str::len) as u64);
        }
    }
    sum
}

/// Counts the words of every file and ranks the 100 most common, ten times.
fn words(files: &[String]) -> u64 {
    let mut sum = 0u64;
    for _ in 0..10 {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in files {
            for w in text
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .filter(|w| !w.is_empty())
            {
                *counts.entry(w.to_string()).or_insert(0) += 1;
            }
        }
        let mut ranked: BTreeMap<(u64, String), ()> = BTreeMap::new();
        for (w, n) in counts {
            ranked.insert((u64::MAX - n, w), ());
        }
        for ((n, w), ()) in ranked.into_iter().take(100) {
            sum = sum
                .wrapping_mul(31)
                .wrapping_add(u64::MAX - n)
                .wrapping_add(w.len() as u64);
        }
    }
    sum
}

/// The body of every suite binary: `BIN WORKLOAD`.
pub fn main_with(allocator: &str) {
    let workload = std::env::args()
        .nth(1)
        .expect("usage: suite syn|json|words");
    let files = match workload.as_str() {
        "syn" | "words" => sources(),
        _ => Vec::new(),
    };
    let t = Instant::now();
    let checksum = match workload.as_str() {
        "syn" => syn_parse(&files),
        "json" => json(),
        "words" => words(&files),
        other => panic!("unknown workload {other}"),
    };
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{allocator} {workload} {secs:.3} {} {checksum:016x}",
        crate::binary_trees::peak_rss_kib()
    );
}

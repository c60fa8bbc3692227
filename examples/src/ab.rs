//! The showcase's A/B harness: each run of a side is a child process (this program again),
//! so its peak RSS and its allocator calls are its own; the parent interleaves the four sides
//! (std and typool, each on glibc and on mimalloc as the global allocator), then reports the
//! median and the spread of each figure.

use crate::server::{self, Backend, Load};
use serde::{Deserialize, Serialize};
use std::process::Command;
use std::time::{Duration, Instant};

/// Quantiles the latency curve is sampled at (for the CDF plot).
const CURVE: [f64; 29] = [
    0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99,
    0.993, 0.995, 0.997, 0.998, 0.999, 0.9993, 0.9995, 0.9997, 0.9998, 0.9999, 0.99995, 1.0,
];

/// What one run of one side hands back to the parent (as JSON on its standard output).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub side: String,
    pub requests: u64,
    pub checksum: u64,
    pub wall_ms: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub mean_ns: f64,
    /// `(quantile, nanoseconds)` along the latency distribution.
    pub curve: Vec<(f64, u64)>,
    /// Peak resident set of the process, bytes (`VmHWM`).
    pub peak_rss: u64,
    /// `(milliseconds since start, resident bytes)`, sampled every 5 ms.
    pub rss_series: Vec<(f64, u64)>,
    /// Calls into the global allocator (alloc and realloc) during the workload: counted in a
    /// run of its own per side (the work is the same every run), so that counting costs the
    /// timed runs nothing.
    pub alloc_calls: u64,
}

impl RunReport {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / (self.wall_ms / 1e3)
    }
}

/// The child's side of a run: the workload on side `B`, measured; `allocations` reads the
/// process's count of global allocations (the showcase's `TrackingAllocator`).
pub fn run_side<B: Backend>(load: Load, allocations: &dyn Fn() -> u64) -> RunReport {
    let sampler = RssSampler::start(Duration::from_millis(5));
    let calls = allocations();
    let out = server::run::<B>(load);
    let alloc_calls = allocations() - calls;
    let rss_series = sampler.stop();
    let h = &out.latency;
    RunReport {
        side: B::NAME.to_string(),
        requests: out.requests,
        checksum: out.checksum,
        wall_ms: out.wall.as_secs_f64() * 1e3,
        p50_ns: h.value_at_quantile(0.5),
        p99_ns: h.value_at_quantile(0.99),
        p999_ns: h.value_at_quantile(0.999),
        mean_ns: h.mean(),
        curve: CURVE.iter().map(|&q| (q, h.value_at_quantile(q))).collect(),
        peak_rss: peak_rss(),
        rss_series,
        alloc_calls,
    }
}

/// The global allocator under a side: the system's (glibc), or mimalloc. A child learns it
/// from [`MALLOC_ENV`] before its first allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malloc {
    Glibc,
    Mimalloc,
}

/// The environment variable that names a child's global allocator (`glibc` or `mimalloc`).
pub const MALLOC_ENV: &str = "TYPOOL_SHOWCASE_MALLOC";

impl Malloc {
    pub fn name(self) -> &'static str {
        match self {
            Malloc::Glibc => "glibc",
            Malloc::Mimalloc => "mimalloc",
        }
    }
}

/// Runs one side in a child process (this executable with `--child SIDE`, its global
/// allocator `malloc`); `count`: the run that counts global allocator calls (`--count`),
/// whose times are not used.
pub fn spawn_side(side: &str, malloc: Malloc, load: Load, count: bool) -> RunReport {
    let load = serde_json::to_string(&load).unwrap();
    let mut args = vec!["--child", side, "--load", &load];
    if count {
        args.push("--count");
    }
    let out = Command::new(std::env::current_exe().expect("the showcase's own path"))
        .args(&args)
        .env(MALLOC_ENV, malloc.name())
        .output()
        .expect("the showcase can run itself");
    assert!(
        out.status.success(),
        "the {side} run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a run prints its report")
}

/// The runs of the four sides, interleaved: std and typool on glibc (`std`, `typool`: what the
/// plots and the claims read), and on mimalloc.
#[derive(Debug)]
pub struct Comparison {
    pub std: Vec<RunReport>,
    pub typool: Vec<RunReport>,
    pub std_mimalloc: Vec<RunReport>,
    pub typool_mimalloc: Vec<RunReport>,
}

/// The four sides in the order they run and print: (code, global allocator).
pub const SIDES: [(&str, Malloc); 4] = [
    (server::Std::NAME, Malloc::Glibc),
    (server::Std::NAME, Malloc::Mimalloc),
    (server::Typool::NAME, Malloc::Glibc),
    (server::Typool::NAME, Malloc::Mimalloc),
];

impl Comparison {
    /// The runs of side `i` of [`SIDES`].
    pub fn side(&self, i: usize) -> &[RunReport] {
        [
            &self.std,
            &self.std_mimalloc,
            &self.typool,
            &self.typool_mimalloc,
        ][i]
    }

    fn side_mut(&mut self, i: usize) -> &mut Vec<RunReport> {
        match i {
            0 => &mut self.std,
            1 => &mut self.std_mimalloc,
            2 => &mut self.typool,
            _ => &mut self.typool_mimalloc,
        }
    }
}

/// Runs one counting run per side, then `repeats` timed rounds of the four sides, calling
/// `progress` after each run (`4 * repeats + 4` in all).
pub fn compare(load: Load, repeats: usize, mut progress: impl FnMut(&str)) -> Comparison {
    let mut c = Comparison {
        std: Vec::new(),
        typool: Vec::new(),
        std_mimalloc: Vec::new(),
        typool_mimalloc: Vec::new(),
    };
    let label = |(side, malloc): (&str, Malloc)| format!("{side} on {}", malloc.name());
    let counted = SIDES.map(|s| {
        let r = spawn_side(s.0, s.1, load, true);
        progress(&label(s));
        r
    });
    for _ in 0..repeats {
        for (i, &s) in SIDES.iter().enumerate() {
            let mut r = spawn_side(s.0, s.1, load, false);
            r.alloc_calls = counted[i].alloc_calls;
            c.side_mut(i).push(r);
            progress(&label(s));
        }
    }
    let sums: Vec<u64> = (0..SIDES.len())
        .flat_map(|i| c.side(i).iter())
        .chain(&counted)
        .map(|r| r.checksum)
        .collect();
    assert!(
        sums.windows(2).all(|w| w[0] == w[1]),
        "every side must compute the same result: checksums {sums:x?}"
    );
    c
}

/// `x` with three significant digits (no exponent).
pub fn sig(x: f64) -> String {
    let digits = if x == 0.0 {
        0
    } else {
        x.abs().log10().floor() as i32
    };
    format!("{x:.*}", (2 - digits).max(0) as usize)
}

/// The median, lowest and highest of `values`.
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

pub fn spread(values: impl IntoIterator<Item = f64>) -> Spread {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Spread {
        median,
        min: v[0],
        max: v[n - 1],
    }
}

/// One row of the comparison: a figure, how to read it, and each side's runs.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    /// Whether a smaller value is better (latency, memory) or a larger (throughput).
    pub lower_is_better: bool,
    pub unit: &'static str,
    pub get: fn(&RunReport) -> f64,
}

/// The figures the table shows.
pub const METRICS: [Metric; 7] = [
    Metric {
        name: "latency p50",
        lower_is_better: true,
        unit: "µs",
        get: |r| r.p50_ns as f64 / 1e3,
    },
    Metric {
        name: "latency p99",
        lower_is_better: true,
        unit: "µs",
        get: |r| r.p99_ns as f64 / 1e3,
    },
    Metric {
        name: "latency p99.9",
        lower_is_better: true,
        unit: "µs",
        get: |r| r.p999_ns as f64 / 1e3,
    },
    Metric {
        name: "latency mean",
        lower_is_better: true,
        unit: "µs",
        get: |r| r.mean_ns / 1e3,
    },
    Metric {
        name: "throughput",
        lower_is_better: false,
        unit: "k req/s",
        get: |r| r.throughput() / 1e3,
    },
    Metric {
        name: "peak RSS",
        lower_is_better: true,
        unit: "MiB",
        get: |r| r.peak_rss as f64 / (1 << 20) as f64,
    },
    Metric {
        name: "global allocator calls",
        lower_is_better: true,
        unit: "k",
        get: |r| r.alloc_calls as f64 / 1e3,
    },
];

impl Comparison {
    /// The median and spread of metric `m` for std and typool on glibc, and std's median over
    /// typool's (above 1 means typool is better, for every metric).
    pub fn row(&self, m: &Metric) -> (Spread, Spread, f64) {
        let s = spread(self.std.iter().map(m.get));
        let t = spread(self.typool.iter().map(m.get));
        (s, t, gain(m, s, t))
    }

    /// The comparison as a Markdown table: the four sides, then typool's gain over std on
    /// each allocator.
    pub fn table(&self) -> String {
        let fmt = |s: Spread| format!("{} ({}–{})", sig(s.median), sig(s.min), sig(s.max));
        let mut out = String::from(
            "| per run | std on glibc | std on mimalloc | typool on glibc | typool on mimalloc | typool's gain: glibc | typool's gain: mimalloc |\n|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for m in &METRICS {
            let s: Vec<Spread> = (0..SIDES.len())
                .map(|i| spread(self.side(i).iter().map(m.get)))
                .collect();
            out += &format!(
                "| {} ({}) | {} | {} | {} | {} | {:.2}× | {:.2}× |\n",
                m.name,
                m.unit,
                fmt(s[0]),
                fmt(s[1]),
                fmt(s[2]),
                fmt(s[3]),
                gain(m, s[0], s[2]),
                gain(m, s[1], s[3]),
            );
        }
        out
    }

    /// One line per metric: which side wins it, and by how much over the next best.
    pub fn verdicts(&self) -> String {
        let mut out = String::new();
        for m in &METRICS {
            let mut sides: Vec<(f64, String)> = SIDES
                .iter()
                .enumerate()
                .map(|(i, (side, malloc))| {
                    let median = spread(self.side(i).iter().map(m.get)).median;
                    (median, format!("{side} on {}", malloc.name()))
                })
                .collect();
            sides.sort_by(|a, b| {
                let o = a.0.total_cmp(&b.0);
                if m.lower_is_better {
                    o
                } else {
                    o.reverse()
                }
            });
            let (best, next) = (&sides[0], &sides[1]);
            let by = if m.lower_is_better {
                next.0 / best.0
            } else {
                best.0 / next.0
            };
            out += &format!(
                "- {}: {} wins, {:.2}× ahead of {}\n",
                m.name, best.1, by, next.1
            );
        }
        out
    }

    /// The run of `side` whose p99 is the median one: what the plots show.
    pub fn median_run(runs: &[RunReport]) -> &RunReport {
        let mut by_p99: Vec<&RunReport> = runs.iter().collect();
        by_p99.sort_by_key(|r| r.p99_ns);
        by_p99[by_p99.len() / 2]
    }
}

/// `s` over `t`'s median, oriented so that above 1 means `t` is better.
fn gain(m: &Metric, s: Spread, t: Spread) -> f64 {
    if m.lower_is_better {
        s.median / t.median
    } else {
        t.median / s.median
    }
}

/// Samples this process's resident set in a background thread.
struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(f64, u64)>>,
}

impl RssSampler {
    fn start(every: Duration) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut series = Vec::with_capacity(4096);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                series.push((start.elapsed().as_secs_f64() * 1e3, current_rss()));
                std::thread::sleep(every);
            }
            series.push((start.elapsed().as_secs_f64() * 1e3, current_rss()));
            series
        });
        Self { stop, thread }
    }

    fn stop(self) -> Vec<(f64, u64)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Resident bytes now (0 where `/proc` is missing).
pub fn current_rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

/// The peak resident bytes of this process (0 where `/proc` is missing).
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn page_size() -> u64 {
    #[cfg(target_os = "linux")]
    // SAFETY: `sysconf` only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    #[cfg(not(target_os = "linux"))]
    let size = 4096;
    size
}

//! Memory after a peak, when survivors are scattered (issue 24): what each allocator gives
//! back, and what meshing adds.
//!
//! Two churns. `fixed`: 1,000,000 objects of 64 bytes, 90% freed at random. `sizes`: 600,000
//! blocks of 16 to 256 bytes (uniform), 90% freed at random. Then each contender gives back
//! what it can — typool's `trim()`, then `mesh()` where it has one; glibc's `malloc_trim(0)`;
//! mimalloc's `mi_collect(true)` — while two threads keep writing every survivor (so meshing
//! runs beside writers, as it must in a server). Memory is the process's proportional set size
//! (`Pss`): a meshed physical page counts once, however many virtual pages map it (plain RSS
//! counts it per mapping). One line per run:
//! `allocator contender churn live_MiB peak_MiB sparse_MiB after_MiB pages_meshed mesh_ms`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::Instant;
use typool::{MeshReport, PoolBox, Pooled};

/// The `fixed` churn's object in a `mesh` pool.
#[derive(Pooled)]
#[pooled(mesh)]
pub struct Meshed {
    pub data: [u64; 8],
}

/// The `fixed` churn's object in a plain pool.
#[derive(Pooled)]
pub struct Plain {
    pub data: [u64; 8],
}

/// Proportional set size of this process, in bytes.
pub fn pss() -> usize {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .unwrap_or(0)
        * 1024
}

/// A deterministic generator (xorshift64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Something whose first byte a writer thread can keep changing.
pub trait Survivor: Send {
    fn touch(&mut self, v: u8);
    fn bytes(&self) -> usize;
}
impl Survivor for PoolBox<Meshed> {
    fn touch(&mut self, v: u8) {
        self.data[0] = u64::from(v);
    }
    fn bytes(&self) -> usize {
        64
    }
}
impl Survivor for PoolBox<Plain> {
    fn touch(&mut self, v: u8) {
        self.data[0] = u64::from(v);
    }
    fn bytes(&self) -> usize {
        64
    }
}
impl Survivor for Box<[u8]> {
    fn touch(&mut self, v: u8) {
        self[0] = v;
    }
    fn bytes(&self) -> usize {
        self.len()
    }
}

/// Runs one churn: `make(i, rng)` makes object `i`; 90% are freed at random; then `give_back`
/// runs while two threads write every survivor. Prints the line described in the module docs.
pub fn run<S: Survivor>(
    allocator: &str,
    contender: &str,
    churn: &str,
    n: usize,
    mut make: impl FnMut(u64, &mut Rng2) -> S,
    give_back: impl FnOnce() -> MeshReport + Send,
) {
    let start = pss();
    let mut rng = Rng2(Rng(0x9E37_79B9_7F4A_7C15));
    let all: Vec<S> = (0..n as u64).map(|i| make(i, &mut rng)).collect();
    let peak = pss();
    let mut kept: Vec<S> = all
        .into_iter()
        .filter(|_| rng.0.next().is_multiple_of(10))
        .collect();
    kept.shrink_to_fit();
    let live: usize = kept.iter().map(Survivor::bytes).sum();
    let sparse = pss();
    let stop = AtomicBool::new(false);
    let ready = Barrier::new(3);
    let half = kept.len() / 2;
    let (left, right) = kept.split_at_mut(half);
    let (report, secs) = std::thread::scope(|s| {
        for part in [left, right] {
            let (stop, ready) = (&stop, &ready);
            s.spawn(move || {
                ready.wait();
                let mut v = 0u8;
                while !stop.load(Ordering::Relaxed) {
                    v = v.wrapping_add(1);
                    part.iter_mut().for_each(|x| x.touch(v));
                }
            });
        }
        ready.wait();
        let t = Instant::now();
        let report = give_back();
        let secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        (report, secs)
    });
    let after = pss();
    let mib = |b: usize| b as f64 / 1048576.0;
    println!(
        "{allocator} {contender} {churn} {:.1} {:.1} {:.1} {:.1} {} {:.1} {:.1}",
        mib(live),
        mib(peak.saturating_sub(start)),
        mib(sparse.saturating_sub(start)),
        mib(after.saturating_sub(start)),
        report.pages_meshed,
        report.pause.as_secs_f64() * 1e3,
        secs * 1e3,
    );
    drop(kept);
}

/// The generator handed to `make`.
pub struct Rng2(Rng);
impl Rng2 {
    /// A block size of the `sizes` churn: 16 to 256 bytes.
    pub fn size(&mut self) -> usize {
        16 + (self.0.next() % 241) as usize
    }
}

/// A block of the `sizes` churn.
pub fn block(i: u64, rng: &mut Rng2) -> Box<[u8]> {
    vec![i as u8; rng.size()].into_boxed_slice()
}

/// The body of the `sparse*` binaries: `BIN CONTENDER CHURN`, with `give_back` what the binary's
/// allocator offers.
pub fn main_with(allocator: &str, give_back: fn() -> MeshReport) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let contender = args.first().map_or("box", String::as_str);
    let churn = args.get(1).map_or("fixed", String::as_str);
    match (contender, churn) {
        ("pool_mesh", _) => run(
            allocator,
            contender,
            "fixed",
            1_000_000,
            |i, _| PoolBox::new(Meshed { data: [i; 8] }),
            || {
                Meshed::pool().trim();
                Meshed::pool().mesh()
            },
        ),
        ("pool", _) => run(
            allocator,
            contender,
            "fixed",
            1_000_000,
            |i, _| PoolBox::new(Plain { data: [i; 8] }),
            || {
                Plain::pool().trim();
                MeshReport::default()
            },
        ),
        ("box", "fixed") => run(
            allocator,
            contender,
            churn,
            1_000_000,
            |i, _| vec![i as u8; 64].into_boxed_slice(),
            give_back,
        ),
        ("box", _) => run(allocator, contender, churn, 600_000, block, give_back),
        _ => panic!("usage: BIN (pool_mesh | pool | box) (fixed | sizes)"),
    }
}

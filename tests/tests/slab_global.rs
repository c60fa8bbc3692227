//! `SlabAllocator` as the whole program's allocator, under code no one here wrote: std's
//! `BTreeMap`, serde_json and regex, on 1 and 4 threads. Every digest must equal the one the
//! same work gives under the system allocator (the `workloads` binary, built without typool's
//! allocator). Plus the edges a global allocator meets: thread-local destructors that
//! allocate, threads that come and go, and `trim`.

use std::collections::HashMap;
use std::process::Command;
use typool::SlabAllocator;
use typool_tests::workloads::{self, NAMES};

#[global_allocator]
static GLOBAL: SlabAllocator = SlabAllocator::new();

/// Digests under the system allocator, by (workload, seed).
fn reference() -> HashMap<(String, u64), u64> {
    let out = Command::new(env!("CARGO_BIN_EXE_workloads"))
        .output()
        .expect("the reference binary runs");
    assert!(out.status.success(), "reference run failed: {out:?}");
    String::from_utf8(out.stdout)
        .expect("digests are text")
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            (
                (f[0].to_string(), f[1].parse().unwrap()),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn real_workloads_on_one_thread_match_the_system_allocator() {
    let expected = reference();
    let before = GLOBAL.fragmentation();
    for name in NAMES {
        assert_eq!(
            workloads::run(name, 0),
            expected[&(name.to_string(), 0)],
            "{name} under SlabAllocator differs from the system allocator"
        );
    }
    let after = GLOBAL.fragmentation();
    assert!(
        after.reserved_bytes > before.reserved_bytes || after.reserved_bytes > 1 << 20,
        "the workloads ran on the slab: {after}"
    );
}

#[test]
fn real_workloads_on_four_threads_match_the_system_allocator() {
    let expected = reference();
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..4u64)
            .map(|seed| s.spawn(move || NAMES.map(|name| (name, workloads::run(name, seed)))))
            .collect();
        for (seed, run) in runs.into_iter().enumerate() {
            for (name, digest) in run.join().expect("a workload thread panicked") {
                assert_eq!(
                    digest,
                    expected[&(name.to_string(), seed as u64)],
                    "{name} seed {seed} on 4 threads differs from the system allocator"
                );
            }
        }
    });
}

/// Allocates and frees in its destructor, which runs while the thread's other
/// thread-locals — the slab's thread id among them — may already be gone.
struct AllocatesOnDrop(Vec<String>);

impl Drop for AllocatesOnDrop {
    fn drop(&mut self) {
        let extra: Vec<String> = (0..100).map(|i| format!("late {i}")).collect();
        assert_eq!(extra[99], "late 99");
        self.0.extend(extra);
        assert_eq!(self.0.len(), 101);
    }
}

thread_local! {
    static LATE: std::cell::RefCell<Option<AllocatesOnDrop>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn thread_local_destructors_may_allocate_and_threads_come_and_go() {
    let blocks: Vec<Box<[u8; 48]>> = std::thread::scope(|s| {
        (0..16)
            .map(|i| {
                s.spawn(move || {
                    LATE.with(|l| *l.borrow_mut() = Some(AllocatesOnDrop(vec![i.to_string()])));
                    // A block that outlives its thread, freed later by another.
                    Box::new([i as u8; 48])
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    for (i, b) in blocks.iter().enumerate() {
        assert!(b.iter().all(|&x| x == i as u8), "block {i} was overwritten");
    }
    drop(blocks);
}

#[test]
fn trim_gives_memory_back_after_a_burst() {
    // Big enough to be its own segments in a class few other tests use.
    let layout_bytes = 20_000;
    let burst: Vec<Vec<u8>> = (0..400).map(|i| vec![i as u8; layout_bytes]).collect();
    assert!(burst
        .iter()
        .enumerate()
        .all(|(i, v)| v[layout_bytes - 1] == i as u8));
    drop(burst);
    // Other tests run at the same time, so only what this burst alone filled is certain to
    // go: the later, larger segments of the 20 KiB class.
    let freed = GLOBAL.trim();
    assert!(freed >= 100 * 20_480, "trim gave back only {freed} bytes");
}

/// The global slab is on the dashboard (issue 20): its live bytes, parsed from the
/// Prometheus text by a parser typool did not write, cover what this test holds.
#[test]
fn the_global_slab_appears_in_the_prometheus_text() {
    let held: Vec<Vec<u8>> = (0..1000).map(|i| vec![i as u8; 1000]).collect();
    let text = typool::stats::render_prometheus();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("the text parses");
    let live = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == "typool_slab_live_bytes" && s.labels.get("allocator") == Some("global")
        })
        .unwrap_or_else(|| panic!("no global slab in\n{text}"));
    let prometheus_parse::Value::Gauge(bytes) = live.value else {
        panic!("{:?}", live.value)
    };
    assert!(bytes >= 1_000_000.0, "{bytes} live bytes, 1 MB held");
    assert!(bytes <= GLOBAL.fragmentation().reserved_bytes as f64);
    drop(held);
}

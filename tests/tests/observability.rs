//! The process-wide view: `stats::all()` lists every pool with memory, two types of one short
//! name apart, sorted by path, while threads allocate; `render_prometheus()` is text a real
//! parser (`prometheus-parse`) reads, with one series per family and pool.

// The pooled types' fields exist to give them sizes; the tests read the pools, not them.
#![allow(dead_code)]

use std::collections::HashSet;
use typool::{Pool, PoolBox, Pooled};

mod shop {
    #[derive(typool::Pooled, Debug)]
    pub struct Node {
        pub id: u64,
    }
}

mod graph {
    #[derive(typool::Pooled, Debug)]
    pub struct Node {
        pub id: u64,
        pub edges: [u32; 4],
    }
}

#[derive(Pooled, Debug)]
struct Busy {
    word: u64,
}

/// Each test uses types of its own: tests of one binary run at once, and pools are global.
#[derive(Pooled, Debug)]
struct Scraped {
    id: u64,
}

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("valid text")
}

#[test]
fn two_types_named_node_are_two_entries_sorted_by_path() {
    let a = PoolBox::new(shop::Node { id: 1 });
    let b = [
        PoolBox::new(graph::Node {
            id: 2,
            edges: [0; 4],
        }),
        PoolBox::new(graph::Node {
            id: 3,
            edges: [1; 4],
        }),
    ];
    let all = typool::stats::all();
    let paths: Vec<&str> = all.iter().map(|s| s.type_path).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "sorted by type_path");
    let node = |path: &str| all.iter().find(|s| s.type_path == path).unwrap();
    let (shop, graph) = (
        node("observability::shop::Node"),
        node("observability::graph::Node"),
    );
    assert_eq!((shop.type_name, shop.live), ("Node", 1));
    assert_eq!((graph.type_name, graph.live), ("Node", 2));
    assert_ne!(shop.slot_size, graph.slot_size);
    drop((a, b));
}

#[test]
fn a_pool_that_is_not_static_is_listed_until_it_drops() {
    struct Local(#[allow(dead_code)] [u8; 40]);
    let listed = || {
        typool::stats::all()
            .iter()
            .any(|s| s.type_path.ends_with("::Local"))
    };
    let pool: Pool<Local> = Pool::new();
    assert!(!listed(), "no memory yet, not listed");
    let h = pool.alloc(Local([1; 40]));
    assert!(listed());
    drop(h);
    // The pool moves (its record stays put on the heap) and is still listed.
    let moved = Box::new(pool);
    assert!(listed());
    assert_eq!(moved.stats().live, 0);
    drop(moved);
    assert!(!listed(), "gone with the pool");
}

#[test]
fn all_is_consistent_while_threads_allocate_and_exact_after() {
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|t| {
                s.spawn(move || {
                    let mut held = Vec::new();
                    for i in 0..20_000u64 {
                        held.push(PoolBox::new(Busy { word: i ^ t }));
                        if held.len() > 100 {
                            held.drain(..50);
                        }
                    }
                    held.len()
                })
            })
            .collect();
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for p in typool::stats::all() {
                    assert!(p.live <= p.reserved_slots, "{p}");
                }
                let _ = parse(&typool::stats::render_prometheus());
            }
        });
        let kept: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let busy = typool::stats::all()
            .into_iter()
            .find(|p| p.type_path.ends_with("::Busy"))
            .unwrap();
        // The workers' boxes dropped when their threads ended: nothing of theirs is live.
        assert_eq!(busy.live, 0, "kept {kept} until the threads ended");
        assert_eq!(busy.cache_hits + busy.cache_misses, 80_000);
    });
}

#[test]
fn the_prometheus_text_parses_with_one_series_per_family_and_pool() {
    let keep = PoolBox::new(Scraped { id: 9 });
    let mut v = typool::PooledVec::<u64>::new_in(typool::PoolAlloc);
    v.extend(0..100);
    let scope = handled("GET /");
    assert_eq!(scope, 5);
    let text = typool::stats::render_prometheus();
    let scrape = parse(&text);
    let mut seen = HashSet::new();
    for s in &scrape.samples {
        let key = (s.metric.clone(), format!("{:?}", s.labels));
        assert!(seen.insert(key), "duplicate series {}", s.metric);
    }
    let value = |metric: &str, ty: Option<&str>| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && ty.is_none_or(|t| s.labels.get("type") == Some(t)))
            .unwrap_or_else(|| panic!("no {metric} in\n{text}"));
        match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{metric}: {other:?}"),
        }
    };
    assert_eq!(
        value("typool_pool_live", Some("observability::Scraped")),
        1.0
    );
    assert!(
        value(
            "typool_pool_cache_hits_total",
            Some("observability::Scraped")
        ) >= 0.0
    );
    assert!(value("typool_slab_live_bytes", None) >= 800.0);
    let committed = value(
        "typool_pool_bytes_committed",
        Some("observability::Scraped"),
    );
    assert!(
        committed > 0.0
            && committed <= value("typool_pool_bytes_reserved", Some("observability::Scraped")),
        "committed {committed}"
    );
    assert!(value("typool_arena_bytes_reserved", None) > 0.0);
    for family in [
        "typool_pool_live",
        "typool_pool_peak_live",
        "typool_pool_reserved_slots",
        "typool_pool_bytes_reserved",
        "typool_pool_bytes_committed",
        "typool_pool_segments",
        "typool_pool_cache_hits_total",
        "typool_pool_cache_misses_total",
        "typool_pool_depot_transfers_total",
        "typool_slab_fragmentation_internal",
        "typool_slab_fragmentation_external",
        "typool_slab_reserved_bytes",
        "typool_arena_scopes_total",
        "typool_arena_trims_total",
    ] {
        assert!(text.contains(&format!("# TYPE {family} ")), "no {family}");
    }
    drop((keep, v));
}

/// A slab allocator of the program's own is listed from its first allocation until it drops.
#[test]
fn every_slab_allocator_is_on_the_dashboard_until_it_drops() {
    let slabs = || -> Vec<(String, f64)> {
        let text = typool::stats::render_prometheus();
        parse(&text)
            .samples
            .into_iter()
            .filter(|s| s.metric == "typool_slab_reserved_bytes")
            .map(|s| {
                let prometheus_parse::Value::Gauge(v) = s.value else {
                    panic!("{:?}", s.value)
                };
                (s.labels.get("allocator").unwrap().to_string(), v)
            })
            .collect()
    };
    let before = slabs();
    assert!(before.iter().any(|(l, _)| l == "pool_alloc"), "{before:?}");
    let slab = typool::SlabAllocator::new();
    let mut v = typool::allocator_api2::vec::Vec::new_in(&slab);
    v.extend(0..10_000u64);
    let during = slabs();
    let mine: Vec<_> = during
        .iter()
        .filter(|(l, _)| l.starts_with("slab-") && !before.iter().any(|(b, _)| b == l))
        .collect();
    assert_eq!(mine.len(), 1, "{during:?}");
    assert!(mine[0].1 >= 80_000.0, "{during:?}");
    let label = mine[0].0.clone();
    drop(v);
    drop(slab);
    assert!(
        !slabs().iter().any(|(l, _)| *l == label),
        "listed after drop"
    );
}

#[typool::arena_scope]
fn handled(request: &str) -> usize {
    arena.alloc_str(request).len()
}

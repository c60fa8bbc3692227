//! Leak sites (feature `track-sites`): each live object remembers the line that allocated it;
//! `Pool::leaks()` groups them, most first, and `stats::leak_report()` prints one line per site
//! over every pool. Run with `cargo test -p typool-tests --features track-sites --test
//! leak_sites` (which `.ci/run` does); without the feature this file has no tests.
#![cfg(feature = "track-sites")]

use typool::{Pool, PoolBox, Pooled};

#[derive(Pooled, Debug)]
struct Particle {
    pos: [f32; 3],
}

#[test]
fn leaks_are_grouped_by_the_line_that_allocated_them() {
    let pool: Pool<[u64; 4]> = Pool::new();
    let many: Vec<_> = (0..5).map(|i| pool.alloc([i; 4])).collect();
    let many_line = line!() - 1;
    let one = pool.try_alloc([9; 4]).unwrap();
    let one_line = line!() - 1;
    let freed: Vec<_> = (0..10).map(|i| pool.alloc([i; 4])).collect();
    drop(freed);
    let sites = pool.leaks();
    assert_eq!(sites.len(), 2, "{sites:?}");
    assert_eq!((sites[0].live, sites[0].location.line()), (5, many_line));
    assert_eq!((sites[1].live, sites[1].location.line()), (1, one_line));
    assert!(sites[0].location.file().ends_with("leak_sites.rs"));
    drop((many, one));
    assert!(pool.leaks().is_empty(), "freed objects are no leak");
}

#[test]
fn the_report_names_the_type_and_the_line_even_for_frees_on_other_threads() {
    let kept = PoolBox::new(Particle { pos: [1.0; 3] });
    let kept_line = line!() - 1;
    let also = Particle { pos: [2.0; 3] }.pooled();
    let also_line = line!() - 1;
    let gone: Vec<PoolBox<Particle>> = (0..100)
        .map(|_| PoolBox::new(Particle { pos: [0.0; 3] }))
        .collect();
    std::thread::spawn(move || drop(gone)).join().unwrap();
    let report = typool::stats::leak_report();
    let file = file!();
    for line in [kept_line, also_line] {
        let want = format!("1 live Particle allocated at {file}:{line}:");
        assert!(report.contains(&want), "no {want:?} in\n{report}");
    }
    assert!(
        !report.contains("100 live"),
        "frees on another thread clear the site:\n{report}"
    );
    assert_eq!(kept.pos[0] + also.pos[0], 3.0);
}

#[test]
fn reports_and_trims_can_run_at_once() {
    let pool: Pool<[u8; 48]> = Pool::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..200 {
                let v: Vec<_> = (0..500).map(|_| pool.alloc([1; 48])).collect();
                drop(v);
                pool.trim();
            }
        });
        for _ in 0..200 {
            let _ = typool::stats::leak_report();
            let sites = pool.leaks();
            assert!(sites.iter().all(|s| s.live <= 500));
        }
    });
    assert!(pool.leaks().is_empty());
}

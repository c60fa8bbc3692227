//! The showcase, run as a user runs it (in its short mode, with `--claims`): it must print its
//! comparison table and its claims table, and write both plots.

use std::process::Command;

#[test]
fn the_showcase_prints_its_tables_and_writes_its_plots() {
    let out_dir = std::env::temp_dir().join(format!("typool-showcase-{}", std::process::id()));
    let out = Command::new(typool_examples::built_example("showcase"))
        .args(["--short", "--claims", "--out"])
        .arg(&out_dir)
        .output()
        .expect("the showcase example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the showcase failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "| latency p50 (µs) |",
        "| latency p99 (µs) |",
        "| latency p99.9 (µs) |",
        "| throughput (k req/s) |",
        "| peak RSS (MiB) |",
        "| global allocator calls (k) |",
        "Checksums equal on every run",
    ] {
        assert!(stdout.contains(row), "no {row:?} in:\n{stdout}");
    }
    let claims = stdout
        .lines()
        .filter(|l| {
            l.starts_with("| ")
                && ["reproduced", "beaten", "not reproduced"]
                    .iter()
                    .any(|v| l.contains(v))
        })
        .count();
    assert_eq!(claims, 9, "one verdict per advertised figure:\n{stdout}");
    for plot in ["latency_cdf.svg", "rss_over_time.svg"] {
        let path = out_dir.join(plot);
        let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{plot}: {e}"));
        assert!(
            svg.starts_with("<svg") && svg.contains("<polyline"),
            "{plot} is no plot"
        );
        assert!(
            stdout.contains(&path.display().to_string()),
            "{plot}'s path is not printed"
        );
    }
    std::fs::remove_dir_all(&out_dir).unwrap();
}

//! A real scrape: the `metrics_server` example on an ephemeral loopback port, scraped twice
//! over TCP (ureq), its text parsed (prometheus-parse): counters only grow, and typool's
//! `live` for the workload's type equals what the workload says it holds.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn value(scrape: &prometheus_parse::Scrape, metric: &str, ty: Option<&str>) -> f64 {
    let s = scrape
        .samples
        .iter()
        .find(|s| {
            s.metric == metric
                && ty.is_none_or(|t| s.labels.get("type").is_some_and(|l| l.ends_with(t)))
        })
        .unwrap_or_else(|| panic!("no {metric}"));
    match s.value {
        prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{metric}: {other:?}"),
    }
}

#[test]
fn two_scrapes_over_tcp_agree_with_the_workload() {
    let mut child = Command::new(typool_examples::built_example("metrics_server"))
        .args(["--port", "0", "--seconds", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the metrics_server example runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("serving ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    let scrape = || {
        let text = ureq::get(&url)
            .timeout(Duration::from_secs(5))
            .call()
            .expect("the server answers")
            .into_string()
            .unwrap();
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
    };
    std::thread::sleep(Duration::from_millis(300));
    let first = scrape();
    std::thread::sleep(Duration::from_millis(500));
    let second = scrape();
    let _ = child.kill();
    let _ = child.wait();
    for s in [&first, &second] {
        assert_eq!(
            value(s, "typool_pool_live", Some("::Session")),
            value(s, "app_sessions_held", None),
            "typool's live count follows the workload"
        );
    }
    for counter in [
        "typool_pool_cache_hits_total",
        "typool_pool_cache_misses_total",
        "typool_pool_depot_transfers_total",
    ] {
        let (a, b) = (
            value(&first, counter, Some("::Session")),
            value(&second, counter, Some("::Session")),
        );
        assert!(b >= a, "{counter} went down: {a} then {b}");
    }
    let hits = |s| value(s, "typool_pool_cache_hits_total", Some("::Session"));
    assert!(
        hits(&second) > hits(&first),
        "the workload ran between the scrapes"
    );
    let (a, b) = (
        value(&first, "typool_arena_scopes_total", None),
        value(&second, "typool_arena_scopes_total", None),
    );
    assert!(b >= a, "typool_arena_scopes_total went down: {a} then {b}");
}

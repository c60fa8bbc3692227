//! [`publish_metrics`]: typool's families through the `metrics` crate's facade.

use crate::observe::families::{collect, Kind};

/// Reports every family of [`render_prometheus`](crate::stats::render_prometheus) through the
/// [`metrics`] facade, with the same names and labels (`type`, `allocator`): gauges are set to the
/// current value, counters set absolutely. Call it from a timer or a scrape handler; it reads
/// what [`stats::all`](crate::stats::all) reads.
///
/// # Examples
///
/// ```
/// // With an exporter installed (metrics-exporter-prometheus, …), on every scrape:
/// typool::stats::publish_metrics();
/// ```
pub fn publish_metrics() {
    for f in collect() {
        for (label, value) in f.samples {
            let labels: Vec<metrics::Label> = label
                .map(|v| metrics::Label::new(f.label, v))
                .into_iter()
                .collect();
            match f.kind {
                Kind::Gauge => metrics::gauge!(f.name, labels).set(value),
                Kind::Counter => metrics::counter!(f.name, labels).absolute(value as u64),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::publish_metrics;
    use crate::{PoolBox, Pooled};
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::MetricKind;

    #[derive(Pooled)]
    struct Published {
        _word: u64,
    }

    #[test]
    fn publishes_the_prometheus_families_with_their_labels() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let held = [
            PoolBox::new(Published { _word: 1 }),
            PoolBox::new(Published { _word: 2 }),
        ];
        metrics::with_local_recorder(&recorder, publish_metrics);
        let snapshot = snapshotter.snapshot().into_vec();
        let find = |name: &str, kind: MetricKind| {
            snapshot
                .iter()
                .find(|(key, ..)| {
                    key.kind() == kind
                        && key.key().name() == name
                        && key
                            .key()
                            .labels()
                            .any(|l| l.key() == "type" && l.value().ends_with("::Published"))
                })
                .map(|(.., value)| value)
                .unwrap_or_else(|| panic!("{name} not published"))
        };
        assert_eq!(
            find("typool_pool_live", MetricKind::Gauge),
            &DebugValue::Gauge(2.0.into())
        );
        match find("typool_pool_cache_hits_total", MetricKind::Counter) {
            DebugValue::Counter(n) => assert!(*n <= 2),
            other => panic!("a counter, not {other:?}"),
        }
        assert!(snapshot
            .iter()
            .any(|(key, ..)| key.key().name() == "typool_arena_scopes_total"));
        drop(held);
    }
}

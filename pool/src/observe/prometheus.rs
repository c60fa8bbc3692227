//! [`render_prometheus`]: the Prometheus text exposition format (version 0.0.4).

use crate::arena::lease::lease_tally;
use crate::stats::PoolStats;
use crate::PoolAlloc;
use core::fmt::Write;

/// One per-pool family: its name, type, help, and the figure it reports.
struct PoolFamily {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&PoolStats) -> u64,
}

const POOL_FAMILIES: [PoolFamily; 8] = [
    PoolFamily {
        name: "typool_pool_live",
        kind: "gauge",
        help: "Objects allocated and not yet freed.",
        value: |s| s.live as u64,
    },
    PoolFamily {
        name: "typool_pool_peak_live",
        kind: "gauge",
        help: "Highest live count sampled (at cache refills and stats calls).",
        value: |s| s.peak_live as u64,
    },
    PoolFamily {
        name: "typool_pool_reserved_slots",
        kind: "gauge",
        help: "Slots in all segments.",
        value: |s| s.reserved_slots as u64,
    },
    PoolFamily {
        name: "typool_pool_bytes_reserved",
        kind: "gauge",
        help: "Bytes of all segments.",
        value: |s| s.bytes_reserved as u64,
    },
    PoolFamily {
        name: "typool_pool_segments",
        kind: "gauge",
        help: "Segments the pool holds.",
        value: |s| s.segments as u64,
    },
    PoolFamily {
        name: "typool_pool_cache_hits_total",
        kind: "counter",
        help: "Allocations served by a thread cache.",
        value: |s| s.cache_hits,
    },
    PoolFamily {
        name: "typool_pool_cache_misses_total",
        kind: "counter",
        help: "Allocations that refilled a thread cache.",
        value: |s| s.cache_misses,
    },
    PoolFamily {
        name: "typool_pool_depot_transfers_total",
        kind: "counter",
        help: "Magazines moved between thread caches and the shared depot.",
        value: |s| s.depot_transfers,
    },
];

/// Everything [`typool::stats`](crate::stats) knows, in the Prometheus text exposition format
/// (0.0.4): a `# HELP` and a `# TYPE` line per family, then its samples.
///
/// - Per typed pool (every entry of [`all`](crate::stats::all)), labelled
///   `type="<type_path>"`: gauges `typool_pool_live`, `typool_pool_peak_live`,
///   `typool_pool_reserved_slots`, `typool_pool_bytes_reserved`, `typool_pool_segments`;
///   counters `typool_pool_cache_hits_total`, `typool_pool_cache_misses_total`,
///   `typool_pool_depot_transfers_total`.
/// - The process-wide slab behind [`PoolAlloc`]: gauges `typool_slab_live_bytes`,
///   `typool_slab_reserved_bytes`, `typool_slab_fragmentation_internal`,
///   `typool_slab_fragmentation_external`.
/// - `#[arena_scope]`'s arenas: counter `typool_arena_scopes_total` (scopes served; a running
///   thread's last few are added in batches), gauge `typool_arena_bytes_reserved` (held by
///   their arenas, idle or on loan), counter `typool_arena_trims_total` (arenas emptied past
///   the high-water mark after a scope).
///
/// Label values are escaped as the format requires (`\\`, `\"`, `\n`).
///
/// # Examples
///
/// ```
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled)]
/// struct Order { qty: u32 }
///
/// let o = PoolBox::new(Order { qty: 3 });
/// let text = typool::stats::render_prometheus();
/// assert!(text.contains("# TYPE typool_pool_live gauge"));
/// assert!(text.lines().any(|l| l.starts_with("typool_pool_live{type=\"") && l.contains("::Order\"} 1")));
/// # drop(o);
/// ```
pub fn render_prometheus() -> String {
    let pools = crate::stats::all();
    let mut out = String::with_capacity(256 + pools.len() * 512);
    for f in &POOL_FAMILIES {
        header(&mut out, f.name, f.kind, f.help);
        for p in &pools {
            out.push_str(f.name);
            out.push_str("{type=\"");
            escape_label(&mut out, p.type_path);
            let _ = writeln!(out, "\"}} {}", (f.value)(p));
        }
    }
    let slab = PoolAlloc::slab().fragmentation();
    let slab_gauges: [(&str, &str, f64); 4] = [
        (
            "typool_slab_live_bytes",
            "Bytes asked for in live blocks of the slab behind PoolAlloc.",
            slab.live_bytes as f64,
        ),
        (
            "typool_slab_reserved_bytes",
            "Bytes the slab behind PoolAlloc holds from the system.",
            slab.reserved_bytes as f64,
        ),
        (
            "typool_slab_fragmentation_internal",
            "1 - requested / granted over live blocks of the slab behind PoolAlloc.",
            slab.internal,
        ),
        (
            "typool_slab_fragmentation_external",
            "1 - largest free block / free bytes of the slab behind PoolAlloc.",
            slab.external,
        ),
    ];
    for (name, help, value) in slab_gauges {
        sample(&mut out, name, "gauge", help, value);
    }
    let (scopes, bytes, trims) = lease_tally();
    sample(
        &mut out,
        "typool_arena_scopes_total",
        "counter",
        "Calls served by #[arena_scope] arenas.",
        scopes as f64,
    );
    sample(
        &mut out,
        "typool_arena_bytes_reserved",
        "gauge",
        "Bytes held by #[arena_scope] arenas, idle or on loan.",
        bytes as f64,
    );
    sample(
        &mut out,
        "typool_arena_trims_total",
        "counter",
        "#[arena_scope] arenas emptied past the high-water mark after a call.",
        trims as f64,
    );
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A family with one unlabelled sample.
fn sample(out: &mut String, name: &str, kind: &str, help: &str, value: f64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Appends `value` escaped for a label: backslash, double quote and newline.
fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape_label;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape_label(&mut out, "a\\b\"c\nd<e>");
        assert_eq!(out, "a\\\\b\\\"c\\nd<e>");
    }
}

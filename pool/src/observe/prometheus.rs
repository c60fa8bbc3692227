//! [`render_prometheus`]: the Prometheus text exposition format (version 0.0.4).

use crate::observe::families::collect;
use core::fmt::Write;

/// Everything [`typool::stats`](crate::stats) knows, in the Prometheus text exposition format
/// (0.0.4): a `# HELP` and a `# TYPE` line per family, then its samples.
///
/// - Per typed pool (every entry of [`all`](crate::stats::all)), labelled
///   `type="<type_path>"`: gauges `typool_pool_live`, `typool_pool_peak_live`,
///   `typool_pool_reserved_slots`, `typool_pool_bytes_reserved`, `typool_pool_segments`;
///   counters `typool_pool_cache_hits_total`, `typool_pool_cache_misses_total`,
///   `typool_pool_depot_transfers_total`.
/// - Per [`SlabAllocator`](crate::SlabAllocator), labelled `allocator="pool_alloc"` (the
///   process-wide slab behind [`PoolAlloc`](crate::PoolAlloc), always present),
///   `allocator="global"` (a slab used through `GlobalAlloc`: the `#[global_allocator]`) or
///   `allocator="slab-N"` (any other, from its first allocation until it drops): gauges
///   `typool_slab_live_bytes`, `typool_slab_reserved_bytes`,
///   `typool_slab_fragmentation_internal`, `typool_slab_fragmentation_external`.
/// - `#[arena_scope]`'s arenas: counter `typool_arena_scopes_total` (scopes served; each
///   running thread adds its scopes 64 at a time, so the count lags by up to 63 per running
///   thread), gauge `typool_arena_bytes_reserved` (held by
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
    let families = collect();
    let mut out = String::with_capacity(families.len() * 256);
    for f in &families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.as_str());
        for (label, value) in &f.samples {
            out.push_str(f.name);
            if let Some(label) = label {
                out.push('{');
                out.push_str(f.label);
                out.push_str("=\"");
                escape_label(&mut out, label);
                out.push_str("\"}");
            }
            let _ = writeln!(out, " {value}");
        }
    }
    out
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

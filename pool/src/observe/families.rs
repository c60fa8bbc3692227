//! The families every exporter reports: one list, so the Prometheus text and the `metrics`
//! facade name and label the same figures the same way.

use crate::alloc::slab_record::{list, SlabRecord};
use crate::arena::lease::lease_tally;
use crate::stats::FragmentationReport;
use crate::stats::PoolStats;
use crate::PoolAlloc;
use std::borrow::Cow;

/// Gauge (a level) or counter (only grows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// A metric family and its samples: `(label value, value)`, the label named `label`
/// (`type` for per-pool families, `allocator` for the slabs'; none for the rest).
#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) help: &'static str,
    pub(crate) label: &'static str,
    pub(crate) samples: Vec<(Option<Cow<'static, str>>, f64)>,
}

/// One per-pool family: its name, type, help, and the figure it reports.
struct PoolFamily {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    value: fn(&PoolStats) -> u64,
}

const POOL_FAMILIES: [PoolFamily; 9] = [
    PoolFamily {
        name: "typool_pool_live",
        kind: Kind::Gauge,
        help: "Objects allocated and not yet freed.",
        value: |s| s.live as u64,
    },
    PoolFamily {
        name: "typool_pool_peak_live",
        kind: Kind::Gauge,
        help: "Highest live count sampled (when caches take memory from the pool, and at stats calls).",
        value: |s| s.peak_live as u64,
    },
    PoolFamily {
        name: "typool_pool_reserved_slots",
        kind: Kind::Gauge,
        help: "Slots in all segments.",
        value: |s| s.reserved_slots as u64,
    },
    PoolFamily {
        name: "typool_pool_bytes_reserved",
        kind: Kind::Gauge,
        help: "Bytes of all segments.",
        value: |s| s.bytes_reserved as u64,
    },
    PoolFamily {
        name: "typool_pool_bytes_committed",
        kind: Kind::Gauge,
        help: "Bytes of pages touched since they were last given back to the OS: the most the pool can hold resident.",
        value: |s| s.bytes_committed as u64,
    },
    PoolFamily {
        name: "typool_pool_segments",
        kind: Kind::Gauge,
        help: "Segments the pool holds.",
        value: |s| s.segments as u64,
    },
    PoolFamily {
        name: "typool_pool_cache_hits_total",
        kind: Kind::Counter,
        help: "Allocations served by a thread's two magazines.",
        value: |s| s.cache_hits,
    },
    PoolFamily {
        name: "typool_pool_cache_misses_total",
        kind: Kind::Counter,
        help: "Allocations that needed a magazine from outside the thread's two (its stash, the depot or the segments).",
        value: |s| s.cache_misses,
    },
    PoolFamily {
        name: "typool_pool_depot_transfers_total",
        kind: Kind::Counter,
        help: "Magazines moved between threads and the pool (the shared depot, or fresh from the segments).",
        value: |s| s.depot_transfers,
    },
];

/// Every family, with its current samples.
pub(crate) fn collect() -> Vec<Family> {
    let pools = crate::stats::all();
    let mut out: Vec<Family> = POOL_FAMILIES
        .iter()
        .map(|f| Family {
            name: f.name,
            kind: f.kind,
            help: f.help,
            label: "type",
            samples: pools
                .iter()
                .map(|p| (Some(Cow::Borrowed(p.type_path)), (f.value)(p) as f64))
                .collect(),
        })
        .collect();
    out.extend(slab_families());
    let (scopes, arena_bytes, trims) = lease_tally();
    let single: [(&'static str, Kind, &'static str, f64); 3] = [
        (
            "typool_arena_scopes_total",
            Kind::Counter,
            "Calls served by #[arena_scope] arenas; each running thread adds its calls 64 at a time (and the rest when it exits), so the count lags by up to 63 per running thread.",
            scopes as f64,
        ),
        (
            "typool_arena_bytes_reserved",
            Kind::Gauge,
            "Bytes held by #[arena_scope] arenas, idle or on loan.",
            arena_bytes as f64,
        ),
        (
            "typool_arena_trims_total",
            Kind::Counter,
            "#[arena_scope] arenas emptied past the high-water mark after a call.",
            trims as f64,
        ),
    ];
    out.extend(single.into_iter().map(|(name, kind, help, value)| Family {
        name,
        kind,
        help,
        label: "",
        samples: vec![(None, value)],
    }));
    out
}

/// One per-slab family: its name, help, and the figure it reports.
type SlabFamily = (&'static str, &'static str, fn(&FragmentationReport) -> f64);

const SLAB_FAMILIES: [SlabFamily; 4] = [
    (
        "typool_slab_live_bytes",
        "Bytes asked for in live blocks of the slab allocator.",
        |f| f.live_bytes as f64,
    ),
    (
        "typool_slab_reserved_bytes",
        "Bytes the slab allocator holds from the system.",
        |f| f.reserved_bytes as f64,
    ),
    (
        "typool_slab_fragmentation_internal",
        "1 - requested / granted over live blocks of the slab allocator.",
        |f| f.internal,
    ),
    (
        "typool_slab_fragmentation_external",
        "1 - largest free block / free bytes of the slab allocator.",
        |f| f.external,
    ),
];

/// The slab families, one sample per slab allocator, labelled `allocator`: the one behind
/// `PoolAlloc` (`pool_alloc`, always there), the `#[global_allocator]` (`global`), and any
/// other that has made its record (`slab-N`).
fn slab_families() -> Vec<Family> {
    let mut slabs: Vec<(Cow<'static, str>, FragmentationReport)> = vec![(
        Cow::Borrowed("pool_alloc"),
        PoolAlloc::slab().fragmentation(),
    )];
    list::for_each(|r: &SlabRecord| {
        let label = r.label();
        if label != "pool_alloc" {
            slabs.push((Cow::Owned(label), r.fragmentation()));
        }
    });
    SLAB_FAMILIES
        .iter()
        .map(|&(name, help, value)| Family {
            name,
            kind: Kind::Gauge,
            help,
            label: "allocator",
            samples: slabs
                .iter()
                .map(|(label, f)| (Some(label.clone()), value(f)))
                .collect(),
        })
        .collect()
}

//! The families every exporter reports: one list, so the Prometheus text and the `metrics`
//! facade name and label the same figures the same way.

use crate::arena::lease::lease_tally;
use crate::stats::PoolStats;
use crate::PoolAlloc;

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

/// A metric family and its samples: `(type label, value)`, the label for per-pool families.
#[derive(Debug)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) help: &'static str,
    pub(crate) samples: Vec<(Option<&'static str>, f64)>,
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
            samples: pools
                .iter()
                .map(|p| (Some(p.type_path), (f.value)(p) as f64))
                .collect(),
        })
        .collect();
    let slab = PoolAlloc::slab().fragmentation();
    let (scopes, arena_bytes, trims) = lease_tally();
    let single: [(&'static str, Kind, &'static str, f64); 7] = [
        (
            "typool_slab_live_bytes",
            Kind::Gauge,
            "Bytes asked for in live blocks of the slab behind PoolAlloc.",
            slab.live_bytes as f64,
        ),
        (
            "typool_slab_reserved_bytes",
            Kind::Gauge,
            "Bytes the slab behind PoolAlloc holds from the system.",
            slab.reserved_bytes as f64,
        ),
        (
            "typool_slab_fragmentation_internal",
            Kind::Gauge,
            "1 - requested / granted over live blocks of the slab behind PoolAlloc.",
            slab.internal,
        ),
        (
            "typool_slab_fragmentation_external",
            Kind::Gauge,
            "1 - largest free block / free bytes of the slab behind PoolAlloc.",
            slab.external,
        ),
        (
            "typool_arena_scopes_total",
            Kind::Counter,
            "Calls served by #[arena_scope] arenas.",
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
        samples: vec![(None, value)],
    }));
    out
}

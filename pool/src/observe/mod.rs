//! # Layer: the process-wide view
//!
//! What a dashboard reads: every typed pool (the engine's list of records), the slab behind
//! [`PoolAlloc`](crate::PoolAlloc), and the arenas of `#[arena_scope]`, as snapshots
//! ([`all`]) and as Prometheus text ([`render_prometheus`]). It reads every other layer and is
//! used by none; its functions are public through [`typool::stats`](crate::stats).
//!
//! | file | what it is |
//! |---|---|
//! | `families` | the families every exporter reports, collected once |
//! | `prometheus` | the text exposition format: labels, escaping |
//! | `metrics` | the same families through the `metrics` facade (feature `metrics`) |
//! | `tracking` | [`TrackingAllocator`]: any allocator, counted in per-thread shards |

mod families;
#[cfg(feature = "metrics")]
mod metrics;
mod prometheus;
mod tracking;

#[cfg(feature = "metrics")]
pub use self::metrics::publish_metrics;
pub use prometheus::render_prometheus;

/// One line per allocation site over all typed pools — `3 live Particle allocated at
/// src/main.rs:12:9` — pools in `type_path` order, each pool's sites most first (feature
/// `track-sites`). Empty when nothing is live.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "track-sites")] {
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled)]
/// struct Particle { pos: [f32; 3] }
///
/// let leaked = Box::leak(Box::new(PoolBox::new(Particle { pos: [0.0; 3] })));
/// let report = typool::stats::leak_report();
/// assert!(report.contains("1 live Particle allocated at "), "{report}");
/// # let _ = leaked;
/// # }
/// ```
#[cfg(feature = "track-sites")]
pub fn leak_report() -> String {
    use core::fmt::Write;
    let mut pools: Vec<(
        &'static str,
        Vec<(&'static core::panic::Location<'static>, usize)>,
    )> = Vec::new();
    crate::engine::record::for_each(|r| pools.push((r.type_path(), r.sites())));
    pools.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (path, sites) in pools {
        let name = crate::stats::short_type_name(path);
        for (location, live) in sites {
            let _ = writeln!(out, "{live} live {name} allocated at {location}");
        }
    }
    out
}
pub use tracking::{TrackingAllocator, TrackingStats};

use crate::stats::PoolStats;

/// Every typed pool in the process that has reserved memory — derived pools, `Pool<T>`
/// statics, and other pools until they are dropped — sorted by
/// [`type_path`](PoolStats::type_path), so that two types named `Node` in two modules are two
/// entries.
///
/// Pools put themselves on the list on their first segment, off the fast path; reading it
/// takes the list's lock, which no allocation takes, and then each pool's counter lock, as
/// [`Pool::stats`](crate::Pool::stats) does.
///
/// # Examples
///
/// ```
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled)]
/// struct Session { id: u64 }
///
/// let s = PoolBox::new(Session { id: 7 });
/// let all = typool::stats::all();
/// let mine = all.iter().find(|p| p.type_path.ends_with("::Session")).unwrap();
/// assert_eq!((mine.type_name, mine.live), ("Session", 1));
/// # drop(s);
/// ```
pub fn all() -> Vec<PoolStats> {
    crate::engine::record::all()
}

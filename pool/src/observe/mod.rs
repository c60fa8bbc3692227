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

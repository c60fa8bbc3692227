//! [`PoolConfig`]: how big a pool starts, how far it may grow, how many free slots each
//! thread keeps at hand, and where its memory comes from.

use crate::os::Backing;

/// How a [`Pool`](crate::Pool) is sized. Every setter is a `const fn`, so a configuration can
/// be built in a `static` (that is what `#[pooled(..)]` expands to).
///
/// # Examples
///
/// ```
/// use typool::{Pool, PoolConfig};
///
/// static POOL: Pool<[u8; 64]> = Pool::with_config(PoolConfig::new().initial(256).max(10_000).cache(32));
/// let h = POOL.alloc([7; 64]);
/// assert_eq!(h[3], 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    pub(crate) initial: usize,
    pub(crate) max: Option<usize>,
    pub(crate) cache: usize,
    pub(crate) backing: Backing,
    /// Milliseconds unused memory waits before it decays (0: never).
    pub(crate) decay: u32,
    /// Segments in memory files, pages meshable (`engine/mesh.rs`).
    pub(crate) meshed: bool,
}

impl PoolConfig {
    /// Default thread-cache size in slots.
    pub const DEFAULT_CACHE: usize = 64;
    /// Slots in the first segment when `initial` is not given (fewer for large types: see
    /// [`Self::MIN_SEGMENT_BYTES`]).
    pub const MIN_SEGMENT: usize = 256;
    /// Bytes the first segment holds at most when `initial` is not given: a 64 KiB type's
    /// first segment holds one object, not 256.
    pub const MIN_SEGMENT_BYTES: usize = 64 * 1024;

    /// Unbounded, no `initial` (the first segment holds [`Self::MIN_SEGMENT`] slots, or
    /// [`Self::MIN_SEGMENT_BYTES`] of them for large types), decay after
    /// [`Self::DEFAULT_DECAY_MS`],
    /// `cache = 64`, [`Backing::Heap`].
    pub const fn new() -> Self {
        Self {
            initial: 0,
            max: None,
            cache: Self::DEFAULT_CACHE,
            backing: Backing::Heap,
            decay: Self::DEFAULT_DECAY_MS,
            meshed: false,
        }
    }

    /// How long memory may sit unused before it goes back to the OS, in milliseconds, without
    /// a call to [`Pool::trim`](crate::Pool::trim): `0` turns decay off. The default is
    /// [`Self::DEFAULT_DECAY_MS`] (`#[pooled(decay_ms = N)]` sets it).
    ///
    /// The policy in one sentence: at each period's first slow path, an idle thread's stash
    /// goes to the depot (and a busy thread's stash sheds what it held unused all period), the
    /// depot goes back into its pages, and pages empty for a whole period go back to the OS —
    /// so memory no one reuses is back with the OS within about three periods of the pool's
    /// use. No background thread runs: a pool that
    /// no thread touches keeps its memory until its next slow path, a `trim`, or its threads'
    /// exit. The module docs of `engine/decay.rs` say more.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Pool, PoolConfig};
    ///
    /// // A burst handler: give memory back a quarter second after the burst.
    /// static BURSTS: Pool<[u8; 512]> = Pool::with_config(PoolConfig::new().decay_ms(250));
    /// // A latency-critical pool that keeps what it had: trim by hand, or never.
    /// static STEADY: Pool<[u8; 512]> = Pool::with_config(PoolConfig::new().decay_ms(0));
    /// # drop((BURSTS.alloc([0; 512]), STEADY.alloc([0; 512])));
    /// ```
    pub const fn decay_ms(mut self, ms: u32) -> Self {
        self.decay = ms;
        self
    }

    /// Decay's default period: 1000 ms, between mimalloc's purge delay (10 ms) and jemalloc's
    /// dirty decay (10 s). Memory comes back within seconds of a peak, and a pool that cycles
    /// faster than that keeps its memory warm.
    pub const DEFAULT_DECAY_MS: u32 = 1000;

    /// Meshing (`#[pooled(mesh)]`): the pool's segments live in memory files, so that
    /// [`Pool::mesh`](crate::Pool::mesh) can give back the memory of sparse pages without
    /// moving an object — two 4 KiB pages whose live slots sit at different offsets come to
    /// share one physical page. Off by default.
    ///
    /// What it changes: slots are rounded up to a power of two (a 48-byte type takes 64), so
    /// that every page holds whole slots; pages are 4 KiB instead of 64 KiB; a fresh page's
    /// slots are handed out in random order; decay also meshes (a window of pages per
    /// period); and `fork` copies the pool's committed memory for the child. The hit path is
    /// the same instructions. The option changes nothing for types larger than 4 KiB, nor for
    /// pools with a [`Backing`] other than [`Backing::Heap`]; where memory files are
    /// unavailable (not Linux, Miri, AddressSanitizer builds) slots are still rounded but
    /// nothing is meshed: [`Pool::mesh`](crate::Pool::mesh) then reports nothing done.
    ///
    /// While `mesh()` runs, a thread that writes an object in a page being meshed waits
    /// (microseconds) in a `SIGSEGV` handler typool installs, chained to any installed
    /// before; a *system call* that writes into such a page (`read(2)` into a pooled buffer)
    /// fails with `EFAULT` instead. Don't let the kernel write into a `mesh` pool's objects
    /// while it meshes. Each meshed page is a mapping of its own, so meshing stops (and says
    /// so in its report's counts) when the process nears `vm.max_map_count` mappings (65,530
    /// by default: about 30,000 meshed pages, 120 MiB given back).
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Pool, PoolConfig};
    ///
    /// static POOL: Pool<[u64; 8]> = Pool::with_config(PoolConfig::new().mesh(true));
    /// let mut all: Vec<_> = (0..20_000u64).map(|i| POOL.alloc([i; 8])).collect();
    /// // Keep every 16th: each page keeps four objects, and no page is empty.
    /// let mut kept = Vec::new();
    /// for (i, h) in all.drain(..).enumerate() {
    ///     if i % 16 == 0 { kept.push(h) }
    /// }
    /// POOL.trim();
    /// let report = POOL.mesh();
    /// println!("{report}");
    /// # #[cfg(all(target_os = "linux", not(miri)))]
    /// assert!(report.pages_meshed > 0);
    /// assert!(kept.iter().enumerate().all(|(k, h)| h[0] == 16 * k as u64));
    /// ```
    pub const fn mesh(mut self, on: bool) -> Self {
        self.meshed = on;
        self
    }

    /// Where the pool's segments come from (see [`Backing`]; `#[pooled(huge_pages)]` and
    /// `#[pooled(numa = N)]` set it). With [`Backing::HugePages`] every segment is a whole
    /// number of 2 MiB pages (at least one), so the first holds `max(initial, 2 MiB / slot
    /// size)` slots. What the kernel granted is [`PoolStats::backing`](crate::PoolStats::backing).
    /// A [`Backing::File`] that cannot be used makes
    /// [`Pool::try_alloc`](crate::Pool::try_alloc) hand the value back in
    /// [`PoolError::OutOfMemory`](crate::PoolError::OutOfMemory).
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Backing, Granted, Pool, PoolConfig};
    ///
    /// // One NUMA node per socket on a big machine; node 0 exists everywhere Linux runs.
    /// static NEAR: Pool<u64> = Pool::with_config(PoolConfig::new().backing(Backing::Numa(0)));
    /// let n = NEAR.alloc(7);
    /// assert!(matches!(NEAR.stats().backing, Granted::Numa(0) | Granted::Heap));
    /// # drop(n);
    /// ```
    pub const fn backing(mut self, backing: Backing) -> Self {
        self.backing = backing;
        self
    }

    /// Slots reserved by the first allocation (or by [`Pool::reserve`](crate::Pool::reserve)).
    pub const fn initial(mut self, slots: usize) -> Self {
        self.initial = slots;
        self
    }

    /// Bounds the pool: it never holds more than `live` objects at once; past that,
    /// [`Pool::try_alloc`](crate::Pool::try_alloc) hands the value back in
    /// [`PoolError::Exhausted`](crate::PoolError::Exhausted).
    ///
    /// # Panics
    ///
    /// If `live` is 0 or does not fit in 32 bits (evaluated at compile time in a `static`).
    pub const fn max(mut self, live: usize) -> Self {
        assert!(
            live > 0 && live <= u32::MAX as usize,
            "PoolConfig::max must be in 1..=u32::MAX"
        );
        self.max = Some(live);
        self
    }

    /// Free slots each thread keeps without touching shared state (two magazines of
    /// `slots / 2`). In an unbounded pool a thread whose demand swings past this — it sends
    /// magazines to the depot and then takes them back — doubles its cache, up to
    /// [`Self::GROWTH`] times `slots` but no further than [`Self::GROWTH_BYTES`] per magazine,
    /// so that its objects stop travelling through shared state (and through other cores'
    /// caches).
    ///
    /// # Panics
    ///
    /// If `slots` is below 2 or above 65536.
    pub const fn cache(mut self, slots: usize) -> Self {
        assert!(
            slots >= 2 && slots <= 65536,
            "PoolConfig::cache must be in 2..=65536"
        );
        self.cache = slots;
        self
    }

    /// Slots in the first segment for `slot_size`-byte slots: `initial`, or when not given
    /// [`Self::MIN_SEGMENT`] slots but no more than [`Self::MIN_SEGMENT_BYTES`] of them (one
    /// slot at least).
    pub(crate) const fn first_segment(&self, slot_size: usize) -> usize {
        if self.initial > 0 {
            return self.initial;
        }
        let by_bytes = Self::MIN_SEGMENT_BYTES / slot_size;
        if by_bytes == 0 {
            1
        } else if by_bytes < Self::MIN_SEGMENT {
            by_bytes
        } else {
            Self::MIN_SEGMENT
        }
    }

    /// Slots per magazine at first for `slot_size`-byte slots: half the thread cache, but no
    /// more than [`Self::MIN_SEGMENT_BYTES`] of them (one slot at least), so that one
    /// allocation of a large type moves no more than that.
    pub(crate) const fn magazine(&self, slot_size: usize) -> u32 {
        let half = self.cache / 2;
        let by_bytes = Self::MIN_SEGMENT_BYTES / slot_size;
        let slots = if by_bytes < half { by_bytes } else { half };
        if slots == 0 {
            1
        } else {
            slots as u32
        }
    }

    /// How far a thread's magazines of `slot_size`-byte slots may grow: [`Self::GROWTH`] times
    /// the first size, capped at [`Self::GROWTH_BYTES`] (never below the first size), for
    /// unbounded pools; a bounded pool keeps them at their first size, since slots parked in
    /// caches count against `max`.
    pub(crate) const fn max_magazine(&self, slot_size: usize) -> u32 {
        let first = self.magazine(slot_size);
        if self.max.is_some() {
            return first;
        }
        let by_bytes = Self::GROWTH_BYTES / slot_size;
        let grown = first as usize * Self::GROWTH as usize;
        let max = if grown < by_bytes { grown } else { by_bytes };
        if max < first as usize {
            first
        } else {
            max as u32
        }
    }

    /// Factor by which a thread cache may grow past `cache` (see `engine/cache.rs`).
    pub const GROWTH: u32 = 32;

    /// Bytes of slots one grown magazine may hold at most (a thread holds two): 128 KiB.
    pub const GROWTH_BYTES: usize = 128 * 1024;

    /// Bytes of free slots one thread's stash may hold at most, in an unbounded pool (see
    /// `engine/cache.rs`): 64 MiB. A thread may stash as much as it has taken from the pool, and
    /// sheds what its stash held unused for a decay period; trim, decay, and the thread's exit
    /// hand the stash back to the pool.
    pub const STASH_BYTES: usize = 64 * 1024 * 1024;

    /// How many `slot_size`-byte slots a thread's stash may hold: [`Self::STASH_BYTES`] of
    /// them in unbounded pools, none in bounded ones (parked slots count against `max`).
    pub(crate) const fn max_stash(&self, slot_size: usize) -> u32 {
        if self.max.is_some() {
            return 0;
        }
        let slots = Self::STASH_BYTES / slot_size;
        if slots > u32::MAX as usize {
            u32::MAX
        } else {
            slots as u32
        }
    }

    /// The most slots this pool may ever carve, if bounded.
    pub(crate) const fn limit(&self) -> usize {
        match self.max {
            Some(m) => m,
            None => usize::MAX,
        }
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self::new()
    }
}

//! The churn trace: an hour of a server, compressed. A seeded, deterministic sequence of
//! allocations and frees of mixed sizes and lifetimes, replayed through any [`VarAlloc`].
//!
//! Per allocation: size from a server-like mix (half under 128 B, a tail past 64 KiB),
//! alignment 8 (one in twenty asks for 16..=64), and a lifetime — 79.5% short (up to 200
//! events), 20% medium (1k..50k events), 0.5% long-lived (never freed within the trace). Every
//! 100,000 allocations a burst of 20,000 request buffers arrives and lives 5k..30k events:
//! the spikes that leave holes behind.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use typool::{BuddyAllocator, SlabAllocator};

/// One step of the trace.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// Allocate into `slot`.
    Alloc { slot: u32, size: u32, align: u32 },
    /// Free what `slot` holds.
    Free { slot: u32 },
}

/// splitmix64: small, fast, and the same everywhere.
struct SplitMix(u64);

impl SplitMix {
    fn draw(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.draw() % (hi - lo + 1)
    }
}

/// The trace for `seed` with `allocs` allocations (and every free due before the end).
pub fn trace(seed: u64, allocs: u64) -> Vec<Event> {
    let mut rng = SplitMix(seed);
    let mut events = Vec::with_capacity(allocs as usize * 2);
    let mut deaths: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
    let mut free_slots: Vec<u32> = Vec::new();
    let mut next_slot = 0u32;
    let mut now = 0u64;
    let mut n = 0u64;
    while n < allocs {
        let burst = n % 100_000 == 99_999;
        for _ in 0..if burst { 20_000 } else { 1 } {
            now += 1;
            while let Some(&Reverse((t, slot))) = deaths.peek() {
                if t > now {
                    break;
                }
                deaths.pop();
                events.push(Event::Free { slot });
                free_slots.push(slot);
            }
            let (size, life) = if burst {
                (rng.range(512, 4096), Some(rng.range(5_000, 30_000)))
            } else {
                let size = match rng.draw() % 100 {
                    0..=49 => rng.range(8, 128),
                    50..=79 => rng.range(129, 1024),
                    80..=94 => rng.range(1025, 16 * 1024),
                    95..=98 => rng.range(16 * 1024 + 1, 64 * 1024),
                    _ => rng.range(64 * 1024 + 1, 256 * 1024),
                };
                let life = match rng.draw() % 1000 {
                    0..=794 => Some(rng.range(1, 200)),
                    795..=994 => Some(rng.range(1_000, 50_000)),
                    _ => None,
                };
                (size, life)
            };
            let align = if rng.draw().is_multiple_of(20) {
                16 << rng.range(0, 2)
            } else {
                8
            };
            let slot = free_slots.pop().unwrap_or_else(|| {
                next_slot += 1;
                next_slot - 1
            });
            events.push(Event::Alloc {
                slot,
                size: size as u32,
                align,
            });
            if let Some(life) = life {
                deaths.push(Reverse((now + life, slot)));
            }
            n += 1;
        }
    }
    events
}

/// An allocator the trace can run through.
pub trait VarAlloc: Sync {
    const NAME: &'static str;
    /// # Safety
    /// `layout` has a non-zero size.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8;
    /// # Safety
    /// `ptr` came from `alloc` with `layout`.
    unsafe fn free(&self, ptr: *mut u8, layout: Layout);
}

macro_rules! global_alloc_contender {
    ($ty:ty, $name:literal) => {
        impl VarAlloc for $ty {
            const NAME: &'static str = $name;
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                // SAFETY: forwarded from the caller.
                unsafe { GlobalAlloc::alloc(self, layout) }
            }
            unsafe fn free(&self, ptr: *mut u8, layout: Layout) {
                // SAFETY: forwarded from the caller.
                unsafe { GlobalAlloc::dealloc(self, ptr, layout) }
            }
        }
    };
}
global_alloc_contender!(System, "glibc");
global_alloc_contender!(mimalloc::MiMalloc, "mimalloc");
global_alloc_contender!(SlabAllocator, "slab");

impl VarAlloc for BuddyAllocator {
    const NAME: &'static str = "buddy";
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        use allocator_api2::alloc::Allocator;
        self.allocate(layout)
            .map_or(std::ptr::null_mut(), |p| p.cast::<u8>().as_ptr())
    }
    unsafe fn free(&self, ptr: *mut u8, layout: Layout) {
        use allocator_api2::alloc::Allocator;
        let ptr = std::ptr::NonNull::new(ptr).expect("the trace frees only what it got");
        // SAFETY: forwarded from the caller.
        unsafe { self.deallocate(ptr, layout) }
    }
}

/// Buddy region for the trace: enough for its peak, rounded to blocks (pages it never
/// touches cost no memory).
pub const BUDDY_CAPACITY: usize = 1 << 30;

/// What a replay keeps: the blocks of live slots.
pub struct Replay {
    slots: Vec<(*mut u8, Layout)>,
    /// Bytes requested by live blocks, and the most seen at once.
    pub live: usize,
    pub peak_live: usize,
}

impl Replay {
    pub fn new(trace: &[Event]) -> Self {
        let slots = trace
            .iter()
            .map(|e| match *e {
                Event::Alloc { slot, .. } | Event::Free { slot } => slot as usize + 1,
            })
            .max()
            .unwrap_or(0);
        Self {
            slots: vec![(std::ptr::null_mut(), Layout::new::<u8>()); slots],
            live: 0,
            peak_live: 0,
        }
    }

    /// Runs `trace` through `a`, writing the first word and one byte per page of every block
    /// (so its pages are really in use, as its user's would be) and checking the first word
    /// when it is freed. Calls `sample` every 10,000 events.
    pub fn run<A: VarAlloc>(&mut self, a: &A, trace: &[Event], mut sample: impl FnMut(&Self)) {
        for (i, e) in trace.iter().enumerate() {
            match *e {
                Event::Alloc { slot, size, align } => {
                    let layout = Layout::from_size_align(size as usize, align as usize)
                        .expect("trace layouts are valid");
                    // SAFETY: sizes are at least 8.
                    let p = unsafe { a.alloc(layout) };
                    assert!(!p.is_null(), "{} refused {layout:?}", A::NAME);
                    // SAFETY: a fresh block of at least 8 bytes, aligned to 8.
                    unsafe {
                        for page in (4096..layout.size()).step_by(4096) {
                            p.add(page).write(slot as u8);
                        }
                        p.cast::<u64>().write(slot as u64);
                    }
                    self.slots[slot as usize] = (p, layout);
                    self.live += layout.size();
                    self.peak_live = self.peak_live.max(self.live);
                }
                Event::Free { slot } => {
                    let (p, layout) = self.slots[slot as usize];
                    // SAFETY: the slot holds a live block of `layout` from `a`.
                    unsafe {
                        assert_eq!(p.cast::<u64>().read(), slot as u64, "block was overwritten");
                        a.free(p, layout);
                    }
                    self.live -= layout.size();
                }
            }
            if i % 10_000 == 0 {
                sample(self);
            }
        }
    }

    /// Frees every block still live (the long-lived ones).
    pub fn finish<A: VarAlloc>(&mut self, a: &A, trace: &[Event]) {
        let mut live = vec![false; self.slots.len()];
        for e in trace {
            match *e {
                Event::Alloc { slot, .. } => live[slot as usize] = true,
                Event::Free { slot } => live[slot as usize] = false,
            }
        }
        for (slot, &is_live) in live.iter().enumerate() {
            if is_live {
                let (p, layout) = self.slots[slot];
                // SAFETY: the slot holds a live block of `layout` from `a`.
                unsafe { a.free(p, layout) };
                self.live -= layout.size();
            }
        }
    }
}

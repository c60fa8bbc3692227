//! Where a pool's carved slots are, readable without the grow lock: what the ownership checks
//! of checked builds (debug, or feature `hardened`) look at on every free of the slab.
//!
//! [`SpanMap`] mirrors each segment as an entry `(base, end of the carved part)`. The grow lock's
//! holder publishes changes after every carve, grow and trim ([`SpanMap::publish`]); readers
//! scan the entries with acquire loads. A segment keeps its entry while it lives, so a slot
//! that is live (carved before it was handed out, its segment not trimmed while it is out) is
//! always found in its own entry. A reader re-reads an entry's base after its end, so it never
//! pairs one segment's base with another's end. Past [`SPANS`] segments the map says "unknown"
//! and the caller takes the lock. Unchecked builds keep no map at all.
//!
//! Whether an offset into a segment starts a slot is a divisibility test by the slot size, made
//! on every checked free; [`Stride`] makes it without a division (a 64-bit `div` costs tens of
//! cycles, more than the rest of the check). Coloured pages (`segment.rs`, "Colour") are a
//! power of two apart, so the test looks at the offset within its page, masked, and refuses
//! the page's gap with one compare.

use crate::engine::segment::SlotLayout;
#[cfg(typool_checked)]
use crate::sync::{AtomicUsize, Ordering};

/// Entries: segments grow geometrically, so 16 cover pools far past any memory size. The loom
/// models' pools have a segment or two; fewer entries keep their state space small.
#[cfg(all(typool_checked, not(typool_loom)))]
const SPANS: usize = 16;
#[cfg(typool_loom)]
const SPANS: usize = 2;

#[cfg(typool_checked)]
#[derive(Debug)]
struct Span {
    /// The segment's first byte; 0 while the entry is free.
    base: AtomicUsize,
    /// One past the last carved byte.
    end: AtomicUsize,
}

/// Divisibility by a slot size `d = 2^k * q` (`q` odd) without dividing: with `q'` the inverse
/// of `q` modulo 2^64, `x` is a multiple of `d` exactly when `(x * q') mod 2^64`, rotated right
/// by `k`, is at most `⌊(2^64 - 1) / d⌋` (Granlund and Montgomery's exact-division test;
/// Hacker's Delight §10-17). Multiplying by `q'` maps the multiples of `q` one to one onto
/// `0..=⌊(2^64 - 1) / q⌋` and everything else above it; the rotation sends a value with any of
/// its low `k` bits set above the bound as well.
#[cfg(typool_checked)]
#[derive(Clone, Copy, Debug)]
struct Stride {
    inverse: usize,
    shift: u32,
    bound: usize,
}

#[cfg(typool_checked)]
impl Stride {
    /// The test for multiples of `size` (> 0).
    const fn new(size: usize) -> Self {
        let shift = size.trailing_zeros();
        let odd = size >> shift;
        // Newton's iteration for the inverse modulo 2^64: `odd` is its own inverse modulo 8
        // (3 correct bits), and each step doubles the correct bits: 3, 6, 12, 24, 48, 96.
        let mut inverse = odd;
        let mut step = 0;
        while step < 5 {
            inverse = inverse.wrapping_mul(2usize.wrapping_sub(odd.wrapping_mul(inverse)));
            step += 1;
        }
        Self {
            inverse,
            shift,
            bound: usize::MAX / size,
        }
    }

    /// Whether `x` is a multiple of the size.
    #[inline]
    fn divides(self, x: usize) -> bool {
        x.wrapping_mul(self.inverse).rotate_right(self.shift) <= self.bound
    }
}

/// The carved range of each segment (checked builds; empty otherwise).
#[derive(Debug)]
pub(crate) struct SpanMap {
    #[cfg(typool_checked)]
    spans: [Span; SPANS],
    /// Entries past this index are free: readers scan no further.
    #[cfg(typool_checked)]
    len: AtomicUsize,
    /// 1 when there are more segments than entries (some ranges are missing), else 0.
    #[cfg(typool_checked)]
    overflow: AtomicUsize,
    /// The slot size's divisibility test.
    #[cfg(typool_checked)]
    stride: Stride,
    /// Masks an offset to its offset within its page: `usize::MAX` where pages abut.
    #[cfg(typool_checked)]
    page_mask: usize,
    /// Where a page's slots end, within it (where its gap starts): `usize::MAX` where pages
    /// abut.
    #[cfg(typool_checked)]
    page_slots_end: usize,
}

#[cfg(typool_checked)]
crate::sync::loom_const_fn! {
    const fn empty() -> Span {
        Span {
            base: AtomicUsize::new(0),
            end: AtomicUsize::new(0),
        }
    }
}

impl SpanMap {
    crate::sync::loom_const_fn! {
        /// An empty map of a pool whose slots are laid out as `slot` says.
        pub(crate) const fn new(slot: SlotLayout) -> Self {
            #[cfg(not(typool_checked))]
            let _ = slot;
            #[cfg(typool_checked)]
            let (page_mask, page_slots_end) = if slot.coloured() {
                (slot.page_stride() - 1, slot.page_slots() * slot.size)
            } else {
                (usize::MAX, usize::MAX)
            };
            Self {
                #[cfg(all(typool_checked, not(typool_loom)))]
                spans: [const { empty() }; SPANS],
                #[cfg(typool_loom)]
                spans: core::array::from_fn(|_| empty()),
                #[cfg(typool_checked)]
                len: AtomicUsize::new(0),
                #[cfg(typool_checked)]
                overflow: AtomicUsize::new(0),
                #[cfg(typool_checked)]
                stride: Stride::new(slot.size),
                #[cfg(typool_checked)]
                page_mask,
                #[cfg(typool_checked)]
                page_slots_end,
            }
        }
    }

    /// Makes the entries match `segments`: `(base, carved bytes)` of each. Called by the grow
    /// lock's holder after every change, so publishes never race each other.
    pub(crate) fn publish(&self, segments: impl Iterator<Item = (usize, usize)> + Clone) {
        #[cfg(typool_checked)]
        {
            // Entries of segments that are gone: base first, so no reader matches them.
            for s in &self.spans {
                let base = s.base.load(Ordering::Relaxed);
                if base != 0 && !segments.clone().any(|(b, _)| b == base) {
                    s.base.store(0, Ordering::Release);
                    s.end.store(0, Ordering::Release);
                }
            }
            let mut overflow = false;
            for (base, carved) in segments {
                let end = base + carved;
                let own = self
                    .spans
                    .iter()
                    .find(|s| s.base.load(Ordering::Relaxed) == base);
                match own {
                    // `end` only grows while the segment lives.
                    Some(s) => s.end.store(end, Ordering::Release),
                    None => match self
                        .spans
                        .iter()
                        .find(|s| s.base.load(Ordering::Relaxed) == 0)
                    {
                        // End first, then base: a reader that sees the base sees this end.
                        Some(s) => {
                            s.end.store(end, Ordering::Release);
                            s.base.store(base, Ordering::Release);
                        }
                        None => overflow = true,
                    },
                }
            }
            let len = self
                .spans
                .iter()
                .rposition(|s| s.base.load(Ordering::Relaxed) != 0)
                .map_or(0, |i| i + 1);
            self.len.store(len, Ordering::Release);
            self.overflow
                .store(usize::from(overflow), Ordering::Release);
        }
        #[cfg(not(typool_checked))]
        let _ = segments;
    }

    /// Whether `ptr` starts a carved slot: `Some(answer)`, or `None` when the map cannot tell
    /// (too many segments; always, in unchecked builds).
    #[inline]
    pub(crate) fn owns(&self, ptr: *const u8) -> Option<bool> {
        #[cfg(typool_checked)]
        {
            let addr = ptr.addr();
            let len = self.len.load(Ordering::Acquire).min(SPANS);
            // Newest entries first: segments grow geometrically and take the first free entry,
            // so the last entries hold the largest segments, where most slots are.
            for s in self.spans[..len].iter().rev() {
                let base = s.base.load(Ordering::Acquire);
                if base == 0 || addr < base {
                    continue;
                }
                let end = s.end.load(Ordering::Acquire);
                if addr < end && s.base.load(Ordering::Acquire) == base {
                    let within = (addr - base) & self.page_mask;
                    return Some(within < self.page_slots_end && self.stride.divides(within));
                }
            }
            if self.overflow.load(Ordering::Acquire) != 0 {
                None
            } else {
                Some(false)
            }
        }
        #[cfg(not(typool_checked))]
        {
            let _ = ptr;
            None
        }
    }
}

#[cfg(all(test, not(typool_loom), debug_assertions))]
mod tests {
    use super::*;
    use core::alloc::Layout;

    #[test]
    fn the_stride_test_agrees_with_the_remainder() {
        // Every size to 1,100 natively; under Miri, which runs this a thousand times slower,
        // every size to 48 and a spread of larger ones.
        let (last, span) = if cfg!(miri) {
            (48, 64)
        } else {
            (1100, 1 << 12)
        };
        let mut sizes: Vec<usize> = (1..=last).collect();
        sizes.extend([96, 160, 384, 1000, 1100, 4096, 3 << 20, 65_536 + 8]);
        sizes.extend([usize::MAX / 2 + 1, usize::MAX]);
        for size in sizes {
            let stride = Stride::new(size);
            let near = |x: usize| [x, x.wrapping_sub(1), x.wrapping_add(1)];
            let xs = (0..4 * size.min(span))
                .chain((1..64).flat_map(|k| near(size.wrapping_mul(k))))
                .chain(near(usize::MAX))
                .chain((0..64).map(|b| 1usize << b));
            for x in xs {
                assert_eq!(stride.divides(x), x % size == 0, "{x} by {size}");
            }
        }
    }

    #[test]
    fn finds_carved_slots_and_forgets_trimmed_segments() {
        let map = SpanMap::new(SlotLayout::for_layout(Layout::new::<u128>()));
        let a = [0u128; 8];
        let b = [0u128; 8];
        let (pa, pb) = (a.as_ptr().cast::<u8>(), b.as_ptr().cast::<u8>());
        map.publish([(pa.addr(), 4 * 16)].into_iter());
        assert_eq!(map.owns(pa.wrapping_add(3 * 16)), Some(true));
        assert_eq!(
            map.owns(pa.wrapping_add(4 * 16)),
            Some(false),
            "not carved yet"
        );
        assert_eq!(
            map.owns(pa.wrapping_add(8)),
            Some(false),
            "not a slot's start"
        );
        map.publish([(pa.addr(), 8 * 16), (pb.addr(), 16)].into_iter());
        assert_eq!(map.owns(pa.wrapping_add(7 * 16)), Some(true));
        assert_eq!(map.owns(pb), Some(true));
        map.publish([(pb.addr(), 16)].into_iter());
        assert_eq!(map.owns(pa), Some(false), "trimmed");
        assert_eq!(map.owns(pb), Some(true));
    }

    /// A coloured page's gap is not a slot, and the next page's first slot starts a stride
    /// from the page's first (the map reads addresses only, so none of these is dereferenced).
    #[test]
    fn the_gap_of_a_coloured_page_is_not_a_slot() {
        for size in [16, 48, 64, 1000] {
            let slot = SlotLayout::for_layout(Layout::from_size_align(size, 8).unwrap());
            assert!(slot.coloured());
            let map = SpanMap::new(slot);
            let base = 1 << 30;
            let at = |offset: usize| core::ptr::without_provenance::<u8>(base + offset);
            map.publish([(base, slot.bytes(3 * slot.page_slots()).unwrap())].into_iter());
            let (stride, end) = (slot.page_stride(), slot.page_slots() * slot.size);
            assert_eq!(
                map.owns(at(end - slot.size)),
                Some(true),
                "{size}: a page's last slot"
            );
            assert_eq!(map.owns(at(end)), Some(false), "{size}: the gap");
            assert_eq!(
                map.owns(at(stride)),
                Some(true),
                "{size}: the next page's first"
            );
            assert_eq!(map.owns(at(stride + slot.size)), Some(true), "{size}");
            assert_eq!(
                map.owns(at(stride + 8)),
                Some(false),
                "{size}: inside a slot"
            );
            // Every 8 bytes around each page's end.
            let edges = (1..3).flat_map(|k| {
                k * stride - 2 * stride.min(4 * slot.size)..k * stride + 3 * slot.size
            });
            for offset in edges.step_by(8) {
                let answer = map.owns(at(offset)) == Some(true);
                assert_eq!(
                    answer,
                    slot.index_at(offset).is_some(),
                    "{size} at {offset}"
                );
            }
        }
    }

    #[test]
    fn more_segments_than_entries_defer_to_the_lock() {
        let map = SpanMap::new(SlotLayout::for_layout(Layout::new::<u128>()));
        let blocks = vec![[0u128; 2]; SPANS + 1];
        let ranges = blocks.iter().map(|b| (b.as_ptr().addr(), 32));
        map.publish(ranges);
        assert_eq!(map.owns(blocks[0].as_ptr().cast()), Some(true));
        let stack = 0u128;
        assert_eq!(map.owns((&stack as *const u128).cast()), None);
    }
}

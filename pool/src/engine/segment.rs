//! Segments: the large blocks slots are carved from.
//!
//! A pool's memory is a list of segments, each an array of equal slots with no per-object
//! header. Slots are handed out ("carved") in order, a magazine at a time, only when no free
//! slot is left in the caches or the depot; untouched pages of a segment are never written,
//! so they cost address space but no resident memory. Each new segment is as large as all
//! previous ones together (geometric growth), never past the pool's bound.
//!
//! All of this sits behind the pool's grow lock: carving is the slow path's slow path, and
//! [`Segments::trim`] needs the whole picture at once.
//!
//! Invariant, per segment: `carved <= capacity`; slots `0..carved` are live or free somewhere
//! (a cache, the depot, a caller's hand); slots `carved..capacity` were never handed out.

use crate::engine::guard::Secret;
use crate::engine::magazine::{FreeSlot, Magazine};
use crate::engine::poison;
use crate::os::{sys_vec, Backing, Granted, Region, SysVec, HUGE_PAGE};
use core::alloc::Layout;
use core::ptr::NonNull;

/// Segments start on a pair of cache lines (the unit x86's adjacent-line prefetcher pulls
/// in), so a slot whose size is a multiple of 64 never straddles two lines, and magazines
/// carved for different threads share as few lines as possible.
const SEGMENT_ALIGN: usize = 128;

/// Size and alignment of one slot: the object's, widened to hold a free-list link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotLayout {
    pub(crate) size: usize,
    pub(crate) align: usize,
    /// The slot ends with a word for its object's allocation site (feature `track-sites`,
    /// typed pools): see `typed/sites.rs`.
    pub(crate) site: bool,
}

impl SlotLayout {
    /// The slot for objects of `layout`.
    pub(crate) const fn for_layout(layout: Layout) -> Self {
        let link = core::mem::size_of::<FreeSlot>();
        let link_align = core::mem::align_of::<FreeSlot>();
        let align = if layout.align() > link_align {
            layout.align()
        } else {
            link_align
        };
        let size = if layout.size() > link {
            layout.size()
        } else {
            link
        };
        // Round up to the alignment, so consecutive slots stay aligned.
        Self {
            size: (size + align - 1) & !(align - 1),
            align,
            site: false,
        }
    }

    /// The slot for a typed pool's objects: as [`for_layout`](Self::for_layout), and under
    /// feature `track-sites` one word more at the end, for the allocation site.
    pub(crate) const fn for_objects(layout: Layout) -> Self {
        let slot = Self::for_layout(layout);
        if !cfg!(feature = "track-sites") {
            return slot;
        }
        let word = core::mem::size_of::<usize>();
        let size = slot.size + word; // `slot.size` is a multiple of `align >= word`
        Self {
            size: (size + slot.align - 1) & !(slot.align - 1),
            align: slot.align,
            site: true,
        }
    }

    /// Where a slot's site word is, from its start (slots with `site` only).
    pub(crate) const fn site_offset(&self) -> usize {
        self.size - core::mem::size_of::<usize>()
    }

    fn segment(&self, slots: usize) -> Option<Layout> {
        let bytes = self.size.checked_mul(slots)?;
        Layout::from_size_align(bytes, self.align.max(SEGMENT_ALIGN)).ok()
    }
}

/// One block of `capacity` slots.
#[derive(Debug)]
struct Segment {
    /// The block; given back when the segment is dropped.
    region: Region,
    capacity: usize,
    carved: usize,
}

impl Segment {
    fn base(&self) -> NonNull<u8> {
        self.region.ptr()
    }
}

/// Why no slot could be carved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The pool is bounded and every slot it may have is carved.
    Exhausted,
    /// The system allocator refused a segment of this many bytes.
    OutOfMemory { bytes: usize },
}

/// The segments of one pool.
#[derive(Debug)]
pub(crate) struct Segments {
    list: SysVec<Segment>,
    /// Index of the first segment that may still have uncarved slots.
    cursor: usize,
    /// Sum of `capacity` over `list`.
    reserved: usize,
    /// Slots ever carved and not given back by `trim`: the upper bound of `live`.
    carved: usize,
    /// Where new segments come from.
    backing: Backing,
}

// SAFETY: a `Segments` owns its blocks outright; the raw pointers are not shared with
// anything that relies on the owning thread.
unsafe impl Send for Segments {}

impl Segments {
    pub(crate) const fn new(backing: Backing) -> Self {
        Self {
            list: sys_vec(),
            cursor: 0,
            reserved: 0,
            carved: 0,
            backing,
        }
    }

    /// What the kernel gave the segments held (see [`Granted`]); `None` before the first.
    pub(crate) fn granted(&self) -> Option<Granted> {
        Granted::together(self.list.iter().map(|seg| seg.region.granted()))
    }

    pub(crate) fn reserved_slots(&self) -> usize {
        self.reserved
    }

    /// Slots carved so far (and not trimmed); the loom models check it.
    #[cfg(typool_loom)]
    pub(crate) fn carved(&self) -> usize {
        self.carved
    }

    pub(crate) fn count(&self) -> usize {
        self.list.len()
    }

    /// Bytes of the largest never-carved run at the end of a segment.
    pub(crate) fn largest_uncarved(&self, slot: SlotLayout) -> usize {
        let tail = |s: &Segment| (s.capacity - s.carved) * slot.size;
        self.list.iter().map(tail).max().unwrap_or(0)
    }

    /// Carves up to `want` fresh slots into a magazine, growing when no segment has any left.
    pub(crate) fn carve(
        &mut self,
        slot: SlotLayout,
        want: u32,
        first: usize,
        limit: usize,
        secret: Secret,
    ) -> Result<Magazine, Refused> {
        while self.cursor < self.list.len()
            && self.list[self.cursor].carved == self.list[self.cursor].capacity
        {
            self.cursor += 1;
        }
        if self.cursor == self.list.len() {
            let next = first.max(self.reserved).max(want as usize);
            self.grow(slot, next, limit)?;
        }
        let seg = &mut self.list[self.cursor];
        let n = (seg.capacity - seg.carved).min(want as usize);
        let mut mag = Magazine::EMPTY;
        // Push in reverse so the magazine hands slots out in address order.
        for i in (seg.carved..seg.carved + n).rev() {
            // SAFETY: `i < capacity`, so the slot lies inside the segment's block.
            let at = unsafe { seg.base().as_ptr().add(i * slot.size) };
            if slot.site {
                // No site yet: the word is read by the leak walks from now on.
                // SAFETY: the site word lies inside the slot, aligned (`for_objects`).
                unsafe { at.add(slot.site_offset()).cast::<usize>().write(0) };
            }
            // SAFETY: slots are sized and aligned for a `FreeSlot` (`SlotLayout::for_layout`);
            // uncarved slots are in no chain and owned by the grow lock's holder, which we
            // are; `secret` is this pool's.
            unsafe { mag.push(at.cast(), secret) };
            poison::free_slot(mag.head, slot.size);
        }
        seg.carved += n;
        self.carved += n;
        Ok(mag)
    }

    /// Adds a segment of `slots` slots, fewer if that would pass `limit` reserved slots.
    /// Huge-page segments are rounded up to whole 2 MiB pages (as far as `limit` allows), so
    /// that the pages they are given can be huge.
    pub(crate) fn grow(
        &mut self,
        slot: SlotLayout,
        slots: usize,
        limit: usize,
    ) -> Result<(), Refused> {
        let slots = match self.backing {
            Backing::HugePages => slot
                .size
                .checked_mul(slots)
                .and_then(|bytes| bytes.checked_next_multiple_of(HUGE_PAGE))
                .map_or(slots, |bytes| bytes / slot.size),
            _ => slots,
        };
        let slots = slots.min(limit.saturating_sub(self.reserved));
        if slots == 0 {
            return Err(Refused::Exhausted);
        }
        let layout = slot
            .segment(slots)
            .ok_or(Refused::OutOfMemory { bytes: usize::MAX })?;
        // `layout` has a non-zero size: slots > 0 and slot.size >= 8.
        let region = Region::new(layout, self.backing).map_err(|_| Refused::OutOfMemory {
            bytes: layout.size(),
        })?;
        self.list.push(Segment {
            region,
            capacity: slots,
            carved: 0,
        });
        self.reserved += slots;
        Ok(())
    }

    /// `(base address, carved bytes)` of every segment: for the lock-free map of checked
    /// builds, and the leak walks of `track-sites`.
    pub(crate) fn carved_ranges(
        &self,
        slot: SlotLayout,
    ) -> impl Iterator<Item = (usize, usize)> + Clone + '_ {
        self.list
            .iter()
            .map(move |seg| (seg.base().as_ptr().addr(), seg.carved * slot.size))
    }

    /// Whether `ptr` is the start of a carved slot of one of the segments.
    pub(crate) fn owns(&self, slot: SlotLayout, ptr: *const u8) -> bool {
        self.list.iter().any(|seg| {
            let offset = ptr.addr().wrapping_sub(seg.base().as_ptr().addr());
            offset < seg.carved * slot.size && offset % slot.size == 0
        })
    }

    /// Gives back every segment all of whose carved slots are in `free`, and removes their
    /// slots from `free`. Returns the bytes given back.
    ///
    /// `free` must hold distinct free slots carved from these segments.
    pub(crate) fn trim(&mut self, slot: SlotLayout, free: &mut SysVec<*mut FreeSlot>) -> usize {
        let mut counts = sys_vec();
        counts.resize(self.list.len(), 0usize);
        let mut order = sys_vec();
        order.extend(0..self.list.len());
        order.sort_by_key(|&i| self.list[i].base().as_ptr().addr());
        let find = |p: *mut FreeSlot| -> Option<usize> {
            let at = order.partition_point(|&i| self.list[i].base().as_ptr().addr() <= p.addr());
            let i = order[at.checked_sub(1)?];
            let end = self.list[i].base().as_ptr().addr() + self.list[i].capacity * slot.size;
            (p.addr() < end).then_some(i)
        };
        for &p in free.iter() {
            if let Some(i) = find(p) {
                counts[i] += 1;
            }
        }
        let mut doomed = sys_vec();
        doomed.extend(self.list.iter().zip(&counts).map(|(s, &c)| c == s.carved));
        if !doomed.contains(&true) {
            return 0;
        }
        free.retain(|&p| find(p).is_none_or(|i| !doomed[i]));
        let mut bytes = 0;
        let mut index = 0;
        self.list.retain(|seg| {
            let keep = !doomed[index];
            index += 1;
            if !keep {
                // Every carved slot is free and in our hands, so nobody refers to the
                // segment any more: `retain` drops it, which gives its region back.
                let size = seg.capacity * slot.size;
                poison::release(seg.base().as_ptr(), size);
                bytes += size;
            }
            keep
        });
        self.reserved = self.list.iter().map(|s| s.capacity).sum();
        self.carved = self.list.iter().map(|s| s.carved).sum();
        self.cursor = 0;
        bytes
    }

    /// Gives every segment back. The caller guarantees no slot is in use.
    pub(crate) fn release_all(&mut self, slot: SlotLayout) {
        for seg in self.list.drain(..) {
            poison::release(seg.base().as_ptr(), seg.capacity * slot.size);
            // Dropping the segment gives its region back; no slot is in use.
        }
        self.reserved = 0;
        self.carved = 0;
        self.cursor = 0;
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    /// The smallest slot: one link, plus the free tag in checked builds (`guard.rs`).
    const LINK: usize = core::mem::size_of::<FreeSlot>();

    #[test]
    fn slot_layout_widens_and_aligns() {
        assert_eq!(
            SlotLayout::for_layout(Layout::new::<u8>()),
            SlotLayout {
                size: LINK,
                align: 8,
                site: false
            }
        );
        assert_eq!(
            SlotLayout::for_layout(Layout::new::<[u8; 13]>()),
            SlotLayout {
                size: 16,
                align: 8,
                site: false
            }
        );
        assert_eq!(
            SlotLayout::for_layout(Layout::from_size_align(64, 64).unwrap()),
            SlotLayout {
                size: 64,
                align: 64,
                site: false
            }
        );
    }

    #[test]
    fn carve_grows_geometrically_and_respects_the_limit() {
        let slot = SlotLayout::for_layout(Layout::new::<u64>());
        let mut segs = Segments::new(Backing::Heap);
        let mut taken = sys_vec();
        for _ in 0..5 {
            let mag = segs.carve(slot, 4, 4, 20, Secret::UNSET).unwrap();
            // SAFETY: the magazine was just carved for us.
            unsafe { mag.for_each(Secret::UNSET, |p| taken.push(p)) };
        }
        // 4 + 4 + 8 reserved, then the limit caps the fourth segment at 4 more.
        assert_eq!(segs.reserved_slots(), 20);
        assert_eq!(taken.len(), 20);
        assert_eq!(
            segs.carve(slot, 4, 4, 20, Secret::UNSET).unwrap_err(),
            Refused::Exhausted
        );
        let mut uniq = taken.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 20, "carved slots must be distinct");
        assert!(taken.iter().all(|&p| segs.owns(slot, p.cast())));
        assert!(!segs.owns(slot, taken[0].cast::<u8>().wrapping_add(1)));
        // Give everything back but one slot of the first segment.
        let keep = taken[0];
        taken.retain(|&p| p != keep);
        let freed = segs.trim(slot, &mut taken);
        assert_eq!(
            freed,
            16 * slot.size,
            "all segments but the first are entirely free"
        );
        assert_eq!(taken.len(), 3, "the first segment's other slots stay");
        assert_eq!(segs.count(), 1);
        segs.release_all(slot);
    }
}

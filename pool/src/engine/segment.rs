//! Segments and their pages: the layer below the depot, which knows where its slots are.
//!
//! A pool's memory is a list of segments, each an array of equal slots with no per-object
//! header, kept in address order. Each new segment is as large as all previous ones together
//! (geometric growth), never past the pool's bound; when the system refuses one, a smaller
//! one is asked for, down to what the request needs.
//!
//! # Pages
//!
//! Every segment is cut into *pages* of [`SlotLayout::page_slots`] slots (64 KiB of them, or
//! one slot when a slot is larger). A page's bookkeeping lives here, on the `System` heap,
//! never inside the page, so a page whose memory went back to the OS needs nothing from it:
//!
//! - `free`, `free_len`: a chain of the page's slots that came back to it;
//! - `fresh`: slots `0..fresh` of the page were handed out since the page was last given back;
//!   slots `fresh..` are untouched (never written since). A page with `fresh > 0` is
//!   *committed*: its memory may be resident; one with `fresh == 0` holds no memory of its
//!   own (never touched, or given back to the OS with `madvise`).
//!
//! The page's invariant is `out = fresh − free_len`: the slots of the page that are live, or
//! free above this layer (in a cache, a stash, the depot or a caller's hand). A page with
//! `out == 0` is *empty*: all its slots are here, and no one else can reach its memory.
//!
//! Magazines come out of the pages ([`Segments::take`]) first fit by address — the lowest page
//! with a free slot, its chain first, then its untouched slots — so live objects gather at
//! low addresses and high pages drain. A new segment is made only when no page has a free
//! slot. Magazines come back ([`Segments::give_back`]) slot by slot into their pages. An empty
//! page can be given back to the OS ([`Segments::release`]), which resets it to untouched
//! (`fresh = 0`, an empty chain): the zeroed memory is never read as links. A segment whose
//! pages are all empty goes back whole.
//!
//! # Colour
//!
//! Pages of slots of at most [`COLOURED`] bytes are *coloured*: each starts on a multiple of
//! [`PAGE_BYTES`] from its segment's start and holds only the slots that leave at least
//! [`COLOUR`] bytes free at its end. With `per` = [`SlotLayout::page_slots`] and `stride` =
//! [`SlotLayout::page_stride`], slot `i` of page `p` is at
//!
//! ```text
//! offset(p, i) = p · stride + i · size,   0 ≤ i < per,   per · size ≤ stride − COLOUR
//! ```
//!
//! and the bytes from `p · stride + per · size` to the next page are a gap that no one reads
//! or writes (it goes back to the OS with its page). Without it, slots of a power-of-two size
//! lie on one lattice across the whole segment, and a structure built in allocation order
//! (a tree, a list) puts the nodes a walk keeps coming back to — a path's ancestors, a
//! subtree's neighbours — at power-of-two distances, in the same few sets of every cache.
//! The gap shifts each page by a few bytes against the lattice, as slab colouring does
//! (Bonwick 1994) and as mimalloc's page offsets do: on the Xeon VM, binary-trees' walk of a
//! depth-18 tree (8 MiB) took 3.4 ns per node on packed pages and 2.9 with the gap, as on
//! mimalloc (`BENCHMARKS.md`, "Colour"). The cost is the gap: at most `COLOUR + size` bytes of
//! every 64 KiB (16 B, 0.02%, for 16-byte slots; 1/64 for 1 KiB ones). Larger slots, `mesh`
//! pools (whose pages hold slots at the same offsets, 4 KiB apart) and huge-page pools
//! (whose segments are whole 2 MiB pages of slots) are not coloured: their pages abut
//! (`stride = per · size`).
//!
//! # Homes
//!
//! Each thread cache takes slots from the pages through its *home*: a page it claims
//! (`Page::owner`) and takes from — returned slots, then untouched ones — while the page has
//! any; then it claims the lowest page with a free slot that no other cache claims. A page
//! claimed by another cache is skipped, unless no segment can be made (a bounded pool, or no
//! memory): then any page serves. So two threads never draw from one page at once, and their
//! objects do not sit in runs of a few KiB side by side — which on the Xeon VM made two
//! threads that each cycle their own slots run at half speed (`BENCHMARKS.md`, "Homes"): one
//! core's prefetchers keep pulling lines the other core writes. mimalloc gets the same from
//! thread-owned pages. A thread that exits hands its free slots back to their pages (not to
//! the depot, whose magazines any thread may take) and gives its claim up. A claim is a
//! hint, not ownership: it also ends when the page goes back to the OS or its owner claims
//! another; a stale [`Home`] (its page released, or claimed since by another) is simply not
//! a home any more. Memory a claim keeps from others is at most one page per thread.
//!
//! All of this sits behind the pool's grow lock: it is the slow path's slow path, and each
//! call does bounded work (one magazine, or a budget of pages), so no one holds the lock for
//! long.

use crate::engine::guard::Secret;
use crate::engine::magazine::{FreeSlot, Magazine, Top};
use crate::engine::mesh::{self, Occupancy, Tally};
use crate::engine::poison;
use crate::os::mesh::MESH_PAGE;
use crate::os::{sys_vec, Backing, Granted, Region, SysVec, HUGE_PAGE};
use core::alloc::Layout;
use core::cell::Cell;
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
    /// Where the site word is, from the slot's start (slots with `site` only).
    pub(crate) site_at: usize,
    /// Pages are single 4 KiB pages that can be meshed (`engine/mesh.rs`): the slot's size is
    /// a power of two, so every page holds whole slots.
    pub(crate) mesh: bool,
    /// Pages of small slots end with a gap (see "Colour"); not in huge-page pools, whose
    /// segments are whole 2 MiB pages of slots.
    colour: bool,
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
            site_at: 0,
            mesh: false,
            colour: true,
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
            site_at: slot.size,
            mesh: false,
            colour: true,
        }
    }

    /// This layout for a `mesh` pool: the size rounded up to a power of two, so that every
    /// 4 KiB page holds whole slots and pages can be meshed. A slot larger than a page (or
    /// aligned to more) cannot be meshed and stays as it is.
    pub(crate) const fn meshed(self) -> Self {
        if self.size > MESH_PAGE || self.align > MESH_PAGE {
            return self;
        }
        Self {
            size: self.size.next_power_of_two(),
            mesh: true,
            ..self
        }
    }

    /// This layout with pages that abut, whatever the slot's size: for huge-page pools.
    pub(crate) const fn uncoloured(self) -> Self {
        Self {
            colour: false,
            ..self
        }
    }

    /// Where a slot's site word is, from its start (slots with `site` only).
    pub(crate) const fn site_offset(&self) -> usize {
        self.site_at
    }

    fn segment(&self, slots: usize) -> Option<Layout> {
        let bytes = self.bytes(slots)?;
        Layout::from_size_align(bytes, self.align.max(SEGMENT_ALIGN)).ok()
    }

    /// Whether pages end with a gap (see "Colour"): slots of at most [`COLOURED`] bytes,
    /// outside `mesh` pools (whose pages must hold slots at the same offsets) and huge-page
    /// ones.
    pub(crate) const fn coloured(&self) -> bool {
        self.colour && !self.mesh && self.size <= COLOURED
    }

    /// Slots per page: as many as fit in [`PAGE_BYTES`] and leave a gap of at least
    /// [`COLOUR`] bytes when coloured, all of [`PAGE_BYTES`] otherwise, at least one; a
    /// 4 KiB page of them in a `mesh` pool.
    pub(crate) const fn page_slots(&self) -> usize {
        if self.mesh {
            MESH_PAGE / self.size
        } else if self.size >= PAGE_BYTES {
            1
        } else if self.coloured() {
            (PAGE_BYTES - COLOUR) / self.size
        } else {
            PAGE_BYTES / self.size
        }
    }

    /// Bytes from one page's first slot to the next one's: [`PAGE_BYTES`] for coloured
    /// pages, the page's slots otherwise (pages abut).
    pub(crate) const fn page_stride(&self) -> usize {
        if self.coloured() {
            PAGE_BYTES
        } else {
            self.page_slots() * self.size
        }
    }

    /// Bytes from a segment's start to the end of its first `slots` slots and of the gap
    /// after the last full page; `None` on overflow.
    pub(crate) const fn bytes(&self, slots: usize) -> Option<usize> {
        let per = self.page_slots();
        match (slots / per).checked_mul(self.page_stride()) {
            Some(pages) => pages.checked_add(slots % per * self.size),
            None => None,
        }
    }

    /// Offset of slot `i` of page `p` from its segment's start: the equation of "Colour".
    const fn offset(&self, p: usize, i: usize) -> usize {
        p * self.page_stride() + i * self.size
    }

    /// Offset of slot `index` (counted across pages) from its segment's start.
    #[cfg(feature = "track-sites")]
    pub(crate) const fn offset_of(&self, index: usize) -> usize {
        let per = self.page_slots();
        self.offset(index / per, index % per)
    }

    /// How many slots a segment of `bytes` bytes holds.
    pub(crate) const fn slots_in(&self, bytes: usize) -> usize {
        let (per, stride) = (self.page_slots(), self.page_stride());
        let rest = bytes % stride / self.size;
        bytes / stride * per + if rest < per { rest } else { per }
    }

    /// The index of the slot that starts `offset` bytes into a segment, if one does (in
    /// whatever segment is long enough: the caller checks the bound).
    pub(crate) const fn index_at(&self, offset: usize) -> Option<usize> {
        let (per, stride) = (self.page_slots(), self.page_stride());
        let within = offset % stride;
        if within.is_multiple_of(self.size) && within / self.size < per {
            Some(offset / stride * per + within / self.size)
        } else {
            None
        }
    }
}

/// Bytes of slots per page (at least one slot): the unit memory goes back to the OS in.
pub(crate) const PAGE_BYTES: usize = 64 * 1024;

/// The largest slot whose pages are coloured: a page of them gives less than `COLOUR` bytes
/// and one slot to the gap, about 1/64 of the page at most.
pub(crate) const COLOURED: usize = 1024;

/// The least gap at the end of a coloured page.
const COLOUR: usize = 16;

/// The bookkeeping of one page (see the module docs).
///
/// Invariant: `free_len + lent <= fresh <= n` (the page's slot count); the chain from `free`
/// holds exactly `free_len` distinct slots of the page with index below `fresh`, and ends at
/// null; `lent` is 0 unless the page is meshed (`engine/mesh.rs`).
#[derive(Clone, Copy, Debug)]
struct Page {
    free: *mut FreeSlot,
    free_len: u32,
    fresh: u32,
    /// Slots of the page that belong to the other side of a mesh: of a target page, the
    /// offsets its sources' slots hold; of a source page, every offset it does not hold. They
    /// are neither free here nor out (`engine/mesh.rs`).
    lent: u16,
    /// Empty since the last decay step looked (`engine/decay.rs`): the next one releases it.
    idle: bool,
    /// The [`Home`] that carves this page's untouched slots (its address), or 0.
    owner: usize,
}

impl Page {
    const UNTOUCHED: Self = Self {
        free: core::ptr::null_mut(),
        free_len: 0,
        fresh: 0,
        lent: 0,
        idle: false,
        owner: 0,
    };

    fn out(&self) -> u32 {
        self.fresh - self.free_len - u32::from(self.lent)
    }

    /// All the page's slots are here and none is lent: no one can reach its memory.
    fn empty(&self) -> bool {
        self.out() == 0 && self.lent == 0
    }
}

/// One block of `capacity` slots and its pages.
#[derive(Debug)]
struct Segment {
    /// The block; given back when the segment is dropped.
    region: Region,
    capacity: usize,
    /// One past the highest slot ever handed out: ownership checks accept slots below it.
    carved: usize,
    pages: SysVec<Page>,
    /// No page below this one has a free slot.
    low: usize,
    /// Per page of a segment in a memory file (empty otherwise): the address of the page it
    /// is meshed onto, or 0 (`engine/mesh.rs`).
    targets: SysVec<usize>,
}

impl Segment {
    fn base(&self) -> NonNull<u8> {
        self.region.ptr()
    }

    /// Slots in page `p`.
    fn page_len(&self, slot: SlotLayout, p: usize) -> usize {
        let per = slot.page_slots();
        per.min(self.capacity - p * per)
    }

    /// The address of slot `i` of page `p`.
    fn slot_at(&self, slot: SlotLayout, p: usize, i: usize) -> *mut FreeSlot {
        debug_assert!(p * slot.page_slots() + i < self.capacity);
        self.base()
            .as_ptr()
            .wrapping_add(slot.offset(p, i))
            .cast::<FreeSlot>()
    }

    /// The segment's bytes: its slots and the gaps between its pages.
    fn bytes(&self, slot: SlotLayout) -> usize {
        slot.bytes(self.capacity)
            .expect("a segment's bytes were counted when it was made")
    }

    fn has_free(&self, slot: SlotLayout, p: usize) -> bool {
        let page = &self.pages[p];
        page.free_len > 0 || (page.fresh as usize) < self.page_len(slot, p)
    }

    fn is_empty(&self) -> bool {
        self.pages.iter().all(Page::empty)
    }

    /// The page that page `p` is meshed onto (its first byte), or 0.
    fn target(&self, p: usize) -> usize {
        self.targets.get(p).copied().unwrap_or(0)
    }

    /// Offset of page `p`'s first byte in the segment.
    fn page_offset(&self, slot: SlotLayout, p: usize) -> usize {
        slot.offset(p, 0)
    }

    /// Bytes of page `p` with the gap after it: what goes back to the OS when it is empty.
    fn page_span(&self, slot: SlotLayout, p: usize) -> usize {
        let end = (self.page_offset(slot, p) + slot.page_stride()).min(self.bytes(slot));
        end - self.page_offset(slot, p)
    }
}

/// A thread cache's home page (see "Homes"): where it carves untouched slots. It lives in
/// the cache, which does not move while registered, so its address names it.
#[derive(Debug, Default)]
pub(crate) struct Home {
    /// Address of the home page's first slot; 0 before the first claim.
    page: Cell<usize>,
}

impl Home {
    pub(crate) const fn new() -> Self {
        Self { page: Cell::new(0) }
    }

    fn id(&self) -> usize {
        core::ptr::from_ref(self).addr()
    }
}

/// Why no slot could be carved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The pool is bounded and every slot it may have is out.
    Exhausted,
    /// The system refused a segment of this many bytes (after asking for less); `usize::MAX`
    /// when no segment that large can exist, so the system was not asked.
    OutOfMemory { bytes: usize },
}

/// The segments of one pool, in address order.
#[derive(Debug)]
pub(crate) struct Segments {
    list: SysVec<Segment>,
    /// No segment below this one has a free slot.
    low: usize,
    /// Sum of `capacity` over `list`.
    reserved: usize,
    /// Bytes of the committed pages (`fresh > 0`) of all segments, each with the gap after
    /// it.
    committed: usize,
    /// Where new segments come from.
    backing: Backing,
    /// The order of fresh slots in `mesh` pools.
    shuffle: mesh::Shuffle,
}

// SAFETY: a `Segments` owns its blocks outright, and the free chains in them; the raw
// pointers are not shared with anything that relies on the owning thread.
unsafe impl Send for Segments {}

impl Segments {
    pub(crate) const fn new(backing: Backing) -> Self {
        Self {
            list: sys_vec(),
            low: 0,
            reserved: 0,
            committed: 0,
            backing,
            shuffle: mesh::Shuffle::new(),
        }
    }

    /// What the kernel gave the segments held (see [`Granted`]); `None` before the first.
    pub(crate) fn granted(&self) -> Option<Granted> {
        Granted::together(self.list.iter().map(|seg| seg.region.granted()))
    }

    pub(crate) fn reserved_slots(&self) -> usize {
        self.reserved
    }

    /// Bytes of all segments, the gaps between their pages included.
    pub(crate) fn reserved_bytes(&self, slot: SlotLayout) -> usize {
        self.list.iter().map(|seg| seg.bytes(slot)).sum()
    }

    /// Bytes of the pages that may be resident: touched since they were last given back.
    pub(crate) fn committed_bytes(&self) -> usize {
        self.committed
    }

    /// Slots handed out at least once (the high-water mark of every segment); the loom
    /// models check it.
    #[cfg(typool_loom)]
    pub(crate) fn carved(&self) -> usize {
        self.list.iter().map(|s| s.carved).sum()
    }

    pub(crate) fn count(&self) -> usize {
        self.list.len()
    }

    /// Bytes of the largest run of untouched slots inside one page or of whole untouched
    /// pages side by side: the largest block the pool could hand out without reusing a slot.
    pub(crate) fn largest_uncarved(&self, slot: SlotLayout) -> usize {
        let mut best = 0;
        for seg in self.list.iter() {
            let mut run = 0;
            for (p, page) in seg.pages.iter().enumerate() {
                let untouched = seg.page_len(slot, p) - page.fresh as usize;
                run = if page.fresh == 0 {
                    run + untouched
                } else {
                    untouched
                };
                best = best.max(run);
            }
        }
        best * slot.size
    }

    /// A magazine of up to `want` free slots for the cache whose home is `home`, first fit by
    /// address: a page's returned slots, then the untouched ones of the home page (claiming
    /// one when the home has none). Makes a segment only when no page has a free slot the
    /// cache may take: as large as all the others, or as `first` for the first; when the
    /// system refuses, smaller, down to `first` slots; and when none can be made (a bounded
    /// pool, or no memory), carves other homes' untouched slots before refusing.
    pub(crate) fn take(
        &mut self,
        slot: SlotLayout,
        want: u32,
        first: usize,
        limit: usize,
        secret: Secret,
        home: &Home,
    ) -> Result<Magazine, Refused> {
        let mut mag = Magazine::EMPTY;
        while mag.len < want {
            let (s, p, anyone) = match self.next_free(slot, home) {
                Some((s, p)) => (s, p, false),
                None if mag.len > 0 => break,
                None => {
                    let next = first.max(self.reserved).max(want as usize);
                    match self.grow(slot, next, first, limit) {
                        Ok(()) => continue,
                        Err(refused) => match self.any_free(slot) {
                            Some((s, p)) => (s, p, true),
                            None => return Err(refused),
                        },
                    }
                }
            };
            self.take_from(slot, s, p, want, &mut mag, secret, home, anyone);
        }
        Ok(mag)
    }

    /// The page `home`'s cache takes from next, as (segment, page): its home while that has a
    /// free slot, else the lowest page with one that no other cache claims. Moves the hints up
    /// to the lowest page with any free slot.
    fn next_free(&mut self, slot: SlotLayout, home: &Home) -> Option<(usize, usize)> {
        while self.low < self.list.len() {
            let seg = &mut self.list[self.low];
            while seg.low < seg.pages.len() && !seg.has_free(slot, seg.low) {
                seg.low += 1;
            }
            if seg.low < seg.pages.len() {
                break;
            }
            self.low += 1;
        }
        if let Some((s, p)) = self.home_page(slot, home) {
            if self.list[s].has_free(slot, p) {
                return Some((s, p));
            }
        }
        (self.low..self.list.len()).find_map(|s| {
            let seg = &self.list[s];
            (seg.low..seg.pages.len())
                .find(|&p| seg.pages[p].owner == 0 && seg.has_free(slot, p))
                .map(|p| (s, p))
        })
    }

    /// The lowest page with any free slot, claimed or not (the hints are already there).
    fn any_free(&self, slot: SlotLayout) -> Option<(usize, usize)> {
        (self.low..self.list.len()).find_map(|s| {
            let seg = &self.list[s];
            (seg.low..seg.pages.len())
                .find(|&p| seg.has_free(slot, p))
                .map(|p| (s, p))
        })
    }

    /// `home`'s page as (segment, page), while `home` still owns it.
    fn home_page(&self, slot: SlotLayout, home: &Home) -> Option<(usize, usize)> {
        let (s, p) = self.find(slot, home.page.get())?;
        (self.list[s].pages[p].owner == home.id()).then_some((s, p))
    }

    /// Ends `home`'s claim on its page, if it still has one (its cache retires).
    pub(crate) fn leave(&mut self, slot: SlotLayout, home: &Home) {
        if let Some((s, p)) = self.home_page(slot, home) {
            self.list[s].pages[p].owner = 0;
        }
        home.page.set(0);
    }

    /// Moves free slots of page `p` of segment `s` into `mag` until it holds `want` — its
    /// returned slots, then its untouched ones — when the page is `home`'s, or no one's (then
    /// `home` claims it), or when `anyone` may take it.
    #[allow(clippy::too_many_arguments)]
    fn take_from(
        &mut self,
        slot: SlotLayout,
        s: usize,
        p: usize,
        want: u32,
        mag: &mut Magazine,
        secret: Secret,
        home: &Home,
        anyone: bool,
    ) {
        let mut shuffle = self.shuffle;
        let owner = self.list[s].pages[p].owner;
        if owner == 0 {
            self.leave(slot, home);
            self.list[s].pages[p].owner = home.id();
            home.page.set(self.list[s].slot_at(slot, p, 0).addr());
        } else if owner != home.id() && !anyone {
            return;
        }
        let seg = &mut self.list[s];
        let n = seg.page_len(slot, p);
        let mut page = seg.pages[p];
        page.idle = false;
        while mag.len < want && page.free_len > 0 {
            let at = page.free;
            // SAFETY: `at` heads the page's chain, which this layer owns (the invariant).
            page.free = unsafe { secret.next(at) }.head();
            page.free_len -= 1;
            // SAFETY: the slot is free, ours, sized and aligned for a `FreeSlot`, and now in
            // no chain; `secret` is the pool's.
            unsafe { mag.push(at, secret) };
            poison::free_slot(at, slot.size);
        }
        if page.fresh == 0 && mag.len < want {
            // The page is about to be touched: it counts as committed from now on.
            self.committed += seg.page_span(slot, p);
        }
        let k = (want - mag.len).min(n as u32 - page.fresh);
        let mut push = |i: u32| {
            let at = seg.slot_at(slot, p, i as usize);
            if slot.site {
                // No site yet: the word is read by the leak walks from now on.
                // SAFETY: the site word lies inside the slot, aligned (`for_objects`).
                unsafe {
                    at.cast::<u8>()
                        .add(slot.site_offset())
                        .cast::<usize>()
                        .write(0)
                };
            }
            // SAFETY: untouched slots are in no chain and owned by the grow lock's holder,
            // which we are; they are sized and aligned for a `FreeSlot`.
            unsafe { mag.push(at, secret) };
            poison::free_slot(at, slot.size);
        };
        if slot.mesh {
            // In random order in a `mesh` pool, so that survivors of two pages rarely share
            // offsets (`engine/mesh.rs`).
            let mut order = [0u16; mesh::MAX_SLOTS];
            let order = &mut order[..k as usize];
            for (o, i) in order.iter_mut().zip(page.fresh..) {
                *o = i as u16;
            }
            shuffle.shuffle(order);
            order.iter().for_each(|&i| push(u32::from(i)));
        } else {
            // Pushed in reverse, so the magazine hands untouched slots out in address order.
            (page.fresh..page.fresh + k).rev().for_each(push);
        }
        page.fresh += k;
        let touched = p * slot.page_slots() + page.fresh as usize;
        seg.carved = seg.carved.max(touched);
        seg.pages[p] = page;
        self.shuffle = shuffle;
    }

    /// Puts every slot of `mag` back into its page. `mag` holds free slots of these segments,
    /// owned by the caller, linked with `secret`.
    pub(crate) fn give_back(&mut self, slot: SlotLayout, mag: Magazine, secret: Secret) {
        // SAFETY: the caller hands over the magazine; `for_each` reads each link before the
        // closure relinks the slot.
        unsafe {
            mag.for_each(secret, |at| {
                let (s, p) = self.locate(slot, at);
                let seg = &mut self.list[s];
                let page = &mut seg.pages[p];
                secret.link(at, Top::new(page.free, page.free_len));
                page.free = at;
                page.free_len += 1;
                debug_assert!(
                    page.free_len + u32::from(page.lent) <= page.fresh,
                    "a slot came back twice"
                );
                poison::free_slot(at, slot.size);
                seg.low = seg.low.min(p);
                self.low = self.low.min(s);
                if slot.mesh && page.out() == 0 && seg.target(p) != 0 {
                    self.unmesh(slot, secret, s, p);
                }
            })
        };
    }

    /// Plans the meshing of the next window of pages at or above address `cursor`
    /// (`engine/mesh.rs`): fills `plan` with `(source, target)` page addresses, and moves
    /// `cursor` past the window. Whether pages are left.
    pub(crate) fn plan_mesh(
        &mut self,
        slot: SlotLayout,
        secret: Secret,
        cursor: &mut usize,
        plan: &mut mesh::Plan,
    ) -> bool {
        plan.clear();
        if !slot.mesh {
            return false;
        }
        let mut more = false;
        'scan: for s in 0..self.list.len() {
            let seg = &self.list[s];
            if seg.region.mesh_file().is_none() {
                continue;
            }
            for p in 0..seg.pages.len() {
                let addr = seg.slot_at(slot, p, 0).addr();
                if addr < *cursor || !self.meshable(slot, s, p) {
                    continue;
                }
                if plan.is_full() {
                    *cursor = addr;
                    more = true;
                    break 'scan;
                }
                let candidate = mesh::Candidate {
                    occupied: self.occupied(slot, secret, s, p),
                    plain: seg.pages[p].lent == 0,
                };
                if !plan.consider(addr, candidate) {
                    break 'scan; // no memory for the plan: mesh what it holds
                }
            }
        }
        if !more {
            *cursor = usize::MAX;
        }
        plan.pair();
        more
    }

    /// Whether page `p` of segment `s` may take part in a mesh: touched, not empty, not full,
    /// not meshed onto another.
    fn meshable(&self, slot: SlotLayout, s: usize, p: usize) -> bool {
        let seg = &self.list[s];
        let page = seg.pages[p];
        let full = page.free_len == 0 && page.fresh as usize == seg.page_len(slot, p);
        page.fresh > 0 && page.out() > 0 && !full && seg.target(p) == 0
    }

    /// Meshes the page at `source` onto the page at `target` (first slots' addresses) if they
    /// still can be — pages change between the plan and this call, since the grow lock is let
    /// go between them — adding it to `tally`. `Err` when the system refused (stop meshing).
    pub(crate) fn mesh_planned(
        &mut self,
        slot: SlotLayout,
        secret: Secret,
        (source, target): (usize, usize),
        tally: &mut Tally,
    ) -> Result<(), ()> {
        let (Some((s, p)), Some((ts, tp))) = (self.find(slot, source), self.find(slot, target))
        else {
            return Ok(()); // a segment went back meanwhile
        };
        let both =
            self.list[s].region.mesh_file().is_some() && self.list[ts].region.mesh_file().is_some();
        if !both
            || !self.meshable(slot, s, p)
            || !self.meshable(slot, ts, tp)
            || self.list[s].pages[p].lent != 0
            || (s, p) == (ts, tp)
        {
            return Ok(());
        }
        let occupied = self.occupied(slot, secret, s, p);
        if !occupied.disjoint(&self.occupied(slot, secret, ts, tp)) {
            return Ok(());
        }
        if !self.mesh_pair(slot, secret, (s, p), (ts, tp), &occupied) {
            return Err(());
        }
        tally.pages += 1;
        tally.bytes += MESH_PAGE;
        Ok(())
    }

    /// The occupied slots of page `p` of segment `s`: touched, and not in its chain.
    fn occupied(&self, slot: SlotLayout, secret: Secret, s: usize, p: usize) -> Occupancy {
        let seg = &self.list[s];
        let page = seg.pages[p];
        let mut o = Occupancy::first(page.fresh as usize);
        let base = seg.slot_at(slot, p, 0).addr();
        let mut at = page.free;
        for _ in 0..page.free_len {
            o.set((at.addr() - base) / slot.size, false);
            // SAFETY: `at` is in the page's chain, which this layer owns (the invariant).
            at = unsafe { secret.next(at) }.head();
        }
        o
    }

    /// Meshes page `source` onto page `target`, `occupied` being the source's occupied slots,
    /// disjoint from the target's. Whether it was done; if not, both pages are as they were.
    fn mesh_pair(
        &mut self,
        slot: SlotLayout,
        secret: Secret,
        (s, p): (usize, usize),
        (ts, tp): (usize, usize),
        occupied: &Occupancy,
    ) -> bool {
        let n = self.list[ts].page_len(slot, tp);
        // The target's untouched slots join its chain (the page is committed already), then
        // the source's occupied offsets leave it: the target never hands them out again.
        let mut page = self.list[ts].pages[tp];
        for i in (page.fresh as usize..n).rev() {
            let at = self.list[ts].slot_at(slot, tp, i);
            // SAFETY: an untouched slot of a page the grow lock's holder owns, sized and
            // aligned for a link, in no chain.
            unsafe { secret.link(at, Top::new(page.free, page.free_len)) };
            page.free = at;
            page.free_len += 1;
        }
        page.fresh = n as u32;
        let base = self.list[ts].slot_at(slot, tp, 0).addr();
        let (mut kept, mut kept_len) = (core::ptr::null_mut(), 0);
        let mut at = page.free;
        for _ in 0..page.free_len {
            // SAFETY: `at` is in the target's chain, which we own; read before relinking.
            let next = unsafe { secret.next(at) }.head();
            if !occupied.get((at.addr() - base) / slot.size) {
                // SAFETY: a free slot of the chain we are rebuilding.
                unsafe { secret.link(at, Top::new(kept, kept_len)) };
                kept = at;
                kept_len += 1;
            }
            at = next;
        }
        page.free = kept;
        page.free_len = kept_len;
        self.list[ts].pages[tp] = page;
        let lent = occupied.count();
        let src = &self.list[s];
        let dst = &self.list[ts];
        let (Some(from), Some(onto)) = (src.region.mesh_file(), dst.region.mesh_file()) else {
            unreachable!("only pages of memory files are meshed")
        };
        let (offset, target_offset) = (src.page_offset(slot, p), dst.page_offset(slot, tp));
        let copy = || {
            for i in occupied.iter() {
                let from = src.slot_at(slot, p, i).cast::<u8>();
                let to = dst.slot_at(slot, tp, i).cast::<u8>();
                // SAFETY: both are slots of live segments; `to` is an offset the source owns
                // and the target just took out of its chain, so no one reads or writes it;
                // `from` is write-protected, so no one writes it while we read (`os/mesh.rs`).
                unsafe { core::ptr::copy_nonoverlapping(from, to, slot.size) };
            }
        };
        // SAFETY: both pages are whole pages of memory files; the source is plain (not
        // meshed); `copy` writes only offsets no one can reach and copies every occupied
        // slot, which are all the bytes anyone may read or write in the source.
        let done = unsafe { from.mesh_onto(offset, onto, target_offset, copy) };
        if !done {
            // The target takes the offsets back: they are free, and in no chain.
            let mut page = self.list[ts].pages[tp];
            for i in occupied.iter() {
                let at = self.list[ts].slot_at(slot, tp, i);
                // SAFETY: as when the chain was rebuilt above.
                unsafe { secret.link(at, Top::new(page.free, page.free_len)) };
                page.free = at;
                page.free_len += 1;
            }
            self.list[ts].pages[tp] = page;
            return false;
        }
        let target = self.list[ts].slot_at(slot, tp, 0).addr();
        self.list[ts].pages[tp].lent += lent as u16;
        let n = self.list[s].page_len(slot, p) as u32;
        let seg = &mut self.list[s];
        seg.pages[p] = Page {
            free: core::ptr::null_mut(),
            free_len: 0,
            fresh: n,
            lent: (n - lent) as u16,
            idle: false,
            owner: seg.pages[p].owner,
        };
        seg.targets[p] = target;
        self.committed -= seg.page_span(slot, p);
        true
    }

    /// Ends the mesh of page `p` of segment `s`, all of whose slots came back: its slots go
    /// to the target's chain, and its addresses back onto its own file page.
    fn unmesh(&mut self, slot: SlotLayout, secret: Secret, s: usize, p: usize) {
        let Some((ts, tp)) = self.find(slot, self.list[s].target(p)) else {
            unreachable!("a meshed page's target is a page of these segments")
        };
        let source = self.list[s].pages[p];
        let mut page = self.list[ts].pages[tp];
        let base = self.list[s].slot_at(slot, p, 0).addr();
        let mut at = source.free;
        for _ in 0..source.free_len {
            // SAFETY: `at` is in the source's chain, which we own; read before relinking.
            let next = unsafe { secret.next(at) }.head();
            let i = (at.addr() - base) / slot.size;
            let to = self.list[ts].slot_at(slot, tp, i);
            // SAFETY: the same bytes as `at` (the pages share a physical page), a free slot
            // the target owns from now on, in no chain.
            unsafe { secret.link(to, Top::new(page.free, page.free_len)) };
            page.free = to;
            page.free_len += 1;
            at = next;
        }
        page.lent -= source.free_len as u16;
        self.list[ts].pages[tp] = page;
        self.list[ts].low = self.list[ts].low.min(tp);
        self.low = self.low.min(ts);
        let seg = &mut self.list[s];
        let n = seg.page_len(slot, p) as u32;
        let offset = seg.page_offset(slot, p);
        let file = seg
            .region
            .mesh_file()
            .expect("a meshed page is in a memory file");
        // SAFETY: the page was meshed, and all its slots are now the target's: no one needs
        // its bytes.
        if unsafe { file.restore(offset) } {
            seg.pages[p] = Page::UNTOUCHED;
            seg.targets[p] = 0;
        } else {
            // Still meshed, with nothing of its own: every offset is lent, none ever handed out.
            seg.pages[p] = Page {
                free: core::ptr::null_mut(),
                free_len: 0,
                fresh: n,
                lent: n as u16,
                idle: false,
                owner: 0,
            };
        }
    }

    /// The (segment, page) `at` lies in.
    fn locate(&self, slot: SlotLayout, at: *mut FreeSlot) -> (usize, usize) {
        self.find(slot, at.addr())
            .expect("a slot outside every segment")
    }

    /// The (segment, page) address `addr` lies in, if any.
    fn find(&self, slot: SlotLayout, addr: usize) -> Option<(usize, usize)> {
        let s = self
            .list
            .partition_point(|seg| seg.base().as_ptr().addr() <= addr)
            .checked_sub(1)?;
        let offset = addr - self.list[s].base().as_ptr().addr();
        (offset < self.list[s].bytes(slot)).then(|| (s, offset / slot.page_stride()))
    }

    /// Gives back to the OS the memory of up to `budget` empty pages that are not given back
    /// yet (pages of a block that cannot give pages back — a small `System` block, a file —
    /// stay as they are), and every segment whose pages are all empty. Returns the bytes
    /// given back — whole segments unmapped, and pages advised away — and whether empty pages
    /// are left for another call.
    ///
    /// `aged` (a decay step): only pages that were empty at the previous such call, and
    /// segments all of whose touched pages were; every other empty page is marked for the
    /// next call.
    pub(crate) fn release(&mut self, slot: SlotLayout, budget: usize, aged: bool) -> (usize, bool) {
        let mut bytes = 0;
        let mut done = 0;
        let mut index = 0;
        while index < self.list.len() {
            let seg = &self.list[index];
            let whole =
                seg.is_empty() && (!aged || seg.pages.iter().all(|p| p.fresh == 0 || p.idle));
            if whole {
                let seg = self.list.remove(index);
                bytes += self.drop_segment(slot, seg);
                continue;
            }
            let seg = &mut self.list[index];
            for p in 0..seg.pages.len() {
                let page = seg.pages[p];
                if page.fresh == 0 || !page.empty() {
                    continue;
                }
                if aged && !page.idle {
                    seg.pages[p].idle = true;
                    continue;
                }
                if done == budget {
                    return (bytes, true);
                }
                let offset = seg.page_offset(slot, p);
                let span = seg.page_span(slot, p);
                // SAFETY: the page is empty: every slot of it is in its chain, which only this
                // layer reads, and which is dropped right below, so no one needs its bytes
                // (nor those of the gap after it, which no one ever reads).
                let given = unsafe { seg.region.discard(offset, span) };
                if given > 0 {
                    done += 1;
                    poison::release(seg.base().as_ptr().wrapping_add(offset), span);
                    seg.pages[p] = Page::UNTOUCHED;
                    self.committed -= span;
                    bytes += given;
                }
            }
            index += 1;
        }
        (bytes, false)
    }

    /// Forgets `seg`, all of whose slots are in its pages, and gives its region back: all of
    /// its bytes.
    fn drop_segment(&mut self, slot: SlotLayout, seg: Segment) -> usize {
        let size = seg.bytes(slot);
        let committed: usize = (0..seg.pages.len())
            .filter(|&p| seg.pages[p].fresh > 0)
            .map(|p| seg.page_span(slot, p))
            .sum();
        self.committed -= committed;
        self.reserved -= seg.capacity;
        self.low = 0;
        poison::release(seg.base().as_ptr(), size);
        // Dropping the segment gives its region back: nobody refers to it any more.
        drop(seg);
        size
    }

    /// Adds a segment of `slots` slots, fewer if that would pass `limit` reserved slots, or if
    /// the system refuses: then halves, down to `need` slots. Huge-page segments are rounded up
    /// to whole 2 MiB pages (as far as `limit` allows), so that the pages they are given can be
    /// huge.
    pub(crate) fn grow(
        &mut self,
        slot: SlotLayout,
        slots: usize,
        need: usize,
        limit: usize,
    ) -> Result<(), Refused> {
        let room = limit.saturating_sub(self.reserved);
        let mut slots = self.rounded(slot, slots).min(room);
        let need = need.clamp(1, slots.max(1));
        if slots == 0 {
            return Err(Refused::Exhausted);
        }
        loop {
            let layout = slot.segment(slots);
            // A request the address space cannot hold is never made, and reads `usize::MAX`.
            let bytes = layout.map_or(usize::MAX, |l| l.size());
            // A segment's slots must fit in a `Top` (below 2⁴⁸ on 64-bit targets: every
            // address user space gets unless it asks for more); one that does not is refused
            // like a failed request.
            let region = layout
                .and_then(|layout| self.region(slot, layout))
                .filter(|r| Top::holds(r.ptr().as_ptr().addr().saturating_add(bytes)));
            if let Some(region) = region {
                self.insert(slot, region, slots);
                return Ok(());
            }
            if slots <= need {
                return Err(Refused::OutOfMemory { bytes });
            }
            slots = (slots / 2).max(need);
        }
    }

    /// A block for a segment: in a memory file of its own for a `mesh` pool on the heap
    /// backing (a plain block where there are none), else from the backing.
    fn region(&self, slot: SlotLayout, layout: Layout) -> Option<Region> {
        if slot.mesh && self.backing == Backing::Heap {
            if let Some(region) = Region::mesh(layout) {
                return Some(region);
            }
        }
        Region::new(layout, self.backing).ok()
    }

    /// `slots` rounded up to whole huge pages for a huge-page backing.
    fn rounded(&self, slot: SlotLayout, slots: usize) -> usize {
        match self.backing {
            Backing::HugePages => slot
                .bytes(slots)
                .and_then(|bytes| bytes.checked_next_multiple_of(HUGE_PAGE))
                .map_or(slots, |bytes| slot.slots_in(bytes)),
            _ => slots,
        }
    }

    /// Files a new segment at its place in address order.
    fn insert(&mut self, slot: SlotLayout, region: Region, capacity: usize) {
        let pages = capacity.div_ceil(slot.page_slots());
        let mut list = sys_vec();
        list.resize(pages, Page::UNTOUCHED);
        let mut targets = sys_vec();
        if region.mesh_file().is_some() {
            targets.resize(pages, 0);
        }
        let base = region.ptr().as_ptr().addr();
        let at = self
            .list
            .partition_point(|seg| seg.base().as_ptr().addr() < base);
        self.list.insert(
            at,
            Segment {
                region,
                capacity,
                carved: 0,
                pages: list,
                low: 0,
                targets,
            },
        );
        self.low = self.low.min(at);
        self.reserved += capacity;
    }

    /// `(base address, carved bytes)` of every segment — the bytes its carved slots span,
    /// gaps included: for the lock-free map of checked builds, and the leak walks of
    /// `track-sites`.
    pub(crate) fn carved_ranges(
        &self,
        slot: SlotLayout,
    ) -> impl Iterator<Item = (usize, usize)> + Clone + '_ {
        self.list.iter().map(move |seg| {
            let bytes = slot
                .bytes(seg.carved)
                .expect("no more than the segment's bytes");
            (seg.base().as_ptr().addr(), bytes)
        })
    }

    /// Whether `ptr` is the start of a carved slot of one of the segments.
    pub(crate) fn owns(&self, slot: SlotLayout, ptr: *const u8) -> bool {
        self.list.iter().any(|seg| {
            let offset = ptr.addr().wrapping_sub(seg.base().as_ptr().addr());
            slot.index_at(offset).is_some_and(|i| i < seg.carved)
        })
    }

    /// Gives every segment back. The caller guarantees no slot is in use.
    pub(crate) fn release_all(&mut self, slot: SlotLayout) {
        for seg in self.list.drain(..) {
            poison::release(seg.base().as_ptr(), seg.bytes(slot));
            // Dropping the segment gives its region back; no slot is in use.
        }
        self.reserved = 0;
        self.committed = 0;
        self.low = 0;
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;
    use crate::os::map;

    /// The smallest slot: one link, plus the free tag in checked builds (`guard.rs`).
    const LINK: usize = core::mem::size_of::<FreeSlot>();

    #[test]
    fn two_homes_carve_untouched_slots_in_pages_of_their_own() {
        let slot = SlotLayout::for_layout(Layout::new::<[u64; 8]>());
        let mut segs = Segments::new(Backing::Heap);
        let (a, b) = (Home::new(), Home::new());
        // (segment, page): pages start at their segment's base, which need not be a multiple
        // of a page's size (under Miri it is not).
        let mut pages = [Vec::new(), Vec::new()];
        for _ in 0..8 {
            for (k, home) in [&a, &b].into_iter().enumerate() {
                let mag = segs
                    .take(slot, 32, 4096, usize::MAX, Secret::UNSET, home)
                    .unwrap();
                // SAFETY: the chain was just built by `take`, with this secret.
                unsafe { mag.for_each(Secret::UNSET, |s| pages[k].push(segs.locate(slot, s))) };
            }
        }
        pages.iter_mut().for_each(|p| p.dedup());
        assert_eq!(pages[0].len(), 1, "a's slots all come from its home");
        assert_eq!(pages[1].len(), 1, "b's slots all come from its home");
        assert_ne!(pages[0], pages[1], "the homes are different pages");
        // When a leaves, its page's untouched slots are anyone's again: b, whose home still
        // has some, keeps to it; a new home takes a's page, the lowest with untouched slots.
        segs.leave(slot, &a);
        let c = Home::new();
        let mag = segs
            .take(slot, 4, 4096, usize::MAX, Secret::UNSET, &c)
            .unwrap();
        assert_eq!(segs.locate(slot, mag.head), pages[0][0]);
    }

    #[test]
    fn slot_layout_widens_and_aligns() {
        assert_eq!(
            SlotLayout::for_layout(Layout::new::<u8>()),
            SlotLayout {
                size: LINK,
                align: 8,
                site: false,
                site_at: 0,
                mesh: false,
                colour: true,
            }
        );
        assert_eq!(
            SlotLayout::for_layout(Layout::new::<[u8; 13]>()),
            SlotLayout {
                size: 16,
                align: 8,
                site: false,
                site_at: 0,
                mesh: false,
                colour: true,
            }
        );
        assert_eq!(
            SlotLayout::for_layout(Layout::from_size_align(64, 64).unwrap()),
            SlotLayout {
                size: 64,
                align: 64,
                site: false,
                site_at: 0,
                mesh: false,
                colour: true,
            }
        );
    }

    /// The slots of `mag`, in its order.
    fn slots_of(mag: Magazine) -> Vec<*mut FreeSlot> {
        let mut out = Vec::new();
        // SAFETY: the magazine was just taken for us, linked with the unset secret.
        unsafe { mag.for_each(Secret::UNSET, |p| out.push(p)) };
        out
    }

    /// The slots of a magazine of up to `want` taken from `segs` (a first segment of `first`),
    /// by a cache that leaves its home right after: so each call takes first fit.
    fn take(
        segs: &mut Segments,
        slot: SlotLayout,
        want: usize,
        first: usize,
    ) -> Vec<*mut FreeSlot> {
        let home = Home::new();
        let mag = segs.take(slot, want as u32, first, usize::MAX, Secret::UNSET, &home);
        segs.leave(slot, &home);
        slots_of(mag.unwrap())
    }

    /// A magazine of `slots` (free, ours, in no chain).
    fn magazine(slots: &[*mut FreeSlot]) -> Magazine {
        let mut mag = Magazine::EMPTY;
        for &s in slots.iter().rev() {
            // SAFETY: each slot is free, ours, and in no chain (the tests' bookkeeping).
            unsafe { mag.push(s, Secret::UNSET) };
        }
        mag
    }

    #[test]
    fn take_grows_geometrically_and_respects_the_limit() {
        let slot = SlotLayout::for_layout(Layout::new::<u64>());
        let mut segs = Segments::new(Backing::Heap);
        let mut taken = Vec::new();
        for _ in 0..5 {
            let mag = segs
                .take(slot, 4, 4, 20, Secret::UNSET, &Home::new())
                .unwrap();
            taken.extend(slots_of(mag));
        }
        // 4 + 4 + 8 reserved, then the limit caps the fourth segment at 4 more.
        assert_eq!(segs.reserved_slots(), 20);
        assert_eq!(taken.len(), 20);
        assert_eq!(
            segs.take(slot, 4, 4, 20, Secret::UNSET, &Home::new())
                .unwrap_err(),
            Refused::Exhausted
        );
        let mut uniq = taken.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 20, "carved slots must be distinct");
        assert!(taken.iter().all(|&p| segs.owns(slot, p.cast())));
        assert!(!segs.owns(slot, taken[0].cast::<u8>().wrapping_add(1)));
        // Give everything back but one slot: every segment but that one's is empty.
        let keep = taken[0];
        taken.retain(|&p| p != keep);
        segs.give_back(slot, magazine(&taken), Secret::UNSET);
        let (freed, more) = segs.release(slot, usize::MAX, false);
        assert!(!more);
        let kept_segment = segs.reserved_slots();
        assert_eq!(freed, (20 - kept_segment) * slot.size);
        assert_eq!(
            segs.count(),
            1,
            "all segments but the kept slot's are empty"
        );
        segs.release_all(slot);
    }

    /// A coloured page holds its slots, then a gap; the next page starts a stride on. Sizes,
    /// offsets and indices agree both ways.
    #[test]
    fn coloured_pages_end_with_a_gap() {
        for size in [8, 16, 24, 48, 64, 1000, 1024, 1032, 4096, PAGE_BYTES] {
            let slot = SlotLayout::for_layout(Layout::from_size_align(size, 8).unwrap());
            // Slots are at least a link wide.
            let (size, per, stride) = (slot.size, slot.page_slots(), slot.page_stride());
            assert_eq!(slot.coloured(), size <= COLOURED, "{size}");
            if slot.coloured() {
                let gap = stride - per * size;
                assert!(stride == PAGE_BYTES && gap >= COLOUR && gap < COLOUR + size);
            } else {
                assert_eq!(stride, per * size, "{size}: pages abut");
            }
            for slots in [0, 1, per - 1, per, per + 1, 3 * per, 3 * per + 2] {
                assert_eq!(slot.slots_in(slot.bytes(slots).unwrap()), slots, "{size}");
            }
            for p in 0..3 {
                for i in [0, 1, per - 1] {
                    let offset = p * stride + i * size;
                    assert_eq!(slot.index_at(offset), Some(p * per + i), "{size}");
                    assert_eq!(slot.index_at(offset + size / 2), None, "{size}: inside");
                }
                let gap = p * stride + per * size;
                assert!(slot.coloured() == slot.index_at(gap).is_none(), "{size}");
            }
        }
        // The slots a segment hands out lie in its pages, none in a gap.
        let slot = SlotLayout::for_layout(Layout::new::<[u64; 2]>());
        let per = slot.page_slots();
        let mut segs = Segments::new(Backing::Heap);
        let n = if cfg!(miri) { per + 2 } else { 3 * per };
        let all = take(&mut segs, slot, n, n);
        assert_eq!(all.len(), n);
        let first = *all.iter().min_by_key(|s| s.addr()).unwrap();
        let base = first.addr();
        for &s in &all {
            let offset = s.addr() - base;
            assert!(offset % PAGE_BYTES < per * slot.size, "a slot in a gap");
            assert!(segs.owns(slot, s.cast()));
        }
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), n, "distinct slots");
        let gap = first.cast::<u8>().wrapping_add(per * slot.size);
        assert!(!segs.owns(slot, gap), "the gap");
        segs.release_all(slot);
    }

    /// Slots that come back are handed out again before any untouched one, lowest page first.
    #[test]
    fn returned_slots_are_taken_first_fit() {
        let slot = SlotLayout::for_layout(Layout::new::<[u64; 8]>());
        let per_page = slot.page_slots();
        let mut segs = Segments::new(Backing::Heap);
        let first = take(&mut segs, slot, per_page, 4 * per_page);
        let second = take(&mut segs, slot, per_page, 4 * per_page);
        assert_eq!(first.len(), per_page);
        // Two slots of the second page and one of the first come back.
        segs.give_back(
            slot,
            magazine(&[second[3], first[5], second[9]]),
            Secret::UNSET,
        );
        assert_eq!(
            take(&mut segs, slot, 1, 0),
            [first[5]],
            "the lowest page first"
        );
        let mut rest = take(&mut segs, slot, 2, 0);
        rest.sort();
        let mut want = vec![second[3], second[9]];
        want.sort();
        assert_eq!(
            rest, want,
            "then the next page's returned slots, before untouched ones"
        );
        segs.release_all(slot);
    }

    /// Empty pages inside a segment that is still in use go back to the OS; they count as
    /// committed again, and read as zero, once used again.
    #[test]
    fn empty_pages_of_a_used_segment_go_back() {
        let slot = SlotLayout::for_layout(Layout::new::<[u64; 8]>());
        let per_page = slot.page_slots();
        let mut segs = Segments::new(Backing::Heap);
        // Fewer under Miri, where each slot costs it milliseconds.
        let pages = if cfg!(miri) { 3 } else { 8 };
        let all = take(&mut segs, slot, pages * per_page, pages * per_page);
        for &s in &all {
            // SAFETY: the slot is ours: write the whole of it, as a user object would.
            unsafe { s.cast::<[u64; 8]>().write([0xab; 8]) };
        }
        let reserved = segs.reserved_bytes(slot);
        assert_eq!(segs.committed_bytes(), reserved);
        // Keep one object in the first page; give everything else back.
        segs.give_back(slot, magazine(&all[1..]), Secret::UNSET);
        let (given, more) = segs.release(slot, usize::MAX, false);
        assert!(!more && segs.count() == 1);
        if map::mapped(reserved) {
            assert_eq!(
                given,
                (pages - 1) * slot.page_stride(),
                "every page but the first, with its gap"
            );
            assert_eq!(segs.committed_bytes(), reserved - given);
        }
        // The pages come back untouched: fresh slots, in address order, after the first
        // page's returned ones.
        let again = take(&mut segs, slot, pages * per_page - 1, 0);
        assert_eq!(again.len(), pages * per_page - 1);
        assert_eq!(segs.committed_bytes(), reserved);
        if map::mapped(reserved) {
            let last = again[again.len() - 1];
            // SAFETY: ours again; a given-back page reads as zero past the link words.
            let word = unsafe { last.cast::<u64>().add(7).read() };
            assert_eq!(word, 0, "the page went back to the OS");
        }
        segs.release_all(slot);
    }

    /// A random mix of take, give back and release never hands out a slot that is out, and
    /// gives back exactly what it handed out.
    #[test]
    fn no_slot_is_handed_out_twice() {
        let slot = SlotLayout::for_layout(Layout::new::<[u64; 4]>());
        let mut segs = Segments::new(Backing::Heap);
        let mut out: Vec<*mut FreeSlot> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let (steps, most) = if cfg!(miri) { (40, 24) } else { (5_000, 300) };
        for _ in 0..steps {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match x % 4 {
                0 | 1 => {
                    for s in take(&mut segs, slot, (x >> 8) as usize % most + 1, 64) {
                        assert!(seen.insert(s), "{s:p} handed out while out");
                        assert!(segs.owns(slot, s.cast()));
                        out.push(s);
                    }
                }
                2 => {
                    let n = (x >> 8) as usize % (out.len() + 1);
                    let back: Vec<_> = (0..n)
                        .map(|i| out.swap_remove(((x >> 16) as usize + i) % out.len()))
                        .collect();
                    for s in &back {
                        seen.remove(s);
                    }
                    if !back.is_empty() {
                        segs.give_back(slot, magazine(&back), Secret::UNSET);
                    }
                }
                _ => {
                    segs.release(slot, (x >> 8) as usize % 8, x & 1 == 0);
                }
            }
            assert!(segs.reserved_slots() >= out.len());
        }
        segs.give_back(slot, magazine(&out), Secret::UNSET);
        while segs.release(slot, 64, false).1 {}
        assert_eq!(
            segs.count(),
            0,
            "everything came back, so every segment went"
        );
        assert_eq!(segs.committed_bytes(), 0);
    }
}

//! Where everything sits in a segment, and the typed view of it.
//!
//! ```text
//! offset 0        Header          magic, version, T's size/align/name, capacity, length
//!                 [Entry; 64]     one per registered handle: who, what it is doing
//!                 End, End        free ring: head, tail (128 bytes apart)
//!                 [u64; 2 * cap]  free ring cells
//!                 End, End        message ring: head, tail
//!                 [u64; cap]      message ring cells
//!                 [u64; cap]      slot states (state.rs)
//! aligned         [T; cap]        the slots, each `stride` bytes
//! ```
//!
//! The creator computes the layout from `T` and the capacity, fills the segment in, and
//! stores the magic last; an opener reads the header, computes the layout again from what the
//! header says and checks it against `T` and the file's length before it looks at anything
//! else. Every shared word is an atomic, read and written as such: a peer may write any of
//! them at any time. The free ring has twice as many cells as there are slots, so that the
//! duplicates a recovery may leave (`ring.rs`) never fill it.

use super::ring::Ring;
use super::state::ENTRIES;
use crate::sync::AtomicU64;
use core::ptr::NonNull;

/// "typoolSH", little-endian.
pub(super) const MAGIC: u64 = u64::from_le_bytes(*b"typoolSH");
/// Bumped whenever the layout changes: a segment of another version is refused.
pub(super) const VERSION: u64 = 1;
/// Bytes of `T`'s type name the header keeps (for error messages).
pub(super) const NAME_BYTES: usize = 128;
/// The most slots a segment holds: indices and their `+ 1` fit in 32 bits with room to spare.
pub(super) const MAX_CAPACITY: usize = 1 << 30;

const LINE: usize = 64;
const PAGE: usize = 4096;

/// The segment's first bytes. Written once by the creator, `magic` last.
#[repr(C, align(64))]
pub(super) struct Header {
    pub magic: AtomicU64,
    pub version: AtomicU64,
    pub capacity: AtomicU64,
    pub slot_size: AtomicU64,
    pub slot_align: AtomicU64,
    pub len: AtomicU64,
    pub name_len: AtomicU64,
    /// Highest live count a `stats()` call saw, in any process.
    pub peak_live: AtomicU64,
    pub type_name: [AtomicU64; NAME_BYTES / 8],
}

/// One registered handle (`registry.rs`).
#[repr(C, align(64))]
pub(super) struct Entry {
    /// Who holds the entry: 0, a live handle's process, or a recoverer (`registry.rs`).
    pub who: AtomicU64,
    /// The two-step operation the holder is in, for a recovery to finish (`registry.rs`).
    pub intent: AtomicU64,
}

/// A ring end on a line pair of its own, so head and tail writers do not share one.
#[repr(C, align(128))]
pub(super) struct End(pub AtomicU64);

/// Offsets and sizes of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    pub capacity: u32,
    pub slot_size: usize,
    pub slot_align: usize,
    pub stride: usize,
    entries: usize,
    free: usize,
    messages: usize,
    states: usize,
    slots: usize,
    /// The whole segment, a multiple of the page size.
    pub len: usize,
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? & !(to - 1))
}

impl Layout {
    /// The layout for `capacity` slots of `size` bytes at `align`; `None` if `capacity` is 0
    /// or above [`MAX_CAPACITY`], `size` is 0, or the segment would not fit in memory.
    pub(super) fn new(capacity: usize, size: usize, align: usize) -> Option<Layout> {
        // Slots are aligned within a page-aligned mapping: no more than a page.
        if capacity == 0
            || capacity > MAX_CAPACITY
            || size == 0
            || !align.is_power_of_two()
            || align > PAGE
        {
            return None;
        }
        let words = |n: usize| n.checked_mul(8);
        let ends = 2 * core::mem::size_of::<End>();
        let entries = round_up(core::mem::size_of::<Header>(), LINE)?;
        let free = entries + ENTRIES as usize * core::mem::size_of::<Entry>();
        let messages = round_up(free + ends + words(2 * capacity)?, LINE)?;
        let states = round_up(messages + ends + words(capacity)?, LINE)?;
        let stride = round_up(size, align)?;
        let slots = round_up(states + words(capacity)?, align.max(LINE))?;
        let len = round_up(slots.checked_add(stride.checked_mul(capacity)?)?, PAGE)?;
        (len <= isize::MAX as usize).then_some(Layout {
            capacity: capacity as u32,
            slot_size: size,
            slot_align: align,
            stride,
            entries,
            free,
            messages,
            states,
            slots,
            len,
        })
    }
}

/// The shared structures of one mapped segment, as references.
///
/// Invariant: the memory behind every reference and behind `slots` is the segment's mapping,
/// `layout.len` bytes, page-aligned, readable and writable, and stays mapped for `'a`.
pub(super) struct View<'a> {
    pub header: &'a Header,
    pub entries: &'a [Entry],
    pub free: Ring<'a>,
    pub messages: Ring<'a>,
    pub states: &'a [AtomicU64],
    slots: NonNull<u8>,
    pub layout: Layout,
}

impl<'a> View<'a> {
    /// The view of the segment at `base`.
    ///
    /// # Safety
    ///
    /// `base` is page-aligned and valid for reads and writes of `layout.len` bytes for `'a`,
    /// and every byte of it outside the slots is only ever accessed atomically (by any
    /// process), so that it may be seen as atomics.
    pub(super) unsafe fn new(base: NonNull<u8>, layout: Layout) -> View<'a> {
        debug_assert_eq!(base.as_ptr() as usize % PAGE, 0, "segment base {base:p}");
        let cap = layout.capacity as usize;
        let at = |offset: usize| {
            debug_assert!(offset < layout.len);
            // SAFETY: `offset` is inside the mapping (the layout keeps every part below `len`).
            unsafe { base.as_ptr().add(offset) }
        };
        let words = |offset: usize, n: usize| -> &'a [AtomicU64] {
            // SAFETY: `n` words at `offset` lie inside the mapping, 8-aligned (every offset is
            // a multiple of 64 from a page-aligned base), and are accessed only atomically, as
            // the caller promised; `AtomicU64` has `u64`'s size and alignment, and every bit
            // pattern is valid.
            unsafe { core::slice::from_raw_parts(at(offset).cast::<AtomicU64>(), n) }
        };
        let end = |offset: usize| -> &'a AtomicU64 {
            // SAFETY: as for `words`: an `End` is one atomic, 128-aligned, inside the mapping.
            unsafe { &(*at(offset).cast::<End>()).0 }
        };
        let end_len = core::mem::size_of::<End>();
        let ring = |offset: usize, cells: usize| {
            Ring::new(
                end(offset),
                end(offset + end_len),
                words(offset + 2 * end_len, cells),
                layout.capacity,
            )
        };
        View {
            // SAFETY: a `Header` of atomics at offset 0, inside the mapping and aligned.
            header: unsafe { &*base.as_ptr().cast::<Header>() },
            // SAFETY: `ENTRIES` entries of atomics at `entries`, 64-aligned, inside the mapping.
            entries: unsafe {
                core::slice::from_raw_parts(at(layout.entries).cast::<Entry>(), ENTRIES as usize)
            },
            free: ring(layout.free, 2 * cap),
            messages: ring(layout.messages, cap),
            states: words(layout.states, cap),
            // SAFETY: inside the mapping, so not null.
            slots: unsafe { NonNull::new_unchecked(at(layout.slots)) },
            layout,
        }
    }

    /// The address of slot `index`.
    pub(super) fn slot(&self, index: u32) -> *mut u8 {
        assert!(index < self.layout.capacity, "slot {index} out of range");
        // SAFETY: `index` is below the capacity, so the slot lies inside the mapping.
        unsafe { self.slots.as_ptr().add(index as usize * self.layout.stride) }
    }

    /// Fills a fresh segment in: rings and header, all but the magic ([`publish`](Self::publish)
    /// stores it, once the creator has registered).
    pub(super) fn init(&self, type_name: &str) {
        let l = &self.layout;
        self.free.init(l.capacity);
        self.messages.init(0);
        let h = self.header;
        h.version.store(VERSION, crate::sync::Ordering::Relaxed);
        for (field, value) in [
            (&h.capacity, u64::from(l.capacity)),
            (&h.slot_size, l.slot_size as u64),
            (&h.slot_align, l.slot_align as u64),
            (&h.len, l.len as u64),
        ] {
            field.store(value, crate::sync::Ordering::Relaxed);
        }
        let name = &type_name.as_bytes()[..type_name.len().min(NAME_BYTES)];
        let mut bytes = [0u8; NAME_BYTES];
        bytes[..name.len()].copy_from_slice(name);
        for (word, chunk) in h.type_name.iter().zip(bytes.chunks_exact(8)) {
            let chunk: [u8; 8] = chunk.try_into().expect("chunks of 8");
            word.store(u64::from_le_bytes(chunk), crate::sync::Ordering::Relaxed);
        }
        h.name_len
            .store(name.len() as u64, crate::sync::Ordering::Relaxed);
    }

    /// Lets openers in: the magic, a release store that an opener's acquire load pairs with.
    /// The creator registers first, so that a second creator that finds the name taken also
    /// finds it in use, and does not replace it as abandoned.
    pub(super) fn publish(&self) {
        self.header
            .magic
            .store(MAGIC, crate::sync::Ordering::Release);
    }
}

/// What a header says about its slots, read before anything else of the segment is trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Described {
    pub capacity: u64,
    pub slot_size: u64,
    pub slot_align: u64,
    pub len: u64,
    pub type_name: String,
}

impl Described {
    /// The layout the description gives, if it gives one and its length is the described
    /// one (which the opener checked against the file).
    pub(super) fn layout(&self) -> Option<Layout> {
        let capacity = usize::try_from(self.capacity).ok()?;
        let layout = Layout::new(
            capacity,
            usize::try_from(self.slot_size).ok()?,
            usize::try_from(self.slot_align).ok()?,
        )?;
        (layout.len as u64 == self.len).then_some(layout)
    }
}

impl Header {
    /// The header's description, if its magic and version are this build's.
    pub(super) fn describe(&self) -> Result<Described, &'static str> {
        use crate::sync::Ordering::{Acquire, Relaxed};
        if self.magic.load(Acquire) != MAGIC {
            return Err("no typool segment header (or its creator has not finished)");
        }
        if self.version.load(Relaxed) != VERSION {
            return Err("a typool segment of another layout version");
        }
        let mut bytes = [0u8; NAME_BYTES];
        for (word, chunk) in self.type_name.iter().zip(bytes.chunks_exact_mut(8)) {
            chunk.copy_from_slice(&word.load(Relaxed).to_le_bytes());
        }
        let name_len = (self.name_len.load(Relaxed) as usize).min(NAME_BYTES);
        Ok(Described {
            capacity: self.capacity.load(Relaxed),
            slot_size: self.slot_size.load(Relaxed),
            slot_align: self.slot_align.load(Relaxed),
            len: self.len.load(Relaxed),
            type_name: String::from_utf8_lossy(&bytes[..name_len]).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_each_other_aligned() {
        let l = Layout::new(100, 24, 8).unwrap();
        assert_eq!(l.stride, 24);
        assert!(l.entries >= core::mem::size_of::<Header>());
        assert!(l.free >= l.entries + 64 * 64);
        assert!(l.messages >= l.free + 256 + 200 * 8);
        assert!(l.states >= l.messages + 256 + 100 * 8);
        assert!(l.slots >= l.states + 100 * 8);
        assert!(l.len >= l.slots + 100 * 24);
        assert_eq!(l.len % PAGE, 0);
        assert_eq!(l.slots % 64, 0);
        assert_eq!(Layout::new(3, 4096, 4096).unwrap().slots % 4096, 0);
    }

    #[test]
    fn bad_shapes_have_no_layout() {
        assert_eq!(Layout::new(0, 8, 8), None);
        assert_eq!(Layout::new(MAX_CAPACITY + 1, 8, 8), None);
        assert_eq!(Layout::new(4, 0, 1), None);
        assert_eq!(Layout::new(4, 8, 3), None);
        assert_eq!(Layout::new(4, 8192, 8192), None);
        assert_eq!(Layout::new(MAX_CAPACITY, usize::MAX / 2, 8), None);
    }
}

//! Placing values, and the drop list: values that need `Drop` are not leaked.
//!
//! Each such value is allocated behind a small header linking it into the arena's drop list
//! (newest first), which [`Arena::reset`], [`Arena::restore`], [`Arena::scope`] and the
//! arena's own drop run — newest first, so in reverse order of allocation. Values that need no
//! drop have no header and cost nothing extra.
//!
//! Invariant: every entry's value is initialised and lies below the current position (in
//! chunk order); entries are in strictly decreasing sequence order from the head.

use super::Arena;
use core::alloc::Layout;
use core::mem;
use core::ptr::{self, NonNull};

/// The header in front of every value that needs drop.
#[repr(C)]
pub(super) struct DropHeader {
    pub(super) next: *mut DropHeader,
    pub(super) seq: u64,
    pub(super) drop: unsafe fn(*mut DropHeader),
}

#[repr(C)]
pub(super) struct DropOne<T> {
    pub(super) header: DropHeader,
    pub(super) value: T,
}

#[repr(C)]
pub(super) struct DropSlice<T> {
    pub(super) header: DropHeader,
    pub(super) ptr: *mut T,
    pub(super) len: usize,
}

/// # Safety
///
/// `h` heads a live `DropOne<T>` whose value is initialised and dropped nowhere else.
pub(super) unsafe fn drop_one<T>(h: *mut DropHeader) {
    // SAFETY: by the contract, `h` is the header of a `DropOne<T>` (header first, repr(C)).
    unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*h.cast::<DropOne<T>>()).value)) }
}

/// # Safety
///
/// `h` heads a live `DropSlice<T>` whose elements are initialised and dropped nowhere else.
pub(super) unsafe fn drop_slice<T>(h: *mut DropHeader) {
    // SAFETY: by the contract, `h` is the header of a `DropSlice<T>` describing `len`
    // initialised elements at `ptr`.
    unsafe {
        let s = &*h.cast::<DropSlice<T>>();
        ptr::drop_in_place(ptr::slice_from_raw_parts_mut(s.ptr, s.len));
    }
}

impl Arena {
    pub(super) fn header(&self, drop: unsafe fn(*mut DropHeader)) -> DropHeader {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        DropHeader {
            next: self.drops.get(),
            seq,
            drop,
        }
    }

    /// # Safety
    ///
    /// `h` is a fully written header whose `next` is the current head.
    pub(super) unsafe fn link(&self, h: *mut DropHeader) {
        self.drops.set(h);
    }

    /// Drops, newest first, every value registered at or after sequence number `seq`.
    pub(super) fn run_drops(&mut self, seq: u64) {
        loop {
            let h = self.drops.get();
            // SAFETY: list entries are live headers (module invariant).
            if h.is_null() || unsafe { (*h).seq } < seq {
                return;
            }
            // SAFETY: as above; unlinking first means a panicking drop cannot run twice.
            unsafe {
                self.drops.set((*h).next);
                ((*h).drop)(h);
            }
        }
    }

    /// What one `T` takes: the bare value, or the value behind a drop-list header if it
    /// needs drop.
    pub(super) const fn slot_of<T>() -> Layout {
        if mem::needs_drop::<T>() {
            Layout::new::<DropOne<T>>()
        } else {
            Layout::new::<T>()
        }
    }

    /// Writes `value` at `p`, linking it into the drop list if it needs drop.
    ///
    /// # Safety
    ///
    /// `p` is fresh arena memory laid out by [`Self::slot_of::<T>`].
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn place<T>(&self, p: NonNull<u8>, value: T) -> &mut T {
        if !mem::needs_drop::<T>() {
            let p = p.cast::<T>().as_ptr();
            // SAFETY: memory for one `T`, aligned (the caller's contract); it is ours until a
            // rewind, which needs `&mut self` and so ends this borrow first.
            return unsafe {
                p.write(value);
                &mut *p
            };
        }
        let node = p.cast::<DropOne<T>>().as_ptr();
        // SAFETY: memory for one `DropOne<T>` (the caller's contract); once written and
        // linked, the drop list owns the value's drop, and the reference lives no longer than
        // `&self`.
        unsafe {
            node.write(DropOne {
                header: self.header(drop_one::<T>),
                value,
            });
            self.link(node.cast());
            &mut (*node).value
        }
    }
}

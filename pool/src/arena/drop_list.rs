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
    ///
    /// If a drop panics, the others still run, as a slice's elements do (a second panic
    /// while unwinding ends the program, as there), and the panic goes on.
    pub(super) fn run_drops(&mut self, seq: u64) {
        /// Runs the rest of the list if a drop panics.
        struct Rest<'a>(&'a mut Arena, u64);
        impl Drop for Rest<'_> {
            fn drop(&mut self) {
                self.0.run_drops(self.1);
            }
        }
        let rest = Rest(self, seq);
        loop {
            let h = rest.0.drops.get();
            // SAFETY: list entries are live headers (module invariant).
            if h.is_null() || unsafe { (*h).seq } < seq {
                break;
            }
            // SAFETY: as above; unlinking first means a panicking drop cannot run twice.
            unsafe {
                rest.0.drops.set((*h).next);
                ((*h).drop)(h);
            }
        }
        mem::forget(rest);
    }

    /// Runs the drops from `seq` on, then `then` — also when a drop panics, so that a rewind
    /// always finishes and the panic reaches the caller with the arena consistent.
    pub(super) fn run_drops_then(&mut self, seq: u64, then: impl FnOnce(&mut Arena)) {
        struct Then<'a, F: FnOnce(&mut Arena)>(&'a mut Arena, mem::ManuallyDrop<F>);
        impl<F: FnOnce(&mut Arena)> Drop for Then<'_, F> {
            fn drop(&mut self) {
                // SAFETY: taken once, here; the field is not used again.
                let then = unsafe { mem::ManuallyDrop::take(&mut self.1) };
                then(self.0);
            }
        }
        let then = Then(self, mem::ManuallyDrop::new(then));
        then.0.run_drops(seq);
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
        // SAFETY: forwarded.
        unsafe { self.place_with(p, || value) }
    }

    /// Writes the result of `f` at `p` — straight into place where the optimiser can — then
    /// links it into the drop list if it needs drop. If `f` panics, `p` is left unused (the
    /// arena's memory is only reused at a rewind); `f` may allocate in the arena itself,
    /// since the header is written, with the next sequence number, only after it returns.
    ///
    /// # Safety
    ///
    /// `p` is fresh arena memory laid out by [`Self::slot_of::<T>`].
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn place_with<T>(&self, p: NonNull<u8>, f: impl FnOnce() -> T) -> &mut T {
        if !mem::needs_drop::<T>() {
            let p = p.cast::<T>().as_ptr();
            // SAFETY: memory for one `T`, aligned (the caller's contract); it is ours until a
            // rewind, which needs `&mut self` and so ends this borrow first.
            return unsafe {
                p.write(f());
                &mut *p
            };
        }
        let node = p.cast::<DropOne<T>>().as_ptr();
        // SAFETY: memory for one `DropOne<T>` (the caller's contract). The value is written
        // first; once the header is written and linked, the drop list owns the value's drop,
        // and the reference lives no longer than `&self`.
        unsafe {
            ptr::addr_of_mut!((*node).value).write(f());
            ptr::addr_of_mut!((*node).header).write(self.header(drop_one::<T>));
            self.link(node.cast());
            &mut (*node).value
        }
    }
}

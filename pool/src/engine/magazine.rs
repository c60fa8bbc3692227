//! Free slots and magazines: the intrusive lists that carry free memory around.
//!
//! A free slot's first word holds the address of the next free slot (encoded, in checked
//! builds, by the pool's [`Secret`]: see `guard.rs`); a [`Magazine`] is such a chain with its
//! length. Magazines are what thread caches hold and what the depot moves,
//! whole, with one CAS. Only the thread that owns a magazine reads or writes its links.

use crate::engine::guard::Secret;
use core::ptr;

/// The overlay on a slot while it is free: the link to the next free slot and, in checked
/// builds, the tag that marks the slot free. Only [`Secret`] reads or writes these words.
#[repr(C)]
pub(crate) struct FreeSlot {
    pub(crate) next: *mut FreeSlot,
    #[cfg(typool_checked)]
    pub(crate) tag: usize,
}

impl FreeSlot {
    /// An overlay linked to nothing: fake slots for tests.
    #[cfg(test)]
    pub(crate) const UNLINKED: Self = Self {
        next: ptr::null_mut(),
        #[cfg(typool_checked)]
        tag: 0,
    };
}

/// A chain of `len` free slots starting at `head` (null when `len == 0`).
///
/// Invariant: following `next` from `head` visits exactly `len` distinct free slots, each
/// owned by whoever holds the magazine, and ends at null.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Magazine {
    pub(crate) head: *mut FreeSlot,
    pub(crate) len: u32,
}

impl Magazine {
    pub(crate) const EMPTY: Self = Self {
        head: ptr::null_mut(),
        len: 0,
    };

    /// Adds `slot` at the front.
    ///
    /// # Safety
    ///
    /// `slot` is a free slot owned by the caller, of the pool `secret` belongs to, sized and
    /// aligned for a [`FreeSlot`], that is in no other chain; the chain was linked with
    /// `secret`.
    #[inline(always)]
    pub(crate) unsafe fn push(&mut self, slot: *mut FreeSlot, secret: Secret) {
        // SAFETY: the caller hands over a free, suitably sized and aligned slot of this pool.
        unsafe { secret.link(slot, self.head) };
        self.head = slot;
        self.len += 1;
    }

    /// Visits every slot of the chain.
    ///
    /// # Safety
    ///
    /// The magazine's invariant holds and its chain was linked with `secret`; `f` must not
    /// change the links.
    pub(crate) unsafe fn for_each(&self, secret: Secret, mut f: impl FnMut(*mut FreeSlot)) {
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: `cur` is a slot of the chain, so its first word is the next link.
            let next = unsafe { secret.next(cur) };
            f(cur);
            cur = next;
        }
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn push_links_in_lifo_order() {
        let mut slots = core::mem::MaybeUninit::<[FreeSlot; 2]>::uninit();
        let base = slots.as_mut_ptr().cast::<FreeSlot>();
        let secret = Secret::UNSET;
        let mut m = Magazine::EMPTY;
        // SAFETY: both slots are ours, pointer sized and aligned, and in no chain.
        unsafe {
            m.push(base, secret);
            m.push(base.add(1), secret);
        }
        assert_eq!(m.len, 2);
        let mut seen = 0;
        // SAFETY: the chain holds our two slots.
        unsafe { m.for_each(secret, |_| seen += 1) };
        assert_eq!(seen, 2);
        let mut order = Vec::new();
        // SAFETY: the chain holds our two slots.
        unsafe { m.for_each(secret, |s| order.push(s)) };
        assert_eq!(order, [base.wrapping_add(1), base]);
    }
}

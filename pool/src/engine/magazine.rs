//! Free slots and magazines: the intrusive lists that carry free memory around.
//!
//! A free slot's first word names the rest of its chain — the next free slot *and how many
//! slots follow from there* — as a [`Top`] (encoded, in checked builds, by the pool's
//! [`Secret`]: see `guard.rs`); a [`Magazine`] is such a chain with its length. Magazines are
//! what thread caches hold and what the depot moves, whole. Only the thread that owns a
//! magazine reads or writes its links.
//!
//! Why the length rides in every link: a thread cache keeps its current chain as one `Top`
//! word, and popping a slot is then "load the slot's link, store it as the new top" — the
//! new length comes with the link, so allocation stores one word and freeing two (the
//! slot's link and the top), where a separate length cost each a second store. Stores are
//! what a hit path of a few instructions is bound by.
//!
//! Invariant (every chain, wherever it is): for a chain of `n` slots `s₁ … sₙ`, the link of
//! `sᵢ` is `Top(sᵢ₊₁, n − i)`, and the link of `sₙ` is [`Top::EMPTY`]. Every writer of a link
//! knows the length below it: [`Magazine::push`], the cache's push, a page's free chain.

use crate::engine::guard::Secret;
use core::ptr;

/// The overlay on a slot while it is free: the rest of its chain and, in checked builds, the
/// tag that marks the slot free. Only [`Secret`] reads or writes these words.
#[repr(C)]
pub(crate) struct FreeSlot {
    pub(crate) next: Top,
    #[cfg(typool_checked)]
    pub(crate) tag: usize,
}

impl FreeSlot {
    /// An overlay linked to nothing: fake slots for tests.
    #[cfg(test)]
    pub(crate) const UNLINKED: Self = Self {
        next: Top::EMPTY,
        #[cfg(typool_checked)]
        tag: 0,
    };
}

/// A chain of free slots named by its first slot and its length, in one word on 64-bit
/// targets: the slot's address shifted left by [`Top::LEN_BITS`], or'ed with the length (a
/// shift keeps the pointer's provenance through `map_addr`, and a slot's address below
/// 2⁴⁸ — which every segment is checked for, [`Top::holds`] — loses nothing). Elsewhere, the
/// pair itself.
///
/// Invariant: `len() == 0` exactly when `head()` is null; `len() <= Top::MAX_LEN`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Top(Packed);

#[cfg(target_pointer_width = "64")]
type Packed = *mut FreeSlot;

#[cfg(not(target_pointer_width = "64"))]
#[derive(Clone, Copy, PartialEq, Eq)]
struct Packed {
    head: *mut FreeSlot,
    len: u32,
}

impl Top {
    /// Bits of the length; the address takes the rest of the word.
    pub(crate) const LEN_BITS: u32 = 16;
    /// The longest chain a `Top` can name (magazines stay below it: `PoolConfig`).
    pub(crate) const MAX_LEN: u32 = (1 << Self::LEN_BITS) - 1;

    /// The empty chain.
    #[cfg(target_pointer_width = "64")]
    pub(crate) const EMPTY: Self = Self(ptr::null_mut());
    #[cfg(not(target_pointer_width = "64"))]
    pub(crate) const EMPTY: Self = Self(Packed {
        head: ptr::null_mut(),
        len: 0,
    });

    /// Whether every address below `end` (one past a segment) fits in a `Top`.
    pub(crate) const fn holds(end: usize) -> bool {
        usize::BITS < 64 || end <= 1 << (usize::BITS - Self::LEN_BITS)
    }

    /// The chain of `len` slots that starts at `head`.
    #[inline(always)]
    pub(crate) fn new(head: *mut FreeSlot, len: u32) -> Self {
        debug_assert!(len <= Self::MAX_LEN && (len == 0) == head.is_null());
        debug_assert!(Self::holds(head.addr() + 1), "a slot above 2^48");
        #[cfg(target_pointer_width = "64")]
        return Self(head.map_addr(|a| (a << Self::LEN_BITS) | len as usize));
        #[cfg(not(target_pointer_width = "64"))]
        Self(Packed { head, len })
    }

    /// The chain's first slot (null when empty).
    #[inline(always)]
    pub(crate) fn head(self) -> *mut FreeSlot {
        #[cfg(target_pointer_width = "64")]
        return self.0.map_addr(|a| a >> Self::LEN_BITS);
        #[cfg(not(target_pointer_width = "64"))]
        self.0.head
    }

    /// How many slots the chain holds.
    #[inline(always)]
    pub(crate) fn len(self) -> u32 {
        #[cfg(target_pointer_width = "64")]
        return (self.0.addr() & Self::MAX_LEN as usize) as u32;
        #[cfg(not(target_pointer_width = "64"))]
        self.0.len
    }

    /// The chain as a magazine.
    #[inline(always)]
    pub(crate) fn magazine(self) -> Magazine {
        Magazine {
            head: self.head(),
            len: self.len(),
        }
    }

    /// The word with `mask` XORed into it (the address part, where the word is a pair): how
    /// checked builds encode a link (`guard.rs`). Applying the same mask twice gives `self`.
    #[cfg(typool_checked)]
    #[inline(always)]
    pub(crate) fn masked(self, mask: usize) -> Self {
        #[cfg(target_pointer_width = "64")]
        return Self(self.0.map_addr(|a| a ^ mask));
        #[cfg(not(target_pointer_width = "64"))]
        Self(Packed {
            head: self.0.head.map_addr(|a| a ^ mask),
            len: self.0.len,
        })
    }
}

#[cfg(typool_checked)]
impl Top {
    /// Whether this chain, decoded from a free slot's link, could be what the free list
    /// wrote: `len` slots long (the caller knows how many follow), its head aligned as slots
    /// are (every checked slot is at least two words wide and aligned to them) and, on 64-bit
    /// targets, in the user half of a 48-bit address space. One masked compare on 64-bit.
    #[inline(always)]
    pub(crate) fn plausible(self, len: u32) -> bool {
        let misaligned = core::mem::align_of::<FreeSlot>() - 1;
        #[cfg(target_pointer_width = "64")]
        {
            // Head bit 47 lands on bit 63; the head's low bits right above the length.
            let checked = 1 << 63 | misaligned << Self::LEN_BITS | Self::MAX_LEN as usize;
            (self.0.addr() ^ len as usize) & checked == 0
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            self.0.head.addr() & misaligned == 0 && self.0.len == len
        }
    }
}

impl core::fmt::Debug for Top {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Top({:p}, {})", self.head(), self.len())
    }
}

/// A chain of `len` free slots starting at `head` (null when `len == 0`).
///
/// Invariant: following `next` from `head` visits exactly `len` distinct free slots, each
/// owned by whoever holds the magazine, and ends at null; the link of each slot names the
/// rest of the chain and its length (the module's invariant).
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
        unsafe { secret.link(slot, self.top()) };
        self.head = slot;
        self.len += 1;
    }

    /// The magazine as one word.
    #[inline(always)]
    pub(crate) fn top(self) -> Top {
        Top::new(self.head, self.len)
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
            let next = unsafe { secret.next(cur) }.head();
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

    #[test]
    fn every_link_names_the_rest_of_its_chain() {
        let mut slots = core::mem::MaybeUninit::<[FreeSlot; 3]>::uninit();
        let base = slots.as_mut_ptr().cast::<FreeSlot>();
        let secret = Secret::UNSET;
        let mut m = Magazine::EMPTY;
        for i in 0..3 {
            // SAFETY: the slots are ours, aligned for a `FreeSlot`, and in no chain.
            unsafe { m.push(base.wrapping_add(i), secret) };
        }
        let mut at = m.top();
        for left in (0..3).rev() {
            // SAFETY: `at` heads the rest of our chain.
            let rest = unsafe { secret.next(at.head()) };
            assert_eq!(rest.len(), left);
            at = rest;
        }
        assert_eq!(at, Top::EMPTY);
    }

    #[test]
    fn a_top_keeps_its_slot_and_length() {
        let mut slot = FreeSlot::UNLINKED;
        let p: *mut FreeSlot = &mut slot;
        for len in [1, 2, Top::MAX_LEN] {
            let t = Top::new(p, len);
            assert_eq!((t.head(), t.len()), (p, len));
        }
        assert!(Top::EMPTY.head().is_null() && Top::EMPTY.len() == 0);
        assert!(Top::holds(1 << 47) && (usize::BITS < 64 || !Top::holds((1 << 48) + 1)));
    }

    /// What `Secret::take` accepts as a decoded link: the expected length, an aligned head, and
    /// nothing a wild write would leave (a misaligned head, the top bit, a wrong length).
    #[test]
    #[cfg(typool_checked)]
    fn a_plausible_link_is_aligned_below_2_47_and_as_long_as_expected() {
        let mut slots = [FreeSlot::UNLINKED, FreeSlot::UNLINKED];
        let head: *mut FreeSlot = &mut slots[1];
        let top = Top::new(head, 3);
        assert!(top.plausible(3));
        assert!(!top.plausible(2), "a wrong length");
        assert!(Top::EMPTY.plausible(0), "the end of a chain");
        if cfg!(target_pointer_width = "64") {
            let misaligned = top.masked(4 << Top::LEN_BITS);
            assert!(!misaligned.plausible(3), "a head off its slot's alignment");
            assert!(!top.masked(1 << 63).plausible(3), "a head above 2^47");
        }
    }
}

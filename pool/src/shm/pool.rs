//! [`SharedPool`], [`SharedBox`] and [`ShmIndex`]: the typed front of a shared segment.

use super::error::{ShmError, SlotLayout};
use super::layout::{Layout, View};
use super::registry::{self, Alive};
use super::segment;
use super::state::{self, QUEUED};
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed, Release};
use crate::typed::error::short_type_name;
use crate::{Granted, PoolError, PoolStats};
use bytemuck::Pod;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::marker::PhantomData;
use core::mem::{align_of, size_of, ManuallyDrop};
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use std::sync::atomic::AtomicU32;

/// A pool of `T` slots in a named shared-memory segment, which every process that opens the
/// name shares: a value allocated in one process is read, written and freed in another
/// without a copy.
///
/// One handle belongs to one thread (`SharedPool` is `Send` but not `Sync`): it has a cache of
/// free slots that it alone uses, as a typed pool's thread has. Open the segment once more in
/// each thread that uses it. Up to 64 handles, in any processes, can have a segment open.
///
/// # Examples
///
/// ```
/// use typool::bytemuck::{Pod, Zeroable};
/// use typool::shm::SharedPool;
///
/// #[derive(Clone, Copy, Pod, Zeroable)]
/// #[bytemuck(crate = "typool::bytemuck")] // or depend on bytemuck 1 and leave this out
/// #[repr(C)]
/// struct Msg {
///     seq: u64,
///     payload: [u64; 7],
/// }
///
/// # let name = format!("typool-doc-{}", std::process::id());
/// let feed = SharedPool::<Msg>::create(&name, 1024)?;
/// let msg = feed.alloc(Msg { seq: 1, payload: [0; 7] }).expect("a free slot");
/// assert!(feed.send(msg).is_ok(), "the ring holds as many boxes as there are slots");
///
/// // In another process (here a second handle): open the name and receive.
/// let reader = SharedPool::<Msg>::open(&name)?;
/// let got = reader.recv().expect("one message");
/// assert_eq!(got.seq, 1);
/// drop(got); // the slot is free again, for any process
/// # drop((feed, reader));
/// SharedPool::<Msg>::unlink(&name)?;
/// # Ok::<(), typool::shm::ShmError>(())
/// ```
pub struct SharedPool<T: Pod> {
    // Invariant: `view` points into `memory`, which stays mapped for as long as `self` lives;
    // its `'static` is never handed out (every borrow of it is bounded by `&self`).
    view: View<'static>,
    /// Keeps the segment mapped (or, in the unit tests, allocated) while `view` is used.
    _memory: Memory,
    name: Box<str>,
    /// The registry entry this handle holds; its slots are tagged with it.
    entry: u32,
    /// This process's `who` word (registry.rs).
    me: u64,
    alive: Alive,
    /// Free slots tagged `cached(entry)`, for this handle alone.
    cache: RefCell<Vec<u32>>,
    cache_max: usize,
    batch: usize,
    hits: Cell<u64>,
    misses: Cell<u64>,
    transfers: Cell<u64>,
    /// [`FORKS`] when the handle was made: a forked child's copy of it is not its own. (A
    /// `Cell` so that the unit tests can make a handle die: see `tests::die`.)
    forks: Cell<u32>,
    _slots: PhantomData<T>,
}

// SAFETY: a handle holds no thread-affine state: its entry, cache and counters move with it,
// and the segment is shared memory that any thread may use. `T: Pod` values hold no pointers.
unsafe impl<T: Pod + Send> Send for SharedPool<T> {}

enum Memory {
    Segment(segment::Mapping),
    #[cfg(test)]
    Heap(std::sync::Arc<tests::HeapSegment>),
}

impl Memory {
    fn base(&self) -> NonNull<u8> {
        match self {
            Memory::Segment(m) => m.base(),
            #[cfg(test)]
            Memory::Heap(h) => h.base,
        }
    }
}

/// Forks this process went through, counted in each child by a `pthread_atfork` handler.
static FORKS: AtomicU32 = AtomicU32::new(0);

extern "C" fn forked() {
    FORKS.fetch_add(1, Relaxed);
}

fn count_forks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `forked` is an `extern "C" fn()` that lives as long as the process and only
        // increments an atomic, which a child handler may do. The only error is ENOMEM; then a
        // forked child's use of its parent's handle goes unnoticed, as before this call.
        unsafe { libc::pthread_atfork(None, None, Some(forked)) };
    });
}

fn wanted<T>() -> SlotLayout {
    SlotLayout {
        type_name: core::any::type_name::<T>().to_owned(),
        size: size_of::<T>(),
        align: align_of::<T>(),
    }
}

impl<T: Pod> SharedPool<T> {
    /// Creates segment `name` with `capacity` slots, all free, and opens it.
    ///
    /// The segment is for the current user only (mode 0600). A segment of that name left by
    /// processes that are all dead is replaced; replacing is not atomic against another
    /// process creating the same name at the same moment.
    ///
    /// # Errors
    ///
    /// [`ShmError::Exists`] if a live process has a segment of that name open;
    /// [`ShmError::InvalidName`], [`ShmError::BadCapacity`] (0, above 2³⁰, a zero-sized `T`,
    /// or one aligned to more than a page), or [`ShmError::Os`] — among them `fallocate`'s
    /// `ENOSPC` when `/dev/shm` cannot hold the segment (its memory is reserved up front, so
    /// that a full `/dev/shm` is this error and not a `SIGBUS` later).
    pub fn create(name: &str, capacity: usize) -> Result<Self, ShmError> {
        segment::object_name(name)?;
        let layout = Layout::new(capacity, size_of::<T>(), align_of::<T>()).ok_or(
            ShmError::BadCapacity {
                name: name.to_owned(),
                capacity,
            },
        )?;
        let mapping = match segment::create(name, &layout) {
            Err(ShmError::Exists { .. }) if Self::abandoned(name) => {
                match segment::unlink(name) {
                    Ok(()) | Err(ShmError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
                segment::create(name, &layout)?
            }
            made => made?,
        };
        // SAFETY: the mapping is `layout.len` bytes, page-aligned and writable; its atomic
        // parts are only accessed as atomics, by this code in every process.
        unsafe { View::new(mapping.base(), layout) }.init(core::any::type_name::<T>());
        let pool = Self::attach_segment(name, mapping, layout);
        match &pool {
            Ok(pool) => pool.view.publish(),
            // Nobody could have opened it (no magic yet): the name goes with the failure.
            Err(_) => {
                let _ = segment::unlink(name);
            }
        }
        pool
    }

    /// Opens segment `name`, which another process (or this one) created for `T`, and
    /// returns the slots of handles whose processes died (see [`recover`](Self::recover)).
    ///
    /// # Errors
    ///
    /// [`ShmError::NotFound`]; [`ShmError::WrongType`] if the segment holds another layout
    /// (the message names both); [`ShmError::Corrupt`] if it is not a finished typool
    /// segment (an unfinished one is waited for up to 2 s); [`ShmError::TooManyHandles`];
    /// [`ShmError::InvalidName`] or [`ShmError::Os`].
    pub fn open(name: &str) -> Result<Self, ShmError> {
        let (mapping, described) = segment::open(name)?;
        let found = SlotLayout {
            type_name: described.type_name.clone(),
            size: described.slot_size as usize,
            align: described.slot_align as usize,
        };
        let wanted = wanted::<T>();
        if (found.size, found.align) != (wanted.size, wanted.align) {
            return Err(ShmError::WrongType {
                name: name.to_owned(),
                found,
                wanted,
            });
        }
        let layout = described.layout().ok_or(ShmError::Corrupt {
            name: name.to_owned(),
            reason: "its header's capacity does not give its length",
        })?;
        Self::attach_segment(name, mapping, layout)
    }

    /// Removes the name `name`. Processes that have the segment open keep using it; it is
    /// freed when the last one closes it, and a later `create` of the name makes a new one.
    ///
    /// # Errors
    ///
    /// [`ShmError::NotFound`], [`ShmError::InvalidName`] or [`ShmError::Os`].
    pub fn unlink(name: &str) -> Result<(), ShmError> {
        segment::unlink(name)
    }

    /// Registers this process in a mapped segment laid out as `layout` (checked against it).
    fn attach_segment(
        name: &str,
        mapping: segment::Mapping,
        layout: Layout,
    ) -> Result<Self, ShmError> {
        let me = registry::me().ok_or_else(|| ShmError::Os {
            name: name.to_owned(),
            call: "reading /proc/self/stat",
            source: std::io::Error::last_os_error(),
        })?;
        let memory = Memory::Segment(mapping);
        Self::attach(name, memory, layout, me, registry::process_alive)
    }

    /// Whether the existing segment `name` is one no live process has open (or not one that
    /// anyone can use).
    fn abandoned(name: &str) -> bool {
        let (mapping, d) = match segment::open(name) {
            Ok(opened) => opened,
            Err(e) => return matches!(e, ShmError::Corrupt { .. }),
        };
        let Some(layout) = d.layout() else {
            return true;
        };
        // SAFETY: as in `create`; the layout was checked against the mapping's length.
        let view = unsafe { View::new(mapping.base(), layout) };
        !view.in_use(registry::process_alive)
    }

    fn attach(
        name: &str,
        memory: Memory,
        layout: Layout,
        me: u64,
        alive: Alive,
    ) -> Result<Self, ShmError> {
        count_forks();
        // SAFETY: `memory` is a whole segment of `layout.len` bytes (checked by the caller),
        // kept alive with the view in `Self`.
        let view = unsafe { View::new(memory.base(), layout) };
        let (entry, _) = view.register(me, alive);
        let entry = entry.ok_or(ShmError::TooManyHandles {
            name: name.to_owned(),
        })?;
        view.recover_dead(me, alive);
        let cache_max = (layout.capacity as usize / 8).min(64);
        Ok(SharedPool {
            view,
            _memory: memory,
            name: name.into(),
            entry,
            me,
            alive,
            cache: RefCell::new(Vec::with_capacity(cache_max + 1)),
            cache_max,
            batch: (cache_max / 2).max(1),
            hits: Cell::new(0),
            misses: Cell::new(0),
            transfers: Cell::new(0),
            forks: Cell::new(FORKS.load(Relaxed)),
            _slots: PhantomData,
        })
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many slots the segment has.
    pub fn capacity(&self) -> usize {
        self.view.layout.capacity as usize
    }

    /// Whether this handle belongs to this process (not a forked child's copy of it).
    fn here(&self) -> bool {
        FORKS.load(Relaxed) == self.forks.get()
    }

    fn check_here(&self) {
        assert!(
            self.here(),
            "this handle to shared segment `{}` was opened by the parent of this forked \
             process; open the segment again in the child",
            self.name
        );
    }

    fn state(&self, index: u32) -> &crate::sync::AtomicU64 {
        &self.view.states[index as usize]
    }

    /// Moves `value` into a free slot.
    ///
    /// # Errors
    ///
    /// [`PoolError::Exhausted`], holding `value`, when every slot is in use or in another
    /// handle's cache.
    ///
    /// # Panics
    ///
    /// In a forked child, on its parent's handle.
    #[inline]
    pub fn alloc(&self, value: T) -> Result<SharedBox<'_, T>, PoolError<T>> {
        self.check_here();
        let cached = self.cache.borrow_mut().pop();
        let index = match cached {
            Some(index) => {
                self.hits.set(self.hits.get() + 1);
                index
            }
            None => match self.refill() {
                Some(index) => index,
                None => return Err(self.exhausted(value)),
            },
        };
        let s = self.state(index);
        let generation = state::generation(s.load(Relaxed)).wrapping_add(1);
        s.store(state::word(generation, state::held(self.entry)), Relaxed);
        // SAFETY: the slot is this handle's (tagged with its entry) and lies in the mapping;
        // `T: Pod` has no drop glue, so whatever the slot held is overwritten as bytes.
        unsafe { self.view.slot(index).cast::<T>().write(value) };
        Ok(SharedBox { pool: self, index })
    }

    /// Claims up to `batch` free slots from the free ring into the cache; one of them.
    #[cold]
    fn refill(&self) -> Option<u32> {
        self.misses.set(self.misses.get() + 1);
        self.transfers.set(self.transfers.get() + 1);
        let tag = state::cached(self.entry);
        let claim = |index: u32| {
            let s = self.state(index);
            let w = s.load(Acquire);
            state::tag(w) == state::FREE
                && s.compare_exchange(w, state::word(state::generation(w), tag), AcqRel, Relaxed)
                    .is_ok()
        };
        let mut cache = self.cache.borrow_mut();
        for _ in 0..self.batch {
            match self.view.free.pop(claim) {
                Some(index) => cache.push(index),
                None => break,
            }
        }
        cache.pop()
    }

    fn exhausted(&self, value: T) -> PoolError<T> {
        // Not a scan of every state (a sender that retries a full segment of a million slots
        // would read 8 MB per try): the slots in neither the free ring nor this cache. Other
        // handles' caches count as live here, as `PoolError` allows.
        let free = self.view.free.len_hint() as usize + self.cache.borrow().len();
        PoolError::Exhausted {
            value,
            limit: self.capacity(),
            live: self.capacity().saturating_sub(free),
            type_name: core::any::type_name::<T>(),
        }
    }

    /// Takes back a slot of a box being dropped.
    fn release(&self, index: u32) {
        if !self.here() {
            // A forked child's copy of its parent's box: the slot is the parent's.
            return;
        }
        let s = self.state(index);
        let w = s.load(Relaxed);
        s.store(
            state::word(state::generation(w), state::cached(self.entry)),
            Relaxed,
        );
        let mut cache = self.cache.borrow_mut();
        cache.push(index);
        if cache.len() > self.cache_max {
            self.spill(&mut cache);
        }
    }

    /// Frees the cache down to half of its bound, onto the free ring.
    #[cold]
    fn spill(&self, cache: &mut Vec<u32>) {
        self.transfers.set(self.transfers.get() + 1);
        let entry = &self.view.entries[self.entry as usize];
        let keep = self.cache_max / 2;
        let mut kept = Vec::new();
        for index in cache.drain(keep..) {
            let s = self.state(index);
            let w = s.load(Relaxed);
            let free = state::word(state::generation(w), state::FREE);
            registry::intend(entry, registry::FREE, index);
            s.store(free, Release);
            if self.view.free.push(index).is_err()
                && s.compare_exchange(free, w, AcqRel, Relaxed).is_ok()
            {
                // No room (only stale entries can fill it): the slot stays this handle's.
                kept.push(index);
            }
            registry::done(entry);
        }
        cache.extend(kept);
    }

    /// Puts the box's slot on the segment's message ring, for whichever handle calls
    /// [`recv`](Self::recv) first, in any process. A full ring hands the box back.
    ///
    /// # Panics
    ///
    /// If `b` is another handle's box (receive it on the handle that will send it), or in a
    /// forked child on its parent's handle.
    pub fn send<'p>(&'p self, b: SharedBox<'p, T>) -> Result<(), SharedBox<'p, T>> {
        assert!(
            core::ptr::eq(b.pool, self),
            "a box of another handle was sent through shared segment `{}`",
            self.name
        );
        self.check_here();
        let index = b.index;
        let s = self.state(index);
        let held = s.load(Relaxed);
        let queued = state::word(state::generation(held), QUEUED);
        let entry = &self.view.entries[self.entry as usize];
        registry::intend(entry, registry::SEND, index);
        // Release: the slot's contents happen before the receiver's claim.
        s.store(queued, Release);
        // If the push fails and taking the slot back fails too, a receiver claimed it through
        // an older entry (ring.rs): it was sent all the same.
        let sent = self.view.messages.push(index).is_ok()
            || s.compare_exchange(queued, held, AcqRel, Relaxed).is_err();
        registry::done(entry);
        if sent {
            core::mem::forget(b);
            Ok(())
        } else {
            Err(b)
        }
    }

    /// The oldest box on the message ring, sent by any handle; `None` when it is empty.
    ///
    /// # Panics
    ///
    /// In a forked child, on its parent's handle.
    pub fn recv(&self) -> Option<SharedBox<'_, T>> {
        self.check_here();
        let held = state::held(self.entry);
        let index = self.view.messages.pop(|index| {
            let s = self.state(index);
            let w = s.load(Acquire);
            state::tag(w) == QUEUED
                && s.compare_exchange(w, state::word(state::generation(w), held), AcqRel, Relaxed)
                    .is_ok()
        })?;
        Some(SharedBox { pool: self, index })
    }

    /// The box whose slot `index` names, handed out by [`SharedBox::into_index`] in any
    /// process.
    ///
    /// # Errors
    ///
    /// [`ShmError::OutOfRange`] for an index beyond the slots; [`ShmError::StaleIndex`] for
    /// one that was taken already, names an older generation of its slot, was recovered from
    /// a dead process, or was never handed out. Never a box of a slot someone else holds.
    ///
    /// # Panics
    ///
    /// In a forked child, on its parent's handle.
    pub fn take(&self, index: ShmIndex) -> Result<SharedBox<'_, T>, ShmError> {
        self.check_here();
        let (slot, generation) = (index.0 as u32, (index.0 >> 32) as u32);
        if slot >= self.view.layout.capacity {
            return Err(ShmError::OutOfRange {
                name: self.name.to_string(),
                index: index.0,
                capacity: self.capacity(),
            });
        }
        let s = self.state(slot);
        let w = s.load(Acquire);
        let held = state::word(generation, state::held(self.entry));
        if state::generation(w) == generation
            && state::is_handed(state::tag(w))
            && s.compare_exchange(w, held, AcqRel, Relaxed).is_ok()
        {
            return Ok(SharedBox {
                pool: self,
                index: slot,
            });
        }
        Err(ShmError::StaleIndex {
            name: self.name.to_string(),
            index: index.0,
        })
    }

    /// Returns the slots that handles of dead processes held — in boxes, in their caches,
    /// handed out as indices and not taken — to the free ring, and finishes a send or a free
    /// a dying process was in the middle of. Returns how many slots came back. [`open`]
    /// and [`create`] run it too.
    ///
    /// [`open`]: Self::open
    /// [`create`]: Self::create
    ///
    /// # Panics
    ///
    /// In a forked child, on its parent's handle.
    pub fn recover(&self) -> usize {
        self.check_here();
        self.view.recover_dead(self.me, self.alive)
    }

    fn live(&self) -> usize {
        let live = |s: &crate::sync::AtomicU64| state::is_live(state::tag(s.load(Relaxed)));
        self.view.states.iter().filter(|s| live(s)).count()
    }

    /// A snapshot of the segment: `live` counts slots in boxes, sent, or handed out as
    /// indices, in every process (a scan of the slots' states); the hit, miss and transfer
    /// counts are this handle's.
    pub fn stats(&self) -> PoolStats {
        let live = self.live();
        let peak = self.view.header.peak_live.fetch_max(live as u64, Relaxed);
        let path = core::any::type_name::<T>();
        PoolStats {
            type_name: short_type_name(path),
            type_path: path,
            slot_size: self.view.layout.stride,
            live,
            peak_live: live.max(peak as usize),
            reserved_slots: self.capacity(),
            cache_hits: self.hits.get(),
            cache_misses: self.misses.get(),
            depot_transfers: self.transfers.get(),
            segments: 1,
            bytes_reserved: self.view.layout.len,
            bytes_committed: self.view.layout.len,
            backing: Granted::File,
        }
    }
}

impl<T: Pod> Drop for SharedPool<T> {
    /// Returns every slot the handle holds — its cache, boxes it forgot, indices it handed out
    /// that no one took — and gives up its entry. Unmaps the segment; the name stays.
    fn drop(&mut self) {
        if self.here() {
            self.view.deregister(self.entry, self.me);
        }
    }
}

impl<T: Pod> fmt::Debug for SharedPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPool")
            .field("name", &self.name)
            .field("type", &core::any::type_name::<T>())
            .field("capacity", &self.capacity())
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

/// A `T` in a slot of a shared segment; dropping it frees the slot.
///
/// [`SharedPool::send`] hands it to another process; [`into_index`](Self::into_index) turns it
/// into an index for a channel of the program's own.
pub struct SharedBox<'p, T: Pod> {
    pool: &'p SharedPool<T>,
    /// Below the capacity; the slot's state is `held(pool.entry)`.
    index: u32,
}

impl<'p, T: Pod> SharedBox<'p, T> {
    /// Gives the slot up as an index that [`SharedPool::take`] (in any process) turns back
    /// into a box, once. The slot stays this handle's until then: if the handle is dropped or
    /// its process dies first, the slot is freed and the index goes stale.
    pub fn into_index(self) -> ShmIndex {
        let this = ManuallyDrop::new(self);
        let s = this.pool.state(this.index);
        let w = s.load(Relaxed);
        let generation = state::generation(w);
        // Release: the slot's contents happen before the taker's claim.
        s.store(
            state::word(generation, state::handed(this.pool.entry)),
            Release,
        );
        ShmIndex(u64::from(generation) << 32 | u64::from(this.index))
    }

    fn ptr(&self) -> *mut T {
        self.pool.view.slot(self.index).cast()
    }
}

impl<T: Pod> Deref for SharedBox<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the slot holds a `T` written by `alloc` (or received whole), aligned by the
        // layout, and this box alone holds it in this process. Another process can write it
        // only by ignoring the slot's state: shared memory cannot stop a hostile peer from
        // writing bytes, and any bytes are a valid `T: Pod`.
        unsafe { &*self.ptr() }
    }
}

impl<T: Pod> DerefMut for SharedBox<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only borrow in this process.
        unsafe { &mut *self.ptr() }
    }
}

impl<T: Pod> Drop for SharedBox<'_, T> {
    fn drop(&mut self) {
        self.pool.release(self.index);
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for SharedBox<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A slot of a shared segment given up by [`SharedBox::into_index`]: 8 bytes to pass through
/// any channel, and back into a box with [`SharedPool::take`]. It names the slot and its
/// generation, so an index kept after its slot was taken is refused, not aliased.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShmIndex(u64);

impl ShmIndex {
    /// The index as a number, to send.
    pub fn to_raw(self) -> u64 {
        self.0
    }

    /// An index received as a number. Any number is accepted here; [`SharedPool::take`]
    /// checks it.
    pub fn from_raw(raw: u64) -> ShmIndex {
        ShmIndex(raw)
    }
}

#[cfg(test)]
pub(super) mod tests;

//! The segment's logic over heap memory, so that it runs under Miri: "processes" are handles
//! with their own `who` words, and a process is dead when its pid is 1000 or more.
//! The two-process tests over real segments are in `tests/tests/shm.rs`.

use super::*;
use crate::shm::registry::live;
use std::sync::Arc;

/// A zeroed, page-aligned block standing in for a mapped segment.
pub(in crate::shm) struct HeapSegment {
    pub(super) base: NonNull<u8>,
    layout: Layout,
}

// SAFETY: the block is plain memory; what is shared in it is only accessed atomically.
unsafe impl Send for HeapSegment {}
// SAFETY: as above.
unsafe impl Sync for HeapSegment {}

impl HeapSegment {
    fn alloc_layout(len: usize) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(len, 4096).unwrap()
    }

    fn new<T: Pod>(capacity: usize) -> Arc<HeapSegment> {
        let layout = Layout::new(capacity, size_of::<T>(), align_of::<T>()).unwrap();
        // SAFETY: the layout's length is not zero.
        let base = unsafe { std::alloc::alloc_zeroed(Self::alloc_layout(layout.len)) };
        let base = NonNull::new(base).expect("test allocation");
        // SAFETY: a fresh zeroed block of `layout.len` bytes, page-aligned.
        let view = unsafe { View::new(base, layout) };
        view.init(core::any::type_name::<T>());
        view.publish();
        Arc::new(HeapSegment { base, layout })
    }
}

impl Drop for HeapSegment {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.base.as_ptr(), Self::alloc_layout(self.layout.len)) }
    }
}

impl<T: Pod> SharedPool<T> {
    /// Makes this handle's process die: from now on it and its boxes touch nothing when they
    /// are used or dropped, as a dead process would not, and its entry and slots stay as
    /// they were for a recovery to find (its pid, 1000 or more, already reads as dead).
    fn die(&self) {
        self.forks.set(u32::MAX);
    }
}

fn alive(who: u64) -> bool {
    // The pid field (see registry.rs).
    ((who & !(1 << 63)) >> 41) < 1000
}

fn handle<T: Pod>(segment: &Arc<HeapSegment>, pid: u32) -> SharedPool<T> {
    SharedPool::attach(
        "test",
        Memory::Heap(segment.clone()),
        segment.layout,
        live(pid, 7),
        alive,
    )
    .unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
struct Msg {
    seq: u64,
    sum: u64,
}

fn msg(seq: u64) -> Msg {
    Msg {
        seq,
        sum: seq.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    }
}

#[test]
fn a_box_goes_from_one_process_to_another_and_back_to_the_free_ring() {
    let seg = HeapSegment::new::<Msg>(16);
    let a = handle::<Msg>(&seg, 1);
    let b = handle::<Msg>(&seg, 2);
    let mut boxed = a.alloc(msg(1)).unwrap();
    boxed.seq = 5;
    a.send(boxed).unwrap();
    assert_eq!(a.stats().live, 1);
    let got = b.recv().expect("sent");
    assert_eq!(got.seq, 5);
    assert!(b.recv().is_none());
    drop(got);
    assert_eq!(b.stats().live, 0);
    drop((a, b));
    // Both handles gave their caches back: every slot can be had by a new one.
    let c = handle::<Msg>(&seg, 3);
    let all: Vec<_> = (0..16).map(|i| c.alloc(msg(i)).unwrap()).collect();
    assert_eq!(c.stats().live, 16);
    drop(all);
}

#[test]
fn a_full_segment_hands_the_value_back() {
    let seg = HeapSegment::new::<Msg>(4);
    let a = handle::<Msg>(&seg, 1);
    let held: Vec<_> = (0..4).map(|i| a.alloc(msg(i)).unwrap()).collect();
    match a.alloc(msg(9)) {
        Err(PoolError::Exhausted {
            value, limit, live, ..
        }) => assert_eq!((value, limit, live), (msg(9), 4, 4)),
        other => panic!("{other:?}"),
    }
    drop(held);
    assert!(a.alloc(msg(9)).is_ok());
}

#[test]
fn an_index_is_taken_once_and_never_after_its_slot_moved_on() {
    let seg = HeapSegment::new::<Msg>(8);
    let a = handle::<Msg>(&seg, 1);
    let b = handle::<Msg>(&seg, 2);
    let index = a.alloc(msg(3)).unwrap().into_index();
    let raw = ShmIndex::from_raw(index.to_raw());
    let taken = b.take(raw).unwrap();
    assert_eq!(*taken, msg(3));
    assert!(matches!(b.take(raw), Err(ShmError::StaleIndex { .. })));
    drop(taken);
    // The slot is handed out again, one generation on: the old index stays stale.
    let again: Vec<_> = (0..8).map(|i| b.alloc(msg(i)).unwrap()).collect();
    assert!(matches!(a.take(raw), Err(ShmError::StaleIndex { .. })));
    let err = a.take(ShmIndex::from_raw(8)).unwrap_err();
    assert!(
        matches!(err, ShmError::OutOfRange { capacity: 8, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("`test`"), "{err}");
    // A box that is held, not handed, cannot be taken even with its right generation.
    let held = ShmIndex::from_raw(seg_word(&a, 0));
    assert!(matches!(a.take(held), Err(ShmError::StaleIndex { .. })));
    drop(again);
}

/// The index a box on slot `i` would have: its generation and slot.
fn seg_word(pool: &SharedPool<Msg>, i: u32) -> u64 {
    u64::from(state::generation(pool.state(i).load(Relaxed))) << 32 | u64::from(i)
}

#[test]
fn a_dead_process_s_slots_come_back() {
    let seg = HeapSegment::new::<Msg>(64);
    let survivor = handle::<Msg>(&seg, 1);
    // A process that dies (pid 1000: dead, for `alive`) holding boxes, a sent box that no one
    // received yet, an index it handed out, and its cache.
    let dying = handle::<Msg>(&seg, 1000);
    let boxes: Vec<_> = (0..9).map(|i| dying.alloc(msg(i)).unwrap()).collect();
    dying.send(dying.alloc(msg(77)).unwrap()).unwrap();
    let index = dying.alloc(msg(78)).unwrap().into_index();
    let cached = dying.cache.borrow().len();
    assert!(cached > 0);
    dying.die();
    drop(boxes);
    drop(dying);
    assert_eq!(survivor.stats().live, 11);
    // The boxes, the index and the cache come back; the sent box stays sent.
    assert_eq!(survivor.recover(), 9 + 1 + cached);
    assert_eq!(survivor.recover(), 0);
    assert!(matches!(
        survivor.take(index),
        Err(ShmError::StaleIndex { .. })
    ));
    assert_eq!(*survivor.recv().unwrap(), msg(77));
    let all: Vec<_> = (0..64).map(|i| survivor.alloc(msg(i)).unwrap()).collect();
    assert_eq!(survivor.stats().live, 64);
    drop(all);
}

#[test]
fn a_send_cut_short_by_death_is_delivered_once() {
    let seg = HeapSegment::new::<Msg>(8);
    let receiver = handle::<Msg>(&seg, 1);
    let dying = handle::<Msg>(&seg, 1000);
    let b = dying.alloc(msg(5)).unwrap();
    let index = b.index;
    // The sender wrote its intent and the state, and died before the push.
    registry::intend(
        &dying.view.entries[dying.entry as usize],
        registry::SEND,
        index,
    );
    let s = dying.state(index);
    s.store(
        state::word(state::generation(s.load(Relaxed)), QUEUED),
        Release,
    );
    dying.die();
    drop(b);
    drop(dying);
    assert!(receiver.recv().is_none());
    receiver.recover();
    assert_eq!(*receiver.recv().unwrap(), msg(5));
    assert!(receiver.recv().is_none());
}

#[test]
fn a_send_cut_short_after_its_push_is_not_delivered_twice() {
    let seg = HeapSegment::new::<Msg>(8);
    let receiver = handle::<Msg>(&seg, 1);
    let dying = handle::<Msg>(&seg, 1000);
    let entry = &dying.view.entries[dying.entry as usize];
    let b = dying.alloc(msg(6)).unwrap();
    // Died after the push, before clearing its intent: the recovery pushes a second entry.
    let index = b.index;
    dying.send(b).unwrap();
    registry::intend(entry, registry::SEND, index);
    dying.die();
    drop(dying);
    receiver.recover();
    assert_eq!(receiver.view.messages.len_hint(), 2);
    let got = receiver.recv().unwrap();
    assert_eq!(*got, msg(6));
    assert!(receiver.recv().is_none(), "the duplicate is stale");
    assert_eq!(receiver.view.messages.len_hint(), 0);
    drop(got);
}

#[test]
fn a_free_cut_short_by_death_leaves_the_slot_reachable() {
    let seg = HeapSegment::new::<Msg>(8);
    let survivor = handle::<Msg>(&seg, 1);
    let dying = handle::<Msg>(&seg, 1000);
    let b = dying.alloc(msg(1)).unwrap();
    let index = b.index;
    dying.die();
    drop(b);
    // A spill stored FREE and died before its push.
    registry::intend(
        &dying.view.entries[dying.entry as usize],
        registry::FREE,
        index,
    );
    let s = dying.state(index);
    s.store(
        state::word(state::generation(s.load(Relaxed)), state::FREE),
        Release,
    );
    drop(dying);
    survivor.recover();
    let all: Vec<_> = (0..8).map(|i| survivor.alloc(msg(i)).unwrap()).collect();
    assert_eq!(all.len(), 8);
}

#[test]
fn a_dead_handle_s_entry_is_reused() {
    let seg = HeapSegment::new::<Msg>(8);
    let dead: Vec<_> = (0..state::ENTRIES)
        .map(|i| handle::<Msg>(&seg, 1000 + i))
        .collect();
    let boxes: Vec<_> = dead.iter().map(|h| h.alloc(msg(0))).collect();
    // Every entry is taken, by dead processes; a new handle recovers one and registers.
    dead.iter().for_each(SharedPool::die);
    drop(boxes);
    drop(dead);
    let fresh = handle::<Msg>(&seg, 1);
    assert!(fresh.alloc(msg(1)).is_ok());
    let full: Vec<_> = (2..state::ENTRIES + 1)
        .map(|i| handle::<Msg>(&seg, i))
        .collect();
    let err = SharedPool::<Msg>::attach(
        "test",
        Memory::Heap(seg.clone()),
        seg.layout,
        live(999, 7),
        alive,
    )
    .unwrap_err();
    assert!(matches!(err, ShmError::TooManyHandles { .. }), "{err}");
    drop(full);
}

#[test]
fn threads_pass_messages_through_their_own_handles() {
    let seg = HeapSegment::new::<Msg>(64);
    let n: u64 = if cfg!(miri) { 200 } else { 20_000 };
    let producers = 2;
    let total = producers as u64 * n;
    let received = &std::sync::atomic::AtomicU64::new(0);
    let sums: Vec<u64> = std::thread::scope(|s| {
        for p in 0..producers {
            let seg = &seg;
            s.spawn(move || {
                let h = handle::<Msg>(seg, 10 + p);
                for i in 0..n {
                    let mut m = loop {
                        match h.alloc(msg(i)) {
                            Ok(m) => break m,
                            Err(_) => std::thread::yield_now(),
                        }
                    };
                    while let Err(back) = h.send(m) {
                        m = back;
                        std::thread::yield_now();
                    }
                }
            });
        }
        let consumers: Vec<_> = (0..2)
            .map(|c| {
                let seg = &seg;
                s.spawn(move || {
                    let h = handle::<Msg>(seg, 20 + c);
                    let mut sum = 0u64;
                    while received.load(Relaxed) < total {
                        match h.recv() {
                            Some(m) => {
                                assert_eq!(*m, msg(m.seq), "a message arrived whole");
                                sum = sum.wrapping_add(m.seq);
                                received.fetch_add(1, Relaxed);
                            }
                            None => std::thread::yield_now(),
                        }
                    }
                    sum
                })
            })
            .collect();
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let expected = producers as u64 * (n * (n - 1) / 2);
    assert_eq!(sums.iter().fold(0u64, |a, s| a.wrapping_add(*s)), expected);
    let h = handle::<Msg>(&seg, 1);
    assert_eq!(h.stats().live, 0);
    let all: Vec<_> = (0..64).map(|i| h.alloc(msg(i)).unwrap()).collect();
    drop(all);
}

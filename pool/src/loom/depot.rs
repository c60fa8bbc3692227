//! Loom models of the depot's tagged stacks (`engine/depot.rs`).

use crate::engine::depot::{Depot, Stash};
use crate::engine::magazine::{FreeSlot, Magazine};
use crate::loom::explore;
use loom::sync::Arc;
use loom::thread;

/// Distinct fake slots for magazines: the depot never reads slot memory itself.
fn slots(n: usize) -> Vec<usize> {
    let mem: &'static mut [FreeSlot] = Vec::leak((0..n).map(|_| FreeSlot::UNLINKED).collect());
    mem.iter_mut()
        .map(|s| s as *mut FreeSlot as usize)
        .collect()
}

fn mag(addr: usize) -> Magazine {
    Magazine {
        head: addr as *mut FreeSlot,
        len: 1,
    }
}

#[test]
fn loom_depot_concurrent_push_then_pop_all() {
    let s = slots(2);
    let runs = explore(move || {
        let depot = Arc::new(Depot::new());
        let handles: Vec<_> = s
            .iter()
            .map(|&a| {
                let depot = depot.clone();
                thread::spawn(move || depot.push(mag(a)).unwrap())
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        let mut got = vec![
            depot.pop().unwrap().head as usize,
            depot.pop().unwrap().head as usize,
        ];
        got.sort_unstable();
        let mut want = s.clone();
        want.sort_unstable();
        assert_eq!(got, want);
        assert!(depot.pop().is_none());
    });
    assert!(runs >= 40, "explored only {runs} executions");
}

#[test]
fn loom_depot_push_races_pop() {
    let s = slots(2);
    let runs = explore(move || {
        let depot = Arc::new(Depot::new());
        depot.push(mag(s[0])).unwrap();
        let d = depot.clone();
        let second = s[1];
        let pusher = thread::spawn(move || d.push(mag(second)).unwrap());
        let first = depot.pop().map(|m| m.head as usize);
        pusher.join().unwrap();
        let rest = depot.pop().map(|m| m.head as usize);
        assert!(depot.pop().is_none());
        let mut all = [first.unwrap(), rest.unwrap()];
        all.sort_unstable();
        let mut want = [s[0], s[1]];
        want.sort_unstable();
        assert_eq!(all, want, "each magazine comes out exactly once");
    });
    assert!(runs >= 12, "explored only {runs} executions");
}

/// The ABA shape from the module docs: a pop is preempted between reading the head and its
/// CAS while another thread pops two and pushes the first back.
#[test]
fn loom_depot_aba_pop_preempted() {
    let s = slots(3);
    let runs = explore(move || {
        let depot = Arc::new(Depot::new());
        for &a in s.iter().rev() {
            depot.push(mag(a)).unwrap(); // stack: s[0] → s[1] → s[2]
        }
        let d = depot.clone();
        let victim = thread::spawn(move || d.pop().unwrap().head as usize);
        let a = depot.pop().unwrap();
        let b = depot.pop().unwrap();
        depot.push(a).unwrap();
        let v = victim.join().unwrap();
        // Whatever the interleaving, the three magazines are each held exactly once:
        // `b` by the main thread, `v` by the victim, the rest in the depot.
        let mut held = vec![b.head as usize, v];
        while let Some(m) = depot.pop() {
            held.push(m.head as usize);
        }
        held.sort_unstable();
        let mut want = s.clone();
        want.sort_unstable();
        assert_eq!(held, want, "a magazine was lost or handed out twice");
    });
    assert!(runs >= 500, "explored only {runs} executions");
}

#[test]
fn loom_depot_descriptor_creation_race() {
    let s = slots(3);
    let runs = explore(move || {
        let depot = Arc::new(Depot::new());
        let hs: Vec<_> = s[..2]
            .iter()
            .map(|&a| {
                let d = depot.clone();
                thread::spawn(move || {
                    d.push(mag(a)).unwrap();
                    d.pop().unwrap().head as usize
                })
            })
            .collect();
        let mut got: Vec<usize> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        got.sort_unstable();
        let mut want = s[..2].to_vec();
        want.sort_unstable();
        assert_eq!(got, want);
        // Both descriptors are spare now and are reused, not leaked.
        depot.push(mag(s[2])).unwrap();
        assert_eq!(depot.pop().unwrap().head as usize, s[2]);
    });
    assert!(runs >= 400, "explored only {runs} executions");
}

/// A thread's stash while `trim` steals from it: the owner pushes two magazines and pops one
/// back while another thread steals. Every magazine ends up in exactly one hand — the owner's,
/// the thief's, the stash's or the depot's — and the owner's descriptors are all accounted
/// for (none lost, none on two stacks).
#[test]
fn loom_stash_steal_races_owner() {
    let s = slots(3);
    let runs = explore(move || {
        let depot = Arc::new(Depot::new());
        let stash = Arc::new(Stash::new());
        stash.push(&depot, mag(s[0])).unwrap();
        let (d, st) = (depot.clone(), stash.clone());
        let thief = thread::spawn(move || {
            let mut got = Vec::new();
            while let Some(m) = st.steal(&d) {
                got.push(m.head as usize);
            }
            got
        });
        stash.push(&depot, mag(s[1])).unwrap();
        let mine = stash.pop(&depot).map(|m| m.head as usize);
        stash.push(&depot, mag(s[2])).unwrap();
        let mut held = thief.join().unwrap();
        held.extend(mine);
        while let Some(m) = stash.pop(&depot) {
            held.push(m.head as usize);
        }
        held.sort_unstable();
        let mut want = s.clone();
        want.sort_unstable();
        assert_eq!(held, want, "a magazine was lost or handed out twice");
        // Every descriptor is spare again, on the stash's list or the depot's: three pushes
        // into the depot reuse them, so at most one exists per magazine in flight.
        stash.return_spares(&depot);
        for &a in &s {
            depot.push(mag(a)).unwrap();
        }
        assert_eq!(depot.created(), 3, "a descriptor was lost, or made twice");
    });
    assert!(runs >= 80, "explored only {runs} executions");
}

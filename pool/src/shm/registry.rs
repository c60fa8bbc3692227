//! Who has the segment open, and how a dead process's slots come back.
//!
//! # Entries
//!
//! Each [`SharedPool`](super::SharedPool) handle registers in one of the segment's
//! [`ENTRIES`] entries and tags the slots it holds with that entry (`state.rs`). An entry's
//! `who` word is
//!
//! - `0`: vacant;
//! - `LIVE(pid, start)`: held by a handle of process `pid`, which the kernel started at
//!   `start` (clock ticks since boot, `/proc/<pid>/stat` field 22), bit 63 clear;
//! - `RECOVERING(pid, start)`: the same with bit 63 set: that process is returning the slots
//!   of the entry's previous holder, who died.
//!
//! pid and start time sit in one word (22 and 41 bits: Linux's largest `pid_max` and 700 years
//! of ticks), so whoever reads an entry reads both at once. A process is alive while
//! `/proc/<pid>/stat` exists, is not a zombie, and names the same start time: a pid reused by a
//! later process does not keep a dead one's entry alive. (So every process using a segment
//! must see the same `/proc`: one PID namespace.)
//!
//! # Recovery
//!
//! An entry whose holder is dead is taken over with one CAS from the exact word read to
//! `RECOVERING(me)`: of several processes that find it dead, one wins, and the entry is not
//! reused while its slots are still tagged with it. The winner returns every slot tagged with
//! the entry (held, handed or cached) to the free ring, finishes the holder's interrupted
//! operation (below), and stores `0`. A recoverer that dies itself is found dead in turn, and
//! the next one starts over: each step is a CAS on a slot's state word or a push of an entry,
//! and doing a step twice only leaves a stale entry behind, which consumers drop.
//!
//! Two operations take two steps, a state store and a ring push; a holder that dies between
//! them leaves a slot that no ring names. Before the first step the holder writes its
//! `intent` (the operation and the slot); after the second it clears it. The recoverer reads
//! it:
//!
//! | intent | slot's tag | the holder died | the recoverer |
//! |---|---|---|---|
//! | send `i` | `QUEUED` | after the store; the push may or may not have happened | pushes `i` onto the message ring again (if that ring is full, frees it) |
//! | free `i` | `FREE` | after the store; the push may or may not have happened | pushes `i` onto the free ring again |
//! | either | anything else | before the store, or `i` was claimed since | nothing more (the tag scan covers it) |
//!
//! A second entry for a slot is harmless: its claim fails once the first was taken. So a
//! message a dying sender was sending is delivered exactly once, and a slot it was freeing is
//! free. No lock exists for a dead process to leave held.

use super::layout::{Entry, View};
use super::state::{self, ENTRIES};
use crate::sync::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Bit 63 of `who`: the holder is recovering the entry.
const RECOVERING: u64 = 1 << 63;
const START_BITS: u32 = 41;
const PID_BITS: u32 = 22;

/// Intent operations (bits 32.. of `intent`; the slot in bits 0..32).
pub(super) const SEND: u64 = 1;
pub(super) const FREE: u64 = 2;

/// How a process is told alive from dead. Real segments ask `/proc` ([`process_alive`]);
/// the in-memory segments of the unit tests, which run under Miri, pass their own.
pub(super) type Alive = fn(u64) -> bool;

/// The `who` word for process `pid` started at `start`.
pub(super) fn live(pid: u32, start: u64) -> u64 {
    (u64::from(pid) & ((1 << PID_BITS) - 1)) << START_BITS | (start & ((1 << START_BITS) - 1))
}

fn pid_of(who: u64) -> u32 {
    ((who & !RECOVERING) >> START_BITS) as u32
}

fn start_of(who: u64) -> u64 {
    who & ((1 << START_BITS) - 1)
}

/// This process's `who` word; `None` if `/proc/self/stat` cannot be read.
pub(super) fn me() -> Option<u64> {
    let pid = std::process::id();
    let (start, _) = proc_stat(pid)?;
    Some(live(pid, start))
}

/// Field 22 (start time) and field 3 (state) of `/proc/<pid>/stat`.
fn proc_stat(pid: u32) -> Option<(u64, u8)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces or ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.bytes().next()?;
    // `rest` starts at field 3; the start time is field 22.
    let start = fields.nth(22 - 4)?.parse().ok()?;
    Some((start, state))
}

/// Whether the process a `who` word names (live or recovering) is alive.
pub(super) fn process_alive(who: u64) -> bool {
    let pid = pid_of(who);
    pid != 0
        && proc_stat(pid).is_some_and(|(start, state)| {
            start & ((1 << START_BITS) - 1) == start_of(who) && state != b'Z' && state != b'X'
        })
}

impl View<'_> {
    /// Takes a vacant entry for `me`, first recovering any dead holder's entry it passes.
    /// Returns the entry, and the slots recovered on the way; `None` when all are live.
    pub(super) fn register(&self, me: u64, alive: Alive) -> (Option<u32>, usize) {
        let mut recovered = 0;
        for (e, entry) in self.entries.iter().enumerate() {
            let e = e as u32;
            loop {
                let who = entry.who.load(Acquire);
                if who == 0 {
                    if entry.who.compare_exchange(0, me, AcqRel, Acquire).is_ok() {
                        entry.intent.store(0, Relaxed);
                        return (Some(e), recovered);
                    }
                } else if alive(who) {
                    break;
                } else {
                    recovered += self.take_over(e, who, me).unwrap_or(0);
                }
            }
        }
        (None, recovered)
    }

    /// Recovers every entry whose holder (or recoverer) is dead; the slots returned.
    pub(super) fn recover_dead(&self, me: u64, alive: Alive) -> usize {
        let mut recovered = 0;
        for (e, entry) in self.entries.iter().enumerate() {
            let who = entry.who.load(Acquire);
            // This process's own entries are alive, whatever `alive` says of them.
            if who != 0 && who & !RECOVERING != me && !alive(who) {
                recovered += self.take_over(e as u32, who, me).unwrap_or(0);
            }
        }
        recovered
    }

    /// Gives up entry `e`, which `me` holds: returns its slots (as a recovery would) and
    /// vacates it. The slots returned.
    pub(super) fn deregister(&self, e: u32, me: u64) -> usize {
        self.take_over(e, me, me).unwrap_or(0)
    }

    /// If `e`'s word is still `who`, makes it `RECOVERING(me)`, returns the slots tagged with
    /// `e`, finishes its intent and vacates it. `None` if another process got there first.
    fn take_over(&self, e: u32, who: u64, me: u64) -> Option<usize> {
        let entry = &self.entries[e as usize];
        entry
            .who
            .compare_exchange(who, me | RECOVERING, AcqRel, Acquire)
            .ok()?;
        let recovered = self.finish_intent(entry) + self.return_tagged(e);
        entry.intent.store(0, Relaxed);
        // Only the recoverer's own word is replaced: a recoverer found dead and taken over
        // while this one ran (it cannot be: this one is alive) would have changed it.
        let _ = entry
            .who
            .compare_exchange(me | RECOVERING, 0, AcqRel, Relaxed);
        Some(recovered)
    }

    /// Completes the two-step operation `entry`'s holder died in (see the module's table).
    /// Counts 0: a slot it touches is counted by the tag scan if it was the holder's.
    fn finish_intent(&self, entry: &Entry) -> usize {
        let intent = entry.intent.load(Acquire);
        let (op, index) = (intent >> 32, intent as u32);
        if op == 0 || index >= self.layout.capacity {
            return 0;
        }
        let tag = state::tag(self.states[index as usize].load(Acquire));
        match op {
            SEND if tag == state::QUEUED && self.messages.push(index).is_err() => {
                // No room for a second entry (the ring is full of stale ones): free the slot
                // rather than leave it sent with perhaps no entry. Its message is lost, as a
                // send that never returned may lose it.
                let s = &self.states[index as usize];
                let w = s.load(Acquire);
                let free = state::word(state::generation(w), state::FREE);
                if state::tag(w) == state::QUEUED
                    && s.compare_exchange(w, free, AcqRel, Relaxed).is_ok()
                {
                    let _ = self.free.push(index);
                }
            }
            FREE if tag == state::FREE => {
                let _ = self.free.push(index);
            }
            _ => {}
        }
        0
    }

    /// Frees every slot tagged with entry `e`; how many.
    fn return_tagged(&self, e: u32) -> usize {
        let mut returned = 0;
        for (i, s) in self.states.iter().enumerate() {
            let w = s.load(Acquire);
            if state::owner(state::tag(w)) != Some(e) {
                continue;
            }
            let free = state::word(state::generation(w), state::FREE);
            if s.compare_exchange(w, free, AcqRel, Relaxed).is_ok() {
                // Fails only with more duplicates in the free ring than slots: the slot stays
                // free without an entry, counted free by `stats` but out of reach.
                let _ = self.free.push(i as u32);
                returned += 1;
            }
        }
        returned
    }

    /// Whether any entry is held by a live process (the segment is in use).
    pub(super) fn in_use(&self, alive: Alive) -> bool {
        self.entries.iter().any(|entry| {
            let who = entry.who.load(Acquire);
            who != 0 && alive(who)
        })
    }
}

/// Records what entry `e`'s holder is about to do, for a recovery to finish.
pub(super) fn intend(entry: &Entry, op: u64, index: u32) {
    entry.intent.store(op << 32 | u64::from(index), Release);
}

/// The operation is done.
pub(super) fn done(entry: &Entry) {
    entry.intent.store(0, Release);
}

const _: () = assert!(ENTRIES <= 64, "owner tags are sized for 64 entries");

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_pid_of_no_process_is_not() {
        let me = me().expect("/proc/self/stat");
        assert_eq!(pid_of(me), std::process::id());
        assert!(process_alive(me));
        assert!(process_alive(me | RECOVERING));
        // Same pid, another start time: a reused pid.
        assert!(!process_alive(live(std::process::id(), start_of(me) + 1)));
        assert!(!process_alive(live((1 << PID_BITS) - 1, 0)));
        assert!(!process_alive(0));
    }

    #[test]
    fn a_zombie_is_dead() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not waited for yet: once it exits it is a zombie until `wait`.
        let start = loop {
            match proc_stat(pid) {
                Some((start, b'Z')) => break start,
                Some(_) => std::thread::yield_now(),
                None => panic!("no /proc entry for the child"),
            }
        };
        assert!(!process_alive(live(pid, start)));
        let mut child = child;
        child.wait().unwrap();
    }
}

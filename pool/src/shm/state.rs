//! A slot's state word: who holds the slot, and how many times it was handed out.
//!
//! Every slot of a segment has one `AtomicU64`, `generation << 32 | tag`. It is the truth about
//! the slot; the rings only carry hints (`ring.rs`). The tag is one of
//!
//! | tag | the slot is |
//! |---|---|
//! | `FREE` (0) | free: an entry for it is in the free ring, or a recovery will put one there |
//! | `QUEUED` (1) | sent: an entry for it is in the message ring, or a recovery will put one there |
//! | `held(e)` | in a [`SharedBox`](super::SharedBox) of the handle registered at entry `e` |
//! | `handed(e)` | turned into a [`ShmIndex`](super::ShmIndex) by entry `e`, not yet taken |
//! | `cached(e)` | free, in entry `e`'s cache |
//!
//! The generation grows by one each time the slot leaves a free state (`FREE`, `cached`) for
//! a box, so an index handed out earlier names an older generation and is refused as stale.
//! Every transition that gives a slot to someone is a CAS that names the whole word it
//! expects; transitions by the holder itself are stores. A tag no row above explains (memory
//! a peer corrupted) matches no expected word, so such a slot is never claimed.

/// How many handles can be registered in one segment at once.
pub(crate) const ENTRIES: u32 = 64;

pub(crate) const FREE: u32 = 0;
pub(crate) const QUEUED: u32 = 1;

/// The word for `tag` at `generation`.
pub(crate) fn word(generation: u32, tag: u32) -> u64 {
    u64::from(generation) << 32 | u64::from(tag)
}

pub(crate) fn generation(word: u64) -> u32 {
    (word >> 32) as u32
}

pub(crate) fn tag(word: u64) -> u32 {
    word as u32
}

pub(crate) fn held(entry: u32) -> u32 {
    2 + 3 * entry
}

pub(crate) fn handed(entry: u32) -> u32 {
    3 + 3 * entry
}

pub(crate) fn cached(entry: u32) -> u32 {
    4 + 3 * entry
}

/// The entry a tag belongs to, if it is `held`, `handed` or `cached` by a valid entry.
pub(crate) fn owner(tag: u32) -> Option<u32> {
    let entry = tag.checked_sub(2)? / 3;
    (entry < ENTRIES).then_some(entry)
}

/// Whether `tag` is `handed` by some entry.
pub(crate) fn is_handed(tag: u32) -> bool {
    owner(tag).is_some_and(|e| tag == handed(e))
}

/// Whether `tag` counts as live in the statistics: sent, in a box, or handed as an index.
pub(crate) fn is_live(tag: u32) -> bool {
    tag == QUEUED || owner(tag).is_some_and(|e| tag != cached(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_entry_and_nothing_else() {
        for e in 0..ENTRIES {
            for t in [held(e), handed(e), cached(e)] {
                assert_eq!(owner(t), Some(e));
            }
            assert!(is_handed(handed(e)) && !is_handed(held(e)) && !is_handed(cached(e)));
            assert!(is_live(held(e)) && is_live(handed(e)) && !is_live(cached(e)));
        }
        assert_eq!(owner(FREE), None);
        assert_eq!(owner(QUEUED), None);
        assert_eq!(owner(cached(ENTRIES - 1) + 1), None);
        assert_eq!(owner(u32::MAX), None);
        assert!(is_live(QUEUED) && !is_live(FREE) && !is_live(u32::MAX));
    }

    #[test]
    fn a_word_splits_back() {
        let w = word(7, handed(3));
        assert_eq!((generation(w), tag(w)), (7, handed(3)));
        assert_eq!(generation(word(u32::MAX, FREE)), u32::MAX);
    }
}

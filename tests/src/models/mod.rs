//! Models of typool's structures: each takes a sequence of operations, runs it against the
//! real thing and a plain model side by side, and panics at the first disagreement.
//!
//! The property tests (`tests/*_model.rs`, proptest) and the fuzz targets (`fuzz/`,
//! cargo-fuzz) drive the same runners: proptest with its strategies, the fuzzer with
//! [`arbitrary`] over raw bytes. So every operation an `Op` can express is checked by the same
//! oracle either way, and the fuzz corpus replays as an ordinary test (`tests/fuzz_corpus.rs`).
//! Runners bring out-of-range fields into range themselves (sizes modulo their cap, indexes
//! modulo the live count), so any `Op` value is meaningful.

pub mod allocator;
pub mod arena;
pub mod pool;
pub mod stable_vector;

/// Decodes a fuzz input into operations: as many as the bytes hold, at most `max`.
pub fn ops_from_bytes<'a, T: arbitrary::Arbitrary<'a>>(data: &'a [u8], max: usize) -> Vec<T> {
    let mut u = arbitrary::Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < max {
        match T::arbitrary(&mut u) {
            Ok(op) if !u.is_empty() || !ops.is_empty() => ops.push(op),
            _ => break,
        }
    }
    ops
}

/// Whether every byte of `bytes` is `fill`: compared a page at a time against a filled page,
/// so the comparison is one `memcmp` per page (a byte-at-a-time loop is what coverage
/// instrumentation makes slowest).
pub fn all_bytes_are(bytes: &[u8], fill: u8) -> bool {
    let page = [fill; 4096];
    bytes.chunks(page.len()).all(|c| c == &page[..c.len()])
}

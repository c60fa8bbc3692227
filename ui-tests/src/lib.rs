//! Compile-time tests of typool's macros: `tests/pass/*.rs` must build and run,
//! `tests/fail/*.rs` must fail with the diagnostic in the `.stderr` beside it.
//!
//! After a deliberate change of a message, regenerate with
//! `TRYBUILD=overwrite cargo test -p typool-ui-tests` and review the diff.

//! Integration and stress tests of typool; they live in `tests/`. This library holds what
//! several of them share.

pub mod workloads;

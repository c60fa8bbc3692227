//! Integration and stress tests of typool; they live in `tests/`.

//! Internal package of the typool workspace; see its `tests/` targets.

//! Internal package of the typool workspace; see its `examples/` targets.

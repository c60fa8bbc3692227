//! Internal package of the typool workspace; see its `benches/` targets.

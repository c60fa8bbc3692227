//! Internal package of the typool workspace; see its `ui-tests/` targets.

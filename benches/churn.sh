#!/usr/bin/env bash
# The churn trace's memory figures: one fresh process per allocator (peak RSS over peak live
# bytes, the fragmentation report at the end of the trace, one-shot wall time).
# Usage: benches/churn.sh [allocations]   (default 1,000,000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --manifest-path benches/Cargo.toml --bin churn
for a in glibc mimalloc slab buddy; do
    benches/target/release/churn "$a" "${1:-1000000}"
done

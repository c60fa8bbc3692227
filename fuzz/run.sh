#!/usr/bin/env bash
# Fuzzes every target for N minutes (default 10), one after another, then minimises each
# corpus. Usage: bash fuzz/run.sh [N]   (nightly and cargo-fuzz needed; see fuzz/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
export RUSTFLAGS="--cfg typool_asan"
for t in pool arena slab buddy stable_vector; do
    mkdir -p "fuzz/corpus/$t"
    echo "== $t: $minutes min"
    cargo +nightly fuzz run -O -a "$t" -- -max_total_time=$((minutes * 60)) -print_final_stats=1 2>&1 |
        grep -E '^(#[0-9]+ *DONE|Done|stat::|==[0-9]+==ERROR|SUMMARY|thread .* panicked)' || true
    cargo +nightly fuzz cmin -O -a "$t" 2>&1 | tail -1
done

#!/usr/bin/env bash
# Instructions per small (u64) arena allocation, reset amortised over 1000, from callgrind:
# (Ir at R2 rounds − Ir at R1 rounds) / ((R2 − R1) × 1000).
# Usage: benches/arena_instructions.sh   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p typool-benches --bin arena_instructions
bin=target/release/arena_instructions
r1=100; r2=1100
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | awk '/Collected/ {print $NF}'; }
printf '| arena | instructions per u64 allocation (reset amortised) |\n|---|---:|\n'
for a in typool_arena bumpalo bump_scope; do
    x=$(ir "$a" $r1); y=$(ir "$a" $r2)
    printf '| %s | %.2f |\n' "$a" "$(echo "($y - $x) / (($r2 - $r1) * 1000)" | bc -l)"
done

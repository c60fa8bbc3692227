#!/usr/bin/env bash
# Instructions per small (u64) arena allocation and per string copy, reset amortised over
# 1000, from callgrind:
# (Ir at R2 rounds − Ir at R1 rounds) / ((R2 − R1) × 1000).
# Usage: benches/arena_instructions.sh   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --manifest-path benches/Cargo.toml --bin arena_instructions
bin=benches/target/release/arena_instructions
r1=100; r2=1100
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 | awk '/Collected/ {print $NF}'; }
printf '| arena | per `u64` allocation | per 33-byte `alloc_str` |\n|---|---:|---:|\n'
for a in typool_arena bumpalo bump_scope; do
    row="| $a |"
    for w in u64 str; do
        x=$(ir "$a" $w $r1); y=$(ir "$a" $w $r2)
        row="$row $(printf '%.2f' "$(echo "($y - $x) / (($r2 - $r1) * 1000)" | bc -l)") |"
    done
    echo "$row"
done
x=$(ir typool_arena scope $r1); y=$(ir typool_arena scope $r2)
printf '\n`#[arena_scope]` enter + exit: %.2f instructions\n' "$(echo "($y - $x) / (($r2 - $r1) * 1000)" | bc -l)"

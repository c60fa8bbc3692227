#!/usr/bin/env bash
# Instructions per alloc+free pair (scenario A) for every contender, from callgrind:
# (Ir at N2 − Ir at N1) / (N2 − N1), so process start-up and warm-up cancel out.
# "net" subtracts the same loop with no allocation (`no_alloc`: write the 64-byte value,
# black_box it, loop), leaving what the allocator itself costs.
# Usage: benches/instructions.sh   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p typool-benches --bin instructions
bin=target/release/instructions
n1=100000; n2=1100000
per_pair() {
    local a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" $n1 2>&1 | awk '/Collected/ {print $NF}')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" $n2 2>&1 | awk '/Collected/ {print $NF}')
    echo "($b - $a) / ($n2 - $n1)" | bc -l
}
base=$(per_pair no_alloc)
printf 'loop without allocation (no_alloc): %.1f instructions per iteration\n\n' "$base"
printf '| contender | instructions per pair | net of the loop |\n|---|---:|---:|\n'
for c in typool box_system box_mimalloc box_slab lockfree_object_pool object_pool sharded_slab mutex_vec tls_freelist; do
    v=$(per_pair "$c")
    printf '| %s | %.1f | %.1f |\n' "$c" "$v" "$(echo "$v - $base" | bc -l)"
done

#!/usr/bin/env bash
# Instructions per object for every contender, from callgrind, built as a user's crate (the
# benches crate is outside typool's workspace, default release profile).
#   A: one alloc + its free.   B: 1000 allocs held, then 1000 frees (per object).
# Per object = (Ir at N2 − Ir at N1) / (N2 − N1), so start-up and warm-up cancel out.
# "net" subtracts the same loop with no allocation (`no_alloc`), leaving what allocation costs.
# `box` rows: Box<Obj> under each #[global_allocator] (one binary each).
# Usage: bash benches/instructions.sh   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --manifest-path benches/Cargo.toml \
    --bin instructions --bin instructions_mimalloc --bin instructions_slab --bin instructions_tracking
dir=benches/target/release
n1=100000; n2=1100000
per_object() { # binary contender scenario
    local a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/$1" "$2" "$3" $n1 2>&1 | awk '/Collected/ {print $NF}')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/$1" "$2" "$3" $n2 2>&1 | awk '/Collected/ {print $NF}')
    echo "($b - $a) / ($n2 - $n1)" | bc -l
}
base_a=$(per_object instructions no_alloc A)
base_b=$(per_object instructions no_alloc B)
printf 'loop without allocation (no_alloc): A %.1f, B %.1f instructions per object\n\n' "$base_a" "$base_b"
printf '| contender | A: per pair | A: net | B: per object | B: net |\n|---|---:|---:|---:|---:|\n'
row() { # label binary contender
    local a b
    a=$(per_object "$2" "$3" A); b=$(per_object "$2" "$3" B)
    printf '| %s | %.1f | %.1f | %.1f | %.1f |\n' "$1" "$a" "$(echo "$a - $base_a" | bc -l)" "$b" "$(echo "$b - $base_b" | bc -l)"
}
row limit instructions limit
row typool instructions typool
row typool_handle instructions typool_handle
row 'typool, generic type' instructions typool_generic
row 'typool, `#[pooled(mesh)]`' instructions typool_mesh
row 'box (glibc)' instructions box
row 'box (mimalloc global)' instructions_mimalloc box
row 'box (typool slab global)' instructions_slab box
row 'box (TrackingAllocator<System> global)' instructions_tracking box
for c in lockfree_object_pool object_pool sharded_slab mutex_vec; do
    row "$c" instructions "$c"
done

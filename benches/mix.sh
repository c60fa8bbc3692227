#!/usr/bin/env bash
# Allocators that compose: instructions per iteration of a loop that uses Box (the global
# allocator), a PooledVec on PoolAlloc, a static Pool<T> handle and a derived PoolBox, beside
# each alone (callgrind; (Ir at N2 - Ir at N1) / (N2 - N1), net of the bare loop).
# Usage: bash benches/mix.sh   (needs valgrind; about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --manifest-path benches/Cargo.toml --bin mix_slab --bin mix_mimalloc
dir=benches/target/release
n1=100000; n2=1100000
per_iter() { # binary part
    local a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/$1" "$2" $n1 2>&1 | awk '/Collected/ {print $NF}')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/$1" "$2" $n2 2>&1 | awk '/Collected/ {print $NF}')
    echo "($b - $a) / ($n2 - $n1)" | bc -l
}
printf '| global allocator | Box | PooledVec | Pool<T> handle | PoolBox | sum of the four | all four in one loop | mix / sum |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
for bin in mix_slab mix_mimalloc; do
    none=$(per_iter "$bin" none)
    sum=0; cells=""
    for part in box vec handle derived; do
        v=$(echo "$(per_iter "$bin" "$part") - $none" | bc -l)
        sum=$(echo "$sum + $v" | bc -l)
        cells="$cells $(printf '%.1f |' "$v")"
    done
    mix=$(echo "$(per_iter "$bin" mix) - $none" | bc -l)
    label=${bin#mix_}
    printf '| %s |%s %.1f | %.1f | %.2f |\n' "$label" "$cells" "$sum" "$mix" "$(echo "$mix / $sum" | bc -l)"
done

#!/usr/bin/env bash
# Memory after a scattered peak (benches/src/sparse.rs): each contender's proportional set size
# over the process's start at the peak, after 90% of the objects were freed at random, and
# after it gave back what it can (typool: trim() then mesh(); glibc: malloc_trim(0);
# mimalloc: mi_collect(true)) while two threads write every survivor. One process per run,
# rounds interleaved, medians. Built as a user's crate (default release profile).
#   Usage: bash benches/sparse.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo build --release -q --manifest-path benches/Cargo.toml --bin sparse --bin sparse_mimalloc --bin sparse_slab
dir=benches/target/release
runs=(
    "sparse pool_mesh fixed" "sparse pool fixed" "sparse box fixed" "sparse_mimalloc box fixed"
    "sparse_slab box fixed" "sparse box sizes" "sparse_mimalloc box sizes" "sparse_slab box sizes"
)
out=$(mktemp)
for _ in $(seq "$rounds"); do
    for r in "${runs[@]}"; do
        # shellcheck disable=SC2086
        "$dir"/$r >>"$out"
    done
done
python3 - "$out" "$rounds" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    a, c, churn, *v = line.split()
    rows.setdefault((a, c, churn), []).append([float(x) for x in v])
print(f"medians of {sys.argv[2]} runs; MiB of Pss over the process's start\n")
print("| churn | allocator | contender | live | peak | 90% freed | given back | pages meshed | mesh pause ms | ms per MiB meshed |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
for (a, c, churn), v in rows.items():
    m = [st.median(x[i] for x in v) for i in range(7)]
    per = f"{m[5] / (m[4] * 4096 / 1048576):.1f}" if m[4] else ""
    print(f"| {churn} | {a} | {c} | {m[0]:.1f} | {m[1]:.1f} | {m[2]:.1f} | **{m[3]:.1f}** | {m[4]:.0f} | {m[5]:.0f} | {per} |")
PY
rm -f "$out"

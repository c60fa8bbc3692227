#!/usr/bin/env bash
# binary-trees (the Benchmarks Game's rules; benches/src/binary_trees.rs), one process per
# contender, rounds interleaved, built as a user's crate (the benches crate is outside typool's
# workspace, default release profile). Prints a table of median wall time (and range) and
# median peak RSS per contender and worker count, and checks every contender's output against
# `Box`'s.
#   Usage: bash benches/binary_trees.sh [ROUNDS] [DEPTH] [WORKERS...]   (default: 3 20 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}; depth=${2:-20}; shift 2 || true
workers=${*:-1 2}
cargo build --release -q --manifest-path benches/Cargo.toml \
    --bin binary_trees --bin binary_trees_mimalloc --bin binary_trees_slab
dir=benches/target/release
# label | binary | contender
contenders=(
    "PoolBox (glibc)|binary_trees|pool_box"
    "Box on glibc|binary_trees|box"
    "Box on mimalloc|binary_trees_mimalloc|box"
    "Box on typool's slab (global)|binary_trees_slab|box"
    "typed-arena per tree|binary_trees|typed_arena"
    "bumpalo per tree|binary_trees|bumpalo"
    "typool Arena per tree|binary_trees|typool_arena"
)
expected=$("$dir/binary_trees" box 10 1 --print)
for c in "${contenders[@]}"; do
    IFS='|' read -r _ bin name <<<"$c"
    [ "$("$dir/$bin" "$name" 10 2 --print)" = "$expected" ] || { echo "output of $bin $name differs from Box's" >&2; exit 1; }
done
out=$(mktemp)
for r in $(seq "$rounds"); do
    for w in $workers; do
        for c in "${contenders[@]}"; do
            IFS='|' read -r label bin name <<<"$c"
            echo "$label|$w|$("$dir/$bin" "$name" "$depth" "$w")" >>"$out"
        done
    done
done
python3 - "$out" "$rounds" "$depth" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    label, w, rest = line.rstrip("\n").split("|")
    _, _, _, _, secs, rss, digest = rest.split()
    rows.setdefault((label, int(w)), []).append((float(secs), int(rss), digest))
print(f"binary-trees depth {sys.argv[3]}, {sys.argv[2]} rounds interleaved, one process each; "
      "output identical to Box's for every contender\n")
print("| contender | workers | median s (range) | peak RSS MiB | speed-up 1 → 2 | × Box on mimalloc |")
print("|---|---:|---:|---:|---:|---:|")
med = {k: st.median(s for s, _, _ in v) for k, v in rows.items()}
for (label, w), v in rows.items():
    secs = [s for s, _, _ in v]
    rss = st.median(r for _, r, _ in v) / 1024
    up = f"{med[(label, 1)] / med[(label, 2)]:.2f}×" if w == 2 and (label, 1) in med else ""
    ref = med.get(("Box on mimalloc", w))
    ratio = f"{med[(label, w)] / ref:.2f}" if ref else ""
    print(f"| {label} | {w} | {med[(label, w)]:.2f} ({min(secs):.2f}–{max(secs):.2f}) | {rss:.0f} | {up} | {ratio} |")
PY
rm -f "$out"

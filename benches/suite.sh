#!/usr/bin/env bash
# The real-work suite (issue 21): programs built on well-known crates, under glibc, mimalloc
# and typool's slab as the global allocator, plus binary-trees (`Box` at 1 and 2 workers, and
# typool's `PoolBox`, the workload a typed pool should win). One process per contender, rounds
# interleaved, built as a user's crate (benches/ is outside typool's workspace, default
# release profile). Prints median wall time (range) and median peak RSS, and checks that every
# allocator computed the same result.
#   Usage: bash benches/suite.sh [ROUNDS] [BINARY-TREES DEPTH]   (default: 5 19)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}; depth=${2:-19}
cargo build --release -q --manifest-path benches/Cargo.toml \
    --bin suite --bin suite_mimalloc --bin suite_slab \
    --bin binary_trees --bin binary_trees_mimalloc --bin binary_trees_slab
dir=benches/target/release
out=$(mktemp)
for r in $(seq "$rounds"); do
    for w in syn json words; do
        for bin in suite suite_mimalloc suite_slab; do
            echo "$w|$("$dir/$bin" "$w")" >>"$out"
        done
    done
    for workers in 1 2; do
        for bin in binary_trees binary_trees_mimalloc binary_trees_slab; do
            echo "binary-trees $workers|$("$dir/$bin" box "$depth" "$workers")" >>"$out"
        done
        echo "binary-trees $workers|$("$dir/binary_trees" pool_box "$depth" "$workers" | sed 's/^glibc/PoolBox/')" >>"$out"
    done
done
python3 - "$out" "$rounds" "$depth" <<'PY'
import sys, statistics as st
runs = {}
for line in open(sys.argv[1]):
    workload, rest = line.rstrip("\n").split("|")
    f = rest.split()
    alloc, secs, rss, digest = f[0], float(f[-3]), int(f[-2]), f[-1]
    runs.setdefault((workload, alloc), []).append((secs, rss, digest))
workloads = list(dict.fromkeys(w for w, _ in runs))
for w in workloads:
    digests = {d for (wl, a), v in runs.items() if wl == w for _, _, d in v}
    if len(digests) != 1:
        sys.exit(f"{w}: the allocators disagree on the result: {digests}")
def med(w, a):
    v = runs.get((w, a))
    return (st.median(s for s, _, _ in v), min(s for s, _, _ in v), max(s for s, _, _ in v),
            st.median(r for _, r, _ in v) / 1024) if v else None
print(f"{sys.argv[2]} rounds interleaved, one process per run; binary-trees at depth {sys.argv[3]}; "
      "every allocator's result identical\n")
print("| workload | glibc s | mimalloc s | slab s | slab / mimalloc | PoolBox s | RSS MiB glibc / mimalloc / slab | slab RSS / mimalloc |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for w in workloads:
    g, m, s, p = (med(w, a) for a in ("glibc", "mimalloc", "slab", "PoolBox"))
    cell = lambda x: f"{x[0]:.2f} ({x[1]:.2f}–{x[2]:.2f})"
    pool = cell(p) if p else ""
    print(f"| {w} | {cell(g)} | {cell(m)} | {cell(s)} | **{s[0] / m[0]:.2f}** | {pool} | "
          f"{g[3]:.0f} / {m[3]:.0f} / {s[3]:.0f} | {s[3] / m[3]:.2f} |")
PY
rm -f "$out"

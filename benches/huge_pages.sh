#!/usr/bin/env bash
# Pointer chasing across pooled 64-byte objects, plain pages against huge pages, for a derived
# pool and for the slab as #[global_allocator] (benches/huge_pages.rs,
# benches/chase_global_slab{,_huge}.rs; the workload is in src/chase.rs).
#
#   bash benches/huge_pages.sh [ROUNDS] [MiB ...]      (default: 3 rounds of 64 and 1024 MiB)
#
# Each round runs the three criterion benches in turn; the table gives, per size and side, the
# median over rounds of criterion's median time per hop, the range over rounds, and the ratio.
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-3}
shift || true
sizes=("${@:-64 1024}")
# shellcheck disable=SC2206
sizes=(${sizes[*]})
cargo bench --no-run -q --bench huge_pages --bench chase_global_slab --bench chase_global_slab_huge
out=$(mktemp -d)
for mib in "${sizes[@]}"; do
    for r in $(seq "$rounds"); do
        for b in huge_pages chase_global_slab chase_global_slab_huge; do
            TYPOOL_CHASE_MIB=$mib cargo bench -q --bench "$b" -- --noplot 2>&1 \
                | grep -E "granted" | sed "s/^/round $r: /" >&2
            for d in target/criterion/chase_"$mib"MiB_*/*/; do
                [ -f "$d/new/estimates.json" ] || continue
                name=${d#target/criterion/}
                echo "$mib ${name%/} $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' "$d/new/estimates.json")" >>"$out/$b.$r"
            done
        done
    done
done
python3 - "$out" <<'PY'
import collections, glob, statistics, sys
steps = 100_000
seen = collections.defaultdict(list)
for path in glob.glob(sys.argv[1] + "/*"):
    bench = path.rsplit("/", 1)[1].rsplit(".", 1)[0]
    for line in open(path):
        mib, name, ns = line.split()
        kind = "pool" if "pool" in name else "global_slab"
        if (bench == "huge_pages") != (kind == "pool"):
            continue
        seen[(int(mib), name)].append(float(ns) / steps)
print("| objects | what | plain pages, ns/hop | huge pages, ns/hop | huge pages' gain |")
print("|---|---|---:|---:|---:|")
for mib in sorted({m for m, _ in seen}):
    for kind, label in [("pool", "derived pool"), ("global_slab", "slab `#[global_allocator]`")]:
        p = seen.get((mib, f"chase_{mib}MiB_{kind}/plain"), [])
        h = seen.get((mib, f"chase_{mib}MiB_{kind}/huge_pages"), [])
        if not p or not h:
            continue
        mp, mh = statistics.median(p), statistics.median(h)
        print(f"| {mib} MiB | {label} | {mp:.0f} ({min(p):.0f}–{max(p):.0f}) | {mh:.0f} ({min(h):.0f}–{max(h):.0f}) | {mp / mh:.2f}× |")
PY

#!/usr/bin/env python3
"""Prints BENCHMARKS.md's tables from criterion's output of the `pools` bench.

Usage: python3 benches/report.py [target/criterion]
Medians are per object (ns per alloc+free); ratios are to the thread-local free-list
baseline measured in the same run (lower is better; 1.00 = the baseline).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
CONTENDERS = ["typool", "box_system", "box_mimalloc", "lockfree_object_pool", "object_pool",
              "sharded_slab", "mutex_vec", "tls_freelist"]
BASELINE = "tls_freelist"
# group directory, objects per criterion iteration
SCENARIOS = {
    "A_alloc_free": ("A: alloc then free, repeated", 1),
    "B_1000_then_free": ("B: 1000 allocs, then 1000 frees", 1000),
    "D_cross_thread": ("D: allocated on one thread, freed on another", 1),
}


def median(path):
    est = json.loads((path / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"]


def table(title, rows):
    base = rows.get(BASELINE)
    print(f"\n**{title}** (ns per object, median)\n")
    print("| contender | median | × baseline |")
    print("|---|---:|---:|")
    for c in CONTENDERS:
        if c in rows:
            ratio = f"{rows[c] / base:.2f}" if base else "–"
            name = f"**{c}**" if c == "typool" else c
            print(f"| {name} | {rows[c]:.2f} | {ratio} |")


for group, (title, per_iter) in SCENARIOS.items():
    rows = {c: median(ROOT / group / c) / per_iter for c in CONTENDERS if (ROOT / group / c).exists()}
    table(title, rows)

print("\n**C: one pool shared by N threads** (ns per object per thread, median of the slowest"
      " thread; 4 and 8 threads oversubscribe this 2-core machine)\n")
threads = [1, 2, 4, 8]
print("| contender | " + " | ".join(f"{t} thr" for t in threads) + " | " +
      " | ".join(f"× base {t}" for t in threads) + " |")
print("|---|" + "---:|" * (2 * len(threads)))
c_rows = {}
for c in CONTENDERS:
    vals = []
    for t in threads:
        p = ROOT / "C_threads" / c / str(t)
        vals.append(median(p) / 100 if p.exists() else None)
    c_rows[c] = vals
for c in CONTENDERS:
    vals = c_rows[c]
    base = c_rows.get(BASELINE)
    cells = [f"{v:.2f}" if v else "–" for v in vals]
    ratios = [f"{v / b:.2f}" if v and b else "–" for v, b in zip(vals, base)]
    name = f"**{c}**" if c == "typool" else c
    print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")

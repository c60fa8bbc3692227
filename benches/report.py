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
CONTENDERS = ["typool", "box_system", "box_mimalloc", "box_slab", "lockfree_object_pool", "object_pool",
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

# --- arenas (`cargo bench -p typool-benches --bench arenas`) ---
ARENAS = ["typool_arena", "bumpalo", "bump_scope"]
arena_groups = [
    ("arena_small_u64", "1000 `u64` values, then reset", 1000, None),
    ("arena_slice_64B", "1000 copies of a 64-byte slice, then reset", 1000, None),
    ("arena_str", "1000 copies of a 33-byte string, then reset", 1000, None),
    ("arena_vec_push", "`Vec` in the arena (allocator-api2), push 10 elements", 10, "10"),
    ("arena_vec_push", "`Vec` in the arena (allocator-api2), push 1000 elements", 1000, "1000"),
]
if (ROOT / "arena_small_u64").exists():
    print("\n**Arenas** (ns per element, median; ratio to bumpalo in the same run)\n")
    print("| workload | " + " | ".join(ARENAS) + " | typool ÷ bumpalo |")
    print("|---|" + "---:|" * (len(ARENAS) + 1))
    for group, title, per, sub in arena_groups:
        vals = {}
        for a in ARENAS:
            p = ROOT / group / a / sub if sub else ROOT / group / a
            if p.exists():
                vals[a] = median(p) / per
        cells = [f"{vals[a]:.2f}" if a in vals else "–" for a in ARENAS]
        ratio = f"{vals['typool_arena'] / vals['bumpalo']:.2f}" if "bumpalo" in vals and "typool_arena" in vals else "–"
        print(f"| {title} | " + " | ".join(cells) + f" | {ratio} |")
    print("\n**One request** (ns per call, median)\n")
    print("| handler | median |\n|---|---:|")
    for name in ["typool_arena_scope", "bumpalo_new_per_request", "bumpalo_reused_by_hand"]:
        p = ROOT / "request" / name
        if p.exists():
            print(f"| {name} | {median(p):.1f} |")
    p = ROOT / "scope_enter_exit" / "typool_arena_scope_empty"
    if p.exists():
        print(f"| `#[arena_scope]` on an empty fn (enter + exit) | {median(p):.1f} |")

# --- variable-size allocators (`--bench global_glibc --bench global_mimalloc --bench global_slab`,
# `--bench churn`) ---
GLOBALS = ["glibc", "mimalloc", "slab"]
if (ROOT / "global_A_alloc_free").exists():
    print("\n**`Box<Obj>` under each `#[global_allocator]`** (ns per object, median; ratio to"
          " mimalloc)\n")
    print("| scenario | " + " | ".join(GLOBALS) + " | slab ÷ mimalloc |")
    print("|---|" + "---:|" * (len(GLOBALS) + 1))
    for group, title, per in [("global_A_alloc_free", "A: alloc then free", 1),
                              ("global_B_1000_then_free", "B: 1000 allocs, then 1000 frees", 1000)]:
        vals = {g: median(ROOT / group / g) / per for g in GLOBALS if (ROOT / group / g).exists()}
        cells = [f"{vals[g]:.2f}" if g in vals else "–" for g in GLOBALS]
        ratio = f"{vals['slab'] / vals['mimalloc']:.2f}" if "slab" in vals and "mimalloc" in vals else "–"
        print(f"| {title} | " + " | ".join(cells) + f" | {ratio} |")
if (ROOT / "churn_trace").exists():
    print("\n**Churn trace, time** (ms per replay of 2M events, median; ratio to mimalloc)\n")
    print("| allocator | median | × mimalloc |\n|---|---:|---:|")
    vals = {a: median(ROOT / "churn_trace" / a) / 1e6 for a in GLOBALS + ["buddy"]
            if (ROOT / "churn_trace" / a).exists()}
    for a, v in vals.items():
        print(f"| {a} | {v:.1f} | {v / vals['mimalloc']:.2f} |")

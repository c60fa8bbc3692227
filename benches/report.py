#!/usr/bin/env python3
"""Prints BENCHMARKS.md's tables from criterion's output (the benches crate, outside the workspace).

Usage: python3 benches/report.py [benches/target/criterion]
Medians are per object (ns per alloc+free); ratios are to the limit (a thread-local free
list of raw pointers) measured in the same binary and run (lower is better; 1.00 = the limit).
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "benches/target/criterion")
# (label in the report, criterion id, the limit measured in the same binary)
CONTENDERS = [
    ("limit", "limit", "limit"),
    ("**typool** (`PoolBox`)", "typool", "limit"),
    ("typool `Handle`", "typool_handle", "limit"),
    ("`Box` + glibc", "box", "limit"),
    ("`Box` + mimalloc (global)", "box_mimalloc", "limit_box_mimalloc"),
    ("`Box` + typool slab (global)", "box_slab", "limit_box_slab"),
    ("lockfree-object-pool", "lockfree_object_pool", "limit"),
    ("object-pool", "object_pool", "limit"),
    ("sharded-slab", "sharded_slab", "limit"),
    ("`Mutex<Vec<Box>>`", "mutex_vec", "limit"),
]
# group directory, title, objects per criterion iteration
SCENARIOS = [
    ("A_alloc_free", "A: alloc then free", 1),
    ("B_1000_then_free", "B: 1000 allocs, then 1000 frees", 1000),
    ("D_cross_thread", "D: allocated on one thread, freed on another", 1),
]
THREADS = [1, 2, 4]


def median(path):
    est = json.loads((path / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"]


def value(*parts, per=1):
    p = ROOT.joinpath(*parts)
    return median(p) / per if p.exists() else None


def cell(v, fmt="{:.2f}"):
    return fmt.format(v) if v is not None else "–"


print("**Scenarios A, B, D** (ns per object, median; × limit: over the limit measured in the same"
      " binary; D has no limit row, whose slots would pile up on the freeing thread)\n")
print("| contender | " + " | ".join(f"{t} | × limit" for _, t, _ in SCENARIOS) + " |")
print("|---|" + "---:|---:|" * len(SCENARIOS))
for label, cid, lim in CONTENDERS:
    cells = []
    for group, _, per in SCENARIOS:
        v = value(group, cid, per=per)
        base = value(group, lim, per=per) if group != "D_cross_thread" else None
        cells += [cell(v), cell(v / base if v is not None and base else None)]
    print(f"| {label} | " + " | ".join(cells) + " |")

print("\n**C: one pool shared by N threads** (ns per object per thread, median of the slowest"
      " thread; 4 threads oversubscribe this 2-core machine; × limit as above)\n")
print("| contender | " + " | ".join(f"{t} thr | × limit" for t in THREADS) + " |")
print("|---|" + "---:|---:|" * len(THREADS))
for label, cid, lim in CONTENDERS:
    cells = []
    for t in THREADS:
        v = value("C_threads", cid, str(t), per=100)
        base = value("C_threads", lim, str(t), per=100)
        cells += [cell(v), cell(v / base if v is not None and base else None)]
    print(f"| {label} | " + " | ".join(cells) + " |")

CONTAINERS = [("push", "push 10,000"), ("iterate", "iterate 10,000"), ("remove_half", "remove every other")]
if (ROOT / "stable_vector_10k").exists():
    stores = ["typool_stable_vector", "stable_vec", "slab", "vec"]
    print("\n**StableVector, 10,000 `u64`** (µs, median)\n")
    print("| operation | " + " | ".join(stores) + " | typool ÷ stable-vec |")
    print("|---|" + "---:|" * (len(stores) + 1))
    for op, title in CONTAINERS:
        vals = {s: value("stable_vector_10k", op, s) for s in stores}
        cells = [cell(vals[s] / 1000 if vals[s] else None) for s in stores]
        ratio = vals["typool_stable_vector"] / vals["stable_vec"] if vals["typool_stable_vector"] and vals["stable_vec"] else None
        print(f"| {title} | " + " | ".join(cells) + f" | {cell(ratio)} |")

if (ROOT / "vec_push").exists():
    print("\n**`PooledVec<u64>` vs `Vec<u64>`** (push n elements into a fresh vector; ns per whole"
          " operation, median)\n")
    print("| elements | `PooledVec` | `Vec` (glibc) | ratio |\n|---:|---:|---:|---:|")
    for n in ["1", "100", "10000", "1000000"]:
        p, v = value("vec_push", "pooled_vec", n), value("vec_push", "vec", n)
        print(f"| {int(n):,} | {cell(p, '{:,.1f}')} | {cell(v, '{:,.1f}')} | {cell(p / v if p and v else None)} |")

# --- arenas (`--bench arenas`) ---
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

# --- the churn trace (`--bench churn`) ---
GLOBALS = ["glibc", "mimalloc", "slab"]
if (ROOT / "churn_trace").exists():
    print("\n**Churn trace, time** (ms per replay of 2M events, median; ratio to mimalloc)\n")
    print("| allocator | median | × mimalloc |\n|---|---:|---:|")
    vals = {a: median(ROOT / "churn_trace" / a) / 1e6 for a in GLOBALS + ["buddy"]
            if (ROOT / "churn_trace" / a).exists()}
    for a, v in vals.items():
        print(f"| {a} | {v:.1f} | {v / vals['mimalloc']:.2f} |")

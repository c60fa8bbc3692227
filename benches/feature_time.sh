#!/usr/bin/env bash
# What one of typool's features costs in time: the loops that benches/feature_cost.sh counts
# (scenarios A and B of `benches/src/scenarios.rs`, one contender per process), built without
# and with the feature, run N objects each, the two builds alternated run by run for ROUNDS
# rounds. Prints each build's median CPU time per object (user + system, from the child's
# rusage: a vCPU's stolen time is not in it, where wall time would carry it), the range, and
# the median of the per-round ratios (a slow moment of the machine lands in both builds of
# one round, so the ratio of a round is steadier than either time).
# Usage: bash benches/feature_time.sh hardened|track-sites [ROUNDS] [N]   (default 7, 200000000)
set -euo pipefail
cd "$(dirname "$0")/.."
feature=${1:?usage: bash benches/feature_time.sh hardened|track-sites [ROUNDS] [N]}
rounds=${2:-7}; n=${3:-200000000}
bins="--bin instructions --bin instructions_slab"
cargo build --release -q --manifest-path benches/Cargo.toml $bins
CARGO_TARGET_DIR=benches/target-$feature \
    cargo build --release -q --manifest-path benches/Cargo.toml --features "$feature" $bins
python3 - "$feature" "$rounds" "$n" <<'PY'
import os, subprocess, statistics as st, sys
feature, rounds, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
builds = [("without", "benches/target/release"), (feature, f"benches/target-{feature}/release")]
# The rows, shared with benches/feature_cost.sh: label|binary|contender.
rows = [tuple(line.split("|")) for line in open("benches/feature_rows.txt").read().splitlines()]
def cpu_ns_per_object(path, contender, scenario):
    child = subprocess.Popen([path, contender, scenario, str(n)], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    assert status == 0, f"{path} {contender} {scenario} failed"
    return (usage.ru_utime + usage.ru_stime) * 1e9 / n
times = {}
for r in range(rounds):
    for label, binary, contender in rows:
        for scenario in "AB":
            # Alternate which build goes first, so neither always follows the other.
            order = builds if r % 2 == 0 else builds[::-1]
            for build, folder in order:
                t = cpu_ns_per_object(f"{folder}/{binary}", contender, scenario)
                times.setdefault((label, scenario, build), []).append(t)
    print(f"round {r + 1} of {rounds} done", file=sys.stderr)
def cell(ts):
    return f"{st.median(ts):.2f} ({min(ts):.2f}–{max(ts):.2f})"
print(f"CPU ns per object, median (range) of {rounds} alternated rounds, N = {n:,}\n")
print(f"| contender | scenario | without | {feature} | {feature} / without (median of rounds) |")
print("|---|---|---:|---:|---:|")
for label, _, _ in rows:
    for scenario in "AB":
        a = times[(label, scenario, "without")]
        b = times[(label, scenario, feature)]
        ratio = st.median(y / x for x, y in zip(a, b))
        print(f"| {label} | {scenario} | {cell(a)} | {cell(b)} | {ratio:.2f} |")
PY

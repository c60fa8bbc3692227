#!/usr/bin/env bash
# What one of typool's features costs: instructions per object (callgrind), as
# benches/instructions.sh measures them, for typool's rows built without and with the feature
# (two target folders, so both builds stay as a user's crate gets them: default release
# profile, outside the workspace).
# Usage: bash benches/feature_cost.sh hardened|track-sites   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
feature=${1:?usage: bash benches/feature_cost.sh hardened|track-sites}
bins="--bin instructions --bin instructions_slab"
cargo build --release -q --manifest-path benches/Cargo.toml $bins
CARGO_TARGET_DIR=benches/target-$feature \
    cargo build --release -q --manifest-path benches/Cargo.toml --features "$feature" $bins
n1=100000; n2=1100000
per_object() { # dir binary contender scenario
    local a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1/$2" "$3" "$4" $n1 2>&1 | awk '/Collected/ {print $NF}')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1/$2" "$3" "$4" $n2 2>&1 | awk '/Collected/ {print $NF}')
    echo "($b - $a) / ($n2 - $n1)" | bc -l
}
plain=benches/target/release; hard=benches/target-$feature/release
printf '| contender | A: without | A: %s | B: without | B: %s |\n|---|---:|---:|---:|---:|\n' "$feature" "$feature"
row() { # label binary contender
    printf '| %s | %.1f | %.1f | %.1f | %.1f |\n' "$1" \
        "$(per_object $plain "$2" "$3" A)" "$(per_object $hard "$2" "$3" A)" \
        "$(per_object $plain "$2" "$3" B)" "$(per_object $hard "$2" "$3" B)"
}
# The rows, shared with benches/feature_time.sh: label|binary|contender.
while IFS='|' read -r label binary contender; do
    row "$label" "$binary" "$contender"
done <benches/feature_rows.txt

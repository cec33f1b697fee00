#!/usr/bin/env bash
# Same-run comparison of the hot paths between an earlier commit and the code checked out
# here (issue 13: a reorganization must leave them within noise). Builds OLD in a worktree
# under the target directory, then alternates old and new, ROUNDS times each (default 5):
# criterion's lifecycle cycle, method-cache hit, str create+drop and pool alloc+free, and the
# C host harness through each tree's cdylib (benches/c/gil_bench.c, the same source for both).
#
#   bash scripts/bench_compare.sh [OLD_REV] [ROUNDS]     # default: 64cb5b0, 5
#
# Writes target/bench-out/compare.md (scripts/compare_table.py: medians and mins over the
# rounds, new/old of each),
# which scripts/bench_report.py puts into BENCHMARKS.md. About 10 minutes on 2 cores, most of
# it the two builds.
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev="${1:-64cb5b0}"
rounds="${2:-5}"
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
out="$target/bench-out"
mkdir -p "$out"
old_wt="$target/compare-old-src"
old_target="$target/compare-old"
new_target="$target/compare-new"
raw="$out/compare-raw.tsv"
: >"$raw"

if [ ! -d "$old_wt" ]; then
    git worktree add --detach "$old_wt" "$old_rev" >&2
else
    git -C "$old_wt" checkout -q --detach "$old_rev"
fi
# The same C harness for both trees.
cp benches/c/gil_bench.c benches/c/gil_bench.sh "$old_wt/benches/c/"

# Criterion bench ids (group/function) and the bench target each lives in.
benches=(
    "lifecycle cycle/runtime_registry_off"
    "lifecycle cycle/slot_init_shutdown"
    "objects lookup/method_cache_hit"
    "pool object/str_create_drop"
    "pool alloc_free/pool"
    "pool alloc_free/pool_local_handle"
)

build() { # dir target_dir
    (cd "$1" && CARGO_TARGET_DIR="$2" cargo bench --no-run --bench lifecycle --bench objects \
        --bench pool >&2)
}
build "$old_wt" "$old_target"
build "." "$new_target"

median_of() { # criterion_dir id
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"])' \
        "$1/$2/new/estimates.json"
}

run_tree() { # label dir target_dir round
    local label="$1" dir="$2" tdir="$3" round="$4" entry bench id
    for entry in "${benches[@]}"; do
        bench="${entry%% *}"
        id="${entry#* }"
        (cd "$dir" && CARGO_TARGET_DIR="$tdir" cargo bench --bench "$bench" -- "^${id}\$" \
            --warm-up-time 1 --measurement-time 2 >&2)
        printf '%s\t%s\t%s\t%s\n' "$label" "$round" "$id" \
            "$(median_of "$tdir/criterion" "$id")" >>"$raw"
    done
    (cd "$dir" && CARGO_TARGET_DIR="$tdir" bash benches/c/gil_bench.sh "$out/compare-c-$label-$round.tsv")
    awk -v l="$label" -v r="$round" -F'\t' '!/^#/ && NF >= 2 && $2 ~ /^[0-9.]+$/ {
        printf "%s\t%s\tc/%s\t%s\n", l, r, $1, $2 }' "$out/compare-c-$label-$round.tsv" >>"$raw"
}

for round in $(seq 1 "$rounds"); do
    run_tree old "$old_wt" "$old_target" "$round"
    run_tree new "." "$new_target" "$round"
done

python3 scripts/compare_table.py "$raw" "$old_rev" "$(git rev-parse --short HEAD)" "$rounds" \
    >"$out/compare.md"
cat "$out/compare.md"
# str create + drop counted in instructions in both trees (a count does not move with load).
bash benches/count/str_create_drop.sh "$old_rev"

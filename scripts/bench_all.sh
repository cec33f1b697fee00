#!/usr/bin/env bash
# Runs every benchmark behind BENCHMARKS.md on this machine and rewrites BENCHMARKS.md from
# the results (scripts/bench_report.py). About 10 minutes on 2 cores, most of it criterion;
# the first run also compiles Lua and QuickJS for peer-bench/ (about 95 s).
#
#   bash scripts/bench_all.sh            # everything, then BENCHMARKS.md
#   bash scripts/bench_all.sh --c        # only the C host part (benches/c/), then BENCHMARKS.md
#   bash scripts/bench_all.sh --report   # only rewrite BENCHMARKS.md from the last results
#
# Criterion's estimates are read from target/criterion (workspace benches) and
# peer-bench/target/criterion; the CLI stress runs, the CPython harness and the C host
# harnesses (benches/c/) print text, kept in target/bench-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
out="$target/bench-out"
# Absolute: criterion writes its results relative to the directory the bench runs in, which
# for peer-bench/ is peer-bench/, and cargo resolves a relative CARGO_TARGET_DIR from there.
peer_target="$(realpath -m "${PEER_TARGET_DIR:-peer-bench/target}")"

mode="${1:-all}"
if [ "$mode" = all ]; then
    mkdir -p "$out"
    rm -rf "$target/criterion" "$peer_target/criterion"
    cargo build --release -p molt-state-cli --bin molt-state
    # The alloc+free group five times, each saved as its own criterion baseline, to show how
    # the same-run ratios to glibc, mimalloc and the floor move from run to run. Before the
    # main run, whose results are criterion's "new" ones (a saved baseline overwrites them).
    for i in 1 2 3 4 5; do
        cargo bench --bench pool -- alloc_free --warm-up-time 1 --measurement-time 3 \
            --save-baseline "repeat$i"
    done
    cargo bench --bench lifecycle --bench objects --bench pool --bench tasks -- \
        --warm-up-time 1 --measurement-time 3
    CARGO_TARGET_DIR="$peer_target" cargo bench --manifest-path peer-bench/Cargo.toml \
        --bench peers -- --warm-up-time 1 --measurement-time 5
    # CPython's 1,000-digit product, next to criterion's int/big_mul_1000_digits.
    python3 -m timeit -s "a=10**999+7; b=10**999+9" "a*b" >"$out/cpython_bigmul.txt" 2>&1 || true
    bin="$target/release/molt-state"
    "$bin" cycle -n 100000 --threads 2 >"$out/cycle_threads.txt" 2>&1
    "$bin" cycle -n 10000 --alloc-threads 2 >"$out/cycle_alloc.txt" 2>&1
    "$bin" cycle -n 1000 --tasks 100 >"$out/cycle_tasks.txt" 2>&1
    bash benches/cpython_cycle.sh 500 --no-site >"$out/cpython.txt" 2>&1
fi
if [ "$mode" = all ] || [ "$mode" = --c ]; then
    mkdir -p "$out"
    # The C host's cost per call through the cdylib (about 15 s), and the lock/futex count
    # of molt_incref's disassembly.
    # Same run, before and after: the harness also runs against the library as it was before
    # the GIL (commit fdf6b13, built in a worktree under the target directory), alternating.
    before_rev=fdf6b13
    before_wt="$target/before-gil-src"
    # The C host harness on the code before the GIL and on this code, alternating (before,
    # now, before, now, ...), C_ROUNDS times each: the machine is shared, so a before and an
    # after taken minutes apart can differ by its load alone. Merged below: per measurement,
    # the median of the rounds' medians, the min of their mins and the max of their maxes.
    rounds="${C_ROUNDS:-3}"
    have_before=no
    if git cat-file -e "$before_rev^{commit}" 2>/dev/null; then
        have_before=yes
        [ -d "$before_wt" ] || git worktree add --detach "$before_wt" "$before_rev" >&2
        mkdir -p "$before_wt/benches/c"
        cp benches/c/gil_bench.c benches/c/gil_bench.sh "$before_wt/benches/c/"
    fi
    for r in $(seq 1 "$rounds"); do
        if [ "$have_before" = yes ]; then
            CARGO_TARGET_DIR="$target/before-gil" bash "$before_wt/benches/c/gil_bench.sh" \
                "$out/c_gil_before.$r.tsv"
        fi
        bash benches/c/gil_bench.sh "$out/c_gil.$r.tsv"
    done
    merge_rounds() { # name: merges $out/<name>.<r>.tsv into $out/<name>.tsv
        python3 - "$out" "$1" "$rounds" <<'PY'
import statistics, sys
out, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
order, vals, comments = [], {}, []
for r in range(1, rounds + 1):
    for line in open(f"{out}/{name}.{r}.tsv"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            if r == 1 or line.startswith("# load average"):
                comments.append(line)
            continue
        cols = line.split("\t")
        if len(cols) != 4 or cols[0] == "ratio":
            continue
        if cols[0] not in vals:
            order.append(cols[0])
            vals[cols[0]] = []
        vals[cols[0]].append(tuple(float(c) for c in cols[1:]))
with open(f"{out}/{name}.tsv", "w") as f:
    f.write(f"# merged from {rounds} alternating rounds ({name}.1.tsv ... {name}.{rounds}.tsv): "
            "median of medians, min of mins, max of maxes\n")
    for c in comments:
        f.write(c + "\n")
    for n in order:
        v = vals[n]
        med = statistics.median(x[0] for x in v)
        f.write(f"{n}\t{med:.3f}\t{min(x[1] for x in v):.3f}\t{max(x[2] for x in v):.3f}\n")
PY
    }
    merge_rounds c_gil
    if [ "$have_before" = yes ]; then
        merge_rounds c_gil_before
    fi
    bash benches/c/held_path_asm.sh "$out/held_path_asm.txt"
    bash benches/c/held_path_perf.sh "$out/held_path_perf.txt" || true
fi
python3 scripts/bench_report.py --target "$target" --peer-target "$peer_target" \
    --out BENCHMARKS.md
echo "wrote BENCHMARKS.md"

#!/usr/bin/env bash
# Counts (not times) the instructions of one str create + drop through the Rust API, GIL
# held, in two trees: the code checked out here and OLD_REV (issue 13's comparison: a timing
# on the shared machine moves with its load, an instruction count does not).
#
#   bash benches/count/str_create_drop.sh [OLD_REV]     # default: 64cb5b0
#
# For each tree: a small program (the loop of benches/pool.rs's object/str_create_drop,
# `gil.str("hello")` + `gil.decref`) built in release against that tree's molt-state, run
# under `valgrind --tool=callgrind` for 100,000 and 200,000 iterations; the difference of the
# two totals / 100,000 is the count per iteration (start-up and teardown cancel out).
# Prints one line per tree; scripts/bench_report.py puts the file it writes into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
old_rev="${1:-64cb5b0}"
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
out="$target/bench-out"
work="$target/count-str"
mkdir -p "$out" "$work"
old_wt="$target/compare-old-src" # shared with scripts/bench_compare.sh
if [ ! -d "$old_wt" ]; then
    git worktree add --detach "$old_wt" "$old_rev" >&2
else
    git -C "$old_wt" checkout -q --detach "$old_rev"
fi

count_tree() { # label tree_dir
    local crate="$work/$1"
    mkdir -p "$crate/src"
    cat >"$crate/Cargo.toml" <<TOML
[package]
name = "count-str-$1"
version = "0.0.0"
edition = "2024"
publish = false
[dependencies]
molt-state = { path = "$2" }
[workspace]
TOML
    cat >"$crate/src/main.rs" <<'RS'
use molt_state::hash::HashSeed;
use molt_state::{Config, Runtime};
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).expect("iterations");
    // The configuration of benches/pool.rs's `object` group (no registry, fixed seed).
    let (seed, registry) = (Some(HashSeed::Fixed(0)), Some(false));
    let config = Config { read_env: false, track_allocations: registry, hash_seed: seed, ..Config::default() };
    let rt = Runtime::new(config);
    let mut gil = rt.gil();
    for _ in 0..n {
        let s = gil.str(black_box("hello")).unwrap();
        gil.decref(s).unwrap();
    }
}
RS
    (cd "$crate" && CARGO_TARGET_DIR="$work/target-$1" cargo build --release --quiet >&2)
    local bin="$work/target-$1/release/count-str-$1" a b
    a=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 100000 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    b=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 200000 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    printf '%s\t%s\t%s\n' "$1" "$3" "$(( (b - a) / 100000 ))"
}

{
    echo "# instructions per str create + drop (callgrind, 200k - 100k iterations)"
    count_tree new "$PWD" "$(git rev-parse --short HEAD)"
    count_tree old "$old_wt" "$old_rev"
} | tee "$out/count_str_create_drop.tsv"

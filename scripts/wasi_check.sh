#!/usr/bin/env bash
# Builds molt-state for wasm32-wasip1 and runs it under a real WASI host (Node.js's
# node:wasi, scripts/wasi_run.mjs): `run` (the default workload) and `cycle` with tasks
# (no threads there: tasks run on the joining thread). Each output must end with an empty
# leak report. Needs the wasm32-wasip1 target and node.
set -euo pipefail
cd "$(dirname "$0")/.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target/wasm}")"
CARGO_TARGET_DIR="$target" cargo build --release --target wasm32-wasip1 -p molt-state-cli --bin molt-state
wasm="$target/wasm32-wasip1/release/molt-state.wasm"
out="$target/wasi-out"
mkdir -p "$out"
for cmd in "run" "cycle -n 20000" "cycle -n 500 --tasks 20"; do
    echo "== node scripts/wasi_run.mjs molt-state.wasm $cmd"
    # shellcheck disable=SC2086
    node --no-warnings scripts/wasi_run.mjs "$wasm" $cmd | tee "$out/last.txt"
    tail -n 1 "$out/last.txt" | grep -q "^  *leak report: empty\|^leak report: empty" \
        || { echo "wasi_check: '$cmd' did not end with an empty leak report" >&2; exit 1; }
done
echo "wasi_check: ok"

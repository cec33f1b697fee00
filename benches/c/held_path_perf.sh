#!/usr/bin/env bash
# Profiles molt_incref + molt_decref with the GIL held (benches/c/held_incref_loop.c)
# and writes perf's annotated disassembly of molt_incref, every instruction with its share
# of the samples, to OUT (default target/bench-out/held_path_perf.txt). A lock-prefixed or
# xchg-with-memory instruction that the held path executed would carry samples; the summary
# line lists each such instruction with its share.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
out="${1:-$target/bench-out/held_path_perf.txt}"
mkdir -p "$(dirname "$out")" "$target/c-bench"
cargo build --release --lib >&2
lib="$target/release"
cc -O2 -Iinclude benches/c/held_incref_loop.c -L"$lib" -lmolt_state -Wl,-rpath,"$lib" \
    -o "$target/c-bench/held_incref_loop"
perf record -q -o "$target/c-bench/held.perf" "$target/c-bench/held_incref_loop" >/dev/null
perf annotate -i "$target/c-bench/held.perf" --stdio --no-source -s molt_incref \
    2>/dev/null >"$out.full"
{
    echo "# perf annotate of molt_incref, GIL held (benches/c/held_path_perf.sh)"
    grep -E "^\s+[0-9.]+ :\s+[0-9a-f]+:\s+(lock|xchg)" "$out.full" |
        sed 's/^/# locked instruction: /' || echo "# locked instructions: none in molt_incref"
    cat "$out.full"
} >"$out"
rm -f "$out.full"
echo "wrote $out" >&2

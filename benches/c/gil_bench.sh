#!/usr/bin/env bash
# Builds the cdylib (cargo build --release --lib), compiles benches/c/gil_bench.c against it
# and runs it: what a C host pays per molt_* call, with and without the GIL held, next to a
# plain counter, an atomic counter and a pthread mutex measured in the same run.
#
#   bash benches/c/gil_bench.sh [OUT]     # OUT: the results file (default: stdout)
#
# OUT gets one line per measurement, name<TAB>median_ns<TAB>min_ns<TAB>max_ns, plus ratio
# lines and `#` comments (see the top of gil_bench.c). Progress goes to stderr. The GIL
# parts (held figures, a native function through molt_function_new) are compiled in only
# when include/molt_state.h declares molt_gil_acquire (-DMOLT_HAVE_GIL).
# GIL_BENCH_REP_MS sets the length of one timed repetition (default 75 ms).
set -euo pipefail
out_file=""
if [ $# -gt 0 ]; then
    out_file="$(realpath -m "$1")"
fi
cd "$(dirname "$0")/../.."
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"

cargo build --release --lib >&2
libdir="$target/release"
if [ ! -f "$libdir/libmolt_state.so" ]; then
    echo "gil_bench.sh: no $libdir/libmolt_state.so after cargo build" >&2
    exit 1
fi

defs=()
have_gil=no
if grep -q molt_gil_acquire include/molt_state.h; then
    defs+=(-DMOLT_HAVE_GIL)
    have_gil=yes
fi

bindir="$target/c-bench"
mkdir -p "$bindir"
cc -O2 -pthread -Wall -Wextra "${defs[@]}" -Iinclude benches/c/gil_bench.c \
    -o "$bindir/gil_bench" -L"$libdir" -lmolt_state -Wl,-rpath,"$libdir"

run() {
    echo "# built with cc $(cc -dumpfullversion) -O2, MOLT_HAVE_GIL=$have_gil," \
        "against $libdir/libmolt_state.so at $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    # The machine may be shared: the load average shows how busy it was around the run.
    echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
    "$bindir/gil_bench"
    echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
}
if [ -n "$out_file" ]; then
    mkdir -p "$(dirname "$out_file")"
    run >"$out_file"
    echo "wrote $out_file" >&2
else
    run
fi

#!/usr/bin/env bash
# Builds benches/cpython_cycle.c against this machine's CPython (python3-config --embed) and
# runs it: N cycles of Py_InitializeEx(0) + Py_FinalizeEx(), median time and RSS growth.
#
#   bash benches/cpython_cycle.sh [N] [--no-site]     # N defaults to 500
#
# Finds python3.11-config, else python3-config (pyenv shims included). Without one, install
# the headers and library first (Debian: apt-get install -y python3-dev). The binary goes to
# ${CARGO_TARGET_DIR:-target}/cpython-cycle/ with an rpath to libpython's directory.
set -euo pipefail
cd "$(dirname "$0")/.."

cfg=""
for c in python3.11-config python3-config; do
    if command -v "$c" >/dev/null && "$c" --embed --ldflags >/dev/null 2>&1; then
        cfg=$c
        break
    fi
done
if [ -z "$cfg" ]; then
    echo "no python3-config with --embed: apt-get install -y python3-dev" >&2
    exit 1
fi

out="${CARGO_TARGET_DIR:-target}/cpython-cycle"
mkdir -p "$out"
libdir=$("$cfg" --prefix)/lib
# shellcheck disable=SC2046  # the config tools print several flags, split on purpose
cc -O2 $("$cfg" --cflags) benches/cpython_cycle.c -o "$out/cpython_cycle" \
    $("$cfg" --embed --ldflags) -Wl,-rpath,"$libdir"
echo "built with $(command -v "$cfg") ($("$cfg" --prefix)), cc $(cc -dumpfullversion)"
"$out/cpython_cycle" "$@"

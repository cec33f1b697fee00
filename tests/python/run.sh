#!/usr/bin/env bash
# Runs the Python (pytest + ctypes) harness: tests/python/run.sh [pytest args...]
#
# Creates a venv under cargo's target directory (<target>/pyvenv), installs the pinned pytest
# into it, builds the cdylib (`cargo build --lib`; MOLT_STATE_PROFILE=release for a release
# build) and runs `pytest -q tests/python`. MOLT_STATE_LIB=/path/to/libmolt_state.so skips the
# build and tests that library. The interpreter is $MOLT_PYTHON, else python3.11, else python3
# (the hash and __mro__ comparisons need CPython 3.11 and are skipped on others). With
# CI=true, a missing python3 or venv module is installed with apt-get.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTEST_VERSION=8.4.2

apt_install() {
    if [ "${CI:-}" = true ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq "$@" >/dev/null
    else
        echo "run.sh: missing $*: install it (or run with CI=true to apt-get it)" >&2
        exit 1
    fi
}

python=${MOLT_PYTHON:-}
if [ -z "$python" ]; then
    command -v python3 >/dev/null || command -v python3.11 >/dev/null || apt_install python3
    if command -v python3.11 >/dev/null; then python=python3.11; else python=python3; fi
fi
"$python" -c 'import sys; print("run.sh: using", sys.executable, sys.version.split()[0])'

target=$(cargo metadata --format-version 1 --no-deps |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
venv=$target/pyvenv
if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
        # Debian and Ubuntu ship the venv module (ensurepip) separately.
        rm -rf "$venv"
        ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        apt_install "python$ver-venv" || apt_install python3-venv
        "$python" -m venv "$venv"
    fi
fi
if ! "$venv/bin/python" -c "import pytest, sys; sys.exit(pytest.__version__ != '$PYTEST_VERSION')" \
    2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "pytest==$PYTEST_VERSION"
fi

if [ -z "${MOLT_STATE_LIB:-}" ]; then
    # Build here (conftest.py would too, quietly) so that compiler output shows as it comes.
    if [ "${MOLT_STATE_PROFILE:-debug}" = release ]; then
        cargo build --lib --release
    else
        cargo build --lib
    fi
fi
exec "$venv/bin/python" -m pytest -q tests/python "$@"

#!/usr/bin/env bash
# Runs the Python (pytest + ctypes) harness: tests/python/run.sh [pytest args...]
#
# Creates a venv under cargo's target directory (<target>/pyvenv), installs the pinned pytest
# into it, builds the cdylib (`cargo build --lib`; MOLT_STATE_PROFILE=release for a release
# build) and runs `pytest -q tests/python`. MOLT_STATE_LIB=/path/to/libmolt_state.so skips the
# build and tests that library. The interpreter is $MOLT_PYTHON, else python3.11, else python3
# (the hash and __mro__ comparisons need CPython 3.11 and are skipped on others).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTEST_VERSION=8.4.2

python=${MOLT_PYTHON:-}
if [ -z "$python" ]; then
    if command -v python3.11 >/dev/null; then python=python3.11; else python=python3; fi
fi
target=$(cargo metadata --format-version 1 --no-deps |
    "$python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
venv=$target/pyvenv

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        # Debian/Ubuntu ship venv (ensurepip) separately.
        if [ "${CI:-}" = true ] && command -v apt-get >/dev/null; then
            ver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
            apt-get update -qq
            apt-get install -y -qq "python$ver-venv" >/dev/null || apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$venv"
            "$python" -m venv "$venv"
        else
            echo "run.sh: '$python -m venv' failed: install the venv module (e.g. apt-get install python3-venv)" >&2
            exit 1
        fi
    fi
fi
if ! "$venv/bin/python" -c "import pytest, sys; sys.exit(pytest.__version__ != '$PYTEST_VERSION')" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pytest==$PYTEST_VERSION"
fi

if [ -z "${MOLT_STATE_LIB:-}" ]; then
    # Build here rather than inside pytest so that compiler output is shown as it comes.
    cargo build --lib ${MOLT_STATE_PROFILE:+$([ "$MOLT_STATE_PROFILE" = release ] && echo --release)}
fi
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python "$@"

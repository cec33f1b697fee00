"""Shared by the generator scripts (gen_builtins.py, gen_printable.py, gen_c3_vectors.py):
reading a generated file and refusing to run on anything but CPython 3.11, whose data they
write."""

import argparse
import os
import platform
import sys


def fail(message):
    """Exits with status 2, naming the script that failed."""
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(2)


def read(path):
    """The file's text, exactly as stored, or None if it does not exist."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        return None


def require_cpython_311():
    """Exits with status 2 unless this is CPython 3.11, the version the data describes."""
    if platform.python_implementation() != "CPython" or sys.version_info[:2] != (3, 11):
        fail(
            f"needs CPython 3.11, this is {platform.python_implementation()} "
            f"{platform.python_version()}"
        )


def start(doc):
    """The common start of a generator: parses `--check` (exit 1 if an output is out of date,
    instead of writing it), with the first paragraph of `doc` as the description, and
    requires CPython 3.11. Returns whether `--check` was given."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if an output is out of date"
    )
    args = parser.parse_args()
    require_cpython_311()
    return args.check

"""Shared by the generator scripts (gen_builtins.py, gen_printable.py, gen_c3_vectors.py,
gen_hash_vectors.py, gen_int_vectors.py): reading and writing a generated file, running a
child interpreter per PYTHONHASHSEED, and refusing to run on anything but CPython 3.11, whose
data they write."""

import argparse
import os
import platform
import subprocess
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


def write(path, text):
    """Writes `text` to `path` (a `pathlib.Path`) as is, with LF line ends, making its
    folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def check_or_write(path, text, check, root, script):
    """The common end of a generator whose output is one file: with `check`, returns 1 (and
    says so) if `path` is not exactly `text`; otherwise writes it if it differs. Returns the
    exit status."""
    stale = read(path) != text
    rel = os.path.relpath(path, root)
    if check:
        if stale:
            print(f"{rel} is out of date: run python3 scripts/{script}", file=sys.stderr)
        return 1 if stale else 0
    if stale:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print(f"wrote {rel}")
    return 0


def child_outputs(script, seeds):
    """Runs `script --child` in a new interpreter once for each PYTHONHASHSEED in `seeds`
    (the seed only takes effect at interpreter start-up) and returns each child's output
    lines, by seed. Exits with status 2 if a child fails."""
    outputs = {}
    for seed in seeds:
        # Not -E: that would ignore PYTHONHASHSEED too. Drop the other PYTHON* variables.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONHASHSEED"] = str(seed)
        res = subprocess.run([sys.executable, script, "--child"], env=env,
                             capture_output=True, text=True)
        if res.returncode != 0:
            fail("child for seed %d failed:\n%s" % (seed, res.stderr))
        outputs[seed] = res.stdout.splitlines()
    return outputs


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

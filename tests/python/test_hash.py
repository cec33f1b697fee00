"""hash() through the ABI equals this CPython's hash() under the same seed.

For each seed, a child interpreter (this one, ``sys.executable``) runs with
``PYTHONHASHSEED=N`` and hashes the values; the library's process-default runtime is
initialized with ``MOLT_HASHSEED=N`` (read at init) and hashes the same values, built through
the ABI.
"""

import ctypes
import json
import marshal
import math
import os
import subprocess
import sys

import pytest
from conftest import C, Molt

needs_cpython_311 = pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11),
    reason="molt-state hashes as CPython 3.11 does; this interpreter is "
    f"{sys.implementation.name} {sys.version.split()[0]}",
)

VALUES = [
    # str: PEP 393 kinds 1 (ASCII and Latin-1), 2 (BMP) and 4 (astral) bytes per code point.
    "",
    "a",
    "abc",
    "hello world",
    "\x00",
    "a\x00b",
    "é",
    "café",
    "ÿÿÿ",
    "€",
    "日本語",
    "a€b",
    "😀",
    "a😀b",
    "é€😀",
    "x" * 1000,
    "π" * 257,
    # bytes
    b"",
    b"\x00",
    b"abc",
    bytes(range(256)),
    # int (the small-int range: -2**47 .. 2**47-1) and bool
    0,
    1,
    -1,
    -2,
    7,
    2**31,
    -(2**31),
    2**32 + 1,
    12345678901234,
    2**47 - 1,
    -(2**47),
    True,
    False,
    # float
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1.5,
    -2.25,
    3.141592653589793,
    1e-300,
    5e-324,
    1e16,
    2.0**52 + 0.5,
    2.0**61,
    2.0**61 - 2.0**8,
    2.0**62,
    1e300,
    -1e300,
    123456789.123,
    float("inf"),
    float("-inf"),
    # tuple (xxHash-style over the items' hashes)
    (),
    (1,),
    (-1,),
    (1, 2, 3),
    (0.0, -0.0, 1.0),
    ("a", b"b", 1.5, True, 7),
    ((1, 2), ("x", ("y", b"z")), ()),
    tuple(range(40)),
]
SEEDS = [0, 1, 42, 65537, 4294967295]

CHILD = (
    "import json, marshal, sys; "
    "print(json.dumps([hash(v) for v in marshal.loads(sys.stdin.buffer.read())]))"
)


def cpython_hashes(values, seed) -> list[int]:
    """hash() of each value in a child interpreter run with PYTHONHASHSEED=seed."""
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=marshal.dumps(values),
        env=env,
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def molt_hashes(m: Molt, values) -> list[int]:
    hashes = []
    for v in values:
        mv = m.new(v)
        try:
            hashes.append(m.hash(mv))
        finally:
            m.decref(mv)
    return hashes


@needs_cpython_311
@pytest.mark.parametrize("seed", SEEDS)
def test_hash_equals_cpython_under_the_same_seed(lib: Molt, seed):
    expected = cpython_hashes(VALUES, seed)
    with lib.runtime(env={"MOLT_HASHSEED": str(seed)}) as m:
        got = molt_hashes(m, VALUES)
    wrong = [(v, e, g) for v, e, g in zip(VALUES, expected, got, strict=True) if e != g]
    assert not wrong, f"seed {seed}: (value, CPython, molt): {wrong[:5]}"


@needs_cpython_311
def test_the_seed_reaches_both_sides():
    """Sanity of the comparison itself: different seeds give different str hashes."""
    by_seed = [cpython_hashes(["abc", b"abc", 12345], seed) for seed in SEEDS]
    assert len({h[0] for h in by_seed}) == len(SEEDS)
    assert len({h[1] for h in by_seed}) == len(SEEDS)
    assert {h[2] for h in by_seed} == {12345}, "int hashes do not depend on the seed"


SMALL_INT = range(-(2**47), 2**47)


@needs_cpython_311
def test_builtins_hash_called_through_the_abi_agrees(lib: Molt):
    """`builtins.hash(v)` called as a function gives molt_hash's result, a small int where
    it fits (-2**47 .. 2**47-1), else a big int (most str, bytes, tuple and fractional float
    hashes)."""
    values = ["abc", b"abc", -1, 7, 2.0, 2.5, ("abc", 1), (), True]
    expected = cpython_hashes(values, 7)
    assert any(h in SMALL_INT for h in expected) and any(h not in SMALL_INT for h in expected)
    # Live at shutdown: the module cache's `builtins`.
    with lib.runtime(env={"MOLT_HASHSEED": "7"}, reclaimed="module 1") as m:
        builtins = m.import_("builtins")
        hash_fn = m.getattr(builtins, "hash")
        for v, want in zip(values, expected, strict=True):
            mv = m.new(v)
            assert m.hash(mv) == want
            args = (ctypes.c_uint64 * 1)(mv)
            h = ctypes.c_uint64()
            status = m.lib.molt_call(hash_fn, args, 1, h)
            assert status == C.MOLT_OK, m.last_error()
            assert m.int_value(h.value) == want
            m.decref(h.value)
            m.decref(mv)
        for x in (hash_fn, builtins):
            m.decref(x)


def test_the_seed_is_read_at_init(lib: Molt):
    """Changing MOLT_HASHSEED while a runtime is live changes nothing until the next init."""
    with lib.runtime(env={"MOLT_HASHSEED": "1"}) as m:
        first = molt_hashes(m, ["abc"])
        os.environ["MOLT_HASHSEED"] = "2"
        try:
            assert molt_hashes(m, ["abc"]) == first
        finally:
            del os.environ["MOLT_HASHSEED"]
    with lib.runtime(env={"MOLT_HASHSEED": "2"}) as m:
        assert molt_hashes(m, ["abc"]) != first
    with lib.runtime(env={"MOLT_HASHSEED": "1"}) as m:
        assert molt_hashes(m, ["abc"]) == first


def test_random_seed_differs_between_runtimes_and_numbers_do_not_care(lib: Molt):
    """MOLT_HASHSEED unset (or "random") draws a new secret per runtime, as CPython does
    per process; numeric hashes never depend on it."""
    runs = []
    for env in ({}, {"MOLT_HASHSEED": "random"}, {}):
        with lib.runtime(env=env) as m:
            runs.append(molt_hashes(m, ["abc", b"abc", ("abc",), 12345, 2.5, (1, 2)]))
    assert len({r[0] for r in runs}) == 3  # equal by chance with probability ~3 * 2**-61
    assert len({r[1] for r in runs}) == 3
    assert len({r[2] for r in runs}) == 3
    assert {tuple(r[3:]) for r in runs} == {(12345, hash(2.5), hash((1, 2)))}


def test_seed_zero_disables_randomization_for_str_and_bytes(lib: Molt):
    """PYTHONHASHSEED=0: the SipHash key is all zeros, so every runtime agrees."""
    runs = []
    for _ in range(2):
        with lib.runtime(env={"MOLT_HASHSEED": "0"}) as m:
            runs.append(molt_hashes(m, ["abc", b"abc", ""]))
    assert runs[0] == runs[1]
    assert runs[0][2] == 0, 'hash("") is 0 under any seed'


def test_nan_hashes_to_zero_a_documented_deviation(molt: Molt):
    """CPython 3.10+ hashes a NaN by object identity; a NaN-boxed float has no identity, so
    molt-state hashes every NaN to 0 (docs/ARCHITECTURE.md, "Hashing")."""
    nan = molt.new(math.nan)
    assert molt.hash(nan) == 0
    assert molt.hash(molt.new(-math.nan)) == 0


@pytest.mark.reclaims("str 1 tuple 1 exception 1")
def test_unhashable_values_raise_cpythons_type_error(molt: Molt):
    for obj in ([1], [], {}):
        try:
            hash(obj)
        except TypeError as e:
            expected = f"TypeError: {e}"
        v = molt.new(obj)
        out = ctypes.c_int64(5)
        assert molt.lib.molt_hash(v, out) == C.MOLT_ERR_EXCEPTION
        assert molt.last_error() == expected
        assert out.value == 5
        molt.decref(molt.err_fetch())
        molt.decref(v)

"""The ABI itself: the header, the library's exports, status codes, value round trips and
reprs against this interpreter's, reference counting."""

import ctypes
import math
import struct

import pytest
from conftest import CONSTANTS, GATED, HEADER, PROTOTYPES, UNGATED, USED, C, Molt, parse_header


def test_the_harness_covers_the_whole_header():
    assert sorted(USED) == sorted(PROTOTYPES), "declare new entry points in conftest.USED"
    assert not set(UNGATED) & set(GATED)


def test_the_library_exports_everything_the_header_declares(lib: Molt):
    missing = [name for name in PROTOTYPES if not hasattr(lib.lib, name)]
    assert not missing


def test_the_header_parser_reads_multi_line_prototypes():
    assert PROTOTYPES["molt_call_method"] == (
        "int32_t",
        ["uint64_t", "const char *", "const uint64_t *", "size_t", "uint64_t *"],
    )
    assert PROTOTYPES["molt_runtime_set_argv"] == ("int32_t", ["int32_t", "const char *const *"])
    assert PROTOTYPES["molt_last_error"] == ("const char *", [])
    again, _ = parse_header(HEADER.read_text())
    assert len(again) == len(PROTOTYPES) >= 40


def test_status_codes_and_singletons():
    statuses = {k: v for k, v in CONSTANTS.items() if k.startswith("MOLT_ERR_")}
    assert C.MOLT_OK == 0
    assert all(v < 0 for v in statuses.values())
    assert len(set(statuses.values())) == len(statuses)
    for bits in (C.MOLT_NONE, C.MOLT_TRUE, C.MOLT_FALSE):
        # NaN-boxed: the singletons live in the NaN space of a double.
        assert math.isnan(struct.unpack("<d", struct.pack("<Q", bits))[0])
    assert len({C.MOLT_NONE, C.MOLT_TRUE, C.MOLT_FALSE}) == 3


@pytest.mark.parametrize("n", [0, 1, -1, 42, -(2**47), 2**47 - 1, 2**40 + 3])
def test_ints_round_trip(molt: Molt, n):
    v = molt.new(n)
    assert molt.int_value(v) == n
    assert molt.repr(v) == repr(n)


@pytest.mark.parametrize("n", [2**47, -(2**47) - 1, 2**63 - 1, -(2**63)])
def test_ints_beyond_47_bits_are_big_ints(molt: Molt, n):
    v = molt.new(n)
    assert molt.int_value(v) == n
    assert molt.repr(v) == repr(n)
    molt.decref(v)


@pytest.mark.parametrize(
    "x", [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, math.inf, -math.inf, 0.1, 1 / 3, 1e16, 123.0]
)
def test_floats_round_trip_with_cpythons_repr(molt: Molt, x):
    v = molt.new(x)
    back = molt.float_value(v)
    assert back == x and math.copysign(1, back) == math.copysign(1, x)
    assert molt.repr(v) == repr(x)


def test_nan_is_canonical(molt: Molt):
    payload_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]
    a, b = molt.new(math.nan), molt.new(payload_nan)
    assert a == b, "every NaN becomes the canonical NaN"
    assert math.isnan(molt.float_value(a))
    assert molt.repr(a) == "nan"


@pytest.mark.parametrize(
    "s",
    [
        "",
        "abc",
        "it's",
        'say "hi"',
        "both ' and \"",
        "tab\tnew\nline\\",
        "\x00\x7f\x80\xff",
        "é€😀",
        "\U0001f600",
        "a" * 100,
    ],
)
def test_strs_round_trip_with_cpythons_repr_and_len(molt: Molt, s):
    v = molt.new(s)
    assert molt.text(v) == s
    assert molt.length(v) == len(s), "len counts code points"
    assert molt.repr(v) == repr(s)
    molt.decref(v)


# Every code point CPython counts as non-printable (str.isprintable() false: categories Cc,
# Cf, Cs, Co, Cn, Zl, Zp, and Zs but space) is escaped as \xhh, \uhhhh or \Uhhhhhhhh.
@pytest.mark.parametrize(
    "s",
    [
        "\xa0",
        "\xad",
        "\u2028",
        "\u200b",
        "\u3000",
        "\ufeff",
        "\u0378",
        "\ue000",
        "\U000e0001",
        "\U0010ffff",
        "it's\xa0\u2029",
        "é中😀\xa1\uffe0",
    ],
)
def test_str_repr_escapes_non_printable_code_points_as_cpython_does(molt: Molt, s):
    v = molt.new(s)
    try:
        assert molt.repr(v) == repr(s)
    finally:
        molt.decref(v)


def test_str_repr_matches_cpython_for_every_code_point(molt: Molt):
    """repr() of every code point but the surrogates (which UTF-8 cannot carry), in strings of
    4096 consecutive code points."""
    batch = 4096
    mismatched = []
    for start in range(0, 0x110000, batch):
        s = "".join(chr(c) for c in range(start, start + batch) if not 0xD800 <= c <= 0xDFFF)
        if not s:
            continue
        v = molt.new(s)
        try:
            got = molt.repr(v)
        finally:
            molt.decref(v)
        if got != repr(s):
            # Narrow down to the first code points that differ, for the message.
            bad = [c for c in s if _one_repr(molt, c) != repr(c)]
            mismatched.append((hex(start), [f"U+{ord(c):04X}" for c in bad[:5]], len(bad)))
    assert not mismatched


def _one_repr(molt: Molt, c: str) -> str:
    v = molt.new(c)
    try:
        return molt.repr(v)
    finally:
        molt.decref(v)


@pytest.mark.parametrize("b", [b"", b"abc", b"\x00\xff", b"'\"", bytes(range(32, 40))])
def test_bytes_with_cpythons_repr_and_len(molt: Molt, b):
    v = molt.new(b)
    assert molt.length(v) == len(b)
    assert molt.repr(v) == repr(b)
    molt.decref(v)


@pytest.mark.parametrize(
    "obj",
    [
        (),
        (1,),
        (1, "a", None, True, 2.5),
        [],
        [1, [2, (3,)]],
        {},
        {"a": 1, "b": (2, "c")},
        ("nested", ["list", {"k": b"v"}]),
    ],
)
def test_containers_with_cpythons_repr(molt: Molt, obj):
    v = molt.new(obj)
    assert molt.repr(v) == repr(obj)
    assert molt.length(v) == len(obj)
    molt.decref(v)


def test_tuple_items_and_dict_lookup(molt: Molt):
    t = molt.new(("a", 1))
    n = ctypes.c_size_t()
    molt.check("molt_tuple_len", molt.lib.molt_tuple_len(t, n))
    assert n.value == 2
    first = molt.item(t, 0)
    assert molt.text(first) == "a"
    d = molt.new({"a": 1, ("t", 2): "x"})
    out = ctypes.c_uint64()
    molt.check("molt_dict_get", molt.lib.molt_dict_get(d, first, out))
    assert molt.int_value(out.value) == 1
    key = molt.new(("t", 2))  # an equal key, another object
    molt.check("molt_dict_get", molt.lib.molt_dict_get(d, key, out))
    assert molt.text(out.value) == "x"
    for v in (out.value, key, d, first, t):
        molt.decref(v)


def test_method_calls(molt: Molt):
    s = molt.new("Hello World")
    for method, want in (("upper", "HELLO WORLD"), ("lower", "hello world")):
        r = molt.call_method(s, method)
        assert molt.text(r) == want
        molt.decref(r)
    parts = molt.call_method(s, "split")
    assert molt.repr(parts) == repr("Hello World".split())
    lst = molt.new([1])
    assert molt.call_method(lst, "append", parts) == C.MOLT_NONE
    assert molt.repr(lst) == repr([1, ["Hello", "World"]])
    for v in (lst, parts, s):
        molt.decref(v)


def test_reference_counting(molt: Molt):
    s = molt.new("counted")
    molt.check("molt_incref", molt.lib.molt_incref(s))
    molt.decref(s)
    assert molt.text(s) == "counted", "one reference left"
    molt.decref(s)
    assert molt.lib.molt_decref(s) == C.MOLT_ERR_STALE_VALUE, "never a double free"
    assert "stale or foreign value" in molt.last_error()
    # A container keeps its items alive.
    item = molt.new("item")
    t = molt.new(())
    arr = (ctypes.c_uint64 * 1)(item)
    t2 = molt._out("molt_tuple_new", ctypes.c_uint64, arr, 1)
    molt.decref(item)
    inner = molt.item(t2, 0)
    assert molt.text(inner) == "item"
    for v in (inner, t2, t):
        molt.decref(v)
    # Numbers, singletons and classes carry no reference: inc/decref are no-ops.
    for v in (molt.new(5), molt.new(2.5), C.MOLT_NONE, C.MOLT_TRUE, molt.builtin_class("int")):
        molt.check("molt_incref", molt.lib.molt_incref(v))
        molt.decref(v)
        molt.decref(v)


def test_a_value_encoding_that_is_no_value_is_stale(molt: Molt):
    n = ctypes.c_size_t(3)
    assert molt.lib.molt_len(0x7FF0_0000_0000_0001, n) == C.MOLT_ERR_STALE_VALUE
    assert "not a valid value encoding" in molt.last_error()
    assert n.value == 3

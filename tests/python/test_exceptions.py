"""Exceptions through the ABI: MOLT_ERR_EXCEPTION, molt_last_error's text, molt_err_fetch,
molt_raise, and CPython's own messages for the same failures.

The runtime keeps a thread's last exception after it is fetched, so a test that raises ends
with that exception (its args tuple and message str) still live at shutdown, reclaimed by
teardown: hence the ``reclaims`` markers."""

import builtins
import ctypes
from operator import getitem

import pytest
from conftest import C, Molt

LAST_EXCEPTION = "str 1 tuple 1 exception 1"


def python_error(f) -> BaseException:
    try:
        f()
    except BaseException as e:  # noqa: BLE001 - any exception is the expected outcome
        return e
    raise AssertionError("expected an exception")


def class_name(m: Molt, v: int) -> str:
    return m.attr_text(m.getattr(v, "__class__"), "__name__")


def fetch_and_check(m: Molt, expected: BaseException) -> None:
    """The current exception is `expected`'s equal: class, repr, str in last_error."""
    assert m.lib.molt_err_occurred() == 1
    exc = m.err_fetch()
    assert m.lib.molt_err_occurred() == 0
    assert class_name(m, exc) == type(expected).__name__
    assert m.repr(exc) == repr(expected)
    args = m.getattr(exc, "args")
    assert m.repr(args) == repr(expected.args)
    m.decref(args)
    m.decref(exc)


def call_status(m: Molt, func: str, *args) -> int:
    out = ctypes.c_uint64(0xDEAD)
    status = getattr(m.lib, func)(*args, out)
    assert out.value == 0xDEAD, "a failing call writes no result"
    return status


CASES = {
    "unhashable": (lambda: hash([1]), lambda m, v: m.lib.molt_hash(v["list"], ctypes.c_int64())),
    "tuple index": (
        lambda: (1, 2)[5],
        lambda m, v: call_status(m, "molt_tuple_get", v["tuple"], 5),
    ),
    "missing key": (
        lambda: {}["k"],
        lambda m, v: call_status(m, "molt_dict_get", v["dict"], v["k"]),
    ),
    "missing attribute": (
        lambda: (1).nope,
        lambda m, v: call_status(m, "molt_getattr", v["one"], b"nope"),
    ),
    "missing method": (
        lambda: "abc".nope(),
        lambda m, v: call_status(m, "molt_call_method", v["str"], b"nope", None, 0),
    ),
    "len of int": (lambda: len(1), lambda m, v: m.lib.molt_len(v["one"], ctypes.c_size_t())),
    "no module": (
        lambda: __import__("no_such_module_xyz"),
        lambda m, v: call_status(m, "molt_import", b"no_such_module_xyz"),
    ),
    "raise a non-exception": (
        lambda: exec("raise 1"),
        lambda m, v: m.lib.molt_raise(v["one"], None),
    ),
}


@pytest.mark.reclaims(LAST_EXCEPTION)
@pytest.mark.parametrize("case", CASES)
def test_failures_raise_cpythons_exception(molt: Molt, case):
    in_python, through_abi = CASES[case]
    expected = python_error(in_python)
    values = {"list": [1], "tuple": (1, 2), "dict": {}, "k": "k", "one": 1, "str": "abc"}
    made = {k: molt.new(v) for k, v in values.items()}
    assert through_abi(molt, made) == C.MOLT_ERR_EXCEPTION
    assert molt.last_error() == f"{type(expected).__name__}: {expected}"
    fetch_and_check(molt, expected)
    for v in made.values():
        molt.decref(v)


@pytest.mark.reclaims("tuple 1 exception 1")  # the last exception: KeyError(), args ()
def test_raise_by_class_and_message_then_fetch(molt: Molt):
    ve = molt.builtin_class("ValueError")
    assert molt.lib.molt_err_occurred() == 0
    none = ctypes.c_uint64(0)
    molt.check("molt_err_fetch", molt.lib.molt_err_fetch(none))
    assert none.value == C.MOLT_NONE, "nothing to fetch: None"
    molt.check("molt_raise", molt.lib.molt_raise(ve, "bad input é".encode()))
    fetch_and_check(molt, ValueError("bad input é"))
    molt.check("molt_raise", molt.lib.molt_raise(molt.builtin_class("KeyError"), None))
    fetch_and_check(molt, KeyError())


@pytest.mark.reclaims(LAST_EXCEPTION)
def test_raise_an_instance_and_get_the_same_object_back(molt: Molt):
    msg = molt.new("boom")
    inst = molt.call(molt.builtin_class("RuntimeError"), msg)
    molt.decref(msg)
    molt.check("molt_raise", molt.lib.molt_raise(inst, None))
    exc = molt.err_fetch()
    assert exc == inst, "the raised instance itself is the current exception"
    assert molt.repr(exc) == repr(RuntimeError("boom"))
    # An instance takes no message.
    assert molt.lib.molt_raise(inst, b"extra") == C.MOLT_ERR_INVALID_ARGUMENT
    assert "message must be NULL" in molt.last_error()
    assert molt.lib.molt_err_occurred() == 0
    molt.decref(exc)
    molt.decref(inst)


@pytest.mark.reclaims("str 2 tuple 2 exception 2")  # the last exception and its __context__
def test_raising_while_an_exception_is_current_chains_it_as_context(molt: Molt):
    try:
        try:
            raise ValueError("first")
        except ValueError:
            raise KeyError("second")  # noqa: B904 - implicit chaining is the point
    except KeyError as e:
        expected = e
    molt.check("molt_raise", molt.lib.molt_raise(molt.builtin_class("ValueError"), b"first"))
    molt.check("molt_raise", molt.lib.molt_raise(molt.builtin_class("KeyError"), b"second"))
    exc = molt.err_fetch()
    assert molt.lib.molt_err_occurred() == 0, "one current exception, not a stack"
    assert molt.repr(exc) == repr(expected)
    ctx = molt.getattr(exc, "__context__")
    assert molt.repr(ctx) == repr(expected.__context__)
    cause = molt.getattr(exc, "__cause__")
    assert cause == C.MOLT_NONE and expected.__cause__ is None
    suppress = molt.getattr(exc, "__suppress_context__")
    assert suppress == C.MOLT_FALSE and expected.__suppress_context__ is False
    for v in (ctx, exc):
        molt.decref(v)


@pytest.mark.reclaims("str 1 tuple 1 module 1 exception 1")  # and the module cache's builtins
def test_exception_class_hierarchy_is_cpythons(molt: Molt):
    """isinstance through `builtins.isinstance` on a raised exception, as `except` would."""
    molt.check("molt_raise", molt.lib.molt_raise(molt.builtin_class("FileNotFoundError"), b"f"))
    exc = molt.err_fetch()
    mod = molt.import_("builtins")
    isinstance_ = molt.getattr(mod, "isinstance")
    for name in ("FileNotFoundError", "OSError", "Exception", "BaseException", "ValueError"):
        r = molt.call(isinstance_, exc, molt.builtin_class(name))
        expected = issubclass(FileNotFoundError, getattr(builtins, name))
        assert r == (C.MOLT_TRUE if expected else C.MOLT_FALSE), name
    for v in (isinstance_, mod, exc):
        molt.decref(v)


def test_status_errors_are_not_python_exceptions(molt: Molt):
    """MOLT_ERR_INVALID_ARGUMENT and friends set molt_last_error but raise nothing."""
    out = ctypes.c_uint64()
    assert molt.lib.molt_str_from_utf8(b"\xff", 1, out) == C.MOLT_ERR_INVALID_ARGUMENT
    assert "UTF-8" in molt.last_error()
    assert molt.lib.molt_builtin_class(None, out) == C.MOLT_ERR_INVALID_ARGUMENT
    assert molt.last_error() == "name is NULL"
    assert molt.lib.molt_len(0x7FF0_0000_0000_0001, ctypes.c_size_t()) == C.MOLT_ERR_STALE_VALUE
    assert molt.lib.molt_err_occurred() == 0


NONE = C.MOLT_NONE


def call(f):
    return f()


# A value that is not a heap object (None, an int, a float) where the operation wants one
# raises CPython's TypeError, not ReferenceError (it is a valid value, just the wrong kind).
@pytest.mark.reclaims(None)
@pytest.mark.parametrize(
    "case",
    [
        ("None[0]", lambda: getitem(None, 0), lambda m: call_status(m, "molt_tuple_get", NONE, 0)),
        ("7[0]", lambda: getitem(7, 0), lambda m: call_status(m, "molt_tuple_get", m.new(7), 0)),
        ("None()", lambda: call(None), lambda m: call_status(m, "molt_call", NONE, None, 0)),
        ("2.5()", lambda: call(2.5), lambda m: call_status(m, "molt_call", m.new(2.5), None, 0)),
    ],
    ids=lambda c: c[0],
)
def test_operations_on_non_objects_raise_cpythons_type_error(molt: Molt, case):
    _, in_python, through_abi = case
    expected = python_error(in_python)
    assert through_abi(molt) == C.MOLT_ERR_EXCEPTION
    message = molt.last_error()
    molt.decref(molt.err_fetch())
    assert message == f"{type(expected).__name__}: {expected}"

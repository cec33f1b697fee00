"""argv (molt_runtime_set_argv / argv_len / argv_get and `sys.argv`) and the configuration
the runtime reads from the environment at init (capabilities, allocation registry)."""

import ctypes
import sys

import pytest
from conftest import C, Molt, environment

ARGS = ["prog", "-v", "--name=é", "日本", "😀", "", "a b", "x" * 300]


def sys_argv_repr(m: Molt) -> str:
    mod = m.import_("sys")
    argv = m.getattr(mod, "argv")
    try:
        return m.repr(argv)
    finally:
        m.decref(argv)
        m.decref(mod)


def test_argv_is_empty_in_a_fresh_runtime(molt: Molt):
    assert molt.argv() == []


# Live at shutdown: the module cache's `sys`, its `argv` list (with ARGS' 8 strs) and
# `version_info` tuple.
@pytest.mark.reclaims("str 8 tuple 1 list 1 module 1")
def test_argv_round_trips_and_is_sys_argv(molt: Molt):
    molt.set_argv(sys.argv)  # this interpreter's own
    assert molt.argv() == sys.argv
    assert sys_argv_repr(molt) == repr(sys.argv)
    # Replacing argv updates the `sys.argv` of the module imported above.
    molt.set_argv(ARGS)
    assert molt.argv() == ARGS
    assert sys_argv_repr(molt) == repr(ARGS)


def test_argv_get_reports_the_needed_length(molt: Molt):
    molt.set_argv(["prog", "é"])
    n, buf = ctypes.c_size_t(), ctypes.create_string_buffer(8)
    assert molt.lib.molt_runtime_argv_get(1, None, 0, n) == C.MOLT_ERR_INVALID_ARGUMENT
    assert n.value == len("é".encode())
    assert molt.lib.molt_runtime_argv_get(0, buf, 4, n) == C.MOLT_ERR_INVALID_ARGUMENT
    assert n.value == 4 and "buffer too small" in molt.last_error()
    assert molt.lib.molt_runtime_argv_get(0, buf, 5, n) == C.MOLT_OK
    assert buf.value == b"prog"
    assert molt.lib.molt_runtime_argv_get(2, buf, 8, n) == C.MOLT_ERR_INDEX
    assert molt.last_error() == "IndexError: argv index 2 out of range (len 2)"


def test_bad_argv_is_rejected_and_changes_nothing(molt: Molt):
    molt.set_argv(["keep"])
    two = (ctypes.c_char_p * 2)(b"a", None)
    assert molt.lib.molt_runtime_set_argv(-1, two) == C.MOLT_ERR_INVALID_ARGUMENT
    assert molt.last_error() == "argc is negative (-1)"
    assert molt.lib.molt_runtime_set_argv(1, None) == C.MOLT_ERR_INVALID_ARGUMENT
    assert molt.lib.molt_runtime_set_argv(2, two) == C.MOLT_ERR_INVALID_ARGUMENT
    assert molt.last_error() == "argv[1] is NULL"
    bad = (ctypes.c_char_p * 1)(b"\xff")
    assert molt.lib.molt_runtime_set_argv(1, bad) == C.MOLT_ERR_INVALID_ARGUMENT
    assert "UTF-8" in molt.last_error()
    assert molt.argv() == ["keep"]
    assert molt.lib.molt_runtime_argv_len(None) == C.MOLT_ERR_INVALID_ARGUMENT
    assert molt.lib.molt_err_occurred() == 0, "argument errors raise no Python exception"


@pytest.mark.parametrize(
    "granted, allowed, denied",
    [
        ("", [], ["fs", "fs.read", "net"]),
        ("fs.read,net", ["fs.read", "fs.read.home", "net", "net.http"], ["fs", "fs.write"]),
        (" fs , ", ["fs", "fs.read", "fs.write"], ["net", "fsx"]),
        ("*", ["fs", "net.http", "anything.at.all"], []),
    ],
)
def test_capabilities_come_from_the_environment_at_init(lib: Molt, granted, allowed, denied):
    with lib.runtime(env={"MOLT_CAPABILITIES": granted}) as m:
        for cap in allowed:
            assert m.lib.molt_capability_require(cap.encode()) == C.MOLT_OK, cap
        for cap in denied:
            assert m.lib.molt_capability_require(cap.encode()) == C.MOLT_ERR_PERMISSION, cap
            assert m.last_error().startswith(f'PermissionError: capability "{cap}"')
        assert m.lib.molt_err_occurred() == 0


def test_the_allocation_registry_setting_is_read_at_init(lib: Molt):
    """MOLT_ALLOC_REGISTRY=0 turns the registry off (the harness turns it on everywhere
    else): nothing is counted and the report says the leak check was not possible."""
    live = ctypes.c_int64(-1)
    with environment({"MOLT_ALLOC_REGISTRY": "0"}):
        lib.check("molt_runtime_init", lib.lib.molt_runtime_init())
    try:
        lib.check("molt_runtime_live_allocations", lib.lib.molt_runtime_live_allocations(live))
    finally:
        assert lib.lib.molt_runtime_shutdown() == C.MOLT_OK
    assert live.value == 0
    report = lib.teardown_report()
    assert report.endswith("\n  leak report: allocation registry disabled"), report
    assert "live allocations after shutdown" not in report
    with lib.runtime() as m:
        m.check("molt_runtime_live_allocations", m.lib.molt_runtime_live_allocations(live))
        assert live.value > 0, "registry on again"

"""The process-default runtime's lifecycle as a Python host sees it: idempotent init and
shutdown, fresh runtimes after re-init, gated entry points, init failures, cycles."""

import ctypes
import os
import time
from pathlib import Path

import pytest
from conftest import (
    GATED,
    C,
    Molt,
    MoltError,
    MoltTask,
    MoltFreeFn,
    MoltNativeFn,
    MoltTaskFn,
    assert_clean_teardown,
    environment,
)

u64, i64, usize = ctypes.c_uint64, ctypes.c_int64, ctypes.c_size_t

# A task body for the call table below: returns None. Module-level, so it outlives every
# runtime that may run it (with a runtime, the table's spawns really start tasks).
_NONE_TASK = MoltTaskFn(lambda _user_data, _result: C.MOLT_OK)
_NONE_NATIVE = MoltNativeFn(lambda _user_data, _args, _nargs, _result: C.MOLT_OK)


def test_init_twice_shutdown_twice(lib: Molt):
    assert lib.lib.molt_runtime_is_initialized() == 0
    assert lib.lib.molt_runtime_shutdown() == C.MOLT_OK, "shutdown with no runtime is a no-op"
    generation = lib.lib.molt_runtime_generation()
    assert lib.lib.molt_runtime_init() == C.MOLT_OK
    assert lib.lib.molt_runtime_init() == C.MOLT_OK, "a second init is a no-op"
    assert lib.lib.molt_runtime_is_initialized() == 1
    assert lib.lib.molt_runtime_generation() == generation, "init does not bump the generation"
    assert lib.lib.molt_runtime_shutdown() == C.MOLT_OK
    assert lib.lib.molt_runtime_is_initialized() == 0
    assert lib.lib.molt_runtime_generation() == generation + 1
    report = lib.teardown_report()
    assert report.startswith("teardown report for "), report
    assert_clean_teardown(report)
    assert lib.lib.molt_runtime_shutdown() == C.MOLT_OK, "a second shutdown is a no-op"
    assert lib.lib.molt_runtime_generation() == generation + 1, "and tears nothing down"
    assert lib.teardown_report() == report


def test_init_twice_keeps_the_same_runtime(lib: Molt):
    with lib.runtime() as m:
        s = m.new("still here")
        assert m.lib.molt_runtime_init() == C.MOLT_OK
        assert m.text(s) == "still here", "a second init must not replace the live runtime"
        m.decref(s)


def test_reinit_gives_a_fresh_runtime(lib: Molt):
    # `kept` and the pending exception (with its args tuple and message) are never
    # released: teardown reclaims them, and nothing leaks (checked by lib.runtime).
    with lib.runtime(reclaimed="str 2 tuple 1 exception 1") as m:
        kept = m.new("from the first runtime")
        user = u64()
        m.check("molt_class_new", m.lib.molt_class_new(b"Gone", C.MOLT_NONE, C.MOLT_NONE, user))
        m.set_argv(["first"])
        m.check("molt_raise", m.lib.molt_raise(m.builtin_class("ValueError"), b"pending"))
        assert m.lib.molt_err_occurred() == 1
    n = usize(7)
    assert lib.lib.molt_len(kept, n) == C.MOLT_ERR_NOT_INITIALIZED, "no runtime: not looked at"
    with lib.runtime() as m:
        assert m.argv() == [], "argv does not survive a re-init"
        assert m.lib.molt_err_occurred() == 0, "nor does a pending exception"
        for stale in (kept, user.value):
            assert m.lib.molt_len(stale, n) == C.MOLT_ERR_STALE_VALUE
            assert "stale or foreign value" in m.last_error()
            assert n.value == 7, "a rejected call writes nothing"
            assert m.lib.molt_decref(stale) == C.MOLT_ERR_STALE_VALUE
            assert m.lib.molt_incref(stale) == C.MOLT_ERR_STALE_VALUE
        fresh = m.new("from the first runtime")
        assert m.text(fresh) == "from the first runtime"
        m.decref(fresh)
        # A value freed in this runtime is stale too: no double free.
        assert m.lib.molt_decref(fresh) == C.MOLT_ERR_STALE_VALUE


def test_fresh_runtimes_start_from_the_same_state(lib: Molt):
    counts = []
    for _ in range(3):
        with lib.runtime() as m:
            live = i64(-1)
            m.check("molt_runtime_live_allocations", m.lib.molt_runtime_live_allocations(live))
            counts.append(live.value)
    assert counts[0] > 0, "the registry is on: init allocates"
    assert counts == [counts[0]] * 3, counts


def _calls_without_a_runtime(lib):
    """One call per gated entry point, with well-formed arguments and out-parameters
    pre-set to a sentinel: name -> (call, out-parameters)."""
    L = lib.lib
    v = C.MOLT_NONE
    o_u64, o_i64, o_sz, o_f64 = u64(0xDEAD), i64(-99), usize(99), ctypes.c_double(9.5)
    o_i32, o_task = ctypes.c_int32(-99), MoltTask(0xDEAD, 0xBEEF)
    task = MoltTask(1, 1)  # well-formed, names no task
    o_ptr = ctypes.c_char_p(b"sentinel")
    arr = (u64 * 1)(v)
    argv = (ctypes.c_char_p * 1)(b"prog")
    buf = ctypes.create_string_buffer(b"sentinel", 16)
    calls = {
        "molt_runtime_set_argv": lambda: L.molt_runtime_set_argv(1, argv),
        "molt_runtime_argv_len": lambda: L.molt_runtime_argv_len(o_sz),
        "molt_runtime_argv_get": lambda: L.molt_runtime_argv_get(0, buf, 16, o_sz),
        "molt_capability_require": lambda: L.molt_capability_require(b"fs.read"),
        "molt_runtime_live_allocations": lambda: L.molt_runtime_live_allocations(o_i64),
        "molt_int_from_i64": lambda: L.molt_int_from_i64(1, o_u64),
        "molt_float_from_f64": lambda: L.molt_float_from_f64(1.5, o_u64),
        "molt_str_from_utf8": lambda: L.molt_str_from_utf8(b"abc", 3, o_u64),
        "molt_bytes_from": lambda: L.molt_bytes_from(b"abc", 3, o_u64),
        "molt_tuple_new": lambda: L.molt_tuple_new(arr, 1, o_u64),
        "molt_list_new": lambda: L.molt_list_new(arr, 1, o_u64),
        "molt_dict_new": lambda: L.molt_dict_new(o_u64),
        "molt_dict_set": lambda: L.molt_dict_set(v, v, v),
        "molt_dict_get": lambda: L.molt_dict_get(v, v, o_u64),
        "molt_int_as_i64": lambda: L.molt_int_as_i64(v, o_i64),
        "molt_float_as_f64": lambda: L.molt_float_as_f64(v, o_f64),
        "molt_str_as_utf8": lambda: L.molt_str_as_utf8(v, o_ptr, o_sz),
        "molt_len": lambda: L.molt_len(v, o_sz),
        "molt_tuple_len": lambda: L.molt_tuple_len(v, o_sz),
        "molt_tuple_get": lambda: L.molt_tuple_get(v, 0, o_u64),
        "molt_incref": lambda: L.molt_incref(v),
        "molt_decref": lambda: L.molt_decref(v),
        "molt_getattr": lambda: L.molt_getattr(v, b"__class__", o_u64),
        "molt_setattr": lambda: L.molt_setattr(v, b"x", v),
        "molt_call": lambda: L.molt_call(v, arr, 1, o_u64),
        "molt_call_method": lambda: L.molt_call_method(v, b"upper", arr, 0, o_u64),
        "molt_hash": lambda: L.molt_hash(v, o_i64),
        "molt_repr": lambda: L.molt_repr(v, o_u64),
        "molt_builtin_class": lambda: L.molt_builtin_class(b"int", o_u64),
        "molt_class_new": lambda: L.molt_class_new(b"X", v, v, o_u64),
        "molt_import": lambda: L.molt_import(b"sys", o_u64),
        "molt_err_occurred": lambda: L.molt_err_occurred(),
        "molt_err_fetch": lambda: L.molt_err_fetch(o_u64),
        "molt_raise": lambda: L.molt_raise(v, None),
        "molt_task_spawn": lambda: L.molt_task_spawn(_NONE_TASK, None, o_task),
        "molt_task_spawn_after": lambda: L.molt_task_spawn_after(0.01, _NONE_TASK, None, o_task),
        "molt_task_join": lambda: L.molt_task_join(task, o_u64),
        "molt_task_cancel": lambda: L.molt_task_cancel(task, b"why", o_i32),
        "molt_task_state": lambda: L.molt_task_state(task, o_i32),
        "molt_sleep": lambda: L.molt_sleep(0.01),
        "molt_task_check_cancelled": lambda: L.molt_task_check_cancelled(),
        "molt_gil_acquire": lambda: L.molt_gil_acquire(),
        "molt_gil_release": lambda: L.molt_gil_release(),
        "molt_int_from_str": lambda: L.molt_int_from_str(b"12", 2, 10, o_u64),
        "molt_int_to_str": lambda: L.molt_int_to_str(v, o_u64),
        "molt_function_new": lambda: L.molt_function_new(b"f", _NONE_NATIVE, None, MoltFreeFn(), o_u64),
    }
    outs = (o_u64, o_i64, o_sz, o_f64, o_ptr, buf, o_i32, o_task)
    return calls, outs


def test_the_gated_list_covers_every_entry_point_but_the_lifecycle_ones(lib: Molt):
    calls, _ = _calls_without_a_runtime(lib)
    assert sorted(calls) == sorted(GATED)


@pytest.mark.parametrize("name", GATED)
def test_entry_point_without_a_runtime_is_not_initialized(lib: Molt, name):
    assert lib.lib.molt_runtime_is_initialized() == 0
    calls, outs = _calls_without_a_runtime(lib)
    before = [bytes(memoryview(o)) for o in outs]
    assert calls[name]() == C.MOLT_ERR_NOT_INITIALIZED
    message = lib.last_error()
    assert message == f"{name}: no runtime is initialized (call molt_runtime_init first)" or (
        message.startswith(f"{name}: ") and "no runtime is initialized" in message
    ), message
    assert [bytes(memoryview(o)) for o in outs] == before, "nothing was written"


def test_gated_calls_work_again_after_init(lib: Molt):
    """The same calls, with a runtime: none of them is NOT_INITIALIZED any more. The new
    references they return and the exceptions they raise are released. Still live at
    shutdown: the module cache's `sys` (module, `argv` list holding "prog", `version_info`
    tuple) and the thread's last exception (`molt_raise(None)`'s TypeError, its args tuple
    and message), which the runtime keeps after it is fetched. The two tasks the spawns
    start (their body returns None) are left to shutdown."""
    with lib.runtime(reclaimed="str 2 tuple 2 list 1 module 1 exception 1"):
        calls, outs = _calls_without_a_runtime(lib)
        out = outs[0]
        for name in GATED:
            out.value = 0xDEAD
            status = calls[name]()
            assert status != C.MOLT_ERR_NOT_INITIALIZED, name
            if status == C.MOLT_OK and out.value != 0xDEAD:
                lib.decref(out.value)
            if status == C.MOLT_ERR_EXCEPTION:  # e.g. len(None): a TypeError
                lib.decref(lib.err_fetch())
        assert lib.lib.molt_err_occurred() == 0


@pytest.mark.parametrize(
    "var, value, expect",
    [
        ("MOLT_FAIL_INIT_AT", "builtin-classes", "builtin-classes"),
        ("MOLT_FAIL_INIT_AT", "publish", "publish"),
        ("MOLT_FAIL_INIT_AT", "no-such-step", "unknown init step"),
        ("MOLT_HASHSEED", "not-a-number", "MOLT_HASHSEED"),
        ("MOLT_HASHSEED", "4294967296", "MOLT_HASHSEED"),
        ("MOLT_ALLOC_REGISTRY", "maybe", "MOLT_ALLOC_REGISTRY"),
    ],
)
def test_a_failed_init_publishes_nothing_and_a_later_init_succeeds(lib: Molt, var, value, expect):
    generation = lib.lib.molt_runtime_generation()
    with environment({var: value}):
        assert lib.lib.molt_runtime_init() == C.MOLT_ERR_INIT_FAILED
    assert expect in lib.last_error()
    assert lib.lib.molt_runtime_is_initialized() == 0
    assert lib.lib.molt_runtime_generation() == generation
    n = usize()
    assert lib.lib.molt_runtime_argv_len(n) == C.MOLT_ERR_NOT_INITIALIZED
    with lib.runtime() as m:
        assert m.argv() == []


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc/self/statm")
def test_a_thousand_cycles_stay_fast_and_leave_nothing(lib: Molt):
    L = lib.lib

    def cycle():
        assert L.molt_runtime_init() == C.MOLT_OK
        s = lib.new("cycle")
        t = lib.new((1, 2.5, "x"))
        assert L.molt_decref(t) == C.MOLT_OK
        # `s` is left for teardown to reclaim, as a careless host would.
        assert L.molt_runtime_shutdown() == C.MOLT_OK
        return s

    for _ in range(100):  # warm up the allocator and the library
        cycle()
    generation = L.molt_runtime_generation()
    before = _rss_bytes()
    start = time.perf_counter()
    stale = [cycle() for _ in range(1000)]
    elapsed = time.perf_counter() - start
    after = _rss_bytes()
    assert L.molt_runtime_generation() == generation + 1000
    assert_clean_teardown(lib.teardown_report(), reclaimed="str 1")
    assert after - before < 1 << 20, f"RSS grew by {(after - before) / 1024:.0f} KiB"
    # Generous: a debug build takes ~0.5 ms per cycle (init, two objects, shutdown).
    assert elapsed < 10, f"1000 cycles took {elapsed:.1f} s"
    # Every one of those values is rejected by a fresh runtime.
    with lib.runtime() as m:
        n = usize()
        assert all(m.lib.molt_len(s, n) == C.MOLT_ERR_STALE_VALUE for s in stale[::50])


def test_helpers_raise_molt_error_with_the_status_and_message(molt: Molt):
    with pytest.raises(MoltError) as e:
        molt.builtin_class("NoSuchClass")
    assert e.value.status == C.MOLT_ERR_INVALID_ARGUMENT
    assert e.value.message == 'no builtin class named "NoSuchClass"'

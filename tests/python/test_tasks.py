"""Tasks through the C ABI, as a Python host drives them: task bodies are ctypes callbacks
that the runtime calls on its worker threads (or on the joining thread), results and
exceptions crossing back through join, cancellation, shutdown with a sleeping task, bad
arguments, and many tasks over many init/shutdown cycles."""

import ctypes
import math
import re
import threading
import time
from pathlib import Path

import pytest
from conftest import C, Molt, MoltError, MoltTask, MoltTaskFn, assert_clean_teardown

u64, i32 = ctypes.c_uint64, ctypes.c_int32

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="needs /proc/self/task/*/comm"
)


def thread_names() -> list[str]:
    """The names (comm) of this process's threads."""
    names = []
    for comm in Path("/proc/self/task").glob("*/comm"):
        try:
            names.append(comm.read_text().strip())
        except OSError:  # the thread exited meanwhile
            pass
    return names


def runtime_threads(runtime: int) -> list[str]:
    """This process's threads that belong to runtime ``runtime``: its scheduler workers
    (``m<id>w<i>``) and its sleep worker (``m<id>s``)."""
    pattern = re.compile(rf"m{runtime}(w\d+|s)")
    return [n for n in thread_names() if pattern.fullmatch(n)]


def this_thread_name() -> str:
    return Path("/proc/thread-self/comm").read_text().strip()


def wait_until(predicate, timeout: float = 5.0, what: str = "condition"):
    """Polls ``predicate`` until it is true (returning its value) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.002)


def report_runtime_id(report: str) -> int:
    """N in the teardown report's first line, "teardown report for runtime#N"."""
    m = re.match(r"teardown report for runtime#(\d+)\n", report)
    assert m, report
    return int(m.group(1))


def raising_body(m: Molt, cls: str, message: bytes) -> MoltTaskFn:
    """A task body written as a C host would: raise ``cls(message)`` through the ABI and
    return MOLT_ERR_EXCEPTION."""

    def body(_user_data, _result):
        exc = u64()
        if m.lib.molt_builtin_class(cls.encode(), exc) != C.MOLT_OK:
            return C.MOLT_ERR_INTERNAL
        if m.lib.molt_raise(exc, message) != C.MOLT_OK:
            return C.MOLT_ERR_INTERNAL
        return C.MOLT_ERR_EXCEPTION

    return MoltTaskFn(body)


@needs_proc
def test_a_task_returns_a_value_built_in_its_body(molt: Molt):
    ran_on = []

    def body(_user_data, result):
        ran_on.append(this_thread_name())
        text = f"made on {ran_on[-1]}".encode()
        # Through the ABI, into the result slot: a new reference the joiner takes over.
        return molt.lib.molt_str_from_utf8(text, len(text), result)

    task = molt.spawn(MoltTaskFn(body))
    wait_until(lambda: molt.task_state(task) == C.MOLT_TASK_DONE, what="the task to finish")
    assert re.fullmatch(rf"m{task.runtime}w\d+", ran_on[0]), "a worker thread ran it"
    v = molt.join(task)
    assert molt.text(v) == f"made on {ran_on[0]}"
    molt.decref(v)
    assert ran_on == ran_on[:1], "the body ran once"
    assert molt.task_bodies_kept() == 0, "a joined task's body is let go"

    # Joined right away: it may run on a worker or on this thread; the result is the same.
    tasks = [molt.spawn(lambda i=i: molt.new(("task", i))) for i in range(8)]
    results = [molt.join(t) for t in tasks]
    assert [molt.repr(r) for r in results] == [repr(("task", i)) for i in range(8)]
    for r in results:
        molt.decref(r)
    # A body that leaves the result slot alone returns None.
    assert molt.join(molt.spawn(lambda: None)) == C.MOLT_NONE


# The test thread's last exception (the ValueError it fetched from the join, with its args
# tuple and message), which the runtime keeps after it is fetched.
@pytest.mark.reclaims("str 1 tuple 1 exception 1")
def test_a_raising_task_fails_and_join_raises_its_exception(molt: Molt):
    assert molt.lib.molt_err_occurred() == 0
    task = molt.spawn(raising_body(molt, "ValueError", b"bad input 42"))
    wait_until(lambda: molt.task_state(task) == C.MOLT_TASK_FAILED, what="the task to fail")
    assert molt.lib.molt_err_occurred() == 0, "the task's exception is its own"

    with pytest.raises(MoltError) as e:
        molt.join(task)
    assert e.value.status == C.MOLT_ERR_EXCEPTION
    assert e.value.message == "ValueError: bad input 42"
    assert molt.lib.molt_err_occurred() == 1, "join made it this thread's exception"
    exc = molt.err_fetch()
    assert molt.repr(exc) == "ValueError('bad input 42')"
    molt.decref(exc)
    assert molt.lib.molt_err_occurred() == 0


def test_a_task_raises_into_its_own_state_even_on_the_joining_thread(lib: Molt):
    """With no worker threads the body runs inside join, on this thread: its exception is
    still the task's, and this thread's pending exception stays as it was until join, which
    raises the task's exception over it (the pending one becomes its ``__context__``)."""
    # Still live at shutdown: this thread's last exception, the task's ValueError, and its
    # __context__ KeyError (each with its args tuple and message).
    with lib.runtime(env={"MOLT_WORKERS": "0"}, reclaimed="str 2 tuple 2 exception 2") as m:
        ran_on = []

        def body(_user_data, _result):
            ran_on.append((threading.get_ident(), m.lib.molt_err_occurred()))
            exc = u64()
            m.check("molt_builtin_class", m.lib.molt_builtin_class(b"ValueError", exc))
            m.check("molt_raise", m.lib.molt_raise(exc, b"from the task"))
            return C.MOLT_ERR_EXCEPTION

        task = m.spawn(MoltTaskFn(body))
        assert m.task_state(task) == C.MOLT_TASK_PENDING
        m.check("molt_raise", m.lib.molt_raise(m.builtin_class("KeyError"), b"mine"))
        with pytest.raises(MoltError, match="ValueError: from the task"):
            m.join(task)
        assert ran_on == [(threading.get_ident(), 0)], "run by join here, with no exception"
        exc = m.err_fetch()
        assert m.repr(exc) == "ValueError('from the task')", "join replaced KeyError('mine')"
        context = m.getattr(exc, "__context__")
        assert m.repr(context) == "KeyError('mine')"
        m.decref(context)
        m.decref(exc)
        assert m.lib.molt_err_occurred() == 0
    report = lib.teardown_report()
    assert "workers:        0 of 0 scheduler workers joined, sleep worker not started" in report


# As above: this thread's last exception (the CancelledError from the join).
@pytest.mark.reclaims("str 1 tuple 1 exception 1")
def test_cancelling_a_pending_task(molt: Molt):
    ran = []
    task = molt.spawn(lambda: ran.append(1), delay=3600)
    assert molt.task_state(task) == C.MOLT_TASK_PENDING
    assert molt.cancel(task, "not needed any more") is True
    assert molt.task_state(task) == C.MOLT_TASK_CANCELLED
    assert molt.cancel(task, "again") is False, "already finished"
    with pytest.raises(MoltError) as e:
        molt.join(task)
    assert e.value.status == C.MOLT_ERR_EXCEPTION
    assert e.value.message == "CancelledError: not needed any more", "the first message"
    exc = molt.err_fetch()
    cls = molt.getattr(exc, "__class__")
    assert molt.class_names(cls, "__mro__") == ("CancelledError", "BaseException", "object")
    assert molt.repr(exc) == "CancelledError('not needed any more')"
    molt.decref(exc)
    assert ran == [], "a cancelled pending task never runs"


# A cancellation without a message (molt_task_cancel(task, NULL, ...)) raises
# CancelledError() (args ()), as CPython's task.cancel() does.
@pytest.mark.reclaims("tuple 1 exception 1")
def test_a_cancellation_without_a_message_raises_a_bare_cancelled_error(molt: Molt):
    task = molt.spawn(lambda: None, delay=3600)
    assert molt.cancel(task) is True
    with pytest.raises(MoltError) as e:
        molt.join(task)
    exc = molt.err_fetch()
    try:
        assert e.value.message == "CancelledError"
        assert molt.repr(exc) == "CancelledError()"
    finally:
        molt.decref(exc)


@pytest.mark.reclaims("str 1 tuple 1 exception 1")
def test_a_running_task_sees_its_cancellation_at_check_cancelled(molt: Molt):
    started, checks = threading.Event(), []

    def body(_user_data, _result):
        started.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = molt.lib.molt_task_check_cancelled()
            checks.append(status)
            if status != C.MOLT_OK:
                return status  # MOLT_ERR_EXCEPTION: CancelledError is raised in the task
            time.sleep(0.001)
        return C.MOLT_OK

    task = molt.spawn(MoltTaskFn(body))
    assert started.wait(5)
    assert molt.task_state(task) == C.MOLT_TASK_RUNNING
    assert molt.cancel(task, "enough") is True
    with pytest.raises(
        MoltError, match="^molt_task_join: MOLT_ERR_EXCEPTION: CancelledError: enough$"
    ):
        molt.join(task)
    assert checks[-1] == C.MOLT_ERR_EXCEPTION and set(checks[:-1]) <= {C.MOLT_OK}
    molt.decref(molt.err_fetch())


@needs_proc
def test_a_sleeping_task_is_cancelled_by_shutdown_and_every_worker_is_joined(lib: Molt):
    lib.check("molt_runtime_init", lib.lib.molt_runtime_init())
    seen = []

    def body():
        try:
            lib.sleep(3600)
        except MoltError as e:
            seen.append((e.status, lib.last_error()))
            raise
        seen.append("woke up")

    task = lib.spawn(body)
    rid = task.runtime
    # The first sleep of a task starts the sleep worker while it holds the runtime lock,
    # which it releases only once the task is marked sleeping: once `m<id>s` shows, the
    # task sleeps as far as shutdown can tell.
    wait_until(lambda: f"m{rid}s" in thread_names(), what="the sleep worker")
    assert lib.task_state(task) == C.MOLT_TASK_RUNNING
    assert runtime_threads(rid), "workers running"

    start = time.perf_counter()
    status = lib.lib.molt_runtime_shutdown()
    elapsed = time.perf_counter() - start
    assert status == C.MOLT_OK, lib.last_error()
    lib.forget_finished_task_bodies()
    assert elapsed < 0.5, f"shutdown took {elapsed:.2f} s: it must not wait out the sleep"
    assert seen == [(C.MOLT_ERR_EXCEPTION, "CancelledError: the runtime is shutting down")]

    report = lib.teardown_report()
    assert report_runtime_id(report) == rid, "a task handle names its runtime"
    tasks = re.search(r"\n  tasks: +1 spawned; at shutdown (.*)\n", report)
    assert tasks, report
    assert "pending 0 running 1 " in tasks.group(1) and "(sleeping 1)" in tasks.group(1), report
    workers = re.search(
        r"\n  workers: +(\d+) of (\d+) scheduler workers joined, sleep worker joined\n", report
    )
    assert workers and workers.group(1) == workers.group(2) != "0", report
    assert_clean_teardown(report)
    # A joined thread may linger in /proc for a moment.
    wait_until(lambda: not runtime_threads(rid), timeout=2, what="the worker threads to go")
    assert lib.take_callback_errors() == []
    assert lib.task_bodies_kept() == 0


def test_bad_arguments(molt: Molt):
    L = molt.lib
    noop = MoltTaskFn(lambda _user_data, _result: C.MOLT_OK)
    out = MoltTask(0xDEAD, 0xBEEF)

    def rejected(status, message):
        assert status == C.MOLT_ERR_INVALID_ARGUMENT, molt.last_error()
        assert message in molt.last_error()
        assert (out.key, out.runtime) == (0xDEAD, 0xBEEF), "nothing was written"

    null = MoltTaskFn()  # a NULL function pointer
    rejected(L.molt_task_spawn(null, None, out), "func is NULL")
    rejected(L.molt_task_spawn_after(1.0, null, None, out), "func is NULL")
    rejected(L.molt_task_spawn(noop, None, None), "out is NULL")
    for delay in (-1.0, -0.0001, math.nan, math.inf, -math.inf):
        rejected(L.molt_task_spawn_after(delay, noop, None, out), "delay_seconds")
    for seconds in (-1.0, math.nan, math.inf):
        assert L.molt_sleep(seconds) == C.MOLT_ERR_INVALID_ARGUMENT
        assert "seconds" in molt.last_error()
    assert L.molt_task_check_cancelled() == C.MOLT_ERR_INVALID_ARGUMENT
    assert "not running a task" in molt.last_error()
    assert L.molt_sleep(0.0) == C.MOLT_OK, "outside a task: sleeps this thread"

    task = molt.spawn(lambda: molt.new(7))
    assert molt.int_value(molt.join(task)) == 7
    result, state, took = u64(0xDEAD), i32(-9), i32(-9)
    for status in (
        L.molt_task_join(task, result),
        L.molt_task_state(task, state),
        L.molt_task_cancel(task, b"late", took),
        L.molt_task_cancel(task, None, None),
    ):
        assert status == C.MOLT_ERR_STALE_VALUE, "a joined task's handle is spent"
        assert molt.last_error().startswith(("molt_task_", "task: "))
    assert (result.value, state.value, took.value) == (0xDEAD, -9, -9)
    for forged in (MoltTask(0, 0), MoltTask(task.key, 0), MoltTask(0x5555, task.runtime)):
        assert L.molt_task_state(forged, state) == C.MOLT_ERR_STALE_VALUE
    assert L.molt_task_join(task, None) == C.MOLT_ERR_INVALID_ARGUMENT
    assert L.molt_task_state(molt.spawn(lambda: None), None) == C.MOLT_ERR_INVALID_ARGUMENT


def test_a_task_handle_from_an_earlier_runtime_is_stale(lib: Molt):
    with lib.runtime() as m:
        done = m.spawn(lambda: m.new("unjoined"))
        pending = m.spawn(lambda: None, delay=3600)
    with lib.runtime() as m:
        state = i32(-9)
        for task in (done, pending):
            assert m.lib.molt_task_state(task, state) == C.MOLT_ERR_STALE_VALUE
            assert m.lib.molt_task_join(task, u64()) == C.MOLT_ERR_STALE_VALUE
        assert state.value == -9


@needs_proc
def test_a_hundred_tasks_per_runtime_over_fifty_cycles(lib: Molt):
    """Each runtime: 80 tasks that build a str, 70 of them joined and 10 left to shutdown,
    and 20 delayed ones, 10 cancelled and 10 left for shutdown to cancel. Every shutdown
    leaves nothing (the unjoined results go with their task records), and no worker thread
    outlives its runtime."""
    rids = set()
    start = time.perf_counter()
    for cycle in range(50):
        with lib.runtime() as m:
            now = [m.spawn(lambda i=i: m.new(f"{cycle}:{i}")) for i in range(80)]
            later = [m.spawn(lambda: m.new("never"), delay=3600) for _ in range(20)]
            rids.add(now[0].runtime)
            for i, task in enumerate(now[:70]):
                v = m.join(task)
                assert m.text(v) == f"{cycle}:{i}"
                m.decref(v)
            assert all(m.cancel(t) for t in later[:10])
        report = lib.teardown_report()
        assert "\n  tasks:          100 spawned; at shutdown " in report, report
        assert report_runtime_id(report) in rids
        assert lib.task_bodies_kept() == 0
    elapsed = time.perf_counter() - start
    assert len(rids) == 50, "a fresh runtime each cycle"
    assert elapsed < 30, f"50 cycles of 100 tasks took {elapsed:.1f} s"
    wait_until(
        lambda: not [n for n in thread_names() if re.fullmatch(r"m\d+(w\d+|s)", n)],
        timeout=2,
        what="every runtime's worker threads to go",
    )

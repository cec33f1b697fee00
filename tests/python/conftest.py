"""pytest + ctypes harness for molt-state's C ABI, as a user's Python test suite would use it.

The library: ``MOLT_STATE_LIB=/path/to/libmolt_state.so`` if set; otherwise ``cargo build
--lib`` (``--release`` with ``MOLT_STATE_PROFILE=release``) and the cdylib in the target
directory that ``cargo metadata`` reports (so ``CARGO_TARGET_DIR`` is honoured).

The ctypes signatures come from ``include/molt_state.h``: the prototypes of the functions in
``USED`` are parsed and mapped to ctypes types, and the ``MOLT_*`` constants are read from its
``#define`` lines, so the harness cannot drift from the header.

The process-default runtime reads its configuration from the environment at init, so the
harness clears the ``MOLT_*`` variables it does not control and turns the allocation registry
on (``MOLT_ALLOC_REGISTRY=1``, also in release builds) so that every shutdown's leak report
means something. Tests run serially: the runtime is one per process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "molt_state.h"

# ------------------------------------------------------------------------- the header


class MoltTask(ctypes.Structure):
    """``struct MoltTask``: a task handle, two words, passed by value (and written through a
    ``struct MoltTask *`` by the spawn functions)."""

    _fields_ = [("key", ctypes.c_uint64), ("runtime", ctypes.c_uint64)]

    def __repr__(self) -> str:
        return f"MoltTask(key={self.key:#x}, runtime={self.runtime})"


# ``MoltTaskFn``: int32_t (*)(void *user_data, uint64_t *result). A CFUNCTYPE object must
# outlive every call a worker thread may still make to it (see Molt.spawn).
MoltTaskFn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64))
MoltNativeFn = ctypes.CFUNCTYPE(
    ctypes.c_int32,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.c_uint64),
)
MoltFreeFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)

C_TYPES = {
    "void": None,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_size_t,
    "double": ctypes.c_double,
    "const char *": ctypes.c_char_p,
    "char *": ctypes.POINTER(ctypes.c_char),
    "const char **": ctypes.POINTER(ctypes.c_char_p),
    "const char *const *": ctypes.POINTER(ctypes.c_char_p),
    "const uint8_t *": ctypes.c_char_p,  # Python bytes
    "const uint64_t *": ctypes.POINTER(ctypes.c_uint64),
    "uint64_t *": ctypes.POINTER(ctypes.c_uint64),
    "int64_t *": ctypes.POINTER(ctypes.c_int64),
    "size_t *": ctypes.POINTER(ctypes.c_size_t),
    "double *": ctypes.POINTER(ctypes.c_double),
    "int32_t *": ctypes.POINTER(ctypes.c_int32),
    "void *": ctypes.c_void_p,
    "MoltTaskFn": MoltTaskFn,
    "MoltNativeFn": MoltNativeFn,
    "MoltFreeFn": MoltFreeFn,
    "struct MoltTask": MoltTask,
    "struct MoltTask *": ctypes.POINTER(MoltTask),
}

_PROTOTYPE = re.compile(r"^([A-Za-z_][\w ]*?[\s*]+)(molt_\w+)\(([^)]*)\);", re.M | re.S)
_DEFINE = re.compile(r"^#define (MOLT_\w+) (-?\d+)(?:ull)?$", re.M)


def _norm(c_type: str) -> str:
    """``const char *const  *`` -> ``const char *const *``: one spelling per C type."""
    return " ".join(re.findall(r"\*|\w+", c_type)).replace("* ", "*")


def parse_header(text: str) -> tuple[dict[str, tuple[str, list[str]]], dict[str, int]]:
    """The prototypes (name -> (return type, [parameter types])) and MOLT_* constants."""
    prototypes = {}
    for ret, name, params in _PROTOTYPE.findall(text):
        params = params.strip()
        types = []
        if params != "void":
            for p in params.split(","):
                m = re.match(r"^(.*?)(\w+)$", p.strip(), re.S)
                assert m, f"cannot parse parameter {p!r} of {name}"
                types.append(_norm(m.group(1)))
        prototypes[name] = (_norm(ret), types)
    constants = {name: int(value) for name, value in _DEFINE.findall(text)}
    return prototypes, constants


PROTOTYPES, CONSTANTS = parse_header(HEADER.read_text())
C = SimpleNamespace(**CONSTANTS)
STATUS_NAMES = {v: k for k, v in CONSTANTS.items() if k.startswith(("MOLT_OK", "MOLT_ERR_"))}

# The entry points this harness uses. Every one but the first group is gated: with no
# runtime it returns MOLT_ERR_NOT_INITIALIZED (see NOT_INITIALIZED_CALLS and its test).
UNGATED = [
    "molt_runtime_init",
    "molt_runtime_shutdown",
    "molt_runtime_is_initialized",
    "molt_runtime_generation",
    "molt_last_error",
    "molt_last_teardown_report",
    # Thread-state queries that answer without a runtime (0, 0 and a no-op for token 0).
    "molt_gil_is_held",
    "molt_gil_save",
    "molt_gil_restore",
    # The last teardown's leak check (this thread's; no runtime needed).
    "molt_last_teardown_counts",
    "molt_last_teardown_is_clean",
]
GATED = [
    "molt_runtime_set_argv",
    "molt_runtime_argv_len",
    "molt_runtime_argv_get",
    "molt_capability_require",
    "molt_runtime_live_allocations",
    "molt_int_from_i64",
    "molt_float_from_f64",
    "molt_str_from_utf8",
    "molt_bytes_from",
    "molt_tuple_new",
    "molt_list_new",
    "molt_dict_new",
    "molt_dict_set",
    "molt_dict_get",
    "molt_int_as_i64",
    "molt_float_as_f64",
    "molt_str_as_utf8",
    "molt_len",
    "molt_tuple_len",
    "molt_tuple_get",
    "molt_incref",
    "molt_decref",
    "molt_getattr",
    "molt_setattr",
    "molt_call",
    "molt_call_method",
    "molt_hash",
    "molt_repr",
    "molt_builtin_class",
    "molt_class_new",
    "molt_import",
    "molt_err_occurred",
    "molt_err_fetch",
    "molt_raise",
    "molt_task_spawn",
    "molt_task_spawn_after",
    "molt_task_join",
    "molt_task_cancel",
    "molt_task_state",
    "molt_sleep",
    "molt_task_check_cancelled",
    "molt_gil_acquire",
    "molt_gil_release",
    "molt_function_new",
    "molt_int_from_str",
    "molt_int_to_str",
]
USED = UNGATED + GATED


def ctypes_signature(name: str):
    """(restype, argtypes) for a header prototype."""
    ret, params = PROTOTYPES[name]
    for t in [ret, *params]:
        if t not in C_TYPES:
            raise TypeError(f"{name}: no ctypes mapping for C type {t!r}; add it to C_TYPES")
    return C_TYPES[ret], [C_TYPES[t] for t in params]


# ------------------------------------------------------------------------- the library


def _cargo(*args: str) -> subprocess.CompletedProcess:
    """Runs cargo in the repository; a failure ends the session with cargo's stderr."""
    cargo = os.environ.get("CARGO", "cargo")
    try:
        return subprocess.run([cargo, *args], cwd=ROOT, check=True, text=True, capture_output=True)
    except FileNotFoundError:
        pytest.exit(f"{cargo!r} not found: install Rust or set MOLT_STATE_LIB", returncode=4)
    except subprocess.CalledProcessError as e:
        pytest.exit(f"`cargo {' '.join(args)}` failed ({e.returncode}):\n{e.stderr or ''}", 4)


def library_path() -> Path:
    """MOLT_STATE_LIB, or the cdylib `cargo build` leaves in cargo's target directory."""
    explicit = os.environ.get("MOLT_STATE_LIB")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            pytest.exit(f"MOLT_STATE_LIB={explicit}: no such file", returncode=4)
        return path.resolve()
    profile = os.environ.get("MOLT_STATE_PROFILE", "debug")
    if profile not in ("debug", "release"):
        pytest.exit(f"MOLT_STATE_PROFILE={profile!r}: expected debug or release", returncode=4)
    _cargo("build", "--lib", *(["--release"] if profile == "release" else []))
    meta = json.loads(_cargo("metadata", "--format-version", "1", "--no-deps").stdout)
    if sys.platform == "darwin":
        file = "libmolt_state.dylib"
    elif sys.platform == "win32":
        file = "molt_state.dll"
    else:
        file = "libmolt_state.so"
    path = Path(meta["target_directory"]) / profile / file
    if not path.is_file():
        pytest.exit(f"cargo build did not produce {path}", returncode=4)
    return path


class MoltError(Exception):
    """A molt_* call returned a status other than MOLT_OK."""

    def __init__(self, func: str, status: int, message: str | None):
        self.func, self.status, self.message = func, status, message
        super().__init__(f"{func}: {STATUS_NAMES.get(status, status)}: {message}")


class Molt:
    """The loaded library: the raw entry points (``m.lib.molt_*``, which return statuses), and
    helpers that raise MoltError for a status other than MOLT_OK.

    Values are ``int``s (the NaN-boxed ``uint64_t`` bits). Helpers that return values return
    new references, as the C functions do; release them with ``decref``.
    """

    def __init__(self, path: Path):
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        for name in USED:
            func = getattr(self.lib, name)
            func.restype, func.argtypes = ctypes_signature(name)
        # The task bodies (CFUNCTYPE objects) of the tasks spawned through `spawn` that the
        # runtime may still call: (runtime, key) -> (runtime generation at spawn, body). One
        # goes when its task is joined, or when its runtime has shut down (the generation
        # moved on: the workers are joined), never earlier.
        self._task_bodies: dict[tuple[int, int], tuple[int, MoltTaskFn]] = {}
        self._task_bodies_lock = threading.Lock()
        # Python exceptions that escaped a task body made by `task_fn` (bugs of the test).
        self.callback_errors: list[BaseException] = []

    # -- status handling

    def last_error(self) -> str | None:
        raw = self.lib.molt_last_error()
        return None if raw is None else raw.decode()

    def teardown_report(self) -> str | None:
        raw = self.lib.molt_last_teardown_report()
        return None if raw is None else raw.decode()

    def check(self, func: str, status: int) -> None:
        if status != C.MOLT_OK:
            raise MoltError(func, status, self.last_error())

    def _out(self, func: str, ctype, *args):
        out = ctype()
        self.check(func, getattr(self.lib, func)(*args, ctypes.byref(out)))
        return out.value

    # -- values

    def new(self, obj) -> int:
        """A molt value equal to the Python value ``obj`` (None, bool, int, float, str, bytes,
        tuple, list, dict): a new reference."""
        u64 = ctypes.c_uint64
        if obj is None:
            return C.MOLT_NONE
        if obj is True or obj is False:
            return C.MOLT_TRUE if obj else C.MOLT_FALSE
        if isinstance(obj, int):
            return self._out("molt_int_from_i64", u64, obj)
        if isinstance(obj, float):
            return self._out("molt_float_from_f64", u64, obj)
        if isinstance(obj, str):
            data = obj.encode("utf-8")
            return self._out("molt_str_from_utf8", u64, data, len(data))
        if isinstance(obj, bytes):
            return self._out("molt_bytes_from", u64, obj, len(obj))
        if isinstance(obj, (tuple, list)):
            items = [self.new(x) for x in obj]
            try:
                arr = (u64 * len(items))(*items)
                func = "molt_tuple_new" if isinstance(obj, tuple) else "molt_list_new"
                return self._out(func, u64, arr, len(items))
            finally:
                for v in items:
                    self.decref(v)
        if isinstance(obj, dict):
            d = self._out("molt_dict_new", u64)
            for k, v in obj.items():
                mk, mv = self.new(k), self.new(v)
                try:
                    self.check("molt_dict_set", self.lib.molt_dict_set(d, mk, mv))
                finally:
                    self.decref(mk)
                    self.decref(mv)
            return d
        raise TypeError(f"no molt value for {type(obj).__name__}")

    def int_value(self, v: int) -> int:
        return self._out("molt_int_as_i64", ctypes.c_int64, v)

    def float_value(self, v: int) -> float:
        return self._out("molt_float_as_f64", ctypes.c_double, v)

    def decref(self, v: int) -> None:
        self.check("molt_decref", self.lib.molt_decref(v))

    def text(self, v: int) -> str:
        data, n = ctypes.c_char_p(), ctypes.c_size_t()
        self.check("molt_str_as_utf8", self.lib.molt_str_as_utf8(v, data, n))
        return ctypes.string_at(data, n.value).decode("utf-8")

    def hash(self, v: int) -> int:
        return self._out("molt_hash", ctypes.c_int64, v)

    def length(self, v: int) -> int:
        return self._out("molt_len", ctypes.c_size_t, v)

    def getattr(self, v: int, name: str) -> int:
        return self._out("molt_getattr", ctypes.c_uint64, v, name.encode())

    def item(self, v: int, i: int) -> int:
        return self._out("molt_tuple_get", ctypes.c_uint64, v, i)

    def items(self, v: int) -> list[int]:
        """The items of a tuple or list (new references)."""
        return [self.item(v, i) for i in range(self.length(v))]

    def repr(self, v: int) -> str:
        r = self._out("molt_repr", ctypes.c_uint64, v)
        try:
            return self.text(r)
        finally:
            self.decref(r)

    def builtin_class(self, name: str) -> int:
        return self._out("molt_builtin_class", ctypes.c_uint64, name.encode())

    def import_(self, name: str) -> int:
        return self._out("molt_import", ctypes.c_uint64, name.encode())

    def call_method(self, obj: int, name: str, *args: int) -> int:
        arr = (ctypes.c_uint64 * len(args))(*args)
        return self._out("molt_call_method", ctypes.c_uint64, obj, name.encode(), arr, len(args))

    def call(self, f: int, *args: int) -> int:
        arr = (ctypes.c_uint64 * len(args))(*args)
        return self._out("molt_call", ctypes.c_uint64, f, arr, len(args))

    def err_fetch(self) -> int:
        return self._out("molt_err_fetch", ctypes.c_uint64)

    def attr_text(self, v: int, name: str) -> str:
        """``str`` attribute ``name`` of ``v`` as Python text."""
        a = self.getattr(v, name)
        try:
            return self.text(a)
        finally:
            self.decref(a)

    def class_names(self, cls: int, attr: str) -> tuple[str, ...]:
        """``tuple(c.__name__ for c in cls.<attr>)`` for ``__mro__`` or ``__bases__``."""
        seq = self.getattr(cls, attr)
        try:
            names = []
            for c in self.items(seq):
                names.append(self.attr_text(c, "__name__"))
                self.decref(c)  # classes are immortal: a no-op, kept for discipline
            return tuple(names)
        finally:
            self.decref(seq)

    def argv(self) -> list[str]:
        n = self._out("molt_runtime_argv_len", ctypes.c_size_t)
        out = []
        for i in range(n):
            needed = ctypes.c_size_t()
            status = self.lib.molt_runtime_argv_get(i, None, 0, needed)
            assert status == C.MOLT_ERR_INVALID_ARGUMENT, self.last_error()
            buf = ctypes.create_string_buffer(needed.value + 1)
            self.check(
                "molt_runtime_argv_get", self.lib.molt_runtime_argv_get(i, buf, len(buf), needed)
            )
            out.append(buf.raw[: needed.value].decode("utf-8"))
        return out

    def set_argv(self, args: list[str]) -> None:
        arr = (ctypes.c_char_p * len(args))(*(a.encode("utf-8") for a in args))
        self.check("molt_runtime_set_argv", self.lib.molt_runtime_set_argv(len(args), arr))

    # -- tasks

    def task_fn(self, body: Callable[[], int | None]) -> MoltTaskFn:
        """A task body (``MoltTaskFn``) that runs ``body()`` on whichever thread the runtime
        runs the task. What ``body`` returns (a new reference; None: ``MOLT_NONE``) is the
        task's result. A MoltError from a helper it calls returns that status: after a molt
        exception (MOLT_ERR_EXCEPTION, e.g. ``molt_raise`` or a cancelled ``sleep``) the task
        fails with it, or is cancelled by a ``CancelledError``. Any other Python exception is
        a bug of the test: it is kept in ``callback_errors`` (the fixtures fail the test on
        it) and fails the task with ``RuntimeError("python: ...")``. Keep the returned
        object alive while the runtime may call it (``spawn`` does)."""

        def call(_user_data, result):
            try:
                value = body()
                if value is not None:
                    result[0] = value
                return C.MOLT_OK
            except MoltError as e:
                return e.status
            except BaseException as e:  # never let an exception into ctypes' callback
                self.callback_errors.append(e)
                try:
                    cls = self.builtin_class("RuntimeError")
                    self.check("molt_raise", self.lib.molt_raise(cls, f"python: {e!r}".encode()))
                    return C.MOLT_ERR_EXCEPTION
                except BaseException:
                    return C.MOLT_ERR_INTERNAL

        return MoltTaskFn(call)

    def spawn(self, body: Callable[[], int | None] | MoltTaskFn, delay: float | None = None):
        """Spawns a task running ``body`` (a Python callable, wrapped by ``task_fn``, or a
        ``MoltTaskFn``), after ``delay`` seconds if given; returns its ``MoltTask``. The
        body object is kept until the task is joined or its runtime has shut down."""
        self.forget_finished_task_bodies()
        fn = body if isinstance(body, MoltTaskFn) else self.task_fn(body)
        generation = self.lib.molt_runtime_generation()
        task = MoltTask()
        if delay is None:
            status = self.lib.molt_task_spawn(fn, None, ctypes.byref(task))
            self.check("molt_task_spawn", status)
        else:
            status = self.lib.molt_task_spawn_after(delay, fn, None, ctypes.byref(task))
            self.check("molt_task_spawn_after", status)
        with self._task_bodies_lock:
            self._task_bodies[(task.runtime, task.key)] = (generation, fn)
        return task

    def join(self, task: MoltTask) -> int:
        """The task's result (a new reference); MoltError (MOLT_ERR_EXCEPTION, the task's
        exception now this thread's current one) if it raised or was cancelled."""
        out = ctypes.c_uint64()
        status = self.lib.molt_task_join(task, ctypes.byref(out))
        if status in (C.MOLT_OK, C.MOLT_ERR_EXCEPTION):  # finished: its body is done with
            with self._task_bodies_lock:
                self._task_bodies.pop((task.runtime, task.key), None)
        self.check("molt_task_join", status)
        return out.value

    def cancel(self, task: MoltTask, message: str | None = None) -> bool:
        """Cancels the task; whether the cancellation took effect (False: already finished)."""
        took = ctypes.c_int32(-1)
        msg = None if message is None else message.encode("utf-8")
        self.check("molt_task_cancel", self.lib.molt_task_cancel(task, msg, ctypes.byref(took)))
        assert took.value in (0, 1), took.value
        return bool(took.value)

    def task_state(self, task: MoltTask) -> int:
        """The task's ``MOLT_TASK_*`` state."""
        return self._out("molt_task_state", ctypes.c_int32, task)

    def sleep(self, seconds: float) -> None:
        self.check("molt_sleep", self.lib.molt_sleep(seconds))

    def task_bodies_kept(self) -> int:
        """How many task bodies the harness keeps alive."""
        with self._task_bodies_lock:
            return len(self._task_bodies)

    def forget_finished_task_bodies(self) -> None:
        """Drops the task bodies of runtimes that have shut down (their workers are joined,
        so nothing calls them any more)."""
        generation = self.lib.molt_runtime_generation()
        with self._task_bodies_lock:
            for k in [k for k, (g, _) in self._task_bodies.items() if g != generation]:
                del self._task_bodies[k]

    def take_callback_errors(self) -> list[BaseException]:
        errors, self.callback_errors = self.callback_errors, []
        return errors

    # -- lifecycle

    @contextlib.contextmanager
    def runtime(self, env: dict[str, str] | None = None, reclaimed: str = "none"):
        """A fresh process-default runtime for the block, initialized with ``env`` set (the
        runtime reads its configuration at init). On exit: shutdown must return MOLT_OK, the
        teardown report must show no leak, and the heap objects teardown found still live
        (what the block did not release, and what runtime caches such as the module cache
        hold) must be exactly ``reclaimed`` (as the report words it: "str 1 module 1")."""
        assert self.lib.molt_runtime_is_initialized() == 0, "a runtime is already live"
        with environment(env or {}):
            self.check("molt_runtime_init", self.lib.molt_runtime_init())
        try:
            yield self
        finally:
            status = self.lib.molt_runtime_shutdown()
            assert status == C.MOLT_OK, f"shutdown: {status}: {self.last_error()}"
            self.forget_finished_task_bodies()
        assert self.lib.molt_runtime_is_initialized() == 0
        assert_clean_teardown(self.teardown_report(), reclaimed)
        assert_no_callback_errors(self)


def assert_clean_teardown(report: str | None, reclaimed: str | None = "none") -> None:
    """The teardown report says nothing leaked (the allocation registry is on), and the
    objects still live at shutdown were exactly ``reclaimed`` (None: not checked)."""
    assert report is not None, "shutdown tore a runtime down but left no report"
    assert "\n  leak report: empty (0 live allocations)" in report, report
    assert "\n  live allocations after shutdown: 0\n" in report, report
    assert "\n  hash secret:    wiped\n" in report, report
    if reclaimed == "none":
        assert "\n  objects live at shutdown: none\n" in report, report
    elif reclaimed is not None:
        line = f"\n  objects live at shutdown (reclaimed): {reclaimed}\n"
        assert line in report, report


def assert_no_callback_errors(m: Molt) -> None:
    """No Python exception escaped a task body (they are the test's bugs)."""
    errors = m.take_callback_errors()
    assert not errors, f"Python exceptions in task bodies: {errors!r}"


@contextlib.contextmanager
def environment(env: dict[str, str]):
    """Sets (or, for None values, removes) environment variables for the block."""
    saved = {k: os.environ.get(k) for k in env}
    try:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# The process-default runtime reads these at init: start every run from a known state.
for _var in (
    "MOLT_HASHSEED",
    "MOLT_CAPABILITIES",
    "MOLT_WORKERS",
    "MOLT_FAIL_INIT_AT",
    "MOLT_PRINT_TEARDOWN",
):
    os.environ.pop(_var, None)
os.environ["MOLT_ALLOC_REGISTRY"] = "1"


@pytest.fixture(scope="session")
def lib() -> Molt:
    """The loaded library (built first unless MOLT_STATE_LIB names it)."""
    m = Molt(library_path())
    # A previous session in this process cannot exist, but be explicit: no runtime yet.
    assert m.lib.molt_runtime_shutdown() == C.MOLT_OK
    return m


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def molt(lib: Molt, request):
    """A fresh process-default runtime for one test, shut down (and checked) after it. The
    objects still live at shutdown must be what the test's ``reclaims`` marker says (none by
    default), unless the test failed: then only the leak check applies."""
    marker = request.node.get_closest_marker("reclaims")
    reclaimed = marker.args[0] if marker else "none"
    lib.check("molt_runtime_init", lib.lib.molt_runtime_init())
    yield lib
    assert lib.lib.molt_runtime_shutdown() == C.MOLT_OK, lib.last_error()
    lib.forget_finished_task_bodies()
    failed = getattr(request.node, "report_call", None) is None or request.node.report_call.failed
    assert_clean_teardown(lib.teardown_report(), None if failed else reclaimed)
    assert_no_callback_errors(lib)


@pytest.fixture(autouse=True)
def no_runtime_left_behind(request):
    """Every test starts and ends with no live runtime; one that leaves a runtime live gets
    an error, and the runtime is shut down so that the next test starts clean."""
    if "lib" not in request.fixturenames:
        yield
        return
    lib = request.getfixturevalue("lib")
    assert lib.lib.molt_runtime_is_initialized() == 0
    yield
    if lib.lib.molt_runtime_is_initialized():
        status = lib.lib.molt_runtime_shutdown()
        lib.forget_finished_task_bodies()
        pytest.fail(f"the test left a runtime live (shut down now: status {status})")

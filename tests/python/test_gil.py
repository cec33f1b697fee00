"""The GIL and native functions from a ctypes host: holds nest, calls inside take the held
path, a native function defined here is called back and re-enters, and its user data is
freed exactly once at shutdown."""

import ctypes

from conftest import C, Molt, MoltFreeFn, MoltNativeFn


def test_holds_nest_and_save_restore_round_trip(lib: Molt):
    L = lib.lib
    with lib.runtime():
        assert L.molt_gil_is_held() == 0
        assert L.molt_gil_acquire() == C.MOLT_OK
        assert L.molt_gil_acquire() == C.MOLT_OK
        assert L.molt_gil_is_held() == 1
        s = lib.new("held")
        assert lib.length(s) == 4  # the held path
        token = L.molt_gil_save()
        assert token != 0 and L.molt_gil_is_held() == 0
        assert L.molt_gil_restore(token) == C.MOLT_OK
        assert L.molt_gil_release() == C.MOLT_OK
        assert L.molt_gil_is_held() == 1
        lib.decref(s)
        assert L.molt_gil_release() == C.MOLT_OK
        assert L.molt_gil_is_held() == 0
        assert L.molt_gil_release() == C.MOLT_ERR_INVALID_ARGUMENT


def test_a_native_function_is_called_back_and_its_data_freed_once(lib: Molt):
    L = lib.lib
    freed = []
    held_inside = []

    @MoltNativeFn
    def upper(_data, args, nargs, result):
        held_inside.append(L.molt_gil_is_held())
        out = ctypes.c_uint64()
        status = L.molt_call_method(args[0], b"upper", None, 0, ctypes.byref(out))
        if status != C.MOLT_OK:
            return status
        result[0] = out.value
        return C.MOLT_OK

    @MoltFreeFn
    def free(data):
        freed.append(data)

    with lib.runtime():
        f = ctypes.c_uint64()
        assert L.molt_function_new(b"upper", upper, ctypes.c_void_p(7), free, ctypes.byref(f)) == C.MOLT_OK
        s = lib.new("abc")
        arg = (ctypes.c_uint64 * 1)(s)
        r = ctypes.c_uint64()
        assert L.molt_call(f.value, arg, 1, ctypes.byref(r)) == C.MOLT_OK
        assert lib.text(r.value) == "ABC"
        assert lib.repr(f.value) == "<built-in function upper>"
        lib.decref(r.value)
        lib.decref(s)
        assert held_inside == [1]
        assert freed == []
    assert freed == [7]

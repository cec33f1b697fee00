//! The C ABI, called from Rust in-process. These tests share the process-default runtime,
//! so they serialize on a lock.

use molt_state::ffi::*;
use std::ffi::{CStr, CString, c_char};
use std::sync::Mutex;

static DEFAULT_RUNTIME: Mutex<()> = Mutex::new(());

/// Serializes the tests that use the process-default runtime (also tests/all/ops.rs).
pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    DEFAULT_RUNTIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn last_error() -> String {
    let p = molt_last_error();
    assert!(!p.is_null(), "a failing call must set the message");
    // SAFETY: molt_last_error returns NULL or a NUL-terminated string valid until this
    // thread's next failing call.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

/// Checks that the last failing call raised an exception whose message contains
/// `expected`, then fetches and drops it (the thread is left with no exception).
fn take_raised(expected: &str) {
    let msg = last_error();
    assert!(
        msg.contains(expected),
        "{msg:?} does not contain {expected:?}"
    );
    let mut e = 0u64;
    // SAFETY: a valid out-pointer.
    assert_eq!(unsafe { molt_err_fetch(&mut e) }, MOLT_OK);
    assert_eq!(molt_decref(e), MOLT_OK);
}

#[test]
fn init_twice_shutdown_twice_init_again() {
    let _g = serial();
    assert_eq!(
        molt_runtime_shutdown(),
        MOLT_OK,
        "shutdown before init is a no-op"
    );
    assert_eq!(molt_runtime_init(), MOLT_OK);
    assert_eq!(molt_runtime_init(), MOLT_OK);
    assert_eq!(molt_runtime_is_initialized(), 1);
    let generation = molt_runtime_generation();
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
    assert_eq!(molt_runtime_is_initialized(), 0);
    assert_eq!(molt_runtime_generation(), generation + 1);
    let report = molt_last_teardown_report();
    assert!(!report.is_null());
    // SAFETY: NUL-terminated, valid until this thread's next shutdown.
    let text = unsafe { CStr::from_ptr(report) }.to_str().unwrap();
    assert!(text.contains("teardown report"), "{text}");
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
    assert_eq!(molt_runtime_init(), MOLT_OK);
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

#[test]
fn every_entry_point_is_gated_without_a_runtime() {
    let _g = serial();
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
    let mut n = 0usize;
    assert_eq!(
        // SAFETY: valid out-pointer.
        unsafe { molt_runtime_argv_len(&mut n) },
        MOLT_ERR_NOT_INITIALIZED
    );
    assert!(last_error().contains("no runtime is initialized"));
    let args = [c"x".as_ptr()];
    assert_eq!(
        // SAFETY: one valid string.
        unsafe { molt_runtime_set_argv(1, args.as_ptr()) },
        MOLT_ERR_NOT_INITIALIZED
    );
    let mut len = 0usize;
    assert_eq!(
        // SAFETY: null buffer with zero capacity; valid out-pointer.
        unsafe { molt_runtime_argv_get(0, std::ptr::null_mut(), 0, &mut len) },
        MOLT_ERR_NOT_INITIALIZED
    );
    assert_eq!(
        // SAFETY: valid string.
        unsafe { molt_capability_require(c"fs".as_ptr()) },
        MOLT_ERR_NOT_INITIALIZED
    );
    let mut live = 0i64;
    assert_eq!(
        // SAFETY: valid out-pointer.
        unsafe { molt_runtime_live_allocations(&mut live) },
        MOLT_ERR_NOT_INITIALIZED
    );
    assert!(last_error().contains("molt_runtime_live_allocations"));
}

#[test]
fn argv_round_trip_and_bad_arguments() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let owned: Vec<CString> = ["prog", "é", ""]
        .iter()
        .map(|s| CString::new(*s).unwrap())
        .collect();
    let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    // SAFETY: three valid strings.
    assert_eq!(unsafe { molt_runtime_set_argv(3, ptrs.as_ptr()) }, MOLT_OK);
    let mut n = 0usize;
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { molt_runtime_argv_len(&mut n) }, MOLT_OK);
    assert_eq!(n, 3);
    let mut buf = [0 as c_char; 8];
    let mut len = 0usize;
    assert_eq!(
        // SAFETY: buffer of 8 bytes; valid out-pointer.
        unsafe { molt_runtime_argv_get(1, buf.as_mut_ptr(), buf.len(), &mut len) },
        MOLT_OK
    );
    assert_eq!(len, 2);
    assert_eq!(
        // SAFETY: argv_get wrote a NUL-terminated string into buf.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
        "é"
    );
    // Too small a buffer: needed length reported, error returned.
    assert_eq!(
        // SAFETY: buffer of 2 bytes (too small for "prog" + NUL); valid out-pointer.
        unsafe { molt_runtime_argv_get(0, buf.as_mut_ptr(), 2, &mut len) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    assert_eq!(len, 4);
    assert_eq!(
        // SAFETY: valid pointers; index out of range.
        unsafe { molt_runtime_argv_get(9, buf.as_mut_ptr(), buf.len(), &mut len) },
        MOLT_ERR_INDEX
    );
    assert!(last_error().contains("IndexError"));
    // Bad arguments are errors, not crashes.
    assert_eq!(
        // SAFETY: negative count is rejected before anything is read.
        unsafe { molt_runtime_set_argv(-1, ptrs.as_ptr()) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        // SAFETY: NULL argv with argc > 0 is rejected before anything is read.
        unsafe { molt_runtime_set_argv(2, std::ptr::null()) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    let with_null = [c"a".as_ptr(), std::ptr::null()];
    assert_eq!(
        // SAFETY: two pointers, the second NULL (rejected).
        unsafe { molt_runtime_set_argv(2, with_null.as_ptr()) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("argv[1] is NULL"));
    let bad_utf8 = [0xffu8 as c_char, 0];
    let with_bad = [bad_utf8.as_ptr()];
    assert_eq!(
        // SAFETY: one NUL-terminated (invalid UTF-8) string.
        unsafe { molt_runtime_set_argv(1, with_bad.as_ptr()) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("UTF-8"));
    // A rejected call changed nothing.
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { molt_runtime_argv_len(&mut n) }, MOLT_OK);
    assert_eq!(n, 3);
    assert_eq!(
        // SAFETY: NULL out-pointer is rejected.
        unsafe { molt_runtime_argv_len(std::ptr::null_mut()) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    assert_eq!(
        // SAFETY: zero args with NULL argv is valid.
        unsafe { molt_runtime_set_argv(0, std::ptr::null()) },
        MOLT_OK
    );
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

#[test]
fn capabilities_through_the_abi() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    // The default runtime reads MOLT_CAPABILITIES, which the test environment leaves
    // unset unless the caller set it: require something nobody grants.
    assert_eq!(
        // SAFETY: valid string.
        unsafe { molt_capability_require(c"molt.test.never-granted".as_ptr()) },
        MOLT_ERR_PERMISSION
    );
    assert!(last_error().contains("PermissionError"));
    assert_eq!(
        // SAFETY: NULL is rejected.
        unsafe { molt_capability_require(std::ptr::null()) },
        MOLT_ERR_INVALID_ARGUMENT
    );
    let mut live = -1i64;
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { molt_runtime_live_allocations(&mut live) }, MOLT_OK);
    assert!(live >= 0);
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

/// The object-model entry points, under Miri too (the C host covers more, natively).
#[test]
fn objects_exceptions_and_stale_values_through_the_abi() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let (mut s, mut up, mut n, mut exc) = (0u64, 0u64, 0usize, 0u64);
    // SAFETY: all calls below: out-pointers are valid locals; strings are NUL-terminated
    // CStrings or byte slices with their lengths.
    unsafe {
        assert_eq!(molt_str_from_utf8(c"abc".as_ptr(), 3, &mut s), MOLT_OK);
        assert_eq!(
            molt_call_method(s, c"upper".as_ptr(), std::ptr::null(), 0, &mut up),
            MOLT_OK
        );
        let (mut p, mut len) = (std::ptr::null(), 0usize);
        assert_eq!(molt_str_as_utf8(up, &mut p, &mut len), MOLT_OK);
        let text = std::slice::from_raw_parts(p.cast::<u8>(), len);
        assert_eq!(text, b"ABC");
        assert_eq!(molt_len(up, &mut n), MOLT_OK);
        assert_eq!(n, 3);
        let mut t = 0u64;
        let items = [s, MOLT_NONE, MOLT_TRUE];
        assert_eq!(molt_tuple_new(items.as_ptr(), 3, &mut t), MOLT_OK);
        let mut h = 0i64;
        assert_eq!(molt_hash(t, &mut h), MOLT_OK);
        // A raised exception: status, message, fetch.
        let mut l = 0u64;
        assert_eq!(molt_list_new(items.as_ptr(), 3, &mut l), MOLT_OK);
        assert_eq!(molt_hash(l, &mut h), MOLT_ERR_EXCEPTION);
        assert_eq!(last_error(), "TypeError: unhashable type: 'list'");
        assert_eq!(molt_err_occurred(), 1);
        assert_eq!(molt_err_fetch(&mut exc), MOLT_OK);
        assert_eq!(molt_err_occurred(), 0);
        let mut r = 0u64;
        assert_eq!(molt_repr(exc, &mut r), MOLT_OK);
        assert_eq!(molt_str_as_utf8(r, &mut p, &mut len), MOLT_OK);
        let text = std::slice::from_raw_parts(p.cast::<u8>(), len);
        assert_eq!(text, b"TypeError(\"unhashable type: 'list'\")");
        // Raise by class and message.
        let mut ve = 0u64;
        assert_eq!(molt_builtin_class(c"ValueError".as_ptr(), &mut ve), MOLT_OK);
        assert_eq!(molt_raise(ve, c"bad".as_ptr()), MOLT_OK);
        let mut exc2 = 0u64;
        assert_eq!(molt_err_fetch(&mut exc2), MOLT_OK);
        let mut cls = 0u64;
        assert_eq!(molt_getattr(exc2, c"__class__".as_ptr(), &mut cls), MOLT_OK);
        assert_eq!(cls, ve);
        // Bad arguments.
        assert_eq!(
            molt_str_from_utf8(std::ptr::null(), 2, &mut r),
            MOLT_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            molt_tuple_new(std::ptr::null(), 1, &mut r),
            MOLT_ERR_INVALID_ARGUMENT
        );
        assert_eq!(molt_len(s, std::ptr::null_mut()), MOLT_ERR_INVALID_ARGUMENT);
        assert_eq!(
            molt_len(0x7ff0_0000_0000_0001, &mut n),
            MOLT_ERR_STALE_VALUE
        );
        for v in [up, t, l, exc, r, exc2] {
            assert_eq!(molt_decref(v), MOLT_OK);
        }
        assert_eq!(molt_decref(up), MOLT_ERR_STALE_VALUE, "no double free");
        // `s` outlives its runtime.
        assert_eq!(molt_runtime_shutdown(), MOLT_OK);
        assert_eq!(molt_len(s, &mut n), MOLT_ERR_NOT_INITIALIZED);
        assert_eq!(molt_runtime_init(), MOLT_OK);
        let mut fresh = 0u64;
        assert_eq!(molt_str_from_utf8(c"xyz".as_ptr(), 3, &mut fresh), MOLT_OK);
        assert_eq!(molt_len(s, &mut n), MOLT_ERR_STALE_VALUE);
        assert!(last_error().contains("stale or foreign value"));
        assert_eq!(molt_decref(s), MOLT_ERR_STALE_VALUE);
        assert_eq!(molt_decref(fresh), MOLT_OK);
    }
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

/// Raising a non-exception through the ABI fails and keeps no reference to it (found by the
/// op-sequence tests: `molt_raise` used to leak one, so the object outlived its last
/// `molt_decref`).
#[test]
fn raising_a_non_exception_keeps_no_reference() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let (mut s, mut str_class, mut made) = (0u64, 0u64, 0u64);
    // SAFETY: all calls below: out-pointers are valid locals; strings are NUL-terminated.
    unsafe {
        assert_eq!(molt_str_from_utf8(c"abc".as_ptr(), 3, &mut s), MOLT_OK);
        assert_eq!(molt_raise(s, std::ptr::null()), MOLT_ERR_EXCEPTION);
        take_raised("TypeError");
        assert_eq!(molt_decref(s), MOLT_OK, "our one reference");
        assert_eq!(
            molt_decref(s),
            MOLT_ERR_STALE_VALUE,
            "freed: no reference was leaked"
        );
        // A class whose instances are not exceptions: the instance is not leaked either.
        assert_eq!(molt_builtin_class(c"str".as_ptr(), &mut str_class), MOLT_OK);
        let mut live_before = 0i64;
        assert_eq!(molt_runtime_live_allocations(&mut live_before), MOLT_OK);
        assert_eq!(molt_raise(str_class, c"x".as_ptr()), MOLT_ERR_EXCEPTION);
        assert_eq!(molt_err_fetch(&mut made), MOLT_OK);
        assert_eq!(molt_decref(made), MOLT_OK);
        let mut live_after = 0i64;
        assert_eq!(molt_runtime_live_allocations(&mut live_after), MOLT_OK);
        // (The new TypeError replaced the first one as the last exception, so the
        // exception objects net out.)
        assert_eq!(live_after, live_before, "nothing stays live");
    }
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

/// A task body that spins until `*user_data` (an `AtomicBool`) is set, then returns True.
unsafe extern "C" fn spin_until_released(
    user_data: *mut std::ffi::c_void,
    result: *mut u64,
) -> i32 {
    // SAFETY: the test passes a pointer to an `AtomicBool` that outlives the task.
    let release = unsafe { &*user_data.cast::<std::sync::atomic::AtomicBool>() };
    while !release.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // SAFETY: `result` is the runtime's valid result slot.
    unsafe { result.write(MOLT_TRUE) };
    MOLT_OK
}

/// A task body that returns `*user_data + 1` as an int.
unsafe extern "C" fn plus_one(user_data: *mut std::ffi::c_void, result: *mut u64) -> i32 {
    // SAFETY: the test passes a pointer to an `i64` that outlives the task.
    let x = unsafe { *user_data.cast::<i64>() };
    // SAFETY: forwarded: `result` is valid for a write.
    unsafe { molt_int_from_i64(x + 1, result) }
}

#[test]
#[cfg_attr(miri, ignore = "spins on real sleeps for the shutdown timeout (1 s)")]
fn shutdown_with_a_running_task_is_busy_and_the_runtime_keeps_working() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let release = std::sync::atomic::AtomicBool::new(false);
    let mut busy = MoltTask::default();
    // SAFETY: `release` outlives the task (it is joined below); `busy` is writable.
    let status = unsafe {
        molt_task_spawn(
            Some(spin_until_released),
            std::ptr::from_ref(&release).cast_mut().cast(),
            &mut busy,
        )
    };
    assert_eq!(status, MOLT_OK);
    let mut state = -1;
    while state != MOLT_TASK_RUNNING {
        // SAFETY: `state` is writable.
        assert_eq!(unsafe { molt_task_state(busy, &mut state) }, MOLT_OK);
    }
    // The task runs past the default 1 s shutdown timeout: refused, runtime intact.
    assert_eq!(molt_runtime_shutdown(), MOLT_ERR_BUSY);
    assert!(
        last_error().contains("1 task(s) still running"),
        "{}",
        last_error()
    );
    assert_eq!(molt_runtime_is_initialized(), 1);
    let mut x: i64 = 41;
    let mut t = MoltTask::default();
    let mut v = 0u64;
    // SAFETY: `x` outlives the task (joined right away); out pointers are writable.
    unsafe {
        assert_eq!(
            molt_task_spawn(Some(plus_one), std::ptr::from_mut(&mut x).cast(), &mut t),
            MOLT_OK
        );
        assert_eq!(molt_task_join(t, &mut v), MOLT_OK);
    }
    let mut out = 0i64;
    // SAFETY: `out` is writable.
    assert_eq!(unsafe { molt_int_as_i64(v, &mut out) }, MOLT_OK);
    assert_eq!(out, 42);
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    // SAFETY: `v` is writable.
    assert_eq!(unsafe { molt_task_join(busy, &mut v) }, MOLT_OK);
    assert_eq!(v, MOLT_TRUE);
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
    // SAFETY: NUL-terminated, valid until this thread's next shutdown.
    let report = unsafe { CStr::from_ptr(molt_last_teardown_report()) }
        .to_str()
        .unwrap()
        .to_owned();
    assert!(report.contains("leak report: empty"), "{report}");
    assert!(report.contains("scheduler workers joined"), "{report}");
    // A handle from the runtime that shut down is stale.
    assert_eq!(molt_runtime_init(), MOLT_OK);
    assert_eq!(
        // SAFETY: `v` is writable.
        unsafe { molt_task_join(busy, &mut v) },
        MOLT_ERR_STALE_VALUE
    );
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

#[test]
fn arguments_are_checked_before_anything_is_made() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let mut before = 0i64;
    // SAFETY: valid out-pointers; the NULL ones are what is tested.
    unsafe {
        assert_eq!(molt_runtime_live_allocations(&mut before), MOLT_OK);
        for _ in 0..1000 {
            assert_eq!(
                molt_str_from_utf8(c"abc".as_ptr(), 3, std::ptr::null_mut()),
                MOLT_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                molt_list_new(std::ptr::null(), 0, std::ptr::null_mut()),
                MOLT_ERR_INVALID_ARGUMENT
            );
            assert_eq!(
                molt_dict_new(std::ptr::null_mut()),
                MOLT_ERR_INVALID_ARGUMENT
            );
        }
        let mut after = 0i64;
        assert_eq!(molt_runtime_live_allocations(&mut after), MOLT_OK);
        assert_eq!(after, before, "a NULL out-pointer left objects alive");
        // Counts no array can have are rejected, not read.
        let one = [MOLT_NONE];
        let mut out = 0u64;
        assert_eq!(
            molt_tuple_new(one.as_ptr(), usize::MAX, &mut out),
            MOLT_ERR_INVALID_ARGUMENT
        );
        assert!(
            last_error().contains("larger than any array"),
            "{}",
            last_error()
        );
        assert_eq!(
            molt_list_new(one.as_ptr(), usize::MAX / 8 + 1, &mut out),
            MOLT_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            molt_str_from_utf8(c"x".as_ptr(), usize::MAX, &mut out),
            MOLT_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            molt_bytes_from(c"x".as_ptr().cast(), usize::MAX, &mut out),
            MOLT_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            molt_call(MOLT_NONE, one.as_ptr(), usize::MAX, &mut out),
            MOLT_ERR_INVALID_ARGUMENT
        );
    }
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

#[test]
fn big_ints_through_the_abi() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let text = |v: u64| {
        let (mut p, mut n) = (std::ptr::null(), 0usize);
        // SAFETY: valid out-pointers; the str stays alive while `v` does.
        assert_eq!(unsafe { molt_str_as_utf8(v, &mut p, &mut n) }, MOLT_OK);
        // SAFETY: `p` points to `n` bytes of the str's UTF-8.
        std::str::from_utf8(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), n) })
            .unwrap()
            .to_owned()
    };
    // SAFETY: valid pointers and lengths throughout.
    unsafe {
        let digits = "-0x_1_0000_0000_0000_0000";
        let mut big = 0u64;
        assert_eq!(
            molt_int_from_str(digits.as_ptr().cast(), digits.len(), 0, &mut big),
            MOLT_OK
        );
        let mut s = 0u64;
        assert_eq!(molt_int_to_str(big, &mut s), MOLT_OK);
        assert_eq!(text(s), "-18446744073709551616"); // python3: int("-0x_1_0000_0000_0000_0000", 0)
        assert_eq!(molt_decref(s), MOLT_OK);
        let mut i = 0i64;
        assert_eq!(molt_int_as_i64(big, &mut i), MOLT_ERR_EXCEPTION);
        take_raised("OverflowError: Python int too large to convert to C long");
        assert_eq!(molt_decref(big), MOLT_OK);
        // Small results are immediates; bad syntax and bases are ValueError.
        let mut small = 0u64;
        assert_eq!(
            molt_int_from_str(c" 1_0 ".as_ptr(), 5, 10, &mut small),
            MOLT_OK
        );
        assert_eq!(molt_int_as_i64(small, &mut i), MOLT_OK);
        assert_eq!(i, 10);
        assert_eq!(
            molt_int_from_str(c"1__0".as_ptr(), 4, 10, &mut small),
            MOLT_ERR_EXCEPTION
        );
        take_raised("ValueError: invalid literal for int() with base 10: '1__0'");
        assert_eq!(
            molt_int_from_str(c"10".as_ptr(), 2, 37, &mut small),
            MOLT_ERR_EXCEPTION
        );
        take_raised("ValueError: int() base must be >= 2 and <= 36, or 0");
        assert_eq!(molt_int_to_str(MOLT_NONE, &mut s), MOLT_ERR_EXCEPTION);
        take_raised("TypeError");
        assert_eq!(
            molt_int_from_str(c"1".as_ptr(), 1, 10, std::ptr::null_mut()),
            MOLT_ERR_INVALID_ARGUMENT
        );
    }
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

/// What one entry point answered: status, output, and the message when it failed.
#[derive(Debug, PartialEq)]
struct Answer(i32, i64, Option<String>);

/// Calls `len`, `hash`, `incref` + `decref` on `v` and records the answers, fetching (and
/// dropping) any exception raised.
fn answers(v: u64) -> Vec<Answer> {
    let record = |status: i32, out: i64| {
        let msg = (status != MOLT_OK).then(last_error);
        if status == MOLT_ERR_EXCEPTION {
            let mut e = 0u64;
            // SAFETY: a valid out-pointer.
            assert_eq!(unsafe { molt_err_fetch(&mut e) }, MOLT_OK);
            assert_eq!(molt_decref(e), MOLT_OK);
        }
        Answer(status, out, msg)
    };
    let (mut n, mut h) = (usize::MAX, i64::MIN);
    // SAFETY: valid out-pointers.
    let len = unsafe { molt_len(v, &mut n) };
    let len = record(len, n as i64);
    // SAFETY: as above.
    let hash = unsafe { molt_hash(v, &mut h) };
    let hash = record(hash, h);
    let inc = record(molt_incref(v), 0);
    let dec = record(molt_decref(v), 0);
    // NULL out-pointers: refused before anything is looked up, held or not.
    // SAFETY: NULL is an allowed (refused) out-pointer.
    let len_null = record(unsafe { molt_len(v, std::ptr::null_mut()) }, 0);
    // SAFETY: as above.
    let hash_null = record(unsafe { molt_hash(v, std::ptr::null_mut()) }, 0);
    vec![len, hash, inc, dec, len_null, hash_null]
}

/// The held path (`molt_len`, `molt_hash`, `molt_incref`/`molt_decref` read the heap
/// directly while this thread holds the GIL) answers exactly as the unheld path, for every
/// kind of value: results, errors and their messages, stale values.
#[test]
fn the_held_path_answers_as_the_unheld_path() {
    let _g = serial();
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let mut values = vec![MOLT_NONE, MOLT_TRUE];
    // SAFETY: all calls below: out-pointers are valid locals; strings are NUL-terminated
    // with their lengths.
    unsafe {
        let mut v = 0u64;
        assert_eq!(molt_int_from_i64(-7, &mut v), MOLT_OK);
        values.push(v);
        assert_eq!(molt_float_from_f64(2.5, &mut v), MOLT_OK);
        values.push(v);
        assert_eq!(molt_str_from_utf8(c"héllo".as_ptr(), 6, &mut v), MOLT_OK);
        values.push(v);
        let mut inner = 0u64;
        assert_eq!(molt_str_from_utf8(c"x".as_ptr(), 1, &mut inner), MOLT_OK);
        let items = [inner, MOLT_NONE];
        assert_eq!(molt_tuple_new(items.as_ptr(), 2, &mut v), MOLT_OK);
        values.push(v);
        assert_eq!(molt_list_new(items.as_ptr(), 2, &mut v), MOLT_OK);
        values.push(v);
        assert_eq!(molt_dict_new(&mut v), MOLT_OK);
        values.push(v);
        let digits = "1".repeat(40); // past the small-int range: a big int
        assert_eq!(
            molt_int_from_str(digits.as_ptr().cast(), 40, 10, &mut v),
            MOLT_OK
        );
        values.push(v);
        assert_eq!(molt_builtin_class(c"ValueError".as_ptr(), &mut v), MOLT_OK);
        values.push(v);
        // A stale value: freed, its slot not yet reused.
        let mut gone = 0u64;
        assert_eq!(molt_str_from_utf8(c"gone".as_ptr(), 4, &mut gone), MOLT_OK);
        assert_eq!(molt_decref(gone), MOLT_OK);
        values.push(gone);
        values.push(0x7ff0_0000_0000_0001); // not a value this runtime made
        values.push(inner);
        assert_eq!(molt_bytes_from(b"ab".as_ptr(), 2, &mut v), MOLT_OK);
        values.push(v);
        // A live str's slot and stamp under another kind's bits (list): refused, not
        // counted as the str.
        const KIND_FIELD: u64 = 0xF << 46;
        values.push(inner & !KIND_FIELD | 3 << 46);

        let unheld: Vec<_> = values.iter().map(|&v| answers(v)).collect();
        assert_eq!(molt_gil_acquire(), MOLT_OK);
        let held: Vec<_> = values.iter().map(|&v| answers(v)).collect();
        assert_eq!(molt_gil_release(), MOLT_OK);
        for ((v, u), h) in values.iter().zip(&unheld).zip(&held) {
            assert_eq!(u, h, "value {v:#x}: unheld and held answers differ");
        }
        // The answers are the expected ones, not merely equal: len and hash of the str.
        assert_eq!(unheld[4][0], Answer(MOLT_OK, 5, None));
        assert_eq!(unheld[4][1].0, MOLT_OK);
        assert_eq!(unheld[6][0], Answer(MOLT_OK, 2, None));
        assert_eq!(unheld[6][1].0, MOLT_ERR_EXCEPTION, "a list is unhashable");
        assert_eq!(unheld[10][2].0, MOLT_ERR_STALE_VALUE, "a freed str");
        assert_eq!(unheld[13][1].0, MOLT_OK, "bytes hash (then cached)");
        assert_eq!(held[13][1], unheld[13][1]);
        assert_eq!(unheld[14][2].0, MOLT_ERR_STALE_VALUE, "a forged kind");
        assert_eq!(
            unheld[4][4].0, MOLT_ERR_INVALID_ARGUMENT,
            "len with NULL out"
        );
        assert_eq!(
            unheld[4][5].0, MOLT_ERR_INVALID_ARGUMENT,
            "hash with NULL out"
        );

        // int_from_i64: small (an immediate) and big (a heap int), with a NULL out-pointer.
        let ints = |held: bool| {
            if held {
                assert_eq!(molt_gil_acquire(), MOLT_OK);
            }
            let (mut small, mut big) = (0u64, 0u64);
            let answers = [
                molt_int_from_i64(5, &mut small),
                molt_int_from_i64(i64::MAX, &mut big),
                molt_int_from_i64(5, std::ptr::null_mut()),
            ];
            let null_msg = last_error();
            let mut back = 0i64;
            assert_eq!(molt_int_as_i64(big, &mut back), MOLT_OK);
            assert_eq!(back, i64::MAX);
            assert_eq!(molt_decref(big), MOLT_OK);
            if held {
                assert_eq!(molt_gil_release(), MOLT_OK);
            }
            (answers, small, null_msg)
        };
        let (unheld_ints, held_ints) = (ints(false), ints(true));
        assert_eq!(unheld_ints, held_ints);
        assert_eq!(unheld_ints.0, [MOLT_OK, MOLT_OK, MOLT_ERR_INVALID_ARGUMENT]);

        // The last references go with the GIL held (the held path hands frees on).
        assert_eq!(molt_gil_acquire(), MOLT_OK);
        for v in values[4..9].iter().chain([&values[13]]) {
            assert_eq!(molt_decref(*v), MOLT_OK);
            assert_eq!(molt_decref(*v), MOLT_ERR_STALE_VALUE, "freed once");
        }
        assert_eq!(molt_decref(inner), MOLT_OK);
        assert_eq!(molt_gil_release(), MOLT_OK);
    }
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

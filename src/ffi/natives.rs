//! Native functions defined from C (`molt_function_new`): the callback types, the call
//! (which lends the caller's token to the C code's own calls) and the user data's release.

use super::DEFAULT;
use super::args::*;
use super::status::*;
use super::values::MOLT_NONE;
use crate::ExcClass;
use crate::gil::Gil;
use crate::thread_state::THREAD as THREAD_STATE;
use crate::value::Value;
use std::ffi::{c_char, c_void};

/// A native function defined from C: called with the `user_data` given to
/// `molt_function_new`, the arguments (borrowed; for a method, `self` first) and a result
/// slot preset to `MOLT_NONE`. It runs with the GIL held (every `molt_*` call inside takes
/// the held path) and may call any `molt_*` function. It returns `MOLT_OK` after writing a
/// new reference to `*result` (or leaving `MOLT_NONE`), or `MOLT_ERR_EXCEPTION` after
/// raising (`molt_raise`); any other status raises `RuntimeError` quoting
/// `molt_last_error`.
pub type MoltNativeFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        args: *const u64,
        nargs: usize,
        result: *mut u64,
    ) -> i32,
>;

/// Frees a native function's user data: called exactly once, at shutdown at the latest.
pub type MoltFreeFn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C native function and its user data.
struct CNative {
    func: unsafe extern "C" fn(*mut c_void, *const u64, usize, *mut u64) -> i32,
    user_data: *mut c_void,
    free: MoltFreeFn,
}

// SAFETY: `molt_function_new`'s contract: the function may be called, and `free_user_data`
// run, with `user_data` on any thread (one at a time: calls hold the GIL).
unsafe impl Send for CNative {}
// SAFETY: as above; the runtime only calls it with the GIL held, one thread at a time.
unsafe impl Sync for CNative {}

impl Drop for CNative {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: `molt_function_new`'s contract: `free` may be called once with
            // `user_data`; this drop runs once (at teardown).
            unsafe { free(self.user_data) };
        }
    }
}

impl CNative {
    fn call(&self, g: &mut Gil<'_>, args: &[Value]) -> crate::PyResult<Value> {
        let rt = g.runtime();
        let lock = rt.gil_lock();
        let key = crate::thread_state::thread_key();
        let was_active = lock.active();
        // What the owner line holds for this call, to check (and repair) on return.
        let given = crate::thread_state::Saved {
            depth: lock.depth(),
            tokens: lock.tokens(),
            active: false,
            c_held: false,
            recursion: g.recursion_depth(),
        };
        // Lend the token: the C code's `molt_*` calls make their own (the held path).
        lock.set_active(false);
        let had_record = THREAD_STATE.try_with(|t| t.names(rt)).unwrap_or(true);
        if !had_record {
            let _ = THREAD_STATE.try_with(|t| t.set_c_state(rt, &DEFAULT, DEFAULT.generation()));
        }
        LAST_ERROR.with(|e| *e.borrow_mut() = None);
        let mut result = MOLT_NONE;
        // SAFETY: `molt_function_new`'s contract: `func` is a valid native function;
        // `args` points to `args.len()` values (`Value` is a transparent `u64`), valid for
        // the call; `result` is a valid, writable `uint64_t`.
        let status = unsafe {
            (self.func)(
                self.user_data,
                args.as_ptr().cast::<u64>(),
                args.len(),
                &mut result,
            )
        };
        // The function must give back the GIL as it got it (a save it did not restore, or
        // a release it did not acquire, would leave this token without the lock).
        let intact =
            lock.owned_by(key) && lock.depth() == given.depth && lock.tokens() == given.tokens;
        if !intact {
            if lock.owned_by(key) {
                lock.set_holds(given, rt);
            } else {
                lock.restore(key, given, rt);
            }
        }
        if !had_record {
            crate::thread_state::clear_c_state_if(rt);
        } else {
            let _ = THREAD_STATE.try_with(|t| t.set_c_state(rt, &DEFAULT, DEFAULT.generation()));
        }
        lock.set_active(was_active);
        if !intact {
            if status == MOLT_OK
                && let Some(v) = Value::from_bits(result)
            {
                let _ = g.decref(v);
            }
            return Err(g.raise_new(
                ExcClass::RUNTIME_ERROR,
                "a native function returned without the GIL as it was given (a molt_gil_save without its restore, or an unbalanced release)",
            ));
        }
        c_outcome(g, status, result, "native function", true)
    }
}

/// Defines a native function `name` of the default runtime, callable with `molt_call`, as
/// a method in a class namespace (bound: `self` is `args[0]`) or in a module; its repr is
/// `<built-in function NAME>`. Writes the function value to `*out` (functions are immortal:
/// no reference to drop). `free_user_data` (may be NULL) runs exactly once with
/// `user_data`, at shutdown at the latest. Calls nest up to the recursion limit
/// (`RecursionError`). On failure nothing is kept and `free_user_data` is not called.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `fn` NULL (an error) or a function
/// that may be called with `user_data` on any thread holding the GIL; `free_user_data` NULL
/// or callable once with `user_data` on any thread; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_function_new(
    name: *const c_char,
    r#fn: MoltNativeFn,
    user_data: *mut c_void,
    free_user_data: MoltFreeFn,
    out: *mut u64,
) -> i32 {
    boundary("molt_function_new", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        // Every argument is checked before anything is made.
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(name, "name") }?;
        let func = r#fn.ok_or_else(|| Failure::invalid("fn is NULL"))?;
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        with_gil(|g| {
            let native = CNative {
                func,
                user_data,
                free: free_user_data,
            };
            let v = g.host_function(name, Box::new(move |g, args| native.call(g, args)));
            out_value!(out, v)
        })
    })
}

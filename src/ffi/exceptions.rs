//! This thread's current exception: whether there is one, catching it, raising one.

use super::args::*;
use super::status::*;
use crate::value::Value;
use std::ffi::c_char;

/// 1 if this thread has a current exception, 0 if not, `MOLT_ERR_NOT_INITIALIZED` with no
/// runtime.
#[unsafe(no_mangle)]
pub extern "C" fn molt_err_occurred() -> i32 {
    let mut answer = 0;
    let status = boundary("molt_err_occurred", || {
        with_gil(|g| {
            answer = i32::from(g.err_occurred().is_some());
            Ok(())
        })
    });
    if status == MOLT_OK { answer } else { status }
}

/// Catches this thread's current exception: clears it and writes it to `*out` (a new
/// reference), or writes `MOLT_NONE` if there is none.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_err_fetch(out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_err_fetch", unsafe { Out::new(out) }, |g| {
        Ok(g.err_fetch().unwrap_or(Value::NONE))
    })
}

/// Raises an exception: `exc` is an exception class (instantiated with `message` as its
/// argument, or no argument if `message` is NULL) or an exception instance (borrowed;
/// `message` must then be NULL). Returns `MOLT_OK` once the exception is this thread's
/// current exception.
///
/// # Safety
/// `message` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_raise(exc: u64, message: *const c_char) -> i32 {
    boundary("molt_raise", || {
        with_gil(|g| {
            let e = value_arg(g, exc, "exc")?;
            let msg = if message.is_null() {
                None
            } else {
                // SAFETY: forwarded caller contract.
                Some(unsafe { read_str(message, "message") }?)
            };
            let is_class = g.is_class(e);
            let instance = match (is_class, msg) {
                (true, Some(m)) => {
                    let s = g.str(m)?;
                    let r = g.call(e, &[s]);
                    g.decref(s)?;
                    r?
                }
                (true, None) => g.call(e, &[])?,
                (false, Some(_)) => {
                    return Err(Failure::invalid(
                        "message must be NULL when exc is an exception instance",
                    ));
                }
                (false, None) => {
                    g.incref(e)?;
                    e
                }
            };
            let before = g.err_occurred();
            let _raised = g.raise(instance);
            // `raise` itself raises TypeError for a non-exception; report that as a failure.
            match g.err_occurred() {
                Some(cur) if cur == instance || before == Some(cur) => Ok(()),
                _ => {
                    // `raise` took no reference to a non-exception: drop the one made above
                    // (the incref, or the class call's result), or it would never be freed.
                    let _ = g.decref(instance);
                    Err(Failure::new(MOLT_ERR_EXCEPTION, g.describe_current()))
                }
            }
        })
    })
}

//! The thread state of the default runtime from C: acquire, release, is-held, save and
//! restore (as CPython's `PyEval_SaveThread`/`RestoreThread`).

use super::DEFAULT;
use super::status::*;

/// Takes the default runtime's GIL for the calling thread, re-entrantly (each call needs
/// its `molt_gil_release`). While a thread holds it, every entry point takes the held path
/// (no lock, no atomic read-modify-write). Returns `MOLT_ERR_NOT_INITIALIZED` at once,
/// never blocking, with no runtime or once shutdown has begun. A thread that exits holding
/// it releases it. Holders are not preempted: others (task workers included) wait until it
/// is released, saved (`molt_gil_save`) or given up inside a blocking runtime call.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_acquire() -> i32 {
    boundary("molt_gil_acquire", || Ok(DEFAULT.gil_acquire()?))
}

/// Drops one hold taken by `molt_gil_acquire`; the last one releases the GIL.
/// `MOLT_ERR_INVALID_ARGUMENT` if the thread does not hold it (or only a call in progress
/// does), `MOLT_ERR_NOT_INITIALIZED` with no runtime.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_release() -> i32 {
    boundary("molt_gil_release", || Ok(DEFAULT.gil_release()?))
}

/// 1 if the calling thread holds the default runtime's GIL, else 0.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_is_held() -> i32 {
    i32::from(DEFAULT.gil_is_held())
}

/// Releases the GIL completely, at any depth, for a blocking call (as CPython's
/// `PyEval_SaveThread`); returns the token `molt_gil_restore` takes, or 0 if the thread does
/// not hold it.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_save() -> u64 {
    let mut token = 0;
    let _ = boundary("molt_gil_save", || {
        token = DEFAULT.gil_save();
        Ok(())
    });
    token
}

/// Takes the GIL back at the depth `molt_gil_save` released (0: does nothing). After the
/// runtime shut down meanwhile: `MOLT_ERR_NOT_INITIALIZED`, at once.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_restore(token: u64) -> i32 {
    boundary("molt_gil_restore", || Ok(DEFAULT.gil_restore(token)?))
}

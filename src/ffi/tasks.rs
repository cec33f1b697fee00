//! Tasks from C: spawning a C task body, joining, cancelling, its state, sleeping and the
//! cancellation check inside a body.

use super::DEFAULT;
use super::args::*;
use super::status::*;
use super::values::MOLT_NONE;
use crate::gil::Gil;
use crate::tasks::TaskId;
use crate::value::Value;
use molt_arenas::handles::{FfiHandle, Handle};
use std::ffi::{c_char, c_void};
use std::time::Duration;

/// A task of the default runtime: two words (key and runtime identity). A task handle from
/// an earlier runtime, or one already joined, is rejected with `MOLT_ERR_STALE_VALUE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MoltTask {
    /// The task's key in its runtime's task table.
    pub key: u64,
    /// The identity of the runtime that spawned it.
    pub runtime: u64,
}

/// A task body: called on a worker thread (or on the thread that joins the task) with the
/// `user_data` given at spawn and a result slot preset to `MOLT_NONE`. It may call any
/// `molt_*` function; exceptions it raises are the task's own. It returns `MOLT_OK` after
/// writing a new reference to `*result` (or leaving `MOLT_NONE`), or `MOLT_ERR_EXCEPTION`
/// after raising (`molt_raise`), which fails the task (`CancelledError` cancels it). Any
/// other status fails the task with a `RuntimeError` that quotes `molt_last_error`.
pub type MoltTaskFn = Option<unsafe extern "C" fn(user_data: *mut c_void, result: *mut u64) -> i32>;

/// `molt_task_state`: waiting to run.
pub const MOLT_TASK_PENDING: i32 = 0;
/// `molt_task_state`: running (or sleeping inside its body).
pub const MOLT_TASK_RUNNING: i32 = 1;
/// `molt_task_state`: returned a value.
pub const MOLT_TASK_DONE: i32 = 2;
/// `molt_task_state`: cancelled.
pub const MOLT_TASK_CANCELLED: i32 = 3;
/// `molt_task_state`: raised.
pub const MOLT_TASK_FAILED: i32 = 4;

fn task_arg(g: &Gil<'_>, task: MoltTask) -> Result<TaskId, Failure> {
    let id = Handle::from_ffi(FfiHandle {
        key: task.key,
        runtime: task.runtime,
    })
    .ok_or_else(|| Failure::new(MOLT_ERR_STALE_VALUE, "task: not a task handle (runtime 0)"))?;
    g.task_check(id)
        .map_err(|e| Failure::new(MOLT_ERR_STALE_VALUE, format!("task: {e}")))?;
    Ok(id)
}

fn to_molt_task(id: TaskId) -> MoltTask {
    let h = id.to_ffi();
    MoltTask {
        key: h.key,
        runtime: h.runtime,
    }
}

/// A C task body and its user data, moved to the thread that runs it.
struct CTask {
    func: unsafe extern "C" fn(*mut c_void, *mut u64) -> i32,
    user_data: *mut c_void,
}

// SAFETY: `molt_task_spawn`'s contract: the C caller allows `func` to be called with
// `user_data` on another thread.
unsafe impl Send for CTask {}

impl CTask {
    fn run(self, cx: &mut crate::TaskCx<'_>) -> crate::PyResult<Value> {
        let mut result = MOLT_NONE;
        // A failure message quoted below must be the body's own, not one from before.
        LAST_ERROR.with(|e| *e.borrow_mut() = None);
        // SAFETY: `molt_task_spawn`'s contract: `func` is a valid task body, callable with
        // `user_data` on this thread; `result` is a valid, writable `uint64_t`.
        let status = unsafe { (self.func)(self.user_data, &mut result) };
        let mut g = cx.gil();
        c_outcome(&mut g, status, result, "task body", false)
    }
}

fn spawn_c(
    delay: Option<Duration>,
    func: MoltTaskFn,
    user_data: *mut c_void,
    out: *mut MoltTask,
) -> Result<(), Failure> {
    let func = func.ok_or_else(|| Failure::invalid("func is NULL"))?;
    if out.is_null() {
        return Err(Failure::invalid("out is NULL"));
    }
    with_gil(|g| {
        let body = CTask { func, user_data };
        let id = g.spawn_task(None, delay, Box::new(move |cx| body.run(cx)))?;
        // SAFETY: `out` is non-null and, per the caller's contract, valid for a write.
        unsafe { write_out(out, to_molt_task(id), "out") }
    })
}

/// Spawns a task of the default runtime that runs `func(user_data, result)` on a worker
/// thread (see [`MoltTaskFn`]); writes its handle to `*out`. Worker threads start on the
/// first spawn. Fails with `MOLT_ERR_EXCEPTION` (`RuntimeError`) once shutdown has begun.
///
/// # Safety
/// `func` must be NULL (an error) or a task body that may be called with `user_data` on
/// another thread, and `user_data` must stay valid until the task has finished (joined, or
/// shutdown returned). `out` must be NULL (an error) or valid for a write of `MoltTask`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_spawn(
    func: MoltTaskFn,
    user_data: *mut c_void,
    out: *mut MoltTask,
) -> i32 {
    boundary("molt_task_spawn", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        spawn_c(None, func, user_data, out)
    })
}

/// [`molt_task_spawn`] for a task that starts after `delay_seconds` (a timer of the sleep
/// worker).
///
/// # Safety
/// As for [`molt_task_spawn`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_spawn_after(
    delay_seconds: f64,
    func: MoltTaskFn,
    user_data: *mut c_void,
    out: *mut MoltTask,
) -> i32 {
    boundary("molt_task_spawn_after", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        let delay = seconds_arg(delay_seconds, "delay_seconds")?;
        spawn_c(Some(delay), func, user_data, out)
    })
}

/// Waits for the task and writes its result (a new reference) to `*out`; or, if it raised
/// or was cancelled, makes its exception this thread's current exception and returns
/// `MOLT_ERR_EXCEPTION`. The handle is spent either way (a second join is
/// `MOLT_ERR_STALE_VALUE`). A task not yet started runs on the calling thread.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_join(task: MoltTask, out: *mut u64) -> i32 {
    boundary("molt_task_join", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        with_gil(|g| {
            let id = task_arg(g, task)?;
            let v = g.join(id)?;
            out_value!(out, v)
        })
    })
}

/// Cancels the task with `message` (NULL: none): a pending task never runs; a running one
/// sees it at its next `molt_task_check_cancelled` or `molt_sleep`. Writes 1 to `*took`
/// (when not NULL) if the cancellation took effect, 0 if the task had already finished.
///
/// # Safety
/// `message` must be NULL or NUL-terminated; `took` NULL or valid for a write of `int32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_cancel(
    task: MoltTask,
    message: *const c_char,
    took: *mut i32,
) -> i32 {
    boundary("molt_task_cancel", || {
        let msg = if message.is_null() {
            None
        } else {
            // SAFETY: forwarded caller contract.
            Some(unsafe { read_str(message, "message") }?)
        };
        with_gil(|g| {
            let id = task_arg(g, task)?;
            let t = g.cancel(id, msg)?;
            if !took.is_null() {
                // SAFETY: non-null, valid for a write per the caller's contract.
                unsafe { write_out(took, i32::from(t), "took") }?;
            }
            Ok(())
        })
    })
}

/// Writes the task's state (`MOLT_TASK_*`) to `*out`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_state(task: MoltTask, out: *mut i32) -> i32 {
    use crate::TaskState as S;
    boundary("molt_task_state", || {
        with_gil(|g| {
            let id = task_arg(g, task)?;
            let state = g.task_state(id)?;
            let code = match state {
                S::Pending => MOLT_TASK_PENDING,
                S::Running => MOLT_TASK_RUNNING,
                S::Done => MOLT_TASK_DONE,
                S::Cancelled => MOLT_TASK_CANCELLED,
                S::Failed => MOLT_TASK_FAILED,
            };
            // SAFETY: forwarded caller contract.
            unsafe { write_out(out, code, "out") }
        })
    })
}

/// Sleeps for `seconds`, with the GIL released meanwhile (taken back at the depth it had,
/// for a thread that held it). Inside a task (a task body calling it) the sleep worker wakes
/// the task, and a cancellation or shutdown ends the sleep early with `MOLT_ERR_EXCEPTION`
/// (`CancelledError`, the task's current exception). Elsewhere it sleeps the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn molt_sleep(seconds: f64) -> i32 {
    boundary("molt_sleep", || {
        let duration = seconds_arg(seconds, "seconds")?;
        if DEFAULT.held().is_none() {
            // Holding nothing: nothing to release, and nothing to enter for.
            let rt = entered()?;
            if crate::tasks::current_task(rt.id().get()).is_none() {
                drop(rt);
                std::thread::sleep(duration);
                return Ok(());
            }
        }
        with_gil(
            |g| match crate::tasks::current_task(g.runtime().id().get()) {
                Some((_, task)) => g.task_sleep(task, duration).map_err(Failure::from),
                None => {
                    g.unlocked(|| std::thread::sleep(duration));
                    Ok(())
                }
            },
        )
    })
}

/// Inside a task: `MOLT_OK`, or `MOLT_ERR_EXCEPTION` with `CancelledError` raised if the task
/// was cancelled. Outside a task: `MOLT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn molt_task_check_cancelled() -> i32 {
    boundary("molt_task_check_cancelled", || {
        with_gil(|g| {
            let Some((_, task)) = crate::tasks::current_task(g.runtime().id().get()) else {
                return Err(Failure::named(
                    MOLT_ERR_INVALID_ARGUMENT,
                    "the calling thread is not running a task",
                ));
            };
            g.task_check_cancelled(task).map_err(Failure::from)
        })
    })
}

//! Async registries and worker threads: tasks, cancel tokens, per-task exception state, the
//! scheduler workers and the sleep worker, and the quiescent shutdown that stops them.
//!
//! A task is a native closure that receives a [`TaskCx`] and returns a [`Value`] or raises.
//! [`Gil::spawn`] registers it in the runtime's task table (a [`HandleTable`], so a
//! [`TaskId`] from another runtime, or from a runtime that shut down, is rejected) with its
//! state, a cancel token, and an exception-state key of its own: while the task runs, code
//! on its thread raises into the task's state, never into another task's or the thread's.
//! [`Gil::join`] waits (with the runtime lock released) and returns the result or re-raises
//! the task's exception; a panic in a task becomes a `RuntimeError` on that task.
//!
//! Everything here sits behind the runtime lock, with three condition variables of that lock
//! (in [`RuntimeState`]): workers wait for ready tasks, the sleep worker for the next timer,
//! joiners and sleeping tasks for a task to change state.
//!
//! Threads start on the first spawn that needs them ([`Config::workers`] scheduler workers,
//! and one sleep worker on the first timer), so init costs nothing here. With no worker
//! threads (`workers = 0`, or a target without threads) a task runs on the thread that joins
//! it. Shutdown (`RuntimeState::quiesce`, then `RuntimeState::stop_workers`) refuses new
//! spawns, cancels pending and sleeping tasks, waits (bounded) for running ones, then stops
//! and joins the threads and clears every registry.
//!
//! Files: this one (the handle types, [`TaskState`], the thread's current task),
//! `registry.rs` (the records behind the runtime lock), `cx.rs` ([`TaskCx`]), `records.rs`
//! (looking records up), `spawn.rs`, `cancel.rs` (cancel tokens, `CancelledError`),
//! `run.rs` (join, running and finishing a task, sleep), `workers.rs` (the threads and the
//! two halves of shutdown).
//!
//! [`Config::workers`]: crate::Config::workers
//! [`Gil::spawn`]: crate::Gil::spawn
//! [`Gil::join`]: crate::Gil::join
//! [`HandleTable`]: molt_arenas::handles::HandleTable
//! [`RuntimeState`]: crate::RuntimeState
//! [`TaskCx::check_cancelled`]: crate::TaskCx::check_cancelled

mod cancel;
mod cx;
mod records;
mod registry;
mod run;
mod spawn;
mod workers;

pub use cx::TaskCx;
pub(crate) use registry::Tasks;

use crate::gil::PyResult;
use crate::value::Value;
use molt_arenas::handles::Handle;
use std::fmt;

slotmap::new_key_type! {
    /// A task's key in its runtime's task table.
    pub struct TaskKey;
    /// A cancel token's key in its runtime's token table.
    pub struct TokenKey;
}

/// A task of one runtime.
pub type TaskId = Handle<TaskKey>;
/// A cancel token of one runtime.
pub type CancelToken = Handle<TokenKey>;

/// What a task runs: a native closure that gets the task's context and returns a new
/// reference or raises.
pub type TaskBody = Box<dyn FnOnce(&mut TaskCx<'_>) -> PyResult<Value> + Send + 'static>;

/// The message of the cancellations shutdown makes.
pub const SHUTDOWN_CANCEL_MESSAGE: &str = "the runtime is shutting down";

/// Where a task is in its life. `Done`, `Cancelled` and `Failed` are final, and exactly one
/// of them is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting to run (in the ready queue, or on a timer).
    Pending,
    /// Running on a worker (or on a joining thread); also while it sleeps.
    Running,
    /// Returned a value.
    Done,
    /// Cancelled before it ran, or ended with `CancelledError`.
    Cancelled,
    /// Raised (or panicked).
    Failed,
}

impl TaskState {
    /// Every state, in order.
    pub const ALL: [TaskState; 5] = [
        TaskState::Pending,
        TaskState::Running,
        TaskState::Done,
        TaskState::Cancelled,
        TaskState::Failed,
    ];

    /// Whether the state is final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Done | TaskState::Cancelled | TaskState::Failed
        )
    }

    /// The state's lower-case name.
    pub fn name(self) -> &'static str {
        // In the order of `ALL` (the discriminants).
        const NAMES: [&str; 5] = ["pending", "running", "done", "cancelled", "failed"];
        NAMES[self as usize]
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// The shim's thread-local: under loom each model thread has its own. `const` (no lazy
// initialization check) except under loom, whose macro has no `const` form.
#[cfg(not(molt_loom))]
molt_arenas::sync::thread_local! {
    /// The task this thread is running, if any: its runtime's id, its exception key, its id.
    static CURRENT: std::cell::Cell<Option<(u64, u64, TaskId)>> =
        const { std::cell::Cell::new(None) };
}
#[cfg(molt_loom)]
molt_arenas::sync::thread_local! {
    #[allow(clippy::missing_const_for_thread_local)]
    static CURRENT: std::cell::Cell<Option<(u64, u64, TaskId)>> = std::cell::Cell::new(None);
}

/// The task of runtime `runtime` this thread is running, if any: (exception key, id).
pub(crate) fn current_task(runtime: u64) -> Option<(u64, TaskId)> {
    match CURRENT.with(|c| c.get()) {
        Some((rt, key, id)) if rt == runtime => Some((key, id)),
        _ => None,
    }
}

/// While alive, this thread runs a task: code on it raises into the task's exception state
/// (see `exc_key` in `gil/exceptions.rs`). Dropping it restores what was there (tasks can nest on a thread
/// when a join helps).
struct CurrentTask(Option<(u64, u64, TaskId)>);

impl CurrentTask {
    fn enter(runtime: u64, exc_key: u64, task: TaskId) -> Self {
        Self(CURRENT.with(|c| c.replace(Some((runtime, exc_key, task)))))
    }
}

impl Drop for CurrentTask {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

//! [`TaskCx`]: what a task body receives.

use super::TaskId;
use crate::gil::{Gil, PyResult};
use crate::state::RuntimeState;
use std::fmt;
use std::time::Duration;

/// A running task's view of its runtime.
pub struct TaskCx<'rt> {
    pub(super) rt: &'rt RuntimeState,
    pub(super) id: TaskId,
    pub(super) exc_key: u64,
}

impl fmt::Debug for TaskCx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskCx({:?})", self.id)
    }
}

impl<'rt> TaskCx<'rt> {
    /// This task.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The runtime.
    pub fn runtime(&self) -> &'rt RuntimeState {
        self.rt
    }

    /// Takes the GIL (see [`RuntimeState::gil`]). Exceptions raised through this token are
    /// the task's own. The token borrows the `TaskCx`, so `sleep` and `check_cancelled`
    /// (which release the GIL while they wait) cannot be called while it is live: hold the
    /// token for a run of calls, drop it, then wait.
    pub fn gil(&mut self) -> Gil<'_> {
        let mut g = self.rt.gil();
        g.set_exc_key(self.exc_key);
        g
    }

    /// Raises `CancelledError` (with the cancel message) if this task was cancelled.
    pub fn check_cancelled(&mut self) -> PyResult<()> {
        let id = self.id;
        let mut g = self.gil();
        g.task_check_cancelled(id)
    }

    /// Sleeps for `duration` (the sleep worker wakes the task), with the runtime lock
    /// released. A cancellation (or shutdown) ends the sleep early with `CancelledError`.
    pub fn sleep(&mut self, duration: Duration) -> PyResult<()> {
        let id = self.id;
        let mut g = self.gil();
        g.task_sleep(id, duration)
    }
}

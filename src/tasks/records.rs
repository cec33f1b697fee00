//! Looking up task and cancel-token records by handle (a handle of another runtime, or of
//! a record that is gone, is a `ReferenceError`), and what a task's record says.

use super::registry::Task;
use super::{CancelToken, TaskId, TaskState};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::Value;

impl Gil<'_> {
    /// Whether spawns are refused (shutdown began).
    pub(super) fn tasks_closing(&self) -> bool {
        self.runtime()
            .spawns_closed
            .load(molt_arenas::sync::Ordering::Acquire)
    }

    /// Raises `ValueError`/`ReferenceError` for an unknown or foreign task.
    pub(super) fn task_ref(&mut self, task: TaskId) -> PyResult<&mut Task> {
        match self.tasks_mut().table.get(task) {
            Ok(_) => Ok(self.tasks_mut().table.get_mut(task).expect("just found")),
            Err(molt_arenas::handles::HandleError::Stale) => Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                "unknown task (already joined, detached or cancelled at shutdown)",
            )),
            Err(e) => Err(self.raise_new(ExcClass::REFERENCE_ERROR, e.to_string())),
        }
    }

    pub(super) fn token_ok(&mut self, token: CancelToken) -> PyResult<()> {
        match self.tasks_mut().tokens.get(token) {
            Ok(_) => Ok(()),
            Err(molt_arenas::handles::HandleError::Stale) => {
                Err(self.raise_new(ExcClass::VALUE_ERROR, "unknown cancel token"))
            }
            Err(e) => Err(self.raise_new(ExcClass::REFERENCE_ERROR, e.to_string())),
        }
    }

    /// Whether `task` names a task record of this runtime (without raising).
    pub fn task_check(&self, task: TaskId) -> Result<(), molt_arenas::handles::HandleError> {
        self.tasks().table.get(task).map(|_| ())
    }

    /// The task's state.
    pub fn task_state(&mut self, task: TaskId) -> PyResult<TaskState> {
        Ok(self.task_ref(task)?.state)
    }

    /// The task's cancel token (cancel it, or make it the parent of other tasks' tokens).
    pub fn task_token(&mut self, task: TaskId) -> PyResult<CancelToken> {
        Ok(self.task_ref(task)?.token)
    }

    /// The message the task was cancelled with, if it was cancelled with one.
    pub fn task_cancel_message(&mut self, task: TaskId) -> PyResult<Option<String>> {
        let token = self.task_ref(task)?.token;
        Ok(self
            .tasks_mut()
            .tokens
            .get(token)
            .ok()
            .and_then(|t| t.message.clone()))
    }

    /// The last exception raised inside the task (a new reference), kept after it finished.
    pub fn task_last_exception(&mut self, task: TaskId) -> PyResult<Option<Value>> {
        let t = self.task_ref(task)?;
        let last = if t.state.is_final() { t.exc.last } else { None };
        if let Some(v) = last {
            self.incref(v)?;
        }
        Ok(last)
    }
}

//! Running tasks: `join` (waits with the GIL released, or runs a still-queued task on the
//! joining thread), `run_pending`, a task's run and its finish (result, exception or panic),
//! and what waits inside a task (cancellation checks, `sleep`).

use super::registry::{Mode, Timer};
use super::workers::far_future;
use super::{CurrentTask, SHUTDOWN_CANCEL_MESSAGE, TaskCx, TaskId, TaskState, current_task};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

impl Gil<'_> {
    /// Waits for the task (the runtime lock is released meanwhile) and returns its result
    /// (a new reference), or re-raises its exception as this thread's (or task's) current
    /// exception: `CancelledError` if it was cancelled. The record goes away: a second join
    /// raises `ValueError`.
    pub fn join(&mut self, task: TaskId) -> PyResult<Value> {
        let detached = self.task_ref(task)?.detached;
        if detached {
            return Err(self.raise_new(ExcClass::VALUE_ERROR, "the task was detached"));
        }
        let me = current_task(self.runtime().id().get()).map(|(_, id)| id);
        if me == Some(task) {
            // As CPython does for a task awaiting itself: it could never finish.
            return Err(self.raise_new(ExcClass::RUNTIME_ERROR, "a task cannot join itself"));
        }
        loop {
            let t = self.task_ref(task)?;
            let state = t.state;
            let due = t.due;
            if state.is_final() {
                break;
            }
            // Help instead of waiting: a task still in the ready queue runs here (no worker
            // may be free: there are none, or all are busy, or all wait like us).
            let help = state == TaskState::Pending && t.queued;
            if help {
                let now = Instant::now();
                match due {
                    Some(at) if at > now => self.wait(&self.runtime().done_cv, Some(at - now)),
                    _ => {
                        self.tasks_mut().take_queued(task);
                        self.run_task(task);
                    }
                }
                continue;
            }
            // A task waiting here can be cancelled (say, two tasks joining each other): the
            // cancellation wakes it and ends the wait.
            if let Some(me) = me {
                self.task_check_cancelled(me)?;
            }
            self.wait(&self.runtime().done_cv, None);
        }
        let t = self.tasks_mut().table.get_mut(task).expect("found above");
        let state = t.state;
        let outcome = t.outcome.take();
        let token = t.token;
        let message = self
            .tasks_mut()
            .tokens
            .get(token)
            .ok()
            .and_then(|t| t.message.clone());
        self.remove_task(task);
        match (state, outcome) {
            (TaskState::Done, Some(v)) => Ok(v),
            (TaskState::Done, None) => Ok(Value::NONE),
            (_, Some(exc)) => {
                self.set_current(exc);
                Err(crate::gil::raised())
            }
            // Cancelled before it ran: raise with the cancel message.
            (TaskState::Cancelled, None) => Err(self.raise_cancelled(message.as_deref())),
            (_, None) => Err(self.raise_new(ExcClass::RUNTIME_ERROR, "task failed")),
        }
    }

    /// Runs the tasks that are ready and due on this thread (what a host without worker
    /// threads calls to make progress); returns how many ran.
    pub fn run_pending(&mut self) -> usize {
        let now = Instant::now();
        let mut ran = 0;
        let ready: Vec<TaskId> = self.tasks_mut().ready.iter().copied().collect();
        for task in ready {
            let due_ok =
                self.tasks_mut().table.get(task).is_ok_and(|t| {
                    t.state == TaskState::Pending && t.due.is_none_or(|at| at <= now)
                });
            if due_ok && self.tasks_mut().take_queued(task) {
                self.run_task(task);
                ran += 1;
            }
        }
        self.tasks_mut().compact_ready();
        ran
    }

    /// Runs a pending task on this thread: marks it running, releases the lock for its body,
    /// and records the outcome.
    pub(super) fn run_task(&mut self, task: TaskId) {
        let Ok(t) = self.tasks_mut().table.get_mut(task) else {
            return;
        };
        if t.state != TaskState::Pending {
            return; // cancelled while queued
        }
        let Some(body) = t.body.take() else {
            return;
        };
        t.state = TaskState::Running;
        let exc_key = t.exc_key;
        self.tasks_mut().running += 1;
        let rt = self.runtime();
        let out = self.unlocked(|| {
            let _scope = CurrentTask::enter(rt.id().get(), exc_key, task);
            let mut cx = TaskCx {
                rt,
                id: task,
                exc_key,
            };
            catch_unwind(AssertUnwindSafe(move || body(&mut cx)))
        });
        self.finish_task(task, out);
    }

    pub(super) fn finish_task(
        &mut self,
        task: TaskId,
        out: Result<PyResult<Value>, Box<dyn std::any::Any + Send>>,
    ) {
        self.tasks_mut().running -= 1;
        let exc_key = self.tasks_mut().table.get(task).map_or(0, |t| t.exc_key);
        let mut exc = self.take_exc_state(exc_key).unwrap_or_default();
        let (state, outcome) = match out {
            Ok(Ok(v)) => (TaskState::Done, Some(v)),
            Ok(Err(_)) => match exc.current.take() {
                Some(e) => {
                    let cancelled = match self.tasks_mut().cancelled_error {
                        Some(cls) => self.isinstance(e, cls).unwrap_or(false),
                        None => false,
                    };
                    let state = if cancelled {
                        TaskState::Cancelled
                    } else {
                        TaskState::Failed
                    };
                    (state, Some(e))
                }
                None => {
                    let e = self.new_exception(
                        ExcClass::RUNTIME_ERROR.index(),
                        "task returned an error without raising an exception",
                    );
                    (TaskState::Failed, Some(e))
                }
            },
            Err(payload) => {
                let msg = format!(
                    "task panicked: {}",
                    crate::error::panic_message(payload.as_ref())
                );
                drop(payload);
                let e = self.new_exception(ExcClass::RUNTIME_ERROR.index(), &msg);
                (TaskState::Failed, Some(e))
            }
        };
        if state != TaskState::Done
            && let Some(e) = outcome
            && exc.last != Some(e)
        {
            let _ = self.incref(e);
            if let Some(old) = exc.last.replace(e) {
                self.release(old);
            }
        }
        let Ok(t) = self.tasks_mut().table.get_mut(task) else {
            return;
        };
        t.state = state;
        t.sleeping = false;
        let detached = t.detached;
        let old = std::mem::replace(&mut t.exc, exc);
        t.outcome = outcome;
        for v in [old.current, old.last].into_iter().flatten() {
            self.release(v);
        }
        if detached {
            self.remove_task(task);
        }
        self.runtime().done_cv.notify_all();
    }

    /// `TaskCx::check_cancelled` with the lock held.
    pub(crate) fn task_check_cancelled(&mut self, task: TaskId) -> PyResult<()> {
        let token = self.task_ref(task)?.token;
        let (cancelled, message) = match self.tasks_mut().tokens.get(token) {
            Ok(t) => (t.cancelled, t.message.clone()),
            Err(_) => (false, None),
        };
        if cancelled {
            Err(self.raise_cancelled(message.as_deref()))
        } else {
            Ok(())
        }
    }

    /// `TaskCx::sleep` with the lock held (released while sleeping).
    pub(crate) fn task_sleep(&mut self, task: TaskId, duration: Duration) -> PyResult<()> {
        if self.tasks_closing() {
            // Shutdown cancels sleeping tasks; one that starts sleeping now is no different.
            let token = self.task_ref(task)?.token;
            let _ = self.cancel_token(token, Some(SHUTDOWN_CANCEL_MESSAGE));
        }
        self.task_check_cancelled(task)?;
        let at = Instant::now()
            .checked_add(duration)
            .unwrap_or_else(far_future);
        let threads = self.tasks_mut().mode == Mode::Threads;
        if threads {
            let tasks = self.tasks_mut();
            tasks.timer_seq += 1;
            let seq = tasks.timer_seq;
            tasks.timers.push(Timer {
                at,
                seq,
                task,
                wake: true,
            });
            self.ensure_sleeper();
            self.runtime().timer_cv.notify_one();
        }
        {
            let t = self.task_ref(task)?;
            t.sleeping = true;
            t.woken = false;
        }
        loop {
            let token = self.task_ref(task)?.token;
            let cancelled = self
                .tasks_mut()
                .tokens
                .get(token)
                .is_ok_and(|t| t.cancelled);
            let t = self.task_ref(task)?;
            if cancelled || t.woken {
                break;
            }
            let now = Instant::now();
            if now >= at && (!threads || self.tasks_mut().sleeper.is_none()) {
                break;
            }
            if threads && self.tasks_mut().sleeper.is_some() {
                self.wait(&self.runtime().done_cv, None);
            } else {
                self.wait(&self.runtime().done_cv, Some(at - now));
            }
        }
        let t = self.task_ref(task)?;
        t.sleeping = false;
        t.woken = false;
        self.task_check_cancelled(task)
    }
}

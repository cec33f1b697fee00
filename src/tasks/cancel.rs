//! Cancellation: cancel tokens (a tree: cancelling one cancels its descendants and their
//! tasks), `CancelledError`, detaching, and removing records.

use super::registry::Token;
use super::{CancelToken, SHUTDOWN_CANCEL_MESSAGE, TaskId, TaskState};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::Value;

impl Gil<'_> {
    /// The `CancelledError` class of this runtime (a `BaseException` subclass, as
    /// `asyncio.CancelledError` is in CPython 3.11), made on first use.
    pub fn cancelled_error(&mut self) -> PyResult<Value> {
        if let Some(c) = self.tasks_mut().cancelled_error {
            return Ok(c);
        }
        let base = self.exception_class(ExcClass::BASE_EXCEPTION);
        let cls = self.class_new("CancelledError", &[base], &[])?;
        self.tasks_mut().cancelled_error = Some(cls);
        Ok(cls)
    }

    /// Raises `CancelledError(message)`.
    pub(super) fn raise_cancelled(&mut self, message: Option<&str>) -> crate::Raised {
        let cls = match self.cancelled_error() {
            Ok(c) => c,
            Err(r) => return r,
        };
        let idx = self.locked().types.index_of(cls).expect("own class");
        let exc = self.new_exception_with(idx, message);
        self.set_current(exc);
        crate::gil::raised()
    }

    /// Cancels the task: a pending task never runs; a running one sees it at its next
    /// [`TaskCx::check_cancelled`](super::TaskCx::check_cancelled) or sleep. Returns false if the task had already finished.
    pub fn cancel(&mut self, task: TaskId, message: Option<&str>) -> PyResult<bool> {
        let t = self.task_ref(task)?;
        if t.state.is_final() {
            return Ok(false);
        }
        let token = t.token;
        self.cancel_token(token, message)?;
        Ok(true)
    }

    /// What a new child of `parent` inherits: whether it starts cancelled, and the message
    /// (none without a parent).
    pub(super) fn inherited_cancel(
        &mut self,
        parent: Option<CancelToken>,
    ) -> PyResult<(bool, Option<String>)> {
        let Some(p) = parent else {
            return Ok((false, None));
        };
        self.token_ok(p)?;
        let t = self.tasks_mut().tokens.get(p).expect("checked");
        Ok((t.cancelled, t.message.clone()))
    }

    /// A new cancel token, a child of `parent` (created cancelled if `parent` is).
    pub fn cancel_token_new(&mut self, parent: Option<CancelToken>) -> PyResult<CancelToken> {
        let (cancelled, message) = self.inherited_cancel(parent)?;
        let tokens = &mut self.tasks_mut().tokens;
        let tok = tokens.insert(Token {
            parent,
            children: Vec::new(),
            task: None,
            cancelled,
            message,
        });
        if let Some(p) = parent {
            tokens.get_mut(p).expect("checked").children.push(tok);
        }
        Ok(tok)
    }

    /// Whether the token was cancelled (directly or through an ancestor).
    pub fn cancel_token_is_cancelled(&mut self, token: CancelToken) -> PyResult<bool> {
        self.token_ok(token)?;
        Ok(self
            .tasks_mut()
            .tokens
            .get(token)
            .expect("checked")
            .cancelled)
    }

    /// Cancels the token, its descendants and their tasks. Cancelling twice keeps the first
    /// message.
    pub fn cancel_token(&mut self, token: CancelToken, message: Option<&str>) -> PyResult<()> {
        self.token_ok(token)?;
        let mut stack = vec![token];
        let mut woke = false;
        while let Some(t) = stack.pop() {
            let Ok(tok) = self.tasks_mut().tokens.get_mut(t) else {
                continue;
            };
            if tok.cancelled {
                continue;
            }
            tok.cancelled = true;
            tok.message = message.map(str::to_owned);
            stack.extend(tok.children.iter().copied());
            if let Some(task) = tok.task {
                woke |= self.cancel_effect(task);
            }
        }
        if woke {
            self.runtime().done_cv.notify_all();
        }
        Ok(())
    }

    /// What cancelling does to a task now: a pending one is finished as cancelled (its body
    /// dropped unrun); a sleeping one must wake. True if waiters must be woken.
    pub(super) fn cancel_effect(&mut self, task: TaskId) -> bool {
        let Ok(t) = self.tasks_mut().table.get_mut(task) else {
            return false;
        };
        match t.state {
            TaskState::Pending => {
                t.state = TaskState::Cancelled;
                let body = t.body.take();
                let detached = t.detached;
                let delayed = t.due.is_some();
                drop(body);
                if delayed {
                    // Its start timer goes too (a host cancelling many delayed tasks would
                    // otherwise pile them up until they came due).
                    self.tasks_mut().timers.retain(|tm| tm.task != task);
                }
                if detached {
                    self.remove_task(task);
                }
                true
            }
            // Sleeping, or waiting in a join: it must wake to see the cancellation.
            TaskState::Running => true,
            _ => false,
        }
    }

    /// Drops a cancel token made by [`cancel_token_new`](Self::cancel_token_new); its
    /// children become roots.
    pub fn cancel_token_drop(&mut self, token: CancelToken) -> PyResult<()> {
        self.token_ok(token)?;
        if self
            .tasks_mut()
            .tokens
            .get(token)
            .expect("checked")
            .task
            .is_some()
        {
            return Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                "a task's own token goes away with its task",
            ));
        }
        self.remove_token(token);
        Ok(())
    }

    pub(super) fn remove_token(&mut self, token: CancelToken) {
        let tokens = &mut self.tasks_mut().tokens;
        let Ok(tok) = tokens.remove(token) else {
            return;
        };
        for c in tok.children {
            if let Ok(child) = tokens.get_mut(c) {
                child.parent = None;
            }
        }
        if let Some(p) = tok.parent
            && let Ok(parent) = tokens.get_mut(p)
        {
            parent.children.retain(|&c| c != token);
        }
    }

    /// Removes a task's record and its token, releasing what it owns.
    pub(super) fn remove_task(&mut self, task: TaskId) {
        let Ok(t) = self.tasks_mut().table.remove(task) else {
            return;
        };
        for v in [t.outcome, t.exc.current, t.exc.last].into_iter().flatten() {
            self.release(v);
        }
        if let Some(k) = self.take_exc_state(t.exc_key) {
            for v in [k.current, k.last].into_iter().flatten() {
                self.release(v);
            }
        }
        self.remove_token(t.token);
    }

    /// Lets the task's record go when it finishes (it cannot be joined any more).
    pub fn detach(&mut self, task: TaskId) -> PyResult<()> {
        let t = self.task_ref(task)?;
        if t.state.is_final() {
            self.remove_task(task);
        } else {
            t.detached = true;
        }
        Ok(())
    }

    /// Shutdown's cancellations: every pending task (queued or on a timer) and every
    /// sleeping one, with [`SHUTDOWN_CANCEL_MESSAGE`].
    pub(super) fn cancel_waiting(&mut self) {
        let to_cancel: Vec<TaskId> = self
            .tasks_mut()
            .table
            .iter()
            .filter(|(_, t)| t.state == TaskState::Pending || t.sleeping)
            .map(|(id, _)| id)
            .collect();
        for task in to_cancel {
            let _ = self.cancel(task, Some(SHUTDOWN_CANCEL_MESSAGE));
        }
        self.tasks_mut().clear_ready();
        self.tasks_mut().timers.retain(|t| t.wake);
    }
}

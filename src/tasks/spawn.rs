//! Spawning: the task record, its cancel token and exception key, the ready queue or a
//! timer, and the threads started on the first spawn that needs them.

use super::registry::{Mode, Task, Timer, Token};
use super::workers::{far_future, sleeper_loop, start_thread, worker_loop};
use super::{CancelToken, TaskBody, TaskCx, TaskId, TaskState};
use crate::ExcClass;
use crate::gil::{ExcState, Gil, PyResult};
use crate::value::Value;
use std::time::{Duration, Instant};

impl Gil<'_> {
    /// Spawns a task that runs `body` on a worker thread (see [`TaskCx`]).
    pub fn spawn(
        &mut self,
        body: impl FnOnce(&mut TaskCx<'_>) -> PyResult<Value> + Send + 'static,
    ) -> PyResult<TaskId> {
        self.spawn_task(None, None, Box::new(body))
    }

    /// Spawns a task that starts after `delay` (a timer of the sleep worker).
    pub fn spawn_after(
        &mut self,
        delay: Duration,
        body: impl FnOnce(&mut TaskCx<'_>) -> PyResult<Value> + Send + 'static,
    ) -> PyResult<TaskId> {
        self.spawn_task(None, Some(delay), Box::new(body))
    }

    /// Spawns a task whose cancel token is a child of `parent` (cancelling `parent` cancels
    /// it), optionally after `delay`.
    pub fn spawn_task(
        &mut self,
        parent: Option<CancelToken>,
        delay: Option<Duration>,
        body: TaskBody,
    ) -> PyResult<TaskId> {
        if self.tasks_closing() {
            return Err(self.raise_new(
                ExcClass::RUNTIME_ERROR,
                "cannot spawn a task: the runtime is shutting down",
            ));
        }
        let (inherited, message) = self.inherited_cancel(parent)?;
        if self.tasks_mut().mode == Mode::Unstarted {
            self.start_workers();
        }
        let tasks = self.tasks_mut();
        let token = tasks.tokens.insert(Token {
            parent,
            children: Vec::new(),
            task: None,
            cancelled: inherited,
            message: message.clone(),
        });
        if let Some(p) = parent {
            tasks
                .tokens
                .get_mut(p)
                .expect("checked")
                .children
                .push(token);
        }
        let due = delay
            .filter(|d| !d.is_zero())
            .map(|d| Instant::now().checked_add(d).unwrap_or_else(far_future));
        let id = tasks.table.insert(Task {
            state: if inherited {
                TaskState::Cancelled
            } else {
                TaskState::Pending
            },
            body: if inherited { None } else { Some(body) },
            token,
            exc_key: molt_arenas::sync::next_instance_id().get(),
            outcome: None,
            exc: ExcState::default(),
            sleeping: false,
            woken: false,
            detached: false,
            due,
            queued: false,
        });
        tasks.tokens.get_mut(token).expect("just made").task = Some(id);
        tasks.spawned += 1;
        if inherited {
            // Cancelled before it could ever run; the body was dropped above.
            return Ok(id);
        }
        match (tasks.mode, due) {
            (Mode::Threads, Some(at)) => {
                tasks.timer_seq += 1;
                let seq = tasks.timer_seq;
                tasks.timers.push(Timer {
                    at,
                    seq,
                    task: id,
                    wake: false,
                });
                self.ensure_sleeper();
                self.runtime().timer_cv.notify_one();
            }
            (Mode::Threads, None) => {
                tasks.enqueue(id);
                self.runtime().work_cv.notify_one();
            }
            _ => tasks.enqueue(id),
        }
        Ok(id)
    }

    /// Starts the scheduler workers (or settles on running tasks inline).
    pub(super) fn start_workers(&mut self) {
        let wanted = if cfg!(all(target_family = "wasm", not(target_feature = "atomics"))) {
            0
        } else {
            match self.tasks_mut().workers_wanted {
                Some(n) => n,
                None => std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(4),
            }
        };
        let rt = self.runtime();
        let mut handles = Vec::with_capacity(wanted);
        for i in 0..wanted {
            match start_thread(rt, format!("m{}w{i}", rt.id().get()), worker_loop) {
                Ok(h) => handles.push(h),
                Err(_) => break, // no (more) threads here: run with what we have
            }
        }
        let tasks = self.tasks_mut();
        tasks.workers_started += handles.len() as u64;
        tasks.mode = if handles.is_empty() {
            Mode::Inline
        } else {
            Mode::Threads
        };
        tasks.workers = handles;
    }

    /// Starts the sleep worker if it is not running.
    pub(super) fn ensure_sleeper(&mut self) {
        if self.tasks_mut().sleeper.is_some() || self.tasks_mut().mode != Mode::Threads {
            return;
        }
        let rt = self.runtime();
        match start_thread(rt, format!("m{}s", rt.id().get()), sleeper_loop) {
            Ok(h) => self.tasks_mut().sleeper = Some(h),
            Err(_) => {
                // Without a sleep worker, timers fire from the scheduler workers' waits: put
                // every timer's task in the ready queue now and let `due` hold it back.
                self.fire_all_timers_now();
            }
        }
    }

    pub(super) fn fire_all_timers_now(&mut self) {
        let timers: Vec<Timer> = self.tasks_mut().timers.drain().collect();
        for t in timers {
            if t.wake {
                if let Ok(task) = self.tasks_mut().table.get_mut(t.task) {
                    task.woken = true;
                }
            } else {
                self.tasks_mut().enqueue(t.task);
            }
        }
        self.runtime().done_cv.notify_all();
        self.runtime().work_cv.notify_all();
    }
}

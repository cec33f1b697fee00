//! The records behind the runtime lock: tasks, cancel tokens, timers, the ready queue, the
//! worker handles ([`Tasks`]).

use super::{CancelToken, TaskBody, TaskId, TaskKey, TaskState, TokenKey};
use crate::gil::ExcState;
use crate::report::{StateCount, TaskReport};
use crate::value::Value;
use molt_arenas::handles::{HandleTable, RuntimeId};
use molt_arenas::registry::Tracker;
use molt_arenas::sync::thread;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::time::Instant;

/// A task's record.
pub(super) struct Task {
    pub(super) state: TaskState,
    pub(super) body: Option<TaskBody>,
    pub(super) token: CancelToken,
    /// The key of the task's exception state while it runs.
    pub(super) exc_key: u64,
    /// Done: the result; Failed or Cancelled: the exception (when there is one). Owned.
    pub(super) outcome: Option<Value>,
    /// The task's exception state once it finished (its last exception). Owned.
    pub(super) exc: ExcState,
    /// Inside `TaskCx::sleep`.
    pub(super) sleeping: bool,
    /// The sleep worker fired this task's wake-up timer.
    pub(super) woken: bool,
    /// Remove the record when the task finishes (nobody will join it).
    pub(super) detached: bool,
    /// Not to be started before (spawn_after).
    pub(super) due: Option<Instant>,
    /// In the ready queue. An entry whose task is no longer `queued` (run by a join that
    /// helped, or removed) is skipped when it comes up: taking a task out of the middle of
    /// the queue is O(1), not a search.
    pub(super) queued: bool,
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("state", &self.state)
            .field("sleeping", &self.sleeping)
            .field("due", &self.due)
            .finish_non_exhaustive()
    }
}

/// A cancel token's record. Cancelling a token cancels its descendants and their tasks.
#[derive(Debug)]
pub(super) struct Token {
    pub(super) parent: Option<CancelToken>,
    pub(super) children: Vec<CancelToken>,
    /// The task this token belongs to (a task's own token), if any.
    pub(super) task: Option<TaskId>,
    pub(super) cancelled: bool,
    pub(super) message: Option<String>,
}

/// A timer of the sleep worker.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Timer {
    pub(super) at: Instant,
    pub(super) seq: u64,
    pub(super) task: TaskId,
    /// Wake a sleeping task (true) or start a delayed one (false).
    pub(super) wake: bool,
}

impl Ord for Timer {
    // Reversed: `BinaryHeap` is a max-heap and the earliest timer must come first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// How tasks get a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// No thread started yet (decided on the first spawn).
    Unstarted,
    /// Scheduler workers run tasks.
    Threads,
    /// No worker threads: tasks run on the thread that joins them.
    Inline,
}

/// The runtime's async registries, behind the runtime lock.
pub(crate) struct Tasks {
    pub(super) table: HandleTable<TaskKey, Task>,
    pub(super) tokens: HandleTable<TokenKey, Token>,
    /// Tasks to run, in order; may hold entries of tasks no longer `queued` (skipped).
    pub(super) ready: VecDeque<TaskId>,
    pub(super) timers: BinaryHeap<Timer>,
    pub(super) timer_seq: u64,
    pub(super) running: u64,
    /// Workers must exit.
    pub(super) stop: bool,
    pub(super) workers_wanted: Option<usize>,
    pub(super) mode: Mode,
    pub(super) workers: Vec<thread::JoinHandle<()>>,
    pub(super) sleeper: Option<thread::JoinHandle<()>>,
    /// The `CancelledError` class (made on first need).
    pub(super) cancelled_error: Option<Value>,
    pub(super) spawned: u64,
    pub(super) workers_started: u64,
    /// The registries' sizes when shutdown started, then what shutdown joined.
    pub(crate) shutdown_report: Option<TaskReport>,
}

impl fmt::Debug for Tasks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tasks")
            .field("tasks", &self.table.len())
            .field("tokens", &self.tokens.len())
            .field("ready", &self.ready.len())
            .field("timers", &self.timers.len())
            .field("running", &self.running)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Tasks {
    /// Puts `task` at the end of the ready queue (a no-op if it is queued already).
    pub(super) fn enqueue(&mut self, task: TaskId) {
        if let Ok(t) = self.table.get_mut(task)
            && !t.queued
        {
            t.queued = true;
            self.ready.push_back(task);
        }
    }

    /// The next queued task, taken out of the queue; stale entries are dropped on the way.
    pub(super) fn dequeue(&mut self) -> Option<TaskId> {
        while let Some(task) = self.ready.pop_front() {
            if self.take_queued(task) {
                return Some(task);
            }
        }
        None
    }

    /// Takes `task` out of the ready queue if it is in it (its entry stays, skipped later):
    /// whether it was.
    pub(super) fn take_queued(&mut self, task: TaskId) -> bool {
        match self.table.get_mut(task) {
            Ok(t) if t.queued => {
                t.queued = false;
                true
            }
            _ => false,
        }
    }

    /// Empties the ready queue.
    pub(super) fn clear_ready(&mut self) {
        for task in self.ready.drain(..) {
            if let Ok(t) = self.table.get_mut(task) {
                t.queued = false;
            }
        }
    }

    /// Drops the queue's stale entries (one pass).
    pub(super) fn compact_ready(&mut self) {
        let table = &self.table;
        self.ready
            .retain(|&task| table.get(task).is_ok_and(|t| t.queued));
    }

    pub(crate) fn new(
        runtime: RuntimeId,
        workers: Option<usize>,
        trackers: Option<(Tracker, Tracker)>,
    ) -> Self {
        let (t1, t2) = match trackers {
            Some((a, b)) => (Some(a), Some(b)),
            None => (None, None),
        };
        Self {
            table: HandleTable::new(runtime, t1),
            tokens: HandleTable::new(runtime, t2),
            ready: VecDeque::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            running: 0,
            stop: false,
            workers_wanted: workers,
            mode: Mode::Unstarted,
            workers: Vec::new(),
            sleeper: None,
            cancelled_error: None,
            spawned: 0,
            workers_started: 0,
            shutdown_report: None,
        }
    }

    pub(super) fn count(&self, state: TaskState) -> u64 {
        self.table.iter().filter(|(_, t)| t.state == state).count() as u64
    }

    /// Sizes of the registries, for the teardown report and `held()`.
    pub(crate) fn report(&self) -> TaskReport {
        TaskReport {
            spawned: self.spawned,
            by_state: TaskState::ALL.map(|state| StateCount {
                state,
                count: self.count(state),
            }),
            sleeping: self.table.iter().filter(|(_, t)| t.sleeping).count() as u64,
            tokens: self.tokens.len() as u64,
            timers: self.timers.len() as u64,
            workers_started: self.workers_started,
            workers_joined: 0,
            sleep_worker_joined: false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

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
//! [`Config::workers`]: crate::Config::workers

use crate::error::ShutdownError;
use crate::gil::{ExcState, Gil, PyResult};
use crate::pinned::PinnedState;
use crate::report::TaskReport;
use crate::state::RuntimeState;
use crate::thread_state::Deadline;
use crate::value::Value;
use molt_arenas::handles::{Handle, HandleTable, RuntimeId};
use molt_arenas::registry::Tracker;
use molt_arenas::sync::thread;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;
use std::time::{Duration, Instant};

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
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Done => "done",
            TaskState::Cancelled => "cancelled",
            TaskState::Failed => "failed",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A task's record.
struct Task {
    state: TaskState,
    body: Option<TaskBody>,
    token: CancelToken,
    /// The key of the task's exception state while it runs.
    exc_key: u64,
    /// Done: the result; Failed or Cancelled: the exception (when there is one). Owned.
    outcome: Option<Value>,
    /// The task's exception state once it finished (its last exception). Owned.
    exc: ExcState,
    /// Inside `TaskCx::sleep`.
    sleeping: bool,
    /// The sleep worker fired this task's wake-up timer.
    woken: bool,
    /// Remove the record when the task finishes (nobody will join it).
    detached: bool,
    /// Not to be started before (spawn_after).
    due: Option<Instant>,
    /// In the ready queue. An entry whose task is no longer `queued` (run by a join that
    /// helped, or removed) is skipped when it comes up: taking a task out of the middle of
    /// the queue is O(1), not a search.
    queued: bool,
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
struct Token {
    parent: Option<CancelToken>,
    children: Vec<CancelToken>,
    /// The task this token belongs to (a task's own token), if any.
    task: Option<TaskId>,
    cancelled: bool,
    message: Option<String>,
}

/// A timer of the sleep worker.
#[derive(Debug, PartialEq, Eq)]
struct Timer {
    at: Instant,
    seq: u64,
    task: TaskId,
    /// Wake a sleeping task (true) or start a delayed one (false).
    wake: bool,
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
enum Mode {
    /// No thread started yet (decided on the first spawn).
    Unstarted,
    /// Scheduler workers run tasks.
    Threads,
    /// No worker threads: tasks run on the thread that joins them.
    Inline,
}

/// The runtime's async registries, behind the runtime lock.
pub(crate) struct Tasks {
    table: HandleTable<TaskKey, Task>,
    tokens: HandleTable<TokenKey, Token>,
    /// Tasks to run, in order; may hold entries of tasks no longer `queued` (skipped).
    ready: VecDeque<TaskId>,
    timers: BinaryHeap<Timer>,
    timer_seq: u64,
    running: u64,
    /// Workers must exit.
    stop: bool,
    workers_wanted: Option<usize>,
    mode: Mode,
    workers: Vec<thread::JoinHandle<()>>,
    sleeper: Option<thread::JoinHandle<()>>,
    /// The `CancelledError` class (made on first need).
    cancelled_error: Option<Value>,
    spawned: u64,
    workers_started: u64,
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
    fn enqueue(&mut self, task: TaskId) {
        if let Ok(t) = self.table.get_mut(task)
            && !t.queued
        {
            t.queued = true;
            self.ready.push_back(task);
        }
    }

    /// The next queued task, taken out of the queue; stale entries are dropped on the way.
    fn dequeue(&mut self) -> Option<TaskId> {
        while let Some(task) = self.ready.pop_front() {
            if self.take_queued(task) {
                return Some(task);
            }
        }
        None
    }

    /// Takes `task` out of the ready queue if it is in it (its entry stays, skipped later):
    /// whether it was.
    fn take_queued(&mut self, task: TaskId) -> bool {
        match self.table.get_mut(task) {
            Ok(t) if t.queued => {
                t.queued = false;
                true
            }
            _ => false,
        }
    }

    /// Empties the ready queue.
    fn clear_ready(&mut self) {
        for task in self.ready.drain(..) {
            if let Ok(t) = self.table.get_mut(task) {
                t.queued = false;
            }
        }
    }

    /// Drops the queue's stale entries (one pass).
    fn compact_ready(&mut self) {
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

    fn count(&self, state: TaskState) -> u64 {
        self.table.iter().filter(|(_, t)| t.state == state).count() as u64
    }

    /// Sizes of the registries, for the teardown report and `held()`.
    pub(crate) fn report(&self) -> TaskReport {
        TaskReport {
            spawned: self.spawned,
            by_state: TaskState::ALL.map(|s| (s.name(), self.count(s))),
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
/// (see `gil::exc_key`). Dropping it restores what was there (tasks can nest on a thread
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

/// A pointer to a pinned runtime state, for its worker threads.
struct StatePtr(NonNull<RuntimeState>);

// SAFETY: `RuntimeState` is `Sync` (asserted in state.rs), and a worker only makes a shared
// reference from this pointer while the state is alive and unmoved: workers start only
// for a state owned by a `PinnedState` (the only way to have one), and its teardown joins
// them (`RuntimeState::stop_workers`) before the state is freed.
unsafe impl Send for StatePtr {}

/// A running task's view of its runtime.
pub struct TaskCx<'rt> {
    rt: &'rt RuntimeState,
    id: TaskId,
    exc_key: u64,
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

impl Gil<'_> {
    /// Whether spawns are refused (shutdown began).
    fn tasks_closing(&self) -> bool {
        self.runtime()
            .spawns_closed
            .load(molt_arenas::sync::Ordering::Acquire)
    }

    fn tasks(&mut self) -> &mut Tasks {
        &mut self.st.tasks
    }

    /// Raises `ValueError`/`ReferenceError` for an unknown or foreign task.
    fn task_ref(&mut self, task: TaskId) -> PyResult<&mut Task> {
        match self.st.tasks.table.get(task) {
            Ok(_) => Ok(self.st.tasks.table.get_mut(task).expect("just found")),
            Err(molt_arenas::handles::HandleError::Stale) => Err(self.raise_new(
                "ValueError",
                "unknown task (already joined, detached or cancelled at shutdown)",
            )),
            Err(e) => Err(self.raise_new("ReferenceError", e.to_string())),
        }
    }

    fn token_ok(&mut self, token: CancelToken) -> PyResult<()> {
        match self.st.tasks.tokens.get(token) {
            Ok(_) => Ok(()),
            Err(molt_arenas::handles::HandleError::Stale) => {
                Err(self.raise_new("ValueError", "unknown cancel token"))
            }
            Err(e) => Err(self.raise_new("ReferenceError", e.to_string())),
        }
    }

    /// The `CancelledError` class of this runtime (a `BaseException` subclass, as
    /// `asyncio.CancelledError` is in CPython 3.11), made on first use.
    pub fn cancelled_error(&mut self) -> PyResult<Value> {
        if let Some(c) = self.st.tasks.cancelled_error {
            return Ok(c);
        }
        let base = self
            .builtin_class("BaseException")
            .expect("BaseException is a builtin class");
        let cls = self.class_new("CancelledError", &[base], &[])?;
        self.st.tasks.cancelled_error = Some(cls);
        Ok(cls)
    }

    /// Raises `CancelledError(message)`.
    fn raise_cancelled(&mut self, message: Option<&str>) -> crate::Raised {
        let cls = match self.cancelled_error() {
            Ok(c) => c,
            Err(r) => return r,
        };
        let idx = self.st.types.index_of(cls).expect("own class");
        let exc = self.new_exception_with(idx, message);
        self.set_current(exc);
        crate::gil::raised()
    }

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
                "RuntimeError",
                "cannot spawn a task: the runtime is shutting down",
            ));
        }
        let (inherited, message) = match parent {
            Some(p) => {
                self.token_ok(p)?;
                let t = self.st.tasks.tokens.get(p).expect("checked");
                (t.cancelled, t.message.clone())
            }
            None => (false, None),
        };
        if self.st.tasks.mode == Mode::Unstarted {
            self.start_workers();
        }
        let tasks = self.tasks();
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
    fn start_workers(&mut self) {
        let wanted = if cfg!(all(target_family = "wasm", not(target_feature = "atomics"))) {
            0
        } else {
            match self.st.tasks.workers_wanted {
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
        let tasks = self.tasks();
        tasks.workers_started += handles.len() as u64;
        tasks.mode = if handles.is_empty() {
            Mode::Inline
        } else {
            Mode::Threads
        };
        tasks.workers = handles;
    }

    /// Starts the sleep worker if it is not running.
    fn ensure_sleeper(&mut self) {
        if self.st.tasks.sleeper.is_some() || self.st.tasks.mode != Mode::Threads {
            return;
        }
        let rt = self.runtime();
        match start_thread(rt, format!("m{}s", rt.id().get()), sleeper_loop) {
            Ok(h) => self.st.tasks.sleeper = Some(h),
            Err(_) => {
                // Without a sleep worker, timers fire from the scheduler workers' waits: put
                // every timer's task in the ready queue now and let `due` hold it back.
                self.fire_all_timers_now();
            }
        }
    }

    fn fire_all_timers_now(&mut self) {
        let timers: Vec<Timer> = self.st.tasks.timers.drain().collect();
        for t in timers {
            if t.wake {
                if let Ok(task) = self.st.tasks.table.get_mut(t.task) {
                    task.woken = true;
                }
            } else {
                self.st.tasks.enqueue(t.task);
            }
        }
        self.runtime().done_cv.notify_all();
        self.runtime().work_cv.notify_all();
    }

    /// Whether `task` names a task record of this runtime (without raising).
    pub fn task_check(&self, task: TaskId) -> Result<(), molt_arenas::handles::HandleError> {
        self.st.tasks.table.get(task).map(|_| ())
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
            .st
            .tasks
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

    /// Cancels the task: a pending task never runs; a running one sees it at its next
    /// [`TaskCx::check_cancelled`] or sleep. Returns false if the task had already finished.
    pub fn cancel(&mut self, task: TaskId, message: Option<&str>) -> PyResult<bool> {
        let t = self.task_ref(task)?;
        if t.state.is_final() {
            return Ok(false);
        }
        let token = t.token;
        self.cancel_token(token, message)?;
        Ok(true)
    }

    /// A new cancel token, a child of `parent` (created cancelled if `parent` is).
    pub fn cancel_token_new(&mut self, parent: Option<CancelToken>) -> PyResult<CancelToken> {
        let (cancelled, message) = match parent {
            Some(p) => {
                self.token_ok(p)?;
                let t = self.st.tasks.tokens.get(p).expect("checked");
                (t.cancelled, t.message.clone())
            }
            None => (false, None),
        };
        let tokens = &mut self.st.tasks.tokens;
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
        Ok(self.st.tasks.tokens.get(token).expect("checked").cancelled)
    }

    /// Cancels the token, its descendants and their tasks. Cancelling twice keeps the first
    /// message.
    pub fn cancel_token(&mut self, token: CancelToken, message: Option<&str>) -> PyResult<()> {
        self.token_ok(token)?;
        let mut stack = vec![token];
        let mut woke = false;
        while let Some(t) = stack.pop() {
            let Ok(tok) = self.st.tasks.tokens.get_mut(t) else {
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
    fn cancel_effect(&mut self, task: TaskId) -> bool {
        let Ok(t) = self.st.tasks.table.get_mut(task) else {
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
                    self.st.tasks.timers.retain(|tm| tm.task != task);
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
            .st
            .tasks
            .tokens
            .get(token)
            .expect("checked")
            .task
            .is_some()
        {
            return Err(self.raise_new("ValueError", "a task's own token goes away with its task"));
        }
        self.remove_token(token);
        Ok(())
    }

    fn remove_token(&mut self, token: CancelToken) {
        let tokens = &mut self.st.tasks.tokens;
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
    fn remove_task(&mut self, task: TaskId) {
        let Ok(t) = self.st.tasks.table.remove(task) else {
            return;
        };
        for v in [t.outcome, t.exc.current, t.exc.last].into_iter().flatten() {
            self.release(v);
        }
        if let Some(k) = self.st.exc.remove(&t.exc_key) {
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

    /// Waits for the task (the runtime lock is released meanwhile) and returns its result
    /// (a new reference), or re-raises its exception as this thread's (or task's) current
    /// exception: `CancelledError` if it was cancelled. The record goes away: a second join
    /// raises `ValueError`.
    pub fn join(&mut self, task: TaskId) -> PyResult<Value> {
        let detached = self.task_ref(task)?.detached;
        if detached {
            return Err(self.raise_new("ValueError", "the task was detached"));
        }
        let me = current_task(self.runtime().id().get()).map(|(_, id)| id);
        if me == Some(task) {
            // As CPython does for a task awaiting itself: it could never finish.
            return Err(self.raise_new("RuntimeError", "a task cannot join itself"));
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
                        self.st.tasks.take_queued(task);
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
        let t = self.st.tasks.table.get_mut(task).expect("found above");
        let state = t.state;
        let outcome = t.outcome.take();
        let token = t.token;
        let message = self
            .st
            .tasks
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
            (_, None) => Err(self.raise_new("RuntimeError", "task failed")),
        }
    }

    /// Runs the tasks that are ready and due on this thread (what a host without worker
    /// threads calls to make progress); returns how many ran.
    pub fn run_pending(&mut self) -> usize {
        let now = Instant::now();
        let mut ran = 0;
        let ready: Vec<TaskId> = self.st.tasks.ready.iter().copied().collect();
        for task in ready {
            let due_ok =
                self.st.tasks.table.get(task).is_ok_and(|t| {
                    t.state == TaskState::Pending && t.due.is_none_or(|at| at <= now)
                });
            if due_ok && self.st.tasks.take_queued(task) {
                self.run_task(task);
                ran += 1;
            }
        }
        self.st.tasks.compact_ready();
        ran
    }

    /// Runs a pending task on this thread: marks it running, releases the lock for its body,
    /// and records the outcome.
    fn run_task(&mut self, task: TaskId) {
        let Ok(t) = self.st.tasks.table.get_mut(task) else {
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
        self.st.tasks.running += 1;
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

    fn finish_task(
        &mut self,
        task: TaskId,
        out: Result<PyResult<Value>, Box<dyn std::any::Any + Send>>,
    ) {
        self.st.tasks.running -= 1;
        let exc_key = self.st.tasks.table.get(task).map_or(0, |t| t.exc_key);
        let mut exc = self.st.exc.remove(&exc_key).unwrap_or_default();
        let (state, outcome) = match out {
            Ok(Ok(v)) => (TaskState::Done, Some(v)),
            Ok(Err(_)) => match exc.current.take() {
                Some(e) => {
                    let cancelled = match self.st.tasks.cancelled_error {
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
                        self.base_exception_class("RuntimeError"),
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
                let e = self.new_exception(self.base_exception_class("RuntimeError"), &msg);
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
        let Ok(t) = self.st.tasks.table.get_mut(task) else {
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

    fn base_exception_class(&self, name: &str) -> u32 {
        self.builtin_index(name)
            .expect("builtin exception classes exist")
    }

    /// Shutdown's cancellations: every pending task (queued or on a timer) and every
    /// sleeping one, with [`SHUTDOWN_CANCEL_MESSAGE`].
    fn cancel_waiting(&mut self) {
        let to_cancel: Vec<TaskId> = self
            .st
            .tasks
            .table
            .iter()
            .filter(|(_, t)| t.state == TaskState::Pending || t.sleeping)
            .map(|(id, _)| id)
            .collect();
        for task in to_cancel {
            let _ = self.cancel(task, Some(SHUTDOWN_CANCEL_MESSAGE));
        }
        self.st.tasks.clear_ready();
        self.st.tasks.timers.retain(|t| t.wake);
    }

    /// `TaskCx::check_cancelled` with the lock held.
    pub(crate) fn task_check_cancelled(&mut self, task: TaskId) -> PyResult<()> {
        let token = self.task_ref(task)?.token;
        let (cancelled, message) = match self.st.tasks.tokens.get(token) {
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
        let threads = self.st.tasks.mode == Mode::Threads;
        if threads {
            let tasks = self.tasks();
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
            let cancelled = self.st.tasks.tokens.get(token).is_ok_and(|t| t.cancelled);
            let t = self.task_ref(task)?;
            if cancelled || t.woken {
                break;
            }
            let now = Instant::now();
            if now >= at && (!threads || self.st.tasks.sleeper.is_none()) {
                break;
            }
            if threads && self.st.tasks.sleeper.is_some() {
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

fn far_future() -> Instant {
    // ~30 years: further than any timeout anyone means.
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

/// Starts a worker thread named `name` that runs `body` on the state, which the caller
/// (`spawn_task`) has: every `RuntimeState` is owned by a `PinnedState`.
fn start_thread(
    rt: &RuntimeState,
    name: String,
    body: fn(&RuntimeState) -> Option<NonNull<RuntimeState>>,
) -> std::io::Result<thread::JoinHandle<()>> {
    let ptr = StatePtr(NonNull::from(rt));
    let builder = thread::Builder::new().name(name);
    // Room for the recursion limit's depth of nested calls (native functions re-entering
    // through the C ABI included); only what is touched is committed.
    #[cfg(not(molt_loom))]
    let builder = builder.stack_size(WORKER_STACK_BYTES);
    builder.spawn(move || {
        let ptr = ptr;
        // SAFETY: see `StatePtr`: the state is pinned and outlives this thread
        // (`stop_workers` joins it before the state is moved or freed).
        let rt = unsafe { ptr.0.as_ref() };
        if let Some(owned) = body(rt) {
            orphan_teardown(owned);
        }
    })
}

/// Joins a worker, unless it is the calling thread (an orphaned runtime's teardown runs on
/// one of its workers, which detaches itself and exits right after).
fn join_unless_self(h: thread::JoinHandle<()>) -> Option<()> {
    // Only an orphan teardown (on a worker, a thread std started) asks which thread it is:
    // on a C host's own thread `thread::current()` would allocate a handle never freed.
    #[cfg(not(molt_loom))]
    if ORPHAN_TEARDOWN.with(|o| o.get()) && h.thread().id() == thread::current().id() {
        drop(h);
        return Some(());
    }
    h.join().ok()
}

/// The stack size of worker threads.
#[cfg(not(molt_loom))]
pub(crate) const WORKER_STACK_BYTES: usize = 64 << 20;

/// A scheduler worker: runs ready tasks until told to stop.
fn worker_loop(rt: &RuntimeState) -> Option<NonNull<RuntimeState>> {
    {
        let mut g = rt.gil();
        g.worker = true;
        loop {
            if let Some(task) = g.st.tasks.dequeue() {
                let due = g.st.tasks.table.get(task).ok().and_then(|t| t.due);
                if let Some(at) = due {
                    // Without a sleep worker, a delayed task may reach the ready queue early.
                    let now = Instant::now();
                    if at > now && g.st.tasks.sleeper.is_none() && !g.st.tasks.stop {
                        g.st.tasks.enqueue(task);
                        g.wait(&rt.work_cv, Some(at - now));
                        continue;
                    }
                }
                g.run_task(task);
                let orphan = rt
                    .orphan
                    .swap(std::ptr::null_mut(), molt_arenas::sync::Ordering::AcqRel);
                if let Some(p) = NonNull::new(orphan) {
                    return Some(p);
                }
                continue;
            }
            if g.st.tasks.stop {
                break;
            }
            g.wait(&rt.work_cv, None);
        }
    }
    // The thread's pool magazines go back to the depot now, not at some later TLS teardown.
    molt_arenas::pool::release_thread_caches();
    None
}

#[cfg(not(molt_loom))]
std::thread_local! {
    /// Set on the worker thread that runs an orphaned runtime's teardown.
    static ORPHAN_TEARDOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The teardown a task handed to its worker by dropping the last owner of the runtime
/// (see `Runtime`'s `Drop`): waits for the other running tasks, joins the other workers
/// (this one is detached: it cannot join itself, and it exits right after), frees the state.
fn orphan_teardown(p: NonNull<RuntimeState>) {
    #[cfg(not(molt_loom))]
    ORPHAN_TEARDOWN.with(|o| o.set(true));
    // SAFETY: `p` is the owning pointer from `PinnedState::into_raw`, handed over by the
    // dropped `Runtime` (`hand_teardown_to_worker`) and taken out of `orphan` by this worker
    // alone (a swap), so it is taken back exactly once.
    let owner = unsafe { PinnedState::from_raw(p) };
    let bound = owner.shutdown_timeout().max(Duration::from_millis(10));
    while owner.quiesce(Deadline::after(bound)).is_err() {}
    let report = owner.teardown();
    if std::env::var_os("MOLT_PRINT_TEARDOWN").is_some_and(|v| v == "1") {
        eprintln!("{report}");
    }
    molt_arenas::pool::release_thread_caches();
}

/// The sleep worker: fires timers (delayed starts and sleep wake-ups) when they are due.
fn sleeper_loop(rt: &RuntimeState) -> Option<NonNull<RuntimeState>> {
    {
        let mut g = rt.gil();
        g.worker = true;
        loop {
            if g.st.tasks.stop {
                break;
            }
            let now = Instant::now();
            let mut fired = false;
            while g.st.tasks.timers.peek().is_some_and(|t| t.at <= now) {
                let t = g.st.tasks.timers.pop().expect("peeked");
                fired = true;
                if t.wake {
                    if let Ok(task) = g.st.tasks.table.get_mut(t.task) {
                        task.woken = true;
                    }
                } else if g
                    .st
                    .tasks
                    .table
                    .get(t.task)
                    .is_ok_and(|task| task.state == TaskState::Pending)
                {
                    g.st.tasks.enqueue(t.task);
                    rt.work_cv.notify_one();
                }
            }
            if fired {
                // Sleepers check `woken`; joiners inside tasks may help with the new work.
                rt.done_cv.notify_all();
            }
            match g.st.tasks.timers.peek().map(|t| t.at) {
                Some(at) => g.wait(&rt.timer_cv, Some(at.saturating_duration_since(now))),
                None => g.wait(&rt.timer_cv, None),
            }
        }
    }
    molt_arenas::pool::release_thread_caches();
    None
}

impl RuntimeState {
    /// The first half of shutdown: takes the GIL (waiting at most until `deadline`),
    /// refuses new spawns, cancels pending and sleeping tasks, and waits (GIL released) until
    /// `deadline` for running tasks to finish. If the GIL cannot be had or tasks keep
    /// running, spawns are accepted again and the runtime is left fully usable. Called from
    /// a task of this runtime it refuses at once: the task would wait for itself.
    pub(crate) fn quiesce(&self, deadline: Deadline) -> Result<(), ShutdownError> {
        let started = Instant::now();
        if current_task(self.id().get()).is_some() {
            return Err(ShutdownError::Reentrant("a task of this runtime"));
        }
        let key = crate::thread_state::thread_key();
        let lock = self.gil_lock();
        if lock.owned_by(key) && lock.tokens() > 0 {
            return Err(ShutdownError::Reentrant("a runtime call on this thread"));
        }
        let Ok(Some(mut g)) = Gil::enter_until(self, key, deadline) else {
            return Err(ShutdownError::GilHeld {
                waited_ms: started.elapsed().as_millis() as u64,
            });
        };
        self.close_spawns(true);
        g.st.tasks.shutdown_report = Some(g.st.tasks.report());
        if g.st.tasks.table.is_empty() {
            return Ok(());
        }
        g.cancel_waiting();
        while g.st.tasks.running > 0 {
            let left = deadline.left().unwrap_or(Duration::from_secs(3600));
            if left.is_zero() || deadline.passed() {
                self.close_spawns(false);
                return Err(ShutdownError::TasksRunning {
                    running: g.st.tasks.running,
                    waited_ms: started.elapsed().as_millis() as u64,
                });
            }
            g.wait(&self.done_cv, Some(left));
        }
        Ok(())
    }

    /// Refuses spawns (shutdown began), or accepts them again after a shutdown that did not
    /// proceed. An atomic, not GIL-protected state, so a shutdown can reopen without waiting
    /// for the GIL (another thread may hold it for as long as it likes); a spawn reads it
    /// holding the GIL, after the closing shutdown took and released it.
    pub(crate) fn close_spawns(&self, closed: bool) {
        self.spawns_closed
            .store(closed, molt_arenas::sync::Ordering::Release);
    }

    /// Hands a runtime's teardown to the worker thread running the calling task (see
    /// `Runtime`'s `Drop`): the worker takes `owner` back from `orphan` once the task body
    /// has returned.
    pub(crate) fn hand_teardown_to_worker(owner: PinnedState) {
        let p = owner.into_raw();
        // SAFETY: `into_raw` keeps the state alive (its ownership now travels through
        // `orphan`); shared access only.
        let state = unsafe { p.as_ref() };
        state
            .orphan
            .store(p.as_ptr(), molt_arenas::sync::Ordering::Release);
    }

    /// The second half of shutdown: stops and joins the worker threads (waiting for any task
    /// still running), then clears every async registry, keeping their sizes from when
    /// shutdown started (or from now) for the teardown report. After this no thread holds a
    /// pointer to the state, so it may be moved or freed.
    pub(crate) fn stop_workers(&self) {
        let mut g = self.gil();
        if g.st.tasks.stop {
            return; // already stopped
        }
        self.close_spawns(true);
        let mut report = match g.st.tasks.shutdown_report.take() {
            Some(r) => r,
            None => g.st.tasks.report(),
        };
        g.cancel_waiting();
        g.st.tasks.stop = true;
        let workers = std::mem::take(&mut g.st.tasks.workers);
        let sleeper = g.st.tasks.sleeper.take();
        let (joined, sleeper_joined) = if workers.is_empty() && sleeper.is_none() {
            // No thread was ever started, and the callers made the runtime quiescent, so
            // nobody waits on the condvars: skip the wake-ups (each one a futex syscall)
            // and the unlock/relock, so a runtime that never spawned pays nothing here.
            (0, None)
        } else {
            self.work_cv.notify_all();
            self.timer_cv.notify_all();
            self.done_cv.notify_all();
            g.unlocked(|| {
                let joined = workers.into_iter().filter_map(join_unless_self).count();
                (joined as u64, sleeper.map(|h| h.join().is_ok()))
            })
        };
        report.workers_joined = joined;
        report.sleep_worker_joined = sleeper_joined.unwrap_or(false);
        // Clear the registries: results, exceptions and bodies go now, under the lock.
        let ids: Vec<TaskId> = g.st.tasks.table.iter().map(|(id, _)| id).collect();
        for id in ids {
            if let Ok(t) = g.st.tasks.table.get_mut(id) {
                let body = t.body.take();
                drop(body);
            }
            g.remove_task(id);
        }
        g.st.tasks.tokens.clear();
        g.st.tasks.clear_ready();
        g.st.tasks.timers.clear();
        g.st.tasks.running = 0;
        g.st.tasks.shutdown_report = Some(report);
    }
}

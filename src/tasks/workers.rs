//! The worker threads (scheduler workers and the sleep worker), an orphaned runtime's
//! teardown on its worker, and the two halves of shutdown (`quiesce`, `stop_workers`).

use super::{TaskId, TaskState, current_task};
use crate::error::ShutdownError;
use crate::gil::Gil;
use crate::pinned::PinnedState;
use crate::state::RuntimeState;
use crate::thread_state::Deadline;
use molt_arenas::sync::thread;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// A pointer to a pinned runtime state, for its worker threads.
pub(super) struct StatePtr(NonNull<RuntimeState>);

// SAFETY: `RuntimeState` is `Sync` (asserted in state.rs), and a worker only makes a shared
// reference from this pointer while the state is alive and unmoved: workers start only
// for a state owned by a `PinnedState` (the only way to have one), and its teardown joins
// them (`RuntimeState::stop_workers`) before the state is freed.
unsafe impl Send for StatePtr {}

pub(super) fn far_future() -> Instant {
    // ~30 years: further than any timeout anyone means.
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

/// Starts a worker thread named `name` that runs `body` on the state, which the caller
/// (`spawn_task`) has: every `RuntimeState` is owned by a `PinnedState`.
pub(super) fn start_thread(
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
pub(super) fn join_unless_self(h: thread::JoinHandle<()>) -> Option<()> {
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
pub(super) const WORKER_STACK_BYTES: usize = 64 << 20;

/// A scheduler worker: runs ready tasks until told to stop.
pub(super) fn worker_loop(rt: &RuntimeState) -> Option<NonNull<RuntimeState>> {
    {
        let mut g = rt.gil();
        g.worker = true;
        loop {
            if let Some(task) = g.tasks_mut().dequeue() {
                let due = g.tasks_mut().table.get(task).ok().and_then(|t| t.due);
                if let Some(at) = due {
                    // Without a sleep worker, a delayed task may reach the ready queue early.
                    let now = Instant::now();
                    if at > now && g.tasks_mut().sleeper.is_none() && !g.tasks_mut().stop {
                        g.tasks_mut().enqueue(task);
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
            if g.tasks_mut().stop {
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
pub(super) fn orphan_teardown(p: NonNull<RuntimeState>) {
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
pub(super) fn sleeper_loop(rt: &RuntimeState) -> Option<NonNull<RuntimeState>> {
    {
        let mut g = rt.gil();
        g.worker = true;
        loop {
            if g.tasks_mut().stop {
                break;
            }
            let now = Instant::now();
            let mut fired = false;
            while g.tasks_mut().timers.peek().is_some_and(|t| t.at <= now) {
                let t = g.tasks_mut().timers.pop().expect("peeked");
                fired = true;
                if t.wake {
                    if let Ok(task) = g.tasks_mut().table.get_mut(t.task) {
                        task.woken = true;
                    }
                } else if g
                    .tasks_mut()
                    .table
                    .get(t.task)
                    .is_ok_and(|task| task.state == TaskState::Pending)
                {
                    g.tasks_mut().enqueue(t.task);
                    rt.work_cv.notify_one();
                }
            }
            if fired {
                // Sleepers check `woken`; joiners inside tasks may help with the new work.
                rt.done_cv.notify_all();
            }
            match g.tasks_mut().timers.peek().map(|t| t.at) {
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
        g.tasks_mut().shutdown_report = Some(g.tasks_mut().report());
        if g.tasks_mut().table.is_empty() {
            return Ok(());
        }
        g.cancel_waiting();
        while g.tasks_mut().running > 0 {
            let left = deadline.left().unwrap_or(Duration::from_secs(3600));
            if left.is_zero() || deadline.passed() {
                self.close_spawns(false);
                return Err(ShutdownError::TasksRunning {
                    running: g.tasks_mut().running,
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
        if g.tasks_mut().stop {
            return; // already stopped
        }
        self.close_spawns(true);
        let mut report = match g.tasks_mut().shutdown_report.take() {
            Some(r) => r,
            None => g.tasks_mut().report(),
        };
        g.cancel_waiting();
        g.tasks_mut().stop = true;
        let workers = std::mem::take(&mut g.tasks_mut().workers);
        let sleeper = g.tasks_mut().sleeper.take();
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
        let ids: Vec<TaskId> = g.tasks_mut().table.iter().map(|(id, _)| id).collect();
        for id in ids {
            if let Ok(t) = g.tasks_mut().table.get_mut(id) {
                let body = t.body.take();
                drop(body);
            }
            g.remove_task(id);
        }
        g.tasks_mut().tokens.clear();
        g.tasks_mut().clear_ready();
        g.tasks_mut().timers.clear();
        g.tasks_mut().running = 0;
        g.tasks_mut().shutdown_report = Some(report);
    }
}

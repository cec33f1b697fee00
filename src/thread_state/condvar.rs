//! [`GilCondvar`]: waiting for an event with the GIL released (see the module docs of
//! `thread_state`, "Waiting").

use super::lock::Deadline;
use crate::state::RuntimeState;
use molt_arenas::sync::{AtomicU32, Condvar, Mutex, Ordering};
use std::time::Duration;

/// A condition variable of a runtime's GIL (see the module docs).
#[derive(Debug)]
pub(crate) struct GilCondvar {
    /// The event count, under its own mutex.
    seq: Mutex<u64>,
    cv: Condvar,
    /// Registered waiters: a notifier (holding the GIL) skips the mutex when there are none.
    waiters: AtomicU32,
}

impl GilCondvar {
    pub(crate) fn new() -> Self {
        Self {
            seq: Mutex::new(0),
            cv: Condvar::new(),
            waiters: AtomicU32::new(0),
        }
    }

    /// Wakes every waiter. The caller holds the GIL.
    pub(crate) fn notify_all(&self) {
        self.notify(true);
    }

    /// Wakes one waiter (others may wake too: callers re-check their conditions). The
    /// caller holds the GIL.
    pub(crate) fn notify_one(&self) {
        self.notify(false);
    }

    fn notify(&self, all: bool) {
        // Relaxed is enough: a waiter registers while holding the GIL, and we hold it now.
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        *seq += 1;
        if all {
            self.cv.notify_all();
        } else {
            self.cv.notify_one();
        }
    }

    /// Releases the GIL `lock` completely (the caller holds it, as thread `key`), waits for
    /// a notification (or `timeout`), then takes the GIL back at the depth it had.
    /// `counted`: the waiter is not one of the runtime's workers (see
    /// [`GilLock::sleepers`]).
    pub(crate) fn wait(
        &self,
        state: &RuntimeState,
        key: u64,
        timeout: Option<Duration>,
        counted: bool,
    ) {
        let lock = state.gil_lock();
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        let seen = *seq;
        self.waiters.fetch_add(1, Ordering::Relaxed);
        if counted {
            lock.sleeper_enter();
        }
        // Lock order: GIL, then `seq`. We hold `seq` while releasing the GIL and take the
        // GIL again only after dropping `seq`, so a notifier (GIL, then `seq`) never waits
        // for us while we wait for it.
        let saved = lock.save(state);
        match timeout {
            None => {
                while *seq == seen {
                    seq = self.cv.wait(seq).unwrap_or_else(|e| e.into_inner());
                }
            }
            Some(t) => {
                let deadline = Deadline::after(t);
                while *seq == seen {
                    let Some(left) = deadline.left() else { break };
                    if left.is_zero() {
                        break;
                    }
                    let (s, r) = self
                        .cv
                        .wait_timeout(seq, left)
                        .unwrap_or_else(|e| e.into_inner());
                    seq = s;
                    // Under loom a timed wait is a plain wait: one wake-up ends it.
                    if r.timed_out() || cfg!(molt_loom) {
                        break;
                    }
                }
            }
        }
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        drop(seq);
        lock.restore(key, saved, state);
        if counted {
            lock.sleeper_leave();
        }
    }
}

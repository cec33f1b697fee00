//! loom models of the GIL's C ABI path (`RuntimeSlot::gil_*`, `with_gil`) racing shutdown,
//! other threads and thread exit, and the Rust-token re-entry rules.
//!
//! Each sabotage was applied alone to src/, the named model run (CI flags), src/ reverted:
//!
//! * `acquire_racing_shutdown_never_sees_a_freed_runtime`: `RuntimeSlot::shutdown` not
//!   taking the GIL (its `Gil::enter_bounded` replaced by a token made without the lock)
//!   fails: loom "Causality violation: Concurrent read and write accesses" on the owner
//!   line / locked cells between the holder's `with_gil` and the shutdown. Removing the
//!   `closing` checks (in `lock_slow`, or in `lock_raw`'s fast path) is NOT caught: the
//!   entrant count alone keeps the runtime alive here, and `closing` only makes a waiting
//!   acquire fail at once; a model of that liveness needs a wait that times out, which
//!   loom's `Condvar::wait_timeout` (an untimed wait) cannot express. Since the GIL lives
//!   in the slot, a call takes it and then re-checks `Ready`: removing that re-check alone
//!   is not caught either (the `closing` check makes a late acquirer back out), removing it
//!   together with the `closing` checks is (the model panics: the acquirer uses the runtime
//!   a shutdown is freeing).
//! * `nested_holds_count_and_exclude_another_thread`: `GilLock::lock_raw`'s CAS with
//!   `Relaxed` success ordering fails: "Causality violation: Concurrent write accesses to
//!   `UnsafeCell`" (the owner line's depth cell, written by both threads' holders).
//! * `save_restore_racing_shutdown`: `gil_restore` without its generation check fails:
//!   the sequential stale-token prelude gets `Ok(())` instead of `Err(NotInitialized)`
//!   (the stale token restored into the fresh runtime).
//! * `a_thread_exiting_with_the_gil_releases_it`: `ThreadState`'s `Drop` not calling
//!   `release_all` fails: loom "deadlock; threads = [(Id(0), Blocked), (Id(1),
//!   Terminated)]" (the shutdown waits on a GIL no thread will release).
//! * `the_held_check_follows_the_owner`: the lock keeping its mirror of the C hold record
//!   at the last release (`GilLock::disown` not clearing `c_holder`) together with
//!   `gil_release` clearing the record after that release (as it did before the mirror)
//!   fails: `assert!(!slot.gil_is_held())` right after a thread's last release (its
//!   identity is still mirrored: the late clear sees the lock owned by no one and leaves
//!   the line alone, as it must, since the line belongs to the next owner).
//! * `re_entry_from_a_token_is_refused_and_the_held_path_nests`: `Gil::held` without the
//!   `active` check fails: the inner `with_gil` returns `Ok(())` instead of
//!   `Err(TokenInUse)`.
//!
//! Note on re-entry: `with_gil` inside a `with_gil` body is refused with `TokenInUse` by
//! design (a second usable token could free what the outer one's borrows point into); the
//! held path nests when the thread holds the GIL without a live token (`gil_acquire`).
//!
//! `save_restore_racing_shutdown_and_reinit` found a real bug (a restore that checked the
//! token's generation before entering the slot could restore into the next runtime); it
//! passes since the check moved inside the entry, and fails if it moves back.
#![cfg(molt_loom)]

mod common;
use common::{config, model};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;
use molt_state::lifecycle::Lifecycle;
use molt_state::{GilError, GilStateError, PinnedState, RuntimeSlot, ShutdownError};
use std::time::Duration;

/// A slot with a published runtime.
fn ready_slot() -> Arc<RuntimeSlot> {
    let slot = Arc::new(RuntimeSlot::new());
    slot.init(|| PinnedState::new(&config())).unwrap();
    slot
}

/// Uses the runtime through the held path (or a fresh entry): a str made and freed.
fn use_runtime(slot: &RuntimeSlot) -> Result<(), GilStateError> {
    slot.with_gil(|g| {
        let s = g.str("x").expect("str");
        g.decref(s).expect("decref");
    })
}

/// A shutdown that must succeed and leave nothing live.
fn shutdown_clean(slot: &RuntimeSlot) {
    if let Some(report) = slot.shutdown(Duration::from_secs(1)).unwrap() {
        assert!(report.leaks.is_empty(), "{}", report.leaks);
    }
    assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
}

/// A shutdown result: `Ok` with an empty leak report, or one of the "busy" errors with the
/// runtime still published and usable. True if it shut down.
fn check_shutdown(r: Result<Option<molt_state::TeardownReport>, ShutdownError>) -> bool {
    match r {
        Ok(report) => {
            let report = report.expect("a runtime was published");
            assert!(report.leaks.is_empty(), "{}", report.leaks);
            true
        }
        Err(ShutdownError::Busy { .. } | ShutdownError::GilHeld { .. }) => false,
        Err(e) => panic!("unexpected shutdown error: {e}"),
    }
}

#[test]
fn acquire_racing_shutdown_never_sees_a_freed_runtime() {
    model("gil::acquire_vs_shutdown", || {
        let slot = ready_slot();
        let holder = {
            let slot = slot.clone();
            thread::spawn(move || match slot.gil_acquire() {
                Ok(()) => {
                    // While we hold the GIL the runtime cannot be freed: every use works.
                    assert!(slot.gil_is_held());
                    assert_eq!(use_runtime(&slot), Ok(()));
                    assert!(slot.gil_is_held());
                    assert_eq!(slot.gil_release(), Ok(()));
                    assert!(!slot.gil_is_held());
                    true
                }
                Err(e) => {
                    // Refused at once (never blocks) once shutdown has begun.
                    assert_eq!(e, GilStateError::NotInitialized);
                    assert!(!slot.gil_is_held());
                    false
                }
            })
        };
        let down = check_shutdown(slot.shutdown(Duration::from_millis(50)));
        if !down {
            // Busy or GilHeld: the runtime is left fully usable.
            assert_eq!(slot.lifecycle(), Lifecycle::Ready);
        }
        let acquired = holder.join().unwrap();
        if down && !acquired {
            assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
        }
        if !down {
            // Usable after a refused shutdown, from the main thread too.
            assert_eq!(use_runtime(&slot), Ok(()));
        }
        shutdown_clean(&slot);
        assert_eq!(slot.generation(), 1);
    });
}

#[test]
fn nested_holds_count_and_exclude_another_thread() {
    model("gil::nested_vs_with_gil", || {
        let slot = ready_slot();
        let inside = Arc::new(AtomicUsize::new(0));
        let body = |inside: &AtomicUsize, g: &mut molt_state::Gil<'_>| {
            let n = inside.fetch_add(1, Ordering::SeqCst);
            assert_eq!(n, 0, "two threads inside the GIL at once");
            let s = g.str("x").expect("str");
            g.decref(s).expect("decref");
            inside.fetch_sub(1, Ordering::SeqCst);
        };
        let other = {
            let (slot, inside) = (slot.clone(), inside.clone());
            thread::spawn(move || slot.with_gil(|g| body(&inside, g)))
        };
        assert!(!slot.gil_is_held());
        slot.gil_acquire().unwrap();
        assert!(slot.gil_is_held());
        slot.gil_acquire().unwrap();
        assert!(slot.gil_is_held());
        // The held path, inside the nested hold.
        assert_eq!(slot.with_gil(|g| body(&inside, g)), Ok(()));
        slot.gil_release().unwrap();
        assert!(slot.gil_is_held(), "one hold is left");
        slot.gil_release().unwrap();
        assert!(!slot.gil_is_held());
        assert!(matches!(slot.gil_release(), Err(GilStateError::Invalid(_))));
        assert_eq!(other.join().unwrap(), Ok(()), "the other call completes");
        assert_eq!(inside.load(Ordering::SeqCst), 0);
        shutdown_clean(&slot);
    });
}

/// Thread A acquires, saves and restores while the main thread shuts down (and, with
/// `reinit`, publishes a fresh runtime in the same slot at once).
fn save_restore_vs_shutdown(name: &str, reinit: bool) {
    model(name, move || {
        let slot = ready_slot();
        // First, sequentially: a token saved before a shutdown and a re-init does not
        // restore into the fresh runtime (the generation check).
        slot.gil_acquire().unwrap();
        let stale = slot.gil_save();
        assert_ne!(stale, 0);
        shutdown_clean(&slot);
        slot.init(|| PinnedState::new(&config())).unwrap();
        assert_eq!(slot.gil_restore(stale), Err(GilStateError::NotInitialized));
        assert!(!slot.gil_is_held());
        let saver = {
            let slot = slot.clone();
            thread::spawn(move || {
                if slot.gil_acquire().is_err() {
                    return;
                }
                let generation = slot.generation();
                let token = slot.gil_save();
                assert_ne!(token, 0);
                assert!(!slot.gil_is_held());
                match slot.gil_restore(token) {
                    Ok(()) => {
                        // The GIL of the runtime we saved from, back at its depth.
                        assert_eq!(
                            slot.generation(),
                            generation,
                            "restored into another runtime"
                        );
                        assert!(slot.gil_is_held());
                        assert_eq!(use_runtime(&slot), Ok(()));
                        assert_eq!(slot.gil_release(), Ok(()));
                    }
                    // The runtime shut down (a later generation), or a shutdown is under way
                    // (external acquires refused at once; it may still end Busy).
                    Err(e) => assert_eq!(e, GilStateError::NotInitialized),
                }
                assert!(!slot.gil_is_held());
            })
        };
        if check_shutdown(slot.shutdown(Duration::from_millis(10))) && reinit {
            // A fresh runtime in the same slot: a stale token must not restore into it.
            slot.init(|| PinnedState::new(&config())).unwrap();
        }
        saver.join().unwrap();
        assert!(!slot.gil_is_held());
        shutdown_clean(&slot);
    });
}

#[test]
fn save_restore_racing_shutdown() {
    save_restore_vs_shutdown("gil::save_restore_vs_shutdown", false);
}

/// A stale token never restores into a later runtime of the slot. Failed (the sabotage of
/// this model, as it was first written) when `gil_restore` compared the token's generation
/// with the slot's before entering: a shutdown and a re-init in between let the stale token
/// restore into the fresh runtime, recorded under the old generation, so the thread held the
/// new runtime's GIL while `gil_is_held` said false and `gil_release` refused.
#[test]
fn save_restore_racing_shutdown_and_reinit() {
    save_restore_vs_shutdown("gil::save_restore_vs_shutdown_reinit", true);
}

#[test]
fn a_thread_exiting_with_the_gil_releases_it() {
    model("gil::exit_holding", || {
        let slot = ready_slot();
        let acquired = Arc::new(AtomicBool::new(false));
        let holder = {
            let (slot, acquired) = (slot.clone(), acquired.clone());
            thread::spawn(move || {
                slot.gil_acquire().unwrap();
                slot.gil_acquire().unwrap();
                // A call on the held path, without allocating: an allocation would give this
                // thread a pool magazine, a second thread-local whose exit guard does loom
                // operations, and loom drops a thread's locals in HashMap order (not
                // deterministic across executions).
                assert!(slot.with_gil(|g| g.live_objects()).is_ok());
                acquired.store(true, Ordering::SeqCst);
                // Ends holding two holds: its record's destructor releases them.
            })
        };
        holder.join().unwrap();
        assert!(acquired.load(Ordering::SeqCst));
        // loom drops a thread's locals after `join` returns, so the release may come later:
        // a refused shutdown (GilHeld) leaves the runtime usable and is retried.
        let mut tries = 0;
        loop {
            match slot.shutdown(Duration::from_millis(10)) {
                Ok(report) => {
                    assert!(report.unwrap().leaks.is_empty());
                    break;
                }
                Err(ShutdownError::GilHeld { .. } | ShutdownError::Busy { .. }) => {
                    tries += 1;
                    assert!(tries < 5, "the exited thread's holds were never released");
                    thread::yield_now();
                }
                Err(e) => panic!("unexpected shutdown error: {e}"),
            }
        }
        assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
    });
}

/// Two threads take turns holding the GIL through the C path: each sees itself as holding
/// (the lock's mirror of its record) exactly between its acquire and its last release, and
/// never while the other holds.
#[test]
fn the_held_check_follows_the_owner() {
    model("gil::held_check_follows_owner", || {
        let slot = ready_slot();
        let turn = |slot: &RuntimeSlot| {
            assert!(!slot.gil_is_held());
            slot.gil_acquire().unwrap();
            assert!(slot.gil_is_held());
            assert_eq!(use_runtime(slot), Ok(()), "the held path");
            slot.gil_release().unwrap();
            assert!(!slot.gil_is_held(), "held after the last release");
        };
        let other = {
            let slot = slot.clone();
            thread::spawn(move || turn(&slot))
        };
        turn(&slot);
        other.join().unwrap();
        shutdown_clean(&slot);
    });
}

#[test]
fn re_entry_from_a_token_is_refused_and_the_held_path_nests() {
    model("gil::re_entry", || {
        let slot = ready_slot();
        let inside = Arc::new(AtomicUsize::new(0));
        let other = {
            let (slot, inside) = (slot.clone(), inside.clone());
            thread::spawn(move || {
                slot.with_gil(|g| {
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    let s = g.str("y").expect("str");
                    g.decref(s).expect("decref");
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
        };
        let rt = slot.enter().unwrap();
        let r = slot.with_gil(|g| {
            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
            let s = g.str("x").expect("str");
            // A second token while this one is usable could free what its borrows point
            // into: with_gil on the held path and try_gil both refuse, at once.
            assert!(slot.gil_is_held());
            assert_eq!(slot.with_gil(|_| ()), Err(GilStateError::TokenInUse));
            assert!(matches!(rt.try_gil(), Err(GilError::InUse(_))));
            // The outer token still works.
            g.decref(s).expect("decref");
            inside.fetch_sub(1, Ordering::SeqCst);
        });
        assert_eq!(r, Ok(()));
        assert!(!slot.gil_is_held());
        // Held through gil_acquire (no token live), with_gil nests on the held path, and
        // inside it the same refusals hold.
        slot.gil_acquire().unwrap();
        let r = slot.with_gil(|g| {
            let s = g.str("z").expect("str");
            assert_eq!(slot.with_gil(|_| ()), Err(GilStateError::TokenInUse));
            assert!(matches!(rt.try_gil(), Err(GilError::InUse(_))));
            g.decref(s).expect("decref");
        });
        assert_eq!(r, Ok(()));
        // With no token live, try_gil nests on the hold.
        {
            let mut g = rt.try_gil().expect("no token live: nests");
            let s = g.str("w").expect("str");
            g.decref(s).expect("decref");
        }
        assert!(slot.gil_is_held());
        slot.gil_release().unwrap();
        assert!(!slot.gil_is_held());
        drop(rt);
        assert_eq!(other.join().unwrap(), Ok(()));
        shutdown_clean(&slot);
    });
}

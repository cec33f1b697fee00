//! loom models of the published-pointer lifecycle (`RuntimeSlot`): concurrent init, init
//! racing shutdown, entrants racing shutdown.
#![cfg(molt_loom)]

mod common;
use common::{config, model};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use molt_state::lifecycle::{InitOutcome, Lifecycle};
use molt_state::{InitError, PinnedState, RuntimeSlot};
use std::time::Duration;

fn build(counter: &AtomicUsize) -> Result<PinnedState, InitError> {
    counter.fetch_add(1, Ordering::SeqCst);
    PinnedState::new(&config())
}

/// Shuts down and checks the teardown (if there was a runtime) left nothing live.
fn shutdown_no_leaks(slot: &RuntimeSlot) {
    if let Some(report) = slot.shutdown(Duration::from_secs(1)).unwrap() {
        assert!(report.leaks.is_empty(), "{}", report.leaks);
    }
}

/// [`shutdown_no_leaks`], when no other thread can init concurrently.
fn shutdown_clean(slot: &RuntimeSlot) {
    shutdown_no_leaks(slot);
    assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
}

/// `callers` threads (the model's main thread included) call init at once.
fn concurrent_init(callers: usize) {
    model(
        &format!("lifecycle::concurrent_init({callers})"),
        move || {
            let slot = Arc::new(RuntimeSlot::new());
            let built = Arc::new(AtomicUsize::new(0));
            let threads: Vec<_> = (1..callers)
                .map(|_| {
                    let (slot, built) = (slot.clone(), built.clone());
                    thread::spawn(move || {
                        let outcome = slot.init(|| build(&built)).unwrap();
                        // Every caller returns only once the runtime is usable.
                        let id = slot
                            .enter()
                            .expect("init returned Ok, so the runtime is live")
                            .id();
                        (outcome, id)
                    })
                })
                .collect();
            let outcome = slot.init(|| build(&built)).unwrap();
            let id = slot.enter().unwrap().id();
            let mut initialized = usize::from(outcome == InitOutcome::Initialized);
            for t in threads {
                let (o, other) = t.join().unwrap();
                initialized += usize::from(o == InitOutcome::Initialized);
                assert_eq!(other, id, "all callers see the same runtime");
            }
            assert_eq!(built.load(Ordering::SeqCst), 1, "exactly one state built");
            assert_eq!(initialized, 1, "exactly one caller reports it initialized");
            shutdown_clean(&slot);
        },
    );
}

#[test]
fn concurrent_init_from_two_threads_builds_exactly_one_state() {
    concurrent_init(2);
}

#[test]
fn concurrent_init_from_three_threads_builds_exactly_one_state() {
    concurrent_init(3);
}

#[test]
fn init_racing_shutdown_never_tears_or_double_frees() {
    model("lifecycle::init_racing_shutdown", || {
        let slot = Arc::new(RuntimeSlot::new());
        let built = Arc::new(AtomicUsize::new(0));
        let initer = {
            let (slot, built) = (slot.clone(), built.clone());
            thread::spawn(move || {
                slot.init(|| build(&built)).unwrap();
            })
        };
        let stopper = {
            let slot = slot.clone();
            thread::spawn(move || {
                // Before init: a no-op; during or after: tears that runtime down fully. (The
                // init may also start after we return, so the state is not asserted here.)
                shutdown_no_leaks(&slot);
            })
        };
        initer.join().unwrap();
        stopper.join().unwrap();
        // Whatever the order, a final shutdown leaves the slot empty, and the
        // generation counts exactly the runtimes torn down.
        let was_live = slot.is_initialized();
        let generation = slot.generation();
        shutdown_clean(&slot);
        assert_eq!(slot.generation(), generation + u64::from(was_live));
        assert_eq!(built.load(Ordering::SeqCst), 1);
        assert_eq!(slot.generation(), 1);
    });
}

#[test]
fn an_entrant_and_a_shutdown_never_both_proceed() {
    model("lifecycle::entrant_vs_shutdown", || {
        let slot = Arc::new(RuntimeSlot::new());
        let built = AtomicUsize::new(0);
        slot.init(|| build(&built)).unwrap();
        let entrant = {
            let slot = slot.clone();
            thread::spawn(move || {
                // Either the runtime is live for the whole time we hold the guard, or we
                // are told it is gone: never a dangling state.
                if let Ok(rt) = slot.enter() {
                    let locked = rt.lock();
                    assert!(locked.interned_count() > 0);
                }
            })
        };
        // Shutdown either finds no entrant, or waits; under loom its patience is a couple of
        // yields, so it may give up with Busy and leave the runtime fully usable.
        match slot.shutdown(Duration::from_secs(1)) {
            Ok(report) => assert!(report.unwrap().leaks.is_empty()),
            Err(_busy) => {
                assert_eq!(slot.lifecycle(), Lifecycle::Ready);
                assert!(slot.enter().is_ok());
            }
        }
        entrant.join().unwrap();
        shutdown_clean(&slot);
    });
}

#[test]
fn dropping_a_slot_with_a_live_runtime_frees_it() {
    model("lifecycle::drop_live_slot", || {
        let slot = RuntimeSlot::new();
        let built = AtomicUsize::new(0);
        slot.init(|| build(&built)).unwrap();
        drop(slot);
        // loom's leak checks on its `Arc`s and the registry's own Arc would fail the model
        // if the state had been leaked.
    });
}

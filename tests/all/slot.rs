//! The published-pointer state machine (what the C ABI's default runtime uses), tested on
//! private `RuntimeSlot`s so these tests do not touch the process-default runtime.

use crate::{scaled, test_config};
use molt_state::error::ShutdownError;
use molt_state::lifecycle::{InitOutcome, Lifecycle};
use molt_state::{InitStep, PinnedState, RuntimeSlot};
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn build() -> Result<PinnedState, molt_state::InitError> {
    PinnedState::new(&test_config())
}

#[test]
fn init_and_shutdown_are_idempotent() {
    let slot = RuntimeSlot::new();
    assert_eq!(slot.shutdown(Duration::ZERO).unwrap().map(|_| ()), None);
    assert!(slot.enter().is_err());
    assert_eq!(slot.init(build).unwrap(), InitOutcome::Initialized);
    assert_eq!(slot.init(build).unwrap(), InitOutcome::AlreadyInitialized);
    let id = slot.enter().unwrap().id();
    let report = slot.shutdown(Duration::ZERO).unwrap().unwrap();
    assert_eq!(report.runtime, id);
    assert!(report.leaks.is_empty());
    assert!(slot.shutdown(Duration::ZERO).unwrap().is_none());
    assert_eq!(slot.generation(), 1);
    // Init after shutdown gives a fresh runtime.
    slot.init(build).unwrap();
    assert_ne!(slot.enter().unwrap().id(), id);
    slot.shutdown(Duration::ZERO).unwrap();
    assert_eq!(slot.generation(), 2);
    assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
}

#[test]
fn failed_init_publishes_nothing_and_a_later_init_succeeds() {
    let slot = RuntimeSlot::new();
    for step in InitStep::ALL {
        let config = molt_state::Config {
            fail_at: Some(step),
            ..test_config()
        };
        let err = slot.init(|| PinnedState::new(&config)).unwrap_err();
        assert_eq!(err.step, step);
        assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
        assert!(slot.enter().is_err());
    }
    assert_eq!(slot.init(build).unwrap(), InitOutcome::Initialized);
    slot.shutdown(Duration::ZERO).unwrap();
}

#[test]
fn a_panicking_init_resets_the_slot() {
    let slot = RuntimeSlot::new();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = slot.init(|| panic!("boom"));
    }));
    assert!(caught.is_err());
    assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
    slot.init(build).unwrap();
    slot.shutdown(Duration::ZERO).unwrap();
}

#[test]
fn concurrent_init_builds_exactly_once() {
    let slot = Arc::new(RuntimeSlot::new());
    let built = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let (slot, built, barrier) = (slot.clone(), built.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                slot.init(|| {
                    built.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    build()
                })
                .unwrap();
                slot.enter().unwrap().id()
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(built.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    slot.shutdown(Duration::ZERO).unwrap();
}

#[test]
fn shutdown_refuses_while_another_thread_is_inside_and_the_runtime_keeps_working() {
    let slot = Arc::new(RuntimeSlot::new());
    slot.init(build).unwrap();
    let inside = Arc::new(Barrier::new(2));
    let leave = Arc::new(Barrier::new(2));
    let worker = {
        let (slot, inside, leave) = (slot.clone(), inside.clone(), leave.clone());
        std::thread::spawn(move || {
            let rt = slot.enter().unwrap();
            inside.wait();
            leave.wait();
            rt.lock().intern("still usable");
        })
    };
    inside.wait();
    let err = slot.shutdown(Duration::from_millis(20)).unwrap_err();
    assert!(
        matches!(err, ShutdownError::Busy { threads: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("still running"));
    // Fully usable: not half torn down.
    assert_eq!(slot.lifecycle(), Lifecycle::Ready);
    let rt = slot.enter().unwrap();
    assert!(rt.exception_type("BaseException").is_some());
    rt.lock().intern("used while a shutdown was refused");
    drop(rt);
    leave.wait();
    worker.join().unwrap();
    let report = slot.shutdown(Duration::from_secs(5)).unwrap().unwrap();
    assert!(report.leaks.is_empty());
}

#[test]
fn shutdown_waits_for_a_thread_that_leaves_within_the_bound() {
    let slot = Arc::new(RuntimeSlot::new());
    slot.init(build).unwrap();
    let inside = Arc::new(Barrier::new(2));
    let worker = {
        let (slot, inside) = (slot.clone(), inside.clone());
        std::thread::spawn(move || {
            let rt = slot.enter().unwrap();
            inside.wait();
            std::thread::sleep(Duration::from_millis(if cfg!(miri) { 1 } else { 20 }));
            drop(rt);
        })
    };
    inside.wait();
    assert!(slot.shutdown(Duration::from_secs(30)).unwrap().is_some());
    worker.join().unwrap();
}

#[test]
fn init_racing_shutdown_never_tears() {
    let slot = Arc::new(RuntimeSlot::new());
    let rounds = scaled(200, 3);
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let slot = slot.clone();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    if t == 0 {
                        let _ = slot.shutdown(Duration::from_secs(5)).unwrap();
                    } else {
                        slot.init(build).unwrap();
                        if let Ok(rt) = slot.enter() {
                            let _ = rt.lock().interned_count();
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    slot.shutdown(Duration::from_secs(5)).unwrap();
    assert_eq!(slot.lifecycle(), Lifecycle::Uninit);
}

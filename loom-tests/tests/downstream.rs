//! A loom model written the way a crate that embeds molt-state writes one: only the public
//! API (`Config`, `Runtime`, the `Gil`, values) and loom itself, no molt-state internals.
//! See the README's "Testing your embedding with loom" for the setup it assumes:
//!
//! ```toml
//! [target.'cfg(molt_loom)'.dependencies]
//! loom = "0.7"
//! ```
//!
//! and `RUSTFLAGS="--cfg molt_loom"`, which switches molt-state's own atomics, locks and
//! thread-locals to loom's, so loom explores the runtime's real synchronization together with
//! the embedding's. A `Runtime` is `Send + Sync`, so threads share it through an `Arc`; each
//! loom iteration builds a fresh one (loom's statics and thread-locals are reset between
//! iterations, and a runtime must not outlive the iteration that made its locks).
#![cfg(molt_loom)]

mod common;

use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use molt_state::{Config, Runtime, Value};

/// A deterministic config with the allocation registry on (so the leak report means
/// something).
fn config() -> Config {
    Config {
        read_env: false,
        track_allocations: Some(true),
        ..Config::default()
    }
}

/// The runtime itself, once every other thread has dropped its `Arc` (spins with loom
/// yields, so loom runs the other threads meanwhile).
fn exclusive(mut rt: Arc<Runtime>) -> Runtime {
    loop {
        match Arc::try_unwrap(rt) {
            Ok(rt) => return rt,
            Err(shared) => {
                rt = shared;
                thread::yield_now();
            }
        }
    }
}

/// A gate a thread parks on until another opens it.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }
}

/// Two threads allocate through one runtime at the same time; each frees one object and
/// keeps one. One thread exits before the shutdown; the other is still alive (parked) while
/// the runtime shuts down, and is joined after. The teardown must reclaim exactly the two
/// kept objects, drain the parked thread's per-thread cache, and leave nothing allocated.
#[test]
fn two_threads_allocate_one_exits_one_parks_across_shutdown() {
    // How often teardown drained 1 or 2 thread caches, over all executions (std atomics:
    // they must survive loom's iterations).
    static DRAINED: [std::sync::atomic::AtomicUsize; 2] =
        [const { std::sync::atomic::AtomicUsize::new(0) }; 2];
    common::model("downstream::two_threads_one_parked_across_shutdown", || {
        let rt = Arc::new(Runtime::try_new(config()).unwrap());
        let gate = Arc::new(Gate::default());

        let exits = {
            let rt = rt.clone();
            thread::spawn(move || -> Value {
                let mut g = rt.gil();
                let kept = g.str("kept by the exiting thread").unwrap();
                let temp = g.str("freed").unwrap();
                g.decref(temp).unwrap();
                kept
            })
        };
        let parks = {
            let (rt, gate) = (rt.clone(), gate.clone());
            thread::spawn(move || -> Value {
                let kept = {
                    let mut g = rt.gil();
                    let temp = g.bytes(b"freed").unwrap();
                    let kept = g.list(&[temp]).unwrap();
                    g.decref(temp).unwrap(); // the list keeps it alive
                    kept
                };
                drop(rt); // done with the runtime, but the thread lives on
                gate.wait();
                kept
            })
        };

        let kept_by_exited = exits.join().unwrap();
        let rt = exclusive(rt); // the parked thread has let go of it
        let report = rt.shutdown().unwrap();
        gate.open();
        let kept_by_parked = parks.join().unwrap();

        assert!(report.registry_enabled);
        assert!(report.leaks.is_empty(), "{}", report.leaks);
        // Live at shutdown: one str, and one list with the bytes it holds.
        assert_eq!(report.pool.live_dropped, 3, "{:?}", report.pool);
        let reclaimed: u64 = report.reclaimed.iter().map(|r| r.items).sum();
        assert_eq!(reclaimed, 3, "{:?}", report.reclaimed);
        // The parked thread's cache is drained by teardown; this thread registered none
        // (teardown frees the runtime's preallocated MemoryError to the shared free list).
        // The exited thread's is drained too if its exit guard has not run yet: loom's
        // `join` returns before a thread's thread-locals are dropped (std's waits for them).
        assert!(
            (1..=2).contains(&report.pool.caches_drained),
            "{:?}",
            report.pool
        );
        DRAINED[report.pool.caches_drained as usize - 1]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Two distinct objects (values outlive their runtime as plain bits).
        assert_ne!(kept_by_exited, kept_by_parked);
    });
    let drained = DRAINED
        .each_ref()
        .map(|n| n.load(std::sync::atomic::Ordering::Relaxed));
    eprintln!("downstream: executions where teardown drained 1 / 2 thread caches: {drained:?}");
    // Both sides of the race between the exited thread's exit guard and the teardown.
    assert!(drained.iter().all(|&n| n > 0), "{drained:?}");
}

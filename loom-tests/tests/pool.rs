//! loom models of the object pool (`molt_arenas::pool`): alloc on one thread and free on
//! another through magazines and the depot, concurrent refill/flush at capacity, a thread
//! exiting while the pool is torn down, and teardown draining a parked thread's magazine.
//!
//! Every model uses a tiny pool (first chunk of 2 slots, magazines of 2) so the slow paths
//! (refill, flush, chunk allocation) run within a few operations, and values that count
//! their own drops, so a value dropped twice or never fails the model.
#![cfg(molt_loom)]

mod common;
use common::model;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use molt_arenas::pool::{Owned, Pool, PoolConfig, release_thread_caches};

fn small() -> PoolConfig {
    PoolConfig {
        first_chunk: 2,
        magazine: 2,
        retire_period: 1 << 16,
    }
}

/// A value that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Values allocated on one thread and freed on another, through both threads' magazines
/// and the depot: each arrives intact and is dropped exactly once.
#[test]
fn alloc_here_free_there() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let pool: Arc<Pool<Counted>> = Arc::new(Pool::with_config(small()));
        let handoff: Arc<Mutex<Vec<(usize, Owned)>>> = Arc::new(Mutex::new(Vec::new()));
        let consumer = {
            let (pool, handoff) = (Arc::clone(&pool), Arc::clone(&handoff));
            thread::spawn(move || {
                let mut freed = 0;
                while freed < 3 {
                    let batch = std::mem::take(&mut *handoff.lock().unwrap());
                    for (i, o) in batch {
                        let v = pool.free(o);
                        assert!(Arc::strong_count(&v.0) >= 2, "value {i} intact");
                        freed += 1;
                    }
                    thread::yield_now();
                }
            })
        };
        for i in 0..3 {
            let o = pool.alloc(Counted(Arc::clone(&drops))).unwrap();
            handoff.lock().unwrap().push((i, o));
        }
        consumer.join().unwrap();
        assert_eq!(drops.load(Ordering::Relaxed), 3);
        let report = Arc::try_unwrap(pool).unwrap().shutdown();
        assert_eq!(report.live_dropped, 0);
        assert_eq!(drops.load(Ordering::Relaxed), 3, "nothing dropped twice");
    });
}

/// Two threads allocating and freeing at once, through refills and flushes at magazine
/// capacity: no (slot, version) is live twice, and afterwards every slot is free again
/// (live + free = capacity).
#[test]
fn concurrent_refill_and_flush_hand_out_each_slot_once() {
    model(|| {
        let pool: Arc<Pool<u32>> = Arc::new(Pool::with_config(small()));
        let live: Arc<Mutex<Vec<(u32, u32)>>> = Arc::new(Mutex::new(Vec::new()));
        let worker = |t: u32| {
            let (pool, live) = (Arc::clone(&pool), Arc::clone(&live));
            move || {
                let mut mine = Vec::new();
                for i in 0..3 {
                    let o = pool.alloc(t * 10 + i).unwrap();
                    let r = o.weak();
                    {
                        let mut l = live.lock().unwrap();
                        assert!(!l.contains(&(r.id, r.version)), "slot handed out twice");
                        l.push((r.id, r.version));
                    }
                    mine.push(o);
                }
                for (i, o) in mine.into_iter().enumerate() {
                    let r = o.weak();
                    live.lock().unwrap().retain(|x| *x != (r.id, r.version));
                    assert_eq!(pool.free(o), t * 10 + i as u32);
                }
            }
        };
        let a = thread::spawn(worker(1));
        let b = thread::spawn(worker(2));
        // (The workers' exit guards run after `join` under loom; `free_slots` counts what
        // their magazines still hold.)
        a.join().unwrap();
        b.join().unwrap();
        assert!(live.lock().unwrap().is_empty());
        // (loom runs thread-local destructors after `join`, so the threads' magazines may
        // still be registered: count their ids too.)
        let mut pool = Arc::try_unwrap(pool).expect("workers joined");
        let (free, capacity) = pool.free_slots();
        assert_eq!(free, u64::from(capacity), "live (0) + free = capacity");
    });
}

/// A thread exits (its guard returning its magazine) while the main thread tears the pool
/// down: values are dropped exactly once, and the magazine is touched by one side at a time
/// (loom checks the accesses to it).
#[test]
fn thread_exit_races_teardown() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let pool: Arc<Pool<Counted>> = Arc::new(Pool::with_config(small()));
        let let_go = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (pool, drops, let_go) =
                (Arc::clone(&pool), Arc::clone(&drops), Arc::clone(&let_go));
            thread::spawn(move || {
                let kept = pool.alloc(Counted(Arc::clone(&drops))).unwrap();
                let freed = pool.alloc(Counted(Arc::clone(&drops))).unwrap();
                drop(pool.free(freed));
                let _leaked = kept; // left for teardown
                drop(pool); // the thread's magazine stays until its exit guard runs
                let_go.store(1, Ordering::Release);
                // The exit guard's work, run explicitly: loom drops a thread's locals only
                // after the model joins it, which would hide the race with teardown.
                release_thread_caches();
            })
        };
        // Tear down as soon as the worker let go of the pool, possibly while its exit guard
        // returns its magazine.
        while let_go.load(Ordering::Acquire) == 0 {
            thread::yield_now();
        }
        let pool = Arc::try_unwrap(pool).expect("the worker let go");
        let report = pool.shutdown();
        worker.join().unwrap();
        assert_eq!(report.live_dropped, 1);
        assert_eq!(
            drops.load(Ordering::Relaxed),
            2,
            "each value dropped exactly once"
        );
    });
}

/// Teardown drains the magazine of a thread that is still alive but parked outside the
/// pool; the thread then finds its magazine dead when it uses another pool.
#[test]
fn teardown_drains_a_parked_threads_magazine() {
    model(|| {
        let pool: Arc<Pool<u32>> = Arc::new(Pool::with_config(small()));
        let parked = Arc::new(AtomicUsize::new(0));
        let go = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (pool, parked, go) = (Arc::clone(&pool), Arc::clone(&parked), Arc::clone(&go));
            thread::spawn(move || {
                let o = pool.alloc(7).unwrap();
                assert_eq!(pool.free(o), 7);
                drop(pool);
                parked.store(1, Ordering::Release);
                while go.load(Ordering::Acquire) == 0 {
                    thread::yield_now();
                }
                let other: Pool<u32> = Pool::with_config(small());
                let o = other.alloc(8).unwrap();
                assert_eq!(other.free(o), 8);
                Pool::<u32>::local_cache_count()
            })
        };
        while parked.load(Ordering::Acquire) == 0 {
            thread::yield_now();
        }
        let pool = Arc::try_unwrap(pool).expect("the worker let go");
        let report = pool.shutdown();
        assert_eq!(report.caches_drained, 1, "the parked thread's magazine");
        go.store(1, Ordering::Release);
        assert_eq!(worker.join().unwrap(), 1, "the dead magazine was dropped");
    });
}

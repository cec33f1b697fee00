//! loom models of the object pool (`molt_arenas::pool`): cross-thread alloc/free through
//! magazines and the depot, concurrent refill/flush, thread-exit guards racing teardown,
//! teardown draining a live thread's magazine, drop accounting of pooled values, and weak
//! references published without synchronization.
//!
//! What each model guards (each was checked to fail when the guard is removed):
//! the depot lock and the exit guards' return of magazines (lost or duplicated slots in the
//! alloc/free models), the exit guard taking the magazine only under the depot lock
//! (`thread_exit_racing_shutdown`), teardown unregistering and marking magazines dead
//! (`shutdown_drains_a_parked_threads_magazine`), and the release/acquire pairs on the
//! chunk pointers and slot state words (`weak_ref_published_relaxed_...`).
//!
//! A failing model can abort the test binary (loom objects dropped while unwinding outside
//! the model), so run a failing model alone or with `--test-threads=1` to read its message.
//!
//! Every pool uses a tiny configuration (2-slot first chunk, 2-id magazines), so a handful
//! of operations reach the refill, flush and chunk-growth paths.
//!
//! One loom difference matters here: a loom `JoinHandle::join` returns once the thread's
//! closure has returned, *before* loom drops that thread's thread-locals (std's `join`
//! waits for them). So a model that needs the exit guards to have returned the magazines
//! waits for the depot to report no registered magazine ([`wait_for_exit_guards`]).
#![cfg(molt_loom)]

mod common;

use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;
use molt_arenas::pool::{Owned, Pool, PoolConfig, PoolRef, PoolReport};
use std::collections::HashSet;

fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    common::model(&format!("pool::{name}"), f);
}

/// 2 slots in the first chunk, 2-id magazines (refill takes 1, a full magazine flushes 1),
/// and a slot retires on its 4th free.
fn small() -> PoolConfig {
    PoolConfig {
        first_chunk: 2,
        magazine: 2,
        retire_period: 4,
        recycle: false,
    }
}

/// How often each outcome of a race occurred over a model's executions, so a model can
/// assert that loom explored every side of it (not just that nothing failed).
struct Outcomes<const N: usize>([std::sync::atomic::AtomicUsize; N]);

impl<const N: usize> Outcomes<N> {
    const fn new() -> Self {
        Self([const { std::sync::atomic::AtomicUsize::new(0) }; N])
    }

    fn hit(&self, outcome: usize) {
        self.0[outcome].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn assert_all_seen(&self, model: &str, names: [&str; N]) {
        let counts = self
            .0
            .each_ref()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        eprintln!(
            "pool::{model}: outcomes {:?}",
            names.iter().zip(counts).collect::<Vec<_>>()
        );
        assert!(
            counts.iter().all(|&c| c > 0),
            "an outcome was never explored"
        );
    }
}

/// A one-shot, blocking handoff of a value between loom threads (a loom mutex and condvar,
/// so the receiver synchronizes with the sender).
struct Handoff<T> {
    slot: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T> Handoff<T> {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            slot: Mutex::new(None),
            ready: Condvar::new(),
        })
    }

    fn put(&self, value: T) {
        let mut slot = self.slot.lock().unwrap();
        assert!(slot.is_none(), "one-shot handoff used twice");
        *slot = Some(value);
        self.ready.notify_one();
    }

    fn take(&self) -> T {
        let mut slot = self.slot.lock().unwrap();
        loop {
            if let Some(value) = slot.take() {
                return value;
            }
            slot = self.ready.wait(slot).unwrap();
        }
    }
}

/// Waits until every thread-exit guard has returned its magazine (the depot has no
/// registered magazine left). See the module docs for why `join` is not enough under loom.
///
/// Bounded, so a guard that never returns its magazine fails with a clear message instead
/// of exhausting loom's branch budget: while the exited threads still have work, loom runs
/// them when this thread yields, so the bound is never reached by a correct pool.
fn wait_for_exit_guards<T>(pool: &Pool<T>) {
    for _ in 0..1_000 {
        if pool.depot_stats().caches == 0 {
            return;
        }
        thread::yield_now();
    }
    panic!(
        "thread-exit guards left {} magazine(s) registered after their threads exited",
        pool.depot_stats().caches
    );
}

/// The pool itself, once every other `Arc` to it is gone (spins with loom yields).
fn exclusive<T>(mut pool: Arc<Pool<T>>) -> Pool<T> {
    loop {
        match Arc::try_unwrap(pool) {
            Ok(pool) => return pool,
            Err(shared) => {
                pool = shared;
                thread::yield_now();
            }
        }
    }
}

/// Asserts that no (slot id, version) pair was handed out twice.
fn assert_distinct(refs: &[PoolRef]) {
    let mut seen = HashSet::new();
    for r in refs {
        assert!(seen.insert(*r), "{r:?} handed out twice: {refs:?}");
    }
}

/// A pooled value with some heap data, to check it arrives intact.
fn payload(n: u64) -> (u64, String) {
    (n, format!("value #{n}"))
}

/// Per-value drop counters (std atomics: they order nothing, and loom runs every model
/// thread on one OS thread).
struct DropCounts(Vec<std::sync::atomic::AtomicUsize>);

impl DropCounts {
    fn new(n: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(
            (0..n)
                .map(|_| std::sync::atomic::AtomicUsize::new(0))
                .collect(),
        ))
    }

    fn assert_each_dropped_once(&self) {
        let counts: Vec<usize> = self
            .0
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        assert!(
            counts.iter().all(|&c| c == 1),
            "every value must be dropped exactly once; drops per value: {counts:?}"
        );
    }
}

/// A value with a `Drop` impl. Its drop is counted in `drops`, and it owns a loom `Arc`, so
/// loom itself also reports a value that is never dropped ("Arc leaked") or dropped twice
/// ("Arc is already released").
struct Tracked {
    tag: usize,
    drops: std::sync::Arc<DropCounts>,
    _token: Arc<()>,
}

impl Tracked {
    fn new(tag: usize, drops: &std::sync::Arc<DropCounts>) -> Self {
        Self {
            tag,
            drops: std::sync::Arc::clone(drops),
            _token: Arc::new(()),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.0[self.tag].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Model 1. A value allocated on one thread is freed on another: the producer's ids come
/// from the depot (refill), the consumer's frees go to its magazine and, when it fills,
/// half of it to the depot, from where the producer's next allocation may reuse the slot
/// (or the pool grows a chunk). loom checks every slot value access is ordered after the
/// previous one (the write by `alloc`, the read by `free`, the next `alloc`'s write).
#[test]
fn alloc_on_one_thread_free_on_another() {
    static OUTCOMES: Outcomes<2> = Outcomes::new();
    model("alloc_on_one_thread_free_on_another", || {
        let pool = Arc::new(Pool::with_config(small()));
        let handoff = Handoff::<(Owned, Owned)>::new();
        let producer = {
            let (pool, handoff) = (Arc::clone(&pool), Arc::clone(&handoff));
            thread::spawn(move || {
                let a = pool.alloc(payload(1)).unwrap();
                let b = pool.alloc(payload(2)).unwrap();
                let sent = [a.weak(), b.weak()];
                handoff.put((a, b));
                let c = pool.alloc(payload(3)).unwrap();
                assert_eq!(*pool.get(&c), payload(3));
                let reused = c.weak();
                assert_eq!(pool.free(c), payload(3));
                assert!(!pool.is_live(reused));
                (sent, reused)
            })
        };
        let consumer = {
            let (pool, handoff) = (Arc::clone(&pool), Arc::clone(&handoff));
            thread::spawn(move || {
                let (a, b) = handoff.take();
                assert!(pool.is_live(a.weak()) && pool.is_live(b.weak()));
                assert_eq!(*pool.get(&a), payload(1), "value arrives intact");
                assert_eq!(*pool.get(&b), payload(2), "value arrives intact");
                let (wa, wb) = (a.weak(), b.weak());
                assert_eq!(pool.free(a), payload(1));
                // The magazine is full now: half of it goes to the depot.
                assert_eq!(pool.free(b), payload(2));
                assert!(!pool.is_live(wa) && !pool.is_live(wb));
            })
        };
        let (sent, reused) = producer.join().unwrap();
        consumer.join().unwrap();
        // The producer's third allocation either reused a slot the consumer flushed to the
        // depot, or (the consumer had not flushed yet) grew the pool by a chunk.
        OUTCOMES.hit(usize::from(reused.id >= 2));
        let mut refs = sent.to_vec();
        refs.push(reused);
        assert_distinct(&refs);
        assert!(refs.iter().all(|&r| !pool.is_live(r)));

        wait_for_exit_guards(&pool);
        let stats = pool.depot_stats();
        assert_eq!(stats.caches, 0);
        // No slot was freed often enough to retire, so every slot is free again.
        assert_eq!(stats.free as u32, stats.capacity, "slots lost");
        let report = exclusive(pool).shutdown();
        assert_eq!(
            report,
            PoolReport {
                live_dropped: 0,
                chunks: stats.chunks as u64,
                capacity: u64::from(stats.capacity),
                caches_drained: 0,
                retired: 0,
            }
        );
    });
    OUTCOMES.assert_all_seen(
        "alloc_on_one_thread_free_on_another",
        ["reused a flushed slot", "grew a chunk"],
    );
}

/// Model 2 (body). `workers` threads allocate and free concurrently; each refills its
/// magazine from the depot twice and flushes half of it back once, and with `reuse` then
/// allocates again from its own magazine. No (id, version) pair is handed out twice, a live
/// value is never overwritten (its value is checked before it is freed, and loom checks the
/// slot accesses are ordered), and once the threads have exited every slot is free again
/// (or retired): live (0) + free + retired == capacity.
fn concurrent_alloc_free(name: &str, workers: u64, reuse: bool, outcomes: &'static Outcomes<2>) {
    model(name, move || {
        let pool = Arc::new(Pool::with_config(small()));
        let handles: Vec<_> = (0..workers)
            .map(|t| {
                let pool = Arc::clone(&pool);
                thread::spawn(move || {
                    let mut handed_out = Vec::new();
                    let x = pool.alloc(payload(10 * t + 1)).unwrap(); // refill
                    let y = pool.alloc(payload(10 * t + 2)).unwrap(); // refill
                    handed_out.extend([x.weak(), y.weak()]);
                    assert_eq!(*pool.get(&x), payload(10 * t + 1));
                    assert_eq!(*pool.get(&y), payload(10 * t + 2));
                    assert_eq!(pool.free(x), payload(10 * t + 1));
                    assert_eq!(pool.free(y), payload(10 * t + 2)); // flush
                    if reuse {
                        let z = pool.alloc(payload(10 * t + 3)).unwrap(); // hit
                        handed_out.push(z.weak());
                        assert_eq!(*pool.get(&z), payload(10 * t + 3));
                        assert_eq!(pool.free(z), payload(10 * t + 3));
                    }
                    handed_out
                })
            })
            .collect();
        let per_thread: Vec<Vec<PoolRef>> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        // Did a slot pass from one thread to another (through a flush and a refill)?
        let mut owners = HashSet::new();
        let shared_slot = per_thread
            .iter()
            .enumerate()
            .flat_map(|(t, refs)| refs.iter().map(move |r| (r.id, t)))
            .collect::<HashSet<_>>()
            .into_iter()
            .any(|(id, _)| !owners.insert(id));
        outcomes.hit(usize::from(shared_slot));
        let refs = per_thread.concat();
        assert_eq!(refs.len(), workers as usize * if reuse { 3 } else { 2 });
        assert_distinct(&refs);
        assert!(refs.iter().all(|&r| !pool.is_live(r)));

        wait_for_exit_guards(&pool);
        let stats = pool.depot_stats();
        assert_eq!(stats.caches, 0);
        let report = exclusive(pool).shutdown();
        assert_eq!(report.live_dropped, 0);
        assert_eq!(report.caches_drained, 0);
        assert_eq!(
            stats.free as u64 + report.retired,
            u64::from(stats.capacity),
            "slots lost or duplicated: {report:?}"
        );
        assert_eq!(report.capacity, u64::from(stats.capacity));
    });
    outcomes.assert_all_seen(
        name,
        ["threads used disjoint slots", "a slot changed threads"],
    );
}

/// Model 2: two threads, each refill, refill, flush, magazine hit.
#[test]
fn concurrent_alloc_free_never_double_hands_out_or_loses_slots() {
    static OUTCOMES: Outcomes<2> = Outcomes::new();
    concurrent_alloc_free(
        "concurrent_alloc_free_never_double_hands_out_or_loses_slots",
        2,
        true,
        &OUTCOMES,
    );
}

/// Model 2b: three threads contending for the depot, each refill, refill, flush.
#[test]
fn three_threads_alloc_free_never_double_hand_out_or_lose_slots() {
    static OUTCOMES: Outcomes<2> = Outcomes::new();
    concurrent_alloc_free(
        "three_threads_alloc_free_never_double_hand_out_or_lose_slots",
        3,
        false,
        &OUTCOMES,
    );
}

/// Model 3. A worker uses the pool, leaves one value live, drops its `Arc` and exits; main
/// takes the pool as soon as it is the last owner and shuts it down, while the worker's
/// thread-exit guard may be returning its magazine. Either the guard returns it first or
/// teardown drains it; never both, never neither (loom reports a leaked `Arc<Cache>`, a
/// racing magazine access, or a value dropped twice or never).
#[test]
fn thread_exit_racing_shutdown() {
    static OUTCOMES: Outcomes<2> = Outcomes::new();
    model("thread_exit_racing_shutdown", || {
        let drops = DropCounts::new(2);
        let pool = Arc::new(Pool::with_config(small()));
        let worker = {
            let (pool, drops) = (Arc::clone(&pool), std::sync::Arc::clone(&drops));
            thread::spawn(move || {
                let a = pool.alloc(Tracked::new(0, &drops)).unwrap();
                let b = pool.alloc(Tracked::new(1, &drops)).unwrap();
                assert_eq!(pool.get(&a).tag, 0);
                drop(pool.free(a)); // into this thread's magazine
                // `b` is never freed: its value stays live for teardown to drop.
                let _never_freed = b;
                drop(pool);
            })
        };
        let report = exclusive(pool).shutdown();
        assert_eq!(report.live_dropped, 1);
        assert!(report.caches_drained <= 1, "{report:?}");
        OUTCOMES.hit(report.caches_drained as usize);
        assert_eq!((report.chunks, report.capacity), (1, 2));
        worker.join().unwrap();
        drops.assert_each_dropped_once();
    });
    OUTCOMES.assert_all_seen(
        "thread_exit_racing_shutdown",
        ["exit guard returned the magazine", "teardown drained it"],
    );
}

/// Model 4. Teardown drains the magazine of a thread that is alive but parked outside the
/// pool; when that thread later uses a new pool, it finds the old magazine dead and drops
/// it (it holds exactly one magazine, the new pool's).
#[test]
fn shutdown_drains_a_parked_threads_magazine() {
    model("shutdown_drains_a_parked_threads_magazine", || {
        let pool = Arc::new(Pool::<u64>::with_config(small()));
        let used = Handoff::<()>::new();
        let go = Handoff::<()>::new();
        let worker = {
            let (pool, used, go) = (Arc::clone(&pool), Arc::clone(&used), Arc::clone(&go));
            thread::spawn(move || {
                let o = pool.alloc(7).unwrap();
                assert_eq!(pool.free(o), 7); // stays in this thread's magazine
                drop(pool);
                used.put(());
                go.take();
                let before = Pool::<u64>::local_cache_count();
                let fresh = Pool::with_config(small());
                let o = fresh.alloc(8).unwrap();
                assert_eq!(fresh.free(o), 8);
                let after = Pool::<u64>::local_cache_count();
                let report = fresh.shutdown();
                assert_eq!(report.caches_drained, 1, "this thread is alive");
                (before, after)
            })
        };
        used.take();
        let pool = Arc::try_unwrap(pool).expect("the worker dropped its Arc before signalling");
        let stats = pool.depot_stats();
        assert_eq!(
            stats.caches, 1,
            "the parked worker's magazine is registered"
        );
        assert_eq!(
            stats.free + 1,
            stats.capacity as usize,
            "one id sits in that magazine"
        );
        let report = pool.shutdown();
        assert_eq!(report.caches_drained, 1);
        assert_eq!(report.live_dropped, 0);
        go.put(());
        let (before, after) = worker.join().unwrap();
        assert_eq!(before, 1, "the drained magazine is still referenced");
        assert_eq!(
            after, 1,
            "the dead magazine was dropped on next registration"
        );
    });
}

/// Model 5. Values with `Drop` through refill and flush at capacity: a worker fills the
/// first chunk, hands one value to another thread and reuses its freed slot from its
/// magazine; the other thread frees the handed value and, the depot being empty, grows the
/// pool by a chunk, then flushes. One value is left live for teardown. Every value is
/// dropped exactly once (by its `free` caller or by teardown).
#[test]
fn drop_values_through_refill_flush_at_capacity() {
    model("drop_values_through_refill_flush_at_capacity", || {
        let drops = DropCounts::new(4);
        let pool = Arc::new(Pool::with_config(small()));
        let handoff = Handoff::<Owned>::new();
        let first = {
            let (pool, drops, handoff) = (
                Arc::clone(&pool),
                std::sync::Arc::clone(&drops),
                Arc::clone(&handoff),
            );
            thread::spawn(move || {
                let a = pool.alloc(Tracked::new(0, &drops)).unwrap();
                let b = pool.alloc(Tracked::new(1, &drops)).unwrap(); // chunk 0 is full
                handoff.put(b);
                let slot = a.weak().id;
                drop(pool.free(a));
                let c = pool.alloc(Tracked::new(2, &drops)).unwrap(); // magazine hit
                assert_eq!(c.weak().id, slot);
                assert_eq!(pool.get(&c).tag, 2);
                c // left live for teardown
            })
        };
        let second = {
            let (pool, drops, handoff) = (
                Arc::clone(&pool),
                std::sync::Arc::clone(&drops),
                Arc::clone(&handoff),
            );
            thread::spawn(move || {
                let b = handoff.take();
                assert_eq!(pool.get(&b).tag, 1);
                let d = pool.alloc(Tracked::new(3, &drops)).unwrap(); // depot empty: grows
                assert_eq!(pool.free(b).tag, 1);
                assert_eq!(pool.free(d).tag, 3); // magazine full: flush
                let capacity = pool.depot_stats().capacity;
                assert_eq!(capacity, 6, "a second chunk of 4 slots was allocated");
            })
        };
        let live = first.join().unwrap();
        second.join().unwrap();
        assert!(pool.is_live(live.weak()));
        wait_for_exit_guards(&pool);
        let stats = pool.depot_stats();
        assert_eq!((stats.capacity, stats.chunks), (6, 2));
        assert_eq!(
            stats.free as u32 + 1,
            stats.capacity,
            "everything but the live value is free"
        );
        // `live` is never freed: its value stays live for teardown to drop.
        let report = exclusive(pool).shutdown();
        assert_eq!(report.live_dropped, 1);
        assert_eq!(report.retired, 0);
        drops.assert_each_dropped_once();
    });
}

/// Model 6. A weak reference published without synchronization (a relaxed atomic): the
/// reader sees no reference, a reference whose slot does not look live yet, or the whole
/// value. Only the pool's own orderings make the last case sound: `alloc` publishes the
/// slot's state word with a release store after writing the value, and `get_ref` checks it
/// with an acquire load before reading (loom reports the read racing the write otherwise).
#[test]
fn weak_ref_published_relaxed_sees_nothing_or_the_whole_value() {
    use loom::sync::atomic::{AtomicU64, Ordering};
    static OUTCOMES: Outcomes<3> = Outcomes::new();
    const PRESENT: u64 = 1 << 63;
    model(
        "weak_ref_published_relaxed_sees_nothing_or_the_whole_value",
        || {
            let pool = Arc::new(Pool::with_config(small()));
            let published = Arc::new(AtomicU64::new(0));
            let writer = {
                let (pool, published) = (Arc::clone(&pool), Arc::clone(&published));
                thread::spawn(move || {
                    let o = pool.alloc(payload(42)).unwrap();
                    let r = o.weak();
                    let word = PRESENT | u64::from(r.id) << 32 | u64::from(r.version);
                    published.store(word, Ordering::Relaxed);
                    o
                })
            };
            let reader = {
                let (pool, published) = (Arc::clone(&pool), Arc::clone(&published));
                thread::spawn(move || {
                    let word = published.load(Ordering::Relaxed);
                    if word & PRESENT == 0 {
                        return 0;
                    }
                    let r = PoolRef {
                        id: (word >> 32) as u32 & !(1 << 31),
                        version: word as u32,
                    };
                    // SAFETY: nobody mutates the value, and it is freed only after this
                    // thread is joined.
                    match unsafe { pool.get_ref(r) } {
                        None => 1,
                        Some(value) => {
                            assert_eq!(*value, payload(42), "a torn or stale value");
                            assert!(pool.is_live(r));
                            2
                        }
                    }
                })
            };
            let owned = writer.join().unwrap();
            OUTCOMES.hit(reader.join().unwrap());
            assert!(pool.is_live(owned.weak()));
            // Not freed here (that would give this thread a magazine): teardown drops it.
            wait_for_exit_guards(&pool);
            let report = exclusive(pool).shutdown();
            assert_eq!((report.live_dropped, report.caches_drained), (1, 0));
        },
    );
    OUTCOMES.assert_all_seen(
        "weak_ref_published_relaxed_sees_nothing_or_the_whole_value",
        [
            "no reference yet",
            "reference, slot not live yet",
            "whole value",
        ],
    );
}

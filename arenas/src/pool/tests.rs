//! Unit tests of the pool (loom models are in `loom-tests/tests/pool.rs`).

use super::*;

fn small() -> PoolConfig {
    PoolConfig {
        first_chunk: 4,
        magazine: 4,
        retire_period: 8,
        recycle: false,
    }
}

#[test]
fn ids_map_to_growing_chunks() {
    let p: Pool<u8> = Pool::with_config(small());
    assert_eq!(p.locate(0), (0, 0));
    assert_eq!(p.locate(3), (0, 3));
    assert_eq!(p.locate(4), (1, 0));
    assert_eq!(p.locate(11), (1, 7));
    assert_eq!(p.locate(12), (2, 0));
    let q: Pool<u8> = Pool::new();
    let (k, i) = q.locate(MAX_SLOTS - 1);
    assert!(k < CHUNKS && i < (256usize << k));
}

#[test]
fn slot_headers_carry_their_ids_at_no_cost_for_8_aligned_values() {
    // The id sits in what would be padding between the state word and the value.
    assert_eq!(size_of::<Slot<[u64; 4]>>(), 8 + size_of::<[u64; 4]>());
    let p: Pool<u64> = Pool::with_config(small());
    // Several chunks, and through flushes (ids read back from the headers) and refills.
    let n = if cfg!(miri) { 40 } else { 1000 };
    let first: Vec<Owned> = (0..n).map(|i| p.alloc(i).unwrap()).collect();
    let ids: std::collections::BTreeSet<u32> = first.iter().map(|o| o.weak().id).collect();
    assert_eq!(ids, (0..n as u32).collect(), "ids are distinct and dense");
    for (i, o) in (0..).zip(first) {
        // SAFETY: single-threaded test; nothing else refers to the slot.
        assert_eq!(unsafe { p.get_ref(o.weak()) }, Some(&i));
        assert_eq!(p.free(o), i);
    }
    let again: Vec<Owned> = (0..n).map(|i| p.alloc(i).unwrap()).collect();
    let reused: std::collections::BTreeSet<u32> = again.iter().map(|o| o.weak().id).collect();
    assert_eq!(reused, ids, "every freed id came back once, none was lost");
    for o in again {
        p.free(o);
    }
    assert_eq!(p.shutdown().live_dropped, 0);
}

#[test]
fn alloc_get_free_and_stale_refs() {
    let p = Pool::with_config(small());
    let mut a = p.alloc(String::from("a")).unwrap();
    p.get_mut(&mut a).push('!');
    assert_eq!(p.get(&a), "a!");
    let weak = a.weak();
    assert!(p.is_live(weak));
    assert_eq!(p.free(a), "a!");
    assert!(!p.is_live(weak));
    // The slot is reused (LIFO magazine) with a new version; the old ref stays dead.
    let b = p.alloc(String::from("b")).unwrap();
    assert_eq!(b.weak().id, weak.id);
    assert_ne!(b.weak().version, weak.version);
    assert!(!p.is_live(weak));
    // SAFETY: single-threaded test, no other access to the slot.
    assert!(unsafe { p.get_ref(weak) }.is_none());
    assert_eq!(p.get(&b), "b");
    let _never_freed = b;
    let report = p.shutdown();
    assert_eq!(report.live_dropped, 1, "b was never freed");
}

/// Ends an `Owned` without freeing its slot; its `PoolRef` now stands for the value.
fn give_up(o: Owned) -> PoolRef {
    o.weak()
}

#[test]
fn recycled_slots_restart_at_version_1_and_never_retire() {
    // retire_period 8 with recycle: a slot cycles through 1..=7 once it has come round,
    // and is never retired.
    let pool = Pool::<u32>::with_config(PoolConfig {
        first_chunk: 2,
        magazine: 2,
        retire_period: 8,
        recycle: true,
    });
    let first = pool.alloc(0).unwrap();
    let stale = first.weak();
    assert_eq!(stale.version, 0);
    pool.free(first);
    let mut versions = Vec::new();
    for i in 1..=20u32 {
        let o = pool.alloc(i).unwrap();
        assert_eq!(
            o.weak().id,
            stale.id,
            "the magazine hands the same slot back"
        );
        versions.push(o.weak().version);
        // The first ref (version 0) never matches again; a ref from 7 reuses ago does.
        assert!(!pool.is_live(stale));
        pool.free(o);
    }
    assert_eq!(versions[..9], [1, 2, 3, 4, 5, 6, 7, 1, 2]);
    let o = pool.alloc(99).unwrap();
    let r = o.weak();
    pool.free(o);
    // Rejected for the next 2^3 - 2 = 6 reuses, then the 7th has the same version.
    for reuse in 1..=7 {
        let o = pool.alloc(reuse).unwrap();
        assert_eq!(pool.is_live(r), reuse == 7, "reuse {reuse}");
        pool.free(o);
    }
    assert_eq!(pool.shutdown().retired, 0);
}

#[test]
fn resolve_mut_updates_frees_and_rejects_stale_refs() {
    let p = Pool::with_config(small());
    // The value now belongs to whoever holds `r` (as the object heap does it).
    let r = give_up(p.alloc(vec![1u32]).unwrap());
    // Single-threaded test; each handle is used and dropped before the next is made.
    // SAFETY: as above.
    let mut live = unsafe { p.resolve_mut(r) }.unwrap();
    live.get_mut().push(2);
    assert_eq!(live.weak(), r);
    // SAFETY: as above (`live` was last used above).
    assert_eq!(unsafe { p.resolve_mut(r) }.unwrap().into_mut(), &[1, 2]);
    // SAFETY: as above (the reference above is gone).
    let live = unsafe { p.resolve_mut(r) }.unwrap();
    assert_eq!(live.drop_with(|v| v.len()), 2);
    assert!(!p.is_live(r));
    assert!(
        // SAFETY: as above.
        unsafe { p.resolve_mut(r) }.is_none(),
        "a freed slot is stale"
    );
    // The slot is reused with the next version; the old ref stays stale.
    let b = p.alloc(vec![3]).unwrap();
    assert_eq!((b.weak().id, b.weak().version), (r.id, r.version + 1));
    // SAFETY: as above.
    assert!(unsafe { p.resolve_mut(r) }.is_none());
    let rb = give_up(b);
    // SAFETY: as above; `b` (the slot's owner) was given up.
    assert_eq!(unsafe { p.resolve_mut(rb) }.unwrap().free(), vec![3]);
    assert!(!p.is_live(rb));
    assert_eq!(p.shutdown().live_dropped, 0);
}

#[test]
fn drop_with_drops_in_place_once_and_recycles_the_slot_after_the_drop() {
    let marker = Arc::new(());
    let p = Pool::with_config(small());
    let r = give_up(p.alloc(Arc::clone(&marker)).unwrap());
    // SAFETY: single-threaded test; no other reference to the slot exists.
    unsafe { p.resolve_mut(r) }.unwrap().drop_with(|_| ());
    assert_eq!(Arc::strong_count(&marker), 1, "dropped exactly once");
    let again = p.alloc(Arc::clone(&marker)).unwrap();
    assert_eq!(again.weak().id, r.id, "the slot went back to the magazine");
    assert_eq!(p.shutdown().live_dropped, 1);
    assert_eq!(Arc::strong_count(&marker), 1);
}

#[test]
fn local_handles_and_the_thread_local_path_share_one_magazine() {
    let p: Pool<u32> = Pool::with_config(small());
    let local = p.local();
    let a = local.alloc(1).unwrap();
    let id = a.weak().id;
    assert_eq!(p.free(a), 1); // into the same magazine
    let b = local.alloc(2).unwrap();
    assert_eq!(b.weak().id, id);
    // Many more than a magazine holds: refills and flushes through both paths.
    let many: Vec<Owned> = (0..50).map(|i| p.alloc(i).unwrap()).collect();
    for o in many {
        local.free(o);
    }
    assert_eq!(local.free(b), 2);
    drop(local);
    let mut p = p;
    let FreeSlots { free, capacity } = p.free_slots();
    assert_eq!(free, u64::from(capacity));
    assert_eq!(p.shutdown().live_dropped, 0);
}

#[test]
#[should_panic]
fn magazines_larger_than_the_inline_array_are_refused() {
    let _ = Pool::<u8>::with_config(PoolConfig {
        magazine: MAGAZINE_MAX + 1,
        ..PoolConfig::default()
    });
}

#[test]
fn slots_retire_when_their_version_wraps() {
    let p = Pool::with_config(small());
    let mut seen = std::collections::HashSet::new();
    for i in 0..40u32 {
        let o = p.alloc(i).unwrap();
        assert!(
            seen.insert(o.weak()),
            "a (slot, version) pair was handed out twice"
        );
        p.free(o);
    }
    let report = p.shutdown();
    assert!(report.retired >= 4, "{report:?}");
}

#[test]
fn many_values_and_teardown_drops_the_live_ones() {
    let p = Pool::with_config(small());
    let n = if cfg!(miri) { 200 } else { 5000 };
    let mut owned: Vec<Owned> = (0..n).map(|i| p.alloc(vec![i; 3]).unwrap()).collect();
    for (i, o) in owned.iter().enumerate() {
        assert_eq!(p.get(o)[0], i);
    }
    let keep = owned.split_off(n / 2);
    for o in owned {
        p.free(o);
    }
    let _leaked = keep; // never freed: teardown drops them
    let report = p.shutdown();
    assert_eq!(report.live_dropped, (n - n / 2) as u64);
    assert!(report.chunks >= 1);
}

#[test]
fn drop_with_shared_frees_to_the_depot_and_registers_no_magazine() {
    let mut p: Pool<Vec<u32>> = Pool::with_config(small());
    // Allocated on another thread (its magazine is returned when it exits), freed here.
    let r = std::thread::scope(|s| s.spawn(|| give_up(p.alloc(vec![7]).unwrap())).join()).unwrap();
    assert_eq!(
        p.depot_stats().caches,
        0,
        "the allocating thread has exited"
    );
    // SAFETY: single-threaded now; the handle is the only access to the slot.
    let live = unsafe { p.resolve_mut(r) }.unwrap();
    assert_eq!(live.drop_with_shared(|v| v[0]), 7);
    assert!(!p.is_live(r));
    assert_eq!(
        p.depot_stats().caches,
        0,
        "the freeing thread registered no magazine"
    );
    let FreeSlots { free, capacity } = p.free_slots();
    assert_eq!(free, u64::from(capacity), "the slot is free again");
    let report = p.shutdown();
    assert_eq!((report.live_dropped, report.caches_drained), (0, 0));
}

#[test]
fn release_thread_caches_returns_this_threads_magazines_now() {
    let mut p: Pool<u8> = Pool::with_config(small());
    let o = p.alloc(1).unwrap();
    p.free(o);
    assert_eq!(
        p.depot_stats().caches,
        1,
        "this thread's magazine is registered"
    );
    let FreeSlots { free, capacity } = p.free_slots();
    assert_eq!(
        free,
        u64::from(capacity),
        "the magazine's ids count as free"
    );
    release_thread_caches();
    assert_eq!(p.depot_stats().caches, 0);
    assert_eq!(
        p.depot_stats().free as u32,
        capacity,
        "every id is back in the depot"
    );
    let o = p.alloc(2).unwrap(); // a fresh magazine
    assert_eq!(p.free(o), 2);
    assert_eq!(p.depot_stats().caches, 1);
}

#[test]
fn values_left_by_exited_threads_are_dropped_by_teardown() {
    let marker = Arc::new(());
    let p: Arc<Pool<Arc<()>>> = Arc::new(Pool::with_config(small()));
    for _ in 0..2 {
        let (p, marker) = (Arc::clone(&p), Arc::clone(&marker));
        std::thread::spawn(move || {
            for _ in 0..3 {
                let _leaked = p.alloc(Arc::clone(&marker)).unwrap();
            }
            let freed = p.alloc(Arc::clone(&marker)).unwrap();
            p.free(freed);
        })
        .join()
        .unwrap();
    }
    assert_eq!(Arc::strong_count(&marker), 7);
    let report = Arc::try_unwrap(p).unwrap().shutdown();
    assert_eq!(report.live_dropped, 6);
    assert_eq!(
        Arc::strong_count(&marker),
        1,
        "every leaked value was dropped"
    );
}

#[test]
fn threads_return_their_magazines_at_exit_and_teardown_drains_live_ones() {
    let p: Arc<Pool<u64>> = Arc::new(Pool::with_config(small()));
    {
        // A joined (not scoped) thread: `join` returns after its thread-locals are gone.
        let p = Arc::clone(&p);
        std::thread::spawn(move || {
            let items: Vec<Owned> = (0..10).map(|i| p.alloc(i).unwrap()).collect();
            for o in items {
                p.free(o);
            }
            assert_eq!(Pool::<u64>::local_cache_count(), 1);
        })
        .join()
        .unwrap();
    }
    // The thread exited: its magazine went back to the depot and was unregistered.
    let stats = p.depot_stats();
    assert_eq!(stats.caches, 0);
    assert_eq!(
        stats.free as u32, stats.capacity,
        "every slot is free again"
    );

    // A thread that is still alive (parked, outside the pool) when the pool is torn
    // down: teardown drains its magazine; the thread later finds it dead and drops it.
    let p2: Arc<Pool<u64>> = Arc::new(Pool::with_config(small()));
    let (used_tx, used_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let worker = {
        let p2 = Arc::clone(&p2);
        std::thread::spawn(move || {
            let o = p2.alloc(1).unwrap();
            p2.free(o);
            drop(p2);
            used_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            let before = Pool::<u64>::local_cache_count();
            let p3: Pool<u64> = Pool::with_config(small());
            let o = p3.alloc(2).unwrap();
            assert_eq!(p3.free(o), 2);
            (before, Pool::<u64>::local_cache_count())
        })
    };
    used_rx.recv().unwrap();
    let report = Arc::try_unwrap(p2)
        .expect("the worker dropped its Arc")
        .shutdown();
    assert_eq!(report.caches_drained, 1);
    go_tx.send(()).unwrap();
    let (before, after) = worker.join().unwrap();
    assert_eq!((before, after), (1, 1), "the dead magazine was dropped");
    drop(p);
}

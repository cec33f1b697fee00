//! Objects on the pools: slot reuse, thread caches across threads and runtimes, teardown.

use crate::{scaled, test_config};
use molt_state::{Runtime, Value};

#[test]
fn a_value_to_a_freed_and_reused_slot_is_rejected() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let old = g.str("old").unwrap();
    let old_slot = old.as_obj().unwrap().slot;
    g.decref(old).unwrap();
    let new = g.str("new").unwrap();
    assert_eq!(
        new.as_obj().unwrap().slot,
        old_slot,
        "the magazine reuses the slot"
    );
    assert!(
        g.check(old).is_err(),
        "the old value must not resolve to the new object"
    );
    assert!(g.str_text(old).is_err());
    let e = g.err_fetch().unwrap();
    assert!(g.describe_exception(e).starts_with("ReferenceError"));
    g.decref(e).unwrap();
    assert_eq!(g.str_text(new).unwrap(), "new");
    g.decref(new).unwrap();
    g.clear_last_exception();
}

/// Threads that allocate from a runtime and exit: their magazines go back to the depot;
/// threads still alive at shutdown have theirs drained; another runtime on the same thread
/// has its own.
#[test]
fn threads_allocate_exit_and_shutdown_reclaims_everything() {
    for _ in 0..scaled(20, 2) {
        let rt = Runtime::new(test_config());
        let other = Runtime::new(test_config());
        std::thread::scope(|s| {
            for t in 0..2 {
                let (rt, other) = (&rt, &other);
                s.spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..scaled(100, 10) {
                        let mut g = rt.gil();
                        let v = g.str(&format!("t{t}-{i}")).unwrap();
                        if i % 10 == 0 {
                            kept.push(v); // leaked: shutdown reclaims it
                        } else {
                            g.decref(v).unwrap();
                        }
                    }
                    let mut g2 = other.gil();
                    let l = g2.list(&[Value::NONE]).unwrap();
                    g2.decref(l).unwrap();
                });
            }
        });
        let report = rt.shutdown().unwrap();
        assert!(report.leaks.is_empty(), "{report}");
        let reclaimed: u64 = report.reclaimed.iter().map(|r| r.items).sum();
        assert_eq!(reclaimed, 2 * scaled(100, 10) as u64 / 10);
        assert!(other.shutdown().unwrap().leaks.is_empty());
    }
}

// Memory over many cycles is measured in its own process, where no other test allocates:
// `molt-state cycle -n 10000 --alloc-threads 2 --max-anon-growth-kib 256` (run by CI).

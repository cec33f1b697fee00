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

/// Linux only: anonymous RSS after 2,000 cycles in which 2 threads allocate and exit (the
/// 10,000-cycle figure comes from `molt-state cycle --alloc-threads 2`, run by CI).
#[test]
#[cfg_attr(
    miri,
    ignore = "reads /proc and spawns 5,000 threads: far too slow under Miri"
)]
fn cycles_with_allocating_threads_do_not_grow_rss() {
    fn rss_anon_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
    let cycle = || {
        let rt = Runtime::new(test_config());
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    let mut g = rt.gil();
                    let a = g.str("abc").unwrap();
                    let t = g.tuple(&[a, Value::TRUE]).unwrap();
                    g.decref(a).unwrap();
                    let _leaked = t;
                });
            }
        });
        assert!(rt.shutdown().unwrap().leaks.is_empty());
    };
    for _ in 0..500 {
        cycle();
    }
    let Some(before) = rss_anon_kib() else { return };
    for _ in 0..2_000 {
        cycle();
    }
    let after = rss_anon_kib().unwrap();
    assert!(
        after <= before + 256,
        "anonymous RSS grew from {before} KiB to {after} KiB"
    );
}

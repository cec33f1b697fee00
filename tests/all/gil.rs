//! The GIL from Rust: what used to hang now nests, fails at once, or is bounded.

use molt_state::{Config, GilError, Runtime, ShutdownError, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rt(workers: usize, timeout_ms: u64) -> Runtime {
    Runtime::new(Config {
        workers: Some(workers),
        shutdown_timeout: Duration::from_millis(timeout_ms),
        read_env: false,
        ..Config::default()
    })
}

#[test]
fn a_second_token_on_one_thread_fails_at_once() {
    let rt = rt(0, 1000);
    let g = rt.gil();
    assert!(matches!(rt.try_gil(), Err(GilError::InUse(_))));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rt.gil())));
    assert!(
        r.is_err(),
        "rt.gil() twice on a thread panics instead of hanging"
    );
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rt.lock())));
    assert!(
        r.is_err(),
        "rt.lock() while a token is live panics instead of hanging"
    );
    drop(g);
    let _again = rt.gil();
}

#[test]
fn a_native_taking_the_gil_again_fails_at_once() {
    let rt = rt(0, 1000);
    let mut g = rt.gil();
    let f = g.native_closure("again", |g, _| match g.runtime().try_gil() {
        Err(GilError::InUse(_)) => Ok(Value::TRUE),
        Ok(_) => Ok(Value::FALSE),
    });
    assert_eq!(g.call(f, &[]).unwrap(), Value::TRUE);
}

#[test]
fn native_closures_are_called_bound_and_bounded() {
    let rt = rt(0, 1000);
    let mut g = rt.gil();
    let f = g.native_closure("first", |g, args| {
        let v = args.first().copied().unwrap_or(Value::NONE);
        g.incref(v)?;
        Ok(v)
    });
    assert_eq!(g.repr(f).unwrap(), "<built-in function first>");
    let s = g.str("x").unwrap();
    let r = g.call(f, &[s]).unwrap();
    assert_eq!(r, s);
    g.decref(r).unwrap();
    g.decref(s).unwrap();
    // Recursion through host functions raises RecursionError.
    if cfg!(miri) {
        g.set_recursion_limit(40).unwrap(); // the default's 1000 levels take minutes there
    }
    let me = Arc::new(std::sync::OnceLock::new());
    let me2 = me.clone();
    let rec = g.native_closure("rec", move |g, _| g.call(*me2.get().unwrap(), &[]));
    me.set(rec).unwrap();
    assert!(g.call(rec, &[]).is_err());
    let e = g.err_fetch().unwrap();
    assert_eq!(g.type_name(e).unwrap(), "RecursionError");
    g.decref(e).unwrap();
}

#[test]
#[cfg_attr(miri, ignore = "times a 2 s hold")]
fn shutdown_is_bounded_against_a_task_holding_the_gil() {
    let rt = rt(1, 100);
    {
        let mut g = rt.gil();
        g.spawn(|cx| {
            let _g = cx.gil();
            std::thread::sleep(Duration::from_secs(2));
            Ok(Value::NONE)
        })
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    let busy = rt.shutdown().expect_err("a task holds the GIL");
    assert!(
        t0.elapsed() < Duration::from_millis(700),
        "{:?}",
        t0.elapsed()
    );
    assert!(matches!(
        busy.error,
        ShutdownError::GilHeld { .. } | ShutdownError::TasksRunning { .. }
    ));
    // Still usable; a later shutdown succeeds.
    let rt = busy.runtime;
    {
        let mut g = rt.gil();
        let v = g.str("usable").unwrap();
        g.decref(v).unwrap();
    }
    std::thread::sleep(Duration::from_secs(2));
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "worker threads detach themselves (the teardown runs on one)"
)]
fn dropping_the_last_runtime_inside_a_task_does_not_hang() {
    let rt = Arc::new(rt(1, 100));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let inner = rt.clone();
        let mut g = rt.gil();
        let t = g
            .spawn(move |_cx| {
                let held = inner;
                // Wait until the host has dropped its handle: this one is the last.
                while Arc::strong_count(&held) > 1 {
                    std::thread::yield_now();
                }
                drop(held);
                tx.send(()).unwrap();
                Ok(Value::NONE)
            })
            .unwrap();
        g.detach(t).unwrap();
    }
    drop(rt);
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the task dropped the runtime and returned");
}

#[test]
fn a_call_that_re_enters_through_call_is_bounded() {
    let rt = rt(0, 1000);
    let mut g = rt.gil();
    if cfg!(miri) {
        g.set_recursion_limit(40).unwrap(); // the default's 1000 levels take minutes there
    }
    let a = g.class_new("A", &[], &[]).unwrap();
    let inst = g.call(a, &[]).unwrap();
    g.setattr(a, "__call__", inst).unwrap();
    assert!(g.call(inst, &[]).is_err());
    let e = g.err_fetch().unwrap();
    assert_eq!(g.type_name(e).unwrap(), "RecursionError");
    let msg = g.repr(e).unwrap();
    assert!(msg.contains("while calling a Python object"), "{msg}");
    g.decref(e).unwrap();
    g.decref(inst).unwrap();
}

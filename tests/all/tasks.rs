//! Tasks, cancel tokens, per-task exception state, the worker threads and the quiescent
//! shutdown (the async registries).

use crate::{caught, scaled, test_config};
use molt_state::ExcClass;
use molt_state::{Config, PinnedState, Runtime, ShutdownError, TaskState, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn config(workers: usize) -> Config {
    Config {
        workers: Some(workers),
        ..test_config()
    }
}

/// Names of this process's threads that belong to runtime `id`'s workers.
#[cfg(target_os = "linux")]
fn worker_threads(id: u64) -> Vec<String> {
    let prefix_w = format!("m{id}w");
    let name_s = format!("m{id}s");
    let mut names = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
            let comm = comm.trim().to_owned();
            if comm.starts_with(&prefix_w) || comm == name_s {
                names.push(comm);
            }
        }
    }
    names
}

/// Whether runtime `id` has no worker thread left. A joined thread can linger in
/// /proc/self/task for a moment while the kernel finishes its exit (join returns once the
/// thread cleared its tid), so this polls for up to two seconds.
#[cfg(target_os = "linux")]
fn no_worker_threads(id: u64) -> bool {
    let t0 = Instant::now();
    loop {
        if worker_threads(id).is_empty() {
            return true;
        }
        if t0.elapsed() > Duration::from_secs(2) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn spawn_and_join_return_the_result() {
    let rt = Runtime::new(config(2));
    let mut g = rt.gil();
    let a = g.spawn(|cx| cx.gil().str("from a task")).unwrap();
    let b = g.spawn(|_| Ok(Value::int(41 + 1).unwrap())).unwrap();
    let v = g.join(a).unwrap();
    assert_eq!(g.str_text(v).unwrap(), "from a task");
    g.decref(v).unwrap();
    assert_eq!(g.join(b).unwrap(), Value::int(42).unwrap());
    // The record went with the join.
    assert!(g.join(a).is_err());
    assert!(caught(&mut g).starts_with("ValueError: unknown task"));
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
    assert_eq!(report.tasks.spawned, 2);
    assert_eq!(report.tasks.records(), 0);
    assert_eq!(report.tasks.workers_joined, 2);
}

#[test]
fn a_task_raises_into_its_own_exception_state() {
    let rt = Runtime::new(config(2));
    let mut g = rt.gil();
    // The main thread has an exception of its own in flight.
    let _ = g.raise_new(ExcClass::KEY_ERROR, "main");
    let t = g
        .spawn(|cx| {
            let mut g = cx.gil();
            assert!(
                g.err_occurred().is_none(),
                "a task starts with no exception"
            );
            Err(g.raise_new(ExcClass::VALUE_ERROR, "task's"))
        })
        .unwrap();
    let ok = g.spawn(|cx| cx.gil().int(7)).unwrap();
    while !g.task_state(t).unwrap().is_final() {
        drop(g);
        std::thread::sleep(Duration::from_millis(1));
        g = rt.gil();
    }
    assert_eq!(g.task_state(t).unwrap(), TaskState::Failed);
    // The task's exception did not touch this thread's.
    assert_eq!(caught(&mut g), "KeyError: 'main'");
    let last = g.task_last_exception(t).unwrap().expect("kept");
    assert_eq!(g.describe_exception(last), "ValueError: task's");
    g.decref(last).unwrap();
    assert_eq!(g.join(ok).unwrap(), Value::int(7).unwrap());
    assert!(g.err_occurred().is_none());
    assert!(g.join(t).is_err());
    assert_eq!(caught(&mut g), "ValueError: task's");
    g.clear_last_exception();
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
    assert!(report.reclaimed.is_empty(), "{:?}", report.reclaimed);
}

#[test]
fn a_panicking_task_fails_with_runtime_error_and_the_runtime_stays_usable() {
    let rt = Runtime::new(config(1));
    let mut g = rt.gil();
    let t = g
        .spawn(|cx| {
            let _g = cx.gil(); // panics while holding the runtime lock
            panic!("boom")
        })
        .unwrap();
    assert!(g.join(t).is_err());
    assert_eq!(caught(&mut g), "RuntimeError: task panicked: boom");
    let t = g.spawn(|cx| cx.gil().str("still fine")).unwrap();
    let v = g.join(t).unwrap();
    assert_eq!(g.str_text(v).unwrap(), "still fine");
    g.decref(v).unwrap();
    g.clear_last_exception();
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn a_cancelled_pending_task_never_runs() {
    // No worker threads: tasks stay pending until joined.
    let rt = Runtime::new(config(0));
    let ran = Arc::new(AtomicBool::new(false));
    let mut g = rt.gil();
    let r = Arc::clone(&ran);
    let t = g
        .spawn(move |_| {
            r.store(true, Ordering::SeqCst);
            Ok(Value::NONE)
        })
        .unwrap();
    assert_eq!(g.task_state(t).unwrap(), TaskState::Pending);
    assert!(g.cancel(t, Some("not needed")).unwrap());
    assert_eq!(g.task_state(t).unwrap(), TaskState::Cancelled);
    assert_eq!(
        g.task_cancel_message(t).unwrap().as_deref(),
        Some("not needed")
    );
    // Too late to cancel twice.
    assert!(!g.cancel(t, None).unwrap());
    assert!(g.join(t).is_err());
    assert_eq!(caught(&mut g), "CancelledError: not needed");
    assert!(!ran.load(Ordering::SeqCst));
    let cancelled = g.cancelled_error().unwrap();
    let base = g.builtin_class("BaseException").unwrap();
    let exc = g.builtin_class("Exception").unwrap();
    assert!(g.issubclass(cancelled, base).unwrap());
    assert!(!g.issubclass(cancelled, exc).unwrap());
    g.clear_last_exception();
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn a_running_task_sees_cancellation_at_its_next_check_or_sleep() {
    let rt = Runtime::new(config(2));
    let started = Arc::new(AtomicBool::new(false));
    let mut g = rt.gil();
    let s = Arc::clone(&started);
    let checker = g
        .spawn(move |cx| {
            s.store(true, Ordering::SeqCst);
            loop {
                cx.check_cancelled()?;
                std::thread::yield_now();
            }
        })
        .unwrap();
    let sleeper = g
        .spawn(|cx| {
            cx.sleep(Duration::from_secs(3600))?;
            Ok(Value::NONE)
        })
        .unwrap();
    drop(g);
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let mut g = rt.gil();
    let t0 = Instant::now();
    assert!(g.cancel(checker, Some("stop checking")).unwrap());
    assert!(g.cancel(sleeper, Some("wake up")).unwrap());
    assert!(g.join(checker).is_err());
    assert_eq!(caught(&mut g), "CancelledError: stop checking");
    assert!(g.join(sleeper).is_err());
    assert_eq!(caught(&mut g), "CancelledError: wake up");
    assert!(
        t0.elapsed() < Duration::from_secs(60),
        "the sleep ended early"
    );
    g.clear_last_exception();
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn cancelling_a_token_cancels_its_tree() {
    let rt = Runtime::new(config(0));
    let mut g = rt.gil();
    let root = g.cancel_token_new(None).unwrap();
    let child = g.cancel_token_new(Some(root)).unwrap();
    let other = g.cancel_token_new(None).unwrap();
    let body = || -> molt_state::tasks::TaskBody { Box::new(|_| Ok(Value::TRUE)) };
    let in_root = g.spawn_task(Some(root), None, body()).unwrap();
    let in_child = g.spawn_task(Some(child), None, body()).unwrap();
    let elsewhere = g.spawn_task(Some(other), None, body()).unwrap();
    // A task's own token can parent other tasks.
    let tok = g.task_token(in_child).unwrap();
    let grandchild = g.spawn_task(Some(tok), None, body()).unwrap();
    g.cancel_token(root, Some("tree")).unwrap();
    for t in [in_root, in_child, grandchild] {
        assert_eq!(g.task_state(t).unwrap(), TaskState::Cancelled);
        assert_eq!(g.task_cancel_message(t).unwrap().as_deref(), Some("tree"));
    }
    assert!(g.cancel_token_is_cancelled(child).unwrap());
    assert!(!g.cancel_token_is_cancelled(other).unwrap());
    assert_eq!(g.task_state(elsewhere).unwrap(), TaskState::Pending);
    // Spawning under a cancelled token gives a cancelled task.
    let late = g.spawn_task(Some(child), None, body()).unwrap();
    assert_eq!(g.task_state(late).unwrap(), TaskState::Cancelled);
    assert_eq!(g.join(elsewhere).unwrap(), Value::TRUE);
    for t in [in_root, in_child, grandchild, late] {
        assert!(g.join(t).is_err());
        assert_eq!(caught(&mut g), "CancelledError: tree");
    }
    // A task's own token cannot be dropped by hand; host tokens can.
    g.cancel_token_drop(child).unwrap();
    g.cancel_token_drop(root).unwrap();
    assert!(g.cancel_token_is_cancelled(root).is_err());
    assert!(caught(&mut g).starts_with("ValueError"));
    g.clear_last_exception();
    drop(g);
    let report = rt.shutdown().unwrap();
    assert_eq!(report.tasks.tokens, 1, "only `other` was left");
    assert!(report.leaks.is_empty(), "{}", report.leaks);
}

#[test]
fn spawn_after_waits_for_its_delay() {
    for workers in [0, 2] {
        let rt = Runtime::new(config(workers));
        let mut g = rt.gil();
        let t0 = Instant::now();
        let t = g
            .spawn_after(Duration::from_millis(30), |cx| cx.gil().int(5))
            .unwrap();
        assert_eq!(g.task_state(t).unwrap(), TaskState::Pending);
        assert_eq!(g.join(t).unwrap(), Value::int(5).unwrap());
        assert!(
            t0.elapsed() >= Duration::from_millis(30),
            "workers={workers}"
        );
        drop(g);
        let report = rt.shutdown().unwrap();
        assert_eq!(report.tasks.sleep_worker_joined, workers > 0);
        assert!(report.leaks.is_empty());
    }
}

#[test]
fn without_workers_tasks_run_on_the_joining_thread() {
    let rt = Runtime::new(config(0));
    let mut g = rt.gil();
    let me = std::thread::current().id();
    let on_me = Arc::new(AtomicUsize::new(0));
    let mut ids = Vec::new();
    for _ in 0..3 {
        let on_me = Arc::clone(&on_me);
        ids.push(
            g.spawn(move |_| {
                if std::thread::current().id() == me {
                    on_me.fetch_add(1, Ordering::SeqCst);
                }
                Ok(Value::NONE)
            })
            .unwrap(),
        );
    }
    assert_eq!(g.run_pending(), 3);
    for t in ids {
        assert_eq!(g.task_state(t).unwrap(), TaskState::Done);
        assert_eq!(g.join(t).unwrap(), Value::NONE);
    }
    assert_eq!(on_me.load(Ordering::SeqCst), 3);
    drop(g);
    let report = rt.shutdown().unwrap();
    assert_eq!(report.tasks.workers_started, 0);
    assert!(report.leaks.is_empty());
}

#[test]
fn a_task_can_join_another_with_a_single_worker() {
    let rt = Runtime::new(config(1));
    let mut g = rt.gil();
    let outer = g
        .spawn(|cx| {
            let mut g = cx.gil();
            let inner = g.spawn(|cx| cx.gil().int(3))?;
            // The only worker is running us: joining helps by running `inner` here.
            let v = g.join(inner)?;
            g.int(v.as_int().unwrap() * 2)
        })
        .unwrap();
    assert_eq!(g.join(outer).unwrap(), Value::int(6).unwrap());
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn detached_tasks_leave_no_record() {
    let rt = Runtime::new(config(2));
    let mut g = rt.gil();
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..scaled(50, 5) {
        let d = Arc::clone(&done);
        let t = g
            .spawn(move |cx| {
                d.fetch_add(1, Ordering::SeqCst);
                cx.gil().str("dropped with the record")
            })
            .unwrap();
        g.detach(t).unwrap();
    }
    drop(g);
    while done.load(Ordering::SeqCst) < scaled(50, 5) {
        std::thread::yield_now();
    }
    let report = rt.shutdown().unwrap();
    assert!(report.reclaimed.is_empty(), "{:?}", report.reclaimed);
    assert!(report.leaks.is_empty(), "{}", report.leaks);
}

#[test]
fn cancel_racing_completion_ends_in_exactly_one_state() {
    let rt = Runtime::new(config(2));
    let (mut done, mut cancelled) = (0, 0);
    for i in 0..scaled(300, 10) {
        let mut g = rt.gil();
        let t = g.spawn(|cx| cx.gil().int(1)).unwrap();
        if i % 2 == 1 {
            drop(g);
            std::thread::yield_now();
            g = rt.gil();
        }
        let took = g.cancel(t, Some("race")).unwrap();
        match g.join(t) {
            Ok(v) => {
                assert_eq!(v, Value::int(1).unwrap());
                assert!(!took || g.err_occurred().is_none());
                done += 1;
            }
            Err(_) => {
                assert!(took, "only a cancellation that took effect can cancel");
                assert_eq!(caught(&mut g), "CancelledError: race");
                cancelled += 1;
            }
        }
        g.clear_last_exception();
    }
    assert_eq!(done + cancelled, scaled(300, 10));
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn shutdown_while_a_task_runs_is_refused_and_the_runtime_keeps_working() {
    let rt = Runtime::new(Config {
        shutdown_timeout: Duration::from_millis(50),
        ..config(2)
    });
    let release = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicBool::new(false));
    let (rel, run) = (Arc::clone(&release), Arc::clone(&running));
    let busy = rt
        .gil()
        .spawn(move |_| {
            run.store(true, Ordering::SeqCst);
            while !rel.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(Value::TRUE)
        })
        .unwrap();
    let pending = rt
        .gil()
        .spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
        .unwrap();
    while !running.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let busy_err = rt.shutdown().unwrap_err();
    assert!(
        matches!(
            busy_err.error,
            ShutdownError::TasksRunning { running: 1, waited_ms } if waited_ms >= 50
        ),
        "{:?}",
        busy_err.error
    );
    assert!(busy_err.to_string().contains("1 task(s) still running"));
    let rt = busy_err.runtime;
    {
        let mut g = rt.gil();
        // Pending tasks were cancelled; the runtime accepts and runs new tasks.
        assert_eq!(g.task_state(pending).unwrap(), TaskState::Cancelled);
        let t = g
            .spawn(|cx| cx.gil().str("after a refused shutdown"))
            .unwrap();
        let v = g.join(t).unwrap();
        assert_eq!(g.str_text(v).unwrap(), "after a refused shutdown");
        g.decref(v).unwrap();
        assert_eq!(g.task_state(busy).unwrap(), TaskState::Running);
    }
    release.store(true, Ordering::SeqCst);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
    // Records never joined (the busy task, done or finishing; the cancelled one) were
    // cleared by shutdown.
    let t = &report.tasks;
    assert_eq!(t.in_state(TaskState::Cancelled), 1);
    assert_eq!(
        t.in_state(TaskState::Done) + t.in_state(TaskState::Running),
        1
    );
    assert_eq!(t.records(), 2);
}

#[test]
fn shutdown_cancels_pending_and_sleeping_tasks() {
    let pending = scaled(1000, 20);
    let sleeping = scaled(100, 3);
    let rt = Runtime::new(config(sleeping));
    let asleep = Arc::new(AtomicUsize::new(0));
    {
        let mut g = rt.gil();
        for _ in 0..sleeping {
            let a = Arc::clone(&asleep);
            g.spawn(move |cx| {
                a.fetch_add(1, Ordering::SeqCst);
                cx.sleep(Duration::from_secs(3600))?;
                Ok(Value::NONE)
            })
            .unwrap();
        }
        for i in 0..pending {
            g.spawn_after(Duration::from_secs(3600), move |cx| cx.gil().int(i as i64))
                .unwrap();
        }
    }
    while asleep.load(Ordering::SeqCst) < sleeping {
        std::thread::sleep(Duration::from_millis(1));
    }
    let id = rt.id().get();
    let t0 = Instant::now();
    let report = rt.shutdown().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(30));
    let t = &report.tasks;
    assert_eq!(t.in_state(TaskState::Pending), pending as u64);
    assert_eq!(t.in_state(TaskState::Running), sleeping as u64);
    assert!(t.sleeping <= sleeping as u64);
    assert_eq!(t.workers_joined, sleeping as u64);
    assert!(t.sleep_worker_joined);
    assert!(report.leaks.is_empty(), "{}", report.leaks);
    #[cfg(all(target_os = "linux", not(miri)))]
    assert!(no_worker_threads(id));
    let _ = id;
}

#[test]
#[cfg(target_os = "linux")]
#[cfg_attr(
    miri,
    ignore = "reads /proc (file system access is isolated under Miri)"
)]
fn no_worker_thread_survives_shutdown() {
    let rt = Runtime::new(config(3));
    let id = rt.id().get();
    assert!(worker_threads(id).is_empty(), "init starts no thread");
    {
        let mut g = rt.gil();
        let t = g
            .spawn_after(Duration::from_millis(1), |_| Ok(Value::NONE))
            .unwrap();
        g.join(t).unwrap();
    }
    // A new thread sets its OS name itself when it first runs, so under load a worker can
    // still be nameless here (seen with the op-sequence tests running in parallel): poll
    // for up to two seconds, as `no_worker_threads` does.
    let t0 = Instant::now();
    let mut names = worker_threads(id);
    while names.len() < 4 && t0.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(1));
        names = worker_threads(id);
    }
    names.sort();
    assert_eq!(
        names,
        [
            format!("m{id}s"),
            format!("m{id}w0"),
            format!("m{id}w1"),
            format!("m{id}w2")
        ]
    );
    let report = rt.shutdown().unwrap();
    assert_eq!(report.tasks.workers_joined, 3);
    assert!(
        no_worker_threads(id),
        "threads left: {:?}",
        worker_threads(id)
    );
}

#[test]
fn init_shutdown_cycles_with_tasks_leave_nothing() {
    let tasks_per_cycle = scaled(100, 6);
    for cycle in 0..scaled(1000, 2) {
        let rt = Runtime::new(config(2));
        let id = rt.id().get();
        {
            let mut g = rt.gil();
            let mut joinable = Vec::new();
            for i in 0..tasks_per_cycle {
                let t = match i % 4 {
                    0 => g.spawn(|cx| cx.gil().str("x")).unwrap(),
                    1 => g
                        .spawn(|cx| {
                            cx.sleep(Duration::from_secs(3600))?;
                            Ok(Value::NONE)
                        })
                        .unwrap(),
                    2 => g
                        .spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
                        .unwrap(),
                    _ => {
                        let t = g.spawn(|cx| cx.gil().int(1)).unwrap();
                        g.cancel(t, Some("cycle")).unwrap();
                        t
                    }
                };
                if i % 4 == 0 && i % 8 == 0 {
                    joinable.push(t);
                }
            }
            for t in joinable {
                let v = g.join(t).unwrap();
                g.decref(v).unwrap();
            }
        }
        let report = rt.shutdown().unwrap();
        assert!(report.leaks.is_empty(), "cycle {cycle}: {}", report.leaks);
        assert!(
            report.reclaimed.is_empty(),
            "cycle {cycle}: {:?}",
            report.reclaimed
        );
        assert_eq!(report.tasks.workers_joined, 2);
        #[cfg(all(target_os = "linux", not(miri)))]
        assert!(no_worker_threads(id), "cycle {cycle}");
        let _ = id;
    }
}

#[test]
fn a_pinned_state_hosts_tasks_and_a_task_of_another_runtime_is_rejected() {
    // A state held by its owner (not a `Runtime`, not a slot) sits at its final address, so
    // it can host worker threads; dropping it joins them (a state that could move cannot be
    // made: see the `compile_fail` example on `PinnedState`).
    let state = PinnedState::new(&config(1)).unwrap();
    let mut g = state.gil();
    let t = g.spawn(|_| Ok(Value::int(7).unwrap())).unwrap();
    assert_eq!(g.join(t).unwrap(), Value::int(7).unwrap());
    drop(g);
    let report = state.teardown();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
    assert_eq!(report.tasks.workers_joined, report.tasks.workers_started);
    // A task from another runtime is rejected.
    let a = Runtime::new(config(0));
    let b = Runtime::new(config(0));
    let t = a.gil().spawn(|_| Ok(Value::NONE)).unwrap();
    let mut g = b.gil();
    assert!(g.join(t).is_err());
    assert!(caught(&mut g).starts_with("ReferenceError"));
    g.clear_last_exception();
    drop(g);
    assert!(b.shutdown().unwrap().leaks.is_empty());
    assert!(a.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn a_task_cannot_join_itself_and_a_join_inside_a_task_can_be_cancelled() {
    let rt = Runtime::new(config(2));
    let mut g = rt.gil();
    let me = g
        .spawn(|cx| {
            let id = cx.id();
            let mut g = cx.gil();
            match g.join(id) {
                Ok(_) => g.str("joined itself?"),
                Err(r) => Err(r),
            }
        })
        .unwrap();
    assert!(g.join(me).is_err());
    assert_eq!(caught(&mut g), "RuntimeError: a task cannot join itself");
    // A task waiting in a join for a long sleeper: cancelling the waiter ends its wait.
    let sleeper = g
        .spawn(|cx| {
            cx.sleep(Duration::from_secs(3600))?;
            Ok(Value::NONE)
        })
        .unwrap();
    let waiting = Arc::new(AtomicBool::new(false));
    let w = Arc::clone(&waiting);
    let waiter = g
        .spawn(move |cx| {
            let mut g = cx.gil();
            w.store(true, Ordering::SeqCst);
            g.join(sleeper)
        })
        .unwrap();
    drop(g);
    while !waiting.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let mut g = rt.gil();
    assert!(g.cancel(waiter, None).unwrap());
    assert!(g.join(waiter).is_err());
    // No message: CancelledError() with no arguments, as CPython's task.cancel() gives.
    let e = g.err_fetch().unwrap();
    assert_eq!(g.repr(e).unwrap(), "CancelledError()");
    g.decref(e).unwrap();
    g.clear_last_exception();
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
}

#[test]
fn cancelling_a_delayed_task_drops_its_timer() {
    let rt = Runtime::new(config(1));
    let mut g = rt.gil();
    for _ in 0..10 {
        let t = g
            .spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
            .unwrap();
        g.cancel(t, None).unwrap();
        g.detach(t).unwrap();
    }
    drop(g);
    let report = rt.shutdown().unwrap();
    assert_eq!(report.tasks.timers, 0);
    assert_eq!(report.tasks.records(), 0);
    assert!(report.leaks.is_empty(), "{}", report.leaks);
}

/// Joining queued tasks with no workers runs each on the joining thread; taking a task out
/// of the middle of the ready queue is O(1), so joining n tasks (in reverse order, the
/// worst case for a queue search) is linear: 4x the tasks take about 4x the time (a search
/// per join made it 16x: 100k tasks took 26 s).
#[test]
#[cfg_attr(miri, ignore)] // a timing ratio over tens of thousands of tasks: too slow there
fn joining_queued_tasks_without_workers_is_linear() {
    fn join_all_reversed(n: usize) -> Duration {
        let rt = Runtime::new(config(0));
        let mut g = rt.gil();
        let ids: Vec<_> = (0..n)
            .map(|i| g.spawn(move |cx| cx.gil().int(i as i64)).unwrap())
            .collect();
        let t0 = Instant::now();
        for (i, &t) in ids.iter().enumerate().rev() {
            let v = g.join(t).unwrap();
            assert_eq!(g.as_i64(v).unwrap(), i as i64);
        }
        let took = t0.elapsed();
        drop(g);
        rt.shutdown().unwrap().assert_clean();
        took
    }
    let best = |n| (0..3).map(|_| join_all_reversed(n)).min().unwrap();
    let (small, large) = (best(10_000), best(40_000));
    let ratio = large.as_secs_f64() / small.as_secs_f64();
    assert!(
        ratio < 9.0,
        "40k joins took {large:?}, 10k {small:?}: {ratio:.1}x for 4x the tasks"
    );
}

/// `run_pending` skips the entries of tasks a join already ran, and runs each task once.
#[test]
fn run_pending_skips_tasks_a_join_already_ran() {
    let rt = Runtime::new(config(0));
    let mut g = rt.gil();
    let runs = Arc::new(AtomicUsize::new(0));
    let ids: Vec<_> = (0..5)
        .map(|_| {
            let runs = Arc::clone(&runs);
            g.spawn(move |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(Value::NONE)
            })
            .unwrap()
        })
        .collect();
    assert_eq!(g.join(ids[1]).unwrap(), Value::NONE);
    assert_eq!(g.join(ids[3]).unwrap(), Value::NONE);
    assert_eq!(g.run_pending(), 3, "the three not joined");
    assert_eq!(g.run_pending(), 0, "nothing left");
    assert_eq!(runs.load(Ordering::SeqCst), 5);
    for t in [ids[0], ids[2], ids[4]] {
        assert_eq!(g.join(t).unwrap(), Value::NONE);
    }
    drop(g);
    rt.shutdown().unwrap().assert_clean();
}

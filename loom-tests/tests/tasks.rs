//! loom models of the async registries: shutdown racing a task's completion, cancel racing
//! completion, and a join that may run the task itself racing the worker that would. Each
//! checks that a task reaches exactly one final state, that its body runs at most once, and
//! that shutdown joins the worker and leaves nothing live.
#![cfg(molt_loom)]

mod common;
use common::model;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use molt_state::{Config, Runtime, TaskState, Value};
use std::time::Duration;

/// One scheduler worker, and the allocation registry on, so the leak checks below mean
/// something.
fn config() -> Config {
    Config {
        track_allocations: Some(true),
        workers: Some(1),
        shutdown_timeout: Duration::from_secs(60),
        ..common::config()
    }
}

/// Spawns a task whose body counts its runs, checks for cancellation once, and returns 7.
fn spawn_counted(rt: &Runtime, runs: &Arc<AtomicUsize>) -> molt_state::TaskId {
    let runs = runs.clone();
    rt.gil()
        .spawn(move |cx| {
            runs.fetch_add(1, Ordering::SeqCst);
            cx.check_cancelled()?;
            Ok(Value::int(7).unwrap())
        })
        .unwrap()
}

/// The main thread spawns a task and shuts down at once, while the worker may be picking it
/// up: shutdown either cancels it while pending (it never runs) or waits for it to finish.
#[test]
fn shutdown_racing_task_completion() {
    model("tasks::shutdown_racing_task_completion", || {
        let rt = Runtime::new(config());
        let runs = Arc::new(AtomicUsize::new(0));
        spawn_counted(&rt, &runs);
        let report = rt.shutdown().expect("no task runs for long");
        let t = &report.tasks;
        assert_eq!(t.records(), 1);
        let pending = t.in_state(TaskState::Pending);
        let ran = runs.load(Ordering::SeqCst);
        // Seen pending by shutdown: cancelled, never ran. Otherwise it ran exactly once.
        assert_eq!(ran, 1 - pending as usize, "{t:?}");
        assert_eq!(t.workers_joined, 1);
        assert!(report.leaks.is_empty(), "{}", report.leaks);
    });
}

/// The main thread cancels a task the worker may be running, then joins it: the join sees
/// exactly one outcome, consistent with what the body did.
#[test]
fn cancel_racing_completion() {
    model("tasks::cancel_racing_completion", || {
        let rt = Runtime::new(config());
        let runs = Arc::new(AtomicUsize::new(0));
        let task = spawn_counted(&rt, &runs);
        let mut g = rt.gil();
        let took = g.cancel(task, Some("race")).unwrap();
        let state = g.task_state(task).unwrap();
        // A cancellation finishes a pending task at once; a running one keeps running.
        assert_ne!(state, TaskState::Pending);
        match g.join(task) {
            Ok(v) => {
                // Finished before the cancellation could be seen.
                assert_eq!(v, Value::int(7).unwrap());
                assert_eq!(runs.load(Ordering::SeqCst), 1);
                assert_ne!(state, TaskState::Cancelled);
            }
            Err(_) => {
                // Cancelled: either before it ran, or it saw the cancellation at its check.
                assert!(took, "only a cancellation that took effect cancels");
                let e = g.err_fetch().expect("CancelledError is current");
                assert_eq!(g.describe_exception(e), "CancelledError: race");
                g.decref(e).unwrap();
                assert!(runs.load(Ordering::SeqCst) <= 1);
            }
        }
        g.clear_last_exception();
        drop(g);
        let report = rt.shutdown().unwrap();
        // Shutdown joined the worker: whatever ran has run. `state` was read under the same
        // lock hold as the cancel: `Cancelled` means the task was still pending, and a task
        // cancelled while pending never runs.
        if state == TaskState::Cancelled {
            assert_eq!(
                runs.load(Ordering::SeqCst),
                0,
                "a task cancelled while pending ran"
            );
        }
        assert_eq!(report.tasks.records(), 0);
        assert!(report.leaks.is_empty(), "{}", report.leaks);
    });
}

/// A join finds the task still queued and runs it on the joining thread, or the worker got
/// there first and the join waits: either way the body runs exactly once.
#[test]
fn join_helping_races_the_worker() {
    model("tasks::join_helping_races_the_worker", || {
        let rt = Runtime::new(config());
        let runs = Arc::new(AtomicUsize::new(0));
        let task = spawn_counted(&rt, &runs);
        let v = rt.gil().join(task).unwrap();
        assert_eq!(v, Value::int(7).unwrap());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let report = rt.shutdown().unwrap();
        assert_eq!(report.tasks.workers_joined, 1);
        assert!(report.leaks.is_empty(), "{}", report.leaks);
    });
}

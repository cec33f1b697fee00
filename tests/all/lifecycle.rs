//! The Rust API lifecycle: init, shutdown, fresh state, fault injection, many runtimes.

use crate::{scaled, test_config};
use molt_arenas::handles::HandleError;
use molt_state::builtins::table::BUILTIN_CLASSES;
use molt_state::intern::BASE_NAMES;
use molt_state::{Config, InitStep, Runtime};

#[test]
fn init_builds_every_owner_and_shutdown_frees_everything() {
    let rt = Runtime::try_new(Config {
        argv: vec!["prog".into(), "arg".into()],
        capabilities: Some(vec!["fs.read".into()]),
        ..test_config()
    })
    .unwrap();
    assert_eq!(rt.classes().len(), BUILTIN_CLASSES.len());
    assert_eq!(rt.lock().argv(), ["prog", "arg"]);
    assert!(rt.require("fs.read").is_ok());
    assert!(rt.require("fs.write").is_err());
    assert!(rt.exception_type("BaseException").is_some());
    // While alive, the registry sees what the owners hold.
    assert!(!rt.live_allocations().is_empty());
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{}", report.leaks);
    assert!(report.registry_enabled);
    assert!(report.registry.iter().all(|k| k.allocs == k.frees));
    assert!(report.registry.iter().any(|k| k.allocs > 0));
    assert!(report.hash_secret_wiped);
    assert_eq!(report.live_after(), 0);
    let held = |owner: &str| report.held.iter().find(|h| h.owner == owner).unwrap().items;
    assert_eq!(held("builtin classes"), BUILTIN_CLASSES.len() as u64);
    assert_eq!(held("argv"), 2);
    assert_eq!(held("capabilities"), 1);
    assert!(report.to_string().contains("leak report: empty"));
}

#[test]
fn each_owner_is_fresh_after_the_next_init() {
    let first = Runtime::try_new(Config {
        argv: vec!["one".into()],
        ..test_config()
    })
    .unwrap();
    let names_at_init = first.lock().interned_count();
    assert_eq!(names_at_init, BASE_NAMES.len() + BUILTIN_CLASSES.len());
    first.lock().intern("only_in_the_first_runtime");
    first.lock().set_argv(vec!["changed".into()]);
    let old_object = first.classes().by_name("object").unwrap();
    let first_id = first.id();
    first.shutdown().unwrap();

    let second = Runtime::try_new(test_config()).unwrap();
    assert_ne!(second.id(), first_id);
    assert_eq!(second.lock().interned_count(), names_at_init);
    assert!(second.lock().argv().is_empty());
    // A class handle of the dead runtime is rejected, not resolved.
    assert!(matches!(
        second.classes().get(old_object),
        Err(HandleError::ForeignRuntime { .. })
    ));
    assert!(
        second
            .classes()
            .get(second.classes().by_name("object").unwrap())
            .is_ok()
    );
    assert!(second.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn drop_runs_the_same_teardown() {
    // Nothing to observe from outside but the leak check: under Miri (leak check on) a
    // teardown that forgot anything fails this test.
    for _ in 0..scaled(100, 3) {
        let rt = Runtime::new(test_config());
        rt.lock().intern("dropped");
        drop(rt);
    }
}

#[test]
fn fault_injection_at_every_step_leaves_nothing_and_a_later_init_succeeds() {
    for step in InitStep::ALL {
        let err = Runtime::try_new(Config {
            fail_at: Some(step),
            ..test_config()
        })
        .unwrap_err();
        assert_eq!(err.step, step);
        assert!(err.to_string().contains(step.name()), "{err}");
        // Nothing survived (Miri's leak check proves the memory side); a new init works.
        let rt = Runtime::try_new(test_config()).unwrap();
        assert!(rt.shutdown().unwrap().leaks.is_empty());
    }
}

#[test]
fn invalid_configuration_is_an_init_error() {
    let err = Runtime::try_new(Config {
        capabilities: Some(vec!["Not A Capability".into()]),
        ..test_config()
    })
    .unwrap_err();
    assert_eq!(err.step, InitStep::Caches);
    assert!(err.message.contains("Not A Capability"));
}

#[test]
#[should_panic(expected = "use Runtime::try_new")]
fn new_panics_with_a_pointer_to_try_new() {
    let _ = Runtime::new(Config {
        fail_at: Some(InitStep::BuiltinClasses),
        ..test_config()
    });
}

#[test]
fn ten_thousand_cycles_in_one_process() {
    let n = scaled(10_000, 10);
    for i in 0..n {
        let rt = Runtime::try_new(test_config()).unwrap();
        let report = rt.shutdown().unwrap();
        assert!(report.leaks.is_empty(), "cycle {i}: {}", report.leaks);
    }
}

#[test]
fn several_runtimes_live_at_once_on_parallel_threads() {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..scaled(200, 2) {
                    let rt = Runtime::try_new(Config {
                        argv: vec![format!("thread{t}-cycle{i}")],
                        ..test_config()
                    })
                    .unwrap();
                    let name = format!("t{t}_i{i}");
                    let sym = rt.lock().intern(&name);
                    assert_eq!(rt.lock().name(sym), Some(name.as_str()));
                    // Nothing of another thread's runtime is visible here.
                    assert_eq!(rt.lock().argv(), [format!("thread{t}-cycle{i}")]);
                    assert!(rt.shutdown().unwrap().leaks.is_empty());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn handles_do_not_cross_between_live_runtimes() {
    let a = Runtime::try_new(test_config()).unwrap();
    let b = Runtime::try_new(test_config()).unwrap();
    let a_int = a.classes().by_name("int").unwrap();
    let err = b.classes().get(a_int).unwrap_err();
    assert_eq!(
        err,
        HandleError::ForeignRuntime {
            handle: a.id(),
            table: b.id()
        }
    );
    assert!(b.classes().mro(a_int).is_err());
    assert!(b.classes().bases(a_int).is_err());
    let a_mro: Vec<_> = a.classes().mro(a_int).unwrap().collect();
    assert_eq!(a_mro, [a_int, a.classes().by_name("object").unwrap()]);
}

#[test]
fn registry_off_reports_disabled_and_costs_nothing_visible() {
    let rt = Runtime::try_new(Config {
        track_allocations: Some(false),
        ..test_config()
    })
    .unwrap();
    assert!(rt.live_allocations().is_empty());
    let report = rt.shutdown().unwrap();
    assert!(!report.registry_enabled);
    assert!(report.registry.is_empty());
    assert!(report.to_string().contains("disabled"));
}

/// A shutdown drains exactly the magazines of the threads that used the pool: the thread
/// that shuts down registers none of its own (teardown frees the runtime's preallocated
/// `MemoryError`, made by the worker's first allocation, to the shared free list).
#[test]
fn shutdown_drains_only_the_caches_of_threads_that_used_the_pool() {
    let rt = std::sync::Arc::new(Runtime::try_new(Config::default()).unwrap());
    let (parked_tx, parked) = std::sync::mpsc::channel();
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let worker = {
        let rt = std::sync::Arc::clone(&rt);
        std::thread::spawn(move || {
            {
                let mut g = rt.gil();
                let s = g.str("x").unwrap();
                g.decref(s).unwrap();
            }
            drop(rt);
            parked_tx.send(()).unwrap();
            // Alive (its magazine registered) until the shutdown is done.
            wait.recv().unwrap();
        })
    };
    parked.recv().unwrap();
    let rt = std::sync::Arc::try_unwrap(rt).expect("the worker dropped its handle");
    let report = rt.shutdown().unwrap();
    release.send(()).unwrap();
    worker.join().unwrap();
    assert_eq!(report.pool.caches_drained, 1, "{:?}", report.pool);
    report.assert_clean();
}

//! Task benchmarks, each next to a baseline measured in the same run.
//!
//! * `spawn_join/*`: spawning a trivial task (it returns an int) and joining it.
//!   - `join_helps`: the default: 2 worker threads, and a join that finds the task still
//!     queued runs it on the joining thread;
//!   - `on_worker`: the task is left to a worker (the caller releases the runtime lock and
//!     waits until the task is done, then joins): the hand-off to another thread and back;
//!   - `inline`: no worker threads (`workers = 0`), the task runs in `join`;
//!   - `baseline_channel_round_trip`: a std `mpsc` round trip to a thread that is already
//!     running (what a minimal worker hand-off costs);
//!   - `baseline_thread_spawn_join`: `std::thread::spawn` + `join` (a thread per task).
//! * `cycle/*`: init+shutdown of a runtime that never spawned (workers never start) vs one
//!   that ran one task (2 scheduler workers started and joined).
//!
//! Run: `cargo bench --bench tasks`.

use criterion::{Criterion, criterion_group, criterion_main};
use molt_state::hash::HashSeed;
use molt_state::{Config, Runtime, TaskState, Value};
use std::hint::black_box;
use std::time::Duration;

fn config(workers: usize) -> Config {
    Config {
        read_env: false,
        track_allocations: Some(false),
        hash_seed: Some(HashSeed::Fixed(0)),
        workers: Some(workers),
        ..Config::default()
    }
}

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    let rt = Runtime::new(config(2));
    g.bench_function("join_helps", |b| {
        let mut gil = rt.gil();
        b.iter(|| {
            let t = gil.spawn(|_| Ok(Value::int(1).unwrap())).unwrap();
            black_box(gil.join(t).unwrap())
        })
    });
    g.bench_function("on_worker", |b| {
        b.iter(|| {
            let t = rt.gil().spawn(|_| Ok(Value::int(1).unwrap())).unwrap();
            // Let a worker take it: poll without holding the lock between looks.
            while rt.gil().task_state(t).unwrap() != TaskState::Done {
                std::hint::spin_loop();
            }
            black_box(rt.gil().join(t).unwrap())
        })
    });
    drop(rt);
    let rt = Runtime::new(config(0));
    g.bench_function("inline", |b| {
        let mut gil = rt.gil();
        b.iter(|| {
            let t = gil.spawn(|_| Ok(Value::int(1).unwrap())).unwrap();
            black_box(gil.join(t).unwrap())
        })
    });
    drop(rt);
    let (to_worker, jobs) = std::sync::mpsc::channel::<u64>();
    let (to_caller, results) = std::sync::mpsc::channel::<u64>();
    let worker = std::thread::spawn(move || {
        for j in jobs {
            if to_caller.send(j + 1).is_err() {
                break;
            }
        }
    });
    g.bench_function("baseline_channel_round_trip", |b| {
        b.iter(|| {
            to_worker.send(black_box(1)).unwrap();
            black_box(results.recv().unwrap())
        })
    });
    drop(to_worker);
    worker.join().unwrap();
    g.bench_function("baseline_thread_spawn_join", |b| {
        b.iter(|| black_box(std::thread::spawn(|| black_box(1u64) + 1).join().unwrap()))
    });
    g.finish();
}

fn cycle(c: &mut Criterion) {
    let mut g = c.benchmark_group("cycle");
    g.bench_function("no_tasks", |b| {
        b.iter(|| {
            let rt = Runtime::new(config(2));
            black_box(rt.shutdown().unwrap())
        })
    });
    g.bench_function("one_task_2_workers", |b| {
        b.iter(|| {
            let rt = Runtime::new(config(2));
            {
                let mut gil = rt.gil();
                let t = gil.spawn(|_| Ok(Value::NONE)).unwrap();
                black_box(gil.join(t).unwrap());
            }
            black_box(rt.shutdown().unwrap())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = spawn_join, cycle
}
criterion_main!(benches);

//! Lifecycle benchmarks, each next to a baseline measured in the same run.
//!
//! * `cycle/*`: a full init+shutdown cycle (every builtin class with a handle and a class
//!   table entry, the native table, the interner, heap, caches, capabilities, hash secret;
//!   the static names, MROs and method tables are program data), through the Rust API with
//!   the registry off (release default) and on, and through the C ABI's published slot.
//!   Baseline: building and dropping a `HashMap<String, Vec<usize>>` with as many entries as
//!   the runtime has classes and names, i.e. what building the same data at init in
//!   ordinary std containers would cost.
//! * `intern/*`: interning an existing name (a hit): one interned at run time and a static
//!   one (a builtin class name), vs a `HashMap<String, u32>` lookup.
//! * `enter/*`: entering the published runtime (what every C ABI call does), vs a load of a
//!   plain static.
//!
//! Run: `cargo bench --bench lifecycle`.

use criterion::{Criterion, criterion_group, criterion_main};
use molt_state::hash::HashSeed;
use molt_state::{Config, PinnedState, Runtime, RuntimeSlot};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn config(track: bool) -> Config {
    Config {
        read_env: false,
        track_allocations: Some(track),
        hash_seed: Some(HashSeed::Fixed(0)),
        ..Config::default()
    }
}

fn cycle(c: &mut Criterion) {
    let probe = Runtime::new(config(false));
    let classes = probe.classes().len();
    let names = probe.lock().interned_count();
    drop(probe);

    let mut g = c.benchmark_group("cycle");
    g.bench_function("baseline_std_containers", |b| {
        b.iter(|| {
            let mut m: HashMap<String, Vec<usize>> = HashMap::with_capacity(names);
            for i in 0..names {
                m.insert(format!("name{i}"), Vec::new());
            }
            for i in 0..classes {
                m.insert(format!("class{i}"), vec![i, 0]);
            }
            black_box(m)
        })
    });
    g.bench_function("runtime_registry_off", |b| {
        b.iter(|| black_box(Runtime::new(config(false))).shutdown().unwrap())
    });
    g.bench_function("runtime_registry_on", |b| {
        b.iter(|| black_box(Runtime::new(config(true))).shutdown().unwrap())
    });
    let slot = RuntimeSlot::new();
    g.bench_function("slot_init_shutdown", |b| {
        b.iter(|| {
            slot.init(|| PinnedState::new(&config(false))).unwrap();
            slot.shutdown(Duration::from_secs(1)).unwrap()
        })
    });
    g.finish();
}

fn intern(c: &mut Criterion) {
    let rt = Runtime::new(config(false));
    let mut map: HashMap<String, u32> = HashMap::new();
    for i in 0..1000u32 {
        let name = format!("attr_{i}");
        rt.lock().intern(&name);
        map.insert(name, i);
    }
    let mut g = c.benchmark_group("intern");
    g.bench_function("baseline_hashmap_lookup", |b| {
        b.iter(|| black_box(map.get(black_box("attr_500"))))
    });
    let mut locked = rt.lock();
    g.bench_function("existing_name", |b| {
        b.iter(|| black_box(locked.intern(black_box("attr_500"))))
    });
    g.bench_function("existing_static_name", |b| {
        b.iter(|| black_box(locked.intern(black_box("ValueError"))))
    });
    g.finish();
}

static PLAIN: AtomicUsize = AtomicUsize::new(7);

fn enter(c: &mut Criterion) {
    let slot = RuntimeSlot::new();
    slot.init(|| PinnedState::new(&config(false))).unwrap();
    let mut g = c.benchmark_group("enter");
    g.bench_function("baseline_static_load", |b| {
        b.iter(|| black_box(PLAIN.load(Ordering::Acquire)))
    });
    g.bench_function("slot_enter", |b| {
        b.iter(|| black_box(slot.enter().unwrap().id()))
    });
    g.finish();
    slot.shutdown(Duration::from_secs(1)).unwrap();
}

criterion_group!(benches, cycle, intern, enter);
criterion_main!(benches);

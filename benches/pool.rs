//! Object pool benchmarks, each next to baselines measured in the same run.
//!
//! * `alloc_free/*`: allocate and free one small object (a 32-byte value) on one thread:
//!   through the pool (`pool`: `Pool::alloc`/`free`, which find the thread's magazine in a
//!   thread-local list on each call; `pool_local_handle`: through a `LocalCache` handle held
//!   across calls, as a runtime's GIL token holds it), `Box` on the system allocator (glibc),
//!   `Box`-equivalent through mimalloc, and a bare `Vec` free list of slots (the floor: no
//!   thread-local lookup, no versions, no registry). Each writes the value, reads it back
//!   and keeps one word. Every variant reads the value back from memory through an opaque
//!   pointer (`black_box`), as the pool's separate `free` call must; otherwise LLVM keeps
//!   the baselines' values in registers (or removes the malloc/free pair entirely).
//! * `object/*`: a str and a 2-tuple created and dropped through the object model (GIL held).
//! * `cross_thread/*`: 2 threads, one allocating and one freeing through a channel of
//!   batches: pool vs `Box` on the system allocator (elements per second).
//! * `shutdown/*`: tearing down a pool holding 1e3..1e6 live objects (drops them all), and
//!   a pool of the same capacity whose objects were all freed (the chunk cost alone).
//!
//! Run: `cargo bench --bench pool`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use molt_arenas::pool::Pool;
use molt_state::hash::HashSeed;
use molt_state::{Config, Runtime, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::time::Duration;

type Small = [u64; 4];

fn alloc_free(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_free");
    let pool: Pool<Small> = Pool::new();
    // Warm the magazine.
    let o = pool.alloc([0; 4]).unwrap();
    pool.free(o);
    g.bench_function("pool", |b| {
        b.iter(|| {
            let o = pool.alloc([black_box(1), 2, 3, 4]).unwrap();
            black_box(pool.free(o)[0])
        })
    });
    let local = pool.local();
    g.bench_function("pool_local_handle", |b| {
        b.iter(|| {
            let o = local.alloc([black_box(1), 2, 3, 4]).unwrap();
            black_box(local.free(o)[0])
        })
    });
    drop(local);
    let layout = Layout::new::<Small>();
    g.bench_function("baseline_system_malloc", |b| {
        b.iter(|| {
            // SAFETY: non-zero-size layout; the block is written, read and freed with the
            // same layout.
            unsafe {
                // black_box: without it LLVM removes the malloc/free pair altogether.
                let p = black_box(System.alloc(layout)).cast::<Small>();
                p.write([black_box(1), 2, 3, 4]);
                let v = black_box(p).read();
                System.dealloc(p.cast(), layout);
                black_box(v[0])
            }
        })
    });
    let mi = mimalloc::MiMalloc;
    g.bench_function("baseline_mimalloc", |b| {
        b.iter(|| {
            // SAFETY: as above, through mimalloc.
            unsafe {
                let p = black_box(mi.alloc(layout)).cast::<Small>();
                p.write([black_box(1), 2, 3, 4]);
                let v = black_box(p).read();
                mi.dealloc(p.cast(), layout);
                black_box(v[0])
            }
        })
    });
    let mut slots: Vec<Small> = vec![[0; 4]; 64];
    let mut free: Vec<u32> = (0..64).collect();
    g.bench_function("floor_vec_free_list", |b| {
        b.iter(|| {
            let i = free.pop().unwrap();
            slots[i as usize] = [black_box(1), 2, 3, 4];
            let v = *black_box(&slots[i as usize]);
            free.push(i);
            black_box(v[0])
        })
    });
    g.finish();
}

fn object(c: &mut Criterion) {
    let rt = Runtime::new(Config {
        read_env: false,
        track_allocations: Some(false),
        hash_seed: Some(HashSeed::Fixed(0)),
        ..Config::default()
    });
    let mut gil = rt.gil();
    let mut g = c.benchmark_group("object");
    g.bench_function("str_create_drop", |b| {
        b.iter(|| {
            let s = gil.str(black_box("hello")).unwrap();
            gil.decref(s).unwrap();
        })
    });
    g.bench_function("tuple2_create_drop", |b| {
        let one = Value::int(1).unwrap();
        b.iter(|| {
            let t = gil.tuple(black_box(&[one, Value::NONE])).unwrap();
            gil.decref(t).unwrap();
        })
    });
    g.bench_function("baseline_box_str_create_drop", |b| {
        b.iter(|| black_box(Box::<str>::from(black_box("hello"))))
    });
    g.finish();
}

const BATCH: usize = 256;

fn cross_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("cross_thread");
    g.throughput(Throughput::Elements(BATCH as u64 * 64));
    g.bench_function("pool_alloc_here_free_there", |b| {
        let pool: Pool<Small> = Pool::new();
        b.iter(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<molt_arenas::pool::Owned>>(4);
            std::thread::scope(|s| {
                s.spawn(|| {
                    for batch in rx {
                        for o in batch {
                            black_box(pool.free(o));
                        }
                    }
                });
                for _ in 0..64 {
                    let batch: Vec<_> = (0..BATCH)
                        .map(|i| pool.alloc([i as u64; 4]).unwrap())
                        .collect();
                    tx.send(batch).unwrap();
                }
                drop(tx);
            });
        })
    });
    g.bench_function("baseline_box_alloc_here_free_there", |b| {
        b.iter(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Box<Small>>>(4);
            std::thread::scope(|s| {
                s.spawn(|| {
                    for batch in rx {
                        for o in batch {
                            black_box(o);
                        }
                    }
                });
                for _ in 0..64 {
                    let batch: Vec<_> = (0..BATCH).map(|i| Box::new([i as u64; 4])).collect();
                    tx.send(batch).unwrap();
                }
                drop(tx);
            });
        })
    });
    g.finish();
}

fn shutdown(c: &mut Criterion) {
    let mut g = c.benchmark_group("shutdown");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        g.bench_function(format!("live_{n}"), |b| {
            b.iter_batched(
                || {
                    let pool: Pool<Box<u64>> = Pool::new();
                    for i in 0..n {
                        let _leaked = pool.alloc(Box::new(i as u64)).unwrap();
                    }
                    pool
                },
                |pool| black_box(pool.shutdown()),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(format!("freed_{n}"), |b| {
            b.iter_batched(
                || {
                    let pool: Pool<Box<u64>> = Pool::new();
                    let owned: Vec<_> = (0..n)
                        .map(|i| pool.alloc(Box::new(i as u64)).unwrap())
                        .collect();
                    for o in owned {
                        pool.free(o);
                    }
                    pool
                },
                |pool| black_box(pool.shutdown()),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, alloc_free, object, cross_thread, shutdown);
criterion_main!(benches);

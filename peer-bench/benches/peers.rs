//! molt-state next to peer runtimes and baselines, all measured in one run.
//!
//! Run the whole peer group (from the repository root; `CARGO_TARGET_DIR` optional):
//!
//! ```sh
//! cargo bench --manifest-path peer-bench/Cargo.toml --bench peers -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! Times are the benchmark thread's CPU time (see `clock.rs`: the machine is shared, and wall
//! time counts other processes' time slices); `PEER_BENCH_CLOCK=wall` measures wall time.
//!
//! * `cycle/*`: one runtime built and torn down, end to end.
//!   - `molt_rust_api`: `Runtime::try_new` + `shutdown` with the registry off (the release
//!     default) and the default config otherwise (random hash seed, environment read), i.e.
//!     the same work as `molt_runtime_init`.
//!   - `molt_rust_api_report_text`: the same plus formatting the teardown report as text
//!     (a diagnostic: what `molt_runtime_shutdown` adds on top of the slot's teardown).
//!   - `molt_c_abi`: `molt_runtime_init` + `molt_runtime_shutdown` (the process slot; shutdown
//!     also formats the teardown report for `molt_last_teardown_report`).
//!   - `lua54_bare`: `luaL_newstate` + `lua_close` (Lua 5.4, vendored, through its C API).
//!   - `lua54_openlibs`: `luaL_newstate` + `luaL_openlibs` + `lua_close` (the usual embedding:
//!     base, package, coroutine, table, io, os, string, math, utf8, debug).
//!   - `quickjs_full_context`: `JS_NewRuntime` + `JS_NewContext` + `JS_FreeContext` +
//!     `JS_FreeRuntime` (quickjs-ng, as bundled by `rquickjs-sys`; every intrinsic).
//!   - `quickjs_base_context`: `JS_NewRuntime` + `JS_NewContextRaw` +
//!     `JS_AddIntrinsicBaseObjects` + frees (Object, Function, Error types, Array, ... only).
//! * `intern/*`: interning a name that already exists (1,000 interned `attr_N` names, looking
//!   up `attr_500`): molt-state's interner (`Interp::intern`, runtime lock held across
//!   iterations) vs `lasso::Rodeo::get_or_intern` with its default hasher (std `RandomState`,
//!   SipHash-1-3) and with foldhash (the hasher molt-state's interner uses).
//! * `ffi/*`: what a C ABI call pays to reach the runtime state: `molt_runtime_argv_len`
//!   (panic boundary, enter the slot, runtime lock, read `len(sys.argv)`) and
//!   `molt_runtime_is_initialized` (one load of the slot's lifecycle word, no entry), vs a
//!   load of a plain static through an opaque reference.
//! * `threads/*`: init + shutdown while T = 0, 1, 2, 4, 8 other threads hold a pool cache of
//!   the runtime. Per iteration: build the runtime; hand it to T parked worker threads, each
//!   allocates one str through the GIL (`gil().str("x")`) and decrefs it, which leaves its
//!   per-thread magazine registered with the runtime's pool; the workers stay alive; then
//!   shut down, which drains the magazines of the live threads. Only init and shutdown are
//!   timed (`iter_custom`); the hand-off to the workers (thread wake-ups) is not.
//!   `threads/0` is the same loop without workers (the baseline). Each iteration reads the
//!   clock four times (two spans); `threads/empty_spans` measures two empty spans, i.e. what
//!   the clock itself adds to each iteration.

mod clock;

use clock::Clock;
use criterion::{Criterion, criterion_group, criterion_main};
use mlua_sys as lua;
use molt_state::ffi::{
    MOLT_OK, molt_runtime_argv_len, molt_runtime_init, molt_runtime_is_initialized,
    molt_runtime_shutdown,
};
use molt_state::{Config, Runtime};
use rquickjs_sys as qjs;
use std::hint::black_box;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

/// The release default: registry off, everything else as `molt_runtime_init` resolves it.
fn config() -> Config {
    Config {
        track_allocations: Some(false),
        ..Config::default()
    }
}

fn lua_cycle(openlibs: bool) {
    // SAFETY: `luaL_newstate` has no preconditions; it returns a fresh state or NULL (checked).
    let l = unsafe { lua::luaL_newstate() };
    assert!(!l.is_null(), "luaL_newstate: out of memory");
    if openlibs {
        // SAFETY: `l` is a valid, freshly created state, used on this thread only.
        unsafe { lua::luaL_openlibs(l) };
    }
    // SAFETY: `l` is valid and closed exactly once; nothing refers to it afterwards.
    unsafe { lua::lua_close(black_box(l)) };
}

fn quickjs_cycle(full: bool) {
    // SAFETY: `JS_NewRuntime` has no preconditions; it returns a runtime or NULL (checked).
    let rt = unsafe { qjs::JS_NewRuntime() };
    assert!(!rt.is_null(), "JS_NewRuntime: out of memory");
    let ctx = if full {
        // SAFETY: `rt` is a valid runtime, used on this thread only.
        unsafe { qjs::JS_NewContext(rt) }
    } else {
        // SAFETY: as above; the raw context is then given the base intrinsics only.
        unsafe {
            let ctx = qjs::JS_NewContextRaw(rt);
            assert!(!ctx.is_null(), "JS_NewContextRaw: out of memory");
            assert_eq!(qjs::JS_AddIntrinsicBaseObjects(ctx), 0);
            ctx
        }
    };
    assert!(!ctx.is_null(), "JS_NewContext: out of memory");
    // SAFETY: `ctx` belongs to `rt`; the context is freed before its runtime, each once, and
    // neither is used afterwards.
    unsafe {
        qjs::JS_FreeContext(black_box(ctx));
        qjs::JS_FreeRuntime(rt);
    }
}

fn cycle(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("cycle");
    g.bench_function("molt_rust_api", |b| {
        b.iter(|| {
            let rt = Runtime::try_new(config()).unwrap();
            black_box(rt.shutdown().unwrap())
        })
    });
    // Diagnostic: the Rust API cycle plus formatting the teardown report as text, which
    // `molt_runtime_shutdown` does for `molt_last_teardown_report` on every shutdown.
    g.bench_function("molt_rust_api_report_text", |b| {
        b.iter(|| {
            let rt = Runtime::try_new(config()).unwrap();
            black_box(rt.shutdown().unwrap().to_string())
        })
    });
    assert_eq!(molt_runtime_is_initialized(), 0);
    g.bench_function("molt_c_abi", |b| {
        b.iter(|| {
            assert_eq!(molt_runtime_init(), MOLT_OK);
            assert_eq!(molt_runtime_shutdown(), MOLT_OK);
        })
    });
    g.bench_function("lua54_bare", |b| b.iter(|| lua_cycle(false)));
    g.bench_function("lua54_openlibs", |b| b.iter(|| lua_cycle(true)));
    g.bench_function("quickjs_full_context", |b| b.iter(|| quickjs_cycle(true)));
    g.bench_function("quickjs_base_context", |b| b.iter(|| quickjs_cycle(false)));
    g.finish();
}

fn intern(c: &mut Criterion<Clock>) {
    let rt = Runtime::try_new(config()).unwrap();
    let mut rodeo = lasso::Rodeo::default();
    let mut rodeo_fold: lasso::Rodeo<lasso::Spur, _> =
        lasso::Rodeo::with_hasher(hashbrown::DefaultHashBuilder::default());
    let names: Vec<String> = (0..1000).map(|i| format!("attr_{i}")).collect();
    let mut interp = rt.lock();
    for name in &names {
        interp.intern(name);
        rodeo.get_or_intern(name);
        rodeo_fold.get_or_intern(name);
    }
    let before = (interp.interned_count(), rodeo.len(), rodeo_fold.len());
    let mut g = c.benchmark_group("intern");
    g.bench_function("molt_existing_name", |b| {
        b.iter(|| black_box(interp.intern(black_box("attr_500"))))
    });
    g.bench_function("baseline_lasso_rodeo_sip", |b| {
        b.iter(|| black_box(rodeo.get_or_intern(black_box("attr_500"))))
    });
    g.bench_function("baseline_lasso_rodeo_foldhash", |b| {
        b.iter(|| black_box(rodeo_fold.get_or_intern(black_box("attr_500"))))
    });
    g.finish();
    // Every lookup was a hit: nothing new was interned.
    assert_eq!(
        before,
        (interp.interned_count(), rodeo.len(), rodeo_fold.len())
    );
    drop(interp);
    rt.shutdown().unwrap();
}

static PLAIN: u64 = 7;

fn ffi(c: &mut Criterion<Clock>) {
    assert_eq!(molt_runtime_init(), MOLT_OK);
    let mut g = c.benchmark_group("ffi");
    g.bench_function("baseline_static_load", |b| b.iter(|| *black_box(&PLAIN)));
    g.bench_function("molt_runtime_is_initialized", |b| {
        b.iter(|| molt_runtime_is_initialized())
    });
    g.bench_function("molt_runtime_argv_len", |b| {
        let mut n = usize::MAX;
        // SAFETY: `n` is a valid, writable `usize` for the duration of the call.
        assert_eq!(unsafe { molt_runtime_argv_len(&mut n) }, MOLT_OK);
        assert_ne!(n, usize::MAX);
        b.iter(|| {
            // SAFETY: `n` is a valid, writable `usize` for the duration of the call.
            let status = unsafe { molt_runtime_argv_len(black_box(&mut n)) };
            black_box((status, n))
        })
    });
    g.finish();
    assert_eq!(molt_runtime_shutdown(), MOLT_OK);
}

/// Parked threads that, when handed a runtime, allocate one object through its GIL (so the
/// runtime's pool registers their magazine), drop their handle and report back, staying
/// alive.
struct Workers {
    to: Vec<Sender<Arc<Runtime>>>,
    done: Receiver<()>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    fn new(n: usize) -> Self {
        let (done_tx, done) = channel();
        let mut to = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..n {
            let (tx, rx) = channel::<Arc<Runtime>>();
            let done_tx = done_tx.clone();
            handles.push(std::thread::spawn(move || {
                for rt in rx {
                    {
                        let mut g = rt.gil();
                        let s = g.str("x").unwrap();
                        g.decref(s).unwrap();
                    }
                    drop(rt);
                    done_tx.send(()).unwrap();
                }
            }));
            to.push(tx);
        }
        Workers { to, done, handles }
    }

    /// One timed cycle: init, (untimed) hand-off to the workers, shutdown.
    fn cycle(&self, clock: Clock) -> (Duration, molt_state::TeardownReport) {
        let t0 = clock.now();
        let rt = Arc::new(Runtime::try_new(config()).unwrap());
        let init = clock.since(t0);
        for tx in &self.to {
            tx.send(Arc::clone(&rt)).unwrap();
        }
        for _ in &self.to {
            self.done.recv().unwrap();
        }
        let rt = Arc::try_unwrap(rt).expect("every worker dropped its handle");
        let t1 = clock.now();
        let report = black_box(rt.shutdown().unwrap());
        (init + clock.since(t1), report)
    }

    fn join(self) {
        drop(self.to);
        for h in self.handles {
            h.join().unwrap();
        }
    }
}

fn threads(c: &mut Criterion<Clock>) {
    let clock = Clock::from_env();
    let mut g = c.benchmark_group("threads");
    g.sample_size(30);
    g.bench_function("empty_spans", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let t0 = clock.now();
                    let first = clock.since(t0);
                    let t1 = clock.now();
                    first + clock.since(t1)
                })
                .sum()
        })
    });
    for n in [0usize, 1, 2, 4, 8] {
        let workers = Workers::new(n);
        // Check the premise once: shutdown drains exactly the n live threads' caches.
        let (_, report) = workers.cycle(clock);
        assert_eq!(report.pool.caches_drained, n as u64, "{n} threads");
        assert!(report.leaks.is_empty());
        g.bench_function(n.to_string(), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| workers.cycle(clock).0).sum())
        });
        workers.join();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(Clock::from_env());
    targets = cycle, intern, ffi, threads
}
criterion_main!(benches);

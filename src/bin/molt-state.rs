//! `molt-state`: runs the default workload, init/shutdown cycles, and inspection commands.

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use molt_state::{Config, Gil, PyResult, Runtime, TeardownReport, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(version, about = "Init, exercise and tear down molt-state runtimes")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

/// Bounds of `cycle`'s arguments: clap refuses values outside them with a usage error,
/// instead of the program aborting (100,000 threads) or panicking (a timing buffer of 2^64
/// entries).
const MAX_CYCLES: u64 = 10_000_000;
const MAX_THREADS: i64 = 1024;
const MAX_ALLOC_THREADS: i64 = 64;
const MAX_TASKS: i64 = 100_000;

#[derive(Subcommand)]
enum Command {
    /// Init a runtime on the embedded default config, run a workload that touches every
    /// sub-state, shut down, and print the teardown report (the default command).
    Run,
    /// Run N init/shutdown cycles and print cycle-time percentiles and RSS before/after.
    Cycle {
        /// Number of cycles (in total, over all threads; 1 to 10,000,000: each cycle's time
        /// is kept for the percentiles).
        #[arg(short = 'n', long, default_value_t = 10_000,
              value_parser = clap::value_parser!(u64).range(1..=MAX_CYCLES))]
        cycles: u64,
        /// Threads running cycles side by side, each with its own runtimes (1 to 1024).
        #[arg(long, default_value_t = 1,
              value_parser = clap::value_parser!(u32).range(1..=MAX_THREADS))]
        threads: u32,
        /// In each cycle, this many extra threads allocate objects from the runtime (one of
        /// them left alive for shutdown to reclaim) and exit before it shuts down (0 to 64).
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=MAX_ALLOC_THREADS))]
        alloc_threads: u32,
        /// In each cycle, spawn this many tasks (a quarter sleeping, a quarter on a long
        /// timer, a quarter cancelled, a quarter run and some joined) before shutdown, which
        /// cancels what is left and joins the worker threads (0 to 100,000).
        #[arg(long, default_value_t = 0,
              value_parser = clap::value_parser!(u32).range(0..=MAX_TASKS))]
        tasks: u32,
        /// Exit non-zero if anonymous RSS grows by more than this many KiB (Linux).
        #[arg(long)]
        max_anon_growth_kib: Option<i64>,
    },
    /// Print the builtin classes with their bases and MRO (as CPython 3.11 has them).
    Classes {
        /// Print JSON (one object per class: name, bases, mro) instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The embedded default config of `molt-state run`.
fn run_config() -> Config {
    Config {
        argv: vec!["molt-state".into(), "run".into()],
        capabilities: Some(vec!["fs.read".into(), "time".into()]),
        track_allocations: Some(true),
        ..Config::default()
    }
}

fn workload(rt: &Runtime) -> Result<(), String> {
    // Interned names: look up base names, intern new ones, resolve them back.
    {
        let mut interp = rt.lock();
        for i in 0..1000 {
            let name = format!("attr_{i}");
            let sym = interp.intern(&name);
            if interp.name(sym) != Some(name.as_str()) {
                return Err(format!("interned {name:?} resolved wrongly"));
            }
        }
        interp.set_argv(vec!["molt-state".into(), "run".into(), "--workload".into()]);
    }
    // Builtin classes: every class's MRO starts with itself and ends with object.
    let classes = rt.classes();
    let object = classes.by_name("object").ok_or("no builtin object class")?;
    for c in classes.iter() {
        let mro: Vec<_> = classes.mro(c).map_err(|e| e.to_string())?.collect();
        if mro.first() != Some(&c) || mro.last() != Some(&object) {
            return Err("a builtin MRO does not run from the class to object".into());
        }
    }
    // Exception types, capabilities, hashing.
    for name in ["BaseException", "Exception"] {
        rt.exception_type(name)
            .ok_or_else(|| format!("no exception type {name}"))?;
    }
    if rt.exception_type("int").is_some() {
        return Err("int is found as an exception type".into());
    }
    rt.require("fs.read").map_err(|e| e.to_string())?;
    if rt.require("net.connect").is_ok() {
        return Err("net.connect granted without being configured".into());
    }
    let _ = rt.hash_str("molt");
    objects(rt).map_err(|e| format!("object model: {e}"))?;
    tasks(rt).map_err(|e| format!("tasks: {e}"))
}

/// Tasks on the worker threads: results, a failing task, a cancelled one, and sleeping and
/// delayed ones left for shutdown to cancel (the teardown report shows them).
fn tasks(rt: &Runtime) -> Result<(), String> {
    let mut g = rt.gil();
    let failed = |g: &mut Gil<'_>, what: &str| {
        let e = g.err_fetch().map(|e| {
            let d = g.describe_exception(e);
            let _ = g.decref(e);
            d
        });
        format!("{what}: {}", e.unwrap_or_else(|| "no exception".into()))
    };
    let mut squares = Vec::new();
    for i in 0..8i64 {
        let t = g
            .spawn(move |cx| cx.gil().int(i * i))
            .map_err(|_| failed(&mut g, "spawn"))?;
        squares.push(t);
    }
    let failing = g
        .spawn(|cx| {
            let mut g = cx.gil();
            let d = g.dict()?;
            let k = g.str("missing")?;
            let r = g.call_method(d, "__getitem__", &[k]);
            g.decref(k)?;
            g.decref(d)?;
            r
        })
        .map_err(|_| failed(&mut g, "spawn"))?;
    let cancelled = g
        .spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
        .map_err(|_| failed(&mut g, "spawn_after"))?;
    g.cancel(cancelled, Some("not needed"))
        .map_err(|_| failed(&mut g, "cancel"))?;
    for _ in 0..2 {
        g.spawn(|cx| {
            cx.sleep(Duration::from_secs(3600))?;
            Ok(Value::NONE)
        })
        .map_err(|_| failed(&mut g, "spawn"))?;
    }
    g.spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE))
        .map_err(|_| failed(&mut g, "spawn_after"))?;
    let mut sum = 0;
    for t in squares {
        let v = g.join(t).map_err(|_| failed(&mut g, "join"))?;
        sum += v.as_int().unwrap_or(0);
    }
    let failure = match g.join(failing) {
        Ok(_) => return Err("the failing task succeeded".into()),
        Err(_) => failed(&mut g, "task"),
    };
    let cancellation = match g.join(cancelled) {
        Ok(_) => return Err("the cancelled task ran".into()),
        Err(_) => failed(&mut g, "task"),
    };
    g.clear_last_exception();
    println!("tasks:");
    println!("  8 tasks computed squares on the workers; their sum is {sum}");
    println!("  a failing task: {failure}");
    println!("  a cancelled task: {cancellation}");
    println!("  left for shutdown: 2 sleeping tasks and 1 on an hour-long timer");
    Ok(())
}

fn native_double(g: &mut Gil<'_>, args: &[Value]) -> PyResult<Value> {
    let x = match args {
        [_self, x] => g.as_i64(*x)?,
        _ => return Err(g.raise_new("TypeError", "double() takes exactly one argument")),
    };
    g.int(x * 2)
}

fn init_geometry(g: &mut Gil<'_>, m: Value) -> PyResult<()> {
    let origin = g.tuple(&[Value::int(0).expect("small"), Value::int(0).expect("small")])?;
    g.setattr(m, "origin", origin)?;
    g.decref(origin)
}

/// The object model: containers, method tables and the method cache, user classes,
/// exceptions with context, modules, hashing. Some objects are left alive on purpose (a
/// reference cycle among them) to show that shutdown reclaims them.
fn objects(rt: &Runtime) -> Result<(), String> {
    let mut g = rt.gil();
    let failed = |g: &mut Gil<'_>, what: &str| {
        let e = g.err_fetch().map(|e| g.describe_exception(e));
        format!("{what}: {}", e.unwrap_or_else(|| "no exception".into()))
    };
    macro_rules! ok {
        ($e:expr, $what:expr) => {
            match $e {
                Ok(v) => v,
                Err(_) => return Err(failed(&mut g, $what)),
            }
        };
    }
    // Containers and everyday methods.
    let words = ok!(g.str("born in microseconds, gone without a trace"), "str");
    let parts = ok!(g.call_method(words, "split", &[]), "str.split");
    let n = ok!(g.len(parts), "len");
    if n != 7 {
        return Err(format!("split gave {n} parts"));
    }
    let counts = ok!(g.dict(), "dict");
    for i in 0..n {
        let w = ok!(g.get_item_index(parts, i as i64), "list[i]");
        let len = ok!(g.len(w), "len(word)");
        ok!(
            g.dict_set(counts, w, Value::int(len as i64).expect("small")),
            "dict[k]=v"
        );
        ok!(g.decref(w), "decref");
    }
    // Method cache: the same lookup, many times.
    for _ in 0..1000 {
        let up = ok!(g.call_method(words, "upper", &[]), "str.upper");
        ok!(g.decref(up), "decref");
    }
    // User classes with C3 and a native method; invalidation on mutation.
    let double = g.native_function("double", native_double);
    let base = ok!(
        g.class_new("Shape", &[], &[("double", double)]),
        "class Shape"
    );
    let left = ok!(g.class_new("Left", &[base], &[]), "class Left");
    let right = ok!(g.class_new("Right", &[base], &[]), "class Right");
    let both = ok!(g.class_new("Both", &[left, right], &[]), "class Both");
    let inst = ok!(g.call(both, &[]), "Both()");
    let four = ok!(
        g.call_method(inst, "double", &[Value::int(2).expect("small")]),
        "Both().double(2)"
    );
    if four.as_int() != Some(4) {
        return Err("double(2) != 4".into());
    }
    ok!(
        g.setattr(base, "sides", Value::int(3).expect("small")),
        "Shape.sides = 3"
    );
    if g.class_new("Broken", &[base, both], &[]).is_ok() {
        return Err("an inconsistent MRO was accepted".into());
    }
    let mro_error = g.err_fetch().map(|e| {
        let d = g.describe_exception(e);
        let _ = g.decref(e);
        d
    });
    // Exceptions: a KeyError raised while handling a ValueError gets it as __context__.
    let _ = g.raise_new("ValueError", "first");
    let key = ok!(g.str("missing"), "str");
    if g.call_method(counts, "__getitem__", &[key]).is_ok() {
        return Err("a missing key was found".into());
    }
    let err = g.err_fetch().ok_or("no KeyError")?;
    let context = ok!(g.getattr(err, "__context__"), "__context__");
    let described = (g.describe_exception(err), g.describe_exception(context));
    // Modules: builtins, sys (argv from the runtime), a host module.
    let sys = ok!(g.import_module("sys"), "import sys");
    let argv = ok!(g.getattr(sys, "argv"), "sys.argv");
    let argv_repr = ok!(g.repr(argv), "repr(sys.argv)");
    let builtins = ok!(g.import_module("builtins"), "import builtins");
    ok!(
        g.register_module("geometry", init_geometry),
        "register geometry"
    );
    let geometry = ok!(g.import_module("geometry"), "import geometry");
    // Hashing, as CPython computes it under the same seed.
    let t = ok!(
        g.tuple(&[words, Value::int(1).expect("small"), Value::float(0.5)]),
        "tuple"
    );
    let h = ok!(g.hash(t), "hash(tuple)");
    // Leave a reference cycle and a few objects alive: shutdown reclaims them.
    let cycle = ok!(g.list(&[]), "list");
    ok!(
        g.call_method(cycle, "append", &[cycle]),
        "cycle.append(cycle)"
    );
    let stats = g.method_cache_stats();
    println!("object model:");
    println!(
        "  str.split -> {n} words; word lengths: {}",
        ok!(g.repr(counts), "repr")
    );
    println!("  Both.__mro__: {}", {
        let m = ok!(g.getattr(both, "__mro__"), "__mro__");
        let r = ok!(g.repr(m), "repr");
        ok!(g.decref(m), "decref");
        r
    });
    println!(
        "  class Broken(Shape, Both): {}",
        mro_error.unwrap_or_default().replace('\n', " ")
    );
    println!("  caught {} (context: {})", described.0, described.1);
    println!("  sys.argv = {argv_repr}");
    println!("  hash((words, 1, 0.5)) = {h}");
    println!(
        "  method cache: {} hits, {} misses, {} entries",
        stats.hits, stats.misses, stats.occupied
    );
    for v in [
        words, parts, counts, inst, key, err, context, sys, argv, builtins, geometry, t, cycle,
    ] {
        ok!(g.decref(v), "decref");
    }
    g.clear_last_exception();
    Ok(())
}

fn run() -> ExitCode {
    let started = Instant::now();
    let rt = match Runtime::try_new(run_config()) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("molt-state: {e}");
            return ExitCode::FAILURE;
        }
    };
    let init_wall = started.elapsed();
    if let Err(e) = workload(&rt) {
        eprintln!("molt-state: workload failed: {e}");
        return ExitCode::FAILURE;
    }
    let report: TeardownReport = match rt.shutdown() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("molt-state: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "molt-state run: init took {:.1} us (wall, incl. allocation of the runtime)",
        init_wall.as_secs_f64() * 1e6
    );
    println!("{report}");
    if report.leaks.is_empty() && report.hash_secret_wiped {
        ExitCode::SUCCESS
    } else {
        eprintln!("molt-state: teardown left live allocations");
        ExitCode::FAILURE
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc: returns free heap memory to the OS; 1 if any was released.
    fn malloc_trim(pad: usize) -> i32;
}

/// Resident set size of this process (Linux): `(VmRSS, RssAnon)` in bytes, if known.
///
/// `RssAnon` (heap, stacks: anonymous memory) is what a leak grows; `VmRSS` also counts
/// file-backed pages such as shared-library code faulted in on first use.
///
/// On glibc it first asks malloc to return free memory to the OS, so that two readings see
/// the same allocator state (live memory plus malloc's minimum), not whatever trimming the
/// last `free` happened to trigger.
fn rss_bytes() -> Option<(u64, u64)> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a plain integer and only reorganizes malloc's own free
    // lists; it has no preconditions and is thread-safe.
    unsafe {
        malloc_trim(0);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("RssAnon:")?))
}

fn cycle_config() -> Config {
    Config {
        hash_seed: Some(molt_state::hash::HashSeed::Fixed(0)),
        ..Config::default()
    }
}

/// One init/shutdown cycle; with `alloc_threads`, that many threads allocate from the
/// runtime (leaving one tuple alive) and exit before shutdown; with `tasks`, that many
/// tasks are spawned (see `Command::Cycle`).
fn one_cycle(alloc_threads: u32, tasks: u32) -> Result<TeardownReport, String> {
    let rt = Runtime::try_new(cycle_config()).map_err(|e| e.to_string())?;
    if tasks > 0 {
        let mut g = rt.gil();
        let mut join = Vec::new();
        for i in 0..tasks {
            let spawned = match i % 4 {
                0 => g.spawn(|cx| cx.gil().str("x")),
                1 => g.spawn(|cx| {
                    cx.sleep(Duration::from_secs(3600))?;
                    Ok(Value::NONE)
                }),
                2 => g.spawn_after(Duration::from_secs(3600), |_| Ok(Value::NONE)),
                _ => g.spawn(|cx| cx.gil().int(1)).and_then(|t| {
                    g.cancel(t, Some("cycle"))?;
                    Ok(t)
                }),
            };
            let t = spawned.map_err(|_| "spawn failed".to_owned())?;
            if i % 8 == 0 {
                join.push(t);
            }
        }
        for t in join {
            let v = g.join(t).map_err(|_| g.describe_current())?;
            g.decref(v).map_err(|_| "decref failed".to_owned())?;
        }
    }
    if alloc_threads > 0 {
        std::thread::scope(|s| {
            for _ in 0..alloc_threads {
                s.spawn(|| -> PyResult<()> {
                    let mut g = rt.gil();
                    let a = g.str("abc")?;
                    let t = g.tuple(&[a, Value::TRUE])?;
                    g.decref(a)?;
                    let _leaked = t; // reclaimed by shutdown
                    Ok(())
                });
            }
        });
    }
    let report = rt.shutdown().map_err(|e| e.to_string())?;
    if report.tasks.workers_joined != report.tasks.workers_started {
        return Err(format!(
            "{} of {} worker threads joined",
            report.tasks.workers_joined, report.tasks.workers_started
        ));
    }
    Ok(report)
}

/// Runtime worker threads alive in this process (Linux), if known: threads named like the
/// scheduler workers (`m<runtime>w<i>`) and sleep workers (`m<runtime>s`).
fn worker_thread_count() -> Option<usize> {
    let is_worker = |name: &str| {
        let Some(rest) = name.strip_prefix('m') else {
            return false;
        };
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let tail = &rest[digits..];
        digits > 0
            && (tail == "s"
                || tail
                    .strip_prefix('w')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())))
    };
    let mut n = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        n += usize::from(is_worker(comm.trim()));
    }
    Some(n)
}

/// A cycling thread's warm-up (its malloc arena, its stack), before the first RSS reading.
fn warm_up(alloc_threads: u32, tasks: u32) {
    for _ in 0..100 {
        let _ = one_cycle(alloc_threads, tasks);
    }
}

/// One thread's share of the cycles: each one timed into `times`, its teardown checked.
fn run_cycles(
    times: &mut [Duration],
    alloc_threads: u32,
    tasks: u32,
    bar: &ProgressBar,
) -> Result<(), String> {
    let n = times.len() as u64;
    for (i, slot) in times.iter_mut().enumerate() {
        let t0 = Instant::now();
        let report = one_cycle(alloc_threads, tasks);
        *slot = t0.elapsed();
        match report {
            Ok(r) if r.leaks.is_empty() => {}
            Ok(r) => return Err(format!("cycle {i}: {}", r.leaks)),
            Err(e) => return Err(format!("cycle {i}: {e}")),
        }
        if i % 64 == 63 {
            bar.inc(64);
        }
    }
    bar.inc(n % 64);
    Ok(())
}

fn cycle(
    cycles: u64,
    threads: u32,
    alloc_threads: u32,
    tasks: u32,
    max_anon_growth_kib: Option<i64>,
) -> ExitCode {
    if threads == 0 || cycles == 0 {
        eprintln!("molt-state cycle: -n and --threads must be at least 1");
        return ExitCode::FAILURE;
    }
    let per_thread = cycles.div_ceil(u64::from(threads));
    // The timing buffers are allocated and touched before the first RSS reading, and each
    // worker warms up (its malloc arena, its stack) before it, so RSS growth measures the
    // runtimes, not our own bookkeeping.
    let buffers: Vec<Vec<Duration>> = (0..u64::from(threads))
        .map(|t| {
            let n = per_thread.min(cycles.saturating_sub(t * per_thread));
            vec![Duration::from_nanos(1); n as usize]
        })
        .collect();
    let bar = ProgressBar::new(cycles);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cycles {per_sec} eta {eta}")
            .expect("valid template"),
    );
    let barrier = std::sync::Barrier::new(threads as usize + 1);
    let mut rss_before = None;
    let mut rss_after = None;
    let mut wall = Duration::ZERO;
    let results: Vec<Result<Vec<Duration>, String>> = if cfg!(target_os = "wasi") {
        // No threads there (wasm32-wasip1): the cycles run on this thread, tasks on the
        // joining thread.
        if threads > 1 || alloc_threads > 0 {
            eprintln!(
                "molt-state cycle: this target has no threads: use --threads 1 and no --alloc-threads"
            );
            return ExitCode::FAILURE;
        }
        let mut times = buffers.into_iter().next().unwrap_or_default();
        warm_up(alloc_threads, tasks);
        rss_before = rss_bytes();
        let started = Instant::now();
        let outcome = run_cycles(&mut times, alloc_threads, tasks, &bar);
        wall = started.elapsed();
        rss_after = rss_bytes();
        vec![outcome.map(|()| times)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = buffers
                .into_iter()
                .map(|mut times| {
                    let (bar, barrier) = (bar.clone(), &barrier);
                    s.spawn(move || {
                        warm_up(alloc_threads, tasks);
                        barrier.wait(); // warmed up
                        barrier.wait(); // RSS read, go
                        let outcome = run_cycles(&mut times, alloc_threads, tasks, &bar);
                        barrier.wait(); // done; RSS read while every worker is still alive
                        outcome.map(|()| times)
                    })
                })
                .collect();
            barrier.wait();
            rss_before = rss_bytes();
            let started = Instant::now();
            barrier.wait();
            barrier.wait();
            wall = started.elapsed();
            rss_after = rss_bytes();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("cycle thread panicked".into()))
                })
                .collect()
        })
    };
    bar.finish_and_clear();
    let mut times = Vec::with_capacity(cycles as usize);
    for r in results {
        match r {
            Ok(t) => times.extend(t),
            Err(e) => {
                eprintln!("molt-state cycle: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "cycles:        {} on {} thread(s) in {:.3} s",
        times.len(),
        threads,
        wall.as_secs_f64()
    );
    println!(
        "cycles/s:      {:.0}",
        times.len() as f64 / wall.as_secs_f64()
    );
    println!("cycle p50:     {:.2} us", us(pct(0.50)));
    println!("cycle p99:     {:.2} us", us(pct(0.99)));
    println!("cycle max:     {:.2} us", us(pct(1.0)));
    if let Some(mut left) = worker_thread_count() {
        // A joined thread can linger in /proc for a moment while the kernel finishes its
        // exit; give them a second.
        let t0 = Instant::now();
        while left > 0 && t0.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(5));
            left = worker_thread_count().unwrap_or(left);
        }
        println!("worker threads left: {left}");
        if left > 0 {
            eprintln!("molt-state cycle: {left} worker thread(s) outlived their runtimes");
            return ExitCode::FAILURE;
        }
    }
    match (rss_before, rss_after) {
        (Some((rss_b, anon_b)), Some((rss_a, anon_a))) => {
            let kib = |a: u64, b: u64| (a as i64 - b as i64) / 1024;
            println!(
                "RSS before:    {} KiB (anonymous {} KiB)",
                rss_b / 1024,
                anon_b / 1024
            );
            println!(
                "RSS after:     {} KiB (anonymous {} KiB)",
                rss_a / 1024,
                anon_a / 1024
            );
            println!(
                "RSS growth:    {} KiB (anonymous {} KiB)",
                kib(rss_a, rss_b),
                kib(anon_a, anon_b)
            );
            if let Some(max) = max_anon_growth_kib
                && kib(anon_a, anon_b) > max
            {
                eprintln!(
                    "molt-state cycle: anonymous RSS grew by {} KiB (limit {max} KiB)",
                    kib(anon_a, anon_b)
                );
                return ExitCode::FAILURE;
            }
        }
        _ => println!("RSS:           unavailable on this platform"),
    }
    // Every cycle's teardown was checked (a non-empty report fails the run above).
    println!(
        "leak report: empty after each of the {} cycles",
        times.len()
    );
    ExitCode::SUCCESS
}

/// Exits quietly when stdout is closed early (e.g. piped into `head`) instead of panicking.
fn reset_sigpipe_behaviour() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or("");
        if msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

fn main() -> ExitCode {
    reset_sigpipe_behaviour();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(),
        Command::Cycle {
            cycles,
            threads,
            alloc_threads,
            tasks,
            max_anon_growth_kib,
        } => cycle(cycles, threads, alloc_threads, tasks, max_anon_growth_kib),
        Command::Classes { json } => classes(json),
    }
}

/// `molt-state classes [--json]`.
fn classes(json: bool) -> ExitCode {
    let rt = match Runtime::try_new(Config {
        track_allocations: Some(false),
        ..Config::default()
    }) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("molt-state: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut rows = Vec::new();
    {
        let classes = rt.classes();
        let interp = rt.lock();
        let name = |c| {
            classes
                .get(c)
                .ok()
                .and_then(|d| interp.name(d.name))
                .unwrap_or("?")
                .to_owned()
        };
        for c in classes.iter() {
            let (Ok(bases), Ok(mro)) = (classes.bases(c), classes.mro(c)) else {
                continue;
            };
            let bases: Vec<String> = bases.map(name).collect();
            let mro: Vec<String> = mro.map(name).collect();
            rows.push((name(c), bases, mro));
        }
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let list = |v: &[String]| v.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ");
    let mut out = String::new();
    if json {
        out.push_str("[\n");
        for (i, (n, b, m)) in rows.iter().enumerate() {
            out.push_str(&format!(
                "  {{\"name\": {}, \"bases\": [{}], \"mro\": [{}]}}{}\n",
                quote(n),
                list(b),
                list(m),
                if i + 1 < rows.len() { "," } else { "" }
            ));
        }
        out.push_str("]\n");
    } else {
        for (n, b, m) in &rows {
            out.push_str(&format!(
                "{n}({})\n    mro: {}\n",
                b.join(", "),
                m.join(" -> ")
            ));
        }
        out.push_str(&format!("{} builtin classes\n", rows.len()));
    }
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(out.as_bytes());
    match rt.shutdown() {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("molt-state: {e}");
            ExitCode::FAILURE
        }
    }
}

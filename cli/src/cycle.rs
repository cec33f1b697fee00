//! `molt-state cycle`: N init/shutdown cycles, their time percentiles, the worker threads
//! left, and RSS before and after.

use indicatif::{ProgressBar, ProgressStyle};
use molt_state::{Config, PyResult, Runtime, TeardownReport, Value};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

/// `molt-state cycle` (see `Command::Cycle` for the arguments).
pub fn cycle(
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

//! The clock the peer benchmarks measure with: the benchmark thread's CPU time by default,
//! wall time with `PEER_BENCH_CLOCK=wall`.
//!
//! The machine is shared (2 cores, other jobs running), so wall time includes whatever time
//! the scheduler gave to other processes in the middle of an iteration, and that moves from
//! one benchmark to the next. The calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, which
//! includes the kernel time it spends on page faults and system calls) counts only the work
//! measured. Everything timed here runs on the benchmark thread (worker threads of the
//! `threads` group are outside the timed spans), so the two clocks measure the same work.

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use std::time::{Duration, Instant};

/// Which clock a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The calling thread's CPU time.
    ThreadCpu,
    /// Monotonic wall time.
    Wall,
}

/// A reading of either clock.
#[derive(Clone, Copy, Debug)]
pub enum Reading {
    ThreadCpu(Duration),
    Wall(Instant),
}

impl Clock {
    /// The clock chosen by `PEER_BENCH_CLOCK` (`cpu`, the default, or `wall`).
    pub fn from_env() -> Clock {
        match std::env::var("PEER_BENCH_CLOCK").as_deref() {
            Ok("wall") => Clock::Wall,
            Ok("cpu") | Err(_) => Clock::ThreadCpu,
            Ok(other) => panic!("PEER_BENCH_CLOCK={other}: expected cpu or wall"),
        }
    }

    pub fn now(self) -> Reading {
        match self {
            Clock::ThreadCpu => Reading::ThreadCpu(thread_cpu_time()),
            Clock::Wall => Reading::Wall(Instant::now()),
        }
    }

    /// Time since `start` (a reading of this clock).
    pub fn since(self, start: Reading) -> Duration {
        match (self, start) {
            (Clock::ThreadCpu, Reading::ThreadCpu(t0)) => thread_cpu_time().saturating_sub(t0),
            (Clock::Wall, Reading::Wall(t0)) => t0.elapsed(),
            _ => panic!("a reading of another clock"),
        }
    }
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_THREAD_CPUTIME_ID is supported on
    // Linux for the calling thread.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl Measurement for Clock {
    type Intermediate = Reading;
    type Value = Duration;

    fn start(&self) -> Reading {
        self.now()
    }
    fn end(&self, start: Reading) -> Duration {
        self.since(start)
    }
    fn add(&self, v1: &Duration, v2: &Duration) -> Duration {
        *v1 + *v2
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Formats nanoseconds as criterion's wall-time formatter does (ps/ns/µs/ms/s).
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1.0 {
            (1e3, "ps")
        } else if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        // No benchmark here sets a throughput; report iterations per second if one ever does.
        for v in values {
            *v = 1e9 / *v;
        }
        "iter/s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

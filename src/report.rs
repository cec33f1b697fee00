//! The teardown report: what a runtime held, what was freed, and what leaked.

use molt_arenas::handles::RuntimeId;
use molt_arenas::registry::{KindStats, LeakReport};
use std::fmt;
use std::time::Duration;

/// What one owner of runtime state held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerStat {
    /// The owner ("interned names", "builtin classes", ...).
    pub owner: &'static str,
    /// Entries held.
    pub items: u64,
    /// Bytes of payload held, where the owner knows it (0 otherwise).
    pub bytes: u64,
}

impl OwnerStat {
    pub(crate) fn new(owner: &'static str, items: u64, bytes: u64) -> Self {
        Self {
            owner,
            items,
            bytes,
        }
    }
}

/// How many task records were in one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateCount {
    /// The state.
    pub state: crate::TaskState,
    /// Task records in it.
    pub count: u64,
}

impl Default for StateCount {
    fn default() -> Self {
        StateCount {
            state: crate::TaskState::ALL[0],
            count: 0,
        }
    }
}

/// The async registries as shutdown found them, and the threads it joined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskReport {
    /// Tasks spawned over the runtime's life.
    pub spawned: u64,
    /// Task records by state when shutdown started (finished tasks not yet joined count
    /// too), one entry per state in [`TaskState::ALL`](crate::TaskState::ALL) order.
    pub by_state: [StateCount; 5],
    /// Tasks inside `sleep` when shutdown started.
    pub sleeping: u64,
    /// Cancel tokens (tasks' own and host-made) when shutdown started.
    pub tokens: u64,
    /// Timers (delayed starts, sleep wake-ups) when shutdown started.
    pub timers: u64,
    /// Scheduler worker threads started over the runtime's life.
    pub workers_started: u64,
    /// Scheduler worker threads shutdown stopped and joined.
    pub workers_joined: u64,
    /// Whether shutdown stopped and joined a sleep worker.
    pub sleep_worker_joined: bool,
}

impl TaskReport {
    /// Task records when shutdown started.
    pub fn records(&self) -> u64 {
        self.by_state.iter().map(|s| s.count).sum()
    }

    /// Task records in `state` when shutdown started.
    pub fn in_state(&self, state: crate::TaskState) -> u64 {
        self.by_state
            .iter()
            .find(|s| s.state == state)
            .map_or(0, |s| s.count)
    }
}

/// Returned by shutdown: the runtime's footprint just before teardown and the proof that
/// teardown freed it.
#[derive(Debug, Clone)]
pub struct TeardownReport {
    /// The runtime that was torn down.
    pub runtime: RuntimeId,
    /// How long its init took.
    pub init_time: Duration,
    /// How long teardown took.
    pub shutdown_time: Duration,
    /// What each owner held just before teardown.
    pub held: Vec<OwnerStat>,
    /// Heap objects still live at shutdown (leaked by the program, reference cycles
    /// included), per kind, which teardown reclaimed.
    pub reclaimed: Vec<OwnerStat>,
    /// Of those, per kind, the objects the program left alive: not accounted for by the
    /// runtime's own references (module cache, exception state, class namespaces), that is
    /// held through a reference the program never dropped, or in a cycle nobody could
    /// reach. Counted from the heap's own reference counts, so it works in release builds
    /// with the registry off. Empty after a program that released everything it owned.
    pub left_alive: Vec<OwnerStat>,
    /// The object pool's teardown: chunks freed, thread caches drained, slots retired.
    pub pool: molt_arenas::pool::PoolReport,
    /// The async registries and worker threads.
    pub tasks: TaskReport,
    /// Whether the allocation registry was counting.
    pub registry_enabled: bool,
    /// Per-kind counters over the runtime's whole life (allocated and freed).
    pub registry: Vec<KindStats>,
    /// What was still live after teardown: must be empty.
    pub leaks: LeakReport,
    /// Whether the hash secret was wiped.
    pub hash_secret_wiped: bool,
}

impl TeardownReport {
    /// Live allocations after teardown (0 after a complete teardown).
    pub fn live_after(&self) -> i64 {
        self.leaks.leaks.iter().map(KindStats::live_count).sum()
    }

    /// Objects the program left alive at shutdown (see [`left_alive`](Self::left_alive)).
    pub fn left_alive_count(&self) -> u64 {
        self.left_alive.iter().map(|o| o.items).sum()
    }

    /// Whether the runtime ended clean: the allocation registry found nothing live after
    /// teardown (when it was counting) and the program left no object alive (checked with
    /// or without the registry).
    pub fn is_clean(&self) -> bool {
        self.leaks.is_empty() && self.left_alive.is_empty()
    }

    /// Panics unless [`is_clean`](Self::is_clean), listing what was left (the objects the
    /// program left alive per kind, the registry's leaks) and the whole report.
    #[track_caller]
    pub fn assert_clean(&self) {
        if self.is_clean() {
            return;
        }
        let mut msg = String::from("the runtime did not end clean:\n");
        if !self.left_alive.is_empty() {
            msg.push_str("  objects the program left alive (references never dropped, or cycles):");
            for o in &self.left_alive {
                msg.push_str(&format!(" {} {}", o.owner, o.items));
            }
            msg.push('\n');
        }
        if !self.leaks.is_empty() {
            msg.push_str(&format!(
                "  allocations live after teardown: {}\n",
                self.leaks
            ));
        }
        panic!("{msg}{self}");
    }
}

impl fmt::Display for TeardownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "teardown report for {}", self.runtime)?;
        writeln!(
            f,
            "  init time:      {:>10.1} us",
            self.init_time.as_secs_f64() * 1e6
        )?;
        writeln!(
            f,
            "  shutdown time:  {:>10.1} us",
            self.shutdown_time.as_secs_f64() * 1e6
        )?;
        writeln!(f, "  held before shutdown:")?;
        for h in &self.held {
            writeln!(
                f,
                "    {:<24} {:>8} items {:>10} bytes",
                h.owner, h.items, h.bytes
            )?;
        }
        if self.reclaimed.is_empty() {
            writeln!(f, "  objects live at shutdown: none")?;
        } else {
            write!(f, "  objects live at shutdown (reclaimed):")?;
            for r in &self.reclaimed {
                write!(f, " {} {}", r.owner, r.items)?;
            }
            writeln!(f)?;
        }
        if !self.left_alive.is_empty() {
            write!(f, "  left alive by the program:")?;
            for r in &self.left_alive {
                write!(f, " {} {}", r.owner, r.items)?;
            }
            writeln!(f)?;
        }
        writeln!(
            f,
            "  object pool:    {} chunks ({} slots) freed, {} live thread caches drained, {} slots retired",
            self.pool.chunks, self.pool.capacity, self.pool.caches_drained, self.pool.retired
        )?;
        let t = &self.tasks;
        write!(f, "  tasks:          {} spawned; at shutdown", t.spawned)?;
        for s in &t.by_state {
            write!(f, " {} {}", s.state.name(), s.count)?;
        }
        writeln!(
            f,
            " (sleeping {}), {} cancel tokens, {} timers",
            t.sleeping, t.tokens, t.timers
        )?;
        writeln!(
            f,
            "  workers:        {} of {} scheduler workers joined, sleep worker {}",
            t.workers_joined,
            t.workers_started,
            if t.sleep_worker_joined {
                "joined"
            } else {
                "not started"
            }
        )?;
        if self.registry_enabled {
            writeln!(f, "  freed by shutdown (allocation registry, whole life):")?;
            for k in &self.registry {
                writeln!(
                    f,
                    "    {:<24} {:>8} allocs {:>8} frees {:>10} bytes freed",
                    k.name, k.allocs, k.frees, k.bytes_freed
                )?;
            }
        }
        writeln!(
            f,
            "  hash secret:    {}",
            if self.hash_secret_wiped {
                "wiped"
            } else {
                "NOT wiped"
            }
        )?;
        if self.registry_enabled {
            writeln!(
                f,
                "  live allocations after shutdown: {}",
                self.live_after()
            )?;
        }
        write!(f, "  {}", self.leaks)
    }
}

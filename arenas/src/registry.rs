//! The allocation registry: per-type counters of what a runtime allocated and freed.
//!
//! Every owner of runtime memory (the arenas, the handle tables, later the pools) holds a
//! [`Tracker`] for its type and records each allocation and free. At shutdown the runtime asks
//! the registry for a [`LeakReport`]: the types whose live count or live bytes are not zero.
//! After a complete teardown it must be empty.
//!
//! Cost: when the registry is disabled, recording is one predictable branch on a `bool` the
//! tracker keeps inline. When enabled, it is two relaxed atomic adds on counters that are
//! never used to order memory (hence std atomics, see [`crate::sync::stat`]). Kinds are
//! registered by name (at init) through a small lock; counting never takes it.

use crate::sync::Arc;
use crate::sync::stat::{AtomicU64, Mutex, Ordering};
use std::fmt;

/// How many distinct allocation kinds one registry can count.
pub const MAX_KINDS: usize = 64;

/// Index of a registered allocation kind (a type, or a family of allocations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AllocKind(u16);

#[derive(Default)]
struct Counters {
    allocs: AtomicU64,
    frees: AtomicU64,
    bytes_allocated: AtomicU64,
    bytes_freed: AtomicU64,
}

/// Per-type allocation counters of one runtime. Shared through an `Arc` by every owner that
/// records into it.
pub struct AllocRegistry {
    enabled: bool,
    names: Mutex<Vec<&'static str>>,
    counters: Box<[Counters]>,
}

/// Error returned when a registry already counts [`MAX_KINDS`] kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("allocation registry is full ({MAX_KINDS} kinds); cannot register {name:?}")]
pub struct RegistryFull {
    /// The kind that could not be registered.
    pub name: &'static str,
}

impl AllocRegistry {
    /// Creates a registry. A disabled registry still hands out trackers, but they record
    /// nothing and its reports say it was off.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            names: Mutex::new(Vec::new()),
            // A disabled registry never touches its counters: don't build them.
            counters: if enabled {
                (0..MAX_KINDS).map(|_| Counters::default()).collect()
            } else {
                Box::new([])
            },
        }
    }

    /// Whether this registry counts anything.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Registers `name` (or finds it, if registered before) and returns its kind.
    pub fn register(&self, name: &'static str) -> Result<AllocKind, RegistryFull> {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = names.iter().position(|n| *n == name) {
            return Ok(AllocKind(i as u16));
        }
        if names.len() == MAX_KINDS {
            return Err(RegistryFull { name });
        }
        names.push(name);
        Ok(AllocKind((names.len() - 1) as u16))
    }

    /// Records `count` allocations of `kind` totalling `bytes`.
    #[inline]
    pub fn record_alloc(&self, kind: AllocKind, count: u64, bytes: u64) {
        if self.enabled {
            let c = &self.counters[usize::from(kind.0)];
            c.allocs.fetch_add(count, Ordering::Relaxed);
            c.bytes_allocated.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Records `count` frees of `kind` totalling `bytes`.
    #[inline]
    pub fn record_free(&self, kind: AllocKind, count: u64, bytes: u64) {
        if self.enabled {
            let c = &self.counters[usize::from(kind.0)];
            c.frees.fetch_add(count, Ordering::Relaxed);
            c.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// A snapshot of every registered kind's counters, in registration order.
    pub fn stats(&self) -> Vec<KindStats> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names
            .iter()
            .zip(self.counters.iter())
            .map(|(name, c)| KindStats {
                name,
                allocs: c.allocs.load(Ordering::Relaxed),
                frees: c.frees.load(Ordering::Relaxed),
                bytes_allocated: c.bytes_allocated.load(Ordering::Relaxed),
                bytes_freed: c.bytes_freed.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// The kinds with anything still live. Empty after a complete teardown.
    pub fn leak_report(&self) -> LeakReport {
        LeakReport {
            enabled: self.enabled,
            leaks: self
                .stats()
                .into_iter()
                .filter(|s| s.live_count() != 0 || s.live_bytes() != 0)
                .collect(),
        }
    }
}

impl fmt::Debug for AllocRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllocRegistry")
            .field("enabled", &self.enabled)
            .field("kinds", &self.stats())
            .finish()
    }
}

/// Counters of one allocation kind at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindStats {
    /// The kind's registered name.
    pub name: &'static str,
    /// Allocations recorded.
    pub allocs: u64,
    /// Frees recorded.
    pub frees: u64,
    /// Bytes allocated.
    pub bytes_allocated: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
}

impl KindStats {
    /// Allocations not yet freed (negative means a double free was recorded).
    pub fn live_count(&self) -> i64 {
        self.allocs as i64 - self.frees as i64
    }

    /// Bytes not yet freed.
    pub fn live_bytes(&self) -> i64 {
        self.bytes_allocated as i64 - self.bytes_freed as i64
    }
}

/// What was still live when a report was taken: after shutdown, what leaked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakReport {
    /// Whether the registry was counting; a disabled registry reports nothing.
    pub enabled: bool,
    /// One entry per kind with a non-zero live count or live bytes.
    pub leaks: Vec<KindStats>,
}

impl LeakReport {
    /// True when nothing is live (or the registry was off).
    pub fn is_empty(&self) -> bool {
        self.leaks.is_empty()
    }
}

impl fmt::Display for LeakReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.enabled {
            return write!(f, "leak report: allocation registry disabled");
        }
        if self.leaks.is_empty() {
            return write!(f, "leak report: empty (0 live allocations)");
        }
        writeln!(f, "leak report: {} kind(s) still live", self.leaks.len())?;
        for s in &self.leaks {
            writeln!(
                f,
                "  {:<24} {:>10} live ({:>12} bytes)",
                s.name,
                s.live_count(),
                s.live_bytes()
            )?;
        }
        Ok(())
    }
}

/// A handle an owner keeps to record its allocations of one kind.
///
/// Keeps the registry's `enabled` flag inline, so a disabled registry costs one predictable
/// branch and no pointer chase.
#[derive(Debug, Clone)]
pub struct Tracker {
    enabled: bool,
    kind: AllocKind,
    registry: Arc<AllocRegistry>,
}

impl Tracker {
    /// Registers `name` in `registry` and returns a tracker for it.
    pub fn new(registry: &Arc<AllocRegistry>, name: &'static str) -> Result<Self, RegistryFull> {
        Ok(Self {
            enabled: registry.is_enabled(),
            kind: registry.register(name)?,
            registry: Arc::clone(registry),
        })
    }

    /// Records `count` allocations totalling `bytes`.
    #[inline]
    pub fn alloc(&self, count: u64, bytes: u64) {
        if self.enabled {
            self.registry.record_alloc(self.kind, count, bytes);
        }
    }

    /// Records `count` frees totalling `bytes`.
    #[inline]
    pub fn free(&self, count: u64, bytes: u64) {
        if self.enabled {
            self.registry.record_free(self.kind, count, bytes);
        }
    }

    /// The registry this tracker records into.
    pub fn registry(&self) -> &Arc<AllocRegistry> {
        &self.registry
    }
}

#[cfg(all(test, not(molt_loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_and_reports_live_kinds() {
        let reg = Arc::new(AllocRegistry::new(true));
        let a = Tracker::new(&reg, "a").unwrap();
        let b = Tracker::new(&reg, "b").unwrap();
        a.alloc(3, 30);
        b.alloc(1, 8);
        a.free(3, 30);
        let report = reg.leak_report();
        assert_eq!(report.leaks.len(), 1);
        assert_eq!(report.leaks[0].name, "b");
        assert_eq!(report.leaks[0].live_count(), 1);
        assert_eq!(report.leaks[0].live_bytes(), 8);
        assert!(report.to_string().contains("b"));
        b.free(1, 8);
        assert!(reg.leak_report().is_empty());
    }

    #[test]
    fn registering_twice_gives_the_same_kind() {
        let reg = AllocRegistry::new(true);
        assert_eq!(reg.register("x").unwrap(), reg.register("x").unwrap());
        assert_ne!(reg.register("x").unwrap(), reg.register("y").unwrap());
    }

    #[test]
    fn full_registry_is_an_error_not_a_panic() {
        // One distinct one-character `&'static str` per kind, plus one too many.
        const ALL: &str =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&*+-/:;<=>?@^_~";
        let reg = AllocRegistry::new(true);
        for i in 0..MAX_KINDS {
            reg.register(&ALL[i..i + 1]).unwrap();
        }
        let extra = &ALL[MAX_KINDS..MAX_KINDS + 1];
        assert_eq!(reg.register(extra), Err(RegistryFull { name: extra }));
    }

    #[test]
    fn disabled_registry_records_nothing() {
        let reg = Arc::new(AllocRegistry::new(false));
        let t = Tracker::new(&reg, "t").unwrap();
        t.alloc(5, 50);
        assert!(reg.leak_report().is_empty());
        assert!(!reg.leak_report().enabled);
        assert!(reg.stats().iter().all(|s| s.allocs == 0));
    }
}

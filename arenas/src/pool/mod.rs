//! Object pools: chunked slabs with per-slot versions, per-thread magazines in front of a
//! per-pool depot, thread-exit guards, and bulk teardown.
//!
//! # Layout
//!
//! A [`Pool<T>`] addresses slots by a `u32` id. Slots live in up to [`CHUNKS`] chunks that
//! double in size (chunk `k` holds `first_chunk << k` slots), allocated on demand, so a pool
//! that holds a handful of objects costs one small chunk and the id space reaches
//! [`MAX_SLOTS`] without ever moving a slot. Each slot has a state word (`version << 1 |
//! live`) and the value. Freeing bumps the version, so a [`PoolRef`] to a freed slot no
//! longer matches, even after the slot is reused; a slot whose version reaches a multiple of
//! `retire_period` is retired instead of reused, so within one pool the low 16 bits of a
//! version (what a NaN-boxed value carries) never repeat for a slot.
//!
//! # Thread caches
//!
//! Every thread that allocates from a pool gets a magazine of free slots for it, kept in a
//! thread-local list (one entry per pool, so several pools, i.e. several runtimes, are
//! independent on one thread; a one-entry "last used" cache keyed by pool id skips the list
//! search). A magazine is a fixed-capacity stack stored inline in its registered cache (at
//! most [`MAGAZINE_MAX`] entries, no `Vec`); an entry is one word, a pointer to the slot,
//! whose header holds its state word and its (fixed) id, and an [`Owned`] carries its slot
//! pointer too. So the hit path pops or pushes one word and touches one slot: no lock, no
//! read-modify-write atomic, no slot-address computation; alloc reads the version and id
//! from the slot it is about to fill and writes the state word with a plain release store.
//! A miss refills half a magazine from the pool's depot, and a full magazine flushes half
//! to it (as ids); the depot (free ids, fresh ids, chunk allocation, the registry of
//! magazines, retired count) is the only place with a lock. [`Pool::local`] returns a
//! [`LocalCache`] handle on the same magazine that skips the thread-local lookup.
//!
//! Nothing on the hit path counts allocations: at teardown every id the depot ever handed
//! out is in the depot's free list, in a registered magazine, retired, or live, so the live
//! count is the difference.
//!
//! [`Pool::resolve_mut`] resolves a [`PoolRef`] once into a [`LiveMut`] handle that can
//! update the value and then free it (in place, with [`LiveMut::drop_with`]) without a
//! second lookup: the object heap's "decrement, free at zero".
//!
//! Magazines are registered with the depot. At thread exit a guard returns the thread's
//! magazines to their depots (if their pools are alive; a dead pool's magazines were
//! already drained). At teardown the pool drains the magazines of threads that are still
//! alive and marks them dead; a thread that touches a dead magazine later finds the flag and
//! drops it.
//!
//! # Teardown
//!
//! Dropping the pool (or [`Pool::shutdown`]) drops every live value, whatever the program
//! did with it (objects in reference cycles included), then frees the chunks wholesale. It
//! needs quiescence: no other thread may be using the pool, which Rust's ownership already
//! proves for `shutdown(self)` and `Drop`.
//!
//! # Files
//!
//! * `mod.rs`: [`Pool`], its tuning ([`PoolConfig`]), [`PoolRef`], and its public API;
//! * `slot.rs`: the slot layout (a header with the state word and the id), id to chunk, and
//!   a slot's state changes (fill, read, vacate with the next version);
//! * `magazine.rs`: the magazine, a fixed-capacity inline stack of free slots;
//! * `depot.rs`: the depot (the one lock; [`DepotStats`]) and the paths between magazines
//!   and it: refill, flush, retirement, exiting threads;
//! * `cache.rs`: per-thread magazines (the thread-local list and "last used" cache), their
//!   registration, the thread-exit guard, [`release_thread_caches`];
//! * `handle.rs`: the handles [`Owned`], [`LiveMut`] and [`LocalCache`];
//! * `teardown.rs`: bulk teardown and its [`PoolReport`];
//! * `tests.rs`: the unit tests.

mod cache;
mod depot;
mod handle;
mod magazine;
mod slot;
mod teardown;

pub use cache::release_thread_caches;
pub use depot::{DepotStats, FreeSlots};
pub use handle::{LiveMut, LocalCache, Owned};
pub use teardown::PoolReport;

use crate::sync::{Arc, AtomicPtr, Mutex, Ordering, next_instance_id};
use cache::LOCAL;
use depot::{Depot, DepotShared};
use slot::{Slot, live_with};

/// Number of chunks (each twice the size of the previous one).
pub const CHUNKS: usize = 17;
/// Largest number of slots a pool addresses (ids are below this).
pub const MAX_SLOTS: u32 = 1 << 24;
/// Largest [`PoolConfig::magazine`].
pub const MAGAZINE_MAX: usize = 128;

/// Tuning of one pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Slots in the first chunk (a power of two, at least 2).
    pub first_chunk: u32,
    /// Ids a thread's magazine holds before it flushes half to the depot (2 to
    /// [`MAGAZINE_MAX`]).
    pub magazine: usize,
    /// A slot is retired when its version reaches a multiple of this (a power of two).
    pub retire_period: u32,
    /// Instead of retiring a slot whose version reached `retire_period`, restart its
    /// version at 1 and reuse it (0 is only a fresh slot's). Versions then stay below
    /// `retire_period` and cycle with period `retire_period - 1`: a stale [`PoolRef`] is
    /// rejected for the next `retire_period - 2` reuses of its slot, then may match it
    /// again; the pool never loses a slot. The restart is on the retire path (once per
    /// `retire_period` frees of a slot), so the hot path is unchanged.
    pub recycle: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            first_chunk: 256,
            magazine: 64,
            retire_period: 1 << 16,
            recycle: false,
        }
    }
}

/// A reference to a pool slot as it was when allocated: id and version. `Copy`; checked on
/// every use, so a reference to a freed (and perhaps reused) slot is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PoolRef {
    /// Slot id (below [`MAX_SLOTS`]).
    pub id: u32,
    /// The slot's version when this value was allocated.
    pub version: u32,
}

/// The pool has [`MAX_SLOTS`] live or retired slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("object pool is full ({MAX_SLOTS} slots)")]
pub struct PoolFull;

/// An object pool owned by one runtime (see the module docs).
pub struct Pool<T> {
    /// `shared.pool`, kept here to spare the hit path a pointer chase.
    id: u64,
    /// log2 of `config.first_chunk`.
    shift: u32,
    /// `config.retire_period - 1`.
    retire_mask: u32,
    shared: Arc<DepotShared>,
    chunks: [AtomicPtr<Slot<T>>; CHUNKS],
    config: PoolConfig,
}

// SAFETY: a `Pool<T>` hands values out to whichever thread asks and drops them on whichever
// thread tears it down, so `T: Send` is required; slots are reached through atomics and the
// depot lock, and a slot's value is touched only by the holder of its id (the allocating or
// freeing thread, or a caller of the `unsafe` accessors under their contract).
unsafe impl<T: Send> Send for Pool<T> {}
// SAFETY: as above; shared references to values (`get`) require `T: Sync`.
unsafe impl<T: Send + Sync> Sync for Pool<T> {}

impl<T> Pool<T> {
    /// An empty pool with the default tuning. Allocates nothing until first used.
    pub fn new() -> Self {
        Self::with_config(PoolConfig::default())
    }

    /// An empty pool with `config`.
    ///
    /// # Panics
    /// If `config` breaks its documented bounds.
    pub fn with_config(config: PoolConfig) -> Self {
        assert!(config.first_chunk.is_power_of_two() && config.first_chunk >= 2);
        assert!((2..=MAGAZINE_MAX).contains(&config.magazine));
        assert!(config.retire_period.is_power_of_two() && config.retire_period >= 2);
        let id = next_instance_id().get();
        Self {
            id,
            shift: config.first_chunk.trailing_zeros(),
            retire_mask: config.retire_period - 1,
            shared: Arc::new(DepotShared {
                depot: Mutex::new(Depot {
                    alive: true,
                    free: Vec::new(),
                    fresh: 0,
                    capacity: 0,
                    chunks: 0,
                    caches: Vec::new(),
                    retired: 0,
                }),
            }),
            chunks: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            config,
        }
    }

    /// This pool's process-unique identity.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Allocates a slot for `value`.
    #[inline(always)]
    pub fn alloc(&self, value: T) -> Result<Owned, PoolFull> {
        let slot = self.take_free()?;
        // SAFETY: `slot` was just taken from a free list for this call.
        Ok(unsafe { self.fill(slot, value) })
    }

    /// [`alloc`](Self::alloc), but a full pool gives `value` back (so a caller can release
    /// what it owns instead of dropping it).
    #[inline(always)]
    pub fn try_alloc(&self, value: T) -> Result<Owned, (PoolFull, T)> {
        match self.take_free() {
            // SAFETY: `slot` was just taken from a free list for this call.
            Ok(slot) => Ok(unsafe { self.fill(slot, value) }),
            Err(e) => Err((e, value)),
        }
    }

    /// Whether `r` refers to the live value it was allocated for.
    #[inline]
    pub fn is_live(&self, r: PoolRef) -> bool {
        self.slot(r.id)
            .is_some_and(|s| live_with(s.header.state.load(Ordering::Acquire), r.version))
    }

    /// The value `r` refers to, if it is still live.
    ///
    /// # Safety
    /// No other thread may free the slot or access its value mutably while the returned
    /// reference lives (for example: every access to the pool's values is serialized by
    /// one lock the caller holds, as the runtime lock does for the object heap).
    #[inline]
    pub unsafe fn get_ref(&self, r: PoolRef) -> Option<&T> {
        // SAFETY: forwarded contract.
        unsafe { Self::value_ref(self.slot(r.id)?, r.version) }
    }

    /// The value `r` refers to, mutably, if it is still live.
    ///
    /// # Safety
    /// No other reference to this slot's value may exist, and no other thread may free it,
    /// while the returned reference lives (see [`get_ref`](Self::get_ref)).
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get_mut_ref(&self, r: PoolRef) -> Option<&mut T> {
        // SAFETY: forwarded contract.
        unsafe { Self::value_mut(self.slot(r.id)?, r.version) }
    }

    /// The live slot `r` refers to, as a handle that reads, updates or frees its value
    /// without looking the slot up again (one lookup for "decrement, and free at zero").
    /// `None` if `r` is stale.
    ///
    /// # Safety
    /// While the handle (or a reference obtained from it) lives, no other reference to this
    /// slot's value may exist and no other thread may access or free the slot (as for
    /// [`get_mut_ref`](Self::get_mut_ref) and [`free_ref`](Self::free_ref)).
    #[inline]
    pub unsafe fn resolve_mut(&self, r: PoolRef) -> Option<LiveMut<'_, T>> {
        let slot = self.slot(r.id)?;
        live_with(slot.header.state.load(Ordering::Acquire), r.version).then_some(LiveMut {
            pool: self,
            slot,
            r,
        })
    }

    /// Frees the slot `r` refers to and returns its value, if it is still live.
    ///
    /// # Safety
    /// No other thread may access or free this slot concurrently, and no reference obtained
    /// from [`get_ref`](Self::get_ref)/[`get_mut_ref`](Self::get_mut_ref) to it may be alive.
    #[inline]
    pub unsafe fn free_ref(&self, r: PoolRef) -> Option<T> {
        let slot = self.slot(r.id)?;
        // SAFETY: forwarded contract.
        let (value, free) = unsafe { self.vacate(slot, r) }?;
        self.put_free(free);
        Some(value)
    }

    /// The value owned by `o`.
    ///
    /// # Panics
    /// If `o` belongs to another pool.
    pub fn get<'a>(&'a self, o: &'a Owned) -> &'a T
    where
        T: Sync,
    {
        let slot = self.owned_slot(o);
        // SAFETY: `o` is the unique owner of a live slot of this pool (it is not `Copy`, and
        // only `free` ends it), so no one frees or mutates the value while `&o` is borrowed.
        unsafe { Self::value_ref(slot, o.r.version) }.expect("an Owned slot is live")
    }

    /// The value owned by `o`, mutably.
    ///
    /// # Panics
    /// If `o` belongs to another pool.
    // The exclusivity comes from `&mut Owned` (the slot's unique owner), and the result
    // borrows it, so no `free` can end the slot while the reference lives.
    #[allow(clippy::mut_from_ref)]
    pub fn get_mut<'a>(&'a self, o: &'a mut Owned) -> &'a mut T {
        let slot = self.owned_slot(o);
        // SAFETY: as in `get`, and `&mut o` excludes every other access through `o`.
        unsafe { Self::value_mut(slot, o.r.version) }.expect("an Owned slot is live")
    }

    /// Frees the slot owned by `o` and returns its value.
    ///
    /// # Panics
    /// If `o` belongs to another pool.
    #[inline(always)]
    pub fn free(&self, o: Owned) -> T {
        let (value, free) = self.vacate_owned(&o);
        self.put_free(free);
        value
    }

    /// This thread's cache for this pool as a handle: its `alloc`/`free` skip the
    /// thread-local lookup that [`alloc`](Self::alloc)/[`free`](Self::free) do on every call.
    /// Registers the thread's magazine on first use, like them.
    pub fn local(&self) -> LocalCache<'_, T> {
        let cache = LOCAL
            .try_with(|local| {
                let mut local = local.borrow_mut();
                match local.caches.iter().find(|(p, _)| *p == self.id) {
                    Some((_, c)) => Arc::clone(c),
                    None => {
                        let cache = self.register();
                        local
                            .caches
                            .retain(|(_, c)| !c.dead.load(Ordering::Acquire));
                        local.caches.insert(0, (self.id, Arc::clone(&cache)));
                        cache
                    }
                }
            })
            // Thread exiting: a private magazine; its ids go back to the depot on drop.
            .unwrap_or_else(|_| self.register());
        LocalCache {
            pool: self,
            cache,
            _not_send: std::marker::PhantomData,
        }
    }

    /// The depot's counters: free ids, slot capacity, registered magazines, chunks.
    pub fn depot_stats(&self) -> DepotStats {
        let d = self.shared.lock();
        DepotStats {
            free: d.free.len() + (d.capacity - d.fresh) as usize,
            capacity: d.capacity,
            caches: d.caches.len(),
            chunks: d.chunks,
        }
    }

    /// Free slots (in the depot, never used, and in every registered thread magazine) and
    /// the slot capacity. With nothing live they are equal. Takes `&mut self`: no thread may
    /// be in the middle of a pool operation (a thread exiting meanwhile waits for the depot
    /// lock this holds).
    pub fn free_slots(&mut self) -> FreeSlots {
        let depot = self.shared.lock();
        let mut free = depot.free.len() as u64 + u64::from(depot.capacity - depot.fresh);
        for cache in &depot.caches {
            // SAFETY: `&mut self` excludes every pool operation, and the exit guards of the
            // magazines' threads need the depot lock, which is held.
            free += cache.magazine.with(|m| unsafe { (*m).len }) as u64;
        }
        FreeSlots {
            free,
            capacity: depot.capacity,
        }
    }

    /// Number of magazines (for any pool) this thread holds (diagnostics and tests).
    pub fn local_cache_count() -> usize {
        LOCAL.try_with(|l| l.borrow().caches.len()).unwrap_or(0)
    }

    /// Tears the pool down: drains the magazines of threads still alive, drops every live
    /// value, frees the chunks. What `Drop` does, with a report.
    pub fn shutdown(mut self) -> PoolReport {
        self.teardown()
    }
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("id", &self.id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(molt_loom)))]
mod tests;

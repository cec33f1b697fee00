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

use crate::sync::{
    Arc, AtomicBool, AtomicPtr, AtomicU32, Mutex, MutexGuard, Ordering, UnsafeCell,
    next_instance_id, thread_local,
};
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

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

/// What a pool's teardown found and freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolReport {
    /// Live values dropped by teardown (leaked by the program, cycles included).
    pub live_dropped: u64,
    /// Chunks freed.
    pub chunks: u64,
    /// Slot capacity freed.
    pub capacity: u64,
    /// Magazines of threads still alive, drained by teardown.
    pub caches_drained: u64,
    /// Slots retired because their version wrapped.
    pub retired: u64,
}

/// The start of every slot, whatever `T` (`repr(C)`): a magazine, which is not generic,
/// holds slots as pointers to their headers and can read their ids.
#[repr(C)]
struct SlotHeader {
    /// `version << 1 | live`.
    state: AtomicU32,
    /// The slot's id: written when its chunk is made, never changed. In what would mostly be
    /// padding (before a value aligned to 8 bytes).
    id: u32,
}

#[repr(C)]
struct Slot<T> {
    header: SlotHeader,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Whether a slot's state word says "live with `version`".
#[inline(always)]
fn live_with(state: u32, version: u32) -> bool {
    state == (version << 1 | 1)
}

struct Depot {
    alive: bool,
    free: Vec<u32>,
    /// Ids below `capacity` never handed out start here.
    fresh: u32,
    capacity: u32,
    chunks: usize,
    caches: Vec<Arc<Cache>>,
    retired: u64,
}

/// The part of a pool that thread caches keep alive: its depot.
struct DepotShared {
    depot: Mutex<Depot>,
}

impl DepotShared {
    fn lock(&self) -> MutexGuard<'_, Depot> {
        // The depot is plain bookkeeping: a panic while it was held cannot leave it in a
        // state that breaks memory safety, so a poisoned lock is used as is.
        self.depot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A slot that a free just vacated, on its way to a free list: its id, its new version (to
/// decide whether it retires) and its header.
#[derive(Clone, Copy)]
struct Free {
    id: u32,
    version: u32,
    slot: NonNull<SlotHeader>,
}

/// Entries in a magazine's array (a power of two, at least [`MAGAZINE_MAX`]).
const MAG_ENTRIES: usize = 128;

/// A magazine: a stack of free slots stored inline in its [`Cache`], so the hit path is one
/// pointer away from them (no `Vec` header to follow, no capacity check, no reallocation).
///
/// An entry is one word, the slot's header: a free pushes it with one store, and alloc, which
/// writes the slot anyway, reads the slot's id and version from the header (the same cache
/// line). Stores are what bounds the hit path (alloc+free of a small value is about a dozen
/// of them), so a one-word entry is measurably faster than carrying the id and version in the
/// magazine, which takes a second store per free.
///
/// Every entry points to a free slot of the magazine's pool: its chunks live until the pool's
/// teardown, which empties the magazine (under the depot lock) before freeing them.
///
/// `len <= cap <= MAGAZINE_MAX` always holds; a push that makes the magazine full flushes
/// half of it before returning, so between operations `len < cap`. Indices are masked to
/// the array's size (a no-op under the invariant), so the compiler drops the bounds checks
/// without any `unsafe`.
struct Mag {
    len: usize,
    /// The pool's [`PoolConfig::magazine`].
    cap: usize,
    slots: [NonNull<SlotHeader>; MAG_ENTRIES],
}

impl Mag {
    fn new(cap: usize) -> Self {
        Self {
            len: 0,
            cap,
            slots: [NonNull::dangling(); MAG_ENTRIES],
        }
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<NonNull<SlotHeader>> {
        let len = self.len.checked_sub(1)?;
        self.len = len;
        Some(self.slots[len & (MAG_ENTRIES - 1)])
    }

    /// Pushes `slot`; `true` if the magazine is now full (the caller flushes half of it).
    #[inline(always)]
    fn push(&mut self, slot: NonNull<SlotHeader>) -> bool {
        self.slots[self.len & (MAG_ENTRIES - 1)] = slot;
        self.len += 1;
        self.len >= self.cap
    }

    /// The ids of `slots`.
    ///
    /// # Safety
    /// Each pointer must be an entry of a magazine whose pool has not been torn down (see
    /// [`Mag`]).
    unsafe fn ids(slots: &[NonNull<SlotHeader>]) -> impl Iterator<Item = u32> + '_ {
        // SAFETY: the entries point to slots of a live chunk (the contract); a slot's id is
        // written before its chunk is published and never changes, so reading it races with
        // nothing.
        slots.iter().map(|s| unsafe { s.as_ref() }.id)
    }

    /// Moves the ids above the lower half into `free` (a full magazine's flush).
    ///
    /// # Safety
    /// The magazine's pool has not been torn down.
    #[cold]
    unsafe fn flush_half(&mut self, free: &mut Vec<u32>) {
        let len = self.len;
        // `len` first: whatever `extend` does, the magazine stays within its bounds.
        self.len = (self.cap / 2).min(len);
        // SAFETY: forwarded contract.
        free.extend(unsafe { Self::ids(&self.slots[self.len..len]) });
    }

    /// Moves every id into `free`; returns how many.
    ///
    /// # Safety
    /// The magazine's pool has not been torn down.
    unsafe fn drain_into(&mut self, free: &mut Vec<u32>) -> usize {
        let len = std::mem::take(&mut self.len);
        // SAFETY: forwarded contract.
        free.extend(unsafe { Self::ids(&self.slots[..len]) });
        len
    }
}

/// One thread's magazine for one pool.
struct Cache {
    shared: Arc<DepotShared>,
    /// Free slots. Accessed by the owning thread while it uses the pool (no lock), and
    /// under the depot lock by that thread's exit guard and by the pool's teardown (which
    /// runs only when no thread uses the pool).
    magazine: UnsafeCell<Mag>,
    /// Set by teardown (under the depot lock) once the magazine was drained.
    dead: AtomicBool,
}

// SAFETY: the magazine (the only non-`Sync` part) is accessed by its owning thread while it
// uses the pool, or under the depot lock by that thread's exit guard or by teardown, which
// runs only when no thread uses the pool (see `with_magazine` and `teardown`). So moving and
// sharing a `Cache` between threads cannot produce unsynchronized access.
unsafe impl Send for Cache {}
// SAFETY: as above.
unsafe impl Sync for Cache {}

impl Cache {
    /// Returns `this` magazine to the depot and unregisters it (thread exit).
    fn release(this: &Arc<Self>) {
        let mut depot = this.shared.lock();
        if !depot.alive {
            return; // teardown already drained it
        }
        // SAFETY: the depot lock is held, and this runs on the owning thread at its exit
        // (it is not in the middle of a pool operation), so nothing else touches the
        // magazine now. The pool is alive (`alive`, under the lock teardown needs to end
        // it), so the magazine's slots are too.
        this.magazine
            .with_mut(|m| unsafe { (*m).drain_into(&mut depot.free) });
        depot.caches.retain(|c| !Arc::ptr_eq(c, this));
    }
}

/// This thread's magazines, one per pool it used; returned at thread exit.
struct Local {
    caches: Vec<(u64, Arc<Cache>)>,
}

impl Local {
    /// Returns every magazine of this thread to its depot (the exit guard's work).
    fn release_all(&mut self) {
        let _ = LAST.try_with(|l| l.set((0, std::ptr::null())));
        for (_, cache) in self.caches.drain(..) {
            Cache::release(&cache);
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.release_all();
    }
}

/// Returns this thread's magazines (for every pool it used) to their depots now, as its exit
/// guard would at thread exit: for a thread that will not touch the pools for a long time
/// (a parked worker), or to make the exit path explicit. Later pool operations on this
/// thread register fresh magazines.
pub fn release_thread_caches() {
    let _ = LOCAL.try_with(|l| l.borrow_mut().release_all());
}

#[cfg(not(molt_loom))]
thread_local! {
    // `const`: no lazy-initialization check on the hit path.
    static LOCAL: RefCell<Local> = const { RefCell::new(Local { caches: Vec::new() }) };
}

#[cfg(molt_loom)]
thread_local! {
    // loom's `thread_local!` does not accept the `const { .. }` form.
    #[allow(clippy::missing_const_for_thread_local)]
    static LOCAL: RefCell<Local> = RefCell::new(Local { caches: Vec::new() });
}

/// The magazine this thread used last: (pool id, the `Cache` its `LOCAL` entry keeps
/// alive). Pool ids are never reused and 0 is none. The pointer is only followed when the
/// id is the id of the pool being used, which is alive; its entry leaves `LOCAL` only at
/// thread exit (which clears this first) or when it belongs to a dead pool.
type Last = Cell<(u64, *const Cache)>;

#[cfg(not(molt_loom))]
thread_local! {
    static LAST: Last = const { Cell::new((0, std::ptr::null())) };
}

#[cfg(molt_loom)]
thread_local! {
    #[allow(clippy::missing_const_for_thread_local)]
    static LAST: Last = Cell::new((0, std::ptr::null()));
}

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

    #[inline(always)]
    fn locate(&self, id: u32) -> (usize, usize) {
        // first_chunk is a power of two: shifts, not divisions.
        let shift = self.shift;
        let q = (id >> shift) + 1;
        let k = 31 - q.leading_zeros();
        let start = ((1u32 << k) - 1) << shift;
        (k as usize, (id - start) as usize)
    }

    /// The slot `id`, if its chunk exists.
    #[inline]
    fn slot(&self, id: u32) -> Option<&Slot<T>> {
        if id >= MAX_SLOTS {
            return None;
        }
        let (k, i) = self.locate(id);
        let chunk = self.chunks.get(k)?.load(Ordering::Acquire);
        if chunk.is_null() {
            return None;
        }
        debug_assert!(i < (self.config.first_chunk as usize) << k);
        // SAFETY: a non-null chunk pointer was published (release store, under the depot
        // lock) after the chunk of `len` slots was fully initialized, and chunks are freed
        // only by teardown, which needs `&mut self`; `i < len` by construction of `locate`.
        Some(unsafe { &*chunk.add(i) })
    }

    /// Runs `f` on this thread's magazine for this pool, registering one on first use.
    /// `None` if the thread is exiting (its thread-locals are gone).
    #[inline(always)]
    fn with_magazine<R>(&self, f: impl FnOnce(&mut Mag) -> R) -> Option<R> {
        let (id, mut cache) = LAST.try_with(Cell::get).unwrap_or((0, std::ptr::null()));
        // A matching id comes with its (non-null) `Cache`: the hit path tests nothing else.
        if id != self.id {
            // `f` stays out of the slow path, so the hit path builds no closure for it.
            cache = self.cache_slow();
            if cache.is_null() {
                return None;
            }
        }
        // SAFETY: the `Cache` is alive: see `Last` (the id matched this live pool), or
        // `cache_slow`; either way this thread's `LOCAL` holds it, and `f` (pool-internal
        // magazine work that never touches `LOCAL`) cannot make it let go. The magazine is
        // this thread's; it is touched without the lock only on this thread while it uses
        // the pool (teardown, which needs the pool exclusively, cannot run), and `f` does
        // not re-enter.
        let cache = unsafe { &*cache };
        Some(cache.magazine.with_mut(|m| {
            // SAFETY: as above, the magazine is this thread's and nothing else touches it now.
            f(unsafe { &mut *m })
        }))
    }

    /// This thread's `Cache` for this pool, registered on first use and made the `LAST`
    /// one; it stays in this thread's `LOCAL` (which keeps it alive) until the thread exits
    /// or calls [`release_thread_caches`]. Null if the thread is exiting.
    #[cold]
    #[inline(never)]
    fn cache_slow(&self) -> *const Cache {
        LOCAL
            .try_with(|local| {
                let mut local = local.borrow_mut();
                let cache = match local.caches.iter().position(|(p, _)| *p == self.id) {
                    Some(i) => Arc::as_ptr(&local.caches[i].1),
                    None => {
                        let cache = self.register();
                        // Forget magazines of pools that have been torn down.
                        local
                            .caches
                            .retain(|(_, c)| !c.dead.load(Ordering::Acquire));
                        let ptr = Arc::as_ptr(&cache);
                        local.caches.push((self.id, cache));
                        ptr
                    }
                };
                let _ = LAST.try_with(|l| l.set((self.id, cache)));
                cache
            })
            .unwrap_or(std::ptr::null())
    }

    fn register(&self) -> Arc<Cache> {
        let cache = Arc::new(Cache {
            shared: Arc::clone(&self.shared),
            magazine: UnsafeCell::new(Mag::new(self.config.magazine)),
            dead: AtomicBool::new(false),
        });
        self.shared.lock().caches.push(Arc::clone(&cache));
        cache
    }

    /// One free id from the depot: a freed one, else a never-used one (allocating the next
    /// chunk if needed). `None` when the pool is full.
    fn depot_take(&self, depot: &mut Depot) -> Option<u32> {
        if let Some(id) = depot.free.pop() {
            return Some(id);
        }
        if depot.fresh == depot.capacity {
            if depot.chunks == CHUNKS || depot.capacity >= MAX_SLOTS {
                return None;
            }
            let k = depot.chunks;
            let len = (self.config.first_chunk as usize) << k;
            // The chunk's first id is the capacity before it (ids past `MAX_SLOTS`, in the
            // last chunk, are never handed out).
            let first = depot.capacity as usize;
            let chunk: Box<[Slot<T>]> = (0..len)
                .map(|i| Slot {
                    header: SlotHeader {
                        state: AtomicU32::new(0),
                        id: (first + i).min(MAX_SLOTS as usize) as u32,
                    },
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect();
            let ptr = Box::into_raw(chunk).cast::<Slot<T>>();
            self.chunks[k].store(ptr, Ordering::Release);
            depot.chunks += 1;
            depot.capacity = depot.capacity.saturating_add(len as u32).min(MAX_SLOTS);
        }
        let id = depot.fresh;
        depot.fresh += 1;
        Some(id)
    }

    /// Refills the empty magazine `m` with half its capacity from the depot and pops one
    /// slot (the miss path of alloc). `None` when the pool is full.
    #[cold]
    #[inline(never)]
    fn refill(&self, m: &mut Mag) -> Option<NonNull<SlotHeader>> {
        let mut depot = self.shared.lock();
        let n = (m.cap / 2).max(1);
        while m.len < n {
            let Some(id) = self.depot_take(&mut depot) else {
                break;
            };
            m.push(self.depot_slot(id)); // never full: `n < cap`
        }
        m.pop()
    }

    /// The header of slot `id`, just taken from the depot (under its lock).
    fn depot_slot(&self, id: u32) -> NonNull<SlotHeader> {
        let slot = self.slot(id).expect("ids the depot hands out have a chunk");
        // A pointer to the whole slot (`fill` turns it back into one), typed as its header.
        NonNull::from(slot).cast()
    }

    /// Flushes half of the full magazine `m` (of this pool) to the depot (the miss path of
    /// free).
    #[cold]
    #[inline(never)]
    fn flush(&self, m: &mut Mag) {
        // SAFETY: this pool is alive (`&self`), and `m` is one of its magazines.
        unsafe { m.flush_half(&mut self.shared.lock().free) };
    }

    /// A slot whose version reached `retire_period`: counted as retired (its id goes to no
    /// free list), or, with `recycle`, restarted at version 1 and returned to the depot.
    /// Takes only the id (a register): passing the whole entry made the hot path spill it.
    #[cold]
    #[inline(never)]
    fn retire(&self, id: u32) {
        let mut depot = self.shared.lock();
        if self.config.recycle {
            // The slot was just marked free and is in no free list yet, so no other thread
            // reads or writes its state until the id is pushed below (under the depot lock,
            // which orders this store before any refill that takes the id).
            let slot = self.slot(id).expect("a freed id has a chunk");
            slot.header.state.store(1 << 1, Ordering::Release);
            depot.free.push(id);
        } else {
            depot.retired += 1;
        }
    }

    /// A free slot: from this thread's magazine, else refilled from the depot.
    #[inline(always)]
    fn take_free(&self) -> Result<NonNull<SlotHeader>, PoolFull> {
        match self.with_magazine(|m| m.pop().or_else(|| self.refill(m))) {
            Some(free) => free.ok_or(PoolFull),
            None => self.take_free_exiting(),
        }
    }

    /// A free slot for a thread that is exiting (no magazine): from the depot directly.
    #[cold]
    #[inline(never)]
    fn take_free_exiting(&self) -> Result<NonNull<SlotHeader>, PoolFull> {
        let mut depot = self.shared.lock();
        let id = self.depot_take(&mut depot).ok_or(PoolFull)?;
        Ok(self.depot_slot(id))
    }

    /// Returns a slot that `vacate` just freed: to this thread's magazine, flushing half of
    /// it to the depot when full; a retired slot is only counted.
    #[inline(always)]
    fn put_free(&self, free: Free) {
        if self.retires(free.version) {
            return self.retire(free.id);
        }
        let done = self.with_magazine(|m| {
            if m.push(free.slot) {
                self.flush(m);
            }
        });
        if done.is_none() {
            self.put_free_exiting(free.id);
        }
    }

    /// Returns a slot that `vacate` just freed to the depot, not to a magazine (this
    /// thread registers none): a retired slot is only counted.
    #[cold]
    fn put_free_shared(&self, free: Free) {
        if self.retires(free.version) {
            return self.retire(free.id);
        }
        self.put_free_exiting(free.id);
    }

    /// Returns a free id for a thread that is exiting (no magazine): to the depot directly.
    #[cold]
    #[inline(never)]
    fn put_free_exiting(&self, id: u32) {
        self.shared.lock().free.push(id);
    }

    /// Whether a slot whose version just became `version` is retired.
    #[inline(always)]
    fn retires(&self, version: u32) -> bool {
        // retire_period is a power of two: a mask, not a division.
        version & self.retire_mask == 0
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

    /// Writes `value` into the free slot `slot` and marks it live.
    ///
    /// # Safety
    /// `slot` must have been taken from one of this pool's free lists (a magazine, or the
    /// depot through `depot_slot`) by the caller, and not yet filled.
    #[inline(always)]
    unsafe fn fill(&self, slot: NonNull<SlotHeader>, value: T) -> Owned {
        // SAFETY: a free-list entry of this pool points to a whole slot (`depot_slot`,
        // `mark_free`), in a chunk that lives as long as the pool.
        let slot = unsafe { slot.cast::<Slot<T>>().as_ref() };
        // The slot is free, so this thread is the only one that writes it; the last store to
        // its state word (the free that vacated it, on this thread or before its id went
        // through the depot lock, or the chunk's initialization) happens before this load.
        let state = slot.header.state.load(Ordering::Relaxed);
        debug_assert_eq!(state & 1, 0, "a free slot is not live");
        let version = state >> 1;
        // SAFETY: the slot came from a free list, so this thread is the only one that can
        // touch its value until the reference below is published.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.header.state.store(version << 1 | 1, Ordering::Release);
        Owned {
            r: PoolRef {
                id: slot.header.id,
                version,
            },
            pool: self.id,
            slot: NonNull::from(slot).cast(),
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

    /// The value in `slot`, if it is live with `version`.
    ///
    /// # Safety
    /// As for [`get_ref`](Self::get_ref).
    #[inline(always)]
    unsafe fn value_ref(slot: &Slot<T>, version: u32) -> Option<&T> {
        if !live_with(slot.header.state.load(Ordering::Acquire), version) {
            return None;
        }
        // SAFETY: the slot is live with this version, so its value is initialized; the
        // caller guarantees no concurrent free or mutable access.
        Some(slot.value.with(|p| unsafe { (*p).assume_init_ref() }))
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

    /// The value in `slot`, mutably, if it is live with `version`.
    ///
    /// # Safety
    /// As for [`get_mut_ref`](Self::get_mut_ref).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn value_mut(slot: &Slot<T>, version: u32) -> Option<&mut T> {
        if !live_with(slot.header.state.load(Ordering::Acquire), version) {
            return None;
        }
        // SAFETY: live with this version, so initialized; exclusivity is the caller's
        // contract.
        Some(slot.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
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

    /// Moves the value out of `slot` (the slot of `r.id`) if it is live with `r.version`,
    /// and marks the slot free with the next version; returns the value and the slot's
    /// magazine entry. The slot is not yet returned to any free list.
    ///
    /// # Safety
    /// `slot` is the slot of `r.id` in this pool; as for [`free_ref`](Self::free_ref).
    #[inline(always)]
    unsafe fn vacate(&self, slot: &Slot<T>, r: PoolRef) -> Option<(T, Free)> {
        if !live_with(slot.header.state.load(Ordering::Acquire), r.version) {
            return None;
        }
        // SAFETY: live with this version, so initialized; the caller guarantees exclusive
        // access, and `mark_free` marks it free before anyone can reuse the id.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        Some((value, Self::mark_free(slot, r)))
    }

    /// Marks the live slot `slot` (of `r`) free with the next version; returns its magazine
    /// entry (the id is not yet in any free list).
    #[inline(always)]
    fn mark_free(slot: &Slot<T>, r: PoolRef) -> Free {
        let version = r.version.wrapping_add(1) & (u32::MAX >> 1);
        slot.header.state.store(version << 1, Ordering::Release);
        Free {
            id: r.id,
            version,
            slot: NonNull::from(slot).cast(),
        }
    }

    /// Checks that `o` belongs to this pool and vacates its slot (see `vacate`).
    ///
    /// # Panics
    /// If `o` belongs to another pool.
    #[inline(always)]
    fn vacate_owned(&self, o: &Owned) -> (T, Free) {
        let slot = self.owned_slot(o);
        // SAFETY: `slot` is the slot of `o.r.id`; `o` is the unique owner of a live slot,
        // and the caller consumes it.
        unsafe { self.vacate(slot, o.r) }.expect("an Owned slot is live")
    }

    /// The slot of `o`, after checking that `o` belongs to this pool.
    ///
    /// # Panics
    /// If `o` belongs to another pool.
    #[inline(always)]
    fn owned_slot(&self, o: &Owned) -> &Slot<T> {
        assert_eq!(o.pool, self.id, "Owned from another pool");
        // SAFETY: `o` was made by this pool (pool ids are never reused), so `o.slot` points
        // to one of its slots (`fill`), in a chunk that lives until teardown, which `&self`
        // excludes.
        unsafe { o.slot.cast::<Slot<T>>().as_ref() }
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

    /// Counters: (free ids in the depot, slot capacity, registered magazines, chunks).
    pub fn depot_stats(&self) -> (usize, u32, usize, usize) {
        let d = self.shared.lock();
        (
            d.free.len() + (d.capacity - d.fresh) as usize,
            d.capacity,
            d.caches.len(),
            d.chunks,
        )
    }

    /// Free slots (in the depot, never used, and in every registered thread magazine) and
    /// the slot capacity. With nothing live they are equal. Takes `&mut self`: no thread may
    /// be in the middle of a pool operation (a thread exiting meanwhile waits for the depot
    /// lock this holds).
    pub fn free_slots(&mut self) -> (u64, u32) {
        let depot = self.shared.lock();
        let mut free = depot.free.len() as u64 + u64::from(depot.capacity - depot.fresh);
        for cache in &depot.caches {
            // SAFETY: `&mut self` excludes every pool operation, and the exit guards of the
            // magazines' threads need the depot lock, which is held.
            free += cache.magazine.with(|m| unsafe { (*m).len }) as u64;
        }
        (free, depot.capacity)
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

    fn teardown(&mut self) -> PoolReport {
        let mut report = PoolReport::default();
        let live: u64;
        {
            let mut depot = self.shared.lock();
            if !depot.alive {
                return report;
            }
            depot.alive = false;
            // Every id the depot ever handed out (those below `fresh`) is now in the depot's
            // free list, in a registered magazine, retired, or live: the live count follows
            // without any per-operation bookkeeping.
            let mut not_live = depot.free.len() as u64 + depot.retired;
            for cache in depot.caches.drain(..) {
                // SAFETY: teardown has exclusive ownership of the pool, so no thread is in a
                // pool operation; a thread exiting now waits for the depot lock we hold and
                // then sees `alive == false` and leaves its magazine alone.
                let drained = cache
                    .magazine
                    .with_mut(|m| unsafe { std::mem::take(&mut (*m).len) });
                not_live += drained as u64;
                cache.dead.store(true, Ordering::Release);
                report.caches_drained += 1;
            }
            debug_assert!(not_live <= u64::from(depot.fresh), "ids were counted twice");
            live = u64::from(depot.fresh).saturating_sub(not_live);
            depot.free = Vec::new();
            report.retired = depot.retired;
            report.chunks = depot.chunks as u64;
            report.capacity = u64::from(depot.capacity);
        }
        // With nothing live (or nothing to drop), teardown costs one free per chunk, not a
        // visit per slot; otherwise the scan stops at the last live value.
        let mut remaining = if std::mem::needs_drop::<T>() { live } else { 0 };
        report.live_dropped = live;
        for k in 0..CHUNKS {
            let ptr = self.chunks[k].swap(std::ptr::null_mut(), Ordering::Acquire);
            if ptr.is_null() {
                continue;
            }
            let len = (self.config.first_chunk as usize) << k;
            // SAFETY: `ptr` came from `Box::into_raw` of a boxed slice of `len` slots in
            // `take_from_depot` and was swapped out, so it is reclaimed exactly once.
            let chunk: Box<[Slot<T>]> =
                unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) };
            for slot in chunk.iter() {
                let live = slot.header.state.load(Ordering::Acquire) & 1 == 1;
                if remaining == 0 {
                    // Debug builds check the count: nothing live may be left behind.
                    debug_assert!(
                        !live || !std::mem::needs_drop::<T>(),
                        "a live value was not counted"
                    );
                    if cfg!(debug_assertions) {
                        continue;
                    }
                    break;
                }
                if live {
                    // SAFETY: live, so initialized; teardown owns the pool exclusively.
                    slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
                    remaining -= 1;
                }
            }
            drop(chunk);
        }
        debug_assert_eq!(remaining, 0, "every counted live value was found");
        report
    }
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        self.teardown();
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

/// A thread's cache of one pool, held across many operations (see [`Pool::local`]). Not
/// `Send`: the magazine belongs to the thread that made it.
pub struct LocalCache<'p, T> {
    pool: &'p Pool<T>,
    cache: Arc<Cache>,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl<T> LocalCache<'_, T> {
    #[inline(always)]
    fn magazine<R>(&self, f: impl FnOnce(&mut Mag) -> R) -> R {
        // SAFETY: the magazine belongs to this thread (`LocalCache` is not `Send`, and the
        // thread-local path hands out the same magazine only on this thread); it is borrowed
        // only for the duration of `f`, which does not re-enter; teardown needs the pool
        // exclusively, which the `'p` borrow excludes.
        self.cache.magazine.with_mut(|m| f(unsafe { &mut *m }))
    }

    /// Allocates a slot for `value` from this thread's magazine.
    #[inline(always)]
    pub fn alloc(&self, value: T) -> Result<Owned, PoolFull> {
        let pool = self.pool;
        let slot = self
            .magazine(|m| m.pop().or_else(|| pool.refill(m)))
            .ok_or(PoolFull)?;
        // SAFETY: `slot` was just taken from a free list for this call.
        Ok(unsafe { pool.fill(slot, value) })
    }

    /// Frees the slot owned by `o` into this thread's magazine and returns its value.
    ///
    /// # Panics
    /// If `o` belongs to another pool.
    #[inline(always)]
    pub fn free(&self, o: Owned) -> T {
        let pool = self.pool;
        let (value, free) = pool.vacate_owned(&o);
        if pool.retires(free.version) {
            pool.retire(free.id);
        } else {
            self.magazine(|m| {
                if m.push(free.slot) {
                    pool.flush(m);
                }
            });
        }
        value
    }

    /// The pool.
    pub fn pool(&self) -> &Pool<T> {
        self.pool
    }
}

impl<T> Drop for LocalCache<'_, T> {
    fn drop(&mut self) {
        // A private magazine made while the thread was exiting is returned now; a registered
        // one stays with the thread (its exit guard returns it).
        let registered = LOCAL
            .try_with(|l| {
                l.borrow()
                    .caches
                    .iter()
                    .any(|(_, c)| Arc::ptr_eq(c, &self.cache))
            })
            .unwrap_or(false);
        if !registered {
            Cache::release(&self.cache);
        }
    }
}

/// A live slot of a pool, resolved once by [`Pool::resolve_mut`] (whose contract makes the
/// access exclusive): read or update its value, or free it.
pub struct LiveMut<'a, T> {
    pool: &'a Pool<T>,
    slot: &'a Slot<T>,
    r: PoolRef,
}

impl<'a, T> LiveMut<'a, T> {
    /// The value.
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: the slot is live with `r.version` (checked by `resolve_mut`, and only this
        // handle can free it), so initialized; `resolve_mut`'s contract makes the access
        // exclusive, and `&mut self` excludes another reference through this handle.
        self.slot
            .value
            .with_mut(|p| unsafe { (*p).assume_init_mut() })
    }

    /// The value, for as long as the handle's borrow of the pool.
    #[inline]
    pub fn into_mut(self) -> &'a mut T {
        // SAFETY: as in `get_mut`; the handle is consumed, so this is the only reference.
        self.slot
            .value
            .with_mut(|p| unsafe { (*p).assume_init_mut() })
    }

    /// Frees the slot and returns its value.
    #[inline]
    pub fn free(self) -> T {
        // SAFETY: live with this version, so initialized, and exclusively accessed (as in
        // `get_mut`); the handle is consumed, and `mark_free` marks the slot free before
        // `put_free` makes the id reusable.
        let value = self.slot.value.with(|p| unsafe { (*p).assume_init_read() });
        let free = Pool::mark_free(self.slot, self.r);
        self.pool.put_free(free);
        value
    }

    /// Runs `f` on the value in place, then frees the slot, dropping the value in place:
    /// the value is never moved (for a large `T`, cheaper than `free` and a drop).
    ///
    /// The slot is marked free before the value is dropped, and its id becomes reusable only
    /// after the drop has finished (or unwound), so a `Drop` that uses this pool cannot be
    /// handed this slot while it is dropped. If `f` panics, the slot stays live.
    #[inline]
    pub fn drop_with<R>(self, f: impl FnOnce(&mut T) -> R) -> R {
        self.drop_with_to(f, false)
    }

    /// [`drop_with`](Self::drop_with), returning the slot to the pool's shared free list
    /// (under its lock) instead of this thread's magazine, so a thread that frees once and
    /// will not use the pool again (a teardown about to drop the pool) registers no
    /// magazine for it.
    pub fn drop_with_shared<R>(self, f: impl FnOnce(&mut T) -> R) -> R {
        self.drop_with_to(f, true)
    }

    #[inline(always)]
    fn drop_with_to<R>(self, f: impl FnOnce(&mut T) -> R, shared: bool) -> R {
        let LiveMut { pool, slot, r } = self;
        // SAFETY: as in `get_mut`.
        let result = slot
            .value
            .with_mut(|p| f(unsafe { (*p).assume_init_mut() }));
        /// Returns the id to a free list when dropped (after the value's drop, even if it
        /// panics).
        struct Recycle<'a, T> {
            pool: &'a Pool<T>,
            free: Free,
            shared: bool,
        }
        impl<T> Drop for Recycle<'_, T> {
            #[inline(always)]
            fn drop(&mut self) {
                if self.shared {
                    self.pool.put_free_shared(self.free);
                } else {
                    self.pool.put_free(self.free);
                }
            }
        }
        let _recycle = Recycle {
            pool,
            free: Pool::mark_free(slot, r),
            shared,
        };
        // SAFETY: the value is initialized (live until `mark_free` just now), accessed
        // exclusively, and dropped exactly once: the slot is free and its id is in no free
        // list until `_recycle` drops, after this.
        slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        result
    }

    /// The reference this handle was resolved from.
    pub fn weak(&self) -> PoolRef {
        self.r
    }
}

/// The unique owner of one pool slot (not `Copy`): [`Pool::get`], [`Pool::get_mut`] and
/// [`Pool::free`] take it. Dropping it without `free` leaves the value to the pool's
/// teardown.
#[derive(Debug, PartialEq, Eq)]
pub struct Owned {
    r: PoolRef,
    pool: u64,
    /// The slot (a `Slot<T>` of pool `pool`), so `free`/`get` do not compute it.
    slot: NonNull<()>,
}

// SAFETY: `slot` is only dereferenced by the pool that made it, after checking `pool`
// (`Pool::owned_slot`), with the same synchronization as any other access to the slot; an
// `Owned` itself gives access to nothing else.
unsafe impl Send for Owned {}
// SAFETY: `&Owned` gives no access to the slot (only `weak`).
unsafe impl Sync for Owned {}

impl Owned {
    /// A checked, copyable reference to the slot (see [`Pool::is_live`]).
    pub fn weak(&self) -> PoolRef {
        self.r
    }
}

#[cfg(all(test, not(molt_loom)))]
mod tests {
    use super::*;

    fn small() -> PoolConfig {
        PoolConfig {
            first_chunk: 4,
            magazine: 4,
            retire_period: 8,
            recycle: false,
        }
    }

    #[test]
    fn ids_map_to_growing_chunks() {
        let p: Pool<u8> = Pool::with_config(small());
        assert_eq!(p.locate(0), (0, 0));
        assert_eq!(p.locate(3), (0, 3));
        assert_eq!(p.locate(4), (1, 0));
        assert_eq!(p.locate(11), (1, 7));
        assert_eq!(p.locate(12), (2, 0));
        let q: Pool<u8> = Pool::new();
        let (k, i) = q.locate(MAX_SLOTS - 1);
        assert!(k < CHUNKS && i < (256usize << k));
    }

    #[test]
    fn slot_headers_carry_their_ids_at_no_cost_for_8_aligned_values() {
        // The id sits in what would be padding between the state word and the value.
        assert_eq!(size_of::<Slot<[u64; 4]>>(), 8 + size_of::<[u64; 4]>());
        let p: Pool<u64> = Pool::with_config(small());
        // Several chunks, and through flushes (ids read back from the headers) and refills.
        let n = if cfg!(miri) { 40 } else { 1000 };
        let first: Vec<Owned> = (0..n).map(|i| p.alloc(i).unwrap()).collect();
        let ids: std::collections::BTreeSet<u32> = first.iter().map(|o| o.weak().id).collect();
        assert_eq!(ids, (0..n as u32).collect(), "ids are distinct and dense");
        for (i, o) in (0..).zip(first) {
            // SAFETY: single-threaded test; nothing else refers to the slot.
            assert_eq!(unsafe { p.get_ref(o.weak()) }, Some(&i));
            assert_eq!(p.free(o), i);
        }
        let again: Vec<Owned> = (0..n).map(|i| p.alloc(i).unwrap()).collect();
        let reused: std::collections::BTreeSet<u32> = again.iter().map(|o| o.weak().id).collect();
        assert_eq!(reused, ids, "every freed id came back once, none was lost");
        for o in again {
            p.free(o);
        }
        assert_eq!(p.shutdown().live_dropped, 0);
    }

    #[test]
    fn alloc_get_free_and_stale_refs() {
        let p = Pool::with_config(small());
        let mut a = p.alloc(String::from("a")).unwrap();
        p.get_mut(&mut a).push('!');
        assert_eq!(p.get(&a), "a!");
        let weak = a.weak();
        assert!(p.is_live(weak));
        assert_eq!(p.free(a), "a!");
        assert!(!p.is_live(weak));
        // The slot is reused (LIFO magazine) with a new version; the old ref stays dead.
        let b = p.alloc(String::from("b")).unwrap();
        assert_eq!(b.weak().id, weak.id);
        assert_ne!(b.weak().version, weak.version);
        assert!(!p.is_live(weak));
        // SAFETY: single-threaded test, no other access to the slot.
        assert!(unsafe { p.get_ref(weak) }.is_none());
        assert_eq!(p.get(&b), "b");
        let _never_freed = b;
        let report = p.shutdown();
        assert_eq!(report.live_dropped, 1, "b was never freed");
    }

    /// Ends an `Owned` without freeing its slot; its `PoolRef` now stands for the value.
    fn give_up(o: Owned) -> PoolRef {
        o.weak()
    }

    #[test]
    fn recycled_slots_restart_at_version_1_and_never_retire() {
        // retire_period 8 with recycle: a slot cycles through 1..=7 once it has come round,
        // and is never retired.
        let pool = Pool::<u32>::with_config(PoolConfig {
            first_chunk: 2,
            magazine: 2,
            retire_period: 8,
            recycle: true,
        });
        let first = pool.alloc(0).unwrap();
        let stale = first.weak();
        assert_eq!(stale.version, 0);
        pool.free(first);
        let mut versions = Vec::new();
        for i in 1..=20u32 {
            let o = pool.alloc(i).unwrap();
            assert_eq!(
                o.weak().id,
                stale.id,
                "the magazine hands the same slot back"
            );
            versions.push(o.weak().version);
            // The first ref (version 0) never matches again; a ref from 7 reuses ago does.
            assert!(!pool.is_live(stale));
            pool.free(o);
        }
        assert_eq!(versions[..9], [1, 2, 3, 4, 5, 6, 7, 1, 2]);
        let o = pool.alloc(99).unwrap();
        let r = o.weak();
        pool.free(o);
        // Rejected for the next 2^3 - 2 = 6 reuses, then the 7th has the same version.
        for reuse in 1..=7 {
            let o = pool.alloc(reuse).unwrap();
            assert_eq!(pool.is_live(r), reuse == 7, "reuse {reuse}");
            pool.free(o);
        }
        assert_eq!(pool.shutdown().retired, 0);
    }

    #[test]
    fn resolve_mut_updates_frees_and_rejects_stale_refs() {
        let p = Pool::with_config(small());
        // The value now belongs to whoever holds `r` (as the object heap does it).
        let r = give_up(p.alloc(vec![1u32]).unwrap());
        // Single-threaded test; each handle is used and dropped before the next is made.
        // SAFETY: as above.
        let mut live = unsafe { p.resolve_mut(r) }.unwrap();
        live.get_mut().push(2);
        assert_eq!(live.weak(), r);
        // SAFETY: as above (`live` was last used above).
        assert_eq!(unsafe { p.resolve_mut(r) }.unwrap().into_mut(), &[1, 2]);
        // SAFETY: as above (the reference above is gone).
        let live = unsafe { p.resolve_mut(r) }.unwrap();
        assert_eq!(live.drop_with(|v| v.len()), 2);
        assert!(!p.is_live(r));
        // SAFETY: as above.
        assert!(
            unsafe { p.resolve_mut(r) }.is_none(),
            "a freed slot is stale"
        );
        // The slot is reused with the next version; the old ref stays stale.
        let b = p.alloc(vec![3]).unwrap();
        assert_eq!((b.weak().id, b.weak().version), (r.id, r.version + 1));
        // SAFETY: as above.
        assert!(unsafe { p.resolve_mut(r) }.is_none());
        let rb = give_up(b);
        // SAFETY: as above; `b` (the slot's owner) was given up.
        assert_eq!(unsafe { p.resolve_mut(rb) }.unwrap().free(), vec![3]);
        assert!(!p.is_live(rb));
        assert_eq!(p.shutdown().live_dropped, 0);
    }

    #[test]
    fn drop_with_drops_in_place_once_and_recycles_the_slot_after_the_drop() {
        let marker = Arc::new(());
        let p = Pool::with_config(small());
        let r = give_up(p.alloc(Arc::clone(&marker)).unwrap());
        // SAFETY: single-threaded test; no other reference to the slot exists.
        unsafe { p.resolve_mut(r) }.unwrap().drop_with(|_| ());
        assert_eq!(Arc::strong_count(&marker), 1, "dropped exactly once");
        let again = p.alloc(Arc::clone(&marker)).unwrap();
        assert_eq!(again.weak().id, r.id, "the slot went back to the magazine");
        assert_eq!(p.shutdown().live_dropped, 1);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn local_handles_and_the_thread_local_path_share_one_magazine() {
        let p: Pool<u32> = Pool::with_config(small());
        let local = p.local();
        let a = local.alloc(1).unwrap();
        let id = a.weak().id;
        assert_eq!(p.free(a), 1); // into the same magazine
        let b = local.alloc(2).unwrap();
        assert_eq!(b.weak().id, id);
        // Many more than a magazine holds: refills and flushes through both paths.
        let many: Vec<Owned> = (0..50).map(|i| p.alloc(i).unwrap()).collect();
        for o in many {
            local.free(o);
        }
        assert_eq!(local.free(b), 2);
        drop(local);
        let mut p = p;
        let (free, capacity) = p.free_slots();
        assert_eq!(free, u64::from(capacity));
        assert_eq!(p.shutdown().live_dropped, 0);
    }

    #[test]
    #[should_panic]
    fn magazines_larger_than_the_inline_array_are_refused() {
        let _ = Pool::<u8>::with_config(PoolConfig {
            magazine: MAGAZINE_MAX + 1,
            ..PoolConfig::default()
        });
    }

    #[test]
    fn slots_retire_when_their_version_wraps() {
        let p = Pool::with_config(small());
        let mut seen = std::collections::HashSet::new();
        for i in 0..40u32 {
            let o = p.alloc(i).unwrap();
            assert!(
                seen.insert(o.weak()),
                "a (slot, version) pair was handed out twice"
            );
            p.free(o);
        }
        let report = p.shutdown();
        assert!(report.retired >= 4, "{report:?}");
    }

    #[test]
    fn many_values_and_teardown_drops_the_live_ones() {
        let p = Pool::with_config(small());
        let n = if cfg!(miri) { 200 } else { 5000 };
        let mut owned: Vec<Owned> = (0..n).map(|i| p.alloc(vec![i; 3]).unwrap()).collect();
        for (i, o) in owned.iter().enumerate() {
            assert_eq!(p.get(o)[0], i);
        }
        let keep = owned.split_off(n / 2);
        for o in owned {
            p.free(o);
        }
        let _leaked = keep; // never freed: teardown drops them
        let report = p.shutdown();
        assert_eq!(report.live_dropped, (n - n / 2) as u64);
        assert!(report.chunks >= 1);
    }

    #[test]
    fn drop_with_shared_frees_to_the_depot_and_registers_no_magazine() {
        let mut p: Pool<Vec<u32>> = Pool::with_config(small());
        // Allocated on another thread (its magazine is returned when it exits), freed here.
        let r =
            std::thread::scope(|s| s.spawn(|| give_up(p.alloc(vec![7]).unwrap())).join()).unwrap();
        assert_eq!(p.depot_stats().2, 0, "the allocating thread has exited");
        // SAFETY: single-threaded now; the handle is the only access to the slot.
        let live = unsafe { p.resolve_mut(r) }.unwrap();
        assert_eq!(live.drop_with_shared(|v| v[0]), 7);
        assert!(!p.is_live(r));
        assert_eq!(
            p.depot_stats().2,
            0,
            "the freeing thread registered no magazine"
        );
        let (free, capacity) = p.free_slots();
        assert_eq!(free, u64::from(capacity), "the slot is free again");
        let report = p.shutdown();
        assert_eq!((report.live_dropped, report.caches_drained), (0, 0));
    }

    #[test]
    fn release_thread_caches_returns_this_threads_magazines_now() {
        let mut p: Pool<u8> = Pool::with_config(small());
        let o = p.alloc(1).unwrap();
        p.free(o);
        assert_eq!(p.depot_stats().2, 1, "this thread's magazine is registered");
        let (free, capacity) = p.free_slots();
        assert_eq!(
            free,
            u64::from(capacity),
            "the magazine's ids count as free"
        );
        release_thread_caches();
        assert_eq!(p.depot_stats().2, 0);
        assert_eq!(
            p.depot_stats().0 as u32,
            capacity,
            "every id is back in the depot"
        );
        let o = p.alloc(2).unwrap(); // a fresh magazine
        assert_eq!(p.free(o), 2);
        assert_eq!(p.depot_stats().2, 1);
    }

    #[test]
    fn values_left_by_exited_threads_are_dropped_by_teardown() {
        let marker = Arc::new(());
        let p: Arc<Pool<Arc<()>>> = Arc::new(Pool::with_config(small()));
        for _ in 0..2 {
            let (p, marker) = (Arc::clone(&p), Arc::clone(&marker));
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let _leaked = p.alloc(Arc::clone(&marker)).unwrap();
                }
                let freed = p.alloc(Arc::clone(&marker)).unwrap();
                p.free(freed);
            })
            .join()
            .unwrap();
        }
        assert_eq!(Arc::strong_count(&marker), 7);
        let report = Arc::try_unwrap(p).unwrap().shutdown();
        assert_eq!(report.live_dropped, 6);
        assert_eq!(
            Arc::strong_count(&marker),
            1,
            "every leaked value was dropped"
        );
    }

    #[test]
    fn threads_return_their_magazines_at_exit_and_teardown_drains_live_ones() {
        let p: Arc<Pool<u64>> = Arc::new(Pool::with_config(small()));
        {
            // A joined (not scoped) thread: `join` returns after its thread-locals are gone.
            let p = Arc::clone(&p);
            std::thread::spawn(move || {
                let items: Vec<Owned> = (0..10).map(|i| p.alloc(i).unwrap()).collect();
                for o in items {
                    p.free(o);
                }
                assert_eq!(Pool::<u64>::local_cache_count(), 1);
            })
            .join()
            .unwrap();
        }
        // The thread exited: its magazine went back to the depot and was unregistered.
        let (free, capacity, caches, _) = p.depot_stats();
        assert_eq!(caches, 0);
        assert_eq!(free as u32, capacity, "every slot is free again");

        // A thread that is still alive (parked, outside the pool) when the pool is torn
        // down: teardown drains its magazine; the thread later finds it dead and drops it.
        let p2: Arc<Pool<u64>> = Arc::new(Pool::with_config(small()));
        let (used_tx, used_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let worker = {
            let p2 = Arc::clone(&p2);
            std::thread::spawn(move || {
                let o = p2.alloc(1).unwrap();
                p2.free(o);
                drop(p2);
                used_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                let before = Pool::<u64>::local_cache_count();
                let p3: Pool<u64> = Pool::with_config(small());
                let o = p3.alloc(2).unwrap();
                assert_eq!(p3.free(o), 2);
                (before, Pool::<u64>::local_cache_count())
            })
        };
        used_rx.recv().unwrap();
        let report = Arc::try_unwrap(p2)
            .expect("the worker dropped its Arc")
            .shutdown();
        assert_eq!(report.caches_drained, 1);
        go_tx.send(()).unwrap();
        let (before, after) = worker.join().unwrap();
        assert_eq!((before, after), (1, 1), "the dead magazine was dropped");
        drop(p);
    }
}

//! Thread caches: each thread's magazines (one per pool it used, in a thread-local list,
//! with a one-entry "last used" cache in front), their registration with the depot, and the
//! thread-exit guard that returns them.

use super::Pool;
use super::depot::DepotShared;
use super::magazine::Mag;
use crate::sync::{Arc, AtomicBool, Ordering, UnsafeCell, thread_local};
use std::cell::{Cell, RefCell};

/// One thread's magazine for one pool.
pub(super) struct Cache {
    shared: Arc<DepotShared>,
    /// Free slots. Accessed by the owning thread while it uses the pool (no lock), and
    /// under the depot lock by that thread's exit guard and by the pool's teardown (which
    /// runs only when no thread uses the pool).
    pub(super) magazine: UnsafeCell<Mag>,
    /// Set by teardown (under the depot lock) once the magazine was drained.
    pub(super) dead: AtomicBool,
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
    pub(super) fn release(this: &Arc<Self>) {
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
pub(super) struct Local {
    pub(super) caches: Vec<(u64, Arc<Cache>)>,
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
    pub(super) static LOCAL: RefCell<Local> = const { RefCell::new(Local { caches: Vec::new() }) };
}

#[cfg(molt_loom)]
thread_local! {
    // loom's `thread_local!` does not accept the `const { .. }` form.
    #[allow(clippy::missing_const_for_thread_local)]
    pub(super) static LOCAL: RefCell<Local> = RefCell::new(Local { caches: Vec::new() });
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

impl<T> Pool<T> {
    /// Runs `f` on this thread's magazine for this pool, registering one on first use.
    /// `None` if the thread is exiting (its thread-locals are gone).
    #[inline(always)]
    pub(super) fn with_magazine<R>(&self, f: impl FnOnce(&mut Mag) -> R) -> Option<R> {
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

    pub(super) fn register(&self) -> Arc<Cache> {
        let cache = Arc::new(Cache {
            shared: Arc::clone(&self.shared),
            magazine: UnsafeCell::new(Mag::new(self.config.magazine)),
            dead: AtomicBool::new(false),
        });
        self.shared.lock().caches.push(Arc::clone(&cache));
        cache
    }
}

//! Handles on slots and magazines: [`Owned`] (a slot's unique owner), [`LiveMut`] (a live
//! slot resolved once from a [`PoolRef`]) and [`LocalCache`] (a thread's magazine held
//! across operations).

use super::cache::{Cache, LOCAL};
use super::magazine::Mag;
use super::slot::{Free, Slot};
use super::{Pool, PoolFull, PoolRef};
use crate::sync::Arc;
use std::ptr::NonNull;

/// A thread's cache of one pool, held across many operations (see [`Pool::local`]). Not
/// `Send`: the magazine belongs to the thread that made it.
pub struct LocalCache<'p, T> {
    pub(super) pool: &'p Pool<T>,
    pub(super) cache: Arc<Cache>,
    pub(super) _not_send: std::marker::PhantomData<*const ()>,
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
    pub(super) pool: &'a Pool<T>,
    pub(super) slot: &'a Slot<T>,
    pub(super) r: PoolRef,
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
    pub(super) r: PoolRef,
    pub(super) pool: u64,
    /// The slot (a `Slot<T>` of pool `pool`), so `free`/`get` do not compute it.
    pub(super) slot: NonNull<()>,
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

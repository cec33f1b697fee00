//! The depot: a pool's only lock, over its free ids, never-used ids, chunk allocation, the
//! registry of thread magazines and the retired count; and the paths between magazines and
//! it (refill on a miss, flush of a full magazine, retirement, threads that are exiting).

use super::cache::Cache;
use super::magazine::Mag;
use super::slot::{Free, Slot, SlotHeader};
use super::{CHUNKS, MAX_SLOTS, Pool, PoolFull};
use crate::sync::{Arc, AtomicU32, Mutex, MutexGuard, Ordering, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

pub(super) struct Depot {
    pub(super) alive: bool,
    pub(super) free: Vec<u32>,
    /// Ids below `capacity` never handed out start here.
    pub(super) fresh: u32,
    pub(super) capacity: u32,
    pub(super) chunks: usize,
    pub(super) caches: Vec<Arc<Cache>>,
    pub(super) retired: u64,
}

/// The part of a pool that thread caches keep alive: its depot.
pub(super) struct DepotShared {
    pub(super) depot: Mutex<Depot>,
}

impl DepotShared {
    pub(super) fn lock(&self) -> MutexGuard<'_, Depot> {
        // The depot is plain bookkeeping: a panic while it was held cannot leave it in a
        // state that breaks memory safety, so a poisoned lock is used as is.
        self.depot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A pool's depot counters, from [`Pool::depot_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepotStats {
    /// Free ids in the depot: freed ones in its free list and never-used ones below the
    /// capacity (ids in thread magazines are not counted; see [`Pool::free_slots`]).
    pub free: usize,
    /// Slot capacity: the slots in the chunks allocated so far (at most
    /// [`MAX_SLOTS`]).
    pub capacity: u32,
    /// Magazines registered with the depot: one per thread that used the pool and has not
    /// yet returned its magazine (at thread exit or with
    /// [`release_thread_caches`](super::release_thread_caches)).
    pub caches: usize,
    /// Chunks allocated so far.
    pub chunks: usize,
}

/// A pool's free slots everywhere, from [`Pool::free_slots`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeSlots {
    /// Free slots: in the depot, never used, and in every registered thread magazine.
    pub free: u64,
    /// Slot capacity; with nothing live, `free` equals it.
    pub capacity: u32,
}

impl<T> Pool<T> {
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
    pub(super) fn refill(&self, m: &mut Mag) -> Option<NonNull<SlotHeader>> {
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
    pub(super) fn flush(&self, m: &mut Mag) {
        // SAFETY: this pool is alive (`&self`), and `m` is one of its magazines.
        unsafe { m.flush_half(&mut self.shared.lock().free) };
    }

    /// A slot whose version reached `retire_period`: counted as retired (its id goes to no
    /// free list), or, with `recycle`, restarted at version 1 and returned to the depot.
    /// Takes only the id (a register): passing the whole entry made the hot path spill it.
    #[cold]
    #[inline(never)]
    pub(super) fn retire(&self, id: u32) {
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
    pub(super) fn take_free(&self) -> Result<NonNull<SlotHeader>, PoolFull> {
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
    pub(super) fn put_free(&self, free: Free) {
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
    pub(super) fn put_free_shared(&self, free: Free) {
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
    pub(super) fn retires(&self, version: u32) -> bool {
        // retire_period is a power of two: a mask, not a division.
        version & self.retire_mask == 0
    }
}

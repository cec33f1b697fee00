//! Bulk teardown: drain the magazines of threads still alive, drop every live value (found
//! by counting, not by per-operation bookkeeping), free the chunks wholesale.

use super::slot::Slot;
use super::{CHUNKS, Pool};
use crate::sync::Ordering;

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

impl<T> Pool<T> {
    pub(super) fn teardown(&mut self) -> PoolReport {
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

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        self.teardown();
    }
}

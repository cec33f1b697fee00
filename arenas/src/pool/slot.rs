//! Pool slots: the header every slot starts with (its state word `version << 1 | live` and
//! its fixed id), the arithmetic from an id to its chunk, and the state changes of a slot:
//! filling a free one, reading a live one, vacating it with the next version.

use super::{MAX_SLOTS, Owned, Pool, PoolRef};
use crate::sync::{AtomicU32, Ordering, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// The start of every slot, whatever `T` (`repr(C)`): a magazine, which is not generic,
/// holds slots as pointers to their headers and can read their ids.
#[repr(C)]
pub(super) struct SlotHeader {
    /// `version << 1 | live`.
    pub(super) state: AtomicU32,
    /// The slot's id: written when its chunk is made, never changed. In what would mostly be
    /// padding (before a value aligned to 8 bytes).
    pub(super) id: u32,
}

#[repr(C)]
pub(super) struct Slot<T> {
    pub(super) header: SlotHeader,
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
}

/// Whether a slot's state word says "live with `version`".
#[inline(always)]
pub(super) fn live_with(state: u32, version: u32) -> bool {
    state == (version << 1 | 1)
}

/// A slot that a free just vacated, on its way to a free list: its id, its new version (to
/// decide whether it retires) and its header.
#[derive(Clone, Copy)]
pub(super) struct Free {
    pub(super) id: u32,
    pub(super) version: u32,
    pub(super) slot: NonNull<SlotHeader>,
}

impl<T> Pool<T> {
    #[inline(always)]
    pub(super) fn locate(&self, id: u32) -> (usize, usize) {
        // first_chunk is a power of two: shifts, not divisions.
        let shift = self.shift;
        let q = (id >> shift) + 1;
        let k = 31 - q.leading_zeros();
        let start = ((1u32 << k) - 1) << shift;
        (k as usize, (id - start) as usize)
    }

    /// The slot `id`, if its chunk exists.
    #[inline]
    pub(super) fn slot(&self, id: u32) -> Option<&Slot<T>> {
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

    /// Writes `value` into the free slot `slot` and marks it live.
    ///
    /// # Safety
    /// `slot` must have been taken from one of this pool's free lists (a magazine, or the
    /// depot through `depot_slot`) by the caller, and not yet filled.
    #[inline(always)]
    pub(super) unsafe fn fill(&self, slot: NonNull<SlotHeader>, value: T) -> Owned {
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

    /// The value in `slot`, if it is live with `version`.
    ///
    /// # Safety
    /// As for [`get_ref`](Self::get_ref).
    #[inline(always)]
    pub(super) unsafe fn value_ref(slot: &Slot<T>, version: u32) -> Option<&T> {
        if !live_with(slot.header.state.load(Ordering::Acquire), version) {
            return None;
        }
        // SAFETY: the slot is live with this version, so its value is initialized; the
        // caller guarantees no concurrent free or mutable access.
        Some(slot.value.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// The value in `slot`, mutably, if it is live with `version`.
    ///
    /// # Safety
    /// As for [`get_mut_ref`](Self::get_mut_ref).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub(super) unsafe fn value_mut(slot: &Slot<T>, version: u32) -> Option<&mut T> {
        if !live_with(slot.header.state.load(Ordering::Acquire), version) {
            return None;
        }
        // SAFETY: live with this version, so initialized; exclusivity is the caller's
        // contract.
        Some(slot.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
    }

    /// Moves the value out of `slot` (the slot of `r.id`) if it is live with `r.version`,
    /// and marks the slot free with the next version; returns the value and the slot's
    /// magazine entry. The slot is not yet returned to any free list.
    ///
    /// # Safety
    /// `slot` is the slot of `r.id` in this pool; as for [`free_ref`](Self::free_ref).
    #[inline(always)]
    pub(super) unsafe fn vacate(&self, slot: &Slot<T>, r: PoolRef) -> Option<(T, Free)> {
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
    pub(super) fn mark_free(slot: &Slot<T>, r: PoolRef) -> Free {
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
    pub(super) fn vacate_owned(&self, o: &Owned) -> (T, Free) {
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
    pub(super) fn owned_slot(&self, o: &Owned) -> &Slot<T> {
        assert_eq!(o.pool, self.id, "Owned from another pool");
        // SAFETY: `o` was made by this pool (pool ids are never reused), so `o.slot` points
        // to one of its slots (`fill`), in a chunk that lives until teardown, which `&self`
        // excludes.
        unsafe { o.slot.cast::<Slot<T>>().as_ref() }
    }
}

//! Magazines: a thread's stack of free slots for one pool, stored inline (no `Vec`), one
//! word (the slot's header pointer) an entry.

use super::slot::SlotHeader;
use std::ptr::NonNull;

/// Entries in a magazine's array (a power of two, at least [`MAGAZINE_MAX`](super::MAGAZINE_MAX)).
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
///
/// [`Cache`]: super::cache::Cache
pub(super) struct Mag {
    pub(super) len: usize,
    /// The pool's [`PoolConfig::magazine`](super::PoolConfig::magazine).
    pub(super) cap: usize,
    slots: [NonNull<SlotHeader>; MAG_ENTRIES],
}

impl Mag {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            len: 0,
            cap,
            slots: [NonNull::dangling(); MAG_ENTRIES],
        }
    }

    #[inline(always)]
    pub(super) fn pop(&mut self) -> Option<NonNull<SlotHeader>> {
        let len = self.len.checked_sub(1)?;
        self.len = len;
        Some(self.slots[len & (MAG_ENTRIES - 1)])
    }

    /// Pushes `slot`; `true` if the magazine is now full (the caller flushes half of it).
    #[inline(always)]
    pub(super) fn push(&mut self, slot: NonNull<SlotHeader>) -> bool {
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
    pub(super) unsafe fn flush_half(&mut self, free: &mut Vec<u32>) {
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
    pub(super) unsafe fn drain_into(&mut self, free: &mut Vec<u32>) -> usize {
        let len = std::mem::take(&mut self.len);
        // SAFETY: forwarded contract.
        free.extend(unsafe { Self::ids(&self.slots[..len]) });
        len
    }
}

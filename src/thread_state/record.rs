//! [`ThreadState`]: the calling thread's record ([`THREAD`]) and its identity for the held
//! check ([`thread_identity`]).

use super::lock::Saved;
use crate::lifecycle::RuntimeSlot;
use crate::state::RuntimeState;
use std::cell::Cell;

/// The calling thread's record (see the module docs).
#[derive(Debug)]
pub(crate) struct ThreadState {
    key: Cell<u64>,
    /// The runtime whose GIL this thread holds through the C ABI, or null. Mirrored in that
    /// runtime's lock (`OwnerLine::c_holder`), which is what the held path reads.
    c_state: Cell<*const RuntimeState>,
    /// Its generation in the slot that published it.
    c_generation: Cell<u64>,
    /// A `molt_gil_save` not yet restored: (generation, saved owner line).
    c_saved: Cell<Option<(u64, Saved, *const RuntimeState)>>,
}

impl ThreadState {
    const fn new() -> Self {
        Self {
            key: Cell::new(0),
            c_state: Cell::new(std::ptr::null()),
            c_generation: Cell::new(0),
            c_saved: Cell::new(None),
        }
    }

    /// This thread's key (process-unique, never 0).
    #[inline]
    pub(crate) fn key(&self) -> u64 {
        let k = self.key.get();
        if k != 0 {
            return k;
        }
        let k = molt_arenas::sync::next_instance_id().get();
        self.key.set(k);
        k
    }

    /// This thread's identity for the held check (see [`thread_identity`]).
    #[inline]
    fn identity(&self) -> usize {
        #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri), not(molt_loom)))]
        {
            thread_pointer()
        }
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri), not(molt_loom))))]
        {
            self.key() as usize
        }
    }

    /// Records that this thread holds `state`'s GIL, published in `slot` at `generation`,
    /// and mirrors the record in the state's lock. Caller: the lock's owner.
    pub(crate) fn set_c_state(&self, state: &RuntimeState, slot: &RuntimeSlot, generation: u64) {
        debug_assert!(
            std::ptr::eq(state.gil_lock(), slot.gil_lock()),
            "a C hold record names a runtime published in its slot, under the slot's lock"
        );
        let old = self.c_state.get();
        if !old.is_null() && !std::ptr::eq(old, state) {
            // SAFETY: the record names a runtime only while this thread holds its GIL (every
            // clear comes before the release that ends the hold), so `old` is alive.
            unsafe { &*old }
                .gil_lock()
                .clear_c_holder(self.key.get(), self.identity());
        }
        self.c_state.set(state);
        self.c_generation.set(generation);
        let lock = state.gil_lock();
        if lock.owned_by(self.key()) {
            lock.set_c_holder(self.identity(), state, generation);
        }
    }

    /// Forgets the C hold record (the generation stays, for a restore). Caller: still the
    /// lock's owner (the clear comes before the release).
    pub(crate) fn clear_c_state(&self) {
        let p = self.c_state.replace(std::ptr::null());
        if !p.is_null() {
            // SAFETY: as in `set_c_state`: the record named it, so this thread holds its GIL
            // and it is alive.
            unsafe { &*p }
                .gil_lock()
                .clear_c_holder(self.key.get(), self.identity());
        }
    }

    /// Puts back a record a save cleared, at the generation it kept. Caller: the owner again.
    fn restore_c_state(&self, state: &RuntimeState) {
        self.c_state.set(state);
        let lock = state.gil_lock();
        if lock.owned_by(self.key()) {
            lock.set_c_holder(self.identity(), state, self.c_generation.get());
        }
    }

    /// Whether the record names `state`.
    pub(crate) fn names(&self, state: &RuntimeState) -> bool {
        std::ptr::eq(self.c_state.get(), state)
    }

    /// The pending `molt_gil_save`, taken.
    pub(crate) fn take_saved(&self) -> Option<(u64, Saved, *const RuntimeState)> {
        self.c_saved.take()
    }

    /// Records a `molt_gil_save`.
    pub(crate) fn put_saved(&self, saved: Option<(u64, Saved, *const RuntimeState)>) {
        self.c_saved.set(saved);
    }
}

impl Drop for ThreadState {
    /// A thread that exits holding a runtime's GIL through the C ABI releases it. Touches
    /// only that runtime's lock (alive: see `c_held`), no other thread-local. A save made
    /// inside a call and never restored stops counting as a sleeper.
    fn drop(&mut self) {
        if let Some((_, saved, p)) = self.c_saved.take()
            && saved.tokens > 0
        {
            // SAFETY: a save inside a call counts as a sleeper, which keeps the runtime
            // alive (see `RuntimeSlot::gil_restore`).
            unsafe { &*p }.gil_lock().sleeper_leave();
        }
        let p = self.c_state.get();
        if p.is_null() {
            return;
        }
        self.c_state.set(std::ptr::null());
        // SAFETY: see `c_held`: the record names a runtime only while this thread holds its
        // GIL, which keeps the runtime alive.
        let state = unsafe { &*p };
        let lock = state.gil_lock();
        if lock.owned_by(self.key.get()) {
            lock.release_all();
        }
    }
}

#[cfg(not(molt_loom))]
molt_arenas::sync::thread_local! {
    /// The calling thread's record.
    pub(crate) static THREAD: ThreadState = const { ThreadState::new() };
}
#[cfg(molt_loom)]
molt_arenas::sync::thread_local! {
    /// The calling thread's record.
    pub(crate) static THREAD: ThreadState = ThreadState::new();
}

/// The calling thread's key (0 if its record is already destroyed, at thread exit).
#[inline]
pub(crate) fn thread_key() -> u64 {
    THREAD.try_with(|t| t.key()).unwrap_or(0)
}

/// Clears the C hold record if it names `state`; true if it did.
pub(crate) fn clear_c_state_if(state: &RuntimeState) -> bool {
    THREAD
        .try_with(|t| {
            let named = t.names(state);
            if named {
                t.clear_c_state();
            }
            named
        })
        .unwrap_or(false)
}

/// Puts back the C hold record a save cleared (the generation was kept).
pub(super) fn restore_c_state(state: &RuntimeState) {
    let _ = THREAD.try_with(|t| t.restore_c_state(state));
}

/// The calling thread's identity for the held check: the thread pointer where one
/// instruction reads it (x86-64 Linux: `%fs:0`, the TLS ABI's self pointer), else the
/// thread's key (a thread-local lookup; under Miri and loom too). Never 0, and unique among
/// live threads. A thread pointer is reused once its thread has exited: everything that
/// thread did, its record's destructor releasing (and so unmirroring) a GIL it held
/// included, happens before the reuse (the C library hands a thread's TCB to a new thread
/// only through its own synchronization), so a new thread never reads an old thread's
/// mirror as its own. Keys are never reused, which is why loom (which sees no such
/// synchronization in a reused allocation) models the held check with them.
#[inline]
pub(crate) fn thread_identity() -> usize {
    #[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri), not(molt_loom)))]
    {
        thread_pointer()
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri), not(molt_loom))))]
    {
        // A destroyed record (thread exit) matches nothing: no key is `usize::MAX`.
        THREAD.try_with(|t| t.identity()).unwrap_or(usize::MAX)
    }
}

/// The thread pointer (x86-64 Linux).
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri), not(molt_loom)))]
#[inline(always)]
fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: on x86-64 Linux the thread pointer (`%fs` base) points at the thread's TCB,
    // whose first word is the thread pointer itself (the x86-64 TLS ABI's self pointer, kept
    // by glibc and musl): the load reads this thread's own, always mapped TCB, and writes
    // nothing. `pure`: it is the same value every time on one thread.
    unsafe {
        core::arch::asm!(
            "mov {}, qword ptr fs:[0]",
            out(reg) tp,
            options(nostack, readonly, preserves_flags, pure)
        );
    }
    tp
}

//! [`PinnedState`]: the one owner of a built [`RuntimeState`], at a fixed heap address.
//!
//! Worker threads (the task scheduler, the sleep worker) hold raw pointers to the state, so
//! it must not move while any of them runs. A `PinnedState` is the only way to get a state
//! from outside the crate: it builds the state straight into its heap box, and its teardown
//! is written here once, in order — stop and join the workers (the state still at its
//! address), then free the box and run `RuntimeState::teardown` — for every owner:
//! [`Runtime`](crate::Runtime) and its `Drop`, the C ABI's [`RuntimeSlot`](crate::RuntimeSlot)
//! (shutdown and its `Drop`), and the worker that runs an orphaned runtime's teardown.
//! This is wasmtime's `Store` shape: a boxed inner state behind one owner whose drop is the
//! ordered teardown.

use crate::config::Config;
use crate::error::InitError;
use crate::report::TeardownReport;
use crate::state::RuntimeState;
use std::ops::Deref;
use std::ptr::NonNull;

/// A runtime state at a fixed heap address, owned (like a `Box`) and torn down in order when
/// dropped or by [`PinnedState::teardown`].
///
/// Held by a [`Runtime`](crate::Runtime) or published in a [`RuntimeSlot`](crate::RuntimeSlot);
/// tests and embedders that manage their own slot build one with [`PinnedState::new`]. A
/// state that could move cannot be made outside the crate:
///
/// ```compile_fail
/// // `RuntimeState` has no public constructor: a state held by value could move under
/// // its worker threads.
/// let state = molt_state::RuntimeState::build(&molt_state::Config::default());
/// ```
pub struct PinnedState {
    /// From `Box::into_raw`; freed only by [`PinnedState::teardown`] (or `Drop`).
    ptr: NonNull<RuntimeState>,
}

// SAFETY: a `PinnedState` owns a `RuntimeState` like a `Box` does, and `RuntimeState` is
// `Send + Sync` (asserted in state.rs); it hands out only shared references to it.
unsafe impl Send for PinnedState {}
// SAFETY: as above.
unsafe impl Sync for PinnedState {}

impl PinnedState {
    /// Builds a runtime state from `config`, in the strict init order, at its final address.
    /// On error, everything built so far has been dropped.
    pub fn new(config: &Config) -> Result<PinnedState, InitError> {
        let state = Box::new(RuntimeState::build(config)?);
        // The box is never moved out of until `teardown` has joined the workers.
        Ok(PinnedState {
            ptr: NonNull::from(Box::leak(state)),
        })
    }

    /// Gives up ownership for a raw pointer (published by the C slot, handed to a worker).
    pub(crate) fn into_raw(self) -> NonNull<RuntimeState> {
        let p = self.ptr;
        std::mem::forget(self);
        p
    }

    /// Takes back ownership of a pointer from [`PinnedState::into_raw`].
    ///
    /// # Safety
    /// `p` came from `into_raw`, and no other `PinnedState` owns it (each pointer is taken
    /// back at most once).
    pub(crate) unsafe fn from_raw(p: NonNull<RuntimeState>) -> PinnedState {
        PinnedState { ptr: p }
    }

    /// Stops and joins the worker threads, then frees the state, in the order written at
    /// `RuntimeState::teardown`, and returns its report. The caller has quiesced the state
    /// (no other thread inside, no task running), or accepts that `stop_workers` waits for
    /// the tasks still running.
    pub fn teardown(self) -> TeardownReport {
        let p = self.into_raw();
        // SAFETY: `p` is the live box this owner held (from `Box::leak` in `new`); shared
        // access only while workers may still read it.
        unsafe { p.as_ref() }.stop_workers();
        // SAFETY: `stop_workers` joined every thread that held a pointer to the state (an
        // orphan teardown's own worker holds none past its body), and `into_raw` ended this
        // owner, so the box is freed exactly once, here.
        let state = unsafe { Box::from_raw(p.as_ptr()) };
        state.teardown()
    }
}

impl Deref for PinnedState {
    type Target = RuntimeState;
    fn deref(&self) -> &RuntimeState {
        // SAFETY: `ptr` is the live box this owner holds; it is freed only by `teardown`,
        // which consumes the owner. Shared references only.
        unsafe { self.ptr.as_ref() }
    }
}

impl Drop for PinnedState {
    /// The same ordered teardown as [`PinnedState::teardown`], discarding the report.
    fn drop(&mut self) {
        // SAFETY: `self` is being dropped, so this owner is never used again; the new owner
        // takes its place, and `teardown` consumes it without running `Drop` a second time.
        let owner = unsafe { PinnedState::from_raw(self.ptr) };
        drop(owner.teardown());
    }
}

impl std::fmt::Debug for PinnedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PinnedState({})", self.id())
    }
}

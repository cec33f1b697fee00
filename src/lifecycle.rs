//! The lifecycle: [`Runtime`], an owned runtime for Rust callers, and [`RuntimeSlot`], the
//! published-pointer state machine behind the C ABI's process-default runtime.
//!
//! ```text
//! Uninit --init--> Initializing --ok--> Ready --shutdown--> ShuttingDown --> Uninit
//!                       \--error-------------------------------------------^
//! ```
//!
//! A `RuntimeSlot` is three words: the lifecycle word, the published pointer and a generation
//! counter. The lifecycle word packs the state (low 2 bits) with the number of threads
//! currently inside the runtime ("entrants", the rest). One atomic add both registers an
//! entrant and tells it the state, so an entrant and a shutdown can never both proceed:
//! either the entrant's add comes first and shutdown sees it (and waits for it), or the
//! shutdown's state change comes first and the entrant sees `ShuttingDown` (and backs out).
//! The pointer is only dereferenced by an entrant that saw `Ready`, and shutdown only frees
//! the state after moving to `ShuttingDown` and seeing zero entrants. Init and shutdown
//! serialize on a lifecycle lock, so concurrent initializers block (rather than spin) until
//! the one that builds has published.

use crate::config::Config;
use crate::error::{InitError, NotInitialized, RuntimeBusy, ShutdownError};
use crate::gil::Gil;
use crate::pinned::PinnedState;
use crate::report::TeardownReport;
use crate::state::RuntimeState;
use crate::thread_state::{Deadline, GilLock, THREAD, thread_key};
use molt_arenas::sync::{AtomicPtr, AtomicU64, Mutex, MutexGuard, Ordering, spin_wait};
use std::ops::Deref;
use std::ptr::NonNull;
use std::time::Duration;

/// A runtime owned by its creator. Several may live at once (one per test thread, say);
/// nothing of one is visible from another. Dropping it shuts it down.
///
/// The state sits at a fixed heap address for the runtime's whole life: a [`PinnedState`],
/// the owner that also writes the ordered teardown.
pub struct Runtime {
    /// `None` once torn down (or handed to a worker, see `Drop`).
    state: Option<PinnedState>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.state {
            Some(_) => write!(f, "Runtime({})", self.id()),
            None => f.write_str("Runtime(torn down)"),
        }
    }
}

impl Runtime {
    /// Builds a runtime. Fails, leaving nothing behind, if any init step fails.
    pub fn try_new(config: Config) -> Result<Runtime, InitError> {
        Ok(Runtime {
            state: Some(PinnedState::new(&config)?),
        })
    }

    /// Builds a runtime from `config`.
    ///
    /// # Panics
    /// If init fails; use [`Runtime::try_new`] to handle the error.
    pub fn new(config: Config) -> Runtime {
        match Runtime::try_new(config) {
            Ok(rt) => rt,
            Err(e) => panic!("Runtime::new failed (use Runtime::try_new to handle it): {e}"),
        }
    }

    /// Shuts the runtime down and returns the teardown report (the same teardown as `Drop`).
    ///
    /// Owning the runtime proves no other thread is inside it; tasks are another matter.
    /// Shutdown refuses new spawns, cancels pending and sleeping tasks, and waits up to
    /// `Config::shutdown_timeout` for running tasks. If they are still running then, it
    /// returns [`RuntimeBusy`], which gives the runtime back, still fully usable, so the
    /// caller can retry. Otherwise it stops and joins the worker threads and frees
    /// everything.
    pub fn shutdown(self) -> Result<TeardownReport, RuntimeBusy> {
        let deadline = Deadline::after(self.shutdown_timeout());
        if let Err(error) = self.quiesce(deadline) {
            return Err(RuntimeBusy {
                error,
                runtime: self,
            });
        }
        let mut this = self;
        Ok(this.finish())
    }

    /// Stops the workers, then frees the state. The caller has quiesced it.
    fn finish(&mut self) -> TeardownReport {
        self.state
            .take()
            .expect("a live Runtime always holds its state")
            .teardown()
    }
}

impl Deref for Runtime {
    type Target = RuntimeState;
    fn deref(&self) -> &RuntimeState {
        self.state
            .as_deref()
            .expect("a live Runtime always holds its state")
    }
}

impl Drop for Runtime {
    /// Shuts down like [`Runtime::shutdown`], except that a drop cannot hand the runtime
    /// back: while tasks keep running it waits for them (warning once on stderr), as
    /// dropping a thread pool waits for its jobs.
    ///
    /// Dropped inside one of its own tasks (a task body held the last `Arc<Runtime>`), it
    /// cannot wait for that task or join the worker running it: the teardown is handed to
    /// that worker, which performs it (quiesce, join the other workers, free everything)
    /// once the body has returned, and then exits; its report goes to stderr when
    /// `MOLT_PRINT_TEARDOWN=1`.
    fn drop(&mut self) {
        let Some(state) = &self.state else {
            return;
        };
        if crate::tasks::current_task(state.id().get()).is_some() {
            RuntimeState::hand_teardown_to_worker(self.state.take().expect("checked above"));
            return;
        }
        let bound = self.shutdown_timeout().max(Duration::from_millis(10));
        let mut warned = false;
        while let Err(e) = self.quiesce(Deadline::after(bound)) {
            if !warned {
                eprintln!("molt-state: dropping a runtime: {e}; waiting for its tasks");
                warned = true;
            }
        }
        self.finish();
    }
}

const STATE_BITS: u64 = 0b11;
const UNINIT: u64 = 0;
const INITIALIZING: u64 = 1;
const READY: u64 = 2;
const SHUTTING_DOWN: u64 = 3;
const ONE_ENTRANT: u64 = 4;

/// The lifecycle state of a [`RuntimeSlot`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// No runtime.
    Uninit,
    /// A thread is building the runtime.
    Initializing,
    /// The runtime is published and usable.
    Ready,
    /// A thread is tearing the runtime down.
    ShuttingDown,
}

fn lifecycle(word: u64) -> Lifecycle {
    match word & STATE_BITS {
        UNINIT => Lifecycle::Uninit,
        INITIALIZING => Lifecycle::Initializing,
        READY => Lifecycle::Ready,
        _ => Lifecycle::ShuttingDown,
    }
}

fn entrants(word: u64) -> u64 {
    word / ONE_ENTRANT
}

/// What [`RuntimeSlot::init`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitOutcome {
    /// This call built and published the runtime.
    Initialized,
    /// A runtime was already published (by this or another thread); nothing was built.
    AlreadyInitialized,
}

/// Bounds a wait: wall-clock time normally; a few loom yields under loom, where time does
/// not pass.
struct Patience {
    #[cfg(not(molt_loom))]
    deadline: std::time::Instant,
    #[cfg(molt_loom)]
    spins_left: u32,
}

impl Patience {
    fn new(timeout: Duration) -> Self {
        #[cfg(not(molt_loom))]
        {
            Self {
                deadline: std::time::Instant::now() + timeout,
            }
        }
        #[cfg(molt_loom)]
        {
            let _ = timeout;
            Self { spins_left: 2 }
        }
    }

    /// Waits a little; false once the bound is reached.
    fn wait(&mut self) -> bool {
        #[cfg(not(molt_loom))]
        {
            if std::time::Instant::now() >= self.deadline {
                return false;
            }
        }
        #[cfg(molt_loom)]
        {
            if self.spins_left == 0 {
                return false;
            }
            self.spins_left -= 1;
        }
        spin_wait();
        true
    }
}

/// The process-default runtime's published pointer, lifecycle word and generation, plus
/// the lifecycle lock that serializes init and shutdown.
///
/// The C ABI keeps one in a `static`; loom models build their own per iteration. The lock
/// guards transitions only: entering the runtime ([`RuntimeSlot::enter`]) never takes it.
#[derive(Debug)]
pub struct RuntimeSlot {
    word: AtomicU64,
    ptr: AtomicPtr<RuntimeState>,
    generation: AtomicU64,
    transition: Mutex<()>,
    /// The GIL of the runtime published here. It lives in the slot, not in the state, so a
    /// call takes it first and then checks that the runtime is `Ready`: holding the GIL of a
    /// `Ready` runtime keeps it alive (a shutdown frees it only after taking the GIL), and
    /// the call needs no entrant count.
    gil: GilLock,
}

/// Proof that the calling thread is inside the slot's runtime; the runtime cannot be freed
/// while it lives. Dereferences to the [`RuntimeState`].
#[derive(Debug)]
pub struct Entered<'a> {
    slot: &'a RuntimeSlot,
    state: &'a RuntimeState,
}

impl Deref for Entered<'_> {
    type Target = RuntimeState;
    fn deref(&self) -> &RuntimeState {
        self.state
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        // Release: everything this thread did inside the runtime happens-before the
        // shutdown that observes the entrant count drop.
        self.slot.word.fetch_sub(ONE_ENTRANT, Ordering::Release);
    }
}

impl Default for RuntimeSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl RuntimeSlot {
    /// An empty slot (`Uninit`, generation 0).
    #[cfg(not(molt_loom))]
    pub const fn new() -> Self {
        Self {
            word: AtomicU64::new(UNINIT),
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicU64::new(0),
            transition: Mutex::new(()),
            gil: GilLock::new(),
        }
    }

    /// An empty slot (`Uninit`, generation 0).
    #[cfg(molt_loom)]
    pub fn new() -> Self {
        Self {
            word: AtomicU64::new(UNINIT),
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicU64::new(0),
            transition: Mutex::new(()),
            gil: GilLock::new(),
        }
    }

    /// The current lifecycle state.
    pub fn lifecycle(&self) -> Lifecycle {
        lifecycle(self.word.load(Ordering::Acquire))
    }

    /// Whether a runtime is published.
    pub fn is_initialized(&self) -> bool {
        self.lifecycle() == Lifecycle::Ready
    }

    /// How many runtimes this slot has published and torn down (bumped at each shutdown).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Sets the state bits of the lifecycle word, keeping the entrant count.
    fn set_state(&self, from: u64, to: u64) {
        let prev = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w & STATE_BITS == from).then_some((w & !STATE_BITS) | to)
            })
            .expect("lifecycle word changed state under its owner");
        debug_assert_eq!(prev & STATE_BITS, from);
    }

    /// Takes the lifecycle lock, which serializes init and shutdown (entrants never take it).
    fn transition(&self) -> MutexGuard<'_, ()> {
        // Poisoning only means an init or teardown panicked; the guards below already put the
        // lifecycle word back in a consistent state, so the lock stays usable.
        self.transition.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Initializes the runtime with `build`, unless one is already published.
    ///
    /// Idempotent: concurrent callers all return `Ok` after exactly one of them built the
    /// state (the others wait on the lifecycle lock, then find it `Ready`). If `build` fails
    /// or panics, nothing is published, the slot returns to `Uninit` and a later call may
    /// succeed. A caller arriving during shutdown waits for it and then initializes a fresh
    /// runtime.
    pub fn init(
        &self,
        build: impl FnOnce() -> Result<PinnedState, InitError>,
    ) -> Result<InitOutcome, InitError> {
        if self.is_initialized() {
            return Ok(InitOutcome::AlreadyInitialized);
        }
        let _lock = self.transition();
        if self.word.load(Ordering::Acquire) & STATE_BITS == READY {
            return Ok(InitOutcome::AlreadyInitialized);
        }
        self.set_state(UNINIT, INITIALIZING);
        // If `build` panics, the guard returns the slot to `Uninit`; the partial state
        // unwinds away.
        let reset = ResetOnUnwind {
            slot: self,
            from: INITIALIZING,
        };
        let built = build();
        std::mem::forget(reset);
        match built {
            Ok(state) => {
                state.use_slot_gil(&self.gil);
                self.gil.set_closing(false);
                // Owned by the slot from here until shutdown takes it back.
                let p = state.into_raw().as_ptr();
                self.ptr.store(p, Ordering::Release);
                self.set_state(INITIALIZING, READY);
                Ok(InitOutcome::Initialized)
            }
            Err(e) => {
                self.set_state(INITIALIZING, UNINIT);
                Err(e)
            }
        }
    }

    /// Enters the runtime: on success the runtime stays alive until the guard drops.
    #[inline]
    pub fn enter(&self) -> Result<Entered<'_>, NotInitialized> {
        // Acquire pairs with the Release of `set_state(.., READY)` after the pointer store.
        let w = self.word.fetch_add(ONE_ENTRANT, Ordering::Acquire);
        if w & STATE_BITS != READY {
            self.word.fetch_sub(ONE_ENTRANT, Ordering::Release);
            return Err(NotInitialized);
        }
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: the state was `Ready` when our entrant count was added (one atomic RMW), so
        // the pointer was published (stored before `Ready`, and our Acquire RMW synchronizes
        // with that Release) and cannot be freed until `shutdown` sees zero entrants, which
        // it cannot while this guard holds our count. The state is only read through `&`.
        let state = unsafe { &*p };
        Ok(Entered { slot: self, state })
    }

    /// Shuts the runtime down: waits up to `timeout` for other threads to leave, then
    /// revokes the pointer, bumps the generation and tears the state down.
    ///
    /// Idempotent: with no runtime (before init, or a second time) it returns `Ok(None)`. If
    /// threads are still inside when the wait runs out, returns `Busy` and leaves the runtime
    /// published and fully usable.
    pub fn shutdown(&self, timeout: Duration) -> Result<Option<TeardownReport>, ShutdownError> {
        let _lock = self.transition();
        // Under the lock the state is Uninit or Ready: only init and shutdown change it, and
        // both hold the lock for the whole transition.
        match self.word.load(Ordering::Acquire) & STATE_BITS {
            UNINIT => return Ok(None),
            READY => {}
            other => unreachable!("lifecycle state {other} outside a transition"),
        }
        // SAFETY: the state is `Ready`, so the pointer is published, and only a shutdown
        // (which needs the lifecycle lock we hold) frees it. Shared access only.
        let state = unsafe { &*self.ptr.load(Ordering::Acquire) };
        let deadline = Deadline::after(timeout);
        // Tasks first, while entrants may still come and go: a running task's C callback
        // can still call into the runtime. This takes the GIL with the same bound.
        state.quiesce(deadline)?;
        // Then no new entrant (`ShuttingDown`), no new external GIL holder (`closing`: a
        // thread waiting to acquire fails at once), and a bounded wait for the threads still
        // inside: entrants, and threads with the GIL released inside a call (sleepers).
        self.set_state(READY, SHUTTING_DOWN);
        let gil = &self.gil;
        gil.set_closing(true);
        let revert = |error: ShutdownError| {
            self.set_state(SHUTTING_DOWN, READY);
            gil.set_closing(false);
            state.close_spawns(false);
            Err(error)
        };
        let key = thread_key();
        let mut patience = Patience::new(timeout);
        loop {
            let w = self.word.load(Ordering::Acquire);
            if entrants(w) == 0 && gil.sleepers() == 0 {
                // The GIL itself, from whoever holds it across calls; then no sleeper may
                // have appeared (one registers while holding the GIL, before releasing it).
                match Gil::enter_until(state, key, deadline).ok().flatten() {
                    Some(g) if gil.sleepers() == 0 => {
                        drop(g);
                        break;
                    }
                    Some(g) => drop(g),
                    None => {
                        return revert(ShutdownError::GilHeld {
                            waited_ms: timeout.as_millis() as u64,
                        });
                    }
                }
            }
            if !patience.wait() {
                return revert(ShutdownError::Busy {
                    threads: entrants(w).max(u64::from(gil.sleepers())),
                    waited_ms: timeout.as_millis() as u64,
                });
            }
        }
        // No entrant is left and none can come.
        let p = self.ptr.swap(std::ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: `p` came from `PinnedState::into_raw` in `init` and was published while
        // `Ready`. We moved the slot to `ShuttingDown` and then saw zero entrants; any later
        // entrant sees `ShuttingDown` and backs out without dereferencing, and the swap above
        // removed the pointer, so this is the only owner.
        let state = unsafe { PinnedState::from_raw(NonNull::new(p).expect("published")) };
        // This thread may hold the GIL it is about to free (shutdown from the holder): its
        // record must not name the state any more.
        let _ = THREAD.try_with(|t| {
            if t.names(&state) {
                t.clear_c_state();
            }
        });
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Should teardown panic, what it had not freed yet unwinds away; the guard still
        // returns the slot to `Uninit` so the process can init again.
        let reset = ResetOnUnwind {
            slot: self,
            from: SHUTTING_DOWN,
        };
        let report = state.teardown();
        std::mem::forget(reset);
        self.set_state(SHUTTING_DOWN, UNINIT);
        // A shutdown from the thread that held the GIL: its holds were of the runtime that
        // is gone (the lock outlives it in the slot), so they end here.
        if self.gil.owned_by(key) {
            self.gil.release_all();
        }
        // No runtime: a call takes the GIL, sees `Uninit` and backs out.
        self.gil.set_closing(false);
        Ok(Some(report))
    }
}

/// Returns a slot to `Uninit` if the init or teardown it guards unwinds.
struct ResetOnUnwind<'a> {
    slot: &'a RuntimeSlot,
    from: u64,
}

impl Drop for ResetOnUnwind<'_> {
    fn drop(&mut self) {
        self.slot.set_state(self.from, UNINIT);
    }
}

impl Drop for RuntimeSlot {
    fn drop(&mut self) {
        let p = self.ptr.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if let Some(p) = NonNull::new(p) {
            // SAFETY: `&mut self` means no entrant exists; the pointer came from
            // `PinnedState::into_raw` in `init` and was not taken back (shutdown nulls it).
            drop(unsafe { PinnedState::from_raw(p) });
        }
    }
}

/// Why a thread-state call on a [`RuntimeSlot`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GilStateError {
    /// No runtime, or it is shutting down (an acquire never blocks then).
    #[error("no runtime is initialized, or it is shutting down")]
    NotInitialized,
    /// The calling thread does not hold the GIL (release), or the token is not the one its
    /// last save returned (restore).
    #[error("{0}")]
    Invalid(&'static str),
    /// A Rust `Gil` token of the runtime is in use on this thread: a call through the C ABI
    /// could free what that token's borrows point into.
    #[error("a Rust Gil token of this runtime is in use on this thread; use the token")]
    TokenInUse,
}

/// The most holds a thread may stack (`molt_gil_acquire` without release).
const MAX_DEPTH: u32 = 1 << 30;

impl RuntimeSlot {
    /// The runtime whose GIL the calling thread holds through this slot (the held path:
    /// the thread's identity compared with the lock's mirror of its C hold record, and the
    /// generation; no thread-local where the thread pointer serves, no atomic
    /// read-modify-write).
    #[inline]
    pub(crate) fn held(&self) -> Option<&RuntimeState> {
        let p = self
            .gil
            .c_held_by(crate::thread_state::thread_identity(), self.generation())?;
        // SAFETY: the lock mirrors this thread's C hold record, which names a runtime only
        // while the thread holds its GIL (set after acquiring; cleared before every release
        // that ends the hold, by a save, by this thread's shutdown and at thread exit), and
        // a runtime is freed only by a shutdown that took its GIL: it is alive, and only
        // read through `&`.
        Some(unsafe { &*p })
    }

    /// The slot's GIL (every runtime it publishes uses it).
    pub(crate) fn gil_lock(&self) -> &GilLock {
        &self.gil
    }

    /// The held path without a token, for a leaf operation on the runtime's mutable state:
    /// `Some(body(runtime, locked))` if this thread holds the slot's GIL and no Rust token of
    /// it is active, else `None` (the caller takes the ordinary path).
    ///
    /// # Safety
    /// `body` must not call back into the runtime (no `molt_*` call, no token, no user code
    /// such as a native function): it gets the only access to `LockedState` for its duration,
    /// without the token bookkeeping that would catch a nested one.
    #[cfg(not(molt_loom))] // only the C ABI (not built for loom) uses it
    #[inline(always)]
    pub(crate) unsafe fn with_locked_held<T>(
        &self,
        body: impl FnOnce(&RuntimeState, &mut crate::state::LockedState) -> T,
    ) -> Option<T> {
        let rt = self.held()?;
        if self.gil.active() {
            return None;
        }
        // SAFETY: this thread holds the GIL (`held`), so no other thread touches `LockedState`;
        // no token of this thread is active, so no borrow of it is live here (a lent token
        // makes no access while lent); and `body` makes no nested access (the contract).
        // `LockedState` is in an `UnsafeCell` of the state, which `&RuntimeState` does not reach.
        Some(body(rt, unsafe { &mut *rt.locked_ptr().as_ptr() }))
    }

    /// Runs `body` with a token of the slot's runtime: on the held path if this thread
    /// holds the GIL, else entering the runtime and acquiring the GIL for the call (failing
    /// at once, never blocking, once shutdown has begun).
    #[inline]
    pub fn with_gil<T>(&self, body: impl FnOnce(&mut Gil<'_>) -> T) -> Result<T, GilStateError> {
        if let Some(rt) = self.held() {
            let mut g = Gil::held(rt).ok_or(GilStateError::TokenInUse)?;
            return Ok(body(&mut g));
        }
        self.with_gil_slow(body)
    }

    fn with_gil_slow<T>(&self, body: impl FnOnce(&mut Gil<'_>) -> T) -> Result<T, GilStateError> {
        // No C hold record for the call: C code it runs (a native function's) gets one from
        // the native-function trampoline for its duration, and so takes the held path.
        let (rt, _) = self.take_gil(thread_key())?;
        let mut g = match Gil::held(rt) {
            Some(g) => g,
            None => return Err(GilStateError::TokenInUse),
        };
        Ok(body(&mut g))
    }

    /// Takes the slot's GIL for thread `key` (no hold counted yet: depth unchanged, 0 if
    /// fresh) and returns the runtime, alive while the GIL is held; or backs out with
    /// `NotInitialized` at once when there is no `Ready` runtime or shutdown has begun.
    #[inline]
    fn take_gil(&self, key: u64) -> Result<(&RuntimeState, bool), GilStateError> {
        if self.word.load(Ordering::Acquire) & STATE_BITS != READY {
            return Err(GilStateError::NotInitialized);
        }
        let lock = &self.gil;
        let fresh = !lock.owned_by(key);
        if fresh {
            lock.lock_for(key, true, Deadline::never())
                .map_err(|_| GilStateError::NotInitialized)?;
        }
        // Checked again with the GIL held: a shutdown sets `ShuttingDown` before it takes
        // the GIL and frees the state only after that, so `Ready` now means the state stays
        // alive until we release the GIL.
        if self.word.load(Ordering::Acquire) & STATE_BITS != READY {
            if fresh {
                lock.abandon();
            }
            return Err(GilStateError::NotInitialized);
        }
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: `Ready` was seen after taking the GIL (above), and the pointer is stored
        // before `Ready` is set; a shutdown cannot free the state until it takes the GIL,
        // which we hold. Shared access only.
        Ok((unsafe { &*p }, fresh))
    }

    /// `molt_gil_acquire`: takes the GIL for the calling thread, or nests (re-entrant).
    pub fn gil_acquire(&self) -> Result<(), GilStateError> {
        if self.held().is_some() {
            if self.gil.depth() >= MAX_DEPTH {
                return Err(GilStateError::Invalid("GIL hold depth limit reached"));
            }
            self.gil.nest();
            return Ok(());
        }
        let (rt, _) = self.take_gil(thread_key())?;
        self.gil.nest();
        let _ = THREAD.try_with(|t| t.set_c_state(rt, self, self.generation()));
        Ok(())
    }

    /// `molt_gil_release`: drops one hold taken by [`gil_acquire`](Self::gil_acquire).
    pub fn gil_release(&self) -> Result<(), GilStateError> {
        if self.held().is_none() {
            return Err(if self.is_initialized() {
                GilStateError::Invalid("the calling thread does not hold the GIL")
            } else {
                GilStateError::NotInitialized
            });
        }
        if self.gil.depth() <= self.gil.tokens() {
            return Err(GilStateError::Invalid(
                "the GIL is held by a runtime call in progress on this thread; release only what molt_gil_acquire took",
            ));
        }
        // The record goes before the last hold: once the GIL is released, the runtime may be
        // freed by another thread's shutdown.
        if self.gil.depth() == 1 {
            let _ = THREAD.try_with(|t| t.clear_c_state());
        }
        self.gil.release_one();
        Ok(())
    }

    /// `molt_gil_is_held`: the thread holds the GIL through the C ABI (a hold record), or
    /// through a Rust token of the slot's runtime (`with_gil`'s, which makes no record).
    pub fn gil_is_held(&self) -> bool {
        // `tokens` is read only once `owned_by` says this thread is the owner.
        self.held().is_some() || (self.gil.owned_by(thread_key()) && self.gil.tokens() > 0)
    }

    /// `molt_gil_save`: releases the GIL completely, at any depth; the token (never 0)
    /// takes it back. 0 if the thread does not hold it, or if a Rust token of the runtime
    /// is in use on the thread (another holder could change what its borrows point into).
    pub fn gil_save(&self) -> u64 {
        let Some(rt) = self.held() else {
            return 0;
        };
        if self.gil.active() {
            return 0;
        }
        // Saved inside a call (a C native function's code): the frames below will touch the
        // runtime again, so shutdown must wait for this thread (a sleeper).
        if self.gil.tokens() > 0 {
            self.gil.sleeper_enter();
        }
        let generation = self.generation();
        let saved = self.gil.save(rt);
        let _ = THREAD.try_with(|t| t.put_saved(Some((generation, saved, rt))));
        save_token(generation, saved.depth)
    }

    /// `molt_gil_restore`: takes the GIL back at the depth the save had. Token 0 does
    /// nothing. After the runtime shut down (a token of an earlier generation):
    /// `NotInitialized`, at once.
    pub fn gil_restore(&self, token: u64) -> Result<(), GilStateError> {
        if token == 0 {
            return Ok(());
        }
        let Some((generation, saved, p)) = THREAD.try_with(|t| t.take_saved()).ok().flatten()
        else {
            return Err(GilStateError::Invalid(
                "no molt_gil_save of this thread is waiting for its restore",
            ));
        };
        let put_back = |e| {
            let _ = THREAD.try_with(|t| t.put_saved(Some((generation, saved, p))));
            Err(e)
        };
        if token != save_token(generation, saved.depth) {
            return put_back(GilStateError::Invalid(
                "not the token this thread's last molt_gil_save returned",
            ));
        }
        let key = thread_key();
        if self.gil.owned_by(key) {
            return put_back(GilStateError::Invalid(
                "the thread holds the GIL again; release it before restoring",
            ));
        }
        if saved.tokens > 0 {
            // SAFETY: saved inside a call, the thread counts as a sleeper, and no shutdown
            // frees a runtime while a sleeper is left (see `RuntimeSlot::shutdown`).
            let rt = unsafe { &*p };
            self.gil.restore(key, saved, rt);
            self.gil.sleeper_leave();
            return Ok(());
        }
        let (rt, _) = self.take_gil(key)?;
        // Checked with the GIL held: the runtime cannot be shut down (and replaced by a new
        // generation) while we hold it, so a token of an earlier generation never restores
        // into a later runtime.
        if generation != self.generation() {
            self.gil.abandon();
            return Err(GilStateError::NotInitialized);
        }
        self.gil.set_holds(saved, rt);
        let _ = THREAD.try_with(|t| t.set_c_state(rt, self, generation));
        Ok(())
    }
}

/// The token `molt_gil_save` returns: the generation's low 32 bits and the saved depth
/// (at least 1, so a token is never 0).
fn save_token(generation: u64, depth: u32) -> u64 {
    ((generation & 0xFFFF_FFFF) << 32) | u64::from(depth)
}

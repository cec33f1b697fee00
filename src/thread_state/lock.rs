//! [`GilLock`]: the lock word, its park mutex and condition variable, and the owner line
//! (with its mirror of the owner's C hold record); [`Deadline`] bounds a wait.

use super::record::{clear_c_state_if, restore_c_state};
use crate::state::RuntimeState;
use molt_arenas::sync::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, UnsafeCell,
};
use std::time::Duration;
#[cfg(not(molt_loom))]
use std::time::Instant;

const FREE: u32 = 0;
const HELD: u32 = 1;
const CONTENDED: u32 = 2;
/// Spins of a contended acquire before it parks (none under Miri, whose threads only
/// switch at yields and pay for every spin in emulated time).
#[cfg(not(molt_loom))]
const SPINS: u32 = if cfg!(miri) { 0 } else { 200 };

/// Why an acquire failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcquireError {
    /// The runtime is shutting down (external acquires only).
    Closing,
    /// The deadline passed.
    Timeout,
}

/// What the owner line held before a complete release ([`GilLock::save`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Saved {
    pub(crate) depth: u32,
    pub(crate) tokens: u32,
    pub(crate) active: bool,
    /// Whether the thread record named this runtime (the C held path) before the save.
    pub(crate) c_held: bool,
    /// The holder's recursion depth (`molt_gil_save` keeps it; the next holder starts
    /// from its own).
    pub(crate) recursion: u32,
}

/// The part of the lock only its owner writes.
#[repr(align(128))]
#[derive(Debug)]
struct OwnerLine {
    /// The holder's thread key (0: none). Relaxed: only the owner stores it; another thread
    /// reading it only learns that it is not the owner.
    owner: AtomicU64,
    depth: UnsafeCell<u32>,
    tokens: UnsafeCell<u32>,
    active: UnsafeCell<bool>,
    /// The [`thread_identity`] of the owner if its C hold record names this lock's runtime
    /// (0: none), a mirror of that record the held path reads without a thread-local. Only
    /// the owner stores it (set with the record; cleared with it, or by the owner's last
    /// release, whichever comes first); another thread reading it sees its own identity
    /// only if it stored it and has not cleared it since. Relaxed, as `owner`.
    c_holder: AtomicUsize,
    /// The runtime and slot generation that record names. Only the owner touches them.
    c_state: UnsafeCell<*const RuntimeState>,
    c_generation: UnsafeCell<u64>,
}

/// A runtime's lock (see the module docs).
#[derive(Debug)]
pub(crate) struct GilLock {
    word: AtomicU32,
    /// Threads parked (or about to park) on `park_cv`.
    parked: AtomicU32,
    closing: AtomicBool,
    /// Threads waiting on a [`GilCondvar`] (or with the GIL saved inside a call) that are
    /// not the runtime's workers; a shutdown waits for none to be left.
    sleepers: AtomicU32,
    park: Mutex<()>,
    park_cv: Condvar,
    line: OwnerLine,
}

/// Bounds a wait: wall-clock time normally; a few loom yields under loom, where time does
/// not pass.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    #[cfg(not(molt_loom))]
    at: Option<Instant>,
    #[cfg(molt_loom)]
    bounded: bool,
}

impl Deadline {
    /// No bound.
    pub(crate) fn never() -> Self {
        #[cfg(not(molt_loom))]
        {
            Self { at: None }
        }
        #[cfg(molt_loom)]
        {
            Self { bounded: false }
        }
    }

    /// `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Self {
        #[cfg(not(molt_loom))]
        {
            Self {
                at: Instant::now().checked_add(timeout),
            }
        }
        #[cfg(molt_loom)]
        {
            let _ = timeout;
            Self { bounded: true }
        }
    }

    /// Time left (`None`: unbounded). Under loom a bounded deadline has "a little" left.
    pub(crate) fn left(&self) -> Option<Duration> {
        #[cfg(not(molt_loom))]
        {
            self.at
                .map(|at| at.saturating_duration_since(Instant::now()))
        }
        #[cfg(molt_loom)]
        {
            self.bounded.then_some(Duration::from_millis(1))
        }
    }

    /// Whether a bounded deadline has passed (never under loom: loom bounds by its waits).
    pub(crate) fn passed(&self) -> bool {
        #[cfg(not(molt_loom))]
        {
            self.at.is_some_and(|at| Instant::now() >= at)
        }
        #[cfg(molt_loom)]
        {
            false
        }
    }
}

// SAFETY: the owner line's cells are accessed only by the thread that holds the lock (the
// lock word's acquire/release orderings order one owner's accesses before the next's); every
// other field is an atomic or a std/loom lock.
unsafe impl Sync for GilLock {}
// SAFETY: as above; nothing in the lock is tied to a thread.
unsafe impl Send for GilLock {}

/// A fresh [`GilLock`] (an expression: `const` with std's types, not with loom's).
macro_rules! gil_lock_init {
    () => {
        GilLock {
            word: AtomicU32::new(FREE),
            parked: AtomicU32::new(0),
            closing: AtomicBool::new(false),
            sleepers: AtomicU32::new(0),
            park: Mutex::new(()),
            park_cv: Condvar::new(),
            line: OwnerLine {
                owner: AtomicU64::new(0),
                depth: UnsafeCell::new(0),
                tokens: UnsafeCell::new(0),
                active: UnsafeCell::new(false),
                c_holder: AtomicUsize::new(0),
                c_state: UnsafeCell::new(std::ptr::null()),
                c_generation: UnsafeCell::new(0),
            },
        }
    };
}

impl GilLock {
    #[cfg(not(molt_loom))]
    pub(crate) const fn new() -> Self {
        gil_lock_init!()
    }

    #[cfg(molt_loom)]
    pub(crate) fn new() -> Self {
        gil_lock_init!()
    }

    /// Whether the thread with key `key` holds the lock.
    #[inline]
    pub(crate) fn owned_by(&self, key: u64) -> bool {
        self.line.owner.load(Ordering::Relaxed) == key
    }

    /// The owner lets go of the owner line, just before it unlocks: no owner, and no C hold
    /// record mirrored (the record itself is cleared by its thread, after).
    #[inline]
    fn disown(&self) {
        // Stored only when set: an unheld call (no C hold record) finds it 0 already, and a
        // store of the same 0 before the release cost the next entry's held check, which
        // loads this word, about 10 ns (measured on this machine: a C loop of str create +
        // decref without the GIL, 88 ns -> 78 ns, equal instruction counts).
        if self.line.c_holder.load(Ordering::Relaxed) != 0 {
            self.line.c_holder.store(0, Ordering::Relaxed);
        }
        self.line.owner.store(0, Ordering::Relaxed);
    }

    /// The held check: the runtime the C hold record of the thread `id` names, if that
    /// thread holds this lock with a record of the slot generation `generation`. One load of
    /// the owner line (which no other thread writes while this one holds the lock), no
    /// thread-local, no atomic read-modify-write.
    #[inline]
    pub(crate) fn c_held_by(&self, id: usize, generation: u64) -> Option<*const RuntimeState> {
        if self.line.c_holder.load(Ordering::Relaxed) != id {
            return None;
        }
        // `c_holder` is `id`: the caller (whose identity that is) is the owner, so it may
        // read the owner's cells.
        if Self::get(&self.line.c_generation) != generation {
            return None;
        }
        Some(Self::get(&self.line.c_state))
    }

    /// Whether the owner's C hold record names this lock's runtime. Caller: the owner.
    #[inline]
    pub(crate) fn mirrors_a_record(&self) -> bool {
        self.line.c_holder.load(Ordering::Relaxed) != 0
    }

    /// Mirrors the C hold record of the owner (`id`): it names `state` at `generation`.
    /// Caller: the owner.
    pub(super) fn set_c_holder(&self, id: usize, state: *const RuntimeState, generation: u64) {
        Self::set(&self.line.c_state, state);
        Self::set(&self.line.c_generation, generation);
        self.line.c_holder.store(id, Ordering::Relaxed);
    }

    /// Drops the mirror of the C hold record of thread `key` (identity `id`), if that thread
    /// still owns the lock; after its last release the lock has already dropped it, and the
    /// line belongs to the next owner.
    pub(super) fn clear_c_holder(&self, key: u64, id: usize) {
        if self.owned_by(key) && self.line.c_holder.load(Ordering::Relaxed) == id {
            self.line.c_holder.store(0, Ordering::Relaxed);
        }
    }

    // The owner-line accessors: callers hold the lock (`owned_by(key)` for their own key).
    #[inline]
    fn get<T: Copy>(cell: &UnsafeCell<T>) -> T {
        // SAFETY: only the owner touches the owner line's cells, and the caller is it; the
        // lock's acquire/release orderings order one owner's accesses before the next's.
        cell.with(|p| unsafe { *p })
    }
    #[inline]
    fn set<T>(cell: &UnsafeCell<T>, v: T) {
        // SAFETY: as in `get`.
        cell.with_mut(|p| unsafe { *p = v })
    }

    /// The owner's hold depth. Caller: the owner.
    #[inline]
    pub(crate) fn depth(&self) -> u32 {
        Self::get(&self.line.depth)
    }
    /// The owner's live tokens. Caller: the owner.
    #[inline]
    pub(crate) fn tokens(&self) -> u32 {
        Self::get(&self.line.tokens)
    }
    /// Whether a usable token is live. Caller: the owner.
    #[inline]
    pub(crate) fn active(&self) -> bool {
        Self::get(&self.line.active)
    }
    /// Sets whether a usable token is live. Caller: the owner.
    #[inline]
    pub(crate) fn set_active(&self, v: bool) {
        Self::set(&self.line.active, v)
    }
    /// A nested hold by the owner (the held path: plain stores only).
    #[inline]
    pub(crate) fn nest(&self) {
        Self::set(&self.line.depth, self.depth() + 1);
    }
    /// A token made by the owner: one more hold and one more token, now the active one.
    /// Returns whether a token was active before (restored by [`GilLock::token_done`]).
    #[inline]
    pub(crate) fn token_begin(&self) -> bool {
        Self::set(&self.line.depth, self.depth() + 1);
        Self::set(&self.line.tokens, self.tokens() + 1);
        let was = self.active();
        self.set_active(true);
        was
    }
    /// Ends a token: restores `active`, drops the token's hold. True if that was the last
    /// hold and the lock was released.
    #[inline]
    pub(crate) fn token_done(&self, was_active: bool) -> bool {
        self.set_active(was_active);
        Self::set(&self.line.tokens, self.tokens() - 1);
        self.release_one()
    }

    /// Drops one hold of the owner; at zero releases the lock. True if released.
    #[inline]
    pub(crate) fn release_one(&self) -> bool {
        let d = self.depth() - 1;
        Self::set(&self.line.depth, d);
        if d == 0 {
            self.disown();
            self.unlock_raw();
            true
        } else {
            false
        }
    }

    /// Takes the lock for thread `key` (not its owner) with nothing held yet (depth 0: the
    /// caller adds its hold, a token's or an acquire's, at once).
    pub(crate) fn lock_for(
        &self,
        key: u64,
        external: bool,
        deadline: Deadline,
    ) -> Result<(), AcquireError> {
        self.lock_raw(external, deadline)?;
        self.line.owner.store(key, Ordering::Relaxed);
        Self::set(&self.line.depth, 0);
        Self::set(&self.line.tokens, 0);
        self.set_active(false);
        Ok(())
    }

    /// Releases completely, at any depth; returns what to restore. Caller: the owner.
    pub(crate) fn save(&self, state: &RuntimeState) -> Saved {
        let depth = recursion_depth(state);
        // SAFETY: see `recursion_depth`.
        let recursion = unsafe { std::mem::take(&mut *depth) };
        let saved = Saved {
            depth: self.depth(),
            tokens: self.tokens(),
            active: self.active(),
            c_held: clear_c_state_if(state),
            recursion,
        };
        self.release_all();
        saved
    }

    /// Takes the lock back at the depth `saved` had (internal: ignores `closing`).
    pub(crate) fn restore(&self, key: u64, saved: Saved, state: &RuntimeState) {
        self.lock_raw(false, Deadline::never())
            .expect("an unbounded internal acquire cannot fail");
        self.line.owner.store(key, Ordering::Relaxed);
        self.set_holds(saved, state);
        if saved.c_held {
            restore_c_state(state);
        }
    }

    /// Sets the owner line (and the holder's recursion depth) to what `saved` had, after
    /// [`GilLock::lock_for`] or [`GilLock::restore`]. Caller: the owner.
    pub(crate) fn set_holds(&self, saved: Saved, state: &RuntimeState) {
        Self::set(&self.line.depth, saved.depth);
        Self::set(&self.line.tokens, saved.tokens);
        self.set_active(saved.active);
        // SAFETY: see `recursion_depth`.
        unsafe { *recursion_depth(state) = saved.recursion };
    }

    /// Gives up a lock taken by [`GilLock::lock_for`] with nothing held yet.
    pub(crate) fn abandon(&self) {
        self.disown();
        self.unlock_raw();
    }

    /// Force-releases whatever the owner holds (thread exit, or the owner's shutdown of the
    /// runtime). Caller: the owner.
    pub(crate) fn release_all(&self) {
        Self::set(&self.line.depth, 0);
        Self::set(&self.line.tokens, 0);
        self.set_active(false);
        self.disown();
        self.unlock_raw();
    }

    #[inline]
    fn lock_raw(&self, external: bool, deadline: Deadline) -> Result<(), AcquireError> {
        if self
            .word
            .compare_exchange(FREE, HELD, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            if external && self.closing.load(Ordering::Acquire) {
                self.unlock_raw();
                return Err(AcquireError::Closing);
            }
            return Ok(());
        }
        self.lock_slow(external, deadline)
    }

    #[cold]
    fn lock_slow(&self, external: bool, deadline: Deadline) -> Result<(), AcquireError> {
        // A short spin first: holds on the unheld path last tens of nanoseconds, far less
        // than a park and wake-up (futex calls).
        #[cfg(not(molt_loom))]
        for _ in 0..SPINS {
            std::hint::spin_loop();
            if self.word.load(Ordering::Relaxed) == FREE && self.try_take() {
                return self.took(external);
            }
        }
        loop {
            if external && self.closing.load(Ordering::Acquire) {
                return Err(AcquireError::Closing);
            }
            if self.try_take() {
                return self.took(external);
            }
            let guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
            // Registered under the park lock, then the word marked contended (only if it is
            // held: a free word is taken on the next turn), so the holder's release takes the
            // park lock to notify, which reaches us once we wait.
            self.parked.fetch_add(1, Ordering::Relaxed);
            let marked = match self.word.compare_exchange(
                HELD,
                CONTENDED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => true,
                Err(w) => w == CONTENDED,
            };
            let still = marked && !(external && self.closing.load(Ordering::Acquire));
            let mut timed_out = false;
            let guard = if !still {
                guard
            } else {
                match deadline.left() {
                    None => self.park_cv.wait(guard).unwrap_or_else(|e| e.into_inner()),
                    Some(left) if left.is_zero() => {
                        timed_out = true;
                        guard
                    }
                    Some(left) => {
                        let (g, r) = self
                            .park_cv
                            .wait_timeout(guard, left)
                            .unwrap_or_else(|e| e.into_inner());
                        // Under loom a bounded wait gives up after one wake-up.
                        timed_out = cfg!(molt_loom) || (r.timed_out() && deadline.passed());
                        g
                    }
                }
            };
            self.parked.fetch_sub(1, Ordering::Relaxed);
            drop(guard);
            if timed_out {
                // One last try: the holder may have released just now.
                if self.try_take() {
                    return self.took(external);
                }
                return Err(AcquireError::Timeout);
            }
        }
    }

    /// One attempt to take a free lock, marking it contended if other threads are parked
    /// (so that its release wakes one of them).
    #[inline]
    fn try_take(&self) -> bool {
        let to = if self.parked.load(Ordering::Relaxed) > 0 {
            CONTENDED
        } else {
            HELD
        };
        self.word
            .compare_exchange(FREE, to, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// After taking the lock: an external acquire backs out while the runtime is closing.
    #[inline]
    fn took(&self, external: bool) -> Result<(), AcquireError> {
        if external && self.closing.load(Ordering::Acquire) {
            self.unlock_raw();
            return Err(AcquireError::Closing);
        }
        Ok(())
    }

    #[inline]
    fn unlock_raw(&self) {
        if self.word.swap(FREE, Ordering::Release) == CONTENDED {
            self.wake(false);
        }
    }

    #[cold]
    fn wake(&self, all: bool) {
        let _guard = self.park.lock().unwrap_or_else(|e| e.into_inner());
        if all {
            self.park_cv.notify_all();
        } else {
            self.park_cv.notify_one();
        }
    }

    /// Makes external acquires fail at once (waking parked ones), or accepts them again.
    pub(crate) fn set_closing(&self, closing: bool) {
        self.closing.store(closing, Ordering::Release);
        if closing {
            self.wake(true);
        }
    }

    /// Threads with the GIL released inside the runtime (see the module docs).
    pub(crate) fn sleepers(&self) -> u32 {
        self.sleepers.load(Ordering::Acquire)
    }

    pub(crate) fn sleeper_enter(&self) {
        self.sleepers.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn sleeper_leave(&self) {
        self.sleepers.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The holder's recursion depth in `state`'s `LockedState`: it belongs to whoever holds the GIL,
/// so [`GilLock::save`] takes it out and [`GilLock::set_holds`] puts it back.
///
/// Dereferencing the pointer is sound for the thread that holds the GIL while no borrow of
/// `LockedState` is live on it: a token's methods hold none across a save or restore (the token
/// making the call owns only a raw pointer), and a lent token makes no access while lent.
fn recursion_depth(state: &RuntimeState) -> *mut u32 {
    let p = state.locked_ptr().as_ptr();
    // SAFETY: `p` points at the state's `LockedState` (alive: `state` is borrowed); taking a
    // field's address reads nothing.
    unsafe { &raw mut (*p).recursion_depth }
}

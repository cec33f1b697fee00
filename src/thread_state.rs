//! The GIL: a runtime's lock, held by one thread at a time, re-entrant per thread, that can
//! be held across C calls; its condition variables; and the calling thread's state.
//!
//! # The lock
//!
//! [`GilLock`] is a futex-style word (`0` free, `1` held, `2` held with parked waiters)
//! with a park mutex and condition variable for the slow path only, plus an *owner line*:
//! the owning thread's key, its hold depth, the number of live [`crate::Gil`] tokens and
//! whether one of them is usable ("active"). Only the owner writes the owner line (other
//! threads only read `owner`, to see that it is not them), and it sits on its own cache line
//! apart from the lock word, which waiters write.
//!
//! * A first acquire is one compare-and-swap; a release one swap (plus a wake-up only when
//!   the word says someone parked).
//! * A nested acquire by the owner is a plain increment of `depth`: no atomic
//!   read-modify-write, no store to a line another thread writes. This is the *held path*.
//! * `closing` (set by shutdown) makes external acquires fail at once, waking parked ones.
//!
//! # Thread state (the C ABI's held path)
//!
//! [`THREAD`] is one thread-local record per thread: a process-unique thread key and, when
//! the thread holds the GIL of a published runtime through the C ABI, the runtime's state
//! pointer and its slot generation. The lock's owner line mirrors that record
//! (`OwnerLine::c_holder`: the owner's [`thread_identity`], the pointer, the generation),
//! written only by the owner while it owns the lock and cleared by the lock at every release
//! that ends a hold. An entry point's held check compares the calling thread's identity (the
//! thread pointer on x86-64 Linux: no thread-local lookup) with the mirror, then the
//! generation; a match means the thread holds that runtime's GIL and the pointer is valid: a
//! runtime cannot be freed while any thread holds its GIL (a shutdown must take it first),
//! the thread's own shutdown clears the record, every clear comes before the release that
//! ends the hold, and a thread that exits holding the GIL releases it from the record's
//! destructor (which touches only the lock, no other thread-local). See
//! docs/ARCHITECTURE.md, "The GIL".
//!
//! # Waiting
//!
//! [`GilCondvar`] is an event count: a waiter reads the count and registers while holding
//! the GIL, releases the GIL completely, and sleeps until the count moves; a notifier holds
//! the GIL, so no wake-up is lost. Waiters that are not the runtime's own workers are
//! counted in [`GilLock::sleepers`], and a shutdown does not free the state while any is
//! left: each has Rust frames that will touch the state again.

use crate::lifecycle::RuntimeSlot;
use crate::state::RuntimeState;
use molt_arenas::sync::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, UnsafeCell,
};
use std::cell::Cell;
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
        self.line.c_holder.store(0, Ordering::Relaxed);
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
    fn set_c_holder(&self, id: usize, state: *const RuntimeState, generation: u64) {
        Self::set(&self.line.c_state, state);
        Self::set(&self.line.c_generation, generation);
        self.line.c_holder.store(id, Ordering::Relaxed);
    }

    /// Drops the mirror of the C hold record of thread `key` (identity `id`), if that thread
    /// still owns the lock; after its last release the lock has already dropped it, and the
    /// line belongs to the next owner.
    fn clear_c_holder(&self, key: u64, id: usize) {
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

/// A condition variable of a runtime's GIL (see the module docs).
#[derive(Debug)]
pub(crate) struct GilCondvar {
    /// The event count, under its own mutex.
    seq: Mutex<u64>,
    cv: Condvar,
    /// Registered waiters: a notifier (holding the GIL) skips the mutex when there are none.
    waiters: AtomicU32,
}

impl GilCondvar {
    pub(crate) fn new() -> Self {
        Self {
            seq: Mutex::new(0),
            cv: Condvar::new(),
            waiters: AtomicU32::new(0),
        }
    }

    /// Wakes every waiter. The caller holds the GIL.
    pub(crate) fn notify_all(&self) {
        self.notify(true);
    }

    /// Wakes one waiter (others may wake too: callers re-check their conditions). The
    /// caller holds the GIL.
    pub(crate) fn notify_one(&self) {
        self.notify(false);
    }

    fn notify(&self, all: bool) {
        // Relaxed is enough: a waiter registers while holding the GIL, and we hold it now.
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        *seq += 1;
        if all {
            self.cv.notify_all();
        } else {
            self.cv.notify_one();
        }
    }

    /// Releases the GIL `lock` completely (the caller holds it, as thread `key`), waits for
    /// a notification (or `timeout`), then takes the GIL back at the depth it had.
    /// `counted`: the waiter is not one of the runtime's workers (see
    /// [`GilLock::sleepers`]).
    pub(crate) fn wait(
        &self,
        state: &RuntimeState,
        key: u64,
        timeout: Option<Duration>,
        counted: bool,
    ) {
        let lock = state.gil_lock();
        let mut seq = self.seq.lock().unwrap_or_else(|e| e.into_inner());
        let seen = *seq;
        self.waiters.fetch_add(1, Ordering::Relaxed);
        if counted {
            lock.sleeper_enter();
        }
        // Lock order: GIL, then `seq`. We hold `seq` while releasing the GIL and take the
        // GIL again only after dropping `seq`, so a notifier (GIL, then `seq`) never waits
        // for us while we wait for it.
        let saved = lock.save(state);
        match timeout {
            None => {
                while *seq == seen {
                    seq = self.cv.wait(seq).unwrap_or_else(|e| e.into_inner());
                }
            }
            Some(t) => {
                let deadline = Deadline::after(t);
                while *seq == seen {
                    let Some(left) = deadline.left() else { break };
                    if left.is_zero() {
                        break;
                    }
                    let (s, r) = self
                        .cv
                        .wait_timeout(seq, left)
                        .unwrap_or_else(|e| e.into_inner());
                    seq = s;
                    // Under loom a timed wait is a plain wait: one wake-up ends it.
                    if r.timed_out() || cfg!(molt_loom) {
                        break;
                    }
                }
            }
        }
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        drop(seq);
        lock.restore(key, saved, state);
        if counted {
            lock.sleeper_leave();
        }
    }
}

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
fn restore_c_state(state: &RuntimeState) {
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

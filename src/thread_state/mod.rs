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

mod condvar;
mod lock;
mod record;

pub(crate) use condvar::GilCondvar;
#[cfg(not(molt_loom))] // the C ABI (not built for loom) uses it
pub(crate) use lock::Saved;
pub(crate) use lock::{Deadline, GilLock};
pub(crate) use record::{THREAD, clear_c_state_if, thread_identity, thread_key};

//! The one place that chooses between loom and std synchronization types.
//!
//! Everything in molt-arenas and molt-state that the loom models cover imports its atomics,
//! locks, `Arc`, threads and thread-locals from here. Building with
//! `RUSTFLAGS="--cfg molt_loom"` swaps them for loom's, so a model explores every
//! interleaving of the real code rather than of a copy.
//!
//! Crates that embed molt-state can put it inside their own `loom::model` the same way:
//! build their tests with `RUSTFLAGS="--cfg molt_loom"` (this module then hands molt-state
//! loom's types), depend on loom themselves under `[target.'cfg(molt_loom)'.dependencies]`
//! (and declare the cfg: `check-cfg = ["cfg(molt_loom)"]`), and create a fresh `Runtime`
//! in every loom iteration, shared between `loom::thread`s through `loom::sync::Arc`. The
//! README's "Testing your embedding with loom" has the details, and
//! `loom-tests/tests/downstream.rs` is an example written with the public API only.
//!
//! Two deliberate exceptions use std even under loom, because they are not synchronization:
//! [`stat`] (statistics counters and their name list, which never order memory) and
//! [`next_instance_id`] (a process-wide id source that must be unique across loom
//! iterations).

#[cfg(molt_loom)]
mod imp {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use loom::thread;
    pub use loom::thread_local;

    /// Gives up the processor while waiting for another thread (a loom yield point).
    pub fn spin_wait() {
        loom::thread::yield_now();
    }
}

#[cfg(not(molt_loom))]
mod imp {
    pub use std::sync::atomic::{
        AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
    pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub use std::thread;
    pub use std::thread_local;

    /// Gives up the processor while waiting for another thread.
    pub fn spin_wait() {
        std::thread::yield_now();
    }

    /// `std::cell::UnsafeCell` with loom's closure-based access API, so code reads the same
    /// under both.
    #[derive(Debug, Default)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// Wraps `value`.
        pub const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Calls `f` with a shared raw pointer to the contents.
        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Calls `f` with a mutable raw pointer to the contents.
        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }

        /// Consumes the cell and returns the contents.
        pub fn into_inner(self) -> T {
            self.0.into_inner()
        }
    }
}

pub use imp::*;

/// Statistics bookkeeping. Always std types, even under loom: counters and their name lists
/// are read for reports and never used to order other memory, so modelling them would only
/// grow the state space (and the lock's spin points exhaust loom's branch budget).
pub mod stat {
    pub use std::sync::Mutex;
    pub use std::sync::atomic::{AtomicU64, Ordering};
}

/// A process-wide source of unique, never-reused instance ids (runtimes, arenas).
///
/// Starts at 1, so an id is never zero. Uses a std atomic even under loom, because ids must
/// stay unique across loom iterations, which reset loom's own statics.
pub fn next_instance_id() -> std::num::NonZeroU64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::num::NonZeroU64::new(id).expect("instance id counter wrapped around u64")
}

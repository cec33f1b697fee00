//! [`Gil`]: the token that proves a thread holds a runtime's lock, and the object-model API.
//!
//! `RuntimeState::gil()` takes the runtime lock and returns a `Gil`; every object-model
//! operation (creating values, reference counts, attribute lookup, calls, raising, imports)
//! is a method on it, so holding the lock is checked by the compiler and costs nothing more
//! per operation. Functions that can raise return [`PyResult`]: `Err(Raised)` means an
//! exception was set as this thread's current exception (fetch it with
//! [`Gil::err_fetch`]).
//!
//! Reference counts follow CPython's C API: functions that return a `Value` return a new
//! reference (drop it with [`Gil::decref`]); arguments are borrowed. Numbers, bools, the
//! singletons, classes and native functions are immortal, and their reference counting is a
//! no-op.
//!
//! Every method that receives a `Value` checks it: a value whose object was freed, or that
//! comes from another runtime (or one that has shut down), raises `ReferenceError` instead of
//! being resolved.
//!
//! # Where things are
//!
//! This file is the token alone: making it ([`RuntimeState::gil`], the C ABI's held path
//! `Gil::held`), giving the hold back at drop, releasing the lock around a closure or a
//! wait, checking values, and the narrow interface through which the rest of the crate (the
//! task scheduler, the C ABI, the natives) reaches the locked state. The object model is
//! methods on the token as well, one area a file in `src/gil/`:
//!
//! | file | what |
//! |---|---|
//! | `names.rs` | interning names; builtin classes and exception classes by name |
//! | `recursion.rs` | the recursion limit (`sys.getrecursionlimit()`, `RecursionError`) |
//! | `refcount.rs` | heap allocation, `incref`/`decref`, reference counts, live objects |
//! | `values.rs` | constructors (int, str, tuple, ...), accessors (text, items, `len`, indexing, truthiness) |
//! | `classes.rs` | `type(v)`, `isinstance`/`issubclass`, user classes, MRO lookup |
//! | `dict.rs` | `dict_get`/`dict_set`/`dict_pop`/`dict_items` |
//! | `hash.rs` | `hash()` and container equality |
//! | `repr.rs` | `repr()` and `str()` |
//! | `exceptions.rs` | raising, the current and last exception, `MemoryError` |
//! | `attrs.rs` | attribute lookup and assignment (`getattr`, `setattr`) |
//! | `calls.rs` | calls, method calls, instantiating classes |
//! | `natives.rs` | registering native functions and host closures |
//! | `modules.rs` | host modules, `import`, the module cache |
//!
//! The `repr()` text of str, bytes and float needs no token: it is in
//! [`crate::object::repr`] (re-exported here as [`str_repr`], [`bytes_repr`] and
//! [`float_repr`]).

mod attrs;
mod calls;
mod classes;
mod dict;
mod exceptions;
mod hash;
mod modules;
mod names;
mod natives;
mod recursion;
mod refcount;
mod repr;
mod values;

pub use crate::object::repr::{bytes_repr, float_repr, str_repr};
pub use modules::ModuleInit;
pub use recursion::DEFAULT_RECURSION_LIMIT;

pub(crate) use exceptions::ExcState;

use crate::ExcClass;
use crate::object::{BadValue, Heap, Object};
use crate::state::{LockedState, RuntimeState};
// gil -> tasks -> gil (and state) is a genuine cycle: the task registries live in the locked
// state, and a task body receives a token (through `TaskCx::gil`).
use crate::tasks::Tasks;
use crate::thread_state::{GilCondvar, thread_key};
use crate::value::{Kind, Value};
use std::fmt;

/// An exception was raised and is this thread's current exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an exception was raised; propagate it or fetch it"]
pub struct Raised(());

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an exception was raised (fetch it with Gil::err_fetch)")
    }
}

impl std::error::Error for Raised {}

/// The `Err` of an operation that raised (crate-internal: the exception is set first).
pub(crate) fn raised() -> Raised {
    Raised(())
}

/// The result of an operation that can raise.
pub type PyResult<T> = Result<T, Raised>;

/// Proof that this thread holds the runtime's GIL; the object-model API.
///
/// Made by [`RuntimeState::gil`] (or [`RuntimeState::try_gil`]); bound to its thread (not
/// `Send`). Dropping it gives back the hold it took. At most one token of a runtime is usable
/// on a thread at a time: `rt.gil()` while another token of the same runtime is live on the
/// thread panics (a second token could free what the first one's borrows point into), while
/// a thread that holds the GIL otherwise (through `molt_gil_acquire`, or inside a C native
/// function called through a token) nests without waiting.
pub struct Gil<'rt> {
    rt: &'rt RuntimeState,
    /// The locked state: private to this module (the area files reach it as `self.st`); the
    /// rest of the crate goes through the accessors below ([`Gil::heap`], [`Gil::tasks_mut`],
    /// [`Gil::locked_mut`], ...).
    st: LockedMut<'rt>,
    /// The key of the exception state this token raises into (0: not computed yet): the
    /// calling thread's, or, inside a task, the task's own (see
    /// [`exc_key`](exceptions::exc_key)).
    exc: std::cell::Cell<u64>,
    /// Whether a token was usable before this one (restored at drop).
    was_active: bool,
    /// Made by a scheduler or sleep worker (its waits are not counted as sleepers).
    pub(crate) worker: bool,
    _not_send: std::marker::PhantomData<*const ()>,
}

/// The mutable state behind a token: a pointer into the runtime's `UnsafeCell<LockedState>`,
/// dereferenced only while the token's thread holds the GIL.
struct LockedMut<'rt>(
    std::ptr::NonNull<LockedState>,
    std::marker::PhantomData<&'rt mut LockedState>,
);

impl std::ops::Deref for LockedMut<'_> {
    type Target = LockedState;
    #[inline]
    fn deref(&self) -> &LockedState {
        // SAFETY: the token that owns this pointer holds the GIL, which serializes every
        // access to `LockedState`; a nested token on the same thread exists only while this one
        // is lent out (not active), so their borrows never overlap.
        unsafe { self.0.as_ref() }
    }
}

impl std::ops::DerefMut for LockedMut<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut LockedState {
        // SAFETY: as for `deref`.
        unsafe { self.0.as_mut() }
    }
}

impl fmt::Debug for Gil<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Gil({})", self.rt.id())
    }
}

impl Drop for Gil<'_> {
    #[inline]
    fn drop(&mut self) {
        let lock = self.rt.gil_lock();
        // A C hold record goes before the last hold: once the GIL is released, the runtime
        // may be freed by another thread's shutdown. (The lock's mirror says whether there is
        // one, without a thread-local.)
        if lock.depth() == 1 && lock.mirrors_a_record() {
            crate::thread_state::clear_c_state_if(self.rt);
        }
        lock.token_done(self.was_active);
    }
}

/// Why [`RuntimeState::try_gil`] gave no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GilError {
    /// Another token of this runtime is live and usable on this thread.
    #[error(
        "this thread already holds a Gil token of runtime {0}: use that token (a second one \
         could free what the first one's borrows point into)"
    )]
    InUse(u64),
}

impl<'rt> Gil<'rt> {
    /// A token for the calling thread (`key`), which holds or may wait for the GIL.
    pub(crate) fn enter(rt: &'rt RuntimeState, key: u64) -> Result<Self, GilError> {
        Self::enter_until(rt, key, crate::thread_state::Deadline::never())
            .map(|g| g.expect("an unbounded internal acquire cannot time out"))
    }

    /// [`enter`](Self::enter) waiting for the GIL at most until `deadline` (shutdown):
    /// `Ok(None)` if it passed.
    pub(crate) fn enter_until(
        rt: &'rt RuntimeState,
        key: u64,
        deadline: crate::thread_state::Deadline,
    ) -> Result<Option<Self>, GilError> {
        let lock = rt.gil_lock();
        if lock.owned_by(key) {
            if lock.active() {
                return Err(GilError::InUse(rt.id().get()));
            }
        } else if lock.lock_for(key, false, deadline).is_err() {
            return Ok(None);
        }
        Ok(Some(Self::begin(rt)))
    }

    /// A token for a thread that holds the GIL (the C ABI's held path), or `None` if a
    /// usable token of this runtime is already live on the thread.
    #[inline]
    pub(crate) fn held(rt: &'rt RuntimeState) -> Option<Self> {
        if rt.gil_lock().active() {
            return None;
        }
        Some(Self::begin(rt))
    }

    #[inline]
    fn begin(rt: &'rt RuntimeState) -> Self {
        let was_active = rt.gil_lock().token_begin();
        Self {
            rt,
            st: LockedMut(rt.locked_ptr(), std::marker::PhantomData),
            exc: std::cell::Cell::new(0),
            was_active,
            worker: false,
            _not_send: std::marker::PhantomData,
        }
    }

    /// Runs `f` with the GIL released completely, then takes it back at the depth it had
    /// (other threads, task workers included, may run object-model code meanwhile). A panic
    /// in `f` is re-raised after the GIL is back.
    pub(crate) fn unlocked<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let lock = self.rt.gil_lock();
        let counted = !self.worker;
        if counted {
            lock.sleeper_enter();
        }
        let saved = lock.save(self.rt);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        lock.restore(thread_key(), saved, self.rt);
        if counted {
            lock.sleeper_leave();
        }
        match out {
            Ok(r) => r,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }

    /// Waits on `cv` (a condition variable of this runtime's GIL), releasing the GIL while
    /// waiting; with `timeout`, for at most that long (spurious wake-ups are possible:
    /// callers re-check their condition).
    pub(crate) fn wait(&mut self, cv: &GilCondvar, timeout: Option<std::time::Duration>) {
        cv.wait(self.rt, thread_key(), timeout, !self.worker);
    }

    /// The runtime this token belongs to.
    pub fn runtime(&self) -> &'rt RuntimeState {
        self.rt
    }
}

// ---------------------------------------------------------------- checking values

impl Gil<'_> {
    /// Checks that `v` can be used with this runtime (a number or singleton, or a live
    /// object of this runtime).
    pub fn check(&self, v: Value) -> Result<(), BadValue> {
        match v.as_obj() {
            None => Ok(()),
            Some(r) => match r.kind {
                Kind::Type => self.st.types.index_of(v).map(|_| ()).ok_or(BadValue(v)),
                Kind::Function => self.native_index(v).map(|_| ()).ok_or(BadValue(v)),
                _ => self.st.heap.get(v).map(|_| ()),
            },
        }
    }

    #[inline]
    fn native_index(&self, v: Value) -> Option<u32> {
        let (slot, stamp) = v.obj_of_kind(Kind::Function)?;
        (stamp == self.st.natives_stamp && (slot as usize) < self.st.natives.len()).then_some(slot)
    }

    pub(crate) fn bad(&mut self, e: BadValue) -> Raised {
        self.raise_new(ExcClass::REFERENCE_ERROR, e.to_string())
    }

    fn obj(&mut self, v: Value) -> PyResult<&Object> {
        match self.st.heap.get(v) {
            Ok(_) => Ok(self.st.heap.get(v).expect("checked just now")),
            // A live number, singleton, class or function: a valid value of the wrong kind
            // (CPython's TypeError), not a stale one.
            Err(_) if self.check(v).is_ok() => {
                let t = self.type_name(v)?;
                Err(self.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("'{t}' object is not supported by this operation"),
                ))
            }
            Err(e) => Err(self.bad(e)),
        }
    }

    fn check_all(&mut self, items: &[Value]) -> PyResult<()> {
        for &v in items {
            self.check(v).map_err(|e| self.bad(e))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- the locked state

/// The locked state, for code outside `gil/` (the task scheduler, the C ABI, the natives):
/// the field `st` is private to this module, so what the rest of the crate may touch is
/// listed here.
impl Gil<'_> {
    /// The object heap.
    #[inline]
    pub(crate) fn heap(&self) -> &Heap {
        &self.st.heap
    }

    /// The object heap, mutable (the C ABI's `molt_incref`/`molt_decref`, natives that
    /// change a list in place).
    #[inline]
    pub(crate) fn heap_mut(&mut self) -> &mut Heap {
        &mut self.st.heap
    }

    /// The task scheduler's registries (tasks, cancel tokens, timers, workers).
    #[inline]
    pub(crate) fn tasks(&self) -> &Tasks {
        &self.st.tasks
    }

    /// The task scheduler's registries, mutable.
    #[inline]
    pub(crate) fn tasks_mut(&mut self) -> &mut Tasks {
        &mut self.st.tasks
    }

    /// The whole locked state: for [`crate::state::LockedGuard`] and for the few fields
    /// that have no accessor of their own (`argv`, `int_max_str_digits`, the class table).
    #[inline]
    pub(crate) fn locked(&self) -> &LockedState {
        &self.st
    }

    /// The whole locked state, mutable: as [`locked`](Self::locked), and for code that
    /// needs two of its fields at once (a split borrow the accessors above cannot give).
    #[inline]
    pub(crate) fn locked_mut(&mut self) -> &mut LockedState {
        &mut self.st
    }
}

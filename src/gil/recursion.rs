//! The recursion limit (`sys.getrecursionlimit()`): the depth the lock holder is at, and the
//! `RecursionError` past it.

use super::{Gil, PyResult, Raised};
use crate::ExcClass;

/// CPython's default recursion limit (`sys.getrecursionlimit()`).
pub const DEFAULT_RECURSION_LIMIT: u32 = 1000;

/// The `what` of [`Gil::recursion_enter`] for comparisons (CPython's wording).
pub(crate) const IN_COMPARISON: &str = " in comparison";
/// The `what` of [`Gil::recursion_enter`] for calls re-entering through `__call__` or a
/// bound method (CPython's wording).
pub(crate) const CALLING: &str = " while calling a Python object";
/// The `what` of [`Gil::recursion_enter`] for `repr()`.
pub(crate) const IN_REPR: &str = " while getting the repr of an object";
/// The `what` of [`Gil::recursion_enter`] for `str()`.
pub(crate) const IN_STR: &str = " while getting the str of an object";

/// A recursive comparison went deeper than the recursion limit allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooDeep;

impl Gil<'_> {
    /// Enters one level of a recursive operation (CPython's `Py_EnterRecursiveCall`):
    /// raises `RecursionError("maximum recursion depth exceeded" + what)` if the lock
    /// holder is already `sys.getrecursionlimit()` levels deep, else counts the level.
    /// `what` is CPython's suffix, with its leading space (`" in comparison"`, `" while
    /// getting the repr of an object"`, or `""` for a plain call). Every successful enter
    /// must be paired with one [`recursion_leave`](Self::recursion_leave), on every path
    /// (see [`recursion_guard`](Self::recursion_guard), which does it around a closure).
    ///
    /// The depth lives in `LockedState` (it belongs to whoever holds the runtime lock); code
    /// that releases the lock while inside a recursive operation should save it and put it
    /// back when it has the lock again (`std::mem::take(&mut st.recursion_depth)`).
    ///
    /// Stack: the deepest path (repr) measured about 1.15 KB per level in a debug build and
    /// 260 B in release, so the default limit (1000) needs about 1.2 MiB of thread stack in
    /// debug and 300 KiB in release (Rust's spawned threads get 2 MiB, main threads
    /// usually 8 MiB); see docs/ARCHITECTURE.md ("Recursion limit"). A host that raises the
    /// limit needs a thread stack to match (limit x bytes per level, plus headroom).
    #[inline]
    pub(crate) fn recursion_enter(&mut self, what: &'static str) -> PyResult<()> {
        let st = &mut *self.st;
        if st.recursion_depth >= st.recursion_limit {
            return Err(self.recursion_error(what));
        }
        st.recursion_depth += 1;
        Ok(())
    }

    /// Leaves a level entered with [`recursion_enter`](Self::recursion_enter).
    #[inline]
    pub(crate) fn recursion_leave(&mut self) {
        self.st.recursion_depth = self.st.recursion_depth.saturating_sub(1);
    }

    /// Runs `f` one recursion level deeper ([`recursion_enter`](Self::recursion_enter),
    /// then [`recursion_leave`](Self::recursion_leave) whatever `f` returns).
    #[inline]
    pub(crate) fn recursion_guard<R>(
        &mut self,
        what: &'static str,
        f: impl FnOnce(&mut Self) -> PyResult<R>,
    ) -> PyResult<R> {
        self.recursion_enter(what)?;
        let r = f(self);
        self.recursion_leave();
        r
    }

    /// Levels a recursive algorithm that does not go through
    /// [`recursion_enter`](Self::recursion_enter) (comparison over `&Heap`) may still
    /// descend.
    pub(crate) fn recursion_budget(&self) -> u32 {
        self.st
            .recursion_limit
            .saturating_sub(self.st.recursion_depth)
    }

    pub(crate) fn recursion_error(&mut self, what: &str) -> Raised {
        self.raise_new(
            ExcClass::RECURSION_ERROR,
            format!("maximum recursion depth exceeded{what}"),
        )
    }

    /// Levels of recursive operations the lock holder is inside (what a C native function's
    /// call saves, to check on return).
    #[cfg(not(molt_loom))] // only the C ABI (not built for loom) uses it
    pub(crate) fn recursion_depth(&self) -> u32 {
        self.st.recursion_depth
    }

    /// `sys.getrecursionlimit()`.
    pub fn recursion_limit(&self) -> u32 {
        self.st.recursion_limit
    }

    /// `sys.setrecursionlimit(limit)`, with CPython's errors: `ValueError` below 1,
    /// `OverflowError` above `i32::MAX` (a C int), `RecursionError` if the current depth is
    /// already at or beyond it.
    pub fn set_recursion_limit(&mut self, limit: i64) -> PyResult<()> {
        if limit < 1 {
            return Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                "recursion limit must be greater or equal than 1",
            ));
        }
        if limit > i64::from(i32::MAX) {
            return Err(self.raise_new(
                ExcClass::OVERFLOW_ERROR,
                "Python int too large to convert to C int",
            ));
        }
        let depth = self.st.recursion_depth;
        if limit <= i64::from(depth) {
            return Err(self.raise_new(
                ExcClass::RECURSION_ERROR,
                format!(
                    "cannot set the recursion limit to {limit} at the recursion depth {depth}: the limit is too low"
                ),
            ));
        }
        self.st.recursion_limit = limit as u32;
        Ok(())
    }
}

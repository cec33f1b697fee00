//! Reference counts and heap allocation (CPython's C API conventions: see the module docs of
//! [`crate::gil`]).

use super::{Gil, PyResult};
use crate::object::{Object, is_heap_value};
use crate::value::Value;

impl Gil<'_> {
    pub(crate) fn alloc(&mut self, obj: Object) -> PyResult<Value> {
        match self.st.heap.alloc(obj) {
            Some(v) => Ok(v),
            None => Err(self.no_memory()),
        }
    }

    /// Lowers the live-object limit of this runtime's heap (normally 2^24) to `max_live`
    /// (at most 2^24), so tests reach heap exhaustion quickly. Not for production use.
    #[doc(hidden)]
    pub fn set_heap_limit(&mut self, max_live: u64) {
        self.st.heap.set_limit(max_live);
    }

    /// Adds a reference to `v`.
    pub fn incref(&mut self, v: Value) -> PyResult<()> {
        // A heap value is checked by the heap's own lookup (the same check as `check`, so
        // the same error); other values are checked here.
        if is_heap_value(v) {
            return self.st.heap.incref(v).map_err(|e| self.bad(e));
        }
        self.check(v).map_err(|e| self.bad(e))
    }

    /// Drops a reference to `v` (freeing it, and what it owns, at zero).
    pub fn decref(&mut self, v: Value) -> PyResult<()> {
        // As in `incref`: one lookup for a heap value.
        if is_heap_value(v) {
            return self.st.heap.decref(v).map_err(|e| self.bad(e));
        }
        self.check(v).map_err(|e| self.bad(e))
    }

    /// Drops references this code owns and knows to be live (internal bookkeeping).
    pub(crate) fn release(&mut self, v: Value) {
        let _ = self.st.heap.decref(v);
    }

    pub(super) fn own(&mut self, v: Value) -> Value {
        let _ = self.st.heap.incref(v);
        v
    }

    /// The reference count of a heap object (`None` for immortal values).
    pub fn refcount(&self, v: Value) -> Option<u32> {
        self.st.heap.refcount(v).ok()
    }

    /// Live heap objects (all kinds).
    pub fn live_objects(&self) -> u64 {
        self.st.heap.live()
    }
}

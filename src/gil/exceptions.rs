//! Raising and catching: the current and last exception of each thread (or task), and
//! `MemoryError` without allocating.

use super::{Gil, Raised};
use crate::ExcClass;
use crate::object::{ExcObj, Object, StrObj, char_count};
use crate::thread_state::thread_key;
use crate::value::Value;

/// The key of the exception state the calling code raises into, in runtime `runtime`: the
/// running task's own key inside a task of that runtime, else the thread's key.
pub(crate) fn exc_key(runtime: u64) -> u64 {
    match crate::tasks::current_task(runtime) {
        Some((key, _)) => key,
        None => thread_key(),
    }
}

/// This thread's exception state in one runtime.
#[derive(Debug, Default)]
pub(crate) struct ExcState {
    /// The exception being raised (owned reference), until fetched.
    pub(crate) current: Option<Value>,
    /// The last exception raised (owned reference), until cleared.
    pub(crate) last: Option<Value>,
}

impl Gil<'_> {
    /// The key of the exception state this token raises into.
    #[inline]
    pub(crate) fn exc_key(&self) -> u64 {
        let k = self.exc.get();
        if k != 0 {
            return k;
        }
        let k = exc_key(self.rt.id().get());
        self.exc.set(k);
        k
    }

    /// Makes this token raise into exception state `key` (a task's).
    pub(crate) fn set_exc_key(&mut self, key: u64) {
        self.exc.set(key);
    }

    /// Raises `MemoryError` without allocating: the instance preallocated with the heap
    /// (`MemoryError()`, no arguments, as CPython's `PyErr_NoMemory`). A current exception
    /// is dropped rather than chained into the shared instance.
    #[cold]
    pub(crate) fn no_memory(&mut self) -> Raised {
        let tid = self.exc_key();
        if let Some(prev) = self.st.exc.get_mut(&tid).and_then(|s| s.current.take()) {
            self.release(prev);
        }
        let e = self.memory_error_ref();
        self.set_current(e);
        Raised(())
    }

    /// A new reference to the preallocated `MemoryError` (or, if a host freed it by
    /// decref'ing a reference it did not own, a fresh one if the heap has room).
    fn memory_error_ref(&mut self) -> Value {
        if let Some(e) = self.st.heap.memory_error()
            && self.st.heap.incref(e).is_ok()
        {
            return e;
        }
        match self.st.heap.renew_memory_error() {
            Some(fresh) => {
                let _ = self.st.heap.incref(fresh);
                fresh
            }
            None => Value::NONE,
        }
    }

    /// Raises `exc`: an exception instance (the reference is consumed) or an exception class
    /// (instantiated with no arguments). If this thread already has a current exception, it
    /// becomes the new one's `__context__`. The exception also becomes the last exception.
    pub fn raise(&mut self, exc: Value) -> Raised {
        let exc = match self.st.types.index_of(exc) {
            Some(c) => match self.instantiate(c, &[]) {
                Ok(e) => e,
                Err(r) => return r,
            },
            None => exc,
        };
        let is_exc = matches!(self.st.heap.get(exc), Ok(Object::Exception(_)));
        if !is_exc {
            let msg = match self.check(exc) {
                Ok(()) => "exceptions must derive from BaseException".to_owned(),
                Err(e) => e.to_string(),
            };
            let cls = if self.check(exc).is_ok() {
                ExcClass::TYPE_ERROR
            } else {
                ExcClass::REFERENCE_ERROR
            };
            return self.raise_new(cls, msg);
        }
        self.set_current(exc);
        Raised(())
    }

    /// Makes `exc` the current exception, taking over the caller's reference (for
    /// `current`) and adding one (for `last`).
    pub(crate) fn set_current(&mut self, exc: Value) {
        let tid = self.exc_key();
        let previous = self.st.exc.entry(tid).or_default().current.take();
        if let Some(prev) = previous {
            if prev != exc
                && Some(exc) != self.st.heap.memory_error()
                && let Ok(Object::Exception(e)) = self.st.heap.get_mut(exc)
                && e.context.is_none()
            {
                e.context = prev; // the reference moves into __context__
            } else {
                self.release(prev);
            }
        }
        let _ = self.st.heap.incref(exc);
        let state = self.st.exc.entry(tid).or_default();
        state.current = Some(exc);
        let old_last = state.last.replace(exc);
        if let Some(old) = old_last {
            self.release(old);
        }
    }

    /// Raises a new instance of the builtin exception class `class` with `message` as its
    /// single argument.
    pub fn raise_new(&mut self, class: ExcClass, message: impl Into<String>) -> Raised {
        let message = message.into();
        let exc = self.new_exception(class.index(), &message);
        self.set_current(exc); // our reference moves into the exception state
        Raised(())
    }

    /// A new exception instance of class `cls` with one str argument, built without going
    /// through anything that can raise (so raising never recurses).
    pub(crate) fn new_exception(&mut self, cls: u32, message: &str) -> Value {
        self.new_exception_with(cls, Some(message))
    }

    /// [`new_exception`](Self::new_exception); with `None`, the instance has no arguments
    /// (`Cls()`).
    pub(crate) fn new_exception_with(&mut self, cls: u32, message: Option<&str>) -> Value {
        // A full heap gives the preallocated MemoryError instead (what failed to be built
        // was released by `Heap::alloc`).
        let items: Box<[Value]> = match message {
            Some(message) => {
                let msg = self.st.heap.alloc(Object::Str(StrObj {
                    text: message.into(),
                    chars: char_count(message),
                    hash: -1,
                }));
                match msg {
                    Some(m) => Box::new([m]),
                    None => return self.memory_error_ref(),
                }
            }
            None => Box::new([]),
        };
        let Some(args) = self.st.heap.alloc(Object::Tuple(items)) else {
            return self.memory_error_ref();
        };
        match self
            .st
            .heap
            .alloc(Object::Exception(ExcObj::new(cls, args)))
        {
            Some(e) => e,
            None => self.memory_error_ref(),
        }
    }

    /// This thread's current exception (borrowed), if one is being raised.
    pub fn err_occurred(&self) -> Option<Value> {
        self.st.exc.get(&self.exc_key()).and_then(|s| s.current)
    }

    /// Catches this thread's current exception: clears it and returns it (a new reference).
    pub fn err_fetch(&mut self) -> Option<Value> {
        let tid = self.exc_key();
        let s = self.st.exc.get_mut(&tid)?;
        let e = s.current.take();
        if s.last.is_none() {
            self.st.exc.remove(&tid);
        }
        e
    }

    /// The last exception raised on this thread (borrowed), kept for diagnostics until
    /// [`clear_last_exception`](Self::clear_last_exception).
    pub fn last_exception(&self) -> Option<Value> {
        self.st.exc.get(&self.exc_key()).and_then(|s| s.last)
    }

    /// Forgets this thread's last exception.
    pub fn clear_last_exception(&mut self) {
        let tid = self.exc_key();
        let Some(s) = self.st.exc.get_mut(&tid) else {
            return;
        };
        let last = s.last.take();
        if s.current.is_none() {
            self.st.exc.remove(&tid);
        }
        if let Some(v) = last {
            self.release(v);
        }
    }

    /// "ClassName: message" for an exception (for error messages and diagnostics).
    pub fn describe_exception(&mut self, exc: Value) -> String {
        let name = self.type_name(exc).unwrap_or_else(|_| "?".into());
        match self.to_str(exc) {
            Ok(s) if s.is_empty() => name,
            Ok(s) => format!("{name}: {s}"),
            Err(_) => name,
        }
    }

    /// Fetches the current exception and describes it (for the C ABI and the CLI), putting
    /// it back as current.
    pub fn describe_current(&mut self) -> String {
        match self.err_occurred() {
            Some(e) => self.describe_exception(e),
            None => "no exception".into(),
        }
    }

    /// Takes the exception state kept under `key` (a task's) out of the table, for the task
    /// scheduler when a task finishes or its record goes: `None` if there is none.
    pub(crate) fn take_exc_state(&mut self, key: u64) -> Option<ExcState> {
        self.st.exc.remove(&key)
    }
}

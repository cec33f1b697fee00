//! Object operations: reference counts (with their held path), attributes, calls, hash,
//! repr, classes and modules.

use super::DEFAULT;
use super::args::*;
use super::status::*;
use crate::gil::Gil;
use crate::state::LockedState;
use crate::value::Value;
use std::ffi::c_char;

/// Adds a reference (a no-op for numbers, singletons, classes and functions).
#[unsafe(no_mangle)]
pub extern "C" fn molt_incref(value: u64) -> i32 {
    refcount_entry::<true>(value)
}

/// Drops a reference, freeing the object (and what it owns) at zero. A value whose object
/// is already freed is `MOLT_ERR_STALE_VALUE`, never a double free.
#[unsafe(no_mangle)]
pub extern "C" fn molt_decref(value: u64) -> i32 {
    refcount_entry::<false>(value)
}

/// `molt_incref` (`INC`) or `molt_decref` (one copy each, so the held path is inline in
/// both). The held path comes first, before the panic boundary: it is leaf code (`Heap::held_refcount`: no call, no allocation, no panic), so
/// the entry point needs no stack frame for it; everything else, the last reference's free
/// included, is the full path, out of line.
#[inline(always)]
fn refcount_entry<const INC: bool>(value: u64) -> i32 {
    // SAFETY: a reference count operation on the heap runs no user code and makes no call
    // back into the runtime.
    let done = unsafe { DEFAULT.with_locked_held(|_, st| st.heap.held_refcount(value, INC)) };
    if done == Some(true) {
        return MOLT_OK;
    }
    refcount_slow::<INC>(value)
}

/// `molt_incref`/`molt_decref` off the held path (or of a value the held path left to it):
/// first the whole operation on the held path without a token, the last reference's free
/// included (it runs no user code and releases what it owned iteratively), then, for an
/// error to report or a thread that does not hold the GIL, the token path. One copy each,
/// as the entry: the operation is known at compile time, so `Heap::decref`'s common case
/// stays inline (no call through a function pointer).
#[cold]
#[inline(never)]
fn refcount_slow<const INC: bool>(value: u64) -> i32 {
    fn run(
        name: &str,
        bits: u64,
        op: impl Fn(&mut crate::object::Heap, Value) -> Result<(), crate::object::BadValue>,
    ) -> i32 {
        boundary(name, || {
            if let Some(v) = Value::from_bits(bits).filter(|&v| crate::object::is_heap_value(v)) {
                // SAFETY: a reference count operation, a free included, runs no user code
                // and makes no call back into the runtime.
                let held = unsafe { DEFAULT.with_locked_held(|_, st| op(&mut st.heap, v)) };
                if held == Some(Ok(())) {
                    return Ok(());
                }
            }
            with_gil(|g| refcount_arg(g, bits, &op))
        })
    }
    if INC {
        run("molt_incref", value, crate::object::Heap::incref)
    } else {
        run("molt_decref", value, crate::object::Heap::decref)
    }
}

/// `getattr(obj, name)`: a new reference; a missing attribute raises `AttributeError`.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_getattr(obj: u64, name: *const c_char, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_getattr", unsafe { Out::new(out) }, |g| {
        let o = value_arg(g, obj, "obj")?;
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(name, "name") }?;
        let v = g.getattr(o, name)?;
        Ok(v)
    })
}

/// `setattr(obj, name, value)` (value borrowed).
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_setattr(obj: u64, name: *const c_char, value: u64) -> i32 {
    boundary("molt_setattr", || {
        with_gil(|g| {
            let o = value_arg(g, obj, "obj")?;
            let v = value_arg(g, value, "value")?;
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            g.setattr(o, name, v).map_err(Failure::from)
        })
    })
}

/// `callable(*args)`: a new reference.
///
/// # Safety
/// `args` must be valid for reads of `n` `uint64_t`s (NULL allowed with `n` 0); `out` NULL
/// (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_call(
    callable: u64,
    args: *const u64,
    n: usize,
    out: *mut u64,
) -> i32 {
    let target = |g: &mut Gil<'_>| value_arg(g, callable, "callable");
    // SAFETY: forwarded caller contract.
    unsafe {
        call_entry("molt_call", args, n, out, target, |g, f, args| {
            g.call(f, args)
        })
    }
}

/// `obj.name(*args)` through the method cache: a new reference.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `args` valid for reads of `n`
/// `uint64_t`s (NULL allowed with `n` 0); `out` NULL (an error) or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_call_method(
    obj: u64,
    name: *const c_char,
    args: *const u64,
    n: usize,
    out: *mut u64,
) -> i32 {
    let target = |g: &mut Gil<'_>| {
        let o = value_arg(g, obj, "obj")?;
        // SAFETY: forwarded caller contract.
        Ok((o, unsafe { read_str(name, "name") }?))
    };
    let call = |g: &mut Gil<'_>, (o, name), args: &[Value]| g.call_method(o, name, args);
    // SAFETY: forwarded caller contract.
    unsafe { call_entry("molt_call_method", args, n, out, target, call) }
}

/// `hash(value)`, equal to CPython 3.11's under the same hash seed for str, bytes, int,
/// float, bool and tuple. Lists and dicts raise `TypeError`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_hash(value: u64, out: *mut i64) -> i32 {
    // SAFETY: forwarded caller contract; `Heap::cached_hash` is leaf code (a hash
    // already cached; computing one is the full path's).
    unsafe {
        let held = |st: &mut LockedState| st.heap.cached_hash(value);
        held_read_entry("molt_hash", value, out, held, |g, v| g.hash(v))
    }
}

/// `repr(value)` as a new str.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_repr(value: u64, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe {
        read_entry("molt_repr", value, out, |g, v| {
            let s = g.repr(v)?;
            g.str(&s).map(Value::to_bits)
        })
    }
}

/// The builtin class called `name` (e.g. `"ValueError"`); an unknown name is
/// `MOLT_ERR_INVALID_ARGUMENT`. Classes are immortal: no reference to drop.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_builtin_class(name: *const c_char, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_builtin_class", unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(name, "name") }?;
        let c = g
            .builtin_class(name)
            .ok_or_else(|| Failure::invalid(format!("no builtin class named {name:?}")))?;
        Ok(c)
    })
}

/// Creates a user class `name` with the bases in the tuple `bases` (or `MOLT_NONE` for
/// `(object,)`) and the namespace dict `namespace` (str keys; or `MOLT_NONE`). Inconsistent
/// hierarchies raise CPython's `TypeError`. The class lives until shutdown.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_class_new(
    name: *const c_char,
    bases: u64,
    namespace: u64,
    out: *mut u64,
) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_class_new", unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(name, "name") }?;
        let b = value_arg(g, bases, "bases")?;
        let ns = value_arg(g, namespace, "namespace")?;
        let bases = if b.is_none() { Vec::new() } else { g.items(b)? };
        let mut entries = Vec::new();
        if !ns.is_none() {
            for (k, v) in g.dict_items(ns)? {
                let key = match g.str_text(k) {
                    Ok(t) => t.to_owned(),
                    Err(r) => return Err(r.into()),
                };
                entries.push((key, v));
            }
        }
        let entries: Vec<(&str, Value)> = entries.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let c = g.class_new(name, &bases, &entries)?;
        Ok(c)
    })
}

/// `import name`: the cached module (a new reference). `builtins` and `sys` are built in;
/// an unknown name raises `ModuleNotFoundError`.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_import(name: *const c_char, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_import", unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(name, "name") }?;
        let m = g.import_module(name)?;
        Ok(m)
    })
}

/// `molt_incref`/`molt_decref`: `op` on a heap value with one lookup (the heap's own check
/// is `value_arg`'s); any other valid value is immortal, so it is only checked.
#[inline(always)]
fn refcount_arg(
    g: &mut Gil<'_>,
    bits: u64,
    op: impl FnOnce(&mut crate::object::Heap, Value) -> Result<(), crate::object::BadValue>,
) -> Result<(), Failure> {
    match Value::from_bits(bits) {
        Some(v) if crate::object::is_heap_value(v) => {
            op(g.heap_mut(), v).map_err(|_| stale(g, bits, "value"))
        }
        _ => value_arg(g, bits, "value").map(|_| ()),
    }
}

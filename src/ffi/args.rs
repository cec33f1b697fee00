//! The entry points' common steps: reaching the default runtime (held path or not) and
//! reading and checking arguments (out-pointers, strings, values, buffers, durations).

use super::DEFAULT;
use super::status::{Failure, MOLT_ERR_STALE_VALUE, boundary};
use crate::gil::Gil;
use crate::lifecycle::Entered;
use crate::state::{LockedState, RuntimeState};
use crate::value::Value;
use std::ffi::{CStr, c_char};
use std::time::Duration;

/// Enters the default runtime or fails with `MOLT_ERR_NOT_INITIALIZED`.
#[inline]
pub(super) fn entered() -> Result<Entered<'static>, Failure> {
    Ok(DEFAULT.enter()?)
}

/// Runs `body` on the default runtime's state without the GIL (immutable state): through
/// the held path's thread-local when the thread holds the GIL, else entering.
#[inline]
pub(super) fn with_state<T>(
    body: impl FnOnce(&RuntimeState) -> Result<T, Failure>,
) -> Result<T, Failure> {
    if let Some(rt) = DEFAULT.held() {
        return body(rt);
    }
    let rt = entered()?;
    body(&rt)
}

/// The held path of an entry point with one out-value, run before its panic boundary:
/// `read` on the runtime's locked state when the calling thread holds the GIL (and no token
/// of it is active), its answer written to `*out`. False, for the entry point's full path to
/// answer, if `out` is NULL, the thread does not hold the GIL or `read` has no answer.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`; `read` must be leaf code: no call into
/// the runtime, no user code, nothing that can panic (it runs outside the boundary).
#[inline(always)]
pub(super) unsafe fn held_out<T>(
    out: *mut T,
    read: impl FnOnce(&mut LockedState) -> Option<T>,
) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: `read` makes no call back into the runtime (the caller's contract).
    match unsafe { DEFAULT.with_locked_held(|_, st| read(st)) } {
        Some(Some(r)) => {
            // SAFETY: not NULL, and valid for a write (the caller's contract).
            unsafe { out.write(r) };
            true
        }
        _ => false,
    }
}

/// Runs `body` with the default runtime's GIL held: on the held path when the calling
/// thread holds it (one thread-local read), else acquiring it for the call. A raised
/// exception is described here, while the token is at hand.
#[inline]
pub(super) fn with_gil<T>(
    body: impl FnOnce(&mut Gil<'_>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    DEFAULT.with_gil(|g| body(g).map_err(|f| f.described(g)))?
}

/// Fails if the out-pointer is NULL (every entry point checks it first).
#[inline]
pub(super) fn out_arg<T>(out: *mut T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid("out is NULL"));
    }
    Ok(())
}

/// Writes `value` through `out`, or fails if `out` is null.
///
/// # Safety
/// `out` must be null or valid for a write of `T`.
#[inline]
pub(super) unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null, and the caller guarantees it is valid for writes.
    unsafe { out.write(value) };
    Ok(())
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string that stays valid during the call.
pub(super) unsafe fn read_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|e| Failure::invalid(format!("{what} is not valid UTF-8: {e}")))
}

/// Reads `len` bytes of UTF-8 text (not NUL-terminated; NULL allowed when `len` is 0).
///
/// # Safety
/// As for [`bytes_arg`].
pub(super) unsafe fn text_arg<'a>(
    data: *const c_char,
    len: usize,
    what: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded caller contract.
    let bytes = unsafe { bytes_arg(data.cast(), len, what) }?;
    std::str::from_utf8(bytes)
        .map_err(|e| Failure::invalid(format!("{what} is not valid UTF-8: {e}")))
}

/// A duration argument in seconds: finite and not negative.
pub(super) fn seconds_arg(seconds: f64, what: &str) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        Failure::invalid(format!(
            "{what} must be a finite, non-negative number of seconds, got {seconds}"
        ))
    })
}

/// The failure for a value argument that does not resolve (what `value_arg` reports).
#[cold]
pub(super) fn stale(g: &Gil<'_>, bits: u64, what: &str) -> Failure {
    match value_arg(g, bits, what) {
        Err(f) => f,
        Ok(_) => Failure::new(MOLT_ERR_STALE_VALUE, format!("{what}: stale value")),
    }
}

/// Decodes and checks a value argument.
#[inline]
pub(super) fn value_arg(g: &Gil<'_>, bits: u64, what: &str) -> Result<Value, Failure> {
    let v = Value::from_bits(bits).ok_or_else(|| {
        Failure::new(
            MOLT_ERR_STALE_VALUE,
            format!("{what} ({bits:#018x}) is not a valid value encoding"),
        )
    })?;
    g.check(v)
        .map_err(|e| Failure::new(MOLT_ERR_STALE_VALUE, format!("{what}: {e}")))?;
    Ok(v)
}

/// Reads `n` value arguments.
///
/// # Safety
/// `items` must be NULL with `n` 0, or valid for reads of `n` `uint64_t`s.
pub(super) unsafe fn values_arg(
    g: &Gil<'_>,
    items: *const u64,
    n: usize,
    what: &str,
) -> Result<Vec<Value>, Failure> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > isize::MAX as usize / size_of::<u64>() {
        return Err(Failure::invalid(format!(
            "{what}: count {n} is larger than any array can be"
        )));
    }
    if items.is_null() {
        return Err(Failure::invalid(format!(
            "{what} is NULL but its count is {n}"
        )));
    }
    // SAFETY: non-null and valid for `n` reads per the caller's contract.
    let raw = unsafe { std::slice::from_raw_parts(items, n) };
    raw.iter()
        .enumerate()
        .map(|(i, &b)| value_arg(g, b, &format!("{what}[{i}]")))
        .collect()
}

/// Reads `len` bytes (NULL allowed when `len` is 0).
///
/// # Safety
/// `data` must be NULL with `len` 0, or valid for reads of `len` bytes.
pub(super) unsafe fn bytes_arg<'a>(
    data: *const u8,
    len: usize,
    what: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{what}: length {len} is larger than any buffer can be"
        )));
    }
    if data.is_null() {
        return Err(Failure::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    // SAFETY: non-null and valid for `len` reads per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// An out-pointer argument: NULL (an error when written) or valid for a write of `T`.
pub(super) struct Out<T>(*mut T);

impl<T> Clone for Out<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Out<T> {}

impl<T> Out<T> {
    /// # Safety
    /// `p` must be NULL or valid for a write of `T` until the entry point returns.
    #[inline]
    pub(super) unsafe fn new(p: *mut T) -> Self {
        Self(p)
    }

    /// Fails if the pointer is NULL.
    #[inline]
    pub(super) fn check(self) -> Result<(), Failure> {
        out_arg(self.0)
    }

    /// Writes `value`, or fails if the pointer is NULL.
    #[inline]
    pub(super) fn write(self, value: T) -> Result<(), Failure> {
        // SAFETY: `Out::new`'s contract: NULL (refused by `write_out`) or valid for a write.
        unsafe { write_out(self.0, value, "out") }
    }
}

/// The entry point `name` that computes one result for `*out`: `out` is checked before
/// anything is made (a result built for a NULL out-pointer would stay alive with no owner),
/// `body` runs with the GIL, and its result is written to `*out`.
#[inline]
pub(super) fn out_entry<T>(
    name: &str,
    out: Out<T>,
    body: impl FnOnce(&mut Gil<'_>) -> Result<T, Failure>,
) -> i32 {
    boundary(name, || {
        out.check()?;
        let r = with_gil(body)?;
        out.write(r)
    })
}

/// [`out_entry`] for an entry point that makes or finds a value (written as its bits).
#[inline]
pub(super) fn value_entry(
    name: &str,
    out: Out<u64>,
    body: impl FnOnce(&mut Gil<'_>) -> Result<Value, Failure>,
) -> i32 {
    out_entry(name, out, |g| body(g).map(Value::to_bits))
}

/// [`out_entry`] for an entry point that reads one value argument (checked, then passed to
/// `read`) into one result.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
#[inline]
pub(super) unsafe fn read_entry<T>(
    name: &str,
    value: u64,
    out: *mut T,
    read: impl FnOnce(&mut Gil<'_>, Value) -> crate::PyResult<T>,
) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    out_entry(name, unsafe { Out::new(out) }, |g| {
        Ok(read(g, value_arg(g, value, "value")?)?)
    })
}

/// [`read_entry`] behind a held path: `held` answers first, before the panic boundary
/// (see [`held_out`]), and the full path runs out of line, so the held path needs no stack
/// frame.
///
/// # Safety
/// As for [`held_out`]: `out` NULL or valid for a write of `T`, `held` leaf code.
#[inline(always)]
pub(super) unsafe fn held_read_entry<T>(
    name: &str,
    value: u64,
    out: *mut T,
    held: impl FnOnce(&mut LockedState) -> Option<T>,
    read: impl FnOnce(&mut Gil<'_>, Value) -> crate::PyResult<T>,
) -> i32 {
    // SAFETY: forwarded caller contract.
    if unsafe { held_out(out, held) } {
        return super::MOLT_OK;
    }
    // SAFETY: forwarded caller contract.
    unsafe { read_slow(name, value, out, read) }
}

/// [`held_read_entry`]'s full path, out of line.
///
/// # Safety
/// `out` must be NULL or valid for a write of `T`.
#[cold]
#[inline(never)]
unsafe fn read_slow<T>(
    name: &str,
    value: u64,
    out: *mut T,
    read: impl FnOnce(&mut Gil<'_>, Value) -> crate::PyResult<T>,
) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { read_entry(name, value, out, read) }
}

/// [`value_entry`] for a call: `target` reads what is called (its arguments are checked
/// first), then the `n` arguments are read and checked, and `call` makes the call.
///
/// # Safety
/// `args` must be NULL with `n` 0, or valid for reads of `n` `uint64_t`s; `out` NULL or
/// valid for a write of `uint64_t`.
#[inline]
pub(super) unsafe fn call_entry<T>(
    name: &str,
    args: *const u64,
    n: usize,
    out: *mut u64,
    target: impl FnOnce(&mut Gil<'_>) -> Result<T, Failure>,
    call: impl FnOnce(&mut Gil<'_>, T, &[Value]) -> crate::PyResult<Value>,
) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry(name, unsafe { Out::new(out) }, |g| {
        let target = target(g)?;
        // SAFETY: forwarded caller contract.
        let args = unsafe { values_arg(g, args, n, "args") }?;
        Ok(call(g, target, &args)?)
    })
}

/// [`value_entry`] for an entry point that makes a value of `n` borrowed values (a tuple,
/// a list): the values are read and checked, then `make` builds it.
///
/// # Safety
/// `items` must be NULL with `n` 0, or valid for reads of `n` `uint64_t`s; `out` NULL or
/// valid for a write of `uint64_t`.
#[inline]
pub(super) unsafe fn items_entry(
    name: &str,
    items: *const u64,
    n: usize,
    out: *mut u64,
    make: impl FnOnce(&mut Gil<'_>, &[Value]) -> crate::PyResult<Value>,
) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry(name, unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let items = unsafe { values_arg(g, items, n, "items") }?;
        Ok(make(g, &items)?)
    })
}

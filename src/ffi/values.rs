//! Values from and to C: ints, floats, str, bytes, tuples, lists and dicts, made and read,
//! and `len`.

use super::DEFAULT;
use super::args::*;
use super::status::*;
use crate::ExcClass;
use crate::value::Value;
use std::ffi::c_char;

/// The bits of `None` (values are NaN-boxed `uint64_t`s; see `docs/ARCHITECTURE.md`).
pub const MOLT_NONE: u64 = 0xFFFB_0000_0000_0000;
/// The bits of `True`.
pub const MOLT_TRUE: u64 = 0xFFFA_0000_0000_0001;
/// The bits of `False`.
pub const MOLT_FALSE: u64 = 0xFFFA_0000_0000_0000;

/// A new int: an immediate inside the small-int range (-2^47 ..= 2^47-1), a big int
/// (a new reference) outside it.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_from_i64(value: i64, out: *mut u64) -> i32 {
    // The held path, before the panic boundary (leaf code: no call, no panic): a small int
    // is an immediate, and with the GIL held nothing of the runtime is touched.
    if let Some(v) = Value::int(value)
        && !out.is_null()
        && DEFAULT.held().is_some()
    {
        // SAFETY: not NULL, and the caller guarantees it is valid for a write.
        unsafe { out.write(v.to_bits()) };
        return MOLT_OK;
    }
    // SAFETY: forwarded caller contract.
    unsafe { int_from_i64_slow(value, out) }
}

/// `molt_int_from_i64` off the held path (or of an int too big for an immediate): out of
/// line, so the held path needs no frame.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[cold]
#[inline(never)]
unsafe fn int_from_i64_slow(value: i64, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_int_from_i64", unsafe { Out::new(out) }, |g| {
        Ok(g.int(value)?)
    })
}

/// `int(digits, base)` with CPython 3.11's rules: sign, surrounding whitespace,
/// underscores between digits, the `0x`/`0o`/`0b` prefixes (base 16/8/2, or any with base
/// 0), and the 4,300-digit limit of `sys.set_int_max_str_digits`. `len` bytes of UTF-8 (not
/// NUL-terminated). Bad syntax raises `ValueError`, a base outside 0 and 2..=36
/// `ValueError` (`MOLT_ERR_EXCEPTION`). A new reference (or an immediate small int).
///
/// # Safety
/// `digits` must be valid for reads of `len` bytes (NULL allowed with `len` 0); `out` must
/// be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_from_str(
    digits: *const c_char,
    len: usize,
    base: i32,
    out: *mut u64,
) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_int_from_str", unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let text = unsafe { text_arg(digits, len, "digits") }?;
        // A negative base is out of range like any other: CPython's ValueError.
        let base = u32::try_from(base).unwrap_or(1);
        Ok(g.int_from_str(text, base)?)
    })
}

/// `str(value)` of an int: a new str, in decimal (a bool gives `"True"`/`"False"`, as
/// `str()` does); more digits than the `sys.set_int_max_str_digits` limit raise `ValueError`,
/// a value that is not an int `TypeError` (`MOLT_ERR_EXCEPTION`), as in CPython.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_to_str(value: u64, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe {
        read_entry("molt_int_to_str", value, out, |g, v| {
            g.int_to_str(v).map(Value::to_bits)
        })
    }
}

/// A float (every NaN becomes the canonical NaN).
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_float_from_f64(value: f64, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_float_from_f64", unsafe { Out::new(out) }, |g| {
        Ok(g.float(value))
    })
}

/// A new str from `len` bytes of UTF-8 (not NUL-terminated; invalid UTF-8 is
/// `MOLT_ERR_INVALID_ARGUMENT`). A new reference.
///
/// # Safety
/// `data` must be valid for reads of `len` bytes (NULL allowed with `len` 0); `out` must be
/// NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_str_from_utf8(data: *const c_char, len: usize, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_str_from_utf8", unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let text = unsafe { text_arg(data, len, "data") }?;
        Ok(g.str(text)?)
    })
}

/// A new bytes object from `len` bytes. A new reference.
///
/// # Safety
/// `data` must be valid for reads of `len` bytes (NULL allowed with `len` 0); `out` must be
/// NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_bytes_from(data: *const u8, len: usize, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_bytes_from", unsafe { Out::new(out) }, |g| {
        // SAFETY: forwarded caller contract.
        let bytes = unsafe { bytes_arg(data, len, "data") }?;
        let v = g.bytes(bytes)?;
        Ok(v)
    })
}

/// A new tuple of `n` values (borrowed: the tuple takes its own references).
///
/// # Safety
/// `items` must be valid for reads of `n` `uint64_t`s (NULL allowed with `n` 0); `out` must
/// be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_tuple_new(items: *const u64, n: usize, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { items_entry("molt_tuple_new", items, n, out, |g, v| g.tuple(v)) }
}

/// A new list of `n` values (borrowed).
///
/// # Safety
/// As for `molt_tuple_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_list_new(items: *const u64, n: usize, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { items_entry("molt_list_new", items, n, out, |g, v| g.list(v)) }
}

/// A new empty dict.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_dict_new(out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_dict_new", unsafe { Out::new(out) }, |g| {
        let v = g.dict()?;
        Ok(v)
    })
}

/// `dict[key] = value` (both borrowed). Unhashable keys raise `TypeError`.
#[unsafe(no_mangle)]
pub extern "C" fn molt_dict_set(dict: u64, key: u64, value: u64) -> i32 {
    boundary("molt_dict_set", || {
        with_gil(|g| {
            let d = value_arg(g, dict, "dict")?;
            let k = value_arg(g, key, "key")?;
            let v = value_arg(g, value, "value")?;
            g.dict_set(d, k, v).map_err(Failure::from)
        })
    })
}

/// `dict[key]`: a new reference; a missing key raises `KeyError`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_dict_get(dict: u64, key: u64, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_dict_get", unsafe { Out::new(out) }, |g| {
        let d = value_arg(g, dict, "dict")?;
        let k = value_arg(g, key, "key")?;
        let v = g.call_method(d, "__getitem__", &[k])?;
        Ok(v)
    })
}

/// The value of an int (or bool). An int that does not fit in `int64_t` raises
/// `OverflowError` (`MOLT_ERR_EXCEPTION`).
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_as_i64(value: u64, out: *mut i64) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { read_entry("molt_int_as_i64", value, out, |g, v| g.as_i64(v)) }
}

/// The value of a float (or int, or bool) as a double.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `double`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_float_as_f64(value: u64, out: *mut f64) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { read_entry("molt_float_as_f64", value, out, |g, v| g.as_f64(v)) }
}

/// The UTF-8 text of a str: a pointer to its bytes (not NUL-terminated) and their length.
/// The pointer stays valid while the str object lives (and the runtime is up).
///
/// # Safety
/// `data` and `len` must be NULL (an error) or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_str_as_utf8(
    value: u64,
    data: *mut *const c_char,
    len: *mut usize,
) -> i32 {
    boundary("molt_str_as_utf8", || {
        with_gil(|g| {
            let v = value_arg(g, value, "value")?;
            let (p, n) = match g.str_text(v) {
                Ok(text) => (text.as_ptr().cast::<c_char>(), text.len()),
                Err(r) => return Err(r.into()),
            };
            // SAFETY: forwarded caller contract.
            unsafe { write_out(len, n, "len") }?;
            // SAFETY: forwarded caller contract.
            unsafe { write_out(data, p, "data") }
        })
    })
}

/// `len(value)` for str (code points), bytes, tuple, list and dict.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_len(value: u64, out: *mut usize) -> i32 {
    // SAFETY: forwarded caller contract; `Heap::held_len` is leaf code.
    unsafe {
        held_read_entry(
            "molt_len",
            value,
            out,
            |st| st.heap.held_len(value),
            |g, v| g.len(v),
        )
    }
}

/// The length of a tuple.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_tuple_len(tuple: u64, out: *mut usize) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    out_entry("molt_tuple_len", unsafe { Out::new(out) }, |g| {
        let v = value_arg(g, tuple, "tuple")?;
        let tuple_class = g.builtin_class("tuple").expect("builtin");
        if !g.isinstance(v, tuple_class)? {
            let t = g.type_name(v)?;
            let r = g.raise_new(ExcClass::TYPE_ERROR, format!("expected tuple, got {t}"));
            return Err(r.into());
        }
        Ok(g.len(v)?)
    })
}

/// `tuple[index]` (also works on lists): a new reference; out of range raises `IndexError`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_tuple_get(tuple: u64, index: usize, out: *mut u64) -> i32 {
    // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
    value_entry("molt_tuple_get", unsafe { Out::new(out) }, |g| {
        let v = value_arg(g, tuple, "tuple")?;
        let i = i64::try_from(index).unwrap_or(i64::MAX);
        let item = g.get_item_index(v, i)?;
        Ok(item)
    })
}

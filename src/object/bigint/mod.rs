//! Big ints: ints beyond the small-int range (`-2^47 ..= 2^47 - 1`), as heap objects.
//!
//! A big int is an [`Object::Int`] (a `num_bigint::BigInt`) in the heap, reference counted
//! like every heap object and counted by the registry as `object.int`. Every result is
//! normalized: a value that fits the small-int range is always a small int, and a big int
//! never holds such a value, so a small int and a big int are never equal.
//!
//! The small-int fast paths of `natives/` stay where they are; they call into this module
//! only when a result overflows the small-int range or an operand is a big int. The int
//! methods that had no small-int implementation before (`**`, shifts, bitwise operators,
//! `divmod`, `abs`, `~`, `bit_length`...) live here and handle small and big ints alike.
//! Semantics and error messages are CPython 3.11's (checked against vectors CPython
//! generated: `tests/data/int_vectors.txt`, `scripts/gen_int_vectors.py`).
//!
//! Files: this one (the value conversions and the hooks the small-int paths call),
//! `arith.rs` (the arithmetic on `BigInt`s, no heap or GIL), `text.rs` (`repr` with the
//! digit limit, `int(str, base)`), `methods.rs` (the int methods and the `sys` digit-limit
//! functions), `tests.rs`.

mod arith;
mod methods;
#[cfg(test)]
mod tests;
mod text;

use crate::ExcClass;
pub(crate) use arith::{BinOp, to_f64};
use arith::{binop, cmp_int_float, pow_mod};
pub(crate) use methods::*;
pub(crate) use text::{decimal, parse, parse_error_message};

use super::natives::{Arith, Compare, Op, arity, descriptor_error, float_op};
use super::{Heap, Object};
use crate::gil::{Gil, PyResult};
use crate::value::{Kind, Unpacked, Value};
use num_bigint::BigInt;
use num_traits::{FromPrimitive, Signed, ToPrimitive};
use std::borrow::Cow;
use std::cmp::Ordering;

/// CPython's default `sys.get_int_max_str_digits()`.
pub(crate) const DEFAULT_MAX_STR_DIGITS: usize = 4300;
/// CPython's smallest nonzero `sys.set_int_max_str_digits()` value.
pub(crate) const MIN_MAX_STR_DIGITS: usize = 640;

/// Whether `v` is a reference to a big int (not checked against the heap): a mask and a
/// compare, the only cost the small-int paths pay for big ints.
#[inline(always)]
pub(crate) fn is_big(v: Value) -> bool {
    v.obj_of_kind(Kind::Int).is_some()
}

/// The int value of an int, bool or big int; `None` for anything else (or a stale value).
fn int_of(heap: &Heap, v: Value) -> Option<Cow<'_, BigInt>> {
    match v.unpack() {
        Unpacked::Int(i) => Some(Cow::Owned(BigInt::from(i))),
        Unpacked::Bool(b) => Some(Cow::Owned(BigInt::from(b as i64))),
        Unpacked::Obj(r) if r.kind == Kind::Int => match heap.get(v) {
            Ok(Object::Int(b)) => Some(Cow::Borrowed(b)),
            _ => None,
        },
        _ => None,
    }
}

/// `ReferenceError` for a stale or foreign value.
fn checked(g: &mut Gil<'_>, v: Value) -> PyResult<()> {
    g.check(v).map_err(|e| g.bad(e))
}

/// A new big int (the caller normalized: `b` is outside the small-int range).
fn alloc(g: &mut Gil<'_>, b: BigInt) -> PyResult<Value> {
    g.alloc(Object::Int(b))
}

/// The int `b`: a small int when it fits, else a new big int.
pub(crate) fn from_big(g: &mut Gil<'_>, b: BigInt) -> PyResult<Value> {
    if let Some(v) = b.to_i64().and_then(Value::int) {
        return Ok(v);
    }
    alloc(g, b)
}

/// The int `i` when it is outside the small-int range (`Gil::int`'s slow path).
#[cold]
pub(crate) fn from_i64_slow(g: &mut Gil<'_>, i: i64) -> PyResult<Value> {
    alloc(g, BigInt::from(i))
}

/// The result of an int operation, computed without the GIL's `&mut` (the operands may be
/// borrowed from the heap), delivered by [`deliver`].
enum Out {
    Int(BigInt),
    Float(f64),
    Pair(BigInt, BigInt),
    NotImplemented,
    Err(ExcClass, String),
}

fn err(class: ExcClass, msg: impl Into<String>) -> Out {
    Out::Err(class, msg.into())
}

fn deliver(g: &mut Gil<'_>, out: Out) -> PyResult<Value> {
    match out {
        Out::Int(b) => from_big(g, b),
        Out::Float(f) => Ok(Value::float(f)),
        Out::NotImplemented => Ok(Value::NOT_IMPLEMENTED),
        Out::Pair(q, r) => {
            let q = from_big(g, q)?;
            let r = match from_big(g, r) {
                Ok(r) => r,
                Err(e) => {
                    g.release(q);
                    return Err(e);
                }
            };
            let t = g.tuple(&[q, r]);
            g.release(q);
            g.release(r);
            t
        }
        Out::Err(class, msg) => Err(g.raise_new(class, msg)),
    }
}

/// The result of int method `name`: `out` delivered, or `None` (`self_` is not an int) the
/// descriptor `TypeError`.
fn deliver_method(g: &mut Gil<'_>, out: Option<Out>, name: &str, self_: Value) -> PyResult<Value> {
    match out {
        Some(out) => deliver(g, out),
        None => Err(descriptor_error(g, name, "int", self_)),
    }
}

// ------------------------------------------------------------------------------ hooks

/// `arith` of natives/num.rs when an operand is a big int.
#[cold]
pub(crate) fn arith(g: &mut Gil<'_>, a: &[Value], m: Arith) -> PyResult<Value> {
    let Arith {
        name,
        float,
        op,
        reflected,
    } = m;
    if !float {
        return binary(g, a, name, BinOp::Arith(op), reflected);
    }
    checked(g, a[0])?;
    checked(g, a[1])?;
    let Unpacked::Float(x) = a[0].unpack() else {
        return Err(descriptor_error(g, name, "float", a[0]));
    };
    let y = match int_of(g.heap(), a[1]) {
        Some(y) => match to_f64(&y) {
            Some(y) => y,
            None => {
                return Err(g.raise_new(
                    ExcClass::OVERFLOW_ERROR,
                    "int too large to convert to float",
                ));
            }
        },
        None => return Ok(Value::NOT_IMPLEMENTED),
    };
    let (x, y) = if reflected { (y, x) } else { (x, y) };
    float_op(g, x, y, op)
}

/// A binary int method (`self` an int, bool or big int; `NotImplemented` unless the other
/// operand is one too).
fn binary(g: &mut Gil<'_>, a: &[Value], name: &str, op: BinOp, reflected: bool) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    checked(g, a[0])?;
    checked(g, a[1])?;
    let out = {
        let heap = g.heap();
        match (int_of(heap, a[0]), int_of(heap, a[1])) {
            (None, _) => None,
            (Some(_), None) => Some(Out::NotImplemented),
            (Some(x), Some(y)) => Some(if reflected {
                binop(op, &y, &x)
            } else {
                binop(op, &x, &y)
            }),
        }
    };
    deliver_method(g, out, name, a[0])
}

/// `int_op` of natives/int.rs when a small-int result overflows the small-int range.
#[cold]
pub(crate) fn int_op_overflow(g: &mut Gil<'_>, x: i64, y: i64, op: Op) -> PyResult<Value> {
    let out = binop(BinOp::Arith(op), &BigInt::from(x), &BigInt::from(y));
    deliver(g, out)
}

/// `compare` of natives/num.rs when an operand is a big int.
#[cold]
pub(crate) fn compare(g: &mut Gil<'_>, a: &[Value], m: Compare) -> PyResult<Value> {
    let Compare {
        name,
        float,
        want,
        eq,
    } = m;
    checked(g, a[0])?;
    checked(g, a[1])?;
    let heap = g.heap();
    let ord = if float {
        let Unpacked::Float(x) = a[0].unpack() else {
            return Err(descriptor_error(g, name, "float", a[0]));
        };
        match int_of(heap, a[1]) {
            Some(y) => cmp_int_float(&y, x).map(Ordering::reverse),
            None => return Ok(Value::NOT_IMPLEMENTED),
        }
    } else {
        match (int_of(heap, a[0]), int_of(heap, a[1])) {
            (None, _) => return Err(descriptor_error(g, name, "int", a[0])),
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            (Some(_), None) => return Ok(Value::NOT_IMPLEMENTED),
        }
    };
    Ok(Value::bool(match eq {
        Some(is_eq) => (ord == Some(Ordering::Equal)) == is_eq,
        None => ord.is_some_and(want),
    }))
}

/// Equality of two numbers at least one of which is a big int, for containers
/// (`eq_inner`); `None` when neither is a big int or one is not a number.
pub(crate) fn num_eq(heap: &Heap, a: Value, b: Value) -> Option<bool> {
    if !is_big(a) && !is_big(b) {
        return None;
    }
    let (x, y) = (a.unpack(), b.unpack());
    match (x, y) {
        (Unpacked::Float(f), _) => {
            int_of(heap, b).map(|n| cmp_int_float(&n, f) == Some(Ordering::Equal))
        }
        (_, Unpacked::Float(f)) => {
            int_of(heap, a).map(|n| cmp_int_float(&n, f) == Some(Ordering::Equal))
        }
        _ => match (int_of(heap, a), int_of(heap, b)) {
            (Some(x), Some(y)) => Some(x == y),
            _ => None,
        },
    }
}

/// `hash(n)` of a big int: CPython's, the magnitude modulo `2**61 - 1` with the sign.
pub(crate) fn hash(n: &BigInt) -> i64 {
    const P: u128 = (1 << 61) - 1;
    let mut acc: u128 = 0;
    for d in n.magnitude().iter_u64_digits().rev() {
        acc = ((acc << 64) | u128::from(d)) % P;
    }
    let x = acc as i64;
    let h = if n.is_negative() { -x } else { x };
    if h == -1 { -2 } else { h }
}

/// `repr` of a big int `v` (checked: a live big int).
fn repr(g: &mut Gil<'_>, v: Value) -> PyResult<String> {
    let limit = g.int_max_str_digits();
    let r = match g.heap().get(v) {
        Ok(Object::Int(n)) => decimal(n, limit),
        _ => unreachable!("checked a big int"),
    };
    r.map_err(|msg| g.raise_new(ExcClass::VALUE_ERROR, msg))
}

/// `Gil::as_i64` of a big int.
#[cold]
pub(crate) fn as_i64(g: &mut Gil<'_>, v: Value) -> PyResult<i64> {
    checked(g, v)?;
    let r = match g.heap().get(v) {
        Ok(Object::Int(n)) => n.to_i64(),
        _ => None,
    };
    r.ok_or_else(|| {
        g.raise_new(
            ExcClass::OVERFLOW_ERROR,
            "Python int too large to convert to C long",
        )
    })
}

/// `float(v)` of a big int.
#[cold]
pub(crate) fn as_f64(g: &mut Gil<'_>, v: Value) -> PyResult<f64> {
    checked(g, v)?;
    let r = match g.heap().get(v) {
        Ok(Object::Int(n)) => to_f64(n),
        _ => None,
    };
    r.ok_or_else(|| {
        g.raise_new(
            ExcClass::OVERFLOW_ERROR,
            "int too large to convert to float",
        )
    })
}

/// `int(f)` for a finite float outside the small-int range.
#[cold]
pub(crate) fn from_f64(g: &mut Gil<'_>, f: f64) -> PyResult<Value> {
    let b = BigInt::from_f64(f.trunc()).expect("finite");
    from_big(g, b)
}

impl Gil<'_> {
    /// `int(digits, base)`: `base` 0 or 2..=36, CPython 3.11's syntax (see the module docs)
    /// and its digit limit (`sys.get_int_max_str_digits()`, 4300 by default) for bases that
    /// are not powers of two. `ValueError` for an invalid base or literal.
    pub fn int_from_str(&mut self, digits: &str, base: u32) -> PyResult<Value> {
        if base == 1 || base > 36 {
            return Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                "int() base must be >= 2 and <= 36, or 0",
            ));
        }
        let limit = self.int_max_str_digits();
        match parse(digits, base, limit) {
            Ok(n) => from_big(self, n),
            Err(e) => {
                let msg = parse_error_message(&e, digits, base, limit);
                Err(self.raise_new(ExcClass::VALUE_ERROR, msg))
            }
        }
    }

    /// `str(v)` of an int, bool or big int, as a new str value (`ValueError` beyond the
    /// digit limit, `TypeError` for anything else).
    pub fn int_to_str(&mut self, v: Value) -> PyResult<Value> {
        checked(self, v)?;
        let s = match v.unpack() {
            Unpacked::Int(i) => i.to_string(),
            Unpacked::Bool(b) => (if b { "True" } else { "False" }).to_owned(),
            _ if is_big(v) => repr(self, v)?,
            _ => {
                let t = self.type_name(v)?;
                return Err(self.raise_new(ExcClass::TYPE_ERROR, format!("expected int, got {t}")));
            }
        };
        self.str(&s)
    }

    /// `sys.get_int_max_str_digits()`.
    pub fn int_max_str_digits(&self) -> usize {
        self.locked().int_max_str_digits
    }

    /// `sys.set_int_max_str_digits(n)`: 0 (no limit) or at least 640, else `ValueError`.
    pub fn set_int_max_str_digits(&mut self, n: i64) -> PyResult<()> {
        if n != 0 && n < MIN_MAX_STR_DIGITS as i64 {
            return Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                format!("maxdigits must be 0 or larger than {MIN_MAX_STR_DIGITS}"),
            ));
        }
        self.locked_mut().int_max_str_digits = usize::try_from(n).unwrap_or(usize::MAX);
        Ok(())
    }
}

//! `int` (and `bool`, its subclass): the constructors, the small-int operator methods
//! and arithmetic (big ints: `bigint.rs`).

use super::args::{arity, at_most};
use super::num::{Arith, Compare, Op, arith, compare, numeric_methods, self_num};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::bigint;
use crate::object::num::Num;
use crate::value::{Unpacked, Value};
use std::cmp::Ordering;

numeric_methods!(
    false,
    int_add,
    int_sub,
    int_mul,
    int_truediv,
    int_floordiv,
    int_mod,
    int_radd,
    int_rsub,
    int_rmul,
    int_rtruediv,
    int_rfloordiv,
    int_rmod,
    int_eq,
    int_ne,
    int_lt,
    int_le,
    int_gt,
    int_ge
);

pub(super) fn int_neg(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__neg__", 0, 0)?;
    if bigint::is_big(a[0]) {
        return bigint::neg(g, a);
    }
    match self_num(g, a, "__neg__", false)? {
        Num::Int(i) => g.int(-i),
        Num::Float(_) => unreachable!("self_num checked int"),
    }
}

/// The small-int arithmetic of [`Op`] (a result out of the small-int range: `bigint.rs`).
pub(super) fn int_op(g: &mut Gil<'_>, x: i64, y: i64, op: Op) -> PyResult<Value> {
    let r = match op {
        Op::Add => x.checked_add(y),
        Op::Sub => x.checked_sub(y),
        Op::Mul => x.checked_mul(y),
        Op::TrueDiv => {
            if y == 0 {
                return Err(g.raise_new(ExcClass::ZERO_DIVISION_ERROR, "division by zero"));
            }
            return Ok(Value::float(x as f64 / y as f64));
        }
        Op::FloorDiv | Op::Mod => {
            if y == 0 {
                // CPython 3.11: `%` says "integer modulo by zero", `//` and divmod the other.
                let msg = match op {
                    Op::Mod => "integer modulo by zero",
                    _ => "integer division or modulo by zero",
                };
                return Err(g.raise_new(ExcClass::ZERO_DIVISION_ERROR, msg));
            }
            let (mut q, mut m) = (x / y, x % y);
            if m != 0 && ((m < 0) != (y < 0)) {
                q -= 1;
                m += y;
            }
            Some(if matches!(op, Op::FloorDiv) { q } else { m })
        }
    };
    match r {
        Some(i) => g.int(i),
        None => bigint::int_op_overflow(g, x, y, op),
    }
}

/// `int()`, `int(x)` (an int, bool, float or str) and `int(x, base)`.
pub(super) fn int_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    at_most(g, a, "int", 2)?;
    let Some(&x) = a.first() else {
        return Ok(Value::int(0).expect("small"));
    };
    if let Some(&b) = a.get(1) {
        return int_with_base(g, x, b);
    }
    match x.unpack() {
        Unpacked::Int(_) => Ok(x),
        Unpacked::Bool(b) => g.int(b as i64),
        Unpacked::Float(f) if f.is_nan() => {
            Err(g.raise_new(ExcClass::VALUE_ERROR, "cannot convert float NaN to integer"))
        }
        Unpacked::Float(f) if f.is_infinite() => Err(g.raise_new(
            ExcClass::OVERFLOW_ERROR,
            "cannot convert float infinity to integer",
        )),
        Unpacked::Float(f) => {
            let t = f.trunc();
            if t.abs() > crate::value::SMALL_INT_MAX as f64 {
                bigint::from_f64(g, t)
            } else {
                g.int(t as i64)
            }
        }
        _ if bigint::is_big(x) => {
            g.incref(x)?;
            Ok(x)
        }
        _ => {
            let text = match g.str_text(x) {
                Ok(t) => t.to_owned(),
                Err(e) => {
                    if let Some(x) = g.err_fetch() {
                        g.release(x);
                    }
                    let t = g.type_name(x)?;
                    let _ = e;
                    return Err(g.raise_new(
                        ExcClass::TYPE_ERROR,
                        format!("int() argument must be a string or a real number, not '{t}'"),
                    ));
                }
            };
            g.int_from_str(&text, 10)
        }
    }
}

/// `int(x, base)`: `x` must be a str; `base` an int (0 or 2..=36, else `ValueError`), checked
/// in CPython's order (the base's type, then `x`'s, then the base's range).
fn int_with_base(g: &mut Gil<'_>, x: Value, base: Value) -> PyResult<Value> {
    let base = match base.unpack() {
        Unpacked::Int(i) => i,
        Unpacked::Bool(b) => i64::from(b),
        _ if bigint::is_big(base) => i64::MAX, // out of range, as any huge base
        _ => {
            let t = g.type_name(base)?;
            return Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("'{t}' object cannot be interpreted as an integer"),
            ));
        }
    };
    let text = match g.str_text(x) {
        Ok(t) => t.to_owned(),
        Err(_) => {
            if let Some(e) = g.err_fetch() {
                g.release(e);
            }
            return Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                "int() can't convert non-string with explicit base",
            ));
        }
    };
    // Negative or huge: out of range (the parser's ValueError).
    g.int_from_str(&text, u32::try_from(base).unwrap_or(1))
}

/// `bool()` and `bool(x)`.
pub(super) fn bool_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    at_most(g, a, "bool", 1)?;
    match a.first() {
        None => Ok(Value::FALSE),
        Some(&x) => Ok(Value::bool(g.truthy(x)?)),
    }
}

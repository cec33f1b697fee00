//! `float`: the constructor, the operator methods and the arithmetic.

use super::args::{arity, at_most};
use super::num::{Arith, Compare, Op, arith, compare, numeric_methods, self_num};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::bigint;
use crate::object::num::Num;
use crate::value::Value;
use std::cmp::Ordering;

numeric_methods!(
    true,
    float_add,
    float_sub,
    float_mul,
    float_truediv,
    float_floordiv,
    float_mod,
    float_radd,
    float_rsub,
    float_rmul,
    float_rtruediv,
    float_rfloordiv,
    float_rmod,
    float_eq,
    float_ne,
    float_lt,
    float_le,
    float_gt,
    float_ge
);

pub(super) fn float_neg(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__neg__", 0, 0)?;
    match self_num(g, a, "__neg__", true)? {
        Num::Float(f) => Ok(Value::float(-f)),
        Num::Int(_) => unreachable!("self_num checked float"),
    }
}

/// The float arithmetic of [`Op`] (also big ints' with a float: `bigint.rs`).
pub(crate) fn float_op(g: &mut Gil<'_>, x: f64, y: f64, op: Op) -> PyResult<Value> {
    Ok(Value::float(match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::TrueDiv => {
            if y == 0.0 {
                return Err(g.raise_new(ExcClass::ZERO_DIVISION_ERROR, "float division by zero"));
            }
            x / y
        }
        Op::FloorDiv | Op::Mod => {
            if y == 0.0 {
                let msg = if matches!(op, Op::Mod) {
                    "float modulo"
                } else {
                    "float floor division by zero"
                };
                return Err(g.raise_new(ExcClass::ZERO_DIVISION_ERROR, msg));
            }
            // CPython's float_divmod.
            let mut m = x % y;
            let mut div = (x - m) / y;
            if m != 0.0 {
                if (y < 0.0) != (m < 0.0) {
                    m += y;
                    div -= 1.0;
                }
            } else {
                m = 0.0f64.copysign(y);
            }
            let floordiv = if div != 0.0 {
                let mut f = div.floor();
                if div - f > 0.5 {
                    f += 1.0;
                }
                f
            } else {
                0.0f64.copysign(x / y)
            };
            if matches!(op, Op::Mod) { m } else { floordiv }
        }
    }))
}

/// `float()` and `float(x)` (an int, bool, float, big int or str).
pub(super) fn float_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    at_most(g, a, "float", 1)?;
    let Some(&x) = a.first() else {
        return Ok(Value::float(0.0));
    };
    if let Some(n) = g.num(x) {
        return Ok(Value::float(match n {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }));
    }
    if bigint::is_big(x) {
        return g.as_f64(x).map(Value::float);
    }
    let text = match g.str_text(x) {
        Ok(t) => t.to_owned(),
        Err(e) => {
            if let Some(x) = g.err_fetch() {
                g.release(x);
            }
            let _ = e;
            let t = g.type_name(x)?;
            return Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("float() argument must be a string or a real number, not '{t}'"),
            ));
        }
    };
    match text.trim().parse::<f64>() {
        Ok(f) => Ok(Value::float(f)),
        Err(_) => Err(g.raise_new(
            ExcClass::VALUE_ERROR,
            format!(
                "could not convert string to float: {}",
                crate::object::repr::str_repr(&text)
            ),
        )),
    }
}

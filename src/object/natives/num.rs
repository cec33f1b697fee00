//! What int and float share: the operators ([`Op`]), the binary methods
//! (`arith`, `compare`) and the macro that makes each class's set of them, and
//! `__bool__`. The small-int and float arithmetic itself is in `int.rs` and `float.rs`; big
//! ints are in `bigint.rs`.

use super::args::{arity, descriptor_error};
use super::float::float_op;
use super::int::int_op;
use crate::gil::{Gil, PyResult};
use crate::object::bigint;
use crate::object::num::{Num, num_eq};
use crate::value::Value;
use std::cmp::Ordering;

#[derive(Clone, Copy)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    TrueDiv,
    FloorDiv,
    Mod,
}

pub(super) fn self_num(g: &mut Gil<'_>, a: &[Value], name: &str, float: bool) -> PyResult<Num> {
    let class = if float { "float" } else { "int" };
    match a.first().and_then(|&v| g.num(v)) {
        Some(Num::Float(f)) if float => Ok(Num::Float(f)),
        Some(Num::Int(i)) if !float => Ok(Num::Int(i)),
        _ => {
            let got = a.first().copied().unwrap_or(Value::NONE);
            Err(descriptor_error(g, name, class, got))
        }
    }
}

/// The other operand of a binary method of int (`float == false`: int or bool only, as
/// `int.__add__(1, 1.5)` is `NotImplemented` in CPython, which leaves the work to
/// `float.__radd__`) or float (float, int or bool).
fn other_num(g: &Gil<'_>, v: Value, float: bool) -> Option<Num> {
    match g.num(v)? {
        Num::Float(_) if !float => None,
        n => Some(n),
    }
}

/// A binary operator method: `self <op> other`, or `other <op> self` if `reflected`
/// (`__radd__`...).
pub(super) fn arith(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    float: bool,
    op: Op,
    reflected: bool,
) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    if bigint::is_big(a[0]) || bigint::is_big(a[1]) {
        return bigint::arith(g, a, name, float, op, reflected);
    }
    let x = self_num(g, a, name, float)?;
    let Some(y) = other_num(g, a[1], float) else {
        return Ok(Value::NOT_IMPLEMENTED);
    };
    let (x, y) = if reflected { (y, x) } else { (x, y) };
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => int_op(g, x, y, op),
        (x, y) => {
            let f = |n: Num| match n {
                Num::Int(i) => i as f64,
                Num::Float(f) => f,
            };
            float_op(g, f(x), f(y), op)
        }
    }
}
pub(super) fn compare(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    float: bool,
    want: fn(Ordering) -> bool,
    eq: Option<bool>,
) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    if bigint::is_big(a[0]) || bigint::is_big(a[1]) {
        return bigint::compare(g, a, name, float, want, eq);
    }
    let x = self_num(g, a, name, float)?;
    let Some(y) = other_num(g, a[1], float) else {
        return Ok(Value::NOT_IMPLEMENTED);
    };
    if let Some(is_eq) = eq {
        return Ok(Value::bool(num_eq(x, y) == is_eq));
    }
    let ord = match (x, y) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (x, y) => {
            let f = |n: Num| match n {
                Num::Int(i) => i as f64,
                Num::Float(f) => f,
            };
            f(x).partial_cmp(&f(y))
        }
    };
    Ok(Value::bool(ord.is_some_and(want)))
}

/// The operator methods of int (`false`) or float (`true`): one `arith` or `compare` each.
/// Expanded in `int.rs` and `float.rs`, which have `arith`, `compare`, [`Op`], `Ordering`,
/// `Gil`, `PyResult` and `Value` in scope.
macro_rules! numeric_methods {
    ($float:expr, $add:ident, $sub:ident, $mul:ident, $truediv:ident, $floordiv:ident, $mod_:ident,
     $radd:ident, $rsub:ident, $rmul:ident, $rtruediv:ident, $rfloordiv:ident, $rmod_:ident,
     $eq:ident, $ne:ident, $lt:ident, $le:ident, $gt:ident, $ge:ident) => {
        pub(super) fn $radd(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__radd__", $float, Op::Add, true)
        }
        pub(super) fn $rsub(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__rsub__", $float, Op::Sub, true)
        }
        pub(super) fn $rmul(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__rmul__", $float, Op::Mul, true)
        }
        pub(super) fn $rtruediv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__rtruediv__", $float, Op::TrueDiv, true)
        }
        pub(super) fn $rfloordiv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__rfloordiv__", $float, Op::FloorDiv, true)
        }
        pub(super) fn $rmod_(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__rmod__", $float, Op::Mod, true)
        }
        pub(super) fn $add(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__add__", $float, Op::Add, false)
        }
        pub(super) fn $sub(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__sub__", $float, Op::Sub, false)
        }
        pub(super) fn $mul(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__mul__", $float, Op::Mul, false)
        }
        pub(super) fn $truediv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__truediv__", $float, Op::TrueDiv, false)
        }
        pub(super) fn $floordiv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__floordiv__", $float, Op::FloorDiv, false)
        }
        pub(super) fn $mod_(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__mod__", $float, Op::Mod, false)
        }
        pub(super) fn $eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__eq__", $float, |_| true, Some(true))
        }
        pub(super) fn $ne(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__ne__", $float, |_| true, Some(false))
        }
        pub(super) fn $lt(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__lt__", $float, Ordering::is_lt, None)
        }
        pub(super) fn $le(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__le__", $float, Ordering::is_le, None)
        }
        pub(super) fn $gt(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__gt__", $float, Ordering::is_gt, None)
        }
        pub(super) fn $ge(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__ge__", $float, Ordering::is_ge, None)
        }
    };
}
pub(super) use numeric_methods;

pub(super) fn num_bool(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__bool__", 0, 0)?;
    Ok(Value::bool(g.truthy(a[0])?))
}

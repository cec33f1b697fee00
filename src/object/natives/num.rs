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

/// The arithmetic operators int and float share (big ints add theirs in `bigint::BinOp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    TrueDiv,
    FloorDiv,
    Mod,
}

/// An arithmetic method of int or float: `self <op> other`, or `other <op> self` if
/// `reflected` (`__radd__`...).
#[derive(Clone, Copy)]
pub(crate) struct Arith {
    /// The method's name, for error messages.
    pub(crate) name: &'static str,
    /// Float's method (`true`) or int's.
    pub(crate) float: bool,
    pub(crate) op: Op,
    pub(crate) reflected: bool,
}

/// A comparison method of int or float: `want(self.cmp(other))`, or for `__eq__` and
/// `__ne__` (`eq`: `Some(true)`, `Some(false)`) numeric equality, which holds for NaN too.
#[derive(Clone, Copy)]
pub(crate) struct Compare {
    /// The method's name, for error messages.
    pub(crate) name: &'static str,
    /// Float's method (`true`) or int's.
    pub(crate) float: bool,
    pub(crate) want: fn(Ordering) -> bool,
    pub(crate) eq: Option<bool>,
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

/// The operands of a binary method, as `arith` and `compare` take them.
enum Operands {
    /// One of them is a big int: the method is `bigint`'s.
    Big,
    /// The other operand is not a number the method takes.
    NotImplemented,
    /// `self` and the other operand.
    Small(Num, Num),
}

fn operands(g: &mut Gil<'_>, a: &[Value], name: &str, float: bool) -> PyResult<Operands> {
    arity(g, a, name, 1, 1)?;
    if bigint::is_big(a[0]) || bigint::is_big(a[1]) {
        return Ok(Operands::Big);
    }
    let x = self_num(g, a, name, float)?;
    Ok(match other_num(g, a[1], float) {
        Some(y) => Operands::Small(x, y),
        None => Operands::NotImplemented,
    })
}

/// A binary operator method (`m` says which).
pub(super) fn arith(g: &mut Gil<'_>, a: &[Value], m: Arith) -> PyResult<Value> {
    let (x, y) = match operands(g, a, m.name, m.float)? {
        Operands::Big => return bigint::arith(g, a, m),
        Operands::NotImplemented => return Ok(Value::NOT_IMPLEMENTED),
        Operands::Small(x, y) if m.reflected => (y, x),
        Operands::Small(x, y) => (x, y),
    };
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => int_op(g, x, y, m.op),
        (x, y) => float_op(g, x.as_f64(), y.as_f64(), m.op),
    }
}

/// A comparison method (`m` says which).
pub(super) fn compare(g: &mut Gil<'_>, a: &[Value], m: Compare) -> PyResult<Value> {
    let (x, y) = match operands(g, a, m.name, m.float)? {
        Operands::Big => return bigint::compare(g, a, m),
        Operands::NotImplemented => return Ok(Value::NOT_IMPLEMENTED),
        Operands::Small(x, y) => (x, y),
    };
    if let Some(is_eq) = m.eq {
        return Ok(Value::bool(num_eq(x, y) == is_eq));
    }
    let ord = match (x, y) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (x, y) => x.as_f64().partial_cmp(&y.as_f64()),
    };
    Ok(Value::bool(ord.is_some_and(m.want)))
}

/// The operator methods of int (`false`) or float (`true`): one `arith` or `compare` each.
/// Expanded in `int.rs` and `float.rs`, which have `arith`, `compare`, [`Op`], [`Arith`], [`Compare`], `Ordering`,
/// `Gil`, `PyResult` and `Value` in scope.
macro_rules! numeric_methods {
    ($float:expr, $add:ident, $sub:ident, $mul:ident, $truediv:ident, $floordiv:ident, $mod_:ident,
     $radd:ident, $rsub:ident, $rmul:ident, $rtruediv:ident, $rfloordiv:ident, $rmod_:ident,
     $eq:ident, $ne:ident, $lt:ident, $le:ident, $gt:ident, $ge:ident) => {
        pub(super) fn $radd(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__radd__",
                    float: $float,
                    op: Op::Add,
                    reflected: true,
                },
            )
        }
        pub(super) fn $rsub(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__rsub__",
                    float: $float,
                    op: Op::Sub,
                    reflected: true,
                },
            )
        }
        pub(super) fn $rmul(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__rmul__",
                    float: $float,
                    op: Op::Mul,
                    reflected: true,
                },
            )
        }
        pub(super) fn $rtruediv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__rtruediv__",
                    float: $float,
                    op: Op::TrueDiv,
                    reflected: true,
                },
            )
        }
        pub(super) fn $rfloordiv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__rfloordiv__",
                    float: $float,
                    op: Op::FloorDiv,
                    reflected: true,
                },
            )
        }
        pub(super) fn $rmod_(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__rmod__",
                    float: $float,
                    op: Op::Mod,
                    reflected: true,
                },
            )
        }
        pub(super) fn $add(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__add__",
                    float: $float,
                    op: Op::Add,
                    reflected: false,
                },
            )
        }
        pub(super) fn $sub(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__sub__",
                    float: $float,
                    op: Op::Sub,
                    reflected: false,
                },
            )
        }
        pub(super) fn $mul(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__mul__",
                    float: $float,
                    op: Op::Mul,
                    reflected: false,
                },
            )
        }
        pub(super) fn $truediv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__truediv__",
                    float: $float,
                    op: Op::TrueDiv,
                    reflected: false,
                },
            )
        }
        pub(super) fn $floordiv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__floordiv__",
                    float: $float,
                    op: Op::FloorDiv,
                    reflected: false,
                },
            )
        }
        pub(super) fn $mod_(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(
                g,
                a,
                Arith {
                    name: "__mod__",
                    float: $float,
                    op: Op::Mod,
                    reflected: false,
                },
            )
        }
        pub(super) fn $eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(
                g,
                a,
                Compare {
                    name: "__eq__",
                    float: $float,
                    want: |_| true,
                    eq: Some(true),
                },
            )
        }
        pub(super) fn $ne(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(
                g,
                a,
                Compare {
                    name: "__ne__",
                    float: $float,
                    want: |_| true,
                    eq: Some(false),
                },
            )
        }
        pub(super) fn $lt(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(
                g,
                a,
                Compare {
                    name: "__lt__",
                    float: $float,
                    want: Ordering::is_lt,
                    eq: None,
                },
            )
        }
        pub(super) fn $le(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(
                g,
                a,
                Compare {
                    name: "__le__",
                    float: $float,
                    want: Ordering::is_le,
                    eq: None,
                },
            )
        }
        pub(super) fn $gt(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(
                g,
                a,
                Compare {
                    name: "__gt__",
                    float: $float,
                    want: Ordering::is_gt,
                    eq: None,
                },
            )
        }
        pub(super) fn $ge(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(
                g,
                a,
                Compare {
                    name: "__ge__",
                    float: $float,
                    want: Ordering::is_ge,
                    eq: None,
                },
            )
        }
    };
}
pub(super) use numeric_methods;

pub(super) fn num_bool(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__bool__", 0, 0)?;
    Ok(Value::bool(g.truthy(a[0])?))
}

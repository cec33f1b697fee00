//! The int methods that live in the method tables (`__pow__`, shifts, bitwise operators,
//! `divmod`, `abs`, `~`, `bit_length`, `to_bytes`/`from_bytes`...) and the `sys` functions
//! of the digit limit. They handle small and big ints alike.

use super::{BinOp, Out, binary, checked, deliver_method, err, from_big, int_of, pow_mod};
use super::{is_big, to_f64};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::Object;
use crate::object::natives::{arity, descriptor_error};
use crate::value::{Unpacked, Value};
use num_bigint::{BigInt, Sign};
use num_traits::{One, Signed, ToPrimitive, Zero};

// ------------------------------------------------------------------------------ methods

/// A unary int method: `f` of the int value of `self`.
fn unary(g: &mut Gil<'_>, a: &[Value], name: &str, f: fn(&BigInt) -> Out) -> PyResult<Value> {
    arity(g, a, name, 0, 0)?;
    checked(g, a[0])?;
    let out = int_of(g.heap(), a[0]).map(|x| f(&x));
    deliver_method(g, out, name, a[0])
}

/// `int.__neg__` of a big int (the hook of `int_neg` in natives/int.rs).
#[cold]
pub(crate) fn neg(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__neg__", |x| Out::Int(-x))
}

macro_rules! binary_methods {
    ($($f:ident, $rf:ident, $name:literal, $rname:literal, $op:expr;)*) => {$(
        pub(crate) fn $f(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            binary(g, a, $name, $op, false)
        }
        pub(crate) fn $rf(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            binary(g, a, $rname, $op, true)
        }
    )*};
}

binary_methods! {
    int_divmod, int_rdivmod, "__divmod__", "__rdivmod__", BinOp::DivMod;
    int_lshift, int_rlshift, "__lshift__", "__rlshift__", BinOp::LShift;
    int_rshift, int_rrshift, "__rshift__", "__rrshift__", BinOp::RShift;
    int_and, int_rand, "__and__", "__rand__", BinOp::And;
    int_or, int_ror, "__or__", "__ror__", BinOp::Or;
    int_xor, int_rxor, "__xor__", "__rxor__", BinOp::Xor;
}

/// `int.__pow__(self, other, mod=None)` and `__rpow__` (`reflected`: `other ** self`).
fn pow_method(g: &mut Gil<'_>, a: &[Value], name: &str, reflected: bool) -> PyResult<Value> {
    arity(g, a, name, 1, 2)?;
    let m = a.get(2).copied().filter(|m| !m.is_none());
    let Some(m) = m else {
        return binary(g, &a[..2], name, BinOp::Pow, reflected);
    };
    for &v in a {
        checked(g, v)?;
    }
    let out = {
        let heap = g.heap();
        match (int_of(heap, a[0]), int_of(heap, a[1]), int_of(heap, m)) {
            (None, ..) => None,
            (Some(x), Some(y), Some(m)) => Some(if reflected {
                pow_mod(&y, &x, &m)
            } else {
                pow_mod(&x, &y, &m)
            }),
            _ => Some(Out::NotImplemented),
        }
    };
    deliver_method(g, out, name, a[0])
}

pub(crate) fn int_pow(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    pow_method(g, a, "__pow__", false)
}

pub(crate) fn int_rpow(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    pow_method(g, a, "__rpow__", true)
}

pub(crate) fn int_invert(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__invert__", |x| Out::Int(!x))
}

pub(crate) fn int_pos(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__pos__", |x| Out::Int(x.clone()))
}

pub(crate) fn int_abs(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__abs__", |x| Out::Int(x.abs()))
}

pub(crate) fn int_int(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__int__", |x| Out::Int(x.clone()))
}

pub(crate) fn int_index(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__index__", |x| Out::Int(x.clone()))
}

pub(crate) fn int_float(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "__float__", |x| match to_f64(x) {
        Some(f) => Out::Float(f),
        None => err(
            ExcClass::OVERFLOW_ERROR,
            "int too large to convert to float",
        ),
    })
}

pub(crate) fn int_bit_length(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "bit_length", |x| Out::Int(BigInt::from(x.bits())))
}

/// The `TypeError` of an argument that must be an int (CPython's `__index__` failure).
fn not_an_integer(g: &mut Gil<'_>, v: Value) -> crate::gil::Raised {
    match g.type_name(v) {
        Ok(t) => g.raise_new(
            ExcClass::TYPE_ERROR,
            format!("'{t}' object cannot be interpreted as an integer"),
        ),
        Err(e) => e,
    }
}

/// `sys.get_int_max_str_digits()`.
pub(crate) fn sys_get_int_max_str_digits(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    if !a.is_empty() {
        return Err(g.raise_new(
            ExcClass::TYPE_ERROR,
            format!(
                "get_int_max_str_digits() takes no arguments ({} given)",
                a.len()
            ),
        ));
    }
    let n = g.int_max_str_digits();
    g.int(n as i64)
}

/// `sys.set_int_max_str_digits(maxdigits)`.
pub(crate) fn sys_set_int_max_str_digits(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    if a.len() != 1 {
        return Err(g.raise_new(
            ExcClass::TYPE_ERROR,
            format!(
                "set_int_max_str_digits() takes exactly one argument ({} given)",
                a.len()
            ),
        ));
    }
    let n = match a[0].unpack() {
        Unpacked::Int(i) => i,
        Unpacked::Bool(b) => b as i64,
        _ if is_big(a[0]) => i64::MAX,
        _ => return Err(not_an_integer(g, a[0])),
    };
    g.set_int_max_str_digits(n)?;
    Ok(Value::NONE)
}

/// The `byteorder` argument of `to_bytes`/`from_bytes`: whether it is `'little'`.
fn byteorder(g: &mut Gil<'_>, v: Option<Value>, func: &str) -> PyResult<bool> {
    let Some(v) = v else {
        return Ok(false);
    };
    checked(g, v)?;
    let text = match g.heap().get(v) {
        Ok(Object::Str(s)) => Some(s.text.to_string()),
        _ => None,
    };
    match text.as_deref() {
        Some("little") => Ok(true),
        Some("big") => Ok(false),
        Some(_) => Err(g.raise_new(
            ExcClass::VALUE_ERROR,
            "byteorder must be either 'little' or 'big'",
        )),
        None => {
            let t = g.type_name(v)?;
            Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("{func}() argument 'byteorder' must be str, not {t}"),
            ))
        }
    }
}

/// `int.to_bytes(length=1, byteorder='big')` (positional arguments; `signed` is always
/// false, as keyword arguments do not reach native functions).
pub(crate) fn int_to_bytes(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    if a.len() > 3 {
        return Err(g.raise_new(
            ExcClass::TYPE_ERROR,
            format!(
                "to_bytes() takes at most 2 positional arguments ({} given)",
                a.len() - 1
            ),
        ));
    }
    arity(g, a, "to_bytes", 0, 2)?;
    checked(g, a[0])?;
    let length = match a.get(1).copied() {
        None => BigInt::one(),
        Some(l) => {
            checked(g, l)?;
            match int_of(g.heap(), l) {
                Some(n) => n.into_owned(),
                None => return Err(not_an_integer(g, l)),
            }
        }
    };
    let little = byteorder(g, a.get(2).copied(), "to_bytes")?;
    let out = int_of(g.heap(), a[0]).map(|n| {
        if length.is_negative() {
            Err((
                ExcClass::VALUE_ERROR,
                "length argument must be non-negative",
            ))
        } else if n.is_negative() {
            Err((
                ExcClass::OVERFLOW_ERROR,
                "can't convert negative int to unsigned",
            ))
        } else {
            let mut bytes = n.magnitude().to_bytes_be();
            if n.is_zero() {
                bytes.clear();
            }
            match length.to_usize() {
                Some(len) if bytes.len() <= len => {
                    let mut out = vec![0u8; len - bytes.len()];
                    out.extend_from_slice(&bytes);
                    if little {
                        out.reverse();
                    }
                    Ok(out)
                }
                _ => Err((ExcClass::OVERFLOW_ERROR, "int too big to convert")),
            }
        }
    });
    match out {
        None => Err(descriptor_error(g, "to_bytes", "int", a[0])),
        Some(Ok(bytes)) => g.bytes(&bytes),
        Some(Err((class, msg))) => Err(g.raise_new(class, msg)),
    }
}

/// `int.from_bytes(bytes, byteorder='big')` (positional arguments; `signed` is always
/// false). Called on the class (`int.from_bytes(b, 'big')`, no `self`) or on an int (its
/// value is ignored, as CPython's classmethod ignores the instance).
pub(crate) fn int_from_bytes(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    let skip = usize::from(a.len() == 3 || (a.len() == 2 && int_of(g.heap(), a[0]).is_some()));
    let a = &a[skip..];
    if a.is_empty() || a.len() > 2 {
        return Err(g.raise_new(
            ExcClass::TYPE_ERROR,
            format!(
                "from_bytes() takes from 1 to 2 positional arguments ({} given)",
                a.len()
            ),
        ));
    }
    checked(g, a[0])?;
    let little = byteorder(g, a.get(1).copied(), "from_bytes")?;
    let n = match g.heap().get(a[0]) {
        Ok(Object::Bytes { data: b, .. }) => {
            if little {
                BigInt::from_bytes_le(Sign::Plus, b)
            } else {
                BigInt::from_bytes_be(Sign::Plus, b)
            }
        }
        _ => {
            let t = g.type_name(a[0])?;
            return Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("cannot convert '{t}' object to bytes"),
            ));
        }
    };
    from_big(g, n)
}

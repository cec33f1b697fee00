//! Big ints: ints beyond the small-int range (`-2^47 ..= 2^47 - 1`), as heap objects.
//!
//! A big int is an [`Object::Int`] (a `num_bigint::BigInt`) in the heap, reference counted
//! like every heap object and counted by the registry as `object.int`. Every result is
//! normalized: a value that fits the small-int range is always a small int, and a big int
//! never holds such a value, so a small int and a big int are never equal.
//!
//! The small-int fast paths of `natives.rs` stay where they are; they call into this module
//! only when a result overflows the small-int range or an operand is a big int. The int
//! methods that had no small-int implementation before (`**`, shifts, bitwise operators,
//! `divmod`, `abs`, `~`, `bit_length`...) live here and handle small and big ints alike.
//! Semantics and error messages are CPython 3.11's (checked against vectors CPython
//! generated: `tests/data/int_vectors.txt`, `scripts/gen_int_vectors.py`).

use super::natives::{Op, arity, descriptor_error, float_op};
use super::{Heap, Object};
use crate::gil::{Gil, PyResult};
use crate::value::{Kind, Unpacked, Value};
use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{FromPrimitive, One, Signed, ToPrimitive, Zero};
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
    Err(&'static str, String),
}

fn err(class: &'static str, msg: impl Into<String>) -> Out {
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

// ------------------------------------------------------------------------------ operations

/// A binary int operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    TrueDiv,
    FloorDiv,
    Mod,
    DivMod,
    Pow,
    LShift,
    RShift,
    And,
    Or,
    Xor,
}

impl BinOp {
    fn of(op: Op) -> BinOp {
        match op {
            Op::Add => BinOp::Add,
            Op::Sub => BinOp::Sub,
            Op::Mul => BinOp::Mul,
            Op::TrueDiv => BinOp::TrueDiv,
            Op::FloorDiv => BinOp::FloorDiv,
            Op::Mod => BinOp::Mod,
        }
    }
}

/// Results beyond this many bits raise `MemoryError` instead of being attempted.
const MAX_BITS: u64 = 1 << 36;

fn binop(op: BinOp, x: &BigInt, y: &BigInt) -> Out {
    match op {
        BinOp::Add => Out::Int(x + y),
        BinOp::Sub => Out::Int(x - y),
        BinOp::Mul => Out::Int(x * y),
        BinOp::TrueDiv => true_div(x, y),
        BinOp::FloorDiv | BinOp::Mod | BinOp::DivMod => {
            if y.is_zero() {
                let msg = match op {
                    BinOp::Mod => "integer modulo by zero",
                    _ => "integer division or modulo by zero",
                };
                return err("ZeroDivisionError", msg);
            }
            let (q, r) = x.div_mod_floor(y);
            match op {
                BinOp::FloorDiv => Out::Int(q),
                BinOp::Mod => Out::Int(r),
                _ => Out::Pair(q, r),
            }
        }
        BinOp::Pow => pow(x, y),
        BinOp::LShift | BinOp::RShift => {
            if y.is_negative() {
                return err("ValueError", "negative shift count");
            }
            if x.is_zero() {
                return Out::Int(BigInt::zero());
            }
            if op == BinOp::RShift {
                return match y.to_u64() {
                    Some(n) if n < x.bits() => Out::Int(x >> n),
                    // Every bit shifted out: floor gives 0 or -1.
                    _ => Out::Int(if x.is_negative() {
                        -BigInt::one()
                    } else {
                        BigInt::zero()
                    }),
                };
            }
            // CPython splits the count into 30-bit digits first: a count whose digit count
            // does not fit a Py_ssize_t is "too many digits"; a smaller one that cannot be
            // allocated is a MemoryError.
            match y.to_u64() {
                Some(n) if n.saturating_add(x.bits()) <= MAX_BITS => Out::Int(x << n),
                _ if y / 30u32 > BigInt::from(i64::MAX) => {
                    err("OverflowError", "too many digits in integer")
                }
                _ => err("MemoryError", ""),
            }
        }
        BinOp::And => Out::Int(x & y),
        BinOp::Or => Out::Int(x | y),
        BinOp::Xor => Out::Int(x ^ y),
    }
}

/// `x ** y` (two arguments): a float for a negative exponent, as CPython's `long_pow`.
fn pow(x: &BigInt, y: &BigInt) -> Out {
    if y.is_negative() {
        let (fx, fy) = match (to_f64(x), to_f64(y)) {
            (Some(a), Some(b)) => (a, b),
            _ => return err("OverflowError", "int too large to convert to float"),
        };
        return float_pow_int(fx, fy);
    }
    if x.is_zero() {
        return Out::Int(if y.is_zero() {
            BigInt::one()
        } else {
            BigInt::zero()
        });
    }
    if x.is_one() {
        return Out::Int(BigInt::one());
    }
    if *x == -BigInt::one() {
        return Out::Int(if y.is_even() {
            BigInt::one()
        } else {
            -BigInt::one()
        });
    }
    match y.to_u32() {
        Some(n) if u64::from(n).saturating_mul(x.bits()) <= MAX_BITS => Out::Int(x.pow(n)),
        _ => err("MemoryError", ""),
    }
}

/// CPython's `float_pow` for an integral (negative) exponent `y` and a finite `x`.
fn float_pow_int(x: f64, y: f64) -> Out {
    if x == 0.0 {
        return err(
            "ZeroDivisionError",
            "0.0 cannot be raised to a negative power",
        );
    }
    let r = x.powf(y);
    if r.is_infinite() {
        return err("OverflowError", "(34, 'Numerical result out of range')");
    }
    Out::Float(r)
}

/// `pow(x, y, m)` with int arguments (CPython 3.11's `long_pow` with a modulus).
fn pow_mod(x: &BigInt, y: &BigInt, m: &BigInt) -> Out {
    if m.is_zero() {
        return err("ValueError", "pow() 3rd argument cannot be 0");
    }
    let negative_output = m.is_negative();
    let c = m.abs();
    if c.is_one() {
        return Out::Int(BigInt::zero());
    }
    let mut base = x.mod_floor(&c);
    let mut exp = Cow::Borrowed(y);
    if y.is_negative() {
        match mod_inverse(&base, &c) {
            Some(inv) => base = inv,
            None => return err("ValueError", "base is not invertible for the given modulus"),
        }
        exp = Cow::Owned(-y);
    }
    let mut r = base.modpow(&exp, &c);
    if negative_output && !r.is_zero() {
        r -= &c;
    }
    Out::Int(r)
}

/// The inverse of `a` modulo `m > 1` (`0 <= a < m`), if `gcd(a, m) == 1`.
fn mod_inverse(a: &BigInt, m: &BigInt) -> Option<BigInt> {
    let e = a.extended_gcd(m);
    if !e.gcd.is_one() {
        return None;
    }
    Some(e.x.mod_floor(m))
}

/// `2.0 ** e` for any `e`, exactly when the result is representable.
fn ldexp(x: f64, e: i64) -> f64 {
    let pow2 = |e: i64| f64::from_bits(((e + 1023) as u64) << 52);
    let mut x = x;
    let mut e = e;
    while e > 1023 {
        x *= pow2(1023);
        e -= 1023;
    }
    while e < -1022 {
        x *= pow2(-1022);
        e += 1022;
    }
    x * pow2(e)
}

/// `float(n)`, correctly rounded (ties to even); `None` when it overflows.
pub(crate) fn to_f64(n: &BigInt) -> Option<f64> {
    let bits = n.bits();
    let negative = n.is_negative();
    let m = n.magnitude();
    let f = if bits <= 64 {
        m.to_u64().expect("at most 64 bits") as f64
    } else {
        // The top 64 bits, with the lowest one as a sticky bit for what was cut off: 64 bits
        // are more than 53 + 2, so converting them rounds exactly as the whole would.
        let shift = bits - 64;
        let mut top = (m >> shift).to_u64().expect("64 bits");
        if m.trailing_zeros().is_some_and(|t| t < shift) {
            top |= 1;
        }
        if bits > 1024 {
            return None;
        }
        ldexp(top as f64, shift as i64)
    };
    if f.is_infinite() {
        return None;
    }
    Some(if negative { -f } else { f })
}

/// `x / y` for ints, correctly rounded as CPython's `long_true_divide`.
fn true_div(a: &BigInt, b: &BigInt) -> Out {
    const DBL_MANT_DIG: i64 = 53;
    const DBL_MIN_EXP: i64 = -1021;
    const DBL_MAX_EXP: i64 = 1024;
    if b.is_zero() {
        return err("ZeroDivisionError", "division by zero");
    }
    let negate = a.is_negative() != b.is_negative();
    let sign = |r: f64| Out::Float(if negate { -r } else { r });
    if a.is_zero() {
        return sign(0.0);
    }
    let (n, d) = (a.magnitude(), b.magnitude());
    let small = |x: &num_bigint::BigUint| x.bits() <= 53;
    if small(n) && small(d) {
        let (x, y) = (n.to_u64().unwrap() as f64, d.to_u64().unwrap() as f64);
        return sign(x / y);
    }
    let diff = n.bits() as i64 - d.bits() as i64;
    if diff > DBL_MAX_EXP {
        return err(
            "OverflowError",
            "integer division result too large for a float",
        );
    }
    if diff < DBL_MIN_EXP - DBL_MANT_DIG - 1 {
        return sign(0.0);
    }
    let shift = diff.max(DBL_MIN_EXP) - DBL_MANT_DIG - 2;
    let mut inexact = false;
    let x = if shift <= 0 {
        n << ((-shift) as u64)
    } else {
        let s = shift as u64;
        if n.trailing_zeros().is_some_and(|t| t < s) {
            inexact = true;
        }
        n >> s
    };
    let (mut x, r) = x.div_rem(d);
    if !r.is_zero() {
        inexact = true;
    }
    let x_bits = x.bits() as i64;
    let extra_bits = x_bits.max(DBL_MIN_EXP - shift) - DBL_MANT_DIG;
    let mask = num_bigint::BigUint::one() << ((extra_bits - 1) as u64);
    let low_mask = (&mask << 1u32) - 1u32;
    // The dropped bits and the lowest kept one (CPython reads the whole low digit).
    let mut low = &x & ((&mask << 2u32) - 1u32);
    if inexact {
        low |= num_bigint::BigUint::one();
    }
    let three_mask = &mask * 3u32 - 1u32;
    if !(&low & &mask).is_zero() && !(&low & &three_mask).is_zero() {
        x += &mask;
    }
    let cleared = &x & &low_mask;
    x -= cleared;
    let dx = x.to_u64().expect("at most 57 bits") as f64;
    if shift + x_bits >= DBL_MAX_EXP && (shift + x_bits > DBL_MAX_EXP || dx == ldexp(1.0, x_bits)) {
        return err(
            "OverflowError",
            "integer division result too large for a float",
        );
    }
    sign(ldexp(dx, shift))
}

/// Exact comparison of an int with a float (CPython's `float_richcompare`): `None` for NaN.
fn cmp_int_float(n: &BigInt, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let t = f.trunc();
    let ti = BigInt::from_f64(t).expect("finite");
    Some(match n.cmp(&ti) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)).expect("finite"),
        o => o,
    })
}

// ------------------------------------------------------------------------------ hooks

/// `arith_impl` of natives.rs when an operand is a big int.
#[cold]
pub(crate) fn arith(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    float: bool,
    op: Op,
    reflected: bool,
) -> PyResult<Value> {
    if !float {
        return binary(g, a, name, BinOp::of(op), reflected);
    }
    checked(g, a[0])?;
    checked(g, a[1])?;
    let Unpacked::Float(x) = a[0].unpack() else {
        return Err(descriptor_error(g, name, "float", a[0]));
    };
    let y = match int_of(&g.st.heap, a[1]) {
        Some(y) => match to_f64(&y) {
            Some(y) => y,
            None => {
                return Err(g.raise_new("OverflowError", "int too large to convert to float"));
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
        let heap = &g.st.heap;
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

/// `int_op` of natives.rs when a small-int result overflows the small-int range.
#[cold]
pub(crate) fn int_op_overflow(g: &mut Gil<'_>, x: i64, y: i64, op: Op) -> PyResult<Value> {
    let out = binop(BinOp::of(op), &BigInt::from(x), &BigInt::from(y));
    deliver(g, out)
}

/// `compare` of natives.rs when an operand is a big int.
#[cold]
pub(crate) fn compare(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    float: bool,
    want: fn(Ordering) -> bool,
    eq: Option<bool>,
) -> PyResult<Value> {
    checked(g, a[0])?;
    checked(g, a[1])?;
    let heap = &g.st.heap;
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

/// The digit count check of int-to-decimal conversions.
fn limit_error_to_str(limit: usize) -> String {
    format!(
        "Exceeds the limit ({limit} digits) for integer string conversion; use \
         sys.set_int_max_str_digits() to increase the limit"
    )
}

/// `repr(n)` of a big int, or the `ValueError` message when it has more decimal digits than
/// `limit` (0: no limit).
pub(crate) fn decimal(n: &BigInt, limit: usize) -> Result<String, String> {
    // log10(2) < 0.30103: a quick rejection of numbers far beyond the limit, before the
    // quadratic conversion.
    if limit > 0 && (n.bits() as f64 - 1.0) * std::f64::consts::LOG10_2 > limit as f64 + 1.0 {
        return Err(limit_error_to_str(limit));
    }
    let s = n.to_string();
    let digits = s.len() - usize::from(n.is_negative());
    if limit > 0 && digits > limit {
        return Err(limit_error_to_str(limit));
    }
    Ok(s)
}

/// `repr` of a big int `v` (checked: a live big int).
fn repr(g: &mut Gil<'_>, v: Value) -> PyResult<String> {
    let limit = g.st.int_max_str_digits;
    let r = match g.st.heap.get(v) {
        Ok(Object::Int(n)) => decimal(n, limit),
        _ => unreachable!("checked a big int"),
    };
    r.map_err(|msg| g.raise_new("ValueError", msg))
}

/// `Gil::as_i64` of a big int.
#[cold]
pub(crate) fn as_i64(g: &mut Gil<'_>, v: Value) -> PyResult<i64> {
    checked(g, v)?;
    let r = match g.st.heap.get(v) {
        Ok(Object::Int(n)) => n.to_i64(),
        _ => None,
    };
    r.ok_or_else(|| g.raise_new("OverflowError", "Python int too large to convert to C long"))
}

/// `float(v)` of a big int.
#[cold]
pub(crate) fn as_f64(g: &mut Gil<'_>, v: Value) -> PyResult<f64> {
    checked(g, v)?;
    let r = match g.st.heap.get(v) {
        Ok(Object::Int(n)) => to_f64(n),
        _ => None,
    };
    r.ok_or_else(|| g.raise_new("OverflowError", "int too large to convert to float"))
}

/// `int(f)` for a finite float outside the small-int range.
#[cold]
pub(crate) fn from_f64(g: &mut Gil<'_>, f: f64) -> PyResult<Value> {
    let b = BigInt::from_f64(f.trunc()).expect("finite");
    from_big(g, b)
}

// ------------------------------------------------------------------------------ int(str)

/// The value of a digit character in bases up to 36.
fn digit_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 10),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`, the first step of `int(str)`:
/// non-ASCII whitespace becomes a space and non-ASCII decimal digits (Unicode category Nd,
/// `src/digits.rs`) their ASCII digits. `None` if another non-ASCII character is left (the
/// literal is invalid). Borrows an ASCII string as it is.
fn to_ascii_literal(s: &str) -> Option<std::borrow::Cow<'_, str>> {
    if s.is_ascii() {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                Some(c)
            } else if crate::object::natives::is_py_space(c) {
                Some(' ')
            } else {
                crate::digits::decimal_value(c).and_then(|d| char::from_digit(d, 10))
            }
        })
        .collect::<Option<String>>()
        .map(std::borrow::Cow::Owned)
}

/// Why [`parse`] refused a string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// Not an int literal of the base.
    Invalid,
    /// More digits than the limit (the digit count).
    TooLong(usize),
}

/// `int(s, base)` as CPython 3.11 parses it (`base` 0 or 2..=36; the caller checks):
/// surrounding whitespace, a sign, a `0x`/`0o`/`0b` prefix matching the base (or choosing
/// it, for base 0), single underscores between digits (and after a prefix), and for base 0
/// no leading zeros in a nonzero decimal. `limit` is the digit limit for bases that are not
/// powers of two (0: none).
pub(crate) fn parse(s: &str, base: u32, limit: usize) -> Result<BigInt, ParseError> {
    let ascii = to_ascii_literal(s).ok_or(ParseError::Invalid)?;
    // Only ASCII whitespace is stripped (CPython's `Py_ISSPACE`): U+001C..U+001F, which
    // `str.split()` treats as whitespace, make an int literal invalid.
    let s = ascii.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'));
    let b = s.as_bytes();
    let (negative, mut rest) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let mut base = base;
    let prefix = |r: &[u8]| -> Option<u32> {
        if r.len() >= 2 && r[0] == b'0' {
            match r[1] {
                b'x' | b'X' => Some(16),
                b'o' | b'O' => Some(8),
                b'b' | b'B' => Some(2),
                _ => None,
            }
        } else {
            None
        }
    };
    let mut after_prefix = false;
    let base0 = base == 0;
    if base == 0 {
        match prefix(rest) {
            Some(p) => {
                base = p;
                rest = &rest[2..];
                after_prefix = true;
            }
            None => base = 10,
        }
    } else if matches!(base, 16 | 8 | 2) && prefix(rest) == Some(base) {
        rest = &rest[2..];
        after_prefix = true;
    }
    // Underscores: only single ones, between digits or right after a prefix.
    let mut digits = Vec::with_capacity(rest.len());
    let mut prev_underscore = false;
    let mut prev_digit = false;
    for &c in rest {
        if c == b'_' {
            if !(prev_digit || (after_prefix && digits.is_empty() && !prev_underscore)) {
                return Err(ParseError::Invalid);
            }
            prev_underscore = true;
            prev_digit = false;
            continue;
        }
        match digit_value(c) {
            Some(d) if d < base => digits.push(d as u8),
            _ => return Err(ParseError::Invalid),
        }
        prev_digit = true;
        prev_underscore = false;
    }
    if digits.is_empty() || !prev_digit {
        return Err(ParseError::Invalid);
    }
    if base0 && base == 10 && digits[0] == 0 && digits.iter().any(|&d| d != 0) {
        return Err(ParseError::Invalid);
    }
    if limit > 0 && !base.is_power_of_two() && digits.len() > limit {
        return Err(ParseError::TooLong(digits.len()));
    }
    let n = BigInt::from_radix_be(Sign::Plus, &digits, base).ok_or(ParseError::Invalid)?;
    Ok(if negative { -n } else { n })
}

/// The `ValueError` message of `int(text, base)` for `e`.
pub(crate) fn parse_error_message(e: &ParseError, text: &str, base: u32, limit: usize) -> String {
    match e {
        // CPython formats the literal with `%.200R`: its repr, cut to 200 code points.
        ParseError::Invalid => format!(
            "invalid literal for int() with base {base}: {}",
            crate::gil::str_repr(text)
                .chars()
                .take(200)
                .collect::<String>()
        ),
        ParseError::TooLong(n) => format!(
            "Exceeds the limit ({limit} digits) for integer string conversion: value has {n} \
             digits; use sys.set_int_max_str_digits() to increase the limit"
        ),
    }
}

impl Gil<'_> {
    /// `int(digits, base)`: `base` 0 or 2..=36, CPython 3.11's syntax (see the module docs)
    /// and its digit limit (`sys.get_int_max_str_digits()`, 4300 by default) for bases that
    /// are not powers of two. `ValueError` for an invalid base or literal.
    pub fn int_from_str(&mut self, digits: &str, base: u32) -> PyResult<Value> {
        if base == 1 || base > 36 {
            return Err(self.raise_new("ValueError", "int() base must be >= 2 and <= 36, or 0"));
        }
        let limit = self.st.int_max_str_digits;
        match parse(digits, base, limit) {
            Ok(n) => from_big(self, n),
            Err(e) => {
                let msg = parse_error_message(&e, digits, base, limit);
                Err(self.raise_new("ValueError", msg))
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
                return Err(self.raise_new("TypeError", format!("expected int, got {t}")));
            }
        };
        self.str(&s)
    }

    /// `sys.get_int_max_str_digits()`.
    pub fn int_max_str_digits(&self) -> usize {
        self.st.int_max_str_digits
    }

    /// `sys.set_int_max_str_digits(n)`: 0 (no limit) or at least 640, else `ValueError`.
    pub fn set_int_max_str_digits(&mut self, n: i64) -> PyResult<()> {
        if n != 0 && n < MIN_MAX_STR_DIGITS as i64 {
            return Err(self.raise_new(
                "ValueError",
                format!("maxdigits must be 0 or larger than {MIN_MAX_STR_DIGITS}"),
            ));
        }
        self.st.int_max_str_digits = usize::try_from(n).unwrap_or(usize::MAX);
        Ok(())
    }
}

// ------------------------------------------------------------------------------ methods

/// A unary int method: `f` of the int value of `self`.
fn unary(g: &mut Gil<'_>, a: &[Value], name: &str, f: fn(&BigInt) -> Out) -> PyResult<Value> {
    arity(g, a, name, 0, 0)?;
    checked(g, a[0])?;
    let out = int_of(&g.st.heap, a[0]).map(|x| f(&x));
    deliver_method(g, out, name, a[0])
}

/// `int.__neg__` of a big int (the hook of natives.rs's `int_neg`).
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
        let heap = &g.st.heap;
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
        None => err("OverflowError", "int too large to convert to float"),
    })
}

pub(crate) fn int_bit_length(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    unary(g, a, "bit_length", |x| Out::Int(BigInt::from(x.bits())))
}

/// The `TypeError` of an argument that must be an int (CPython's `__index__` failure).
fn not_an_integer(g: &mut Gil<'_>, v: Value) -> crate::gil::Raised {
    match g.type_name(v) {
        Ok(t) => g.raise_new(
            "TypeError",
            format!("'{t}' object cannot be interpreted as an integer"),
        ),
        Err(e) => e,
    }
}

/// `sys.get_int_max_str_digits()`.
pub(crate) fn sys_get_int_max_str_digits(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    if !a.is_empty() {
        return Err(g.raise_new(
            "TypeError",
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
            "TypeError",
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
    let text = match g.st.heap.get(v) {
        Ok(Object::Str(s)) => Some(s.text.to_string()),
        _ => None,
    };
    match text.as_deref() {
        Some("little") => Ok(true),
        Some("big") => Ok(false),
        Some(_) => Err(g.raise_new("ValueError", "byteorder must be either 'little' or 'big'")),
        None => {
            let t = g.type_name(v)?;
            Err(g.raise_new(
                "TypeError",
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
            "TypeError",
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
            match int_of(&g.st.heap, l) {
                Some(n) => n.into_owned(),
                None => return Err(not_an_integer(g, l)),
            }
        }
    };
    let little = byteorder(g, a.get(2).copied(), "to_bytes")?;
    let out = int_of(&g.st.heap, a[0]).map(|n| {
        if length.is_negative() {
            Err(("ValueError", "length argument must be non-negative"))
        } else if n.is_negative() {
            Err(("OverflowError", "can't convert negative int to unsigned"))
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
                _ => Err(("OverflowError", "int too big to convert")),
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
    let skip = usize::from(a.len() == 3 || (a.len() == 2 && int_of(&g.st.heap, a[0]).is_some()));
    let a = &a[skip..];
    if a.is_empty() || a.len() > 2 {
        return Err(g.raise_new(
            "TypeError",
            format!(
                "from_bytes() takes from 1 to 2 positional arguments ({} given)",
                a.len()
            ),
        ));
    }
    checked(g, a[0])?;
    let little = byteorder(g, a.get(1).copied(), "from_bytes")?;
    let n = match g.st.heap.get(a[0]) {
        Ok(Object::Bytes(b, _)) => {
            if little {
                BigInt::from_bytes_le(Sign::Plus, b)
            } else {
                BigInt::from_bytes_be(Sign::Plus, b)
            }
        }
        _ => {
            let t = g.type_name(a[0])?;
            return Err(g.raise_new("TypeError", format!("cannot convert '{t}' object to bytes")));
        }
    };
    from_big(g, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cheap deterministic spread of i128s of every size (xorshift, then a random shift).
    fn spread(n: usize) -> impl Iterator<Item = i128> {
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        (0..n).map(move |_| {
            let v = (i128::from(next()) << 64 | i128::from(next())) >> (next() % 127);
            if next() & 1 == 0 { v } else { -v }
        })
    }

    #[test]
    fn hash_matches_the_i128_hash() {
        for v in spread(if cfg!(miri) { 50 } else { 20_000 }).chain([i128::MIN, i128::MAX, -1]) {
            assert_eq!(hash(&BigInt::from(v)), crate::hash::hash_i128(v), "{v}");
        }
    }

    #[test]
    fn to_f64_is_correctly_rounded() {
        // Rust's i128 -> f64 conversion rounds to nearest, ties to even.
        for v in spread(if cfg!(miri) { 50 } else { 20_000 }).chain([i128::MIN, i128::MAX]) {
            assert_eq!(to_f64(&BigInt::from(v)), Some(v as f64), "{v}");
        }
        // Ties: 2**53 + 1 rounds down to even, 2**53 + 3 up.
        let two53 = 1i128 << 53;
        assert_eq!(to_f64(&BigInt::from(two53 + 1)), Some(two53 as f64));
        assert_eq!(to_f64(&BigInt::from(two53 + 3)), Some((two53 + 4) as f64));
        assert_eq!(to_f64(&(BigInt::one() << 1024u32)), None);
        let max = BigInt::from_f64(f64::MAX).unwrap();
        assert_eq!(to_f64(&max), Some(f64::MAX));
        // Just below the rounding boundary to infinity stays finite; at it, overflows.
        let half_ulp = BigInt::one() << 970u32;
        assert_eq!(to_f64(&(&max + &half_ulp - 1)), Some(f64::MAX));
        assert_eq!(to_f64(&(&max + &half_ulp)), None);
    }

    #[test]
    fn true_division_matches_f64_where_both_are_exact() {
        for (a, b) in spread(if cfg!(miri) { 40 } else { 10_000 })
            .zip(spread(if cfg!(miri) { 41 } else { 10_001 }).skip(1))
        {
            // Within 2**53 both operands are exact floats and IEEE division rounds once;
            // scaled by 2**100, the quotient is the same but takes the long path.
            let (a, b) = (a >> 75, (b >> 75) | 1);
            let scaled = |x: i128| BigInt::from(x) << 100u32;
            match true_div(&scaled(a), &scaled(b)) {
                Out::Float(f) => assert_eq!(f.to_bits(), (a as f64 / b as f64).to_bits()),
                _ => panic!("{a} / {b}"),
            }
        }
    }

    #[test]
    fn parse_edge_cases() {
        let p = |s: &str, base: u32| parse(s, base, DEFAULT_MAX_STR_DIGITS).ok();
        assert_eq!(p(" -0x_1f ", 0), Some(BigInt::from(-31)));
        assert_eq!(p("1_000", 10), Some(BigInt::from(1000)));
        assert_eq!(p("1__0", 10), None);
        assert_eq!(p("_1", 10), None);
        assert_eq!(p("1_", 10), None);
        assert_eq!(p("010", 0), None);
        assert_eq!(p("000", 0), Some(BigInt::zero()));
        assert_eq!(p("0b101", 2), Some(BigInt::from(5)));
        assert_eq!(p("z", 36), Some(BigInt::from(35)));
        assert_eq!(
            parse(&"1".repeat(4301), 10, 4300),
            Err(ParseError::TooLong(4301))
        );
        assert!(parse(&"1".repeat(5000), 16, 4300).is_ok());
    }
}

//! The int arithmetic itself, on `BigInt`s, with no heap or GIL in sight: each operation
//! returns an [`Out`] that `deliver` turns into a value or an exception.

use super::{Out, err};
use crate::ExcClass;
use crate::object::natives::Op;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{FromPrimitive, One, Signed, ToPrimitive, Zero};
use std::borrow::Cow;
use std::cmp::Ordering;

// ------------------------------------------------------------------------------ operations

/// A binary int operation: one of the arithmetic operators int shares with float ([`Op`]),
/// or one only ints have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Arith(Op),
    DivMod,
    Pow,
    LShift,
    RShift,
    And,
    Or,
    Xor,
}

/// Results beyond this many bits raise `MemoryError` instead of being attempted.
const MAX_BITS: u64 = 1 << 36;

pub(super) fn binop(op: BinOp, x: &BigInt, y: &BigInt) -> Out {
    match op {
        BinOp::Arith(Op::Add) => Out::Int(x + y),
        BinOp::Arith(Op::Sub) => Out::Int(x - y),
        BinOp::Arith(Op::Mul) => Out::Int(x * y),
        BinOp::Arith(Op::TrueDiv) => true_div(x, y),
        BinOp::Arith(Op::FloorDiv) | BinOp::Arith(Op::Mod) | BinOp::DivMod => {
            if y.is_zero() {
                let msg = match op {
                    BinOp::Arith(Op::Mod) => "integer modulo by zero",
                    _ => "integer division or modulo by zero",
                };
                return err(ExcClass::ZERO_DIVISION_ERROR, msg);
            }
            let (q, r) = x.div_mod_floor(y);
            match op {
                BinOp::Arith(Op::FloorDiv) => Out::Int(q),
                BinOp::Arith(Op::Mod) => Out::Int(r),
                _ => Out::Pair(q, r),
            }
        }
        BinOp::Pow => pow(x, y),
        BinOp::LShift | BinOp::RShift => {
            if y.is_negative() {
                return err(ExcClass::VALUE_ERROR, "negative shift count");
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
                    err(ExcClass::OVERFLOW_ERROR, "too many digits in integer")
                }
                _ => err(ExcClass::MEMORY_ERROR, ""),
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
            _ => {
                return err(
                    ExcClass::OVERFLOW_ERROR,
                    "int too large to convert to float",
                );
            }
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
        _ => err(ExcClass::MEMORY_ERROR, ""),
    }
}

/// CPython's `float_pow` for an integral (negative) exponent `y` and a finite `x`.
fn float_pow_int(x: f64, y: f64) -> Out {
    if x == 0.0 {
        return err(
            ExcClass::ZERO_DIVISION_ERROR,
            "0.0 cannot be raised to a negative power",
        );
    }
    let r = x.powf(y);
    if r.is_infinite() {
        return err(
            ExcClass::OVERFLOW_ERROR,
            "(34, 'Numerical result out of range')",
        );
    }
    Out::Float(r)
}

/// `pow(x, y, m)` with int arguments (CPython 3.11's `long_pow` with a modulus).
pub(super) fn pow_mod(x: &BigInt, y: &BigInt, m: &BigInt) -> Out {
    if m.is_zero() {
        return err(ExcClass::VALUE_ERROR, "pow() 3rd argument cannot be 0");
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
            None => {
                return err(
                    ExcClass::VALUE_ERROR,
                    "base is not invertible for the given modulus",
                );
            }
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
pub(super) fn true_div(a: &BigInt, b: &BigInt) -> Out {
    const DBL_MANT_DIG: i64 = 53;
    const DBL_MIN_EXP: i64 = -1021;
    const DBL_MAX_EXP: i64 = 1024;
    if b.is_zero() {
        return err(ExcClass::ZERO_DIVISION_ERROR, "division by zero");
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
            ExcClass::OVERFLOW_ERROR,
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
            ExcClass::OVERFLOW_ERROR,
            "integer division result too large for a float",
        );
    }
    sign(ldexp(dx, shift))
}

/// Exact comparison of an int with a float (CPython's `float_richcompare`): `None` for NaN.
pub(super) fn cmp_int_float(n: &BigInt, f: f64) -> Option<Ordering> {
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

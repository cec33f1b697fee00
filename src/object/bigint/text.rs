//! Ints as text: `repr`/`str` with CPython's digit limit, and `int(str, base)`.

use num_bigint::{BigInt, Sign};
use num_traits::Signed;

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
            crate::object::repr::str_repr(text)
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

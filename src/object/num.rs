//! A number as arithmetic and comparisons see it: an int or bool as an `i64`, or a float.

/// A number, for arithmetic and comparisons.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

/// `x == y` across int and float, as Python compares them.
pub(crate) fn num_eq(x: Num, y: Num) -> bool {
    match (x, y) {
        (Num::Int(a), Num::Int(b)) => a == b,
        (Num::Float(a), Num::Float(b)) => a == b,
        // Small ints are exactly representable as f64.
        (Num::Int(a), Num::Float(b)) | (Num::Float(b), Num::Int(a)) => a as f64 == b,
    }
}

//! A number as arithmetic and comparisons see it: an int or bool as an `i64`, or a float.

/// A number, for arithmetic and comparisons.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    /// The number as a float (exact: a small int fits an f64's mantissa).
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
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

use super::arith::true_div;
use super::text::ParseError;
use super::*;
use num_traits::{One, Zero};

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

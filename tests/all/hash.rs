//! CPython-compatible hashing: the vectors CPython itself produced
//! (`tests/data/hash_vectors.txt`, from `scripts/gen_hash_vectors.py`), numeric identities,
//! streaming str hashing and the secret's lifecycle.

use crate::test_config;
use core::hash::Hasher as _;
use molt_state::hash::{
    HashSecret, HashSeed, hash_bool, hash_bytes, hash_float, hash_i128, hash_int, hash_str,
    hash_tuple,
};
use molt_state::{Config, Runtime};
use proptest::prelude::*;
use siphasher::sip::SipHasher13;

/// Embedded, not read from disk: Miri runs these tests with isolation on.
const VECTORS: &str = include_str!("../data/hash_vectors.txt");

/// `sys.hash_info.modulus` and `sys.hash_info.inf` of CPython 3.11 on 64-bit platforms.
const MODULUS: u64 = (1 << 61) - 1;
const HASH_INF: i64 = 314_159;

/// The seeds the generator uses (each must appear in the file).
const SEEDS: [u32; 3] = [0, 1, 12345];

/// One line of the vector file.
struct Vector<'a> {
    line: usize,
    seed: u32,
    kind: &'a str,
    value: &'a str,
    hash: i64,
}

fn vectors() -> impl Iterator<Item = Vector<'static>> {
    VECTORS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| {
            // Split off the short fields only: Miri is slow at scanning the long values.
            let bad = || panic!("line {}: not seed\tkind\tvalue\thash: {l:?}", i + 1);
            let (seed, rest) = l.split_once('\t').unwrap_or_else(bad);
            let (kind, rest) = rest.split_once('\t').unwrap_or_else(bad);
            let (value, hash) = rest.rsplit_once('\t').unwrap_or_else(bad);
            assert!(
                cfg!(miri) || !value.contains('\t'),
                "line {}: extra field",
                i + 1
            );
            Vector {
                line: i + 1,
                seed: seed.parse().unwrap(),
                kind,
                value,
                hash: hash.parse().unwrap(),
            }
        })
}

fn unhex(s: &str) -> Vec<u8> {
    fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex digit {:?}", c as char),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() % 2 == 0, "odd hex length: {s:?}");
    b.chunks_exact(2)
        .map(|p| (nibble(p[0]) << 4) | nibble(p[1]))
        .collect()
}

fn float_bits(s: &str) -> f64 {
    assert_eq!(s.len(), 16, "float bits: {s:?}");
    f64::from_bits(u64::from_str_radix(s, 16).unwrap())
}

fn int_hash(s: &str) -> i64 {
    let n: i128 = s.parse().unwrap();
    let h = hash_i128(n);
    if let Ok(n) = i64::try_from(n) {
        assert_eq!(hash_int(n), h, "hash_int({n}) != hash_i128");
    }
    h
}

/// The hash of one prefix-notation item, consuming its tokens. Tuples are hashed from a
/// lazy iterator over their items: `hash_tuple` never sees a collection.
fn item_hash<'a, I: Iterator<Item = &'a str>>(secret: &HashSecret, tokens: &mut I) -> i64 {
    let tok = tokens.next().expect("truncated tuple notation");
    let (tag, rest) = tok.split_at(1);
    match tag {
        "T" => {
            let n: usize = rest.parse().unwrap();
            let mut seen = 0;
            let h = hash_tuple((0..n).map(|_| {
                seen += 1;
                item_hash(secret, tokens)
            }));
            assert_eq!(seen, n);
            h
        }
        "i" => int_hash(rest),
        "s" => hash_str(secret, core::str::from_utf8(&unhex(rest)).unwrap()),
        "y" => hash_bytes(secret, &unhex(rest)),
        "f" => hash_float(float_bits(rest)),
        "b" => hash_bool(rest == "1"),
        _ => panic!("bad token {tok:?}"),
    }
}

fn vector_hash(secret: &HashSecret, v: &Vector<'_>) -> i64 {
    match v.kind {
        "str" => hash_str(secret, core::str::from_utf8(&unhex(v.value)).unwrap()),
        "bytes" => hash_bytes(secret, &unhex(v.value)),
        "int" => int_hash(v.value),
        "float" => hash_float(float_bits(v.value)),
        "bool" => hash_bool(match v.value {
            "0" => false,
            "1" => true,
            other => panic!("bad bool {other:?}"),
        }),
        "tuple" => {
            let mut tokens = v.value.split(' ');
            let h = item_hash(secret, &mut tokens);
            assert_eq!(tokens.next(), None, "trailing tokens");
            h
        }
        other => panic!("unknown kind {other:?}"),
    }
}

#[test]
fn cpython_vectors() {
    let secrets: Vec<HashSecret> = SEEDS
        .iter()
        .map(|&s| HashSecret::new(HashSeed::Fixed(s)).unwrap())
        .collect();
    let mut counts = [[0usize; 6]; SEEDS.len()];
    let kinds = ["str", "bytes", "int", "float", "bool", "tuple"];
    let mut failures = Vec::new();
    for v in vectors() {
        let si = SEEDS
            .iter()
            .position(|&s| s == v.seed)
            .expect("unknown seed");
        let ki = kinds
            .iter()
            .position(|&k| k == v.kind)
            .expect("unknown kind");
        counts[si][ki] += 1;
        let got = vector_hash(&secrets[si], &v);
        if got != v.hash {
            failures.push(format!(
                "line {}: seed {} {} {:?}: got {got}, CPython {}",
                v.line, v.seed, v.kind, v.value, v.hash
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every seed has vectors of every kind, and as many as the others.
    for c in &counts {
        assert!(c.iter().all(|&n| n > 0), "{counts:?}");
        assert_eq!(c, &counts[0]);
    }
}

#[test]
fn seeds_change_str_hashes_but_not_numbers() {
    let a = HashSecret::new(HashSeed::Fixed(1)).unwrap();
    let b = HashSecret::new(HashSeed::Fixed(12345)).unwrap();
    assert_ne!(hash_str(&a, "abc"), hash_str(&b, "abc"));
    assert_ne!(hash_bytes(&a, b"abc"), hash_bytes(&b, b"abc"));
    // str and bytes with the same latin-1 bytes hash alike (same buffer, same keys).
    assert_eq!(hash_str(&a, "caf\u{e9}"), hash_bytes(&a, b"caf\xe9"));
}

#[test]
fn runtime_hashes_str_with_its_seed() {
    let rt = Runtime::try_new(Config {
        hash_seed: Some(HashSeed::Fixed(12345)),
        ..test_config()
    })
    .unwrap();
    let mut checked = 0;
    // Every str natively; a few under Miri (cpython_vectors covers them all there).
    let strs = vectors().filter(|v| v.seed == 12345 && v.kind == "str");
    for v in strs.take(crate::scaled(usize::MAX, 4)) {
        let s = String::from_utf8(unhex(v.value)).unwrap();
        assert_eq!(rt.hash_str(&s), v.hash, "line {}", v.line);
        checked += 1;
    }
    assert!(checked > 0);
    assert!(rt.shutdown().unwrap().hash_secret_wiped);
}

#[test]
fn minus_one_becomes_minus_two() {
    let p = MODULUS as i64;
    assert_eq!(hash_int(-1), -2);
    assert_eq!(hash_int(-2), -2);
    assert_eq!(hash_int(-p - 1), -2);
    assert_eq!(hash_i128(-1), -2);
    assert_eq!(hash_i128(-(MODULUS as i128) * 5 - 1), -2);
    assert_eq!(hash_float(-1.0), -2);
    assert_eq!(hash_float(-((1u64 << 61) as f64)), -2);
    assert_eq!(hash_int(p), 0);
    assert_eq!(hash_int(-p), 0);
    assert_eq!(hash_int(i64::MAX), hash_i128(i64::MAX.into()));
    assert_eq!(hash_tuple([-2]), hash_tuple((-1..0).map(hash_int)));
}

#[test]
fn numeric_special_cases() {
    assert_eq!(hash_float(f64::INFINITY), HASH_INF);
    assert_eq!(hash_float(f64::NEG_INFINITY), -HASH_INF);
    assert_eq!(hash_float(0.0), 0);
    assert_eq!(hash_float(-0.0), 0);
    // Documented deviation: NaN hashes to 0, whatever its payload or sign.
    assert_eq!(hash_float(f64::NAN), 0);
    assert_eq!(hash_float(-f64::NAN), 0);
    assert_eq!(hash_float(f64::from_bits(0x7ff0_0000_0000_0001)), 0);
    assert_eq!(hash_bool(true), hash_int(1));
    assert_eq!(hash_bool(false), hash_int(0));
    // hash(0.5) == hash(Fraction(1, 2)): 2**-1 is the inverse of 2 modulo 2**61 - 1.
    assert_eq!(hash_float(0.5), 1 << 60);
}

#[test]
fn tuple_length_enters_from_the_count() {
    // A one-shot iterator without a known length gives the same hash as an array.
    let lazy = hash_tuple((1..=3).filter(|_| true).map(hash_int));
    assert_eq!(lazy, hash_tuple([1, 2, 3]));
    assert_ne!(hash_tuple([0]), hash_tuple([0, 0]));
    assert_ne!(hash_tuple([]), hash_tuple([0]));
}

#[test]
fn wipe_zeroes_keys() {
    let mut s = HashSecret::new(HashSeed::Fixed(12345)).unwrap();
    assert!(!s.is_wiped());
    assert_ne!(s.keys(), (0, 0));
    s.wipe();
    assert!(s.is_wiped());
    assert_eq!(s.keys(), (0, 0));
    assert_eq!(format!("{s:?}"), "HashSecret(..)");
}

#[test]
fn random_seeds_differ() {
    let a = HashSecret::new(HashSeed::Random).unwrap();
    let b = HashSecret::new(HashSeed::Random).unwrap();
    // 2**-128 chance of a false failure.
    assert_ne!(a.keys(), b.keys());
    assert!(!a.is_wiped());
}

/// The PEP 393 buffer CPython hashes for `s`, built the obvious (allocating) way.
fn pep393(s: &str) -> Vec<u8> {
    let max = s.chars().map(u32::from).max().unwrap_or(0);
    let width = if max < 0x100 {
        1
    } else if max < 0x1_0000 {
        2
    } else {
        4
    };
    s.chars()
        .flat_map(|c| u32::from(c).to_le_bytes().into_iter().take(width))
        .collect()
}

/// Few cases under Miri; no failure persistence file (Miri isolation forbids file I/O, and
/// the regressions would land outside the files this module owns).
fn cases() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(if cfg!(miri) { 8 } else { 256 })
    }
}

/// Strings of each PEP 393 kind, and of any mix.
fn strings() -> impl Strategy<Value = String> {
    let of = |chars: BoxedStrategy<char>| {
        proptest::collection::vec(chars, 0..crate::scaled(300, 40))
            .prop_map(|v| v.into_iter().collect::<String>())
    };
    prop_oneof![
        of(proptest::char::range('\0', '\x7f').boxed()),
        of(proptest::char::range('\0', '\u{ff}').boxed()),
        of(proptest::char::range('\0', '\u{ffff}').boxed()),
        of(any::<char>().boxed()),
    ]
}

proptest! {
    #![proptest_config(cases())]

    /// Integral floats hash like the int they equal, across the whole i64 range.
    #[test]
    fn float_agrees_with_int(m in -(1i64 << 53)..=(1i64 << 53), shift in 0u32..=10) {
        // Skip the shifts that overflow i64 (`<<` drops the high bits).
        let x = m << shift;
        prop_assume!(x >> shift == m);
        let f = x as f64;
        prop_assert_eq!(f as i64, x);
        prop_assert_eq!(hash_float(f), hash_int(x));
        prop_assert_eq!(hash_float(f), hash_i128(x.into()));
    }

    /// Beyond i64: m * 2**k for k up to 70.
    #[test]
    fn float_agrees_with_i128(m in -(1i64 << 53)..=(1i64 << 53), k in 0u32..=70) {
        let x = i128::from(m) << k;
        // 2**k from its bits (no libm): exact, and so is the product (|m| <= 2**53).
        let f = m as f64 * f64::from_bits(u64::from(1023 + k) << 52);
        prop_assert_eq!(f as i128, x);
        prop_assert_eq!(hash_float(f), hash_i128(x));
    }

    #[test]
    fn int_is_its_residue_with_sign(n in any::<i64>()) {
        let r = (n.unsigned_abs() % MODULUS) as i64;
        let want = if n < 0 { -r } else { r };
        prop_assert_eq!(hash_int(n), if want == -1 { -2 } else { want });
        prop_assert_eq!(hash_int(n), hash_i128(n.into()));
    }

    /// hash_str feeds the hasher piecewise from a stack buffer; the result is the one-shot
    /// SipHash-1-3 of the whole PEP 393 buffer.
    #[test]
    fn str_streaming_equals_one_shot(s in strings(), seed in any::<u32>()) {
        let secret = HashSecret::new(HashSeed::Fixed(seed)).unwrap();
        let (k0, k1) = secret.keys();
        let buf = pep393(&s);
        let want = if buf.is_empty() {
            0
        } else {
            match SipHasher13::new_with_keys(k0, k1).hash(&buf) as i64 {
                -1 => -2,
                h => h,
            }
        };
        prop_assert_eq!(hash_str(&secret, &s), want);
        prop_assert_eq!(hash_bytes(&secret, &buf), want);
    }

    /// siphasher's streaming `write` gives the one-shot result, however the input is split.
    #[test]
    fn sip_streaming_equals_one_shot(
        bytes in proptest::collection::vec(any::<u8>(), 1..crate::scaled(200, 40)),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let secret = HashSecret::new(HashSeed::Fixed(7)).unwrap();
        let (k0, k1) = secret.keys();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.push(0);
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut h = SipHasher13::new_with_keys(k0, k1);
        for w in cuts.windows(2) {
            h.write(&bytes[w[0]..w[1]]);
        }
        let one_shot = SipHasher13::new_with_keys(k0, k1).hash(&bytes);
        prop_assert_eq!(h.finish(), one_shot);
        let one_shot = one_shot as i64;
        prop_assert_eq!(hash_bytes(&secret, &bytes), if one_shot == -1 { -2 } else { one_shot });
    }
}

//! CPython 3.11-compatible hashing: the per-runtime hash secret and `hash()` of `str`,
//! `bytes`, `int`, `float`, `bool` and `tuple`.
//!
//! Every function here returns exactly what `hash(x)` returns in CPython 3.11 on a 64-bit
//! platform (`sys.hash_info`: `width=64`, `modulus=2**61-1`, `inf=314159`,
//! `algorithm='siphash13'`, `cutoff=0`) under the same `PYTHONHASHSEED`, with one documented
//! exception: the hash of a float NaN (see [`hash_float`]). The checked-in vectors in
//! `tests/data/hash_vectors.txt` are produced by CPython itself
//! (`scripts/gen_hash_vectors.py`) and checked by the integration tests.
//!
//! The functions are allocation-free and take no locks: `str` and `bytes` hashing only read
//! the immutable [`HashSecret`], and the numeric and tuple hashes are pure functions.
//!
//! ```
//! use molt_state::hash::{hash_float, hash_int, hash_str, hash_tuple, HashSecret, HashSeed};
//!
//! // PYTHONHASHSEED=0 disables randomization: these match `python3` with that seed.
//! let secret = HashSecret::new(HashSeed::Fixed(0))?;
//! assert_eq!(hash_str(&secret, ""), 0);
//! assert_eq!(hash_int(-1), -2);
//! assert_eq!(hash_float(1.0), hash_int(1));
//! assert_eq!(hash_tuple([]), 5740354900026072187); // hash(())
//! # Ok::<(), molt_state::hash::HashSecretError>(())
//! ```

use core::hash::Hasher as _;
use siphasher::sip::SipHasher13;

// Private on purpose: cbindgen exports every public constant of the crate into the C header.

/// The modulus of CPython's numeric hash, the Mersenne prime `2**61 - 1`
/// (`sys.hash_info.modulus`).
const MODULUS: u64 = (1 << HASH_BITS) - 1;

/// The number of bits of the modulus.
const HASH_BITS: u32 = 61;

/// `hash(float('inf'))` (`sys.hash_info.inf`); `-inf` hashes to its negation.
const HASH_INF: i64 = 314_159;

/// What `hash(x)` never returns: CPython reserves `-1` for "error" and maps it to `-2`.
#[inline]
const fn not_minus_one(x: i64) -> i64 {
    if x == -1 { -2 } else { x }
}

// ---------------------------------------------------------------------------------------------
// Seed and secret
// ---------------------------------------------------------------------------------------------

/// How the hash secret is chosen; the meaning of CPython's `PYTHONHASHSEED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSeed {
    /// Keys from the operating system's random source (`PYTHONHASHSEED` unset or `random`).
    Random,
    /// Keys derived deterministically from the seed, as CPython does; `0` disables
    /// randomization (all-zero keys).
    Fixed(u32),
}

/// A hash seed that is neither `random` nor an integer in `0..=4294967295`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hash seed {value:?}: expected \"random\" or an integer in 0..=4294967295")]
pub struct HashSeedError {
    /// The rejected text.
    pub value: String,
}

impl std::str::FromStr for HashSeed {
    type Err = HashSeedError;

    /// Parses `random` or a decimal integer in `0..=4294967295`.
    fn from_str(s: &str) -> Result<Self, HashSeedError> {
        if s == "random" {
            return Ok(HashSeed::Random);
        }
        s.parse::<u32>()
            .map(HashSeed::Fixed)
            .map_err(|_| HashSeedError { value: s.into() })
    }
}

/// Failure to create a [`HashSecret`].
#[derive(Debug, thiserror::Error)]
pub enum HashSecretError {
    /// The operating system's random source failed (only for [`HashSeed::Random`]).
    #[error("os: {0}")]
    Os(String),
}

/// The SipHash keys of one runtime (CPython's `_Py_HashSecret.siphash`).
///
/// The keys never appear in `Debug` output, and are wiped when the secret is dropped.
pub struct HashSecret {
    k0: u64,
    k1: u64,
}

impl HashSecret {
    /// Creates the secret for `seed`, as CPython's `_Py_HashRandomization_Init` does:
    ///
    /// - `Fixed(0)`: all-zero keys (randomization disabled);
    /// - `Fixed(n)`: the keys are the first 16 bytes (two little-endian `u64`s) of CPython's
    ///   deterministic `lcg_urandom(n)` byte stream, so `hash()` of str and bytes equals
    ///   CPython's under `PYTHONHASHSEED=n`;
    /// - `Random`: 16 bytes from the operating system ([`getrandom::fill`]).
    ///
    /// # Errors
    ///
    /// [`HashSecretError::Os`] when the operating system's random source fails.
    pub fn new(seed: HashSeed) -> Result<HashSecret, HashSecretError> {
        let mut bytes = [0u8; 16];
        match seed {
            HashSeed::Fixed(0) => {}
            HashSeed::Fixed(n) => lcg_urandom(n, &mut bytes),
            HashSeed::Random => {
                getrandom::fill(&mut bytes).map_err(|e| HashSecretError::Os(e.to_string()))?
            }
        }
        let (k0, k1) = bytes.split_at(8);
        let secret = HashSecret {
            k0: u64::from_le_bytes(k0.try_into().expect("8 bytes")),
            k1: u64::from_le_bytes(k1.try_into().expect("8 bytes")),
        };
        bytes.fill(0);
        core::hint::black_box(&mut bytes);
        Ok(secret)
    }

    /// The SipHash keys `(k0, k1)`.
    #[inline]
    pub fn keys(&self) -> (u64, u64) {
        (self.k0, self.k1)
    }

    /// Overwrites both keys with zeros (volatile writes, so the compiler cannot drop them as
    /// dead stores before the memory is freed).
    pub fn wipe(&mut self) {
        // SAFETY: both pointers come from live `&mut u64`s, so they are valid, aligned and
        // exclusive for the duration of the write.
        unsafe {
            core::ptr::write_volatile(&mut self.k0, 0);
            core::ptr::write_volatile(&mut self.k1, 0);
        }
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }

    /// Whether both keys are zero: after [`wipe`](Self::wipe), and also for
    /// `HashSeed::Fixed(0)`, whose keys are zero from the start.
    #[inline]
    pub fn is_wiped(&self) -> bool {
        self.k0 == 0 && self.k1 == 0
    }

    /// A SipHash-1-3 hasher keyed with this secret.
    #[inline]
    fn hasher(&self) -> SipHasher13 {
        SipHasher13::new_with_keys(self.k0, self.k1)
    }
}

impl std::fmt::Debug for HashSecret {
    /// Prints `HashSecret(..)`: the keys stay hidden.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashSecret(..)")
    }
}

impl Drop for HashSecret {
    fn drop(&mut self) {
        self.wipe()
    }
}

/// CPython's `lcg_urandom` (`Python/bootstrap_hash.c`): the deterministic byte stream that
/// stands in for urandom when `PYTHONHASHSEED` is a nonzero integer. A 32-bit linear
/// congruential generator; each step yields bits 16..24 of the new state.
fn lcg_urandom(seed: u32, buf: &mut [u8]) {
    let mut x = seed;
    for byte in buf {
        x = x.wrapping_mul(214_013).wrapping_add(2_531_011);
        *byte = (x >> 16) as u8;
    }
}

// ---------------------------------------------------------------------------------------------
// str and bytes
// ---------------------------------------------------------------------------------------------

/// The final step shared by str and bytes (`_Py_HashBytes`): reinterpret, and never `-1`.
#[inline]
fn finish_sip(h: u64) -> i64 {
    not_minus_one(h as i64)
}

/// `hash(b)` for a bytes object: SipHash-1-3 of the bytes under the secret's keys; `b''`
/// hashes to 0, and `-1` becomes `-2`.
#[inline]
pub fn hash_bytes(secret: &HashSecret, b: &[u8]) -> i64 {
    if b.is_empty() {
        return 0;
    }
    finish_sip(secret.hasher().hash(b))
}

/// `hash(s)` for a str, as CPython 3.11 computes it under the same hash seed.
///
/// CPython stores a str in the narrowest PEP 393 form that holds its largest code point
/// (1 byte per code point if all are below 256, 2 bytes if below 65536, else 4) and hashes
/// that buffer (little-endian code units) with SipHash-1-3; CPython 3.11 has no
/// small-string special case (`sys.hash_info.cutoff == 0`). This function feeds the same
/// bytes to the hasher from a small stack buffer, without allocating; an ASCII string is
/// hashed directly from its UTF-8 bytes, which are its latin-1 bytes. `''` hashes to 0, and
/// `-1` becomes `-2`.
pub fn hash_str(secret: &HashSecret, s: &str) -> i64 {
    let bytes = s.as_bytes();
    if bytes.is_ascii() {
        return hash_bytes(secret, bytes);
    }
    // The largest UTF-8 byte tells the PEP 393 kind: code points 0x80..=0xFF are encoded
    // with lead bytes 0xC2/0xC3 (and continuation bytes 0x80..=0xBF), code points
    // 0x100..=0xFFFF with lead bytes 0xC4..=0xEF, and astral code points with 0xF0..=0xF4.
    let max = bytes.iter().fold(0u8, |m, &b| m.max(b));
    let hasher = secret.hasher();
    let h = if max < 0xC4 {
        hash_code_units::<1>(hasher, s)
    } else if max < 0xF0 {
        hash_code_units::<2>(hasher, s)
    } else {
        hash_code_units::<4>(hasher, s)
    };
    finish_sip(h)
}

/// Feeds every code point of `s` to `hasher` as a `W`-byte little-endian code unit; the
/// caller guarantees that every code point fits in `W` bytes.
#[inline]
fn hash_code_units<const W: usize>(mut hasher: SipHasher13, s: &str) -> u64 {
    // A multiple of 4 (and so of every W): flushing exactly when full keeps units whole.
    const CHUNK: usize = 128;
    let mut buf = [0u8; CHUNK];
    let mut n = 0;
    for c in s.chars() {
        let cp = u32::from(c);
        debug_assert!(
            W == 4 || cp >> (8 * W) == 0,
            "code point does not fit the kind"
        );
        buf[n..n + W].copy_from_slice(&cp.to_le_bytes()[..W]);
        n += W;
        if n == CHUNK {
            hasher.write(&buf);
            n = 0;
        }
    }
    hasher.write(&buf[..n]);
    hasher.finish()
}

// ---------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------

/// `x mod (2**61 - 1)` for any `u64`, using `2**61 ≡ 1`.
#[inline]
const fn reduce_u64(x: u64) -> u64 {
    // (x & P) <= P and x >> 61 <= 7, so one subtraction finishes the reduction.
    let r = (x & MODULUS) + (x >> HASH_BITS);
    if r >= MODULUS { r - MODULUS } else { r }
}

/// Applies the sign to a reduced magnitude (`0 <= x < MODULUS`), as CPython's numeric hashes
/// do, mapping `-1` to `-2`.
#[inline]
const fn signed(x: u64, negative: bool) -> i64 {
    // x < 2**61, so the cast and the negation cannot overflow.
    let x = x as i64;
    not_minus_one(if negative { -x } else { x })
}

/// `hash(n)` for an int: the magnitude reduced modulo the Mersenne prime `2**61 - 1`, with the
/// sign of `n` (so `hash(-n) == -hash(n)`), except that `-1` becomes `-2`.
#[inline]
pub const fn hash_int(n: i64) -> i64 {
    signed(reduce_u64(n.unsigned_abs()), n < 0)
}

/// [`hash_int`] for ints beyond the `i64` range (equal to it on the `i64` range).
#[inline]
pub const fn hash_i128(n: i128) -> i64 {
    let u = n.unsigned_abs();
    // u = lo + mid * 2**61 + hi * 2**122, and 2**61 ≡ 1: the sum is below 2**63.
    let lo = (u as u64) & MODULUS;
    let mid = ((u >> HASH_BITS) as u64) & MODULUS;
    let hi = (u >> (2 * HASH_BITS)) as u64;
    signed(reduce_u64(lo + mid + hi), n < 0)
}

/// `hash(b)` for a bool: `hash(True) == 1`, `hash(False) == 0` (the hashes of 1 and 0).
#[inline]
pub const fn hash_bool(b: bool) -> i64 {
    b as i64
}

/// Splits a finite, nonzero-or-zero `f64` into `(negative, m, e)` with `|v| == m * 2**e`
/// exactly, `m < 2**53` an integer: the exact integer form of C's `frexp`
/// (`frexp(v) == (±m * 2**-53, e + 53)` up to normalization), read from the bits so that no
/// libm is involved. Subnormals have no implicit bit and the minimum exponent.
#[inline]
const fn decompose(v: f64) -> (bool, u64, i32) {
    let bits = v.to_bits();
    let negative = bits >> 63 != 0;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    if biased == 0 {
        // Zero or subnormal: fraction * 2**-1074.
        (negative, fraction, -1074)
    } else {
        // Normal: (2**52 + fraction) * 2**(biased - 1075).
        (negative, fraction | (1 << 52), biased - 1075)
    }
}

/// Rotates a 61-bit value left by `r` bits (`0 <= r < 61`) within 61 bits: multiplication
/// by `2**r` modulo `2**61 - 1` of a reduced value.
#[inline]
const fn rotate61(x: u64, r: u32) -> u64 {
    ((x << r) & MODULUS) | (x >> (HASH_BITS - r))
}

/// `hash(v)` for a float, CPython's `_Py_HashDouble`: the value's residue modulo
/// `2**61 - 1` with its sign, so that numbers equal across types hash equal
/// (`hash_float(n as f64) == hash_int(n)` whenever the conversion is exact, and
/// `hash(0.5) == hash(Fraction(1, 2))`). `inf` hashes to 314159, `-inf` to
/// `-314159`, `-0.0` to 0, and `-1` becomes `-2`.
///
/// CPython reduces the `frexp` mantissa 28 bits at a time and then multiplies by the power
/// of two of the exponent modulo `2**61 - 1` (a 61-bit rotation, since `2**61 ≡ 1`). This
/// computes the same residue directly from the exact integer mantissa (below `2**53`, so
/// already reduced) and exponent taken from the bits, subnormals included; both results are
/// fully reduced, so they are identical.
///
/// **Deviation from CPython 3.10+: NaN hashes to 0.** Since 3.10, CPython hashes a NaN by
/// the identity of the float object (`_Py_HashPointer`), so distinct NaN objects hash
/// differently. A bare `f64` has no identity, so this returns 0 for every NaN, which is what
/// CPython did before 3.10 (`sys.hash_info.nan`). A runtime that boxes floats and wants the
/// 3.10+ behaviour must hash NaN objects by their identity itself.
#[inline]
pub const fn hash_float(v: f64) -> i64 {
    if v.is_nan() {
        return 0;
    }
    if v.is_infinite() {
        return if v > 0.0 { HASH_INF } else { -HASH_INF };
    }
    let (negative, m, e) = decompose(v);
    // m < 2**53 < MODULUS is already reduced; times 2**e is a rotation by e mod 61.
    let r = e.rem_euclid(HASH_BITS as i32) as u32;
    signed(rotate61(m, r), negative)
}

// ---------------------------------------------------------------------------------------------
// Tuples
// ---------------------------------------------------------------------------------------------

const XXPRIME_1: u64 = 11_400_714_785_074_694_791;
const XXPRIME_2: u64 = 14_029_467_366_897_019_727;
const XXPRIME_5: u64 = 2_870_177_450_012_600_261;

/// `hash(t)` for a tuple, given the hashes of its elements in order (CPython 3.8+'s
/// xxHash-based `tuplehash`).
///
/// `items` yields the element hashes, which the caller computes (an unhashable element is
/// the caller's error to raise before calling this); like every `hash()` result they are
/// never `-1`. The tuple's length is the number of items yielded: nothing is collected, the
/// count only enters at the end. `hash(())` is `5740354900026072187`.
///
/// ```
/// use molt_state::hash::{hash_int, hash_tuple};
///
/// // hash((1, (2, 3)))
/// let inner = hash_tuple([hash_int(2), hash_int(3)]);
/// assert_eq!(hash_tuple([hash_int(1), inner]), hash_tuple([1, inner]));
/// ```
#[inline]
pub fn hash_tuple<I: IntoIterator<Item = i64>>(items: I) -> i64 {
    let mut acc = XXPRIME_5;
    let mut len: u64 = 0;
    for lane in items {
        acc = acc.wrapping_add((lane as u64).wrapping_mul(XXPRIME_2));
        acc = acc.rotate_left(31);
        acc = acc.wrapping_mul(XXPRIME_1);
        len += 1;
    }
    // The length, mangled so that hash(()) keeps its historical value.
    acc = acc.wrapping_add(len ^ (XXPRIME_5 ^ 3_527_539));
    if acc == u64::MAX {
        1_546_275_796
    } else {
        acc as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcg_seed_1_matches_bootstrap_hash_c() {
        // x = 1; x = x * 214013 + 2531011 (mod 2**32); byte = (x >> 16) & 0xff, 24 times.
        let mut buf = [0u8; 24];
        lcg_urandom(1, &mut buf);
        assert_eq!(
            buf,
            [
                0x29, 0x23, 0xbe, 0x84, 0xe1, 0x6c, 0xd6, 0xae, 0x52, 0x90, 0x49, 0xf1, 0xf1, 0xbb,
                0xe9, 0xeb, 0xb3, 0xa6, 0xdb, 0x3c, 0x87, 0x0c, 0x3e, 0x99,
            ]
        );
        let secret = HashSecret::new(HashSeed::Fixed(1)).unwrap();
        assert_eq!(
            secret.keys(),
            (0xaed6_6ce1_84be_2329, 0xebe9_bbf1_f149_9052)
        );
    }

    #[test]
    fn lcg_first_step() {
        // Seed 0 is never fed to the LCG by HashSecret, but the generator is total.
        let mut b = [0u8; 1];
        lcg_urandom(0, &mut b);
        assert_eq!(b[0], (2_531_011u32 >> 16) as u8);
        lcg_urandom(u32::MAX, &mut b);
        assert_eq!(
            b[0],
            (u32::MAX.wrapping_mul(214_013).wrapping_add(2_531_011) >> 16) as u8
        );
    }

    #[test]
    fn seed_zero_has_zero_keys() {
        assert_eq!(HashSecret::new(HashSeed::Fixed(0)).unwrap().keys(), (0, 0));
    }

    #[test]
    fn debug_hides_keys() {
        let s = HashSecret::new(HashSeed::Fixed(1)).unwrap();
        let d = format!("{s:?}");
        assert_eq!(d, "HashSecret(..)");
        assert!(!d.contains(&format!("{}", s.keys().0)));
    }

    #[test]
    fn reductions() {
        assert_eq!(reduce_u64(MODULUS), 0);
        assert_eq!(reduce_u64(MODULUS - 1), MODULUS - 1);
        assert_eq!(reduce_u64(u64::MAX), 7);
        assert_eq!(hash_i128(i128::MAX), hash_i128_slow(i128::MAX));
        assert_eq!(hash_i128(i128::MIN), hash_i128_slow(i128::MIN));
        for n in [
            0,
            1,
            -1,
            7,
            MODULUS as i128,
            -(MODULUS as i128) - 1,
            1 << 122,
        ] {
            assert_eq!(hash_i128(n), hash_i128_slow(n), "{n}");
        }
    }

    fn hash_i128_slow(n: i128) -> i64 {
        let x = (n.unsigned_abs() % MODULUS as u128) as i64;
        not_minus_one(if n < 0 { -x } else { x })
    }

    /// C's `frexp` for finite doubles, exactly, from the bits: `v == m * 2**e` with
    /// `0.5 <= |m| < 1` (or `m == ±0`, `e == 0`).
    fn frexp(v: f64) -> (f64, i32) {
        if v == 0.0 {
            return (v, 0);
        }
        let (negative, mut mant, mut exp) = decompose(v);
        // Normalize the integer mantissa to exactly 53 bits (subnormals have fewer).
        let shift = mant.leading_zeros() - 11;
        mant <<= shift;
        exp -= shift as i32;
        // mant * 2**-53 is in [0.5, 1): exact, as mant < 2**53.
        let m = f64::from_bits((1022u64 << 52) | (mant & ((1 << 52) - 1)));
        (if negative { -m } else { m }, exp + 53)
    }

    /// `_Py_HashDouble` transcribed step by step (28 bits of mantissa at a time, then the
    /// exponent as a rotation), to cross-check the closed form of `hash_float`.
    fn hash_float_reference(v: f64) -> i64 {
        if v.is_nan() {
            return 0;
        }
        if v.is_infinite() {
            return if v > 0.0 { HASH_INF } else { -HASH_INF };
        }
        let (mut m, mut e) = frexp(v);
        let negative = m < 0.0;
        if negative {
            m = -m;
        }
        let mut x: u64 = 0;
        while m != 0.0 {
            x = ((x << 28) & MODULUS) | (x >> (HASH_BITS - 28));
            m *= 268_435_456.0; // 2**28
            e -= 28;
            let y = m as u64;
            m -= y as f64;
            x += y;
            if x >= MODULUS {
                x -= MODULUS;
            }
        }
        let bits = HASH_BITS as i32;
        let e = if e >= 0 {
            e % bits
        } else {
            bits - 1 - ((-1 - e) % bits)
        } as u32;
        let x = ((x << e) & MODULUS) | (x >> (HASH_BITS - e));
        signed(x, negative)
    }

    #[test]
    fn frexp_is_exact() {
        for (v, m, e) in [
            (1.0, 0.5, 1),
            (0.5, 0.5, 0),
            (-3.0, -0.75, 2),
            (f64::from_bits(1), 0.5, -1073),
            (f64::MAX, 1.0 - f64::EPSILON / 2.0, 1024),
            (f64::MIN_POSITIVE, 0.5, -1021),
        ] {
            assert_eq!(frexp(v), (m, e), "{v:e}");
        }
    }

    #[test]
    fn closed_form_matches_the_loop() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e-310,
            f64::from_bits(1),
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            (1u64 << 61) as f64,
            ((1u64 << 61) - 512) as f64,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for v in specials {
            assert_eq!(hash_float(v), hash_float_reference(v), "{v:e}");
        }
        // A cheap deterministic spread of bit patterns (xorshift), all exponents included.
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..if cfg!(miri) { 64 } else { 20_000 } {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = f64::from_bits(s);
            assert_eq!(hash_float(v), hash_float_reference(v), "{v:e}");
        }
    }

    #[test]
    fn streaming_units_match_one_shot() {
        let secret = HashSecret::new(HashSeed::Fixed(42)).unwrap();
        // Lengths around the chunk size, for every kind.
        for (c, w) in [('é', 1usize), ('ж', 2), ('😀', 4)] {
            for len in [1usize, 31, 32, 33, 127, 128, 129, 300] {
                let s: String = core::iter::repeat_n(c, len).collect();
                let mut encoded = Vec::new();
                for ch in s.chars() {
                    encoded.extend_from_slice(&u32::from(ch).to_le_bytes()[..w]);
                }
                assert_eq!(
                    hash_str(&secret, &s),
                    hash_bytes(&secret, &encoded),
                    "{c} x{len}"
                );
            }
        }
    }
}

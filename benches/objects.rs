//! Object-model hot paths, each next to a baseline measured in the same run.
//!
//! * `lookup/*`: attribute lookup on a class. `method_cache_hit` is what a repeated lookup
//!   (every method call) pays; `mro_walk_miss` is the walk a cache miss pays, for a name
//!   found at the end of a 6-class MRO (`UnicodeDecodeError.__eq__`, defined on `object`).
//!   Baseline: one `HashMap<u32, u64>` lookup (foldhash), i.e. a plain dict lookup. Each
//!   result is reduced to a `u64` before `black_box`, so all three pay the same to keep it.
//! * `call_method/*`: `s.__len__()` end to end through the method cache and the native
//!   method table, vs calling the same native-style function directly.
//! * `hash/*`: `hash("hello world")` as CPython 3.11 computes it (PEP 393 width detection
//!   plus SipHash-1-3), vs the bare SipHash-1-3 of the same bytes (the floor).
//! * `int/*`: `int.__add__`/`int.__mul__` of small ints through the method cache (the
//!   NaN-boxed fast path; big-int code is reached only on overflow or a big operand), and
//!   the product of two 1000-digit big ints (`10**999 + 7`, `10**999 + 9`), which
//!   allocates the result in the heap and frees it. CPython 3.11 on the same machine:
//!   `python3 -m timeit -s "a=10**999+7; b=10**999+9" "a*b"` (figures: BENCHMARKS.md).
//!
//! Run: `cargo bench --bench objects`.

use criterion::{Criterion, criterion_group, criterion_main};
use molt_state::hash::{HashSecret, HashSeed, hash_str};
use molt_state::intern::sym;
use molt_state::{Config, Runtime};
use std::hash::Hasher;
use std::hint::black_box;

fn config() -> Config {
    Config {
        read_env: false,
        track_allocations: Some(false),
        hash_seed: Some(HashSeed::Fixed(0)),
        ..Config::default()
    }
}

fn lookup(c: &mut Criterion) {
    let rt = Runtime::new(config());
    let mut g = rt.gil();
    let str_cls = g.builtin_class("str").unwrap();
    let deep = g.builtin_class("UnicodeDecodeError").unwrap();
    assert!(g.class_lookup(str_cls, sym::upper).is_some());
    assert!(g.class_lookup_uncached(deep, sym::__eq__).is_some());

    let mut group = c.benchmark_group("lookup");
    let map: hashbrown::HashMap<u32, u64> = (0..64u32).map(|i| (i * 7, u64::from(i))).collect();
    group.bench_function("baseline_hashmap_get", |b| {
        b.iter(|| black_box(map.get(black_box(&(21 * 7))).map_or(0, |v| *v)))
    });
    group.bench_function("method_cache_hit", |b| {
        b.iter(|| {
            let v = g.class_lookup(black_box(str_cls), black_box(sym::upper));
            black_box(v.map_or(0, |v| v.to_bits()))
        })
    });
    group.bench_function("mro_walk_miss", |b| {
        b.iter(|| {
            let v = g.class_lookup_uncached(black_box(deep), black_box(sym::__eq__));
            black_box(v.map_or(0, |v| v.to_bits()))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("call_method");
    let s = g.str("hello world").unwrap();
    fn direct_len(text: &str) -> usize {
        if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        }
    }
    group.bench_function("baseline_direct_fn", |b| {
        b.iter(|| black_box(direct_len(black_box("hello world"))))
    });
    group.bench_function("str_len_via_method_cache", |b| {
        b.iter(|| black_box(g.call_method_sym(black_box(s), sym::__len__, &[]).unwrap()))
    });
    group.finish();
    g.decref(s).unwrap();
}

fn hashing(c: &mut Criterion) {
    let secret = HashSecret::new(HashSeed::Fixed(0)).unwrap();
    let (k0, k1) = secret.keys();
    let mut group = c.benchmark_group("hash");
    group.bench_function("baseline_siphash13_bytes", |b| {
        b.iter(|| {
            let mut h = siphasher::sip::SipHasher13::new_with_keys(k0, k1);
            h.write(black_box(b"hello world"));
            black_box(h.finish())
        })
    });
    group.bench_function("cpython_hash_short_str", |b| {
        b.iter(|| black_box(hash_str(&secret, black_box("hello world"))))
    });
    group.finish();
}

/// `int` arithmetic through the method cache and the int method table (`call_method_sym`):
/// small ints (the NaN-boxed fast path) and the product of two 1000-digit big ints.
/// CPython 3.11 beside it: `python3 -m timeit -s "a=10**999+7; b=10**999+9" "a*b"`.
fn ints(c: &mut Criterion) {
    let rt = Runtime::new(config());
    let mut g = rt.gil();
    let mut group = c.benchmark_group("int");
    let (x, y) = (g.int(123_456).unwrap(), g.int(789).unwrap());
    group.bench_function("small_add", |b| {
        b.iter(|| {
            black_box(
                g.call_method_sym(black_box(x), sym::__add__, &[black_box(y)])
                    .unwrap(),
            )
        })
    });
    group.bench_function("small_mul", |b| {
        b.iter(|| {
            black_box(
                g.call_method_sym(black_box(x), sym::__mul__, &[black_box(y)])
                    .unwrap(),
            )
        })
    });
    // Two 1000-digit ints (10**999 + 7 and 10**999 + 9), multiplied through `int.__mul__`.
    let a = g
        .int_from_str(&format!("1{}7", "0".repeat(998)), 10)
        .unwrap();
    let b2 = g
        .int_from_str(&format!("1{}9", "0".repeat(998)), 10)
        .unwrap();
    group.bench_function("big_mul_1000_digits", |b| {
        b.iter(|| {
            let r = g
                .call_method_sym(black_box(a), sym::__mul__, &[black_box(b2)])
                .unwrap();
            g.decref(r).unwrap();
        })
    });
    group.finish();
    g.decref(a).unwrap();
    g.decref(b2).unwrap();
}

criterion_group!(benches, lookup, hashing, ints);
criterion_main!(benches);

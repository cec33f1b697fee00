//! Big ints: the vectors CPython 3.11 produced (`tests/data/int_vectors.txt`, from
//! `scripts/gen_int_vectors.py`) run through the Rust API, plus the heap object's lifecycle
//! (normalization, reference counts, per-kind accounting, teardown) and the crate-internal
//! entry points the C ABI will call.

use crate::{caught, test_config};
use molt_state::hash::HashSeed;
use molt_state::value::{SMALL_INT_MAX, SMALL_INT_MIN, Unpacked};
use molt_state::{Config, Gil, Runtime, Value};
use std::collections::HashMap;

/// Embedded, not read from disk: Miri runs these tests with isolation on.
const VECTORS: &str = include_str!("../data/int_vectors.txt");

/// Under Miri, one case in this many runs (the file groups the cases by operation, so every
/// operation with that many cases is sampled)...
const MIRI_STRIDE: usize = 2000;
/// ... if its line is at most this long and its operands at most this many hex digits (the
/// arithmetic of long operands is what makes Miri slow; natively every case runs).
const MIRI_MAX_LINE: usize = 200;
const MIRI_MAX_OPERAND: usize = 80;

fn config(seed: u32) -> Config {
    Config {
        hash_seed: Some(HashSeed::Fixed(seed)),
        ..test_config()
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn float_of(hex: &str) -> f64 {
    f64::from_bits(u64::from_str_radix(hex, 16).unwrap())
}

fn is_small(v: Value) -> bool {
    matches!(v.unpack(), Unpacked::Int(_))
}

/// A parsed argument: a value (owned), a str, or a base.
enum Arg {
    Val(Value),
    Text(String),
    Base(u32),
}

struct Case<'a> {
    line: usize,
    op: &'a str,
    args: &'a str,
    expected: &'a str,
}

/// Checks `got` (the call's result) against `expected`; returns a mismatch description.
fn verdict(g: &mut Gil<'_>, got: Result<Value, ()>, expected: &str) -> Option<String> {
    let (kind, payload) = expected.split_once(':').expect("kind:payload");
    let got = match got {
        Err(()) => {
            let d = caught(g);
            if kind != "e" {
                return Some(format!("raised {d}"));
            }
            let (class, msg) = payload.split_once(':').unwrap();
            let want = if msg.is_empty() {
                class.to_owned()
            } else {
                format!("{class}: {msg}")
            };
            return (d != want).then(|| format!("raised {d:?}, want {want:?}"));
        }
        Ok(v) => v,
    };
    let shown = g.repr(got).unwrap_or_else(|_| {
        let _ = caught(g);
        "<unrepresentable>".into()
    });
    let bad = match kind {
        "e" => Some(format!("returned {shown}")),
        "n" => (got != Value::NOT_IMPLEMENTED).then(|| format!("returned {shown}")),
        "b" => (got != Value::bool(payload == "1")).then(|| format!("returned {shown}")),
        "f" => match got.unpack() {
            Unpacked::Float(f) if f.to_bits() == float_of(payload).to_bits() => None,
            // Every NaN is canonical here; CPython's may carry a sign.
            Unpacked::Float(f) if f.is_nan() && float_of(payload).is_nan() => None,
            _ => Some(format!("returned {shown}, want {}", float_of(payload))),
        },
        "s" => {
            let ok = g.str_text(got).is_ok_and(|t| t == payload);
            (!ok).then(|| format!("returned {shown:.200}"))
        }
        "i" => int_mismatch(g, got, payload),
        "y" => {
            let ok = g.bytes_data(got).is_ok_and(|b| b == unhex(payload));
            (!ok).then(|| format!("returned {shown:.200}"))
        }
        "p" => {
            let (q, r) = payload.split_once(',').unwrap();
            match g.items(got) {
                Ok(items) if items.len() == 2 && g.type_name(got).unwrap() == "tuple" => {
                    int_mismatch(g, items[0], q).or_else(|| int_mismatch(g, items[1], r))
                }
                _ => Some(format!("returned {shown}, want a pair")),
            }
        }
        k => panic!("unknown result kind {k:?}"),
    };
    g.decref(got).unwrap();
    bad
}

/// Whether `got` is an int (exactly, not a bool) equal to the hex `want`, small exactly when
/// it fits the small-int range.
fn int_mismatch(g: &mut Gil<'_>, got: Value, want: &str) -> Option<String> {
    let w = g.int_from_str(want, 16).unwrap();
    let same = g.type_name(got).unwrap() == "int" && g.eq(got, w).unwrap();
    let normalized = is_small(got) == is_small(w);
    let r = if same && normalized {
        None
    } else {
        let shown = g.repr(got).unwrap_or_default();
        Some(format!(
            "returned {shown:.300} (small: {}), want 0x{want:.300}",
            is_small(got)
        ))
    };
    g.decref(w).unwrap();
    r
}

/// The operand table, each operand made (from its hex) when a case first uses it: under Miri
/// only the cases run pay for theirs.
struct Operands<'a> {
    hex: &'a [&'a str],
    made: Vec<Option<Value>>,
}

impl Operands<'_> {
    fn get(&mut self, g: &mut Gil<'_>, i: usize) -> Value {
        *self.made[i].get_or_insert_with(|| g.int_from_str(self.hex[i], 16).unwrap())
    }

    fn release(self, g: &mut Gil<'_>) {
        for v in self.made.into_iter().flatten() {
            g.decref(v).unwrap();
        }
    }
}

fn run_case(g: &mut Gil<'_>, operands: &mut Operands<'_>, c: &Case<'_>) -> Option<String> {
    let mut args = Vec::new();
    for a in c.args.split(',') {
        let (tag, rest) = a.split_at(1);
        args.push(match tag {
            "#" => {
                let v = operands.get(g, rest.parse::<usize>().unwrap());
                g.incref(v).unwrap();
                Arg::Val(v)
            }
            "f" => Arg::Val(Value::float(float_of(rest))),
            "T" => Arg::Val(Value::TRUE),
            "F" => Arg::Val(Value::FALSE),
            "s" => Arg::Text(String::from_utf8(unhex(rest)).unwrap()),
            "r" => Arg::Text(rest.to_owned()),
            "q" => Arg::Val(g.str(rest).unwrap()),
            "y" => Arg::Val(g.bytes(&unhex(rest)).unwrap()),
            "n" => Arg::Base(rest.parse().unwrap()),
            t => panic!("line {}: unknown argument {t:?}", c.line),
        });
    }
    let vals: Vec<Value> = args
        .iter()
        .filter_map(|a| match a {
            Arg::Val(v) => Some(*v),
            _ => None,
        })
        .collect();
    let result = if let Some(m) = c.op.strip_prefix("int.").or(c.op.strip_prefix("float.")) {
        let name = if matches!(m, "bit_length" | "to_bytes" | "from_bytes") {
            m.to_owned()
        } else {
            format!("__{m}__")
        };
        let cls = if c.op.starts_with("int.") {
            "int"
        } else {
            "float"
        };
        // The method of that class, called unbound (self first), as the generator did.
        let class = g.builtin_class(cls).unwrap();
        match g.getattr(class, &name) {
            Ok(f) => {
                let r = g.call(f, &vals);
                g.decref(f).unwrap();
                r
            }
            Err(e) => Err(e),
        }
    } else if c.op == "int()" || c.op == "float()" {
        let class = g.builtin_class(&c.op[..c.op.len() - 2]).unwrap();
        g.call(class, &vals)
    } else if c.op.starts_with("hash@") {
        g.hash(vals[0]).and_then(|h| g.int(h))
    } else if c.op == "repr" {
        g.repr(vals[0]).and_then(|s| g.str(&s))
    } else if c.op == "from_str" {
        let (Arg::Text(s), Arg::Base(b)) = (&args[0], &args[1]) else {
            panic!("line {}: from_str needs a str and a base", c.line)
        };
        g.int_from_str(s, *b)
    } else {
        panic!("line {}: unknown op {:?}", c.line, c.op)
    };
    let bad = verdict(g, result.map_err(|_| ()), c.expected);
    for v in vals {
        g.decref(v).unwrap();
    }
    bad.map(|b| format!("line {}: {} {}: {b}", c.line, c.op, c.args))
}

#[test]
// Under Miri even a 1-in-2000 sample did not finish in 20 minutes (the cost is fixed: the
// 5.8 MB vector file is read and scanned whole); the native run checks every case, and the
// constructors and unit tests cover the big-int paths under Miri.
#[cfg_attr(
    miri,
    ignore = "reads and scans a 5.8 MB vector file: does not finish under Miri"
)]
fn cpython_vectors() {
    let mut table: Vec<&str> = Vec::new();
    let mut cases: Vec<Case<'_>> = Vec::new();
    // Every operation has its cases (the count per operation is the generator's).
    let mut per_op: HashMap<&str, usize> = HashMap::new();
    let mut seen = 0usize;
    for (i, l) in VECTORS.lines().enumerate() {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        // Split off the short fields first: Miri is slow at scanning the long ones.
        let (op, rest) = l.split_once('\t').unwrap();
        if op == "v" {
            let (index, hex) = rest.split_once('\t').unwrap();
            assert_eq!(
                index.parse::<usize>().unwrap(),
                table.len(),
                "line {}",
                i + 1
            );
            table.push(hex);
            continue;
        }
        seen += 1;
        if cfg!(miri) {
            // Under Miri: a sample, on short operands.
            if seen % MIRI_STRIDE != 1 || l.len() > MIRI_MAX_LINE {
                continue;
            }
        } else {
            *per_op.entry(op).or_default() += 1;
        }
        let (args, expected) = rest.split_once('\t').unwrap();
        let long_operand = || {
            args.split(',')
                .filter_map(|a| a.strip_prefix('#'))
                .any(|k| table[k.parse::<usize>().unwrap()].len() > MIRI_MAX_OPERAND)
        };
        if cfg!(miri) && long_operand() {
            continue;
        }
        cases.push(Case {
            line: i + 1,
            op,
            args,
            expected,
        });
    }
    if !cfg!(miri) {
        assert!(per_op["int.add"] >= 2000 && per_op["hash@12345"] >= 2000);
        assert!(per_op.len() >= 60, "{per_op:?}");
    }

    let mut failures = Vec::new();
    let mut ran = 0;
    for seed in [0u32, 1, 12345] {
        let rt = Runtime::new(config(seed));
        let mut g = rt.gil();
        let base = g.live_objects();
        let mut operands = Operands {
            hex: &table,
            made: vec![None; table.len()],
        };
        for c in &cases {
            // Hash cases run under their seed; everything else under seed 0.
            let want_seed = c.op.strip_prefix("hash@").map_or(0, |s| s.parse().unwrap());
            if want_seed != seed {
                continue;
            }
            ran += 1;
            if let Some(f) = run_case(&mut g, &mut operands, c) {
                failures.push(f);
            }
        }
        operands.release(&mut g);
        g.clear_last_exception();
        assert_eq!(
            g.live_objects(),
            base,
            "every result and operand was released"
        );
        drop(g);
        let report = rt.shutdown().unwrap();
        assert!(report.leaks.is_empty(), "{report}");
    }
    assert!(ran > 0);
    assert!(
        failures.is_empty(),
        "{} of {ran} cases failed:\n{}",
        failures.len(),
        failures[..failures.len().min(400)].join("\n")
    );
}

#[test]
fn normalization_and_lifecycle() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let base = g.live_objects();
    let max = g.int(SMALL_INT_MAX).unwrap();
    let one = g.int(1).unwrap();
    // Overflow of the small-int fast path makes a big int...
    let big = g.call_method(max, "__add__", &[one]).unwrap();
    assert!(!is_small(big));
    assert_eq!(g.repr(big).unwrap(), (SMALL_INT_MAX + 1).to_string());
    assert_eq!(g.type_name(big).unwrap(), "int");
    assert_eq!(g.live_objects(), base + 1);
    assert_eq!(g.refcount(big), Some(1));
    // ... and a result back in range is a small int again.
    let back = g.call_method(big, "__sub__", &[one]).unwrap();
    assert!(is_small(back));
    assert_eq!(back, max);
    // Gil::int beyond the small-int range allocates a big int.
    let min1 = g.int(SMALL_INT_MIN - 1).unwrap();
    assert!(!is_small(min1));
    assert_eq!(g.as_i64(min1).unwrap(), SMALL_INT_MIN - 1);
    let huge = g.int_from_str("1", 10).unwrap();
    assert!(is_small(huge));
    let huge = g
        .int_from_str("123456789012345678901234567890", 10)
        .unwrap();
    assert!(g.as_i64(huge).is_err());
    assert_eq!(
        caught(&mut g),
        "OverflowError: Python int too large to convert to C long"
    );
    let s = g.int_to_str(huge).unwrap();
    assert_eq!(g.str_text(s).unwrap(), "123456789012345678901234567890");
    g.decref(s).unwrap();
    // Big ints as dict keys: equal hashes and equality across small/big/float.
    let d = g.dict().unwrap();
    g.dict_set(d, huge, Value::TRUE).unwrap();
    let same = g.int_from_str("0x18ee90ff6c373e0ee4e3f0ad2", 0).unwrap();
    assert_eq!(g.dict_get(d, same).unwrap(), Some(Value::TRUE));
    let f = Value::float((1u64 << 60) as f64); // exact (Miri perturbs powi)
    let p60 = g.int_from_str("1152921504606846976", 10).unwrap();
    assert!(g.eq(f, p60).unwrap());
    assert_eq!(g.hash(f).unwrap(), g.hash(p60).unwrap());
    let f53 = Value::float(9007199254740993.0); // rounds to 2**53
    let i53 = g.int_from_str("9007199254740993", 10).unwrap();
    assert!(!g.eq(f53, i53).unwrap());
    assert!(g.truthy(huge).unwrap());
    // Freed big ints leave nothing behind; a stale one is rejected.
    for v in [big, min1, huge, same, p60, i53, d] {
        g.decref(v).unwrap();
    }
    g.clear_last_exception();
    assert_eq!(g.live_objects(), base);
    assert!(g.repr(big).is_err());
    assert!(caught(&mut g).starts_with("ReferenceError"));
    // One kept alive is reclaimed at teardown, counted as an int.
    let kept = g.int(SMALL_INT_MAX).unwrap();
    let kept = g.call_method(kept, "__mul__", &[kept]).unwrap();
    assert!(!is_small(kept));
    drop(g);
    let report = rt.shutdown().unwrap();
    assert!(report.leaks.is_empty(), "{report}");
    assert!(
        report
            .reclaimed
            .iter()
            .any(|o| o.owner == "int" && o.items == 1),
        "{report}"
    );
    let ints = report
        .registry
        .iter()
        .find(|k| k.name == "object.int")
        .expect("counted per kind");
    assert!(ints.allocs == 7 && ints.allocs == ints.frees, "{ints:?}");
}

#[test]
fn digit_limit_and_sys() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    assert_eq!(g.int_max_str_digits(), 4300);
    let sys = g.import_module("sys").unwrap();
    let n = g.int(5000).unwrap();
    let r = g.call_method(sys, "set_int_max_str_digits", &[n]).unwrap();
    assert_eq!(r, Value::NONE);
    assert_eq!(g.int_max_str_digits(), 5000);
    let long = "7".repeat(4500);
    let v = g.int_from_str(&long, 10).unwrap();
    assert_eq!(g.repr(v).unwrap(), long);
    let got = g.call_method(sys, "get_int_max_str_digits", &[]).unwrap();
    assert_eq!(g.as_i64(got).unwrap(), 5000);
    let small = g.int(5).unwrap();
    assert!(
        g.call_method(sys, "set_int_max_str_digits", &[small])
            .is_err()
    );
    assert_eq!(
        caught(&mut g),
        "ValueError: maxdigits must be 0 or larger than 640"
    );
    g.set_int_max_str_digits(4300).unwrap();
    assert!(g.repr(v).is_err());
    assert_eq!(
        caught(&mut g),
        "ValueError: Exceeds the limit (4300 digits) for integer string conversion; use \
         sys.set_int_max_str_digits() to increase the limit"
    );
    g.set_int_max_str_digits(0).unwrap();
    assert_eq!(g.repr(v).unwrap().len(), 4500);
    g.decref(v).unwrap();
    g.decref(sys).unwrap();
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

#[test]
fn constructors() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let int = g.builtin_class("int").unwrap();
    let float = g.builtin_class("float").unwrap();
    let s = g.str("123456789012345678901234567890").unwrap();
    let v = g.call(int, &[s]).unwrap();
    assert_eq!(g.repr(v).unwrap(), "123456789012345678901234567890");
    let same = g.call(int, &[v]).unwrap();
    assert!(g.eq(v, same).unwrap());
    let f = g.call(float, &[v]).unwrap();
    assert_eq!(f, Value::float(1.2345678901234568e29));
    let back = g.call(int, &[Value::float(1e30)]).unwrap();
    assert_eq!(g.repr(back).unwrap(), "1000000000000000019884624838656");
    for x in [s, v, same, back] {
        g.decref(x).unwrap();
    }
    drop(g);
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

/// `int(x)` and `int(x, base)` through the `int` constructor, with Unicode digits and
/// spaces. Expected values and messages are CPython 3.11's (python3 -c "int(...)").
#[test]
fn int_constructor_with_a_base_and_unicode_digits() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let int = g.builtin_class("int").unwrap();
    let call = |g: &mut Gil<'_>, args: &[Value]| -> String {
        match g.call(int, args) {
            Ok(v) => {
                let r = g.repr(v).unwrap();
                g.decref(v).unwrap();
                r
            }
            Err(_) => caught(g),
        }
    };
    let s = |g: &mut Gil<'_>, t: &str| g.str(t).unwrap();
    let i = |n: i64| Value::int(n).unwrap();
    let cases: Vec<(Vec<Value>, &str)> = vec![
        (vec![s(&mut g, "z"), i(36)], "35"),
        (vec![s(&mut g, " \u{0661}\u{0665} ")], "15"),
        (vec![s(&mut g, "\u{0661}\u{0662}"), i(0)], "12"),
        (vec![s(&mut g, "0x\u{0661}\u{0662}"), i(0)], "18"),
        (vec![s(&mut g, "\u{a0}12\u{2003}")], "12"),
        (vec![s(&mut g, "ff_ff"), i(16)], "65535"),
        (
            vec![s(&mut g, "\x1c5")],
            "ValueError: invalid literal for int() with base 10: '\\x1c5'",
        ),
        (
            vec![i(5), Value::float(1.5)],
            "TypeError: 'float' object cannot be interpreted as an integer",
        ),
        (
            vec![i(5), i(10)],
            "TypeError: int() can't convert non-string with explicit base",
        ),
        (
            vec![s(&mut g, "1"), i(-1)],
            "ValueError: int() base must be >= 2 and <= 36, or 0",
        ),
        (
            vec![s(&mut g, "12"), Value::TRUE],
            "ValueError: int() base must be >= 2 and <= 36, or 0",
        ),
        (
            vec![s(&mut g, "1"), i(37)],
            "ValueError: int() base must be >= 2 and <= 36, or 0",
        ),
    ];
    for (args, want) in cases {
        let got = call(&mut g, &args);
        assert_eq!(got, want, "int{args:?}");
        for a in args {
            g.decref(a).unwrap();
        }
    }
}

/// A big int as a subscript is CPython's IndexError, as a size or position argument its
/// OverflowError (python3: `[1, 2][2**70]`, `[1].pop(2**70)`, `"a b".split(None, 2**70)`).
#[test]
fn big_ints_as_indices() {
    let rt = Runtime::new(test_config());
    let mut g = rt.gil();
    let big = g.int_from_str("1180591620717411303424", 10).unwrap(); // 2**70
    let one = Value::int(1).unwrap();
    let list = g.list(&[one, one]).unwrap();
    let text = g.str("a b").unwrap();
    for (obj, name, args, want) in [
        (
            list,
            "__getitem__",
            vec![big],
            "IndexError: cannot fit 'int' into an index-sized integer",
        ),
        (
            list,
            "__setitem__",
            vec![big, one],
            "IndexError: cannot fit 'int' into an index-sized integer",
        ),
        (
            list,
            "pop",
            vec![big],
            "OverflowError: Python int too large to convert to C ssize_t",
        ),
        (
            text,
            "split",
            vec![Value::NONE, big],
            "OverflowError: Python int too large to convert to C ssize_t",
        ),
    ] {
        assert!(g.call_method(obj, name, &args).is_err(), "{name}");
        assert_eq!(caught(&mut g), want, "{name}");
    }
    for v in [big, list, text] {
        g.decref(v).unwrap();
    }
}

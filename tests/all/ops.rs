//! Op-sequence property test: random sequences of operations over the Rust API and the C
//! ABI, checked against a model of the references the sequence owns (see `ops/lang.rs`, the
//! op language and its interpreter, shared with the cargo-fuzz target in `fuzz/`).
//!
//! Invariants: no panic; every failure is a clean error; freed, stale and foreign values are
//! rejected and live ones never are; with no C runtime every entry point says so; every
//! shutdown's teardown report has an empty leak report and counts what was live.

mod lang;

use lang::{COp, Op, Stats};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use std::cell::RefCell;

/// Cases and ops per sequence: a few seconds natively in debug. Under Miri a case costs
/// ~15 s, so four short cases (the fixed sequence below covers every kind of op there).
///
/// The sequences come from a fixed seed, so a CI run is reproducible; set
/// `PROPTEST_RNG_SEED=<n>` for other ones (the cargo-fuzz target in fuzz/ explores freely).
fn cases() -> ProptestConfig {
    let base = ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 1024 });
    let rng_seed = if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
        base.rng_seed
    } else {
        proptest::test_runner::RngSeed::Fixed(0x6d6f_6c74)
    };
    ProptestConfig {
        // No failure-persistence files: the test also runs under Miri's isolation.
        failure_persistence: None,
        rng_seed,
        ..base
    }
}

/// The longest sequence generated.
const MAX_OPS: usize = crate::scaled(64, 6);

fn idx() -> impl Strategy<Value = u8> {
    any::<u8>()
}

fn indices() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(idx(), 0..4)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("hello world".to_owned()),
        Just("a,b,c".to_owned()),
        proptest::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        -3i64..40,
        Just(molt_state::value::SMALL_INT_MAX),
        Just(molt_state::value::SMALL_INT_MIN),
        Just(molt_state::value::SMALL_INT_MAX + 1), // OverflowError
        any::<i64>(),
    ]
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![Just(f64::NAN), Just(-0.0), any::<f64>()]
}

/// Nesting depths: around and far past the default recursion limit (1000), and shallow.
/// Under Miri only a few shallow and one past the limit (each level is an allocation).
fn depth() -> impl Strategy<Value = u16> {
    if cfg!(miri) {
        prop_oneof![Just(0u16), Just(3), Just(2100)].boxed()
    } else {
        prop_oneof![
            0u16..20,
            Just(498),
            Just(999),
            Just(1000),
            Just(1001),
            Just(5000),
            Just(u16::MAX)
        ]
        .boxed()
    }
}

/// Digits for `molt_int_from_str`: valid in some base, long, Unicode, or junk.
fn digits() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+ ]?[0-9_]{1,40}",
        "[-+]?0[xXoObB][0-9a-fA-F_]{1,30}",
        Just("9".repeat(4301)), // past the 4,300-digit limit: ValueError
        Just("\u{0663}\u{0664}".to_owned()), // Arabic-Indic digits: 34
        Just(" \u{2003}12\u{3000}".to_owned()), // Unicode spaces around
        any::<String>(),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..6)
}

/// Ops over the Rust API.
fn rust_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // lifecycle
        2 => Just(Op::Shutdown),
        2 => Just(Op::Switch),
        // values
        4 => text().prop_map(Op::Str),
        2 => bytes().prop_map(Op::Bytes),
        3 => int().prop_map(Op::Int),
        1 => float().prop_map(Op::Float),
        3 => indices().prop_map(Op::Tuple),
        4 => indices().prop_map(Op::List),
        3 => Just(Op::Dict),
        3 => idx().prop_map(Op::Class),
        1 => indices().prop_map(Op::ClassNew),
        1 => idx().prop_map(Op::Import),
        // references
        3 => idx().prop_map(Op::Incref),
        6 => idx().prop_map(Op::Decref),
        3 => idx().prop_map(Op::OverRelease),
        1 => Just(Op::ReleaseAll),
        // containers and cycles
        3 => (idx(), idx()).prop_map(|(list, item)| Op::Append { list, item }),
        2 => idx().prop_map(Op::SelfCycle),
        3 => (idx(), idx(), idx()).prop_map(|(dict, key, value)| Op::DictSet { dict, key, value }),
        2 => (idx(), idx()).prop_map(|(dict, key)| Op::DictGet { dict, key }),
        2 => (idx(), any::<i8>()).prop_map(|(seq, index)| Op::GetItem { seq, index }),
        1 => idx().prop_map(Op::Items),
        // hostile shapes
        1 => (any::<u8>(), depth()).prop_map(|(kind, depth)| Op::Deep { kind, depth }),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(dict, how)| Op::SelfCompare { dict, how }),
        1 => any::<u8>().prop_map(Op::RecursionLimit),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(room, how)| Op::Exhaust { room, how }),
        // attributes and calls
        4 => (idx(), idx()).prop_map(|(obj, name)| Op::GetAttr { obj, name }),
        2 => (idx(), idx(), idx()).prop_map(|(obj, name, value)| Op::SetAttr { obj, name, value }),
        4 => (idx(), idx(), indices()).prop_map(|(obj, name, args)| Op::CallMethod { obj, name, args }),
        3 => (idx(), indices()).prop_map(|(callable, args)| Op::Call { callable, args }),
        // queries
        2 => idx().prop_map(Op::Len),
        2 => idx().prop_map(Op::Repr),
        2 => idx().prop_map(Op::Hash),
        1 => (idx(), idx()).prop_map(|(a, b)| Op::Eq(a, b)),
        1 => idx().prop_map(Op::Truthy),
        // exceptions
        2 => (idx(), text()).prop_map(|(class, message)| Op::Raise { class, message }),
        2 => idx().prop_map(Op::RaiseValue),
        2 => Just(Op::Fetch),
        1 => Just(Op::ClearLast),
        // tasks
        2 => any::<u8>().prop_map(Op::TaskSpawn),
        2 => idx().prop_map(Op::TaskJoin),
        1 => idx().prop_map(Op::TaskCancel),
    ]
}

/// Ops over the C ABI.
fn c_op() -> impl Strategy<Value = COp> {
    prop_oneof![
        3 => Just(COp::Init),
        1 => Just(COp::Shutdown),
        3 => text().prop_map(COp::Str),
        1 => bytes().prop_map(COp::Bytes),
        2 => int().prop_map(COp::Int),
        1 => float().prop_map(COp::Float),
        2 => indices().prop_map(COp::Tuple),
        3 => indices().prop_map(COp::List),
        2 => Just(COp::Dict),
        2 => idx().prop_map(COp::Class),
        1 => idx().prop_map(COp::Import),
        2 => idx().prop_map(COp::Incref),
        4 => idx().prop_map(COp::Decref),
        3 => idx().prop_map(COp::OverRelease),
        2 => (idx(), idx(), idx()).prop_map(|(dict, key, value)| COp::DictSet { dict, key, value }),
        1 => (idx(), idx()).prop_map(|(dict, key)| COp::DictGet { dict, key }),
        1 => (idx(), 0u8..4).prop_map(|(seq, index)| COp::TupleGet { seq, index }),
        3 => (idx(), idx()).prop_map(|(obj, name)| COp::GetAttr { obj, name }),
        3 => (idx(), idx(), indices()).prop_map(|(obj, name, args)| COp::CallMethod { obj, name, args }),
        2 => (idx(), indices()).prop_map(|(callable, args)| COp::Call { callable, args }),
        1 => idx().prop_map(COp::Len),
        1 => idx().prop_map(COp::Repr),
        1 => idx().prop_map(COp::Hash),
        2 => (idx(), proptest::option::of(text())).prop_map(|(class, message)| COp::Raise { class, message }),
        2 => idx().prop_map(COp::RaiseValue),
        2 => Just(COp::Fetch),
        1 => Just(COp::Occurred),
        1 => (any::<u64>(), idx()).prop_map(|(bits, entry)| COp::Raw { bits, entry }),
        1 => any::<u8>().prop_map(COp::NullOut),
        1 => (any::<u8>(), any::<u64>()).prop_map(|(entry, count)| COp::HugeCount { entry, count }),
        1 => (any::<bool>(), depth(), any::<u8>())
            .prop_map(|(tuple, depth, query)| COp::Deep { tuple, depth, query }),
        1 => (digits(), any::<u8>()).prop_map(|(digits, base)| COp::BigInt { digits, base }),
        1 => (idx(), idx()).prop_map(|(value, entry)| COp::Foreign { value, entry }),
    ]
}

fn sequence() -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![3 => rust_op(), 2 => c_op().prop_map(Op::C)];
    proptest::collection::vec(op, 1..=MAX_OPS)
}

#[test]
fn random_op_sequences_keep_every_invariant() {
    let totals = RefCell::new(Stats::default());
    let mut runner = TestRunner::new(cases());
    let result = runner.run(&sequence(), |ops| {
        // The C ABI's process-default runtime is shared with tests/all/ffi.rs.
        let _serial = crate::ffi::serial();
        // A panic fails the case (proptest catches it and shrinks the sequence).
        let stats = lang::run(&ops, MAX_OPS);
        totals.borrow_mut().add(&stats);
        Ok(())
    });
    let totals = totals.into_inner();
    eprintln!("ops: {totals:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    if !cfg!(miri) {
        // The sequences reach what they are for (not a guarantee of proptest's generator,
        // but with these weights and case counts a miss means the language broke).
        assert!(totals.rejected > 0, "no stale value was rejected");
        assert!(totals.no_runtime > 0, "no C call without a runtime");
        assert!(totals.shutdowns > 0 && totals.cycles > 0 && totals.reclaimed > 0);
        assert!(totals.recursion_errors > 0, "no RecursionError");
        assert!(totals.memory_errors > 0, "no MemoryError");
        assert!(
            totals.invalid_arguments > 0,
            "no NULL out-pointer or huge count refused"
        );
    }
}

/// A fixed sequence touching each kind of op once (a quick smoke check of the interpreter
/// that does not depend on what proptest generates).
#[test]
fn a_fixed_sequence_through_every_kind_of_op() {
    let _serial = crate::ffi::serial();
    let ops = vec![
        Op::Str("hello world".into()),
        Op::List(vec![0]),
        Op::SelfCycle(1),
        Op::TaskSpawn(1),                // returns a str
        Op::TaskSpawn(4),                // sleeps for an hour
        Op::TaskJoin(0),                 // the str
        Op::TaskJoin(0),                 // joined already: ValueError
        Op::TaskCancel(1),               // the sleeper; shutdown joins it
        Op::GetAttr { obj: 0, name: 1 }, // "split": a bound method
        Op::Call {
            callable: 2,
            args: vec![],
        },
        Op::GetAttr { obj: 0, name: 19 }, // missing: AttributeError
        Op::Raise {
            class: 0,
            message: "boom".into(),
        },
        Op::Fetch,
        Op::RaiseValue(5),
        Op::Fetch,
        Op::Decref(0),
        Op::Shutdown,
        Op::Len(0),      // stale: ReferenceError
        Op::TaskJoin(1), // a task of the dead runtime: ReferenceError
        Op::OverRelease(0),
        Op::Repr(0),
        Op::C(COp::Len(0)), // no C values yet: skipped
        Op::C(COp::Str("x".into())),
        Op::C(COp::Init),
        Op::C(COp::Str("abc".into())),
        Op::C(COp::CallMethod {
            obj: 0,
            name: 0,
            args: vec![],
        }),
        Op::C(COp::Foreign { value: 0, entry: 0 }),
        Op::C(COp::Shutdown),
        Op::C(COp::Decref(0)),
        Op::C(COp::Init),
        Op::C(COp::OverRelease(0)),
        Op::C(COp::Raw {
            bits: u64::MAX,
            entry: 4,
        }),
        // hostile shapes
        Op::C(COp::NullOut(0)),
        Op::C(COp::HugeCount { entry: 2, count: 5 }),
        Op::C(COp::Deep {
            tuple: false,
            depth: 2100,
            query: 0,
        }),
        Op::C(COp::BigInt {
            digits: "-123_456_789_012_345_678_901".into(),
            base: 0,
        }),
        Op::Deep {
            kind: 0,
            depth: 2100,
        },
        Op::SelfCompare {
            dict: false,
            how: 2,
        },
        Op::RecursionLimit(0),
        Op::Exhaust { room: 3, how: 1 },
        Op::ReleaseAll,
    ];
    let stats = lang::run(&ops, usize::MAX);
    assert!(stats.rejected >= 5, "{stats:?}");
    assert!(stats.no_runtime >= 1, "{stats:?}");
    assert!(stats.shutdowns >= 4, "{stats:?}");
    assert_eq!(stats.cycles, 3, "{stats:?}");
    // C repr, Rust == and repr (2,100 deep), a.count(b) of self-referential lists.
    assert_eq!(stats.recursion_errors, 4, "{stats:?}");
    assert_eq!(stats.memory_errors, 1, "{stats:?}");
    assert_eq!(stats.invalid_arguments, 2, "{stats:?}");
}

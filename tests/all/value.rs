//! Property tests of the NaN-boxed value encoding.

use molt_state::value::{
    Kind, MAX_SLOTS, ObjRef, SMALL_INT_MAX, SMALL_INT_MIN, STAMP_BITS, Unpacked, Value,
};
use proptest::prelude::*;

fn cases() -> ProptestConfig {
    ProptestConfig {
        // No failure-persistence files: the tests also run under Miri's isolation.
        failure_persistence: None,
        ..ProptestConfig::with_cases(if cfg!(miri) { 16 } else { 2048 })
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    (0..Kind::ALL.len()).prop_map(|i| Kind::ALL[i])
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn floats_round_trip(bits in any::<u64>()) {
        let f = f64::from_bits(bits);
        let v = Value::float(f);
        match v.unpack() {
            Unpacked::Float(g) if f.is_nan() => prop_assert!(g.is_nan()),
            Unpacked::Float(g) => prop_assert_eq!(g.to_bits(), bits),
            other => prop_assert!(false, "{f:e} decoded as {other:?}"),
        }
        prop_assert_eq!(Value::from_bits(v.to_bits()), Some(v));
    }

    #[test]
    fn small_ints_round_trip(i in SMALL_INT_MIN..=SMALL_INT_MAX) {
        let v = Value::int(i).unwrap();
        prop_assert_eq!(v.unpack(), Unpacked::Int(i));
        prop_assert_eq!(Value::from_bits(v.to_bits()), Some(v));
    }

    #[test]
    fn ints_outside_the_range_are_refused(i in any::<i64>()) {
        prop_assert_eq!(Value::int(i).is_some(), (SMALL_INT_MIN..=SMALL_INT_MAX).contains(&i));
    }

    #[test]
    fn object_references_round_trip(k in kind(), slot in 0..MAX_SLOTS, stamp in 0u32..(1 << STAMP_BITS)) {
        let r = ObjRef { kind: k, slot, stamp };
        let v = Value::object(r);
        prop_assert_eq!(v.unpack(), Unpacked::Obj(r));
        prop_assert!(v.as_float().is_none() && v.as_int().is_none());
        prop_assert_eq!(Value::from_bits(v.to_bits()), Some(v));
    }

    #[test]
    fn any_bits_decode_or_are_rejected_and_never_panic(bits in any::<u64>()) {
        if let Some(v) = Value::from_bits(bits) {
            prop_assert_eq!(v.to_bits(), bits);
            let _ = v.unpack();
        }
    }
}

#[test]
fn distinct_kinds_of_values_never_collide() {
    let all = [
        Value::NONE,
        Value::TRUE,
        Value::FALSE,
        Value::ELLIPSIS,
        Value::NOT_IMPLEMENTED,
        Value::int(0).unwrap(),
        Value::float(0.0),
        Value::float(f64::NAN),
        Value::object(ObjRef {
            kind: Kind::Str,
            slot: 0,
            stamp: 0,
        }),
    ];
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(Value::NONE.to_bits(), molt_state::ffi::MOLT_NONE);
    assert_eq!(Value::TRUE.to_bits(), molt_state::ffi::MOLT_TRUE);
    assert_eq!(Value::FALSE.to_bits(), molt_state::ffi::MOLT_FALSE);
}

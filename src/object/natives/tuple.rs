//! `tuple`: the constructor, `__eq__` and `__ne__` (the sequence methods it shares with
//! list are in `container.rs`).

use super::container::{container_cmps, sequence_new};
use crate::gil::{Gil, PyResult};
use crate::value::Value;

/// `tuple()` and `tuple(x)`.
pub(super) fn tuple_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    sequence_new(g, a, "tuple", |g, items| g.tuple(items))
}

container_cmps! {
    tuple_eq: TUPLE "__eq__" true;
    tuple_ne: TUPLE "__ne__" false;
}

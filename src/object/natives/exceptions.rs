//! `BaseException`: `__str__`. Its `__repr__` is `obj_repr` of `object.rs`, the native of
//! `object.__repr__` too (`Gil::repr` writes an exception's repr).

use super::args::arity;
use crate::gil::{Gil, PyResult};
use crate::value::Value;

pub(super) fn exc_str(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__str__", 0, 0)?;
    let s = g.exc_str(a[0])?;
    g.str(&s)
}

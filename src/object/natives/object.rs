//! `object`: its constructor and methods (`__repr__`, `__str__`, `__eq__`, `__ne__`,
//! `__hash__`; `__repr__` and `__hash__` serve other classes too).

use super::args::{arity, at_most};
use crate::gil::{Gil, PyResult};
use crate::object::types::core_class;
use crate::value::Value;

/// `object()`.
pub(super) fn object_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    at_most(g, a, "object", 0)?;
    g.alloc_instance(core_class::OBJECT)
}

pub(super) fn obj_repr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__repr__", 0, 0)?;
    let s = g.repr(a[0])?;
    g.str(&s)
}

pub(super) fn obj_str(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__str__", 0, 0)?;
    let s = g.to_str(a[0])?;
    g.str(&s)
}

pub(super) fn obj_eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__eq__", 1, 1)?;
    Ok(if a[0] == a[1] {
        Value::TRUE
    } else {
        Value::NOT_IMPLEMENTED
    })
}

/// `object.__ne__`: the inverse of `type(self).__eq__(self, other)`, or `NotImplemented`
/// when that is (CPython's `object_richcompare`).
pub(super) fn obj_ne(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__ne__", 1, 1)?;
    let r = g.call_method(a[0], "__eq__", &[a[1]])?;
    if r == Value::NOT_IMPLEMENTED {
        return Ok(r);
    }
    let t = g.truthy(r);
    g.release(r);
    Ok(Value::bool(!t?))
}

pub(super) fn obj_hash(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__hash__", 0, 0)?;
    let h = g.hash(a[0])?;
    g.int(h)
}

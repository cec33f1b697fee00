//! `dict`: the constructor and the methods.

use super::args::{arity, at_most};
use super::container::container_cmps;
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::Object;
use crate::value::Value;

/// `dict()` and `dict(d)`: a new dict with the items of `d`.
pub(super) fn dict_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    at_most(g, a, "dict", 1)?;
    let d = g.dict()?;
    if let Some(&x) = a.first() {
        let items = match g.dict_items(x) {
            Ok(items) => items,
            Err(e) => {
                g.release(d);
                return Err(e);
            }
        };
        for (k, v) in items {
            if let Err(e) = g.dict_set(d, k, v) {
                g.release(d);
                return Err(e);
            }
        }
    }
    Ok(d)
}

container_cmps! {
    dict_eq: DICT "__eq__" true;
    dict_ne: DICT "__ne__" false;
}

fn key_error(g: &mut Gil<'_>, key: Value) -> crate::gil::Raised {
    let cls = ExcClass::KEY_ERROR.index();
    match g.instantiate(cls, &[key]) {
        Ok(e) => g.raise(e),
        Err(r) => r,
    }
}

pub(super) fn dict_get(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "get", 1, 2)?;
    let v = g
        .dict_get(a[0], a[1])?
        .unwrap_or(a.get(2).copied().unwrap_or(Value::NONE));
    g.incref(v)?;
    Ok(v)
}

pub(super) fn dict_getitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__getitem__", 1, 1)?;
    match g.dict_get(a[0], a[1])? {
        Some(v) => {
            g.incref(v)?;
            Ok(v)
        }
        None => Err(key_error(g, a[1])),
    }
}

pub(super) fn dict_setitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__setitem__", 2, 2)?;
    g.dict_set(a[0], a[1], a[2])?;
    Ok(Value::NONE)
}

pub(super) fn dict_contains(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__contains__", 1, 1)?;
    Ok(Value::bool(g.dict_get(a[0], a[1])?.is_some()))
}

fn dict_view(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    pick: fn(Value, Value) -> [Option<Value>; 2],
) -> PyResult<Value> {
    arity(g, a, name, 0, 0)?;
    let items = g.dict_items(a[0])?;
    let list = g.list(&[])?;
    for (k, v) in items {
        let item = match pick(k, v) {
            [Some(x), None] => {
                g.incref(x)?;
                x
            }
            _ => match g.tuple(&[k, v]) {
                Ok(t) => t,
                Err(e) => {
                    g.release(list); // and the items built so far
                    return Err(e);
                }
            },
        };
        if let Ok(Object::List(l)) = g.heap_mut().get_mut(list) {
            l.push(item);
        }
    }
    Ok(list)
}

pub(super) fn dict_keys(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    dict_view(g, a, "keys", |k, _| [Some(k), None])
}

pub(super) fn dict_values(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    dict_view(g, a, "values", |_, v| [Some(v), None])
}

pub(super) fn dict_items(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    dict_view(g, a, "items", |k, v| [Some(k), Some(v)])
}

pub(super) fn dict_pop(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "pop", 1, 2)?;
    match g.dict_pop(a[0], a[1])? {
        Some(v) => Ok(v),
        None => match a.get(2) {
            Some(&d) => {
                g.incref(d)?;
                Ok(d)
            }
            None => Err(key_error(g, a[1])),
        },
    }
}

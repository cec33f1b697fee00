//! `list`: the constructor and the methods of its own (the sequence methods it shares with
//! tuple are in `container.rs`).

use super::args::{arity, descriptor_error, index_arg, subscript_arg};
use super::container::{container_cmps, iterable_items, release_all, sequence_new};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::Object;
use crate::value::Value;

/// `list()` and `list(x)`.
pub(super) fn list_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    sequence_new(g, a, "list", |g, items| g.list(items))
}

container_cmps! {
    list_eq: LIST "__eq__" true;
    list_ne: LIST "__ne__" false;
}

fn list_mut<'a>(g: &'a mut Gil<'_>, v: Value, name: &str) -> PyResult<&'a mut Vec<Value>> {
    if !matches!(g.heap().get(v), Ok(Object::List(_))) {
        return Err(descriptor_error(g, name, "list", v));
    }
    match g.heap_mut().get_mut(v) {
        Ok(Object::List(l)) => Ok(l),
        _ => unreachable!("checked just now"),
    }
}

pub(super) fn list_append(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "append", 1, 1)?;
    g.incref(a[1])?;
    match list_mut(g, a[0], "append") {
        Ok(l) => l.push(a[1]),
        Err(e) => {
            g.release(a[1]);
            return Err(e);
        }
    }
    Ok(Value::NONE)
}

pub(super) fn list_pop(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "pop", 0, 1)?;
    let index = match a.get(1) {
        None => -1,
        Some(&v) => index_arg(g, v, "list")?,
    };
    let l = list_mut(g, a[0], "pop")?;
    if l.is_empty() {
        return Err(g.raise_new(ExcClass::INDEX_ERROR, "pop from empty list"));
    }
    let n = l.len() as i64;
    let i = if index < 0 { index + n } else { index };
    if !(0..n).contains(&i) {
        return Err(g.raise_new(ExcClass::INDEX_ERROR, "pop index out of range"));
    }
    Ok(l.remove(i as usize)) // the list's reference passes to the caller
}

pub(super) fn list_extend(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "extend", 1, 1)?;
    let items = iterable_items(g, a[1])?;
    match list_mut(g, a[0], "extend") {
        Ok(l) => l.extend_from_slice(&items),
        Err(e) => {
            release_all(g, &items);
            return Err(e);
        }
    }
    Ok(Value::NONE)
}

pub(super) fn list_setitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__setitem__", 2, 2)?;
    let index = subscript_arg(g, a[1], "list")?;
    g.check(a[2])
        .map_err(|_| g.raise_new(ExcClass::REFERENCE_ERROR, "stale value"))?;
    let l = list_mut(g, a[0], "__setitem__")?;
    let n = l.len() as i64;
    let i = if index < 0 { index + n } else { index };
    if !(0..n).contains(&i) {
        return Err(g.raise_new(ExcClass::INDEX_ERROR, "list assignment index out of range"));
    }
    let old = std::mem::replace(&mut l[i as usize], a[2]);
    g.incref(a[2])?;
    g.release(old);
    Ok(Value::NONE)
}

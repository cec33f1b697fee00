//! What the containers (str, bytes, tuple, list, dict) share: `__len__`, the `__eq__` and
//! `__ne__` of each (one macro), the sequence methods of tuple and list, and the items of
//! an iterable (the constructors of tuple and list, `list.extend`).

use super::args::{arity, at_most, descriptor_error, subscript_arg};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::Object;
use crate::object::types::core_class;
use crate::value::Value;

pub(super) fn seq_len(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__len__", 0, 0)?;
    let n = g.len(a[0])?;
    g.int(n as i64)
}

/// `__eq__`/`__ne__` of a container class: `NotImplemented` unless both are of class
/// `kind` (exactly: builtin containers have no subclasses here), else content equality.
pub(super) fn container_cmp(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    class: u32,
    eq: bool,
) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    let class_name = match class {
        core_class::LIST => "list",
        core_class::TUPLE => "tuple",
        core_class::DICT => "dict",
        core_class::BYTES => "bytes",
        _ => "str",
    };
    if g.class_index(a[0])? != class {
        return Err(descriptor_error(g, name, class_name, a[0]));
    }
    g.check(a[1])
        .map_err(|e| g.raise_new(ExcClass::REFERENCE_ERROR, e.to_string()))?;
    if a[1].as_obj().is_none() || g.class_index(a[1])? != class {
        return Ok(Value::NOT_IMPLEMENTED);
    }
    Ok(Value::bool(g.eq(a[0], a[1])? == eq))
}

/// `__eq__`/`__ne__` natives of the built-in containers, one `container_cmp` each (each
/// class's file lists its own; `Gil`, `PyResult` and `Value` in scope there).
macro_rules! container_cmps {
    ($($name:ident: $class:ident $op:literal $eq:literal;)*) => {$(
        pub(super) fn $name(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            use $crate::object::{natives::container::container_cmp, types::core_class};
            container_cmp(g, a, $op, core_class::$class, $eq)
        }
    )*};
}
pub(super) use container_cmps;

pub(super) fn seq_getitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__getitem__", 1, 1)?;
    let what = g.type_name(a[0])?;
    let i = subscript_arg(g, a[1], &what)?;
    g.get_item_index(a[0], i)
}

pub(super) fn seq_index(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "index", 1, 1)?;
    let items = g.items(a[0])?;
    for (i, &item) in items.iter().enumerate() {
        if g.eq(item, a[1])? {
            return g.int(i as i64);
        }
    }
    let what = g.type_name(a[0])?;
    let msg = if what == "tuple" {
        "tuple.index(x): x not in tuple".to_owned()
    } else {
        let r = g.repr(a[1])?;
        format!("{r} is not in list")
    };
    Err(g.raise_new(ExcClass::VALUE_ERROR, msg))
}

pub(super) fn seq_contains(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__contains__", 1, 1)?;
    let items = g.items(a[0])?;
    for item in items {
        if g.eq(item, a[1])? {
            return Ok(Value::TRUE);
        }
    }
    Ok(Value::FALSE)
}

pub(super) fn seq_count(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "count", 1, 1)?;
    let items = g.items(a[0])?;
    let mut n = 0;
    for item in items {
        if g.eq(item, a[1])? {
            n += 1;
        }
    }
    g.int(n)
}

/// The items of a tuple, list, str (its characters) or dict (its keys), as new references.
pub(super) fn iterable_items(g: &mut Gil<'_>, x: Value) -> PyResult<Vec<Value>> {
    if let Ok(items) = g.items(x) {
        for &v in &items {
            g.incref(v)?;
        }
        return Ok(items);
    }
    if let Some(e) = g.err_fetch() {
        g.release(e);
    }
    if let Ok(Object::Str(s)) = g.heap().get(x) {
        let text = s.text.to_string();
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            let mut buf = [0u8; 4];
            match g.str(c.encode_utf8(&mut buf)) {
                Ok(v) => out.push(v),
                Err(e) => {
                    release_all(g, &out);
                    return Err(e);
                }
            }
        }
        return Ok(out);
    }
    if let Ok(Object::Dict(_)) = g.heap().get(x) {
        let keys: Vec<Value> = g.dict_items(x)?.into_iter().map(|(k, _)| k).collect();
        for &k in &keys {
            g.incref(k)?;
        }
        return Ok(keys);
    }
    let t = g.type_name(x)?;
    Err(g.raise_new(
        ExcClass::TYPE_ERROR,
        format!("'{t}' object is not iterable"),
    ))
}

pub(super) fn release_all(g: &mut Gil<'_>, items: &[Value]) {
    for &v in items {
        g.release(v);
    }
}

/// `tuple(x)` or `list(x)`: a new container (by `make`) of the items of `x`, or empty.
pub(super) fn sequence_new(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    make: fn(&mut Gil<'_>, &[Value]) -> PyResult<Value>,
) -> PyResult<Value> {
    at_most(g, a, name, 1)?;
    let items = match a.first() {
        None => Vec::new(),
        Some(&x) => iterable_items(g, x)?,
    };
    let r = make(g, &items);
    release_all(g, &items);
    r
}

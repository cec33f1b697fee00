//! `type` called: `type(x)`, the class of `x`, and `type(name, bases, namespace)`, a new
//! class.

use super::args::arg_text;
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::Value;

/// `type(x)` and `type(name, bases, namespace)`.
pub(super) fn type_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    match a.len() {
        1 => g.class_of(a[0]),
        3 => {
            let name = arg_text(g, a[0], "type", "1")?;
            let bases = g.items(a[1])?;
            let ns = g.dict_items(a[2])?;
            let mut names = Vec::with_capacity(ns.len());
            for (k, v) in &ns {
                names.push((arg_text(g, *k, "type", "3 keys")?, *v));
            }
            let ns: Vec<(&str, Value)> = names.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            g.class_new(&name, &bases, &ns)
        }
        _ => Err(g.raise_new(ExcClass::TYPE_ERROR, "type() takes 1 or 3 arguments")),
    }
}

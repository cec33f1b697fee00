//! The `builtins` module: its functions (`len`, `repr`, `hash`, `isinstance`,
//! `issubclass`, `getattr`, `setattr`, `hasattr`) and [`init_builtins`], which fills it.

use super::args::{arg_text, func_arity};
use super::{BUILTIN_FUNCTIONS, builtin_function_index};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::Value;

pub(super) fn f_len(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "len", 1)?;
    let n = g.len(a[0])?;
    g.int(n as i64)
}

pub(super) fn f_repr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "repr", 1)?;
    let s = g.repr(a[0])?;
    g.str(&s)
}

pub(super) fn f_hash(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "hash", 1)?;
    let h = g.hash(a[0])?;
    g.int(h)
}

pub(super) fn f_isinstance(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "isinstance", 2)?;
    Ok(Value::bool(g.isinstance(a[0], a[1])?))
}

pub(super) fn f_issubclass(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "issubclass", 2)?;
    Ok(Value::bool(g.issubclass(a[0], a[1])?))
}

pub(super) fn f_getattr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    if !(2..=3).contains(&a.len()) {
        func_arity(g, a, "getattr", 2)?;
    }
    let name = arg_text(g, a[1], "getattr", "2")?;
    match g.getattr(a[0], &name) {
        Ok(v) => Ok(v),
        Err(e) if a.len() == 3 => {
            let exc = g.err_occurred();
            let attribute_error = g.exception_class(ExcClass::ATTRIBUTE_ERROR);
            let is_attr = exc.is_some_and(|x| g.isinstance(x, attribute_error).unwrap_or(false));
            if !is_attr {
                return Err(e);
            }
            if let Some(x) = g.err_fetch() {
                g.release(x);
            }
            g.incref(a[2])?;
            Ok(a[2])
        }
        Err(e) => Err(e),
    }
}

pub(super) fn f_setattr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "setattr", 3)?;
    let name = arg_text(g, a[1], "setattr", "2")?;
    g.setattr(a[0], &name, a[2])?;
    Ok(Value::NONE)
}

pub(super) fn f_hasattr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "hasattr", 2)?;
    let name = arg_text(g, a[1], "hasattr", "2")?;
    match g.getattr(a[0], &name) {
        Ok(v) => {
            g.release(v);
            Ok(Value::TRUE)
        }
        Err(_) => {
            if let Some(x) = g.err_fetch() {
                g.release(x);
            }
            Ok(Value::FALSE)
        }
    }
}

/// Fills the `builtins` module: every builtin class under its name and its aliases, and the
/// builtin functions.
pub(crate) fn init_builtins(g: &mut Gil<'_>, m: Value) -> PyResult<()> {
    let names: Vec<&'static str> = crate::builtins::table::BUILTIN_CLASSES
        .iter()
        .map(|c| c.name)
        .chain(crate::builtins::table::ALIASES.iter().map(|a| a.0))
        .collect();
    for name in names {
        if let Some(c) = g.builtin_class(name) {
            g.setattr(m, name, c)?;
        }
    }
    for (name, _) in BUILTIN_FUNCTIONS {
        let f = g.native_value(builtin_function_index(name).expect("listed"));
        g.setattr(m, name, f)?;
    }
    g.setattr(m, "None", Value::NONE)?;
    g.setattr(m, "True", Value::TRUE)?;
    g.setattr(m, "False", Value::FALSE)?;
    g.setattr(m, "Ellipsis", Value::ELLIPSIS)?;
    g.setattr(m, "NotImplemented", Value::NOT_IMPLEMENTED)?;
    Ok(())
}

//! `str`: the constructor and the methods.

use super::args::{arg_text, arity, at_most, index_arg, self_text};
use super::container::container_cmps;
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::object::Object;
use crate::value::Value;

/// `str()` and `str(x)`.
pub(super) fn str_new(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    at_most(g, a, "str", 1)?;
    match a.first() {
        None => g.str(""),
        Some(&x) => {
            let s = g.to_str(x)?;
            g.str(&s)
        }
    }
}

pub(super) fn str_eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__eq__", 1, 1)?;
    self_text(g, a, "__eq__")?;
    match g.heap().get(a[1]) {
        Ok(Object::Str(_)) => Ok(Value::bool(g.eq(a[0], a[1])?)),
        _ => Ok(Value::NOT_IMPLEMENTED),
    }
}

container_cmps! {
    str_ne: STR "__ne__" false;
}

pub(super) fn str_contains(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__contains__", 1, 1)?;
    let s = self_text(g, a, "__contains__")?;
    let sub = arg_text(g, a[1], "__contains__", "1")?;
    Ok(Value::bool(s.contains(&sub)))
}

pub(super) fn str_upper(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "upper", 0, 0)?;
    let s = self_text(g, a, "upper")?;
    g.str(&s.to_uppercase())
}

pub(super) fn str_lower(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "lower", 0, 0)?;
    let s = self_text(g, a, "lower")?;
    g.str(&s.to_lowercase())
}

fn affixes(g: &mut Gil<'_>, v: Value, name: &str) -> PyResult<Vec<String>> {
    if let Ok(Object::Tuple(t)) = g.heap().get(v) {
        let items = t.to_vec();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(arg_text(g, item, name, "tuple item")?);
        }
        return Ok(out);
    }
    match g.str_text(v) {
        Ok(t) => Ok(vec![t.to_owned()]),
        Err(_) => {
            if let Some(e) = g.err_fetch() {
                g.release(e);
            }
            let t = g.type_name(v)?;
            Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("{name} first arg must be str or a tuple of str, not {t}"),
            ))
        }
    }
}

pub(super) fn str_startswith(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "startswith", 1, 1)?;
    let s = self_text(g, a, "startswith")?;
    let p = affixes(g, a[1], "startswith")?;
    Ok(Value::bool(p.iter().any(|p| s.starts_with(p.as_str()))))
}

pub(super) fn str_endswith(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "endswith", 1, 1)?;
    let s = self_text(g, a, "endswith")?;
    let p = affixes(g, a[1], "endswith")?;
    Ok(Value::bool(p.iter().any(|p| s.ends_with(p.as_str()))))
}

/// CPython's `str.isspace()` for one code point (`Py_UNICODE_ISSPACE`: bidirectional class
/// WS, B or S, or category Zs). Unicode's White_Space (Rust's `char::is_whitespace`) plus
/// the information separators U+001C..U+001F, which CPython counts (class B/S).
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(c, '\u{1c}'..='\u{1f}') || c.is_whitespace()
}

#[derive(Clone, Copy)]
enum Strip {
    Both,
    Left,
    Right,
}

fn strip_impl(g: &mut Gil<'_>, a: &[Value], name: &str, how: Strip) -> PyResult<Value> {
    arity(g, a, name, 0, 1)?;
    let s = self_text(g, a, name)?;
    let chars = match a.get(1) {
        None => None,
        Some(v) if v.is_none() => None,
        Some(&v) => match g.str_text(v) {
            Ok(t) => Some(t.to_owned()),
            Err(_) => {
                if let Some(e) = g.err_fetch() {
                    g.release(e);
                }
                return Err(g.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("{name} arg must be None or str"),
                ));
            }
        },
    };
    let pred = |c: char| match &chars {
        None => is_py_space(c),
        Some(set) => set.contains(c),
    };
    let r = match how {
        Strip::Both => s.trim_matches(pred),
        Strip::Left => s.trim_start_matches(pred),
        Strip::Right => s.trim_end_matches(pred),
    };
    g.str(r)
}

pub(super) fn str_strip(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    strip_impl(g, a, "strip", Strip::Both)
}

pub(super) fn str_lstrip(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    strip_impl(g, a, "lstrip", Strip::Left)
}

pub(super) fn str_rstrip(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    strip_impl(g, a, "rstrip", Strip::Right)
}

pub(super) fn str_isspace(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "isspace", 0, 0)?;
    let s = self_text(g, a, "isspace")?;
    Ok(Value::bool(!s.is_empty() && s.chars().all(is_py_space)))
}

pub(super) fn str_split(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "split", 0, 2)?;
    let s = self_text(g, a, "split")?;
    let sep = match a.get(1) {
        None => None,
        Some(v) if v.is_none() => None,
        Some(&v) => Some(arg_text(g, v, "split", "sep")?),
    };
    let maxsplit = match a.get(2) {
        None => -1,
        Some(&v) => index_arg(g, v, "maxsplit")?,
    };
    let parts: Vec<String> = match sep {
        Some(sep) if sep.is_empty() => {
            return Err(g.raise_new(ExcClass::VALUE_ERROR, "empty separator"));
        }
        Some(sep) => {
            if maxsplit < 0 {
                s.split(sep.as_str()).map(str::to_owned).collect()
            } else {
                s.splitn(maxsplit as usize + 1, sep.as_str())
                    .map(str::to_owned)
                    .collect()
            }
        }
        None => {
            let mut out = Vec::new();
            let mut rest = s.trim_start_matches(is_py_space);
            while !rest.is_empty() {
                if maxsplit >= 0 && out.len() as i64 == maxsplit {
                    out.push(rest.to_owned());
                    break;
                }
                let end = rest.find(is_py_space).unwrap_or(rest.len());
                out.push(rest[..end].to_owned());
                rest = rest[end..].trim_start_matches(is_py_space);
            }
            out
        }
    };
    let list = g.list(&[])?;
    for p in parts {
        let v = match g.str(&p) {
            Ok(v) => v,
            Err(e) => {
                g.release(list); // and the parts built so far
                return Err(e);
            }
        };
        if let Ok(Object::List(l)) = g.heap_mut().get_mut(list) {
            l.push(v); // the new reference moves into the list
        }
    }
    Ok(list)
}

pub(super) fn str_join(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "join", 1, 1)?;
    let sep = self_text(g, a, "join")?;
    let items = match g.items(a[1]) {
        Ok(items) => items,
        Err(_) => {
            if let Some(e) = g.err_fetch() {
                g.release(e);
            }
            let t = g.type_name(a[1])?;
            return Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("can only join an iterable of str (molt-state: a tuple or list), not {t}"),
            ));
        }
    };
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        match g.str_text(*item) {
            Ok(t) => out.push_str(t),
            Err(_) => {
                if let Some(e) = g.err_fetch() {
                    g.release(e);
                }
                let t = g.type_name(*item)?;
                return Err(g.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("sequence item {i}: expected str instance, {t} found"),
                ));
            }
        }
    }
    g.str(&out)
}

pub(super) fn str_find(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "find", 1, 1)?;
    let s = self_text(g, a, "find")?;
    let sub = arg_text(g, a[1], "find", "1")?;
    let i = match s.find(sub.as_str()) {
        Some(byte) => s[..byte].chars().count() as i64,
        None => -1,
    };
    g.int(i)
}

pub(super) fn str_replace(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "replace", 2, 3)?;
    let s = self_text(g, a, "replace")?;
    let old = arg_text(g, a[1], "replace", "1")?;
    let new = arg_text(g, a[2], "replace", "2")?;
    let count = match a.get(3) {
        None => -1,
        Some(&v) => index_arg(g, v, "count")?,
    };
    let r = if count < 0 {
        s.replace(old.as_str(), &new)
    } else {
        s.replacen(old.as_str(), &new, count as usize)
    };
    g.str(&r)
}

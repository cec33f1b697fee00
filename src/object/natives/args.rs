//! Argument checking: the number of arguments, `self` and str arguments, and int
//! arguments used as sizes, positions or subscripts.

use crate::ExcClass;
use crate::gil::{Gil, PyResult, Raised};
use crate::object::bigint;
use crate::value::{Unpacked, Value};

pub(crate) fn arity(
    g: &mut Gil<'_>,
    args: &[Value],
    name: &str,
    min: usize,
    max: usize,
) -> PyResult<()> {
    // `args` includes `self` for methods; counts here exclude it. An unbound method called
    // with nothing (`list.pop()`) has no `self` at all.
    if args.is_empty() {
        return Err(g.raise_new(
            ExcClass::TYPE_ERROR,
            format!("unbound method {name}() needs an argument"),
        ));
    }
    let given = args.len() - 1;
    if (min..=max).contains(&given) {
        return Ok(());
    }
    let expected = match (min, max) {
        (0, 0) => "no arguments".to_owned(),
        (a, b) if a == b => format!("exactly {a} argument{}", if a == 1 { "" } else { "s" }),
        (a, b) => format!("from {a} to {b} arguments"),
    };
    Err(g.raise_new(
        ExcClass::TYPE_ERROR,
        format!("{name}() takes {expected} ({given} given)"),
    ))
}

/// A module function's arity: exactly `n` arguments.
pub(super) fn func_arity(g: &mut Gil<'_>, args: &[Value], name: &str, n: usize) -> PyResult<()> {
    if args.len() == n {
        return Ok(());
    }
    Err(count_error(g, name, "exactly", n, args.len()))
}

/// A constructor's arity: at most `n` arguments.
pub(super) fn at_most(g: &mut Gil<'_>, args: &[Value], name: &str, n: usize) -> PyResult<()> {
    if args.len() <= n {
        return Ok(());
    }
    Err(count_error(g, name, "at most", n, args.len()))
}

/// "`name`() takes exactly 1 argument (2 given)", the `TypeError` of [`func_arity`] and
/// [`at_most`].
fn count_error(g: &mut Gil<'_>, name: &str, bound: &str, n: usize, given: usize) -> Raised {
    g.raise_new(
        ExcClass::TYPE_ERROR,
        format!(
            "{name}() takes {bound} {n} argument{} ({given} given)",
            if n == 1 { "" } else { "s" },
        ),
    )
}

pub(crate) fn descriptor_error(g: &mut Gil<'_>, name: &str, class: &str, got: Value) -> Raised {
    let t = g.type_name(got).unwrap_or_else(|_| "?".into());
    g.raise_new(
        ExcClass::TYPE_ERROR,
        format!("descriptor '{name}' requires a '{class}' object but received a '{t}'"),
    )
}

pub(super) fn self_text(g: &mut Gil<'_>, args: &[Value], name: &str) -> PyResult<String> {
    let Some(&s) = args.first() else {
        return Err(g.raise_new(
            ExcClass::TYPE_ERROR,
            format!("descriptor '{name}' needs an argument"),
        ));
    };
    match g.str_text(s) {
        Ok(t) => Ok(t.to_owned()),
        Err(_) => {
            let _ = g.err_fetch().map(|e| g.release(e));
            Err(descriptor_error(g, name, "str", s))
        }
    }
}

pub(super) fn arg_text(g: &mut Gil<'_>, v: Value, func: &str, what: &str) -> PyResult<String> {
    match g.str_text(v) {
        Ok(t) => Ok(t.to_owned()),
        Err(_) => {
            let _ = g.err_fetch().map(|e| g.release(e));
            let t = g.type_name(v)?;
            Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("{func}() argument {what} must be str, not {t}"),
            ))
        }
    }
}

/// An int argument used as a size or position (`pop`, `insert`, `maxsplit`, `count`): a
/// big int is CPython's `OverflowError` (it does not fit a C `ssize_t`).
pub(super) fn index_arg(g: &mut Gil<'_>, v: Value, what: &str) -> PyResult<i64> {
    match v.unpack() {
        Unpacked::Int(i) => Ok(i),
        Unpacked::Bool(b) => Ok(b as i64),
        _ if bigint::is_big(v) => Err(g.raise_new(
            ExcClass::OVERFLOW_ERROR,
            "Python int too large to convert to C ssize_t",
        )),
        _ => {
            let t = g.type_name(v)?;
            Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("{what} indices must be integers, not {t}"),
            ))
        }
    }
}

/// A subscript (`seq[i]`): as [`index_arg`], but a big int is CPython's `IndexError`.
pub(super) fn subscript_arg(g: &mut Gil<'_>, v: Value, what: &str) -> PyResult<i64> {
    if bigint::is_big(v) {
        return Err(g.raise_new(
            ExcClass::INDEX_ERROR,
            "cannot fit 'int' into an index-sized integer",
        ));
    }
    index_arg(g, v, what)
}

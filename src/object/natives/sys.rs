//! The `sys` module: [`init_sys`], which fills it, and its recursion-limit functions (the
//! int-digits ones are in `bigint.rs`).

use super::args::func_arity;
use super::{SYS_FUNCTIONS, sys_function_index};
use crate::ExcClass;
use crate::gil::{Gil, PyResult};
use crate::value::{Unpacked, Value};

/// Fills the `sys` module: `argv` (from the runtime's argv storage) and `version_info`.
pub(crate) fn init_sys(g: &mut Gil<'_>, m: Value) -> PyResult<()> {
    let argv = g.locked().argv().to_vec();
    let list = g.list(&[])?;
    for a in &argv {
        let r = g.str(a).and_then(|s| {
            let r = g.call_method(list, "append", &[s]);
            g.release(s);
            r
        });
        if let Err(e) = r {
            g.release(list);
            return Err(e);
        }
    }
    let r = g.setattr(m, "argv", list);
    g.release(list);
    r?;
    let vi = [3, 11, 0];
    let vals: Vec<Value> = vi.iter().map(|&i| Value::int(i).expect("small")).collect();
    let t = g.tuple(&vals)?;
    let r = g.setattr(m, "version_info", t);
    g.release(t);
    r?;
    for (name, _) in SYS_FUNCTIONS {
        let f = g.native_value(sys_function_index(name).expect("listed"));
        g.setattr(m, name, f)?;
    }
    Ok(())
}

pub(super) fn sys_getrecursionlimit(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "getrecursionlimit", 0)?;
    g.int(i64::from(g.recursion_limit()))
}

pub(super) fn sys_setrecursionlimit(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "setrecursionlimit", 1)?;
    let n = match a[0].unpack() {
        Unpacked::Int(i) => i,
        Unpacked::Bool(b) => b as i64,
        _ => {
            let t = g.type_name(a[0])?;
            return Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("'{t}' object cannot be interpreted as an integer"),
            ));
        }
    };
    g.set_recursion_limit(n)?;
    Ok(Value::NONE)
}

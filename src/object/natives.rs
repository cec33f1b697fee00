//! Native functions: the builtin classes' method tables, the `builtins` and `sys` modules,
//! and the constructors of the builtin classes.
//!
//! Native functions live in one table per runtime (a function value is `(Kind::Function,
//! index)`) for the life of the runtime. The builtin ones come first, copied at init from
//! `BUILTIN_NATIVES`, which the compiler builds from the static tables below, as it builds
//! each builtin class's method table (a sorted slice of (name, function index):
//! `builtin_methods`).

use crate::builtins::const_index;
use crate::builtins::table::BUILTIN_CLASSES;
use crate::gil::{Gil, Num, PyResult, num_eq};
use crate::intern::{Symbol, static_symbol};
use crate::object::Object;
use crate::object::bigint;
use crate::object::types::core;
use crate::value::{Unpacked, Value};
use std::cmp::Ordering;
use std::fmt::Write as _;

/// A native function: receives the GIL token and its arguments (for methods, `self`
/// first) and returns a new reference or raises.
pub type NativeFn = fn(&mut Gil<'_>, &[Value]) -> PyResult<Value>;

/// One native function of a runtime.
#[derive(Debug, Clone, Copy)]
pub struct Native {
    /// `__name__`.
    pub name: Symbol,
    /// The class whose method table holds it (`None` for module functions).
    pub owner: Option<u32>,
    /// The function.
    pub func: NativeFn,
    /// For a host function (a Rust closure or a C function with user data): its index in
    /// the runtime's host function table; [`NO_HOST`] otherwise.
    pub host: u32,
}

/// [`Native::host`] of a function that is not a host function.
pub const NO_HOST: u32 = u32::MAX;

/// A host function: a Rust closure (or the wrapper of a C function and its user data).
pub type HostFn = Box<dyn Fn(&mut Gil<'_>, &[Value]) -> PyResult<Value> + Send + Sync>;

/// A runtime's host functions (append-only until teardown).
#[derive(Default)]
pub(crate) struct HostFns(pub(crate) Vec<HostFn>);

impl std::fmt::Debug for HostFns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostFns({})", self.0.len())
    }
}

type Table = &'static [(&'static str, NativeFn)];

/// Functions of the `builtins` module.
static BUILTIN_FUNCTIONS: Table = &[
    ("len", f_len),
    ("repr", f_repr),
    ("hash", f_hash),
    ("isinstance", f_isinstance),
    ("issubclass", f_issubclass),
    ("getattr", f_getattr),
    ("setattr", f_setattr),
    ("hasattr", f_hasattr),
];

/// Functions of the `sys` module.
static SYS_FUNCTIONS: Table = &[
    ("getrecursionlimit", sys_getrecursionlimit),
    ("setrecursionlimit", sys_setrecursionlimit),
    ("get_int_max_str_digits", bigint::sys_get_int_max_str_digits),
    ("set_int_max_str_digits", bigint::sys_set_int_max_str_digits),
];

/// The method tables of the builtin classes: (class name, methods).
static METHOD_TABLES: &[(&str, Table)] = &[
    (
        "object",
        &[
            ("__repr__", obj_repr),
            ("__str__", obj_str),
            ("__eq__", obj_eq),
            ("__ne__", obj_ne),
            ("__hash__", obj_hash),
        ],
    ),
    (
        "int",
        &[
            ("__add__", int_add),
            ("__sub__", int_sub),
            ("__mul__", int_mul),
            ("__truediv__", int_truediv),
            ("__floordiv__", int_floordiv),
            ("__mod__", int_mod),
            ("__radd__", int_radd),
            ("__rsub__", int_rsub),
            ("__rmul__", int_rmul),
            ("__rtruediv__", int_rtruediv),
            ("__rfloordiv__", int_rfloordiv),
            ("__rmod__", int_rmod),
            ("__neg__", int_neg),
            ("__eq__", int_eq),
            ("__ne__", int_ne),
            ("__lt__", int_lt),
            ("__le__", int_le),
            ("__gt__", int_gt),
            ("__ge__", int_ge),
            ("__hash__", obj_hash),
            ("__bool__", num_bool),
            // Big ints (src/object/bigint/): these handle small ints too.
            ("__pow__", bigint::int_pow),
            ("__rpow__", bigint::int_rpow),
            ("__divmod__", bigint::int_divmod),
            ("__rdivmod__", bigint::int_rdivmod),
            ("__lshift__", bigint::int_lshift),
            ("__rlshift__", bigint::int_rlshift),
            ("__rshift__", bigint::int_rshift),
            ("__rrshift__", bigint::int_rrshift),
            ("__and__", bigint::int_and),
            ("__rand__", bigint::int_rand),
            ("__or__", bigint::int_or),
            ("__ror__", bigint::int_ror),
            ("__xor__", bigint::int_xor),
            ("__rxor__", bigint::int_rxor),
            ("__invert__", bigint::int_invert),
            ("__pos__", bigint::int_pos),
            ("__abs__", bigint::int_abs),
            ("__int__", bigint::int_int),
            ("__index__", bigint::int_index),
            ("__float__", bigint::int_float),
            ("bit_length", bigint::int_bit_length),
            ("to_bytes", bigint::int_to_bytes),
            ("from_bytes", bigint::int_from_bytes),
        ],
    ),
    (
        "float",
        &[
            ("__add__", float_add),
            ("__sub__", float_sub),
            ("__mul__", float_mul),
            ("__truediv__", float_truediv),
            ("__floordiv__", float_floordiv),
            ("__mod__", float_mod),
            ("__radd__", float_radd),
            ("__rsub__", float_rsub),
            ("__rmul__", float_rmul),
            ("__rtruediv__", float_rtruediv),
            ("__rfloordiv__", float_rfloordiv),
            ("__rmod__", float_rmod),
            ("__neg__", float_neg),
            ("__eq__", float_eq),
            ("__ne__", float_ne),
            ("__lt__", float_lt),
            ("__le__", float_le),
            ("__gt__", float_gt),
            ("__ge__", float_ge),
            ("__hash__", obj_hash),
            ("__bool__", num_bool),
        ],
    ),
    (
        "str",
        &[
            ("__len__", seq_len),
            ("__eq__", str_eq),
            ("__ne__", str_ne),
            ("__hash__", obj_hash),
            ("__contains__", str_contains),
            ("strip", str_strip),
            ("lstrip", str_lstrip),
            ("rstrip", str_rstrip),
            ("isspace", str_isspace),
            ("upper", str_upper),
            ("lower", str_lower),
            ("startswith", str_startswith),
            ("endswith", str_endswith),
            ("split", str_split),
            ("join", str_join),
            ("find", str_find),
            ("replace", str_replace),
        ],
    ),
    (
        "bytes",
        &[
            ("__len__", seq_len),
            ("__eq__", bytes_eq),
            ("__ne__", bytes_ne),
            ("decode", bytes_decode),
        ],
    ),
    (
        "tuple",
        &[
            ("__len__", seq_len),
            ("__getitem__", seq_getitem),
            ("__eq__", tuple_eq),
            ("__ne__", tuple_ne),
            ("__contains__", seq_contains),
            ("index", seq_index),
            ("count", seq_count),
        ],
    ),
    (
        "list",
        &[
            ("append", list_append),
            ("pop", list_pop),
            ("extend", list_extend),
            ("__len__", seq_len),
            ("__getitem__", seq_getitem),
            ("__setitem__", list_setitem),
            ("__eq__", list_eq),
            ("__ne__", list_ne),
            ("__contains__", seq_contains),
            ("index", seq_index),
            ("count", seq_count),
        ],
    ),
    (
        "dict",
        &[
            ("get", dict_get),
            ("__getitem__", dict_getitem),
            ("__setitem__", dict_setitem),
            ("__contains__", dict_contains),
            ("keys", dict_keys),
            ("values", dict_values),
            ("items", dict_items),
            ("pop", dict_pop),
            ("__len__", seq_len),
            ("__eq__", dict_eq),
            ("__ne__", dict_ne),
        ],
    ),
    (
        "BaseException",
        &[("__str__", exc_str), ("__repr__", exc_repr)],
    ),
];

/// Number of builtin native functions: the `builtins` module's, then every method table's.
const NATIVE_COUNT: usize = {
    let mut n = BUILTIN_FUNCTIONS.len() + SYS_FUNCTIONS.len();
    let mut t = 0;
    while t < METHOD_TABLES.len() {
        n += METHOD_TABLES[t].1.len();
        t += 1;
    }
    n
};

const fn name_symbol(name: &str) -> Symbol {
    match static_symbol(name) {
        Some(s) => s,
        None => panic!("a builtin native's name is not a base name: add it to BASE_NAMES"),
    }
}

/// The builtin native functions, native index `i` at index `i`: the `builtins` module's in
/// [`BUILTIN_FUNCTIONS`] order, the `sys` module's in [`SYS_FUNCTIONS`] order, then each
/// method table's in [`METHOD_TABLES`] order. Built
/// by the compiler; a runtime's native table starts as a copy of it.
pub(crate) static BUILTIN_NATIVES: [Native; NATIVE_COUNT] = {
    let mut natives = [Native {
        name: crate::intern::sym::len,
        owner: None,
        func: f_len,
        host: NO_HOST,
    }; NATIVE_COUNT];
    let mut n = 0;
    while n < BUILTIN_FUNCTIONS.len() {
        natives[n] = Native {
            name: name_symbol(BUILTIN_FUNCTIONS[n].0),
            owner: None,
            func: BUILTIN_FUNCTIONS[n].1,
            host: NO_HOST,
        };
        n += 1;
    }
    let mut k = 0;
    while k < SYS_FUNCTIONS.len() {
        natives[n] = Native {
            name: name_symbol(SYS_FUNCTIONS[k].0),
            owner: None,
            func: SYS_FUNCTIONS[k].1,
            host: NO_HOST,
        };
        n += 1;
        k += 1;
    }
    let mut t = 0;
    while t < METHOD_TABLES.len() {
        let owner = const_index(METHOD_TABLES[t].0) as u32;
        let funcs = METHOD_TABLES[t].1;
        let mut f = 0;
        while f < funcs.len() {
            natives[n] = Native {
                name: name_symbol(funcs[f].0),
                owner: Some(owner),
                func: funcs[f].1,
                host: NO_HOST,
            };
            n += 1;
            f += 1;
        }
        t += 1;
    }
    natives
};

const MAX_METHODS: usize = {
    let mut max = 0;
    let mut t = 0;
    while t < METHOD_TABLES.len() {
        if METHOD_TABLES[t].1.len() > max {
            max = METHOD_TABLES[t].1.len();
        }
        t += 1;
    }
    max
};

/// Each builtin class's method table: (name, native index) sorted by name, for a binary
/// search; built by the compiler.
struct MethodTables {
    entries: [[(Symbol, u32); MAX_METHODS]; BUILTIN_CLASSES.len()],
    len: [u8; BUILTIN_CLASSES.len()],
}

static METHODS: MethodTables = {
    let mut m = MethodTables {
        entries: [[(crate::intern::sym::len, 0); MAX_METHODS]; BUILTIN_CLASSES.len()],
        len: [0; BUILTIN_CLASSES.len()],
    };
    // Derived from `BUILTIN_NATIVES`, the one place that numbers the natives: each method
    // goes into its owner's row, kept sorted by symbol (insertion sort).
    let mut n = 0;
    while n < NATIVE_COUNT {
        let native = BUILTIN_NATIVES[n];
        if let Some(class) = native.owner {
            let class = class as usize;
            let row = &mut m.entries[class];
            let e = (native.name, n as u32);
            let mut k = m.len[class] as usize;
            while k > 0 && row[k - 1].0.index() > e.0.index() {
                row[k] = row[k - 1];
                k -= 1;
            }
            assert!(
                k == 0 || row[k - 1].0.index() != e.0.index(),
                "a method is listed twice"
            );
            row[k] = e;
            m.len[class] += 1;
        }
        n += 1;
    }
    m
};

// One method table per class.
const _: () = {
    let mut t = 0;
    while t < METHOD_TABLES.len() {
        let mut u = t + 1;
        while u < METHOD_TABLES.len() {
            assert!(
                const_index(METHOD_TABLES[t].0) != const_index(METHOD_TABLES[u].0),
                "two method tables for one class"
            );
            u += 1;
        }
        t += 1;
    }
};

/// The method table of builtin class `class`: (name, native index), sorted by name.
pub(crate) const fn builtin_methods(class: usize) -> &'static [(Symbol, u32)] {
    METHODS.entries[class]
        .split_at(METHODS.len[class] as usize)
        .0
}

/// Index of builtin function `name` (registered first, in [`BUILTIN_FUNCTIONS`] order).
fn builtin_function_index(name: &str) -> Option<u32> {
    BUILTIN_FUNCTIONS
        .iter()
        .position(|(n, _)| *n == name)
        .map(|i| i as u32)
}

/// Index of `sys` function `name` (registered right after the builtin functions).
fn sys_function_index(name: &str) -> Option<u32> {
    SYS_FUNCTIONS
        .iter()
        .position(|(n, _)| *n == name)
        .map(|i| (BUILTIN_FUNCTIONS.len() + i) as u32)
}

// -------------------------------------------------------------------- argument helpers

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
            "TypeError",
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
        "TypeError",
        format!("{name}() takes {expected} ({given} given)"),
    ))
}

fn func_arity(g: &mut Gil<'_>, args: &[Value], name: &str, n: usize) -> PyResult<()> {
    if args.len() == n {
        return Ok(());
    }
    Err(g.raise_new(
        "TypeError",
        format!(
            "{name}() takes exactly {n} argument{} ({} given)",
            if n == 1 { "" } else { "s" },
            args.len()
        ),
    ))
}

pub(crate) fn descriptor_error(
    g: &mut Gil<'_>,
    name: &str,
    class: &str,
    got: Value,
) -> crate::gil::Raised {
    let t = g.type_name(got).unwrap_or_else(|_| "?".into());
    g.raise_new(
        "TypeError",
        format!("descriptor '{name}' requires a '{class}' object but received a '{t}'"),
    )
}

fn self_text(g: &mut Gil<'_>, args: &[Value], name: &str) -> PyResult<String> {
    let Some(&s) = args.first() else {
        return Err(g.raise_new(
            "TypeError",
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

fn arg_text(g: &mut Gil<'_>, v: Value, func: &str, what: &str) -> PyResult<String> {
    match g.str_text(v) {
        Ok(t) => Ok(t.to_owned()),
        Err(_) => {
            let _ = g.err_fetch().map(|e| g.release(e));
            let t = g.type_name(v)?;
            Err(g.raise_new(
                "TypeError",
                format!("{func}() argument {what} must be str, not {t}"),
            ))
        }
    }
}

/// An int argument used as a size or position (`pop`, `insert`, `maxsplit`, `count`): a
/// big int is CPython's `OverflowError` (it does not fit a C `ssize_t`).
fn index_arg(g: &mut Gil<'_>, v: Value, what: &str) -> PyResult<i64> {
    match v.unpack() {
        Unpacked::Int(i) => Ok(i),
        Unpacked::Bool(b) => Ok(b as i64),
        _ if bigint::is_big(v) => Err(g.raise_new(
            "OverflowError",
            "Python int too large to convert to C ssize_t",
        )),
        _ => {
            let t = g.type_name(v)?;
            Err(g.raise_new(
                "TypeError",
                format!("{what} indices must be integers, not {t}"),
            ))
        }
    }
}

/// A subscript (`seq[i]`): as [`index_arg`], but a big int is CPython's `IndexError`.
fn subscript_arg(g: &mut Gil<'_>, v: Value, what: &str) -> PyResult<i64> {
    if bigint::is_big(v) {
        return Err(g.raise_new("IndexError", "cannot fit 'int' into an index-sized integer"));
    }
    index_arg(g, v, what)
}

// -------------------------------------------------------------------- builtins module

fn f_len(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "len", 1)?;
    let n = g.len(a[0])?;
    g.int(n as i64)
}

fn f_repr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "repr", 1)?;
    let s = g.repr(a[0])?;
    g.str(&s)
}

fn f_hash(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "hash", 1)?;
    let h = g.hash(a[0])?;
    g.int(h)
}

fn f_isinstance(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "isinstance", 2)?;
    Ok(Value::bool(g.isinstance(a[0], a[1])?))
}

fn f_issubclass(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "issubclass", 2)?;
    Ok(Value::bool(g.issubclass(a[0], a[1])?))
}

fn f_getattr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    if !(2..=3).contains(&a.len()) {
        func_arity(g, a, "getattr", 2)?;
    }
    let name = arg_text(g, a[1], "getattr", "2")?;
    match g.getattr(a[0], &name) {
        Ok(v) => Ok(v),
        Err(e) if a.len() == 3 => {
            let exc = g.err_occurred();
            let is_attr = match (exc, g.builtin_class("AttributeError")) {
                (Some(x), Some(c)) => g.isinstance(x, c).unwrap_or(false),
                _ => false,
            };
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

fn f_setattr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "setattr", 3)?;
    let name = arg_text(g, a[1], "setattr", "2")?;
    g.setattr(a[0], &name, a[2])?;
    Ok(Value::NONE)
}

fn f_hasattr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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

/// Fills the `sys` module: `argv` (from the runtime's argv storage) and `version_info`.
pub(crate) fn init_sys(g: &mut Gil<'_>, m: Value) -> PyResult<()> {
    let argv = g.st.argv().to_vec();
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

fn sys_getrecursionlimit(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "getrecursionlimit", 0)?;
    g.int(i64::from(g.recursion_limit()))
}

fn sys_setrecursionlimit(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    func_arity(g, a, "setrecursionlimit", 1)?;
    let n = match a[0].unpack() {
        Unpacked::Int(i) => i,
        Unpacked::Bool(b) => b as i64,
        _ => {
            let t = g.type_name(a[0])?;
            return Err(g.raise_new(
                "TypeError",
                format!("'{t}' object cannot be interpreted as an integer"),
            ));
        }
    };
    g.set_recursion_limit(n)?;
    Ok(Value::NONE)
}

// -------------------------------------------------------------------- constructors

/// Calls a builtin non-exception class.
pub(crate) fn construct(g: &mut Gil<'_>, cls: u32, a: &[Value]) -> PyResult<Value> {
    let at_most = |g: &mut Gil<'_>, n: usize, name: &str| -> PyResult<()> {
        if a.len() <= n {
            Ok(())
        } else {
            Err(g.raise_new(
                "TypeError",
                format!(
                    "{name}() takes at most {n} argument{} ({} given)",
                    if n == 1 { "" } else { "s" },
                    a.len()
                ),
            ))
        }
    };
    match cls {
        core::OBJECT => {
            at_most(g, 0, "object")?;
            g.alloc_instance(core::OBJECT)
        }
        core::INT => {
            at_most(g, 2, "int")?;
            let Some(&x) = a.first() else {
                return Ok(Value::int(0).expect("small"));
            };
            if let Some(&b) = a.get(1) {
                return int_with_base(g, x, b);
            }
            match x.unpack() {
                Unpacked::Int(_) => Ok(x),
                Unpacked::Bool(b) => g.int(b as i64),
                Unpacked::Float(f) if f.is_nan() => {
                    Err(g.raise_new("ValueError", "cannot convert float NaN to integer"))
                }
                Unpacked::Float(f) if f.is_infinite() => {
                    Err(g.raise_new("OverflowError", "cannot convert float infinity to integer"))
                }
                Unpacked::Float(f) => {
                    let t = f.trunc();
                    if t.abs() > crate::value::SMALL_INT_MAX as f64 {
                        bigint::from_f64(g, t)
                    } else {
                        g.int(t as i64)
                    }
                }
                _ if bigint::is_big(x) => {
                    g.incref(x)?;
                    Ok(x)
                }
                _ => {
                    let text = match g.str_text(x) {
                        Ok(t) => t.to_owned(),
                        Err(e) => {
                            if let Some(x) = g.err_fetch() {
                                g.release(x);
                            }
                            let t = g.type_name(x)?;
                            let _ = e;
                            return Err(g.raise_new(
                                "TypeError",
                                format!(
                                    "int() argument must be a string or a real number, not '{t}'"
                                ),
                            ));
                        }
                    };
                    g.int_from_str(&text, 10)
                }
            }
        }
        core::FLOAT => {
            at_most(g, 1, "float")?;
            let Some(&x) = a.first() else {
                return Ok(Value::float(0.0));
            };
            if let Some(n) = g.num(x) {
                return Ok(Value::float(match n {
                    Num::Int(i) => i as f64,
                    Num::Float(f) => f,
                }));
            }
            if bigint::is_big(x) {
                return g.as_f64(x).map(Value::float);
            }
            let text = match g.str_text(x) {
                Ok(t) => t.to_owned(),
                Err(e) => {
                    if let Some(x) = g.err_fetch() {
                        g.release(x);
                    }
                    let _ = e;
                    let t = g.type_name(x)?;
                    return Err(g.raise_new(
                        "TypeError",
                        format!("float() argument must be a string or a real number, not '{t}'"),
                    ));
                }
            };
            match text.trim().parse::<f64>() {
                Ok(f) => Ok(Value::float(f)),
                Err(_) => Err(g.raise_new(
                    "ValueError",
                    format!(
                        "could not convert string to float: {}",
                        crate::gil::str_repr(&text)
                    ),
                )),
            }
        }
        core::STR => {
            at_most(g, 1, "str")?;
            match a.first() {
                None => g.str(""),
                Some(&x) => {
                    let s = g.to_str(x)?;
                    g.str(&s)
                }
            }
        }
        core::BOOL => {
            at_most(g, 1, "bool")?;
            match a.first() {
                None => Ok(Value::FALSE),
                Some(&x) => Ok(Value::bool(g.truthy(x)?)),
            }
        }
        core::TUPLE | core::LIST => {
            let name = if cls == core::TUPLE { "tuple" } else { "list" };
            at_most(g, 1, name)?;
            let items = match a.first() {
                None => Vec::new(),
                Some(&x) => iterable_items(g, x)?,
            };
            let r = if cls == core::TUPLE {
                g.tuple(&items)
            } else {
                g.list(&items)
            };
            release_all(g, &items);
            r
        }
        core::DICT => {
            at_most(g, 1, "dict")?;
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
        core::TYPE => match a.len() {
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
            _ => Err(g.raise_new("TypeError", "type() takes 1 or 3 arguments")),
        },
        _ => {
            let name = g.class_name(cls).to_owned();
            Err(g.raise_new("TypeError", format!("cannot create '{name}' instances")))
        }
    }
}

/// `int(x, base)`: `x` must be a str; `base` an int (0 or 2..=36, else `ValueError`), checked
/// in CPython's order (the base's type, then `x`'s, then the base's range).
fn int_with_base(g: &mut Gil<'_>, x: Value, base: Value) -> PyResult<Value> {
    let base = match base.unpack() {
        Unpacked::Int(i) => i,
        Unpacked::Bool(b) => i64::from(b),
        _ if bigint::is_big(base) => i64::MAX, // out of range, as any huge base
        _ => {
            let t = g.type_name(base)?;
            return Err(g.raise_new(
                "TypeError",
                format!("'{t}' object cannot be interpreted as an integer"),
            ));
        }
    };
    let text = match g.str_text(x) {
        Ok(t) => t.to_owned(),
        Err(_) => {
            if let Some(e) = g.err_fetch() {
                g.release(e);
            }
            return Err(g.raise_new(
                "TypeError",
                "int() can't convert non-string with explicit base",
            ));
        }
    };
    // Negative or huge: out of range (the parser's ValueError).
    g.int_from_str(&text, u32::try_from(base).unwrap_or(1))
}

/// The items of a tuple, list, str (its characters) or dict (its keys), as new references.
fn iterable_items(g: &mut Gil<'_>, x: Value) -> PyResult<Vec<Value>> {
    if let Ok(items) = g.items(x) {
        for &v in &items {
            g.incref(v)?;
        }
        return Ok(items);
    }
    if let Some(e) = g.err_fetch() {
        g.release(e);
    }
    if let Ok(Object::Str(s)) = g.st.heap.get(x) {
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
    if let Ok(Object::Dict(_)) = g.st.heap.get(x) {
        let keys: Vec<Value> = g.dict_items(x)?.into_iter().map(|(k, _)| k).collect();
        for &k in &keys {
            g.incref(k)?;
        }
        return Ok(keys);
    }
    let t = g.type_name(x)?;
    Err(g.raise_new("TypeError", format!("'{t}' object is not iterable")))
}

fn release_all(g: &mut Gil<'_>, items: &[Value]) {
    for &v in items {
        g.release(v);
    }
}

// -------------------------------------------------------------------- object

fn obj_repr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__repr__", 0, 0)?;
    let s = g.repr(a[0])?;
    g.str(&s)
}

fn obj_str(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__str__", 0, 0)?;
    let s = g.to_str(a[0])?;
    g.str(&s)
}

fn obj_eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__eq__", 1, 1)?;
    Ok(if a[0] == a[1] {
        Value::TRUE
    } else {
        Value::NOT_IMPLEMENTED
    })
}

/// `object.__ne__`: the inverse of `type(self).__eq__(self, other)`, or `NotImplemented`
/// when that is (CPython's `object_richcompare`).
fn obj_ne(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__ne__", 1, 1)?;
    let r = g.call_method(a[0], "__eq__", &[a[1]])?;
    if r == Value::NOT_IMPLEMENTED {
        return Ok(r);
    }
    let t = g.truthy(r);
    g.release(r);
    Ok(Value::bool(!t?))
}

/// `__eq__`/`__ne__` of a container class: `NotImplemented` unless both are of class
/// `kind` (exactly: builtin containers have no subclasses here), else content equality.
fn container_cmp(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    class: u32,
    eq: bool,
) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    let class_name = match class {
        core::LIST => "list",
        core::TUPLE => "tuple",
        core::DICT => "dict",
        core::BYTES => "bytes",
        _ => "str",
    };
    if g.class_index(a[0])? != class {
        return Err(descriptor_error(g, name, class_name, a[0]));
    }
    g.check(a[1])
        .map_err(|e| g.raise_new("ReferenceError", e.to_string()))?;
    if a[1].as_obj().is_none() || g.class_index(a[1])? != class {
        return Ok(Value::NOT_IMPLEMENTED);
    }
    Ok(Value::bool(g.eq(a[0], a[1])? == eq))
}

/// `__eq__`/`__ne__` natives of the built-in containers, one `container_cmp` each.
macro_rules! container_cmps {
    ($($name:ident: $class:ident $op:literal $eq:literal;)*) => {$(
        fn $name(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            container_cmp(g, a, $op, core::$class, $eq)
        }
    )*};
}
container_cmps! {
    list_eq: LIST "__eq__" true;
    list_ne: LIST "__ne__" false;
    tuple_eq: TUPLE "__eq__" true;
    tuple_ne: TUPLE "__ne__" false;
    dict_eq: DICT "__eq__" true;
    dict_ne: DICT "__ne__" false;
    bytes_eq: BYTES "__eq__" true;
    bytes_ne: BYTES "__ne__" false;
    str_ne: STR "__ne__" false;
}

fn obj_hash(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__hash__", 0, 0)?;
    let h = g.hash(a[0])?;
    g.int(h)
}

// -------------------------------------------------------------------- numbers

#[derive(Clone, Copy)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    TrueDiv,
    FloorDiv,
    Mod,
}

fn self_num(g: &mut Gil<'_>, a: &[Value], name: &str, float: bool) -> PyResult<Num> {
    let class = if float { "float" } else { "int" };
    match a.first().and_then(|&v| g.num(v)) {
        Some(Num::Float(f)) if float => Ok(Num::Float(f)),
        Some(Num::Int(i)) if !float => Ok(Num::Int(i)),
        _ => {
            let got = a.first().copied().unwrap_or(Value::NONE);
            Err(descriptor_error(g, name, class, got))
        }
    }
}

/// The other operand of a binary method of int (`float == false`: int or bool only, as
/// `int.__add__(1, 1.5)` is `NotImplemented` in CPython, which leaves the work to
/// `float.__radd__`) or float (float, int or bool).
fn other_num(g: &Gil<'_>, v: Value, float: bool) -> Option<Num> {
    match g.num(v)? {
        Num::Float(_) if !float => None,
        n => Some(n),
    }
}

fn arith(g: &mut Gil<'_>, a: &[Value], name: &str, float: bool, op: Op) -> PyResult<Value> {
    arith_impl(g, a, name, float, op, false)
}

/// A reflected operator (`__radd__`...): `other <op> self`.
fn arith_r(g: &mut Gil<'_>, a: &[Value], name: &str, float: bool, op: Op) -> PyResult<Value> {
    arith_impl(g, a, name, float, op, true)
}

fn arith_impl(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    float: bool,
    op: Op,
    reflected: bool,
) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    if bigint::is_big(a[0]) || bigint::is_big(a[1]) {
        return bigint::arith(g, a, name, float, op, reflected);
    }
    let x = self_num(g, a, name, float)?;
    let Some(y) = other_num(g, a[1], float) else {
        return Ok(Value::NOT_IMPLEMENTED);
    };
    let (x, y) = if reflected { (y, x) } else { (x, y) };
    match (x, y) {
        (Num::Int(x), Num::Int(y)) => int_op(g, x, y, op),
        (x, y) => {
            let f = |n: Num| match n {
                Num::Int(i) => i as f64,
                Num::Float(f) => f,
            };
            float_op(g, f(x), f(y), op)
        }
    }
}

fn int_op(g: &mut Gil<'_>, x: i64, y: i64, op: Op) -> PyResult<Value> {
    let r = match op {
        Op::Add => x.checked_add(y),
        Op::Sub => x.checked_sub(y),
        Op::Mul => x.checked_mul(y),
        Op::TrueDiv => {
            if y == 0 {
                return Err(g.raise_new("ZeroDivisionError", "division by zero"));
            }
            return Ok(Value::float(x as f64 / y as f64));
        }
        Op::FloorDiv | Op::Mod => {
            if y == 0 {
                // CPython 3.11: `%` says "integer modulo by zero", `//` and divmod the other.
                let msg = match op {
                    Op::Mod => "integer modulo by zero",
                    _ => "integer division or modulo by zero",
                };
                return Err(g.raise_new("ZeroDivisionError", msg));
            }
            let (mut q, mut m) = (x / y, x % y);
            if m != 0 && ((m < 0) != (y < 0)) {
                q -= 1;
                m += y;
            }
            Some(if matches!(op, Op::FloorDiv) { q } else { m })
        }
    };
    match r {
        Some(i) => g.int(i),
        None => bigint::int_op_overflow(g, x, y, op),
    }
}

pub(crate) fn float_op(g: &mut Gil<'_>, x: f64, y: f64, op: Op) -> PyResult<Value> {
    Ok(Value::float(match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::TrueDiv => {
            if y == 0.0 {
                return Err(g.raise_new("ZeroDivisionError", "float division by zero"));
            }
            x / y
        }
        Op::FloorDiv | Op::Mod => {
            if y == 0.0 {
                let msg = if matches!(op, Op::Mod) {
                    "float modulo"
                } else {
                    "float floor division by zero"
                };
                return Err(g.raise_new("ZeroDivisionError", msg));
            }
            // CPython's float_divmod.
            let mut m = x % y;
            let mut div = (x - m) / y;
            if m != 0.0 {
                if (y < 0.0) != (m < 0.0) {
                    m += y;
                    div -= 1.0;
                }
            } else {
                m = 0.0f64.copysign(y);
            }
            let floordiv = if div != 0.0 {
                let mut f = div.floor();
                if div - f > 0.5 {
                    f += 1.0;
                }
                f
            } else {
                0.0f64.copysign(x / y)
            };
            if matches!(op, Op::Mod) { m } else { floordiv }
        }
    }))
}

fn compare(
    g: &mut Gil<'_>,
    a: &[Value],
    name: &str,
    float: bool,
    want: fn(Ordering) -> bool,
    eq: Option<bool>,
) -> PyResult<Value> {
    arity(g, a, name, 1, 1)?;
    if bigint::is_big(a[0]) || bigint::is_big(a[1]) {
        return bigint::compare(g, a, name, float, want, eq);
    }
    let x = self_num(g, a, name, float)?;
    let Some(y) = other_num(g, a[1], float) else {
        return Ok(Value::NOT_IMPLEMENTED);
    };
    if let Some(is_eq) = eq {
        return Ok(Value::bool(num_eq(x, y) == is_eq));
    }
    let ord = match (x, y) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (x, y) => {
            let f = |n: Num| match n {
                Num::Int(i) => i as f64,
                Num::Float(f) => f,
            };
            f(x).partial_cmp(&f(y))
        }
    };
    Ok(Value::bool(ord.is_some_and(want)))
}

macro_rules! numeric_methods {
    ($float:expr, $add:ident, $sub:ident, $mul:ident, $truediv:ident, $floordiv:ident, $mod_:ident,
     $radd:ident, $rsub:ident, $rmul:ident, $rtruediv:ident, $rfloordiv:ident, $rmod_:ident,
     $eq:ident, $ne:ident, $lt:ident, $le:ident, $gt:ident, $ge:ident) => {
        fn $radd(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith_r(g, a, "__radd__", $float, Op::Add)
        }
        fn $rsub(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith_r(g, a, "__rsub__", $float, Op::Sub)
        }
        fn $rmul(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith_r(g, a, "__rmul__", $float, Op::Mul)
        }
        fn $rtruediv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith_r(g, a, "__rtruediv__", $float, Op::TrueDiv)
        }
        fn $rfloordiv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith_r(g, a, "__rfloordiv__", $float, Op::FloorDiv)
        }
        fn $rmod_(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith_r(g, a, "__rmod__", $float, Op::Mod)
        }
        fn $add(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__add__", $float, Op::Add)
        }
        fn $sub(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__sub__", $float, Op::Sub)
        }
        fn $mul(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__mul__", $float, Op::Mul)
        }
        fn $truediv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__truediv__", $float, Op::TrueDiv)
        }
        fn $floordiv(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__floordiv__", $float, Op::FloorDiv)
        }
        fn $mod_(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            arith(g, a, "__mod__", $float, Op::Mod)
        }
        fn $eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__eq__", $float, |_| true, Some(true))
        }
        fn $ne(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__ne__", $float, |_| true, Some(false))
        }
        fn $lt(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__lt__", $float, Ordering::is_lt, None)
        }
        fn $le(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__le__", $float, Ordering::is_le, None)
        }
        fn $gt(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__gt__", $float, Ordering::is_gt, None)
        }
        fn $ge(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
            compare(g, a, "__ge__", $float, Ordering::is_ge, None)
        }
    };
}

numeric_methods!(
    false,
    int_add,
    int_sub,
    int_mul,
    int_truediv,
    int_floordiv,
    int_mod,
    int_radd,
    int_rsub,
    int_rmul,
    int_rtruediv,
    int_rfloordiv,
    int_rmod,
    int_eq,
    int_ne,
    int_lt,
    int_le,
    int_gt,
    int_ge
);
numeric_methods!(
    true,
    float_add,
    float_sub,
    float_mul,
    float_truediv,
    float_floordiv,
    float_mod,
    float_radd,
    float_rsub,
    float_rmul,
    float_rtruediv,
    float_rfloordiv,
    float_rmod,
    float_eq,
    float_ne,
    float_lt,
    float_le,
    float_gt,
    float_ge
);

fn int_neg(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__neg__", 0, 0)?;
    if bigint::is_big(a[0]) {
        return bigint::neg(g, a);
    }
    match self_num(g, a, "__neg__", false)? {
        Num::Int(i) => g.int(-i),
        Num::Float(_) => unreachable!("self_num checked int"),
    }
}

fn float_neg(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__neg__", 0, 0)?;
    match self_num(g, a, "__neg__", true)? {
        Num::Float(f) => Ok(Value::float(-f)),
        Num::Int(_) => unreachable!("self_num checked float"),
    }
}

fn num_bool(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__bool__", 0, 0)?;
    Ok(Value::bool(g.truthy(a[0])?))
}

// -------------------------------------------------------------------- str

fn seq_len(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__len__", 0, 0)?;
    let n = g.len(a[0])?;
    g.int(n as i64)
}

fn str_eq(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__eq__", 1, 1)?;
    self_text(g, a, "__eq__")?;
    match g.st.heap.get(a[1]) {
        Ok(Object::Str(_)) => Ok(Value::bool(g.eq(a[0], a[1])?)),
        _ => Ok(Value::NOT_IMPLEMENTED),
    }
}

fn str_contains(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__contains__", 1, 1)?;
    let s = self_text(g, a, "__contains__")?;
    let sub = arg_text(g, a[1], "__contains__", "1")?;
    Ok(Value::bool(s.contains(&sub)))
}

fn str_upper(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "upper", 0, 0)?;
    let s = self_text(g, a, "upper")?;
    g.str(&s.to_uppercase())
}

fn str_lower(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "lower", 0, 0)?;
    let s = self_text(g, a, "lower")?;
    g.str(&s.to_lowercase())
}

fn affixes(g: &mut Gil<'_>, v: Value, name: &str) -> PyResult<Vec<String>> {
    if let Ok(Object::Tuple(t)) = g.st.heap.get(v) {
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
                "TypeError",
                format!("{name} first arg must be str or a tuple of str, not {t}"),
            ))
        }
    }
}

fn str_startswith(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "startswith", 1, 1)?;
    let s = self_text(g, a, "startswith")?;
    let p = affixes(g, a[1], "startswith")?;
    Ok(Value::bool(p.iter().any(|p| s.starts_with(p.as_str()))))
}

fn str_endswith(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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
                return Err(g.raise_new("TypeError", format!("{name} arg must be None or str")));
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

fn str_strip(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    strip_impl(g, a, "strip", Strip::Both)
}

fn str_lstrip(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    strip_impl(g, a, "lstrip", Strip::Left)
}

fn str_rstrip(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    strip_impl(g, a, "rstrip", Strip::Right)
}

fn str_isspace(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "isspace", 0, 0)?;
    let s = self_text(g, a, "isspace")?;
    Ok(Value::bool(!s.is_empty() && s.chars().all(is_py_space)))
}

fn str_split(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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
            return Err(g.raise_new("ValueError", "empty separator"));
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
        if let Ok(Object::List(l)) = g.st.heap.get_mut(list) {
            l.push(v); // the new reference moves into the list
        }
    }
    Ok(list)
}

fn str_join(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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
                "TypeError",
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
                    "TypeError",
                    format!("sequence item {i}: expected str instance, {t} found"),
                ));
            }
        }
    }
    g.str(&out)
}

fn str_find(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "find", 1, 1)?;
    let s = self_text(g, a, "find")?;
    let sub = arg_text(g, a[1], "find", "1")?;
    let i = match s.find(sub.as_str()) {
        Some(byte) => s[..byte].chars().count() as i64,
        None => -1,
    };
    g.int(i)
}

fn str_replace(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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

// -------------------------------------------------------------------- bytes

fn bytes_decode(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "decode", 0, 2)?;
    let data = match g.bytes_data(a[0]) {
        Ok(d) => d.to_vec(),
        Err(_) => {
            if let Some(e) = g.err_fetch() {
                g.release(e);
            }
            return Err(descriptor_error(g, "decode", "bytes", a[0]));
        }
    };
    let encoding = match a.get(1) {
        None => "utf-8".to_owned(),
        Some(&v) => arg_text(g, v, "decode", "'encoding'")?,
    };
    let errors = match a.get(2) {
        None => "strict".to_owned(),
        Some(&v) => arg_text(g, v, "decode", "'errors'")?,
    };
    let norm = encoding.to_ascii_lowercase().replace('_', "-");
    let codec = match norm.as_str() {
        "utf-8" | "utf8" => "utf-8",
        "ascii" => "ascii",
        "latin-1" | "latin1" | "iso-8859-1" => {
            let text: String = data.iter().map(|&b| b as char).collect();
            return g.str(&text);
        }
        _ => {
            return Err(g.raise_new("LookupError", format!("unknown encoding: {encoding}")));
        }
    };
    let mut out = String::with_capacity(data.len());
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        // The longest valid prefix, then the bad range after it (CPython's and Rust's
        // "maximal subpart": the same ranges, so the same replacements and messages).
        let (good, bad, reason) = if codec == "utf-8" {
            match std::str::from_utf8(rest) {
                Ok(_) => (rest.len(), 0, ""),
                Err(e) => {
                    let good = e.valid_up_to();
                    let byte = rest[good];
                    match e.error_len() {
                        None => (good, rest.len() - good, "unexpected end of data"),
                        Some(n) if (0x80..0xC2).contains(&byte) || byte > 0xF4 => {
                            (good, n, "invalid start byte")
                        }
                        Some(n) => (good, n, "invalid continuation byte"),
                    }
                }
            }
        } else {
            let good = rest
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(rest.len());
            (
                good,
                usize::from(good < rest.len()),
                "ordinal not in range(128)",
            )
        };
        let valid = std::str::from_utf8(&rest[..good]).expect("checked: valid UTF-8 or ASCII");
        out.push_str(valid);
        if bad == 0 {
            break;
        }
        let start = pos + good;
        let bytes = &data[start..start + bad];
        let strict_message = || {
            if bad == 1 {
                format!(
                    "'{codec}' codec can't decode byte 0x{:02x} in position {start}: {reason}",
                    bytes[0]
                )
            } else {
                format!(
                    "'{codec}' codec can't decode bytes in position {start}-{}: {reason}",
                    start + bad - 1
                )
            }
        };
        match errors.as_str() {
            "strict" => return Err(g.raise_new("UnicodeDecodeError", strict_message())),
            "ignore" => {}
            "replace" => out.push('\u{fffd}'),
            "backslashreplace" => {
                for b in bytes {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            // CPython maps each bad byte to a lone surrogate (U+DC80..U+DCFF); a molt str is
            // UTF-8, which cannot hold one, so this is an error rather than a wrong result.
            "surrogateescape" => {
                let msg = format!(
                    "{} (molt-state: errors='surrogateescape' would make lone surrogates, which a molt str, being UTF-8, cannot hold)",
                    strict_message()
                );
                return Err(g.raise_new("UnicodeDecodeError", msg));
            }
            other => {
                return Err(g.raise_new(
                    "LookupError",
                    format!("unknown error handler name '{other}'"),
                ));
            }
        }
        pos = start + bad;
    }
    g.str(&out)
}

// -------------------------------------------------------------------- tuple and list

fn seq_getitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__getitem__", 1, 1)?;
    let what = g.type_name(a[0])?;
    let i = subscript_arg(g, a[1], &what)?;
    g.get_item_index(a[0], i)
}

fn seq_index(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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
    Err(g.raise_new("ValueError", msg))
}

fn seq_contains(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__contains__", 1, 1)?;
    let items = g.items(a[0])?;
    for item in items {
        if g.eq(item, a[1])? {
            return Ok(Value::TRUE);
        }
    }
    Ok(Value::FALSE)
}

fn seq_count(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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

fn list_mut<'a>(g: &'a mut Gil<'_>, v: Value, name: &str) -> PyResult<&'a mut Vec<Value>> {
    if !matches!(g.st.heap.get(v), Ok(Object::List(_))) {
        return Err(descriptor_error(g, name, "list", v));
    }
    match g.st.heap.get_mut(v) {
        Ok(Object::List(l)) => Ok(l),
        _ => unreachable!("checked just now"),
    }
}

fn list_append(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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

fn list_pop(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "pop", 0, 1)?;
    let index = match a.get(1) {
        None => -1,
        Some(&v) => index_arg(g, v, "list")?,
    };
    let l = list_mut(g, a[0], "pop")?;
    if l.is_empty() {
        return Err(g.raise_new("IndexError", "pop from empty list"));
    }
    let n = l.len() as i64;
    let i = if index < 0 { index + n } else { index };
    if !(0..n).contains(&i) {
        return Err(g.raise_new("IndexError", "pop index out of range"));
    }
    Ok(l.remove(i as usize)) // the list's reference passes to the caller
}

fn list_extend(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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

fn list_setitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__setitem__", 2, 2)?;
    let index = subscript_arg(g, a[1], "list")?;
    g.check(a[2])
        .map_err(|_| g.raise_new("ReferenceError", "stale value"))?;
    let l = list_mut(g, a[0], "__setitem__")?;
    let n = l.len() as i64;
    let i = if index < 0 { index + n } else { index };
    if !(0..n).contains(&i) {
        return Err(g.raise_new("IndexError", "list assignment index out of range"));
    }
    let old = std::mem::replace(&mut l[i as usize], a[2]);
    g.incref(a[2])?;
    g.release(old);
    Ok(Value::NONE)
}

// -------------------------------------------------------------------- dict

fn key_error(g: &mut Gil<'_>, key: Value) -> crate::gil::Raised {
    let cls = g.builtin_index("KeyError").expect("KeyError is builtin");
    match g.instantiate(cls, &[key]) {
        Ok(e) => g.raise(e),
        Err(r) => r,
    }
}

fn dict_get(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "get", 1, 2)?;
    let v = g
        .dict_get(a[0], a[1])?
        .unwrap_or(a.get(2).copied().unwrap_or(Value::NONE));
    g.incref(v)?;
    Ok(v)
}

fn dict_getitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__getitem__", 1, 1)?;
    match g.dict_get(a[0], a[1])? {
        Some(v) => {
            g.incref(v)?;
            Ok(v)
        }
        None => Err(key_error(g, a[1])),
    }
}

fn dict_setitem(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__setitem__", 2, 2)?;
    g.dict_set(a[0], a[1], a[2])?;
    Ok(Value::NONE)
}

fn dict_contains(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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
        if let Ok(Object::List(l)) = g.st.heap.get_mut(list) {
            l.push(item);
        }
    }
    Ok(list)
}

fn dict_keys(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    dict_view(g, a, "keys", |k, _| [Some(k), None])
}

fn dict_values(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    dict_view(g, a, "values", |_, v| [Some(v), None])
}

fn dict_items(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    dict_view(g, a, "items", |k, v| [Some(k), Some(v)])
}

fn dict_pop(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
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

// -------------------------------------------------------------------- exceptions

fn exc_str(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__str__", 0, 0)?;
    let s = g.exc_str(a[0])?;
    g.str(&s)
}

fn exc_repr(g: &mut Gil<'_>, a: &[Value]) -> PyResult<Value> {
    arity(g, a, "__repr__", 0, 0)?;
    let s = g.repr(a[0])?;
    g.str(&s)
}

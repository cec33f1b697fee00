//! Native functions: the builtin classes' method tables, the `builtins` and `sys` modules,
//! and the constructors of the builtin classes.
//!
//! Native functions live in one table per runtime (a function value is `(Kind::Function,
//! index)`) for the life of the runtime. The builtin ones come first, copied at init from
//! `BUILTIN_NATIVES`, which the compiler builds from the static tables below, as it builds
//! each builtin class's method table (a sorted slice of (name, function index):
//! `builtin_methods`).
//!
//! This file holds the tables, their compile-time construction and `construct`, which
//! calls one constructor per builtin class. The natives themselves, by class:
//!
//! - `args.rs`: argument checking (arity, `self` and str arguments, ints used as indices);
//! - `num.rs`: what int and float share (the operators, `arith`, `compare`, the macro of
//!   the operator methods); `int.rs` (and `bool`'s constructor), `float.rs`;
//! - `container.rs`: what the containers share (`__len__`, `__eq__`/`__ne__`, the sequence
//!   methods of tuple and list, the items of an iterable); `string.rs` (str), `bytes.rs`,
//!   `tuple.rs`, `list.rs`, `dict.rs`;
//! - `object.rs`: `object()` and its methods (some serve every class); `class.rs`: `type(...)`;
//!   `exceptions.rs`: `BaseException`'s;
//! - `builtins.rs`: the `builtins` module (`len`, `repr`, `hash`, `isinstance`, ...);
//!   `sys.rs`: the `sys` module.

mod args;
mod builtins;
mod bytes;
mod class;
mod container;
mod dict;
mod exceptions;
mod float;
mod int;
mod list;
mod num;
mod object;
mod string;
mod sys;
mod tuple;

pub(crate) use args::{arity, descriptor_error};
pub(crate) use builtins::init_builtins;
pub(crate) use float::float_op;
pub(crate) use num::{Arith, Compare, Op};
pub(crate) use string::is_py_space;
pub(crate) use sys::init_sys;

use crate::ExcClass;
use crate::builtins::const_index;
use crate::builtins::table::BUILTIN_CLASSES;
// natives -> gil -> natives is a genuine cycle: a native function receives the token
// (`NativeFn`), and the token's `call` dispatches to the native table.
use crate::gil::{Gil, PyResult};
use crate::intern::{Symbol, static_symbol};
use crate::object::bigint;
use crate::object::types::core_class;
use crate::value::Value;
use builtins::{
    f_getattr, f_hasattr, f_hash, f_isinstance, f_issubclass, f_len, f_repr, f_setattr,
};
use bytes::{bytes_decode, bytes_eq, bytes_ne};
use container::{seq_contains, seq_count, seq_getitem, seq_index, seq_len};
use dict::{
    dict_contains, dict_eq, dict_get, dict_getitem, dict_items, dict_keys, dict_ne, dict_pop,
    dict_setitem, dict_values,
};
use exceptions::exc_str;
use float::{
    float_add, float_eq, float_floordiv, float_ge, float_gt, float_le, float_lt, float_mod,
    float_mul, float_ne, float_neg, float_radd, float_rfloordiv, float_rmod, float_rmul,
    float_rsub, float_rtruediv, float_sub, float_truediv,
};
use int::{
    int_add, int_eq, int_floordiv, int_ge, int_gt, int_le, int_lt, int_mod, int_mul, int_ne,
    int_neg, int_radd, int_rfloordiv, int_rmod, int_rmul, int_rsub, int_rtruediv, int_sub,
    int_truediv,
};
use list::{list_append, list_eq, list_extend, list_ne, list_pop, list_setitem};
use num::num_bool;
use object::{obj_eq, obj_hash, obj_ne, obj_repr, obj_str};
use string::{
    str_contains, str_endswith, str_eq, str_find, str_isspace, str_join, str_lower, str_lstrip,
    str_ne, str_replace, str_rstrip, str_split, str_startswith, str_strip, str_upper,
};
use sys::{sys_getrecursionlimit, sys_setrecursionlimit};
use tuple::{tuple_eq, tuple_ne};

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
        // `__repr__`: object's native (`Gil::repr` writes an exception's repr).
        &[("__str__", exc_str), ("__repr__", obj_repr)],
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

/// Writes `table`'s natives (of the class `owner`, or none) from index `n` on; returns the
/// index after them.
const fn put(
    natives: &mut [Native; NATIVE_COUNT],
    mut n: usize,
    owner: Option<u32>,
    table: Table,
) -> usize {
    let mut f = 0;
    while f < table.len() {
        natives[n] = Native {
            name: name_symbol(table[f].0),
            owner,
            func: table[f].1,
            host: NO_HOST,
        };
        n += 1;
        f += 1;
    }
    n
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
    let mut n = put(&mut natives, 0, None, BUILTIN_FUNCTIONS);
    n = put(&mut natives, n, None, SYS_FUNCTIONS);
    let mut t = 0;
    while t < METHOD_TABLES.len() {
        let owner = const_index(METHOD_TABLES[t].0) as u32;
        n = put(&mut natives, n, Some(owner), METHOD_TABLES[t].1);
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

// -------------------------------------------------------------------- constructors

/// Calls a builtin non-exception class: its constructor, in its class's file.
pub(crate) fn construct(g: &mut Gil<'_>, cls: u32, a: &[Value]) -> PyResult<Value> {
    match cls {
        core_class::OBJECT => object::object_new(g, a),
        core_class::INT => int::int_new(g, a),
        core_class::FLOAT => float::float_new(g, a),
        core_class::STR => string::str_new(g, a),
        core_class::BOOL => int::bool_new(g, a),
        core_class::TUPLE => tuple::tuple_new(g, a),
        core_class::LIST => list::list_new(g, a),
        core_class::DICT => dict::dict_new(g, a),
        core_class::TYPE => class::type_new(g, a),
        _ => {
            let name = g.class_name(cls).to_owned();
            Err(g.raise_new(
                ExcClass::TYPE_ERROR,
                format!("cannot create '{name}' instances"),
            ))
        }
    }
}

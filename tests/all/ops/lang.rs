//! The op language of the op-sequence tests, and its interpreter.
//!
//! Shared, not copied: `tests/all/ops.rs` (proptest, in the normal suite) generates [`Op`]
//! sequences with its own strategies, and `fuzz/fuzz_targets/ops.rs` (cargo-fuzz) decodes
//! them from the fuzzer's bytes with `arbitrary` (derived here under `cfg(fuzzing)`, which
//! cargo-fuzz sets). Both run them through [`run`].
//!
//! An op sequence drives two sides at once:
//! * the Rust API: two runtime slots ([`Runtime::try_new`], created on first use), values
//!   made and used through [`Gil`], shutdowns mid-sequence (values kept across them become
//!   stale), and a switch between the slots (values of the other runtime are foreign);
//! * the C ABI: the process-default runtime (`molt_runtime_init`/`molt_runtime_shutdown`) and
//!   its object entry points, with values of earlier runtimes, of the Rust runtimes and raw
//!   bits, and with no runtime at all.
//!
//! The interpreter keeps a model of every value it holds: which runtime made it, how many
//! references the sequence owns, and whether the runtime may hold references of its own
//! (containers, exception state, bound methods). From that it knows, for each operand,
//! whether it is live, freed for certain, stale (another runtime), or unknown, and checks:
//! * nothing panics;
//! * every failure is a clean error: `Err(Raised)` with a current exception of an expected
//!   class (or a `MOLT_ERR_*` status with a message), never `MOLT_ERR_INTERNAL`;
//! * a freed, stale or foreign operand is rejected (`ReferenceError`,
//!   `MOLT_ERR_STALE_VALUE`), a live one never is; releasing a reference the sequence does
//!   not own, of an object that is freed, is an error and never a double free;
//! * with no C runtime every entry point returns `MOLT_ERR_NOT_INITIALIZED`;
//! * every shutdown's teardown report has an empty leak report, and its pool report counts
//!   exactly the objects that were live.
//!
//! One documented exception: a value of a dead runtime whose 5-bit runtime tag equals the
//! current runtime's matches a live object with probability ~2^-17 (docs/ARCHITECTURE.md,
//! "Object model"). The interpreter detects that (`Gil::check`, or a `molt_len` probe for the
//! C ABI), counts it in [`Stats::aliased`] and skips the op instead of failing.

#![allow(dead_code)] // each includer uses a different part (stats, names)

use molt_state::ExcClass;
use molt_state::ffi::*;
use molt_state::object::is_heap_value;
use molt_state::value::Kind;
use molt_state::{Config, Gil, PyResult, Runtime, TeardownReport, Value};
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};

/// Attribute and method names: ones that exist on some builtin type, and ones that exist
/// nowhere.
pub const NAMES: &[&str] = &[
    "upper",
    "split",
    "join",
    "append",
    "pop",
    "extend",
    "keys",
    "get",
    "count",
    "index",
    "__getitem__",
    "__setitem__",
    "__len__",
    "__class__",
    "__name__",
    "__mro__",
    "args",
    "__cause__",
    "decode",
    "no_such_attribute",
    "__missing__",
    "",
];

/// Builtin class names for lookups (the last one does not exist).
pub const CLASSES: &[&str] = &[
    "int",
    "str",
    "bytes",
    "tuple",
    "list",
    "dict",
    "float",
    "bool",
    "object",
    "type",
    "BaseException",
    "Exception",
    "ValueError",
    "KeyError",
    "TypeError",
    "ReferenceError",
    "NoSuchClass",
];

/// Exception classes to raise (an unknown name raises `RuntimeError` on the Rust side and
/// is `MOLT_ERR_INVALID_ARGUMENT` on the C side).
pub const EXCEPTIONS: &[&str] = &[
    "ValueError",
    "KeyError",
    "TypeError",
    "IndexError",
    "RuntimeError",
    "Exception",
    "BaseException",
    "ZeroDivisionError",
    "NoSuchError",
];

/// Modules to import (the last one is not registered).
pub const MODULES: &[&str] = &["sys", "builtins", "no_such_module"];

/// Exception classes an operation may fail with; anything else is not a clean error.
pub const CLEAN_ERRORS: &[&str] = &[
    "TypeError",
    "ValueError",
    "IndexError",
    "KeyError",
    "LookupError",
    "AttributeError",
    "ReferenceError",
    "OverflowError",
    "ZeroDivisionError",
    "UnicodeDecodeError",
    "ModuleNotFoundError",
    "CancelledError",
    "RecursionError",
    "MemoryError",
];

/// The limits [`Op::RecursionLimit`] sets: 0 is a `ValueError`; none is above the default
/// (1000), which the test threads' stacks are sized for (a host that raises the limit
/// needs a stack to match, as in CPython).
pub const RECURSION_LIMITS: &[i64] = &[0, 1, 10, 100, 1000];

/// Bases for [`COp::BigInt`] (37 and -1 are `ValueError`).
pub const INT_BASES: &[i32] = &[0, 2, 8, 10, 16, 36, 37, -1];

/// At most this many values are kept; more new references are released at once.
const MAX_VALUES: usize = 256;
/// At most this many operands of one call or container (more indices are ignored).
const MAX_ARGS: usize = 6;

/// An operation over the Rust API. Operands are indices into the values the sequence holds
/// (taken modulo their number; an op with no value to pick is skipped).
#[derive(Debug, Clone)]
#[cfg_attr(fuzzing, derive(arbitrary::Arbitrary))]
pub enum Op {
    // ---- lifecycle (the current slot's runtime is created by the first op that needs it)
    /// Shuts the current runtime down and checks its teardown report. Its values stay
    /// held: from now on they are stale.
    Shutdown,
    /// Makes the other runtime slot current (the values of this one become foreign).
    Switch,
    // ---- values (new references)
    /// `g.str(s)`.
    Str(String),
    /// `g.bytes(b)`.
    Bytes(Vec<u8>),
    /// `g.int(i)` (`OverflowError` outside the small-int range).
    Int(i64),
    /// `g.float(f)`.
    Float(f64),
    /// `g.tuple(items)`.
    Tuple(Vec<u8>),
    /// `g.list(items)`.
    List(Vec<u8>),
    /// `g.dict()`.
    Dict,
    /// `g.builtin_class(CLASSES[i])`.
    Class(u8),
    /// `g.class_new("C", bases, [])`.
    ClassNew(Vec<u8>),
    /// `g.import_module(MODULES[i])`.
    Import(u8),
    // ---- reference counts
    /// `g.incref(v)`: for an owned value; for a freed or stale one it must be an error.
    Incref(u8),
    /// `g.decref(v)`: for an owned value; for a freed or stale one it must be an error.
    Decref(u8),
    /// Releases a reference the sequence does not own, of a freed or stale object (the
    /// first such value from the index on): must be `ReferenceError`.
    OverRelease(u8),
    /// Releases every reference the sequence owns in the current runtime.
    ReleaseAll,
    // ---- containers and cycles
    /// `list.append(item)`.
    Append {
        /// The list (lists preferred).
        list: u8,
        /// The item.
        item: u8,
    },
    /// `list.append(list)` or `dict[dict] = dict`... a container containing itself.
    SelfCycle(u8),
    /// `g.dict_set(dict, key, value)`.
    DictSet {
        /// The dict (dicts preferred).
        dict: u8,
        /// The key.
        key: u8,
        /// The value.
        value: u8,
    },
    /// `g.dict_get(dict, key)` (a borrowed result, checked live).
    DictGet {
        /// The dict (dicts preferred).
        dict: u8,
        /// The key.
        key: u8,
    },
    /// `g.get_item_index(seq, index)`.
    GetItem {
        /// The tuple or list (preferred).
        seq: u8,
        /// The index (negative from the end).
        index: i8,
    },
    /// `g.items(seq)`: every item of a live container must be live.
    Items(u8),
    // ---- hostile shapes: deep and self-referential containers, heap exhaustion
    /// Two containers `depth` levels deep of kind `kind % 3` (list, tuple, dict), built
    /// alike, then `==` of the two and `repr` and `hash` of one: `==` and `repr` succeed
    /// well inside the recursion limit and are `RecursionError` well past it; a tuple's
    /// hash is iterative (CPython's is too) and a list or dict is unhashable at any depth;
    /// never a stack overflow. The first is kept.
    Deep {
        /// List, tuple or dict (`% 3`).
        kind: u8,
        /// Levels of nesting.
        depth: u16,
    },
    /// Two distinct containers that contain themselves (`a = [a]; b = [b]`, or dicts
    /// `a[0] = a`), compared by `how % 4`: `a == b`, `a.__ne__(b)`, `a.count(b)` (for
    /// dicts `a.__eq__(b)`), `a == a`. CPython 3.11 raises `RecursionError` for the first
    /// three and gives `True` for the last. Both are kept.
    SelfCompare {
        /// Dicts instead of lists.
        dict: bool,
        /// Which comparison (`% 4`).
        how: u8,
    },
    /// `sys.setrecursionlimit(RECURSION_LIMITS[i])` (the first is a `ValueError`).
    RecursionLimit(u8),
    /// The heap limit lowered to `room % 64` objects above what is live, then an op that
    /// needs more (`how % 3`: empty lists one by one, `str.split` of a long string, a deep
    /// list): `MemoryError`, with nothing half-built left alive; then the limit restored.
    Exhaust {
        /// Objects that may still be allocated (`% 64`).
        room: u8,
        /// Which op (`% 3`).
        how: u8,
    },
    // ---- attributes and calls
    /// `g.getattr(obj, NAMES[name])`.
    GetAttr {
        /// The object.
        obj: u8,
        /// Index into [`NAMES`].
        name: u8,
    },
    /// `g.setattr(obj, NAMES[name], value)`.
    SetAttr {
        /// The object.
        obj: u8,
        /// Index into [`NAMES`].
        name: u8,
        /// The value.
        value: u8,
    },
    /// `g.call_method(obj, NAMES[name], args)`.
    CallMethod {
        /// The receiver.
        obj: u8,
        /// Index into [`NAMES`].
        name: u8,
        /// The arguments.
        args: Vec<u8>,
    },
    /// `g.call(callable, args)` (classes, functions and bound methods preferred).
    Call {
        /// The callable.
        callable: u8,
        /// The arguments.
        args: Vec<u8>,
    },
    // ---- queries
    /// `g.len(v)`.
    Len(u8),
    /// `g.repr(v)`.
    Repr(u8),
    /// `g.hash(v)`.
    Hash(u8),
    /// `g.eq(a, b)`.
    Eq(u8, u8),
    /// `g.truthy(v)`.
    Truthy(u8),
    // ---- exceptions
    /// `g.raise_new(ExcClass::by_name(EXCEPTIONS[class]), message)`; left current (chained by
    /// later raises). A name with no class raises nothing.
    Raise {
        /// Index into [`EXCEPTIONS`].
        class: u8,
        /// The message.
        message: String,
    },
    /// `g.raise(v)`: consumes an exception instance; instantiates a class; anything else
    /// is a `TypeError`.
    RaiseValue(u8),
    /// `g.err_fetch()`.
    Fetch,
    /// `g.clear_last_exception()`.
    ClearLast,
    // ---- the C ABI (the process-default runtime)
    /// An op over the C ABI.
    C(COp),
    // ---- tasks (the current Rust runtime; one worker thread)
    /// `g.spawn(..)` / `g.spawn_after(..)` of a body of kind `kind % TASK_KINDS`: returns an
    /// int, returns a new str, raises `ValueError`, builds a list holding a str, sleeps for
    /// an hour (in `TaskCx::sleep`), or waits an hour on a timer (`spawn_after`).
    TaskSpawn(u8),
    /// `g.join(task)` of a task the sequence spawned (in any runtime, alive or not). A task
    /// that would never finish is cancelled first.
    TaskJoin(u8),
    /// `g.cancel(task, ..)`.
    TaskCancel(u8),
}

/// Kinds of task body (see [`Op::TaskSpawn`]).
pub const TASK_KINDS: u8 = 6;

/// An operation over the C ABI's process-default runtime. With no runtime every entry
/// point must return `MOLT_ERR_NOT_INITIALIZED`.
#[derive(Debug, Clone)]
#[cfg_attr(fuzzing, derive(arbitrary::Arbitrary))]
pub enum COp {
    /// `molt_runtime_init()`.
    Init,
    /// `molt_runtime_shutdown()` (checks the teardown report if a runtime was torn down).
    Shutdown,
    /// `molt_str_from_utf8`.
    Str(String),
    /// `molt_bytes_from`.
    Bytes(Vec<u8>),
    /// `molt_int_from_i64`.
    Int(i64),
    /// `molt_float_from_f64`.
    Float(f64),
    /// `molt_tuple_new`.
    Tuple(Vec<u8>),
    /// `molt_list_new`.
    List(Vec<u8>),
    /// `molt_dict_new`.
    Dict,
    /// `molt_builtin_class(CLASSES[i])`.
    Class(u8),
    /// `molt_import(MODULES[i])`.
    Import(u8),
    /// `molt_incref`.
    Incref(u8),
    /// `molt_decref`.
    Decref(u8),
    /// `molt_decref` of a freed or stale value: must be `MOLT_ERR_STALE_VALUE`.
    OverRelease(u8),
    /// `molt_dict_set`.
    DictSet {
        /// The dict (dicts preferred).
        dict: u8,
        /// The key.
        key: u8,
        /// The value.
        value: u8,
    },
    /// `molt_dict_get`.
    DictGet {
        /// The dict (dicts preferred).
        dict: u8,
        /// The key.
        key: u8,
    },
    /// `molt_tuple_get`.
    TupleGet {
        /// The tuple or list (preferred).
        seq: u8,
        /// The index.
        index: u8,
    },
    /// `molt_getattr`.
    GetAttr {
        /// The object.
        obj: u8,
        /// Index into [`NAMES`].
        name: u8,
    },
    /// `molt_call_method`.
    CallMethod {
        /// The receiver.
        obj: u8,
        /// Index into [`NAMES`].
        name: u8,
        /// The arguments.
        args: Vec<u8>,
    },
    /// `molt_call`.
    Call {
        /// The callable.
        callable: u8,
        /// The arguments.
        args: Vec<u8>,
    },
    /// `molt_len`.
    Len(u8),
    /// `molt_repr`.
    Repr(u8),
    /// `molt_hash`.
    Hash(u8),
    /// `molt_raise(class, message)`; left current.
    Raise {
        /// Index into [`EXCEPTIONS`].
        class: u8,
        /// The message (NULs are dropped), or NULL.
        message: Option<String>,
    },
    /// `molt_raise(value, NULL)`.
    RaiseValue(u8),
    /// `molt_err_fetch`.
    Fetch,
    /// `molt_err_occurred`.
    Occurred,
    /// An entry point that makes a result, called with a NULL out-pointer (`entry` picks
    /// which): `MOLT_ERR_INVALID_ARGUMENT`, and nothing allocated.
    NullOut(u8),
    /// An entry point taking a count, called with one above `isize::MAX` (`count` with its
    /// top bit set; `entry` picks which) and a valid short buffer:
    /// `MOLT_ERR_INVALID_ARGUMENT`, nothing read past the buffer and nothing allocated.
    HugeCount {
        /// Which entry point.
        entry: u8,
        /// The count's low bits.
        count: u64,
    },
    /// A list (or tuple) `depth` levels deep built through the C ABI, then `molt_repr`,
    /// `molt_hash` or `__eq__` of two (`query % 3`): `RecursionError` past the recursion
    /// limit, never a crash. Nothing is kept.
    Deep {
        /// Tuples instead of lists.
        tuple: bool,
        /// Levels of nesting.
        depth: u16,
        /// Which query.
        query: u8,
    },
    /// `molt_int_from_str(digits, INT_BASES[base])`, then `molt_int_to_str` of the result;
    /// bad syntax or base is `ValueError`.
    BigInt {
        /// The digits.
        digits: String,
        /// Index into [`INT_BASES`].
        base: u8,
    },
    /// Raw bits as a value argument (`entry` picks len, hash, repr, int_as_i64 or decref).
    Raw {
        /// The bits.
        bits: u64,
        /// Which entry point.
        entry: u8,
    },
    /// A value of the Rust runtimes passed to the C ABI (foreign to it), like `Raw`.
    Foreign {
        /// Index into the Rust side's values.
        value: u8,
        /// Which entry point.
        entry: u8,
    },
}

/// What a sequence exercised (summed over cases by the proptest, so a run shows that it
/// did not just skip everything).
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Ops run (not skipped).
    pub ops: u64,
    /// Ops skipped (no operand, or an operand whose ownership is unknown).
    pub skipped: u64,
    /// Clean errors (Rust `Err(Raised)` and C error statuses), rejections included.
    pub errors: u64,
    /// Freed, stale or foreign values rejected.
    pub rejected: u64,
    /// C calls made with no runtime (all `MOLT_ERR_NOT_INITIALIZED`).
    pub no_runtime: u64,
    /// Rust runtimes created.
    pub inits: u64,
    /// Rust and C runtimes shut down (each report checked).
    pub shutdowns: u64,
    /// Objects reclaimed by those shutdowns (leaked or in cycles at shutdown).
    pub reclaimed: u64,
    /// Containers made to contain themselves.
    pub cycles: u64,
    /// Stale values that matched a live object of the current runtime (documented, ~2^-16).
    pub aliased: u64,
    /// `RecursionError`s raised by deep or self-referential containers.
    pub recursion_errors: u64,
    /// `MemoryError`s raised by an exhausted heap.
    pub memory_errors: u64,
    /// C calls refused for a NULL out-pointer or a count above `isize::MAX`.
    pub invalid_arguments: u64,
}

impl Stats {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Stats) {
        self.ops += other.ops;
        self.skipped += other.skipped;
        self.errors += other.errors;
        self.rejected += other.rejected;
        self.no_runtime += other.no_runtime;
        self.inits += other.inits;
        self.shutdowns += other.shutdowns;
        self.reclaimed += other.reclaimed;
        self.cycles += other.cycles;
        self.aliased += other.aliased;
        self.recursion_errors += other.recursion_errors;
        self.memory_errors += other.memory_errors;
        self.invalid_arguments += other.invalid_arguments;
    }
}

/// Runs `ops` on fresh runtimes (Rust runtimes with the allocation registry on; the C
/// ABI's process-default runtime, which the caller must have to itself), shuts everything
/// down and checks every teardown. Panics on a violated invariant.
pub fn run(ops: &[Op], max_ops: usize) -> Stats {
    let mut m = Machine::new();
    for op in ops.iter().take(max_ops) {
        m.op(op);
    }
    m.finish()
}

/// A Rust runtime config independent of the environment, with the registry on.
pub fn config() -> Config {
    Config {
        read_env: false,
        track_allocations: Some(true),
        hash_seed: Some(molt_state::hash::HashSeed::Fixed(0)),
        workers: Some(1),
        ..Config::default()
    }
}

/// A value held by the sequence: the runtime that made it (`home`) and its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    home: u64,
    bits: u64,
}

/// What the sequence knows about a value it holds.
#[derive(Debug, Default, Clone, Copy)]
struct Entry {
    /// References the sequence owns.
    owned: u32,
    /// Whether the runtime may hold references of its own (so at `owned == 0` it may live).
    shared: bool,
}

/// An operand's state, from the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// A number, a singleton, or a class or function of the current runtime.
    Immortal,
    /// An object the sequence owns a reference to.
    Live,
    /// An object the sequence owns no reference to, which the runtime may still hold.
    Unknown,
    /// An object of the current runtime that is freed for certain.
    Dead,
    /// An object of another runtime (shut down, or the other live one).
    Stale,
}

impl St {
    fn rejected(self) -> bool {
        matches!(self, St::Dead | St::Stale)
    }
}

/// What an op's outcome must be, from its operands' states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Success, or a clean error other than a rejection.
    Fine,
    /// Anything clean (an operand's liveness is unknown).
    Any,
    /// A rejection (`ReferenceError` / `MOLT_ERR_STALE_VALUE`).
    Rejected,
    /// An error of some kind (a secondary operand is rejected, but the op may fail on
    /// something else first).
    Fails,
}

fn expect(primary: St, others: &[St]) -> Expect {
    if primary.rejected() {
        Expect::Rejected
    } else if others.iter().any(|s| s.rejected()) {
        Expect::Fails
    } else if primary == St::Unknown || others.contains(&St::Unknown) {
        Expect::Any
    } else {
        Expect::Fine
    }
}

/// `dict_set`/`dict_get` check the key (and value) and hash the key before they resolve
/// the dict: a rejected key or value is a rejection; a rejected dict makes the op fail, but
/// an unhashable key fails it first (`TypeError`).
fn keys_first(ex: Expect, keys: &[Key], st: impl Fn(Key) -> St) -> Expect {
    if keys.iter().any(|&k| st(k).rejected()) {
        Expect::Rejected
    } else if ex == Expect::Rejected {
        Expect::Fails
    } else {
        ex
    }
}

/// The values one side holds.
#[derive(Debug, Default)]
struct Values {
    keys: Vec<Key>,
    model: HashMap<Key, Entry>,
}

fn value(bits: u64) -> Value {
    Value::from_bits(bits).expect("held values are valid encodings")
}

fn kind_of(bits: u64) -> Option<Kind> {
    value(bits).as_obj().map(|r| r.kind)
}

impl Values {
    fn pick(&self, i: u8) -> Option<Key> {
        (!self.keys.is_empty()).then(|| self.keys[i as usize % self.keys.len()])
    }

    /// Like `pick`, among values of the preferred kinds if there are any.
    fn pick_pref(&self, i: u8, kinds: &[Kind]) -> Option<Key> {
        let preferred: Vec<Key> = self
            .keys
            .iter()
            .copied()
            .filter(|k| kind_of(k.bits).is_some_and(|kind| kinds.contains(&kind)))
            .collect();
        if preferred.is_empty() {
            self.pick(i)
        } else {
            Some(preferred[i as usize % preferred.len()])
        }
    }

    fn picks(&self, idx: &[u8]) -> Vec<Key> {
        idx.iter()
            .take(MAX_ARGS)
            .filter_map(|&i| self.pick(i))
            .collect()
    }

    fn state(&self, k: Key, home: Option<u64>) -> St {
        let v = value(k.bits);
        if v.as_obj().is_none() {
            return St::Immortal;
        }
        if Some(k.home) != home {
            return St::Stale;
        }
        if !is_heap_value(v) {
            return St::Immortal;
        }
        let e = self.model.get(&k).copied().unwrap_or_default();
        if e.owned > 0 {
            St::Live
        } else if e.shared {
            St::Unknown
        } else {
            St::Dead
        }
    }

    fn entry(&mut self, k: Key) -> &mut Entry {
        self.model.entry(k).or_default()
    }

    fn share(&mut self, keys: &[Key]) {
        for &k in keys {
            self.entry(k).shared = true;
        }
    }

    /// Takes over a new reference. False if it was not kept (too many values): the caller
    /// releases it.
    fn adopt(&mut self, k: Key, shared: bool) -> bool {
        if !self.model.contains_key(&k) {
            if self.keys.len() >= MAX_VALUES {
                return false;
            }
            self.keys.push(k);
        }
        let e = self.entry(k);
        e.owned += 1;
        e.shared |= shared;
        true
    }
}

/// One of the two Rust runtime slots.
struct Slot {
    rt: Runtime,
    home: u64,
}

/// The interpreter's state.
struct Machine {
    /// Tasks spawned by the sequence: (home, id, body kind), in every runtime, dead ones too.
    tasks: Vec<(u64, molt_state::TaskId, u8)>,
    slots: [Option<Slot>; 2],
    current: usize,
    next_home: u64,
    rust: Values,
    c_home: Option<u64>,
    c: Values,
    stats: Stats,
    c_registry_on: bool,
}

/// The message of this thread's last failed C call.
fn last_error() -> String {
    let p = molt_last_error();
    assert!(!p.is_null(), "a failing C call must set molt_last_error");
    // SAFETY: NULL or NUL-terminated, valid until this thread's next failing call.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "")).expect("NULs removed")
}

/// Checks a teardown report of a Rust runtime that had `live` heap objects.
fn check_report(report: &TeardownReport, live: u64) {
    assert!(report.registry_enabled, "the registry was turned on");
    assert!(
        report.leaks.is_empty(),
        "leak after shutdown: {}",
        report.leaks
    );
    assert_eq!(report.live_after(), 0);
    assert_eq!(
        report.pool.live_dropped, live,
        "the pool report counts the objects live at shutdown"
    );
    let reclaimed: u64 = report.reclaimed.iter().map(|r| r.items).sum();
    assert_eq!(reclaimed, live, "the reclaimed list counts them too");
    assert!(report.hash_secret_wiped);
}

/// Checks a Rust op's failure: a current exception of a clean class (a rejection when
/// required, never one when not); fetches it and keeps it. Returns the ok value, if any.
fn settle<T>(
    g: &mut Gil<'_>,
    vals: &mut Values,
    home: u64,
    stats: &mut Stats,
    r: PyResult<T>,
    ex: Expect,
    what: &str,
) -> Option<T> {
    match r {
        Ok(x) => {
            assert!(
                !matches!(ex, Expect::Rejected | Expect::Fails),
                "{what}: succeeded with a freed, stale or foreign operand"
            );
            Some(x)
        }
        Err(_) => {
            stats.errors += 1;
            let e = g
                .err_occurred()
                .unwrap_or_else(|| panic!("{what}: Err(Raised) without a current exception"));
            let name = g
                .type_name(e)
                .unwrap_or_else(|_| panic!("{what}: the current exception is not a live value"));
            let text = g.describe_exception(e);
            assert!(
                CLEAN_ERRORS.contains(&name.as_str()),
                "{what}: not a clean error: {text}"
            );
            match ex {
                Expect::Rejected => {
                    assert_eq!(name, "ReferenceError", "{what}: must be rejected: {text}");
                    stats.rejected += 1;
                }
                Expect::Fine => assert!(
                    name != "ReferenceError",
                    "{what}: a live operand was rejected: {text}"
                ),
                Expect::Fails | Expect::Any => {}
            }
            let fetched = g.err_fetch();
            assert_eq!(
                fetched,
                Some(e),
                "{what}: err_fetch returns the current exception"
            );
            assert!(g.err_occurred().is_none());
            // The last exception keeps a reference: shared.
            keep(g, vals, home, e, true);
            None
        }
    }
}

/// The outcome of a Rust call whose failure the op checks itself: `Err(class name)`, with
/// the exception fetched and released (a clean class, or the op panics).
fn outcome<T>(g: &mut Gil<'_>, r: PyResult<T>, what: &str) -> Result<T, String> {
    r.map_err(|_| {
        let e = g
            .err_fetch()
            .unwrap_or_else(|| panic!("{what}: Err(Raised) without a current exception"));
        let name = g.type_name(e).expect("a fetched exception is live");
        let text = g.describe_exception(e);
        g.decref(e).expect("the fetched reference");
        assert!(
            CLEAN_ERRORS.contains(&name.as_str()),
            "{what}: not a clean error: {text}"
        );
        name
    })
}

/// How a query of a deep container behaves (CPython 3.11's behaviour).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deepness {
    /// Recursive (`==`, `repr`): `RecursionError` past the recursion limit.
    Recursive,
    /// Iterative, as CPython's tuple hash (an explicit stack): succeeds at any depth.
    Iterative,
    /// `hash` of a list or dict: `TypeError` (unhashable) at any depth.
    Unhashable,
}

/// Checks the outcome of a query of a container `depth` levels deep under recursion limit
/// `limit`. A recursive query succeeds well inside it, is `RecursionError` well past it,
/// and either near it (the levels it spends per container are an implementation detail).
fn deep_outcome<T>(
    stats: &mut Stats,
    depth: usize,
    limit: usize,
    how: Deepness,
    r: &Result<T, String>,
    what: &str,
) {
    let err = r.as_ref().err().map(String::as_str);
    if err == Some("RecursionError") {
        stats.recursion_errors += 1;
    }
    let at = format!("{what} {depth} levels deep, limit {limit}");
    match how {
        Deepness::Unhashable => assert_eq!(err, Some("TypeError"), "{at}"),
        Deepness::Iterative => assert_eq!(err, None, "{at}"),
        Deepness::Recursive if (depth + 1) * 2 <= limit => assert_eq!(err, None, "{at}"),
        Deepness::Recursive if depth > limit * 2 + 8 => {
            assert_eq!(err, Some("RecursionError"), "{at}")
        }
        Deepness::Recursive => assert!(
            matches!(err, None | Some("RecursionError")),
            "{at}: {err:?}"
        ),
    }
}

/// A new container `depth` levels deep: `[[...[]]]`, `((...(),),)` or `{0: {0: ... {}}}`.
fn build_deep(g: &mut Gil<'_>, kind: u8, depth: usize) -> Value {
    let key = Value::int(0).expect("a small int");
    let mut v = match kind % 3 {
        0 => g.list(&[]),
        1 => g.tuple(&[]),
        _ => g.dict(),
    }
    .expect("the heap has room");
    for _ in 0..depth {
        let outer = match kind % 3 {
            0 => g.list(&[v]),
            1 => g.tuple(&[v]),
            _ => g.dict().and_then(|d| g.dict_set(d, key, v).map(|()| d)),
        }
        .expect("the heap has room");
        // The outer container holds it now.
        g.decref(v).expect("our reference");
        v = outer;
    }
    v
}

/// Takes over a new reference from the Rust API (releasing it if the sequence holds too
/// many values).
fn keep(g: &mut Gil<'_>, vals: &mut Values, home: u64, v: Value, shared: bool) {
    let k = Key {
        home,
        bits: v.to_bits(),
    };
    if !vals.adopt(k, shared) {
        g.decref(v).expect("releasing a new reference");
    }
}

impl Machine {
    fn new() -> Self {
        // The C runtime of an earlier (failed) case may still be up: start from none.
        let _ = molt_runtime_shutdown();
        let c_registry_on = match std::env::var("MOLT_ALLOC_REGISTRY").as_deref() {
            Ok("1") => true,
            Ok("0") => false,
            _ => cfg!(debug_assertions),
        };
        Machine {
            tasks: Vec::new(),
            slots: [None, None],
            current: 0,
            next_home: 1,
            rust: Values::default(),
            c_home: None,
            c: Values::default(),
            stats: Stats::default(),
            c_registry_on,
        }
    }

    fn op(&mut self, op: &Op) {
        match op {
            Op::C(c) => self.c_op(c),
            Op::Shutdown => self.rust_shutdown(),
            Op::Switch => {
                self.current ^= 1;
                self.stats.ops += 1;
            }
            _ => self.rust(op),
        }
    }

    fn finish(mut self) -> Stats {
        for _ in 0..2 {
            self.rust_shutdown();
            self.current ^= 1;
        }
        self.c_shutdown();
        self.stats
    }

    // ------------------------------------------------------------------ the Rust API

    fn rust_shutdown(&mut self) {
        let Some(slot) = self.slots[self.current].take() else {
            return;
        };
        self.stats.ops += 1;
        // Join this runtime's tasks first, as an application would (cancelling the ones that
        // would never finish): their results and exceptions become the sequence's values, so
        // the live count below covers everything the heap holds at teardown.
        {
            let home = slot.home;
            let mut g = slot.rt.gil();
            let mine: Vec<_> = self
                .tasks
                .iter()
                .filter(|t| t.0 == home)
                .map(|t| t.1)
                .collect();
            for id in mine {
                if g.task_check(id).is_err() {
                    continue; // joined already
                }
                let r = g.cancel(id, None);
                settle(
                    &mut g,
                    &mut self.rust,
                    home,
                    &mut self.stats,
                    r,
                    Expect::Fine,
                    "cancel",
                );
                let r = g.join(id);
                if let Some(v) = settle(
                    &mut g,
                    &mut self.rust,
                    home,
                    &mut self.stats,
                    r,
                    Expect::Any,
                    "join",
                ) {
                    keep(&mut g, &mut self.rust, home, v, false);
                }
            }
        }
        let owned_live = self
            .rust
            .model
            .iter()
            .filter(|(k, e)| k.home == slot.home && e.owned > 0 && is_heap_value(value(k.bits)))
            .count() as u64;
        let live = slot.rt.gil().live_objects();
        assert!(
            live >= owned_live,
            "{live} live objects, but the sequence owns references to {owned_live}"
        );
        let report = slot.rt.shutdown().expect("shutting down an owned runtime");
        check_report(&report, live);
        self.stats.shutdowns += 1;
        self.stats.reclaimed += live;
    }

    fn rust(&mut self, op: &Op) {
        if self.slots[self.current].is_none() {
            let rt = Runtime::try_new(config()).expect("init with a valid config");
            self.slots[self.current] = Some(Slot {
                rt,
                home: self.next_home,
            });
            self.next_home += 1;
            self.stats.inits += 1;
        }
        let Machine {
            slots,
            current,
            rust: vals,
            stats,
            tasks,
            ..
        } = self;
        let slot = slots[*current].as_ref().expect("created above");
        let home = slot.home;
        let mut g = slot.rt.gil();
        let g = &mut g;
        let st = |vals: &Values, k: Key| vals.state(k, Some(home));
        // Stale operands that happen to match a live object here (documented, ~2^-16):
        // skip the op rather than act on an object the model does not know.
        let aliased = |g: &Gil<'_>, vals: &Values, keys: &[Key]| {
            keys.iter()
                .any(|&k| st(vals, k) == St::Stale && g.check(value(k.bits)).is_ok())
        };
        macro_rules! operands {
            ($primary:expr, $others:expr) => {{
                let (p, o): (Option<Key>, Vec<Key>) = ($primary, $others);
                let Some(p) = p else {
                    stats.skipped += 1;
                    return;
                };
                let mut all = o.clone();
                all.push(p);
                if aliased(g, vals, &all) {
                    stats.aliased += 1;
                    stats.skipped += 1;
                    return;
                }
                let ex = expect(
                    st(vals, p),
                    &o.iter().map(|&k| st(vals, k)).collect::<Vec<_>>(),
                );
                (p, o, ex)
            }};
        }
        stats.ops += 1;
        let new = |g: &mut Gil<'_>,
                   vals: &mut Values,
                   stats: &mut Stats,
                   r: PyResult<Value>,
                   ex: Expect,
                   shared: bool,
                   what: &str| {
            if let Some(v) = settle(g, vals, home, stats, r, ex, what) {
                keep(g, vals, home, v, shared);
            }
        };
        match op {
            Op::Shutdown | Op::Switch | Op::C(_) => unreachable!("dispatched in Machine::op"),
            Op::Str(s) => {
                let r = g.str(s);
                new(g, vals, stats, r, Expect::Fine, false, "str");
            }
            Op::Bytes(b) => {
                let r = g.bytes(b);
                new(g, vals, stats, r, Expect::Fine, false, "bytes");
            }
            Op::Int(i) => {
                let r = g.int(*i);
                // Beyond the small-int range: a big int.
                assert!(r.is_ok(), "int({i})");
                new(g, vals, stats, r, Expect::Fine, false, "int");
            }
            Op::Float(f) => {
                let v = g.float(*f);
                keep(g, vals, home, v, false);
            }
            Op::Tuple(idx) | Op::List(idx) => {
                let items = vals.picks(idx);
                let states: Vec<St> = items.iter().map(|&k| st(vals, k)).collect();
                if aliased(g, vals, &items) {
                    stats.aliased += 1;
                    return;
                }
                let ex = expect(St::Immortal, &states);
                let ex = if ex == Expect::Fails {
                    Expect::Rejected
                } else {
                    ex
                };
                let items_v: Vec<Value> = items.iter().map(|k| value(k.bits)).collect();
                vals.share(&items);
                let (r, what) = if matches!(op, Op::Tuple(_)) {
                    (g.tuple(&items_v), "tuple")
                } else {
                    (g.list(&items_v), "list")
                };
                new(g, vals, stats, r, ex, false, what);
            }
            Op::Dict => {
                let r = g.dict();
                new(g, vals, stats, r, Expect::Fine, false, "dict");
            }
            Op::Class(i) => {
                let name = CLASSES[*i as usize % CLASSES.len()];
                match g.builtin_class(name) {
                    Some(c) => keep(g, vals, home, c, false),
                    None => assert_eq!(name, "NoSuchClass"),
                }
            }
            Op::ClassNew(idx) => {
                let bases = vals.picks(idx);
                if aliased(g, vals, &bases) {
                    stats.aliased += 1;
                    return;
                }
                let states: Vec<St> = bases.iter().map(|&k| st(vals, k)).collect();
                let ex = expect(St::Immortal, &states);
                let bases_v: Vec<Value> = bases.iter().map(|k| value(k.bits)).collect();
                let r = g.class_new("C", &bases_v, &[]);
                new(g, vals, stats, r, ex, false, "class_new");
            }
            Op::Import(i) => {
                let r = g.import_module(MODULES[*i as usize % MODULES.len()]);
                new(g, vals, stats, r, Expect::Fine, true, "import");
            }
            Op::Incref(i) | Op::Decref(i) => {
                let (p, _, ex) = operands!(vals.pick(*i), Vec::new());
                let state = st(vals, p);
                let v = value(p.bits);
                let incref = matches!(op, Op::Incref(_));
                match state {
                    St::Unknown => {
                        stats.skipped += 1;
                    }
                    St::Live | St::Immortal => {
                        let r = if incref { g.incref(v) } else { g.decref(v) };
                        r.unwrap_or_else(|_| {
                            panic!("{op:?} of an owned value failed: {}", g.describe_current())
                        });
                        if state == St::Live {
                            let e = vals.entry(p);
                            if incref { e.owned += 1 } else { e.owned -= 1 }
                        }
                    }
                    St::Dead | St::Stale => {
                        let r = if incref { g.incref(v) } else { g.decref(v) };
                        settle(
                            g,
                            vals,
                            home,
                            stats,
                            r,
                            ex,
                            "incref/decref of a freed or stale value",
                        );
                    }
                }
            }
            Op::OverRelease(i) => {
                let n = vals.keys.len();
                let found = (0..n)
                    .map(|j| vals.keys[(*i as usize + j) % n])
                    .find(|&k| st(vals, k).rejected());
                let (p, _, ex) = operands!(found, Vec::new());
                let r = g.decref(value(p.bits));
                settle(g, vals, home, stats, r, ex, "over-release");
            }
            Op::ReleaseAll => {
                let mine: Vec<(Key, u32)> = vals
                    .model
                    .iter()
                    .filter(|(k, e)| k.home == home && e.owned > 0)
                    .map(|(k, e)| (*k, e.owned))
                    .collect();
                for (k, n) in mine {
                    for _ in 0..n {
                        g.decref(value(k.bits)).unwrap_or_else(|_| {
                            panic!(
                                "release of an owned reference failed: {}",
                                g.describe_current()
                            )
                        });
                    }
                    vals.entry(k).owned = 0;
                }
            }
            Op::Append { list, item } => {
                let (p, o, ex) =
                    operands!(vals.pick_pref(*list, &[Kind::List]), vals.picks(&[*item]));
                vals.share(&o);
                vals.share(&[p]);
                let r = g.call_method(value(p.bits), "append", &[value(o[0].bits)]);
                new(g, vals, stats, r, ex, true, "append");
            }
            Op::SelfCycle(i) => {
                let (p, _, ex) =
                    operands!(vals.pick_pref(*i, &[Kind::List, Kind::Dict]), Vec::new());
                vals.share(&[p]);
                let v = value(p.bits);
                let r = match kind_of(p.bits) {
                    Some(Kind::Dict) => {
                        // A dict as its own value (dicts are unhashable keys).
                        let key = g.int(0).expect("small int");
                        g.dict_set(v, key, v).map(|()| Value::NONE)
                    }
                    _ => g.call_method(v, "append", &[v]),
                };
                if r.is_ok() && matches!(kind_of(p.bits), Some(Kind::List | Kind::Dict)) {
                    stats.cycles += 1;
                }
                new(g, vals, stats, r, ex, true, "self-cycle");
            }
            Op::DictSet {
                dict,
                key,
                value: val,
            } => {
                let (p, o, ex) = operands!(
                    vals.pick_pref(*dict, &[Kind::Dict]),
                    vals.picks(&[*key, *val])
                );
                vals.share(&o);
                let ex = keys_first(ex, &o, |k| st(vals, k));
                let r = g.dict_set(value(p.bits), value(o[0].bits), value(o[1].bits));
                settle(g, vals, home, stats, r, ex, "dict_set");
            }
            Op::DictGet { dict, key } => {
                let (p, o, ex) =
                    operands!(vals.pick_pref(*dict, &[Kind::Dict]), vals.picks(&[*key]));
                let ex = keys_first(ex, &o, |k| st(vals, k));
                let r = g.dict_get(value(p.bits), value(o[0].bits));
                if let Some(Some(found)) = settle(g, vals, home, stats, r, ex, "dict_get") {
                    if ex == Expect::Fine {
                        assert!(g.check(found).is_ok(), "a live dict holds a freed value");
                    }
                }
            }
            Op::GetItem { seq, index } => {
                let (p, _, ex) =
                    operands!(vals.pick_pref(*seq, &[Kind::List, Kind::Tuple]), Vec::new());
                let r = g.get_item_index(value(p.bits), i64::from(*index));
                new(g, vals, stats, r, ex, true, "get_item_index");
            }
            Op::Items(i) => {
                let (p, _, ex) =
                    operands!(vals.pick_pref(*i, &[Kind::List, Kind::Tuple]), Vec::new());
                let r = g.items(value(p.bits));
                if let Some(items) = settle(g, vals, home, stats, r, ex, "items") {
                    if ex == Expect::Fine {
                        for item in items {
                            assert!(
                                g.check(item).is_ok(),
                                "a live container holds a freed value"
                            );
                        }
                    }
                }
            }
            Op::GetAttr { obj, name } => {
                let (p, _, ex) = operands!(vals.pick(*obj), Vec::new());
                vals.share(&[p]); // a bound method holds its self
                let r = g.getattr(value(p.bits), NAMES[*name as usize % NAMES.len()]);
                new(g, vals, stats, r, ex, true, "getattr");
            }
            Op::SetAttr {
                obj,
                name,
                value: val,
            } => {
                let (p, o, ex) = operands!(vals.pick(*obj), vals.picks(&[*val]));
                vals.share(&o);
                let r = g.setattr(
                    value(p.bits),
                    NAMES[*name as usize % NAMES.len()],
                    value(o[0].bits),
                );
                settle(g, vals, home, stats, r, ex, "setattr");
            }
            Op::CallMethod { obj, name, args } => {
                let (p, o, ex) = operands!(vals.pick(*obj), vals.picks(args));
                vals.share(&o);
                vals.share(&[p]);
                let args_v: Vec<Value> = o.iter().map(|k| value(k.bits)).collect();
                let r = g.call_method(value(p.bits), NAMES[*name as usize % NAMES.len()], &args_v);
                new(g, vals, stats, r, ex, true, "call_method");
            }
            Op::Call { callable, args } => {
                let (p, o, ex) = operands!(
                    vals.pick_pref(*callable, &[Kind::Type, Kind::Function, Kind::Method]),
                    vals.picks(args)
                );
                vals.share(&o);
                vals.share(&[p]);
                let args_v: Vec<Value> = o.iter().map(|k| value(k.bits)).collect();
                let r = g.call(value(p.bits), &args_v);
                new(g, vals, stats, r, ex, true, "call");
            }
            Op::Deep { kind, depth } => {
                let depth = usize::from(*depth);
                let limit = g.recursion_limit() as usize;
                let a = build_deep(g, *kind, depth);
                let b = build_deep(g, *kind, depth);
                let r = g.eq(a, b);
                let r = outcome(g, r, "== of deep containers");
                deep_outcome(stats, depth, limit, Deepness::Recursive, &r, "==");
                if let Ok(eq) = r {
                    assert!(eq, "containers built alike are equal");
                }
                let r = g.repr(a);
                let r = outcome(g, r, "repr of a deep container");
                deep_outcome(stats, depth, limit, Deepness::Recursive, &r, "repr");
                let r = g.hash(a);
                let r = outcome(g, r, "hash of a deep container");
                let how = if kind % 3 == 1 {
                    Deepness::Iterative
                } else {
                    Deepness::Unhashable
                };
                deep_outcome(stats, depth, limit, how, &r, "hash");
                g.decref(b).expect("our reference");
                keep(g, vals, home, a, false);
            }
            Op::SelfCompare { dict, how } => {
                let key = Value::int(0).expect("a small int");
                let mut make = |g: &mut Gil<'_>| {
                    let v = if *dict { g.dict() } else { g.list(&[]) }.expect("the heap has room");
                    if *dict {
                        g.dict_set(v, key, v).expect("a dict as its own value");
                    } else {
                        g.call_method(v, "append", &[v])
                            .expect("a list appended to itself");
                    }
                    stats.cycles += 1;
                    v
                };
                let a = make(g);
                let b = make(g);
                let r = match how % 4 {
                    0 => g.eq(a, b).map(Value::bool),
                    1 => g.call_method(a, "__ne__", &[b]),
                    2 if *dict => g.call_method(a, "__eq__", &[b]),
                    2 => g.call_method(a, "count", &[b]),
                    _ => g.eq(a, a).map(Value::bool),
                };
                let r = outcome(g, r, "comparing self-referential containers");
                if how % 4 == 3 {
                    assert_eq!(r, Ok(Value::TRUE), "a container equals itself (identity)");
                } else {
                    assert_eq!(r, Err("RecursionError".to_owned()), "{op:?}");
                    stats.recursion_errors += 1;
                }
                // Each holds a reference to itself: shared.
                keep(g, vals, home, a, true);
                keep(g, vals, home, b, true);
            }
            Op::RecursionLimit(i) => {
                let limit = RECURSION_LIMITS[*i as usize % RECURSION_LIMITS.len()];
                let r = g.set_recursion_limit(limit);
                let r = outcome(g, r, "sys.setrecursionlimit");
                if limit < 1 {
                    assert_eq!(r, Err("ValueError".to_owned()));
                } else {
                    assert_eq!(r, Ok(()));
                    assert_eq!(i64::from(g.recursion_limit()), limit);
                }
            }
            Op::Exhaust { room, how } => {
                if g.err_occurred().is_some() {
                    // A raise would chain it; keep the live count exact.
                    stats.skipped += 1;
                    return;
                }
                let room = u64::from(*room % 64);
                // Made before the limit: a string of distinct words (one object each once split).
                let text = (0..room + 8)
                    .map(|i| format!("w{i}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let long = g.str(&text).expect("the heap has room");
                // The last exception is replaced by the next raise (freeing it): drop it
                // now, so the live count below is exact.
                g.clear_last_exception();
                let before = g.live_objects();
                g.set_heap_limit(before + room);
                let r = match how % 3 {
                    0 => {
                        let mut made = Vec::new();
                        let r = loop {
                            match g.list(&[]) {
                                Ok(v) => made.push(v),
                                Err(e) => break Err(e),
                            }
                            assert!(made.len() as u64 <= room, "allocated past the limit");
                        };
                        for v in made {
                            g.decref(v).expect("our reference");
                        }
                        r
                    }
                    1 => g.call_method(long, "split", &[]).map(|_| ()),
                    _ => {
                        let mut r = g.list(&[]);
                        while let Ok(v) = r {
                            r = g.list(&[v]);
                            g.decref(v).expect("our reference");
                        }
                        r.map(|_| ())
                    }
                };
                let r = outcome(g, r, "an op on an exhausted heap");
                // The preallocated MemoryError is the runtime's own (left out of the live
                // count), but held as the last exception it would be reclaimed at teardown
                // like any object: let it go, so the live count stays exact.
                g.clear_last_exception();
                g.set_heap_limit(u64::MAX);
                assert_eq!(r, Err("MemoryError".to_owned()), "{op:?}");
                stats.memory_errors += 1;
                assert_eq!(
                    g.live_objects(),
                    before,
                    "{op:?}: something half-built stayed alive"
                );
                g.decref(long).expect("our reference");
            }
            Op::Len(i) | Op::Repr(i) | Op::Hash(i) | Op::Truthy(i) => {
                let (p, _, ex) = operands!(vals.pick(*i), Vec::new());
                let v = value(p.bits);
                match op {
                    Op::Len(_) => {
                        let r = g.len(v);
                        settle(g, vals, home, stats, r, ex, "len");
                    }
                    Op::Repr(_) => {
                        let r = g.repr(v);
                        settle(g, vals, home, stats, r, ex, "repr");
                    }
                    Op::Hash(_) => {
                        let r = g.hash(v);
                        settle(g, vals, home, stats, r, ex, "hash");
                    }
                    _ => {
                        let r = g.truthy(v);
                        settle(g, vals, home, stats, r, ex, "truthy");
                    }
                }
            }
            Op::Eq(a, b) => {
                let (p, o, ex) = operands!(vals.pick(*a), vals.picks(&[*b]));
                let r = g.eq(value(p.bits), value(o[0].bits));
                if let Some(eq) = settle(g, vals, home, stats, r, ex, "eq") {
                    // NaNs are canonical, so even a NaN is its own bits.
                    assert!(eq || p != o[0], "a value equals itself");
                }
            }
            Op::Raise { class, message } => {
                let name = EXCEPTIONS[*class as usize % EXCEPTIONS.len()];
                // An unknown class has no `ExcClass` (before, it raised RuntimeError instead).
                if let Some(class) = ExcClass::by_name(name) {
                    let _raised = g.raise_new(class, message.clone());
                    let e = g
                        .err_occurred()
                        .expect("raise_new sets the current exception");
                    let t = g.type_name(e).expect("the raised exception is live");
                    assert_eq!(t, name);
                } else {
                    assert_eq!(name, "NoSuchError", "every other name is a builtin class");
                }
            }
            Op::RaiseValue(i) => {
                let (p, _, ex) = operands!(
                    vals.pick_pref(*i, &[Kind::Exception, Kind::Type]),
                    Vec::new()
                );
                let state = st(vals, p);
                if state == St::Unknown {
                    stats.skipped += 1;
                    return;
                }
                let v = value(p.bits);
                let raised = g.raise(v);
                let cur = g.err_occurred().expect("raise sets a current exception");
                if state == St::Live && cur == v {
                    // An exception instance: our reference moved into the exception state.
                    let e = vals.entry(p);
                    e.owned -= 1;
                    e.shared = true;
                } else if state == St::Immortal && g.is_class(v) && g.isinstance(cur, v) == Ok(true)
                {
                    // A class: instantiated and raised.
                } else {
                    settle::<()>(
                        g,
                        vals,
                        home,
                        stats,
                        Err(raised),
                        ex,
                        "raise of a non-exception",
                    );
                }
            }
            Op::Fetch => {
                if let Some(e) = g.err_fetch() {
                    keep(g, vals, home, e, true);
                }
            }
            Op::ClearLast => g.clear_last_exception(),
            Op::TaskSpawn(kind) => {
                let kind = *kind % TASK_KINDS;
                let hour = std::time::Duration::from_secs(3600);
                let r = match kind {
                    0 => g.spawn(|cx| cx.gil().int(7)),
                    1 => g.spawn(|cx| cx.gil().str("from a task")),
                    2 => {
                        g.spawn(|cx| Err(cx.gil().raise_new(ExcClass::VALUE_ERROR, "from a task")))
                    }
                    3 => g.spawn(|cx| {
                        let mut g = cx.gil();
                        let s = g.str("item")?;
                        let l = g.list(&[s]);
                        g.decref(s)?;
                        l
                    }),
                    4 => g.spawn(move |cx| {
                        cx.sleep(hour)?;
                        Ok(Value::NONE)
                    }),
                    _ => g.spawn_after(hour, |_| Ok(Value::NONE)),
                };
                if let Some(id) = settle(g, vals, home, stats, r, Expect::Fine, "spawn") {
                    tasks.push((home, id, kind));
                }
            }
            Op::TaskJoin(i) | Op::TaskCancel(i) => {
                if tasks.is_empty() {
                    stats.skipped += 1;
                    return;
                }
                let (task_home, id, kind) = tasks[*i as usize % tasks.len()];
                // A task of another runtime (dead or alive) is rejected; one already joined
                // is a clean ValueError.
                let ex = if task_home == home {
                    Expect::Fine
                } else {
                    Expect::Rejected
                };
                if matches!(op, Op::TaskCancel(_)) {
                    let r = g.cancel(id, Some("op"));
                    settle(g, vals, home, stats, r, ex, "cancel");
                    return;
                }
                if task_home == home && kind >= 4 && g.task_check(id).is_ok() {
                    // It would never finish: cancel it so the join returns.
                    let r = g.cancel(id, Some("join"));
                    settle(g, vals, home, stats, r, Expect::Fine, "cancel");
                }
                let r = g.join(id);
                new(g, vals, stats, r, ex, false, "join");
            }
        }
    }

    // ------------------------------------------------------------------ the C ABI

    fn c_shutdown(&mut self) {
        let generation = molt_runtime_generation();
        let status = molt_runtime_shutdown();
        assert_eq!(status, MOLT_OK, "molt_runtime_shutdown: {}", last_error());
        assert_eq!(molt_runtime_is_initialized(), 0);
        if self.c_home.take().is_some() {
            assert_eq!(molt_runtime_generation(), generation + 1);
            let p = molt_last_teardown_report();
            assert!(
                !p.is_null(),
                "a shutdown that tore a runtime down keeps its report"
            );
            // SAFETY: NUL-terminated, valid until this thread's next such shutdown.
            let text = unsafe { CStr::from_ptr(p) }.to_string_lossy();
            if self.c_registry_on {
                assert!(text.contains("leak report: empty"), "{text}");
            } else {
                assert!(!text.contains("still live"), "{text}");
            }
            self.stats.shutdowns += 1;
        } else {
            assert_eq!(
                molt_runtime_generation(),
                generation,
                "no runtime, no teardown"
            );
        }
    }

    /// Checks a C status against the expectation; on `MOLT_ERR_EXCEPTION` fetches and keeps
    /// the exception. True for `MOLT_OK`.
    fn c_check(&mut self, status: i32, ex: Expect, what: &str) -> bool {
        assert_ne!(status, MOLT_ERR_INTERNAL, "{what}: {}", last_error());
        if self.c_home.is_none() {
            assert_eq!(status, MOLT_ERR_NOT_INITIALIZED, "{what} with no runtime");
            assert!(last_error().contains("no runtime"), "{what}");
            self.stats.no_runtime += 1;
            return false;
        }
        assert_ne!(
            status, MOLT_ERR_NOT_INITIALIZED,
            "{what}: the runtime is live"
        );
        match ex {
            Expect::Rejected | Expect::Fails => {
                assert_eq!(status, MOLT_ERR_STALE_VALUE, "{what}: must be rejected");
                let m = last_error();
                assert!(
                    m.contains("stale or foreign") || m.contains("not a valid value encoding"),
                    "{what}: {m}"
                );
                self.stats.rejected += 1;
            }
            Expect::Fine => assert_ne!(
                status,
                MOLT_ERR_STALE_VALUE,
                "{what}: a live operand was rejected: {}",
                last_error()
            ),
            Expect::Any => {}
        }
        if status == MOLT_OK {
            return true;
        }
        self.stats.errors += 1;
        let message = last_error();
        assert!(!message.is_empty(), "{what}");
        if status == MOLT_ERR_EXCEPTION {
            assert_eq!(
                molt_err_occurred(),
                1,
                "{what}: EXCEPTION without a current one"
            );
            let class = message.split(':').next().unwrap_or_default();
            if ex == Expect::Fine {
                assert!(
                    class != "ReferenceError",
                    "{what}: a live operand was rejected: {message}"
                );
            }
            assert!(
                CLEAN_ERRORS.contains(&class),
                "{what}: not a clean error: {message}"
            );
            let mut e = 0u64;
            // SAFETY: a valid out-pointer.
            assert_eq!(unsafe { molt_err_fetch(&mut e) }, MOLT_OK);
            assert_ne!(e, MOLT_NONE);
            assert_eq!(molt_err_occurred(), 0);
            self.c_keep(e, true);
        } else {
            assert!(
                [
                    MOLT_ERR_STALE_VALUE,
                    MOLT_ERR_INVALID_ARGUMENT,
                    MOLT_ERR_INDEX
                ]
                .contains(&status),
                "{what}: unexpected status {status}: {message}"
            );
        }
        false
    }

    /// Takes over a new reference from the C ABI.
    fn c_keep(&mut self, bits: u64, shared: bool) {
        let home = self.c_home.expect("a C value needs a runtime");
        if !self.c.adopt(Key { home, bits }, shared) {
            assert_eq!(molt_decref(bits), MOLT_OK, "releasing a new reference");
        }
    }

    fn c_state(&self, k: Key) -> St {
        self.c.state(k, self.c_home)
    }

    /// Whether any stale operand matches a live object of the C runtime (documented,
    /// ~2^-16): probed with `molt_len`, which checks its argument before anything else.
    fn c_aliased(&mut self, keys: &[Key]) -> bool {
        if self.c_home.is_none() {
            return false;
        }
        for &k in keys {
            if self.c_state(k) == St::Stale && !self.c_rejects(k.bits) {
                return true;
            }
        }
        false
    }

    /// Whether the C ABI rejects `bits` as a value argument (a `molt_len` probe).
    fn c_rejects(&mut self, bits: u64) -> bool {
        let mut n = 0usize;
        // SAFETY: a valid out-pointer.
        let status = unsafe { molt_len(bits, &mut n) };
        assert_ne!(status, MOLT_ERR_INTERNAL, "probe: {}", last_error());
        if status == MOLT_ERR_EXCEPTION {
            let mut e = 0u64;
            // SAFETY: a valid out-pointer.
            assert_eq!(unsafe { molt_err_fetch(&mut e) }, MOLT_OK);
            assert_eq!(molt_decref(e), MOLT_OK);
        }
        status == MOLT_ERR_STALE_VALUE
    }

    /// Operands for a C op: `None` (skipped) if there is no primary, or a stale one aliases.
    fn c_operands(
        &mut self,
        primary: Option<Key>,
        others: Vec<Key>,
    ) -> Option<(Key, Vec<Key>, Expect)> {
        let Some(p) = primary else {
            self.stats.skipped += 1;
            return None;
        };
        let mut all = others.clone();
        all.push(p);
        if self.c_aliased(&all) {
            self.stats.aliased += 1;
            self.stats.skipped += 1;
            return None;
        }
        let states: Vec<St> = others.iter().map(|&k| self.c_state(k)).collect();
        Some((p, others, expect(self.c_state(p), &states)))
    }

    /// A C call that returns a new reference through `out`.
    fn c_new(&mut self, status: i32, out: u64, ex: Expect, shared: bool, what: &str) {
        if self.c_check(status, ex, what) {
            self.c_keep(out, shared);
        }
    }

    fn c_op(&mut self, op: &COp) {
        self.stats.ops += 1;
        let name_of = |i: &u8| cstring(NAMES[*i as usize % NAMES.len()]);
        let bits = |ks: &[Key]| ks.iter().map(|k| k.bits).collect::<Vec<u64>>();
        let mut out = 0u64;
        match op {
            COp::Init => {
                let was = self.c_home.is_some();
                let status = molt_runtime_init();
                assert_ne!(status, MOLT_ERR_INTERNAL);
                if status == MOLT_OK {
                    assert_eq!(molt_runtime_is_initialized(), 1);
                    if !was {
                        self.c_home = Some(self.next_home);
                        self.next_home += 1;
                    }
                } else {
                    // Only a fault injected through the environment makes init fail.
                    assert_eq!(status, MOLT_ERR_INIT_FAILED, "{}", last_error());
                    assert_eq!(molt_runtime_is_initialized(), 0);
                }
            }
            COp::Shutdown => self.c_shutdown(),
            COp::Str(s) => {
                // SAFETY: `s` is valid for `s.len()` bytes; `out` is a valid out-pointer.
                let status =
                    unsafe { molt_str_from_utf8(s.as_ptr().cast::<c_char>(), s.len(), &mut out) };
                self.c_new(status, out, Expect::Fine, false, "molt_str_from_utf8");
            }
            COp::Bytes(b) => {
                // SAFETY: `b` is valid for `b.len()` bytes; `out` is a valid out-pointer.
                let status = unsafe { molt_bytes_from(b.as_ptr(), b.len(), &mut out) };
                self.c_new(status, out, Expect::Fine, false, "molt_bytes_from");
            }
            COp::Int(i) => {
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_int_from_i64(*i, &mut out) };
                self.c_new(status, out, Expect::Fine, false, "molt_int_from_i64");
            }
            COp::Float(f) => {
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_float_from_f64(*f, &mut out) };
                self.c_new(status, out, Expect::Fine, false, "molt_float_from_f64");
            }
            COp::Tuple(idx) | COp::List(idx) => {
                let items = self.c.picks(idx);
                if self.c_aliased(&items) {
                    self.stats.aliased += 1;
                    return;
                }
                let states: Vec<St> = items.iter().map(|&k| self.c_state(k)).collect();
                let ex = expect(St::Immortal, &states);
                self.c.share(&items);
                let items = bits(&items);
                let (status, what) = if matches!(op, COp::Tuple(_)) {
                    // SAFETY: `items` is valid for its length; a valid out-pointer.
                    (
                        unsafe { molt_tuple_new(items.as_ptr(), items.len(), &mut out) },
                        "molt_tuple_new",
                    )
                } else {
                    // SAFETY: as above.
                    (
                        unsafe { molt_list_new(items.as_ptr(), items.len(), &mut out) },
                        "molt_list_new",
                    )
                };
                self.c_new(status, out, ex, false, what);
            }
            COp::Dict => {
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_dict_new(&mut out) };
                self.c_new(status, out, Expect::Fine, false, "molt_dict_new");
            }
            COp::Class(i) => {
                let name = CLASSES[*i as usize % CLASSES.len()];
                // SAFETY: a NUL-terminated name; a valid out-pointer.
                let status = unsafe { molt_builtin_class(cstring(name).as_ptr(), &mut out) };
                if self.c_check(status, Expect::Fine, "molt_builtin_class") {
                    self.c_keep(out, false);
                } else if self.c_home.is_some() {
                    assert_eq!(name, "NoSuchClass");
                }
            }
            COp::Import(i) => {
                let name = cstring(MODULES[*i as usize % MODULES.len()]);
                // SAFETY: a NUL-terminated name; a valid out-pointer.
                let status = unsafe { molt_import(name.as_ptr(), &mut out) };
                self.c_new(status, out, Expect::Fine, true, "molt_import");
            }
            COp::Incref(i) | COp::Decref(i) => {
                let Some((p, _, ex)) = self.c_operands(self.c.pick(*i), Vec::new()) else {
                    return;
                };
                let state = self.c_state(p);
                if state == St::Unknown && self.c_home.is_some() {
                    self.stats.skipped += 1;
                    return;
                }
                let incref = matches!(op, COp::Incref(_));
                let status = if incref {
                    molt_incref(p.bits)
                } else {
                    molt_decref(p.bits)
                };
                let ok = self.c_check(
                    status,
                    ex,
                    if incref { "molt_incref" } else { "molt_decref" },
                );
                if ok && state == St::Live {
                    let e = self.c.entry(p);
                    if incref { e.owned += 1 } else { e.owned -= 1 }
                }
                if self.c_home.is_some() && matches!(state, St::Live | St::Immortal) {
                    assert!(ok, "{op:?} of an owned value failed");
                }
            }
            COp::OverRelease(i) => {
                let n = self.c.keys.len();
                let found = (0..n)
                    .map(|j| self.c.keys[(*i as usize + j) % n])
                    .find(|&k| self.c_state(k).rejected());
                let Some((p, _, ex)) = self.c_operands(found, Vec::new()) else {
                    return;
                };
                let status = molt_decref(p.bits);
                self.c_check(status, ex, "molt_decref (over-release)");
            }
            COp::DictSet {
                dict,
                key,
                value: val,
            } => {
                let primary = self.c.pick_pref(*dict, &[Kind::Dict]);
                let others = self.c.picks(&[*key, *val]);
                let Some((p, o, ex)) = self.c_operands(primary, others) else {
                    return;
                };
                self.c.share(&o);
                let status = molt_dict_set(p.bits, o[0].bits, o[1].bits);
                self.c_check(status, ex, "molt_dict_set");
            }
            COp::DictGet { dict, key } => {
                let primary = self.c.pick_pref(*dict, &[Kind::Dict]);
                let others = self.c.picks(&[*key]);
                let Some((p, o, ex)) = self.c_operands(primary, others) else {
                    return;
                };
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_dict_get(p.bits, o[0].bits, &mut out) };
                self.c_new(status, out, ex, true, "molt_dict_get");
            }
            COp::TupleGet { seq, index } => {
                let primary = self.c.pick_pref(*seq, &[Kind::Tuple, Kind::List]);
                let Some((p, _, ex)) = self.c_operands(primary, Vec::new()) else {
                    return;
                };
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_tuple_get(p.bits, usize::from(*index), &mut out) };
                self.c_new(status, out, ex, true, "molt_tuple_get");
            }
            COp::GetAttr { obj, name } => {
                let Some((p, _, ex)) = self.c_operands(self.c.pick(*obj), Vec::new()) else {
                    return;
                };
                self.c.share(&[p]);
                // SAFETY: a NUL-terminated name; a valid out-pointer.
                let status = unsafe { molt_getattr(p.bits, name_of(name).as_ptr(), &mut out) };
                self.c_new(status, out, ex, true, "molt_getattr");
            }
            COp::CallMethod { obj, name, args } => {
                let others = self.c.picks(args);
                let Some((p, o, ex)) = self.c_operands(self.c.pick(*obj), others) else {
                    return;
                };
                self.c.share(&o);
                self.c.share(&[p]);
                let args = bits(&o);
                // SAFETY: a NUL-terminated name; `args` valid for its length; an out-pointer.
                let status = unsafe {
                    molt_call_method(
                        p.bits,
                        name_of(name).as_ptr(),
                        args.as_ptr(),
                        args.len(),
                        &mut out,
                    )
                };
                self.c_new(status, out, ex, true, "molt_call_method");
            }
            COp::Call { callable, args } => {
                let primary = self
                    .c
                    .pick_pref(*callable, &[Kind::Type, Kind::Function, Kind::Method]);
                let others = self.c.picks(args);
                let Some((p, o, ex)) = self.c_operands(primary, others) else {
                    return;
                };
                self.c.share(&o);
                self.c.share(&[p]);
                let args = bits(&o);
                // SAFETY: `args` valid for its length; a valid out-pointer.
                let status = unsafe { molt_call(p.bits, args.as_ptr(), args.len(), &mut out) };
                self.c_new(status, out, ex, true, "molt_call");
            }
            COp::Len(i) | COp::Repr(i) | COp::Hash(i) => {
                let Some((p, _, ex)) = self.c_operands(self.c.pick(*i), Vec::new()) else {
                    return;
                };
                match op {
                    COp::Len(_) => {
                        let mut n = 0usize;
                        // SAFETY: a valid out-pointer.
                        let status = unsafe { molt_len(p.bits, &mut n) };
                        self.c_check(status, ex, "molt_len");
                    }
                    COp::Hash(_) => {
                        let mut h = 0i64;
                        // SAFETY: a valid out-pointer.
                        let status = unsafe { molt_hash(p.bits, &mut h) };
                        self.c_check(status, ex, "molt_hash");
                    }
                    _ => {
                        // SAFETY: a valid out-pointer.
                        let status = unsafe { molt_repr(p.bits, &mut out) };
                        self.c_new(status, out, ex, false, "molt_repr");
                    }
                }
            }
            COp::Raise { class, message } => {
                let name = EXCEPTIONS[*class as usize % EXCEPTIONS.len()];
                // SAFETY: a NUL-terminated name; a valid out-pointer.
                let status = unsafe { molt_builtin_class(cstring(name).as_ptr(), &mut out) };
                if !self.c_check(status, Expect::Fine, "molt_builtin_class") {
                    return;
                }
                let message = message.as_deref().map(cstring);
                let ptr = message.as_ref().map_or(std::ptr::null(), |m| m.as_ptr());
                // SAFETY: NULL or a NUL-terminated message.
                let status = unsafe { molt_raise(out, ptr) };
                assert_eq!(status, MOLT_OK, "molt_raise({name}): {}", last_error());
                assert_eq!(molt_err_occurred(), 1);
            }
            COp::RaiseValue(i) => {
                let primary = self.c.pick_pref(*i, &[Kind::Exception, Kind::Type]);
                let Some((p, _, ex)) = self.c_operands(primary, Vec::new()) else {
                    return;
                };
                // SAFETY: a NULL message.
                let status = unsafe { molt_raise(p.bits, std::ptr::null()) };
                if status == MOLT_OK {
                    // An exception instance (borrowed: the exception state took its own
                    // reference) or a class; it is current now.
                    self.c.share(&[p]);
                    assert_eq!(molt_err_occurred(), 1);
                    assert!(!ex.eq(&Expect::Rejected), "molt_raise of a rejected value");
                } else {
                    self.c_check(status, ex, "molt_raise (a non-exception)");
                }
            }
            COp::Fetch => {
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_err_fetch(&mut out) };
                if self.c_check(status, Expect::Fine, "molt_err_fetch") && out != MOLT_NONE {
                    self.c_keep(out, true);
                }
            }
            COp::Occurred => {
                let r = molt_err_occurred();
                if self.c_home.is_some() {
                    assert!(r == 0 || r == 1, "molt_err_occurred: {r}");
                } else {
                    assert_eq!(r, MOLT_ERR_NOT_INITIALIZED);
                    self.stats.no_runtime += 1;
                }
            }
            COp::NullOut(entry) => self.c_null_out(*entry),
            COp::HugeCount { entry, count } => self.c_huge_count(*entry, *count),
            COp::Deep {
                tuple,
                depth,
                query,
            } => self.c_deep(*tuple, usize::from(*depth), *query),
            COp::BigInt { digits, base } => {
                let base = INT_BASES[*base as usize % INT_BASES.len()];
                // SAFETY: `digits` is valid for its length; a valid out-pointer.
                let status = unsafe {
                    molt_int_from_str(
                        digits.as_ptr().cast::<c_char>(),
                        digits.len(),
                        base,
                        &mut out,
                    )
                };
                if self.c_check(status, Expect::Fine, "molt_int_from_str") {
                    self.c_keep(out, false);
                    let mut text = 0u64;
                    // SAFETY: a valid out-pointer.
                    let status = unsafe { molt_int_to_str(out, &mut text) };
                    // A power-of-two base has no digit limit (CPython's too), so the value
                    // may have more than 4,300 decimal digits: ValueError, as CPython.
                    if status != MOLT_OK {
                        assert!(
                            last_error().contains("Exceeds the limit"),
                            "{}",
                            last_error()
                        );
                    }
                    if self.c_check(status, Expect::Fine, "molt_int_to_str") {
                        self.c_keep(text, false);
                    }
                } else if self.c_home.is_some() {
                    assert_eq!(status, MOLT_ERR_EXCEPTION);
                }
            }
            COp::Raw { bits, entry } => self.c_raw(*bits, *entry),
            COp::Foreign { value: v, entry } => match self.rust.pick(*v) {
                Some(k) => self.c_raw(k.bits, *entry),
                None => self.stats.skipped += 1,
            },
        }
    }

    /// The C runtime's live allocations (0 with its registry off).
    fn c_live(&self) -> i64 {
        let mut n = 0i64;
        // SAFETY: a valid out-pointer.
        let status = unsafe { molt_runtime_live_allocations(&mut n) };
        assert_eq!(status == MOLT_OK, self.c_home.is_some());
        n
    }

    /// Checks a call refused for a bad argument: `MOLT_ERR_INVALID_ARGUMENT` with nothing
    /// allocated. With no runtime the call is wrong twice over, and either status may come
    /// first (`MOLT_ERR_NOT_INITIALIZED` or `MOLT_ERR_INVALID_ARGUMENT`).
    fn c_refused(&mut self, status: i32, live_before: i64, what: &str) {
        if self.c_home.is_none() {
            assert!(
                [MOLT_ERR_NOT_INITIALIZED, MOLT_ERR_INVALID_ARGUMENT].contains(&status),
                "{what} with no runtime: {status}"
            );
            assert!(!last_error().is_empty());
            self.stats.no_runtime += 1;
            return;
        }
        assert!(
            !self.c_check(status, Expect::Fine, what),
            "{what}: succeeded"
        );
        assert_eq!(
            status,
            MOLT_ERR_INVALID_ARGUMENT,
            "{what}: {}",
            last_error()
        );
        assert_eq!(
            self.c_live(),
            live_before,
            "{what}: allocated before refusing"
        );
        self.stats.invalid_arguments += 1;
    }

    /// A builtin class (immortal), or `None` with no runtime.
    fn c_class(&self, name: &CStr) -> u64 {
        let mut c = MOLT_NONE;
        // SAFETY: a NUL-terminated name; a valid out-pointer.
        let status = unsafe { molt_builtin_class(name.as_ptr(), &mut c) };
        assert_eq!(status == MOLT_OK, self.c_home.is_some(), "{}", last_error());
        c
    }

    /// See [`COp::NullOut`].
    fn c_null_out(&mut self, entry: u8) {
        let null = std::ptr::null_mut::<u64>();
        let int_class = self.c_class(c"int");
        let live = self.c_live();
        let one = [MOLT_NONE];
        // SAFETY: every call: valid inputs, NUL-terminated names; the out-pointer is NULL,
        // which each entry point must refuse before it makes anything.
        let (status, what) = unsafe {
            match entry % 16 {
                0 => (
                    molt_str_from_utf8(c"ab".as_ptr(), 2, null),
                    "molt_str_from_utf8",
                ),
                1 => (molt_bytes_from(b"ab".as_ptr(), 2, null), "molt_bytes_from"),
                2 => (
                    molt_int_from_i64(1 << 60, null),
                    "molt_int_from_i64 (a big int)",
                ),
                3 => (molt_float_from_f64(1.5, null), "molt_float_from_f64"),
                4 => (molt_tuple_new(one.as_ptr(), 1, null), "molt_tuple_new"),
                5 => (molt_list_new(one.as_ptr(), 1, null), "molt_list_new"),
                6 => (molt_dict_new(null), "molt_dict_new"),
                7 => (
                    molt_getattr(MOLT_NONE, c"__class__".as_ptr(), null),
                    "molt_getattr",
                ),
                8 => (
                    molt_call_method(MOLT_NONE, c"__repr__".as_ptr(), one.as_ptr(), 0, null),
                    "molt_call_method",
                ),
                9 => (molt_call(int_class, one.as_ptr(), 0, null), "molt_call"),
                10 => (molt_repr(MOLT_NONE, null), "molt_repr"),
                11 => {
                    let digits = "123456789012345678901234567890";
                    (
                        molt_int_from_str(digits.as_ptr().cast(), digits.len(), 10, null),
                        "molt_int_from_str",
                    )
                }
                12 => (molt_int_to_str(12345, null), "molt_int_to_str"),
                13 => (molt_import(c"sys".as_ptr(), null), "molt_import"),
                14 => (
                    molt_builtin_class(c"int".as_ptr(), null),
                    "molt_builtin_class",
                ),
                _ => (molt_err_fetch(null), "molt_err_fetch"),
            }
        };
        self.c_refused(status, live, what);
    }

    /// See [`COp::HugeCount`].
    fn c_huge_count(&mut self, entry: u8, count: u64) {
        let n = (count | 1 << 63) as usize;
        let int_class = self.c_class(c"int");
        let live = self.c_live();
        let buf = [MOLT_NONE; 4];
        let text = b"12345678";
        let mut out = 0u64;
        // SAFETY: every call: the buffers are valid for a few elements; the count is above
        // `isize::MAX`, which no buffer can be, so each entry point must refuse it unread.
        let (status, what) = unsafe {
            match entry % 7 {
                0 => (
                    molt_str_from_utf8(text.as_ptr().cast(), n, &mut out),
                    "molt_str_from_utf8",
                ),
                1 => (
                    molt_bytes_from(text.as_ptr(), n, &mut out),
                    "molt_bytes_from",
                ),
                2 => (molt_tuple_new(buf.as_ptr(), n, &mut out), "molt_tuple_new"),
                3 => (molt_list_new(buf.as_ptr(), n, &mut out), "molt_list_new"),
                4 => (molt_call(int_class, buf.as_ptr(), n, &mut out), "molt_call"),
                5 => (
                    molt_call_method(MOLT_NONE, c"__repr__".as_ptr(), buf.as_ptr(), n, &mut out),
                    "molt_call_method",
                ),
                _ => (
                    molt_int_from_str(text.as_ptr().cast(), n, 10, &mut out),
                    "molt_int_from_str",
                ),
            }
        };
        self.c_refused(status, live, what);
    }

    /// A new C container `depth` levels deep (`None` with no runtime).
    fn c_build_deep(&mut self, tuple: bool, depth: usize) -> Option<u64> {
        let mut v = 0u64;
        // SAFETY: a valid out-pointer (an empty item array may dangle).
        let status = unsafe {
            if tuple {
                molt_tuple_new(std::ptr::NonNull::dangling().as_ptr(), 0, &mut v)
            } else {
                molt_list_new(std::ptr::NonNull::dangling().as_ptr(), 0, &mut v)
            }
        };
        if !self.c_check(status, Expect::Fine, "an empty container") {
            return None;
        }
        for _ in 0..depth {
            let mut outer = 0u64;
            let item = [v];
            // SAFETY: `item` is valid for one value; a valid out-pointer.
            let status = unsafe {
                if tuple {
                    molt_tuple_new(item.as_ptr(), 1, &mut outer)
                } else {
                    molt_list_new(item.as_ptr(), 1, &mut outer)
                }
            };
            assert_eq!(status, MOLT_OK, "nesting: {}", last_error());
            // The outer container holds it now.
            assert_eq!(molt_decref(v), MOLT_OK);
            v = outer;
        }
        Some(v)
    }

    /// See [`COp::Deep`]. The C runtime's recursion limit is the default, 1000.
    fn c_deep(&mut self, tuple: bool, depth: usize, query: u8) {
        let Some(a) = self.c_build_deep(tuple, depth) else {
            return;
        };
        let mut out = 0u64;
        let (status, what, how) = match query % 3 {
            // SAFETY: a valid out-pointer.
            0 => (
                unsafe { molt_repr(a, &mut out) },
                "molt_repr",
                Deepness::Recursive,
            ),
            1 => {
                let mut h = 0i64;
                let how = if tuple {
                    Deepness::Iterative
                } else {
                    Deepness::Unhashable
                };
                // SAFETY: a valid out-pointer.
                (unsafe { molt_hash(a, &mut h) }, "molt_hash", how)
            }
            _ => {
                let b = self.c_build_deep(tuple, depth).expect("the runtime is up");
                // SAFETY: a NUL-terminated name; `[b]` valid for one value; an out-pointer.
                let status =
                    unsafe { molt_call_method(a, c"__eq__".as_ptr(), [b].as_ptr(), 1, &mut out) };
                assert_eq!(molt_decref(b), MOLT_OK);
                (status, "__eq__", Deepness::Recursive)
            }
        };
        let r = if status == MOLT_OK {
            if out != 0 && query % 3 != 1 {
                assert_eq!(molt_decref(out), MOLT_OK);
            }
            Ok(())
        } else {
            assert_eq!(status, MOLT_ERR_EXCEPTION, "{what}: {}", last_error());
            let class = last_error()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            let mut e = 0u64;
            // SAFETY: a valid out-pointer.
            assert_eq!(unsafe { molt_err_fetch(&mut e) }, MOLT_OK);
            assert_eq!(molt_decref(e), MOLT_OK);
            Err(class)
        };
        deep_outcome(&mut self.stats, depth, 1000, how, &r, what);
        assert_eq!(molt_decref(a), MOLT_OK);
    }

    /// Bits the C runtime never handed out (or handed out to someone else) as a value
    /// argument: only entry points that do not change reference counts, and a decref once a
    /// probe saw them rejected.
    fn c_raw(&mut self, bits: u64, entry: u8) {
        let valid = Value::from_bits(bits);
        let number = valid.is_some_and(|v| v.as_obj().is_none());
        let ex = if valid.is_none() {
            Expect::Rejected
        } else if number {
            Expect::Fine
        } else {
            // Bits of an object: rejected, unless they happen to be a live object here.
            Expect::Any
        };
        let mut out = 0u64;
        match entry % 5 {
            0 => {
                let mut n = 0usize;
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_len(bits, &mut n) };
                self.c_check(status, ex, "molt_len (raw bits)");
            }
            1 => {
                let mut h = 0i64;
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_hash(bits, &mut h) };
                self.c_check(status, ex, "molt_hash (raw bits)");
            }
            2 => {
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_repr(bits, &mut out) };
                self.c_new(status, out, ex, false, "molt_repr (raw bits)");
            }
            3 => {
                let mut i = 0i64;
                // SAFETY: a valid out-pointer.
                let status = unsafe { molt_int_as_i64(bits, &mut i) };
                self.c_check(status, ex, "molt_int_as_i64 (raw bits)");
            }
            _ => {
                // Only bits that cannot release a live object: a number (a no-op), or bits
                // a probe saw rejected.
                if self.c_home.is_none() || number || self.c_rejects(bits) {
                    let status = molt_decref(bits);
                    let ex = if number { ex } else { Expect::Rejected };
                    self.c_check(status, ex, "molt_decref (raw bits)");
                } else {
                    self.stats.skipped += 1;
                }
            }
        }
    }
}

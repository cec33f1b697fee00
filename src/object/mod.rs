//! Heap objects and the per-runtime object heap.
//!
//! Objects that come and go (str, bytes, tuple, list, dict, module, exception, bound method,
//! user-class instance) live in one [`Heap`] per runtime: a slab of slots, each with a
//! reference count, a 16-bit version and the object. A [`Value`] refers to an object by
//! (kind, slot, stamp); resolving it checks the kind and the stamp, so a value whose object
//! was freed (or that belongs to another runtime) is rejected, never resolved to whatever
//! occupies the slot now. Classes and native functions are not in the heap: they live in
//! tables of their own for the life of the runtime (see [`types`] and [`natives`]).
//!
//! Reference counting follows CPython's C API: constructors and calls return new references,
//! containers own references to their items, and freeing an object releases what it owns
//! (iteratively, so a deeply nested structure cannot overflow the stack). There is no cycle
//! collector: a cycle stays alive until shutdown, which drops the whole heap at once.

pub mod bigint;
pub mod dict;
pub mod natives;
pub mod types;

use crate::intern::Symbol;
use crate::value::{Kind, ObjRef, Value, stamp};
use dict::Dict;
use hashbrown::HashMap;
use molt_arenas::pool::{Pool, PoolConfig, PoolRef, PoolReport};
use molt_arenas::registry::Tracker;

/// A `str`: UTF-8 text with its length in code points and its cached hash.
#[derive(Debug)]
pub struct StrObj {
    pub(crate) text: Box<str>,
    pub(crate) chars: usize,
    /// `-1` until computed (no CPython hash is `-1`).
    pub(crate) hash: i64,
}

/// An exception instance.
#[derive(Debug)]
pub struct ExcObj {
    /// Its class (index in the runtime's class table).
    pub(crate) class: u32,
    /// `args` (a tuple).
    pub(crate) args: Value,
    /// `__cause__` (an exception or `None`).
    pub(crate) cause: Value,
    /// `__context__` (an exception or `None`).
    pub(crate) context: Value,
    /// `__suppress_context__`.
    pub(crate) suppress_context: bool,
    /// Other attributes.
    pub(crate) dict: HashMap<Symbol, Value>,
}

impl ExcObj {
    /// A new exception of class `class` with `args` (an owned tuple reference), no cause,
    /// no context, no attributes.
    pub(crate) fn new(class: u32, args: Value) -> Self {
        Self {
            class,
            args,
            cause: Value::NONE,
            context: Value::NONE,
            suppress_context: false,
            dict: HashMap::new(),
        }
    }
}

/// A heap object.
#[derive(Debug)]
pub enum Object {
    /// `str`.
    Str(StrObj),
    /// `bytes` (with its cached hash, `-1` until computed).
    Bytes(Box<[u8]>, i64),
    /// `tuple`.
    Tuple(Box<[Value]>),
    /// `list`.
    List(Vec<Value>),
    /// `dict`.
    Dict(Dict),
    /// A module: its name and namespace.
    Module(Symbol, HashMap<Symbol, Value>),
    /// An exception instance.
    Exception(ExcObj),
    /// A bound method: (function, self).
    Method(Value, Value),
    /// An instance of a user class: (class index, attributes).
    Instance(u32, HashMap<Symbol, Value>),
    /// A big int (always outside the small-int range; see [`bigint`]).
    Int(num_bigint::BigInt),
}

impl Object {
    /// The value kind of this object.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Str(_) => Kind::Str,
            Object::Bytes(..) => Kind::Bytes,
            Object::Tuple(_) => Kind::Tuple,
            Object::List(_) => Kind::List,
            Object::Dict(_) => Kind::Dict,
            Object::Module(..) => Kind::Module,
            Object::Exception(_) => Kind::Exception,
            Object::Method(..) => Kind::Method,
            Object::Instance(..) => Kind::Instance,
            Object::Int(_) => Kind::Int,
        }
    }

    /// Pushes every value this object owns a reference to (values are `Copy`: the object,
    /// dropped next, gives them up without being moved).
    fn release_into(&self, out: &mut Vec<Value>) {
        match self {
            Object::Str(_) | Object::Bytes(..) | Object::Int(_) => {}
            Object::Tuple(items) => out.extend_from_slice(items),
            Object::List(items) => out.extend_from_slice(items),
            Object::Dict(d) => d.release_into(out),
            Object::Module(_, ns) | Object::Instance(_, ns) => out.extend(ns.values().copied()),
            Object::Exception(e) => {
                out.extend([e.args, e.cause, e.context]);
                out.extend(e.dict.values().copied());
            }
            Object::Method(f, s) => out.extend([*f, *s]),
        }
    }
}

/// Kinds that live in the heap, for per-kind accounting (index = `Kind as usize`).
pub(crate) const HEAP_KINDS: [Kind; HEAP_KIND_COUNT] = [
    Kind::Str,
    Kind::Bytes,
    Kind::Tuple,
    Kind::List,
    Kind::Dict,
    Kind::Module,
    Kind::Exception,
    Kind::Method,
    Kind::Instance,
    Kind::Int,
];

/// Number of heap kinds.
pub(crate) const HEAP_KIND_COUNT: usize = 10;

/// Registry kind names of heap objects, parallel to [`HEAP_KINDS`].
pub(crate) const HEAP_KIND_NAMES: [&str; HEAP_KIND_COUNT] = [
    "object.str",
    "object.bytes",
    "object.tuple",
    "object.list",
    "object.dict",
    "object.module",
    "object.exception",
    "object.method",
    "object.instance",
    "object.int",
];

fn heap_kind_index(k: Kind) -> usize {
    HEAP_KINDS.iter().position(|&h| h == k).unwrap_or(0)
}

/// A pooled heap object with its reference count.
#[derive(Debug)]
struct Cell {
    refcnt: u32,
    obj: Object,
}

/// Why a value did not resolve to a live object of this runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "stale or foreign value {0:?}: it does not refer to a live object of this runtime (its object was freed, or it comes from another runtime or one that has shut down)"
)]
pub struct BadValue(pub Value);

/// The object heap of one runtime: reference-counted objects in the runtime's object pool.
///
/// A value's stamp carries the runtime tag and the low 16 bits of the slot's pool version
/// (offset by the runtime's start); the pool retires a slot after 2^16 versions, so those 16
/// bits never repeat for a slot within a runtime.
///
/// All access to the pool's values goes through `&Heap`/`&mut Heap`, which live behind the
/// runtime lock; that is the contract the pool's `unsafe` accessors ask for.
#[derive(Debug)]
pub struct Heap {
    pool: Pool<Cell>,
    tag: u32,
    version_start: u16,
    live: [u64; HEAP_KIND_COUNT],
    trackers: Option<Vec<Tracker>>,
}

impl Heap {
    /// An empty heap for the runtime with stamp parts (`tag`, `version_start`).
    pub(crate) fn new(tag: u32, version_start: u16, trackers: Option<Vec<Tracker>>) -> Self {
        Self {
            pool: Pool::with_config(PoolConfig {
                retire_period: 1 << 16,
                ..PoolConfig::default()
            }),
            tag,
            version_start,
            live: [0; HEAP_KIND_COUNT],
            trackers,
        }
    }

    /// Allocates `obj` with a reference count of one. `None` when the heap is full
    /// ([`molt_arenas::pool::MAX_SLOTS`] live or retired slots).
    pub(crate) fn alloc(&mut self, obj: Object) -> Option<Value> {
        let kind = obj.kind();
        let owned = self.pool.alloc(Cell { refcnt: 1, obj }).ok()?;
        let r = owned.weak(); // from here on the reference count owns the slot
        let k = heap_kind_index(kind);
        self.live[k] += 1;
        if let Some(t) = &self.trackers {
            t[k].alloc(1, size_of::<Cell>() as u64);
        }
        let version = (r.version as u16).wrapping_add(self.version_start);
        Some(Value::object(ObjRef {
            kind,
            slot: r.id,
            stamp: stamp(self.tag, version),
        }))
    }

    /// The pool reference a value encodes, if it is a heap value stamped by this runtime.
    #[inline]
    fn pool_ref(&self, v: Value) -> Result<(PoolRef, Kind), BadValue> {
        let r = v.as_obj().ok_or(BadValue(v))?;
        if r.stamp >> 16 != self.tag || !is_heap_kind(r.kind) {
            return Err(BadValue(v));
        }
        let version = (r.stamp as u16).wrapping_sub(self.version_start);
        Ok((
            PoolRef {
                id: r.slot,
                version: u32::from(version),
            },
            r.kind,
        ))
    }

    fn cell(&self, v: Value) -> Result<&Cell, BadValue> {
        let (r, kind) = self.pool_ref(v)?;
        // SAFETY: the pool's values are reached only through this heap, and `&self` excludes
        // every `&mut Heap` path (frees and mutation) while the reference lives.
        match unsafe { self.pool.get_ref(r) } {
            Some(c) if c.obj.kind() == kind => Ok(c),
            _ => Err(BadValue(v)),
        }
    }

    fn cell_mut(&mut self, v: Value) -> Result<&mut Cell, BadValue> {
        let (r, kind) = self.pool_ref(v)?;
        // SAFETY: the pool's values are reached only through this heap, and `&mut self` is
        // exclusive.
        match unsafe { self.pool.get_mut_ref(r) } {
            Some(c) if c.obj.kind() == kind => Ok(c),
            _ => Err(BadValue(v)),
        }
    }

    /// The object `v` refers to.
    #[inline]
    pub fn get(&self, v: Value) -> Result<&Object, BadValue> {
        self.cell(v).map(|c| &c.obj)
    }

    /// The object `v` refers to, mutably.
    #[inline]
    pub fn get_mut(&mut self, v: Value) -> Result<&mut Object, BadValue> {
        self.cell_mut(v).map(|c| &mut c.obj)
    }

    /// The reference count of a heap object.
    pub fn refcount(&self, v: Value) -> Result<u32, BadValue> {
        self.cell(v).map(|c| c.refcnt)
    }

    /// Adds a reference. Values that are not heap objects (numbers, singletons, classes,
    /// native functions) are immortal: a no-op.
    #[inline]
    pub fn incref(&mut self, v: Value) -> Result<(), BadValue> {
        if !is_heap_value(v) {
            return Ok(());
        }
        let c = self.cell_mut(v)?;
        c.refcnt = c.refcnt.saturating_add(1);
        Ok(())
    }

    /// Drops a reference; frees the object (and releases what it owns) at zero.
    #[inline]
    pub fn decref(&mut self, v: Value) -> Result<(), BadValue> {
        if !is_heap_value(v) {
            return Ok(());
        }
        let mut pending = Vec::new();
        self.release(v, &mut pending)?;
        while let Some(v) = pending.pop() {
            // Owned references are to live objects (their owner held them), but a stale
            // one is skipped rather than trusted.
            if is_heap_value(v) {
                let _ = self.release(v, &mut pending);
            }
        }
        Ok(())
    }

    /// Drops one reference to the heap object `v` with one pool lookup; at zero frees it
    /// (in place, without moving the cell) and pushes the references it owned.
    #[inline]
    fn release(&mut self, v: Value, pending: &mut Vec<Value>) -> Result<(), BadValue> {
        let (r, kind) = self.pool_ref(v)?;
        // SAFETY: the pool's values are reached only through this heap, and `&mut self` is
        // exclusive; the handle does not outlive this call.
        let mut live = unsafe { self.pool.resolve_mut(r) }.ok_or(BadValue(v))?;
        let c = live.get_mut();
        if c.obj.kind() != kind {
            return Err(BadValue(v));
        }
        c.refcnt -= 1;
        if c.refcnt > 0 {
            return Ok(());
        }
        live.drop_with(|c| c.obj.release_into(pending));
        let k = heap_kind_index(kind);
        self.live[k] -= 1;
        if let Some(t) = &self.trackers {
            t[k].free(1, size_of::<Cell>() as u64);
        }
        Ok(())
    }

    /// Total live objects.
    pub fn live(&self) -> u64 {
        self.live.iter().sum()
    }

    /// Drops every live object at once, cycles included, without looking at reference
    /// counts; returns how many there were per kind and the pool's teardown report.
    pub(crate) fn drop_all(&mut self) -> ([u64; HEAP_KIND_COUNT], PoolReport) {
        let live = self.live;
        if let Some(t) = &self.trackers {
            for (k, n) in live.iter().enumerate() {
                t[k].free(*n, *n * size_of::<Cell>() as u64);
            }
        }
        let pool = std::mem::replace(&mut self.pool, Pool::new());
        let report = pool.shutdown();
        self.live = [0; HEAP_KIND_COUNT];
        (live, report)
    }
}

fn is_heap_kind(k: Kind) -> bool {
    !matches!(k, Kind::Type | Kind::Function)
}

/// Whether `v` refers to a heap (reference-counted) object.
#[inline]
pub fn is_heap_value(v: Value) -> bool {
    v.as_obj()
        .is_some_and(|r| !matches!(r.kind, Kind::Type | Kind::Function))
}

/// Number of code points in `s`.
pub(crate) fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

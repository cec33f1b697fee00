//! Heap objects and the per-runtime object heap.
//!
//! Objects that come and go (str, bytes, tuple, list, dict, module, exception, bound method,
//! user-class instance) live in one [`Heap`] per runtime: a slab of slots, each with a
//! reference count, a 17-bit version and the object. A [`Value`] refers to an object by
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
pub(crate) mod num;
pub mod repr;
pub mod types;

use crate::intern::Symbol;
use crate::value::{Kind, ObjRef, VERSION_BITS, VERSION_MASK, Value, stamp};
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
    /// `bytes`.
    Bytes {
        /// The bytes.
        data: Box<[u8]>,
        /// The cached hash, `-1` until computed.
        hash: i64,
    },
    /// `tuple`.
    Tuple(Box<[Value]>),
    /// `list`.
    List(Vec<Value>),
    /// `dict`.
    Dict(Dict),
    /// A module.
    Module {
        /// Its `__name__`.
        name: Symbol,
        /// Its namespace (owned references).
        namespace: HashMap<Symbol, Value>,
    },
    /// An exception instance.
    Exception(ExcObj),
    /// A bound method.
    Method {
        /// The function (owned reference).
        function: Value,
        /// The `self` it is bound to (owned reference).
        receiver: Value,
    },
    /// An instance of a user class.
    Instance {
        /// The class's index in the class table.
        class: u32,
        /// Its attributes (owned references).
        attrs: HashMap<Symbol, Value>,
    },
    /// A big int (always outside the small-int range; see [`bigint`]).
    Int(num_bigint::BigInt),
}

impl Object {
    /// The value kind of this object.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Str(_) => Kind::Str,
            Object::Bytes { .. } => Kind::Bytes,
            Object::Tuple(_) => Kind::Tuple,
            Object::List(_) => Kind::List,
            Object::Dict(_) => Kind::Dict,
            Object::Module { .. } => Kind::Module,
            Object::Exception(_) => Kind::Exception,
            Object::Method { .. } => Kind::Method,
            Object::Instance { .. } => Kind::Instance,
            Object::Int(_) => Kind::Int,
        }
    }

    /// Pushes every value this object owns a reference to (values are `Copy`: the object,
    /// dropped next, gives them up without being moved).
    fn release_into(&self, out: &mut Vec<Value>) {
        match self {
            Object::Str(_) | Object::Bytes { .. } | Object::Int(_) => {}
            Object::Tuple(items) => out.extend_from_slice(items),
            Object::List(items) => out.extend_from_slice(items),
            Object::Dict(d) => d.release_into(out),
            Object::Module { namespace: ns, .. } | Object::Instance { attrs: ns, .. } => {
                out.extend(ns.values().copied())
            }
            Object::Exception(e) => {
                out.extend([e.args, e.cause, e.context]);
                out.extend(e.dict.values().copied());
            }
            Object::Method {
                function: f,
                receiver: s,
            } => out.extend([*f, *s]),
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
/// A value's stamp carries the runtime tag and the slot's 17-bit pool version (offset by the
/// runtime's start). Pool versions wrap instead of retiring the slot (so a runtime never runs
/// out of slots however long it allocates): a stale value is rejected for the next
/// `2^17 - 2` reuses of its slot, after which it may resolve to the live object there.
///
/// All access to the pool's values goes through `&Heap`/`&mut Heap`, which live behind the
/// runtime lock; that is the contract the pool's `unsafe` accessors ask for.
#[derive(Debug)]
pub struct Heap {
    pool: Pool<Cell>,
    tag: u32,
    version_start: u32,
    live: [u64; HEAP_KIND_COUNT],
    trackers: Option<Vec<Tracker>>,
    /// The most live objects allowed ([`MAX_LIVE`] unless a test lowered it with
    /// `Gil::set_heap_limit`, to reach exhaustion quickly).
    max_live: u64,
    /// Live objects that are the runtime's own (the preallocated `MemoryError` and its
    /// args), left out of [`live`](Self::live).
    own: u64,
    /// [`max_live`](Self::max_live), or 0 until the first allocation has preallocated the
    /// `MemoryError`: the one branch of the allocation path covers both.
    gate: u64,
    /// The `MemoryError()` raised when the heap is full (an owned reference), preallocated
    /// by the first allocation (when the pool makes its first chunk anyway), as CPython
    /// preallocates its own: raising it allocates nothing. Shared: it is raised without
    /// chaining a `__context__` into it.
    memory_error: Option<Value>,
}

/// The most live objects a heap can hold (the pool's slot limit, 2^24).
pub const MAX_LIVE: u64 = molt_arenas::pool::MAX_SLOTS as u64;

impl Heap {
    /// An empty heap for the runtime with stamp parts (`tag`, `version_start`).
    pub(crate) fn new(tag: u32, version_start: u32, trackers: Option<Vec<Tracker>>) -> Self {
        Self {
            // Pool versions as wide as a value's version field, restarting at 1 instead of
            // retiring the slot: see `crate::value` for what that guarantees.
            pool: Pool::with_config(PoolConfig {
                retire_period: 1 << VERSION_BITS,
                recycle: true,
                ..PoolConfig::default()
            }),
            tag,
            version_start,
            live: [0; HEAP_KIND_COUNT],
            trackers,
            max_live: MAX_LIVE,
            own: 0,
            gate: 0,
            memory_error: None,
        }
    }

    /// Lowers (or restores) the live-object limit; see [`Heap::alloc`].
    pub(crate) fn set_limit(&mut self, max_live: u64) {
        self.max_live = max_live.min(MAX_LIVE);
        if self.memory_error.is_some() {
            self.gate = self.max_live;
        }
    }

    /// The preallocated `MemoryError` (borrowed), once the heap has allocated anything.
    pub(crate) fn memory_error(&self) -> Option<Value> {
        self.memory_error
    }

    /// Replaces the preallocated `MemoryError` (after a host freed it by decref'ing a
    /// reference it did not own); `None` if the heap has no room.
    pub(crate) fn renew_memory_error(&mut self) -> Option<Value> {
        let cls = crate::ExcClass::MEMORY_ERROR.index();
        let e = self.alloc_bare_exception(cls)?;
        self.memory_error = Some(e);
        Some(e)
    }

    /// Releases the runtime's reference to the preallocated `MemoryError` (teardown).
    pub(crate) fn release_memory_error(&mut self) {
        self.own = 0;
        let Some(e) = self.memory_error.take() else {
            return;
        };
        // Freed to the pool's shared free list, not a magazine: teardown runs this on the
        // thread that shuts down, which may never have used the pool, and a magazine
        // registered now would only be drained (and counted as a live thread's) by the
        // pool's teardown a moment later.
        let mut pending = vec![e];
        while let Some(v) = pending.pop() {
            if is_heap_value(v) {
                let _ = self.release(v, &mut pending, true);
            }
        }
    }

    /// The allocation path's slow branch: preallocates the `MemoryError` on the first
    /// allocation, then applies the limit a test set. Whether one more object fits.
    #[cold]
    fn admit(&mut self) -> bool {
        if self.memory_error.is_none() {
            self.gate = MAX_LIVE; // allocate the two objects without coming back here
            let cls = crate::ExcClass::MEMORY_ERROR.index();
            self.memory_error = self.alloc_bare_exception(cls);
            if self.memory_error.is_some() {
                self.own = 2; // the instance and its empty args tuple
            }
            self.gate = self.max_live;
        }
        self.max_live == MAX_LIVE || self.live() < self.max_live
    }

    /// Allocates `obj` with a reference count of one, taking over the references it owns.
    /// `None` when the heap is full ([`molt_arenas::pool::MAX_SLOTS`] live or retired
    /// slots, or the limit a test set): then the references `obj` owned are released, so a
    /// constructor that fails leaves nothing behind.
    pub(crate) fn alloc(&mut self, obj: Object) -> Option<Value> {
        let kind = obj.kind();
        // One predictable branch: taken by the first allocation, and by all of them only if
        // a test lowered the limit.
        if self.gate < MAX_LIVE && !self.admit() {
            self.release_owned(obj);
            return None;
        }
        let owned = match self.pool.try_alloc(Cell { refcnt: 1, obj }) {
            Ok(o) => o,
            Err((_, cell)) => {
                self.release_owned(cell.obj);
                return None;
            }
        };
        let r = owned.weak(); // from here on the reference count owns the slot
        let k = heap_kind_index(kind);
        self.live[k] += 1;
        if let Some(t) = &self.trackers {
            t[k].alloc(1, size_of::<Cell>() as u64);
        }
        let version = r.version.wrapping_add(self.version_start);
        Some(Value::object(ObjRef {
            kind,
            slot: r.id,
            stamp: stamp(self.tag, version),
        }))
    }

    /// Drops an object that never made it into the heap, releasing the references it owns.
    #[cold]
    fn release_owned(&mut self, obj: Object) {
        let mut owned = Vec::new();
        obj.release_into(&mut owned);
        drop(obj);
        for v in owned {
            let _ = self.decref(v);
        }
    }

    /// A `cls()` exception instance with no arguments (for the preallocated `MemoryError`).
    pub(crate) fn alloc_bare_exception(&mut self, cls: u32) -> Option<Value> {
        let args = self.alloc(Object::Tuple(Box::new([])))?;
        self.alloc(Object::Exception(ExcObj::new(cls, args)))
    }

    /// The pool reference and the raw kind `bits` encode, if they are a heap object reference
    /// stamped by this runtime. One decode from the raw bits, shared by every lookup: the C
    /// ABI's held path starts from bits, and a [`Value`] is its bits.
    #[inline(always)]
    fn pool_ref(&self, bits: u64) -> Option<(PoolRef, u32)> {
        let (kind, slot, stamp) = Value::obj_fields(bits)?;
        if HEAP_KIND_SET >> kind & 1 == 0 || stamp >> VERSION_BITS != self.tag {
            return None;
        }
        let version = stamp.wrapping_sub(self.version_start) & VERSION_MASK;
        Some((PoolRef { id: slot, version }, kind))
    }

    /// The live cell `bits` refers to (see [`pool_ref`](Self::pool_ref)), of the kind the
    /// bits say.
    #[inline(always)]
    fn cell_of_bits(&self, bits: u64) -> Option<&Cell> {
        let (r, kind) = self.pool_ref(bits)?;
        // SAFETY: the pool's values are reached only through this heap, and `&self` excludes
        // every `&mut Heap` path (frees and mutation) while the reference lives.
        unsafe { self.pool.get_ref(r) }.filter(|c| c.obj.kind() as u32 == kind)
    }

    /// [`cell_of_bits`](Self::cell_of_bits), mutably.
    #[inline(always)]
    fn cell_of_bits_mut(&mut self, bits: u64) -> Option<&mut Cell> {
        let (r, kind) = self.pool_ref(bits)?;
        // SAFETY: the pool's values are reached only through this heap, and `&mut self` is
        // exclusive.
        unsafe { self.pool.get_mut_ref(r) }.filter(|c| c.obj.kind() as u32 == kind)
    }

    #[inline]
    fn cell(&self, v: Value) -> Result<&Cell, BadValue> {
        self.cell_of_bits(v.to_bits()).ok_or(BadValue(v))
    }

    #[inline]
    fn cell_mut(&mut self, v: Value) -> Result<&mut Cell, BadValue> {
        self.cell_of_bits_mut(v.to_bits()).ok_or(BadValue(v))
    }

    /// The C ABI's held path for `molt_incref` (`inc`) and `molt_decref`, from the raw
    /// bits: true if done, false if the caller must take the full path (which answers
    /// every other case, with its error): a value that is not a valid encoding, a class or
    /// function (checked there), a stale or foreign reference, or the last reference (a
    /// free). A valid immediate (number, bool, singleton) has nothing to count: true.
    ///
    /// Leaf code: it calls nothing, allocates nothing and cannot panic, so an entry point
    /// may run it before its panic boundary.
    #[cfg(not(molt_loom))] // only the C ABI (not built for loom) uses it
    #[inline(always)]
    pub(crate) fn held_refcount(&mut self, bits: u64, inc: bool) -> bool {
        match self.cell_of_bits_mut(bits) {
            Some(c) if inc => {
                c.refcnt = c.refcnt.saturating_add(1);
                true
            }
            Some(c) if c.refcnt > 1 => {
                c.refcnt -= 1;
                true
            }
            Some(_) => false,
            None => Value::is_immediate_bits(bits),
        }
    }

    /// The hash a live str or bytes `bits` refers to has cached, else `None` (the full path
    /// computes it, or answers): the C ABI's held path for `molt_hash`, and the first step of
    /// every hash. Leaf code, as [`held_refcount`](Self::held_refcount).
    #[inline(always)]
    pub(crate) fn cached_hash(&self, bits: u64) -> Option<i64> {
        let h = match &self.cell_of_bits(bits)?.obj {
            Object::Str(s) => s.hash,
            Object::Bytes { hash, .. } => *hash,
            _ => return None,
        };
        (h != -1).then_some(h)
    }

    /// The C ABI's held path for `molt_len`: the length of the live str, bytes, tuple, list
    /// or dict `bits` refers to, else `None` (the full path answers). Leaf code, as
    /// [`held_refcount`](Self::held_refcount).
    #[cfg(not(molt_loom))] // only the C ABI (not built for loom) uses it
    #[inline(always)]
    pub(crate) fn held_len(&self, bits: u64) -> Option<usize> {
        builtin_len_of(&self.cell_of_bits(bits)?.obj)
    }

    /// The object `v` refers to.
    #[inline]
    pub fn get(&self, v: Value) -> Result<&Object, BadValue> {
        self.cell(v).map(|c| &c.obj)
    }

    /// `len(v)` if `v` is a live str, bytes, tuple, list or dict (the types with a length).
    #[inline]
    pub(crate) fn builtin_len(&self, v: Value) -> Option<usize> {
        builtin_len_of(self.get(v).ok()?)
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
    // Always inline: the C ABI's held path passes it as a function pointer, and the common
    // case is a few instructions (freeing is out of line).
    #[inline(always)]
    pub fn decref(&mut self, v: Value) -> Result<(), BadValue> {
        if !is_heap_value(v) {
            return Ok(());
        }
        // The common case, inline: the count stays above zero (one lookup, no free).
        let c = self.cell_mut(v)?;
        if c.refcnt > 1 {
            c.refcnt -= 1;
            return Ok(());
        }
        self.decref_last(v)
    }

    /// [`decref`](Self::decref) of the last reference: frees the object and, iteratively,
    /// what only it kept alive.
    #[inline(never)]
    fn decref_last(&mut self, v: Value) -> Result<(), BadValue> {
        let mut pending = Vec::new();
        self.release(v, &mut pending, false)?;
        while let Some(v) = pending.pop() {
            // Owned references are to live objects (their owner held them), but a stale
            // one is skipped rather than trusted.
            if is_heap_value(v) {
                let _ = self.release(v, &mut pending, false);
            }
        }
        Ok(())
    }

    /// Drops one reference to the heap object `v` with one pool lookup; at zero frees it
    /// (in place, without moving the cell; to the pool's shared free list if `shared`, else
    /// to this thread's magazine) and pushes the references it owned.
    #[inline]
    fn release(
        &mut self,
        v: Value,
        pending: &mut Vec<Value>,
        shared: bool,
    ) -> Result<(), BadValue> {
        let (r, kind) = self.pool_ref(v.to_bits()).ok_or(BadValue(v))?;
        // SAFETY: the pool's values are reached only through this heap, and `&mut self` is
        // exclusive; the handle does not outlive this call.
        let mut live = unsafe { self.pool.resolve_mut(r) }.ok_or(BadValue(v))?;
        let c = live.get_mut();
        if c.obj.kind() as u32 != kind {
            return Err(BadValue(v));
        }
        c.refcnt -= 1;
        if c.refcnt > 0 {
            return Ok(());
        }
        let kind = c.obj.kind();
        let owned = |c: &mut Cell| c.obj.release_into(pending);
        if shared {
            live.drop_with_shared(owned);
        } else {
            live.drop_with(owned);
        }
        let k = heap_kind_index(kind);
        self.live[k] -= 1;
        if let Some(t) = &self.trackers {
            t[k].free(1, size_of::<Cell>() as u64);
        }
        Ok(())
    }

    /// Live objects per kind ([`HEAP_KIND_NAMES`] order), the runtime's own included.
    pub(crate) fn live_by_kind(&self) -> [u64; HEAP_KIND_COUNT] {
        self.live
    }

    /// Per kind, the live objects whose every reference is accounted for by `roots` (the
    /// runtime's own references: module cache, exception state, class namespaces, the
    /// preallocated `MemoryError`) and by other such objects: a walk from the roots that
    /// counts each object's incoming references and compares them with its reference count.
    /// Live objects not counted here were left alive by the program (a reference it still
    /// holds, or a cycle nobody can reach).
    pub(crate) fn held_by(&self, roots: impl IntoIterator<Item = Value>) -> [u64; HEAP_KIND_COUNT] {
        let mut incoming: HashMap<u64, u32> = HashMap::new();
        let mut stack: Vec<Value> = roots.into_iter().filter(|&v| is_heap_value(v)).collect();
        let mut children = Vec::new();
        while let Some(v) = stack.pop() {
            let n = incoming.entry(v.to_bits()).or_insert(0);
            *n += 1;
            if *n > 1 {
                continue; // its own references were counted the first time
            }
            if let Ok(c) = self.cell(v) {
                children.clear();
                c.obj.release_into(&mut children);
                stack.extend(children.iter().copied().filter(|&x| is_heap_value(x)));
            }
        }
        let mut held = [0; HEAP_KIND_COUNT];
        for (bits, n) in incoming {
            if let Some(c) = Value::from_bits(bits).and_then(|v| self.cell(v).ok())
                && c.refcnt == n
            {
                held[heap_kind_index(c.obj.kind())] += 1;
            }
        }
        held
    }

    /// Total live objects (the runtime's own preallocated ones left out).
    pub fn live(&self) -> u64 {
        self.live.iter().sum::<u64>().saturating_sub(self.own)
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

/// [`HEAP_KINDS`] as a bit set by discriminant: one shift and test on a value's raw kind
/// field (none of the 4-bit field's values beyond the last kind is in it).
const HEAP_KIND_SET: u32 = {
    let mut set = 0;
    let mut i = 0;
    while i < HEAP_KIND_COUNT {
        set |= 1 << HEAP_KINDS[i] as u32;
        i += 1;
    }
    set
};

/// `len()` of a str, bytes, tuple, list or dict (the builtins with a length).
#[inline(always)]
fn builtin_len_of(obj: &Object) -> Option<usize> {
    Some(match obj {
        Object::Str(s) => s.chars,
        Object::Bytes { data: b, .. } => b.len(),
        Object::Tuple(t) => t.len(),
        Object::List(l) => l.len(),
        Object::Dict(d) => d.len(),
        _ => return None,
    })
}

/// Whether `v` refers to a heap (reference-counted) object.
#[inline]
pub fn is_heap_value(v: Value) -> bool {
    v.as_obj().is_some_and(|r| is_heap_kind(r.kind))
}

/// Number of code points in `s`.
pub(crate) fn char_count(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

//! Classes as the object model sees them: the class table, version tags and the method cache.
//!
//! Every class of a runtime (the builtin ones first, in the builtin table's order, then user
//! classes) has an index in one [`Types`] table; a class value is `(Kind::Type, index)`.
//! Builtin classes keep their `__bases__`/`__mro__` and their method tables in the runtime's
//! arena (built once at init, freed wholesale); user classes own theirs and have a
//! namespace dict.
//!
//! Attribute lookup on a class walks its MRO and is cached in a per-runtime direct-mapped
//! method cache keyed by (class version tag, interned name), as CPython's type cache is. Each
//! class has a version tag; changing a user class's namespace gives it, and every subclass
//! of it, a new tag, so the entries cached under the old tags can never be hit again.

use crate::intern::Symbol;
use crate::value::{Kind, ObjRef, Value, stamp};
use hashbrown::HashMap;
use molt_arenas::arena::{ArenaSlice, FrozenArena};

/// Indices of the core builtin classes (the first entries of the builtin table).
#[allow(missing_docs)]
pub mod core {
    pub const OBJECT: u32 = 0;
    pub const TYPE: u32 = 1;
    pub const NONE_TYPE: u32 = 2;
    pub const INT: u32 = 3;
    pub const BOOL: u32 = 4;
    pub const FLOAT: u32 = 5;
    pub const STR: u32 = 6;
    pub const BYTES: u32 = 7;
    pub const TUPLE: u32 = 8;
    pub const LIST: u32 = 9;
    pub const DICT: u32 = 10;
    pub const FUNCTION: u32 = 11;
    pub const BUILTIN_FUNCTION: u32 = 12;
    pub const METHOD: u32 = 13;
    pub const MODULE: u32 = 14;
    pub const NOT_IMPLEMENTED_TYPE: u32 = 15;
    pub const ELLIPSIS: u32 = 16;
    /// Names, in index order (checked against the builtin table at init).
    pub const NAMES: [&str; 17] = [
        "object",
        "type",
        "NoneType",
        "int",
        "bool",
        "float",
        "str",
        "bytes",
        "tuple",
        "list",
        "dict",
        "function",
        "builtin_function_or_method",
        "method",
        "module",
        "NotImplementedType",
        "ellipsis",
    ];
}

/// A sequence of class indices: in the arena (builtin classes) or owned (user classes).
#[derive(Debug)]
pub(crate) enum Seq {
    Arena(ArenaSlice<u32>),
    Owned(Box<[u32]>),
}

impl Seq {
    pub(crate) fn get<'a>(&'a self, arena: &'a FrozenArena) -> &'a [u32] {
        match self {
            Seq::Arena(s) => arena.slice(*s).expect("class data in its runtime's arena"),
            Seq::Owned(b) => b,
        }
    }
}

/// What calling a class creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A builtin non-exception class (its own constructor, if any).
    Builtin,
    /// An exception instance.
    Exception,
    /// An instance of a user class with an attribute dict.
    Instance,
}

/// One class.
#[derive(Debug)]
pub struct TypeObj {
    pub(crate) name: Symbol,
    pub(crate) bases: Seq,
    pub(crate) mro: Seq,
    /// Builtin method table, sorted by symbol: (name, native function index).
    pub(crate) methods: Option<ArenaSlice<(Symbol, u32)>>,
    /// The namespace of a user class (owned references).
    pub(crate) dict: Option<HashMap<Symbol, Value>>,
    pub(crate) version: u32,
    pub(crate) subclasses: Vec<u32>,
    pub(crate) layout: Layout,
}

const CACHE_SIZE: usize = 1024;
const _: () = assert!(CACHE_SIZE == 1 << (32 - 22));

#[derive(Debug, Clone, Copy)]
struct CacheEntry {
    version: u32,
    name: Symbol,
    value: Option<Value>,
}

/// Method cache counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that walked the MRO.
    pub misses: u64,
    /// Entries currently holding a result.
    pub occupied: u64,
}

/// The class table of one runtime, with its method cache.
#[derive(Debug)]
pub struct Types {
    pub(crate) list: Vec<TypeObj>,
    pub(crate) builtin_count: u32,
    next_version: u32,
    cache: Box<[CacheEntry; CACHE_SIZE]>,
    stats: CacheStats,
    stamp: u32,
}

impl Types {
    pub(crate) fn new(list: Vec<TypeObj>, tag: u32, version_start: u16) -> Self {
        let builtin_count = list.len() as u32;
        let mut this = Self {
            list,
            builtin_count,
            next_version: 1,
            cache: vec![
                CacheEntry {
                    version: 0,
                    name: crate::intern::sym::__name__,
                    value: None,
                };
                CACHE_SIZE
            ]
            .into_boxed_slice()
            .try_into()
            .expect("CACHE_SIZE entries"),
            stats: CacheStats::default(),
            stamp: stamp(tag, version_start),
        };
        for i in 0..this.list.len() {
            this.list[i].version = this.fresh_version();
        }
        this
    }

    fn fresh_version(&mut self) -> u32 {
        if self.next_version == u32::MAX {
            // Version tags ran out: forget every cached entry and renumber all classes.
            self.next_version = 1;
            for e in self.cache.iter_mut() {
                e.version = 0;
            }
            self.stats.occupied = 0;
            for i in 0..self.list.len() {
                self.list[i].version = self.next_version;
                self.next_version += 1;
            }
        }
        let v = self.next_version;
        self.next_version += 1;
        v
    }

    /// The value of class `index`.
    pub fn value_of(&self, index: u32) -> Value {
        Value::object(ObjRef {
            kind: Kind::Type,
            slot: index,
            stamp: self.stamp,
        })
    }

    /// The class index a value refers to, if it is a class of this runtime.
    #[inline]
    pub fn index_of(&self, v: Value) -> Option<u32> {
        let (slot, stamp) = v.obj_of_kind(Kind::Type)?;
        (stamp == self.stamp && (slot as usize) < self.list.len()).then_some(slot)
    }

    /// Class `index`.
    pub fn get(&self, index: u32) -> &TypeObj {
        &self.list[index as usize]
    }

    /// Number of classes (builtin and user).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none (never, after init).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The MRO of class `index`.
    pub fn mro<'a>(&'a self, arena: &'a FrozenArena, index: u32) -> &'a [u32] {
        self.list[index as usize].mro.get(arena)
    }

    /// Whether class `sub` has `sup` in its MRO.
    pub fn is_subclass(&self, arena: &FrozenArena, sub: u32, sup: u32) -> bool {
        sub == sup || self.mro(arena, sub).contains(&sup)
    }

    /// Looks `name` up along the MRO of class `cls`, through the method cache.
    #[inline]
    pub fn lookup(&mut self, arena: &FrozenArena, cls: u32, name: Symbol) -> Option<Value> {
        let version = self.list[cls as usize].version;
        let slot = cache_index(version, name);
        let e = self.cache[slot];
        if e.version == version && e.name == name {
            self.stats.hits += 1;
            return e.value;
        }
        self.lookup_slow(arena, cls, name, version, slot)
    }

    #[cold]
    fn lookup_slow(
        &mut self,
        arena: &FrozenArena,
        cls: u32,
        name: Symbol,
        version: u32,
        slot: usize,
    ) -> Option<Value> {
        self.stats.misses += 1;
        let value = self.lookup_uncached(arena, cls, name);
        let e = &mut self.cache[slot];
        if e.version == 0 {
            self.stats.occupied += 1;
        }
        *e = CacheEntry {
            version,
            name,
            value,
        };
        value
    }

    /// The MRO walk itself, without the cache (what a miss costs).
    pub fn lookup_uncached(&self, arena: &FrozenArena, cls: u32, name: Symbol) -> Option<Value> {
        for &c in self.mro(arena, cls) {
            let t = &self.list[c as usize];
            if let Some(d) = &t.dict
                && let Some(&v) = d.get(&name)
            {
                return Some(v);
            }
            if let Some(m) = t.methods {
                let m = arena.slice(m).expect("method table in its runtime's arena");
                if let Ok(i) = m.binary_search_by_key(&name, |e| e.0) {
                    return Some(Value::object(ObjRef {
                        kind: Kind::Function,
                        slot: m[i].1,
                        stamp: self.stamp,
                    }));
                }
            }
        }
        None
    }

    /// Adds a user class; returns its index.
    pub(crate) fn push_user(&mut self, mut t: TypeObj, arena: &FrozenArena) -> u32 {
        let index = self.list.len() as u32;
        t.version = self.fresh_version();
        let bases: Vec<u32> = t.bases.get(arena).to_vec();
        self.list.push(t);
        for b in bases {
            self.list[b as usize].subclasses.push(index);
        }
        index
    }

    /// Sets (or with `None` removes) `name` in user class `cls`'s namespace, returns the old
    /// value (its reference passes to the caller), and gives `cls` and all its subclasses
    /// new version tags.
    pub(crate) fn set_attr(
        &mut self,
        cls: u32,
        name: Symbol,
        value: Option<Value>,
    ) -> Option<Value> {
        let old = {
            let d = self.list[cls as usize]
                .dict
                .get_or_insert_with(HashMap::new);
            match value {
                Some(v) => d.insert(name, v),
                None => d.remove(&name),
            }
        };
        let mut stack = vec![cls];
        while let Some(c) = stack.pop() {
            let v = self.fresh_version();
            let t = &mut self.list[c as usize];
            t.version = v;
            stack.extend(t.subclasses.iter().copied());
        }
        old
    }

    /// Bytes of the method cache.
    pub fn cache_bytes(&self) -> usize {
        self.cache.len() * size_of::<CacheEntry>()
    }

    /// Method cache counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.stats
    }
}

#[inline]
fn cache_index(version: u32, name: Symbol) -> usize {
    // The top 10 bits of a 32-bit mix: always below CACHE_SIZE (1024).
    ((version.wrapping_mul(0x9E37_79B1) ^ name.index().wrapping_mul(0x85EB_CA6B)) >> 22) as usize
}

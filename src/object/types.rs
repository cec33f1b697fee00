//! Classes as the object model sees them: the class table, version tags and the method cache.
//!
//! Every class of a runtime (the builtin ones first, in the builtin table's order, then user
//! classes) has an index in one [`Types`] table; a class value is `(Kind::Type, index)`.
//! Builtin classes' `__bases__`/`__mro__` and method tables are program data (built by the
//! compiler, see [`crate::builtins`]); user classes own theirs and have a namespace dict.
//!
//! Attribute lookup on a class walks its MRO and is cached in a per-runtime direct-mapped
//! method cache keyed by (class version tag, interned name), as CPython's type cache is. Each
//! class has a version tag; changing a user class's namespace gives it, and every subclass
//! of it, a new tag, so the entries cached under the old tags can never be hit again.

use crate::builtins::{CLASS_COUNT, static_bases, static_is_exception, static_mro};
use crate::intern::{Symbol, class_symbol};
use crate::object::natives::builtin_methods;
use crate::value::{Kind, ObjRef, Value, stamp};
use hashbrown::HashMap;
use molt_arenas::registry::Tracker;

/// Indices in the builtin class table of the classes the object model names directly,
/// found by `const` evaluation from their names (a misspelt or missing class fails the
/// build). They are the first entries of the table, in this order.
pub mod core_class {
    use crate::builtins::const_index;

    macro_rules! core_classes {
        ($($name:ident = $text:literal;)*) => {
            $(
                #[doc = concat!("`", $text, "`.")]
                pub const $name: u32 = const_index($text) as u32;
            )*
            /// Their names, in index order.
            pub const NAMES: &[&str] = &[$($text),*];
        };
    }

    /// The class of a heap object of kind `kind`, for the kinds whose objects all have one
    /// class (not exceptions and instances, which name their class; their entries are
    /// `OBJECT`, never read).
    pub const fn of_kind(kind: crate::value::Kind) -> u32 {
        BY_KIND[kind as usize]
    }

    /// [`of_kind`]'s table, in `Kind` discriminant order.
    const BY_KIND: [u32; 12] = [
        STR,
        BYTES,
        TUPLE,
        LIST,
        DICT,
        TYPE,
        MODULE,
        OBJECT,
        BUILTIN_FUNCTION,
        METHOD,
        OBJECT,
        INT,
    ];

    core_classes! {
        OBJECT = "object";
        TYPE = "type";
        NONE_TYPE = "NoneType";
        INT = "int";
        BOOL = "bool";
        FLOAT = "float";
        STR = "str";
        BYTES = "bytes";
        TUPLE = "tuple";
        LIST = "list";
        DICT = "dict";
        FUNCTION = "function";
        BUILTIN_FUNCTION = "builtin_function_or_method";
        METHOD = "method";
        MODULE = "module";
        NOT_IMPLEMENTED_TYPE = "NotImplementedType";
        ELLIPSIS = "ellipsis";
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

/// A builtin class: program data, built by the compiler (see [`crate::builtins`]) and
/// shared by every runtime without being copied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuiltinType {
    pub(crate) name: Symbol,
    pub(crate) bases: &'static [u32],
    pub(crate) mro: &'static [u32],
    /// Method table, sorted by symbol: (name, native function index).
    pub(crate) methods: &'static [(Symbol, u32)],
    pub(crate) layout: Layout,
}

/// The builtin classes, class `i` at index `i`.
pub(crate) static BUILTIN_TYPES: [BuiltinType; CLASS_COUNT] = {
    let empty = BuiltinType {
        name: crate::intern::sym::__name__,
        bases: &[],
        mro: &[],
        methods: &[],
        layout: Layout::Builtin,
    };
    let mut list = [empty; CLASS_COUNT];
    let mut i = 0;
    while i < CLASS_COUNT {
        list[i] = BuiltinType {
            name: class_symbol(i),
            bases: static_bases(i),
            mro: static_mro(i),
            methods: builtin_methods(i),
            layout: if static_is_exception(i) {
                Layout::Exception
            } else {
                Layout::Builtin
            },
        };
        i += 1;
    }
    list
};

/// A user class, owned by its runtime.
#[derive(Debug)]
pub struct TypeObj {
    pub(crate) name: Symbol,
    pub(crate) bases: Box<[u32]>,
    pub(crate) mro: Box<[u32]>,
    /// The class namespace (owned references).
    pub(crate) dict: HashMap<Symbol, Value>,
    /// User classes that list this one among their bases.
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
///
/// Class `i < builtin_count` is builtin (`BUILTIN_TYPES`: program data); the others are
/// user classes, `user[i - builtin_count]`. Every class has a version tag in `versions`.
#[derive(Debug)]
pub struct Types {
    user: Vec<TypeObj>,
    versions: Vec<u32>,
    pub(crate) builtin_count: u32,
    next_version: u32,
    /// The method cache: empty until the first miss, then `CACHE_SIZE` entries (a runtime
    /// that never looks an attribute up never allocates it).
    cache: Box<[CacheEntry]>,
    cache_tracker: Option<Tracker>,
    stats: CacheStats,
    stamp: u32,
}

impl Types {
    pub(crate) fn new(tag: u32, version_start: u32, cache_tracker: Option<Tracker>) -> Self {
        let builtin_count = CLASS_COUNT as u32;
        let mut versions = Vec::with_capacity(CLASS_COUNT + 16);
        versions.extend(1..=builtin_count);
        Self {
            user: Vec::new(),
            versions,
            builtin_count,
            next_version: builtin_count + 1,
            cache: Box::new([]),
            cache_tracker,
            stats: CacheStats::default(),
            stamp: stamp(tag, version_start),
        }
    }

    fn fresh_version(&mut self) -> u32 {
        if self.next_version == u32::MAX {
            // Version tags ran out: forget every cached entry and renumber all classes.
            self.next_version = 1;
            for e in self.cache.iter_mut() {
                e.version = 0;
            }
            self.stats.occupied = 0;
            for v in self.versions.iter_mut() {
                *v = self.next_version;
                self.next_version += 1;
            }
        }
        let v = self.next_version;
        self.next_version += 1;
        v
    }

    fn user(&self, index: u32) -> Option<&TypeObj> {
        self.user
            .get(index.checked_sub(self.builtin_count)? as usize)
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
        (stamp == self.stamp && (slot as usize) < self.versions.len()).then_some(slot)
    }

    /// `__name__` of class `index`.
    pub fn name(&self, index: u32) -> Symbol {
        match self.user(index) {
            Some(t) => t.name,
            None => BUILTIN_TYPES[index as usize].name,
        }
    }

    /// What calling class `index` creates.
    pub fn layout(&self, index: u32) -> Layout {
        match self.user(index) {
            Some(t) => t.layout,
            None => BUILTIN_TYPES[index as usize].layout,
        }
    }

    /// `__bases__` of class `index`.
    pub fn bases(&self, index: u32) -> &[u32] {
        match self.user(index) {
            Some(t) => &t.bases,
            None => BUILTIN_TYPES[index as usize].bases,
        }
    }

    /// Number of classes (builtin and user).
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// Whether there are none (never, after init).
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }

    /// Number of user classes.
    /// Every value a user class's namespace holds a reference to.
    pub(crate) fn user_attribute_values(&self) -> impl Iterator<Item = Value> + '_ {
        self.user.iter().flat_map(|t| t.dict.values().copied())
    }

    /// Number of user classes.
    pub fn user_count(&self) -> usize {
        self.user.len()
    }

    /// The MRO of class `index`.
    #[inline]
    pub fn mro(&self, index: u32) -> &[u32] {
        match self.user(index) {
            Some(t) => &t.mro,
            None => BUILTIN_TYPES[index as usize].mro,
        }
    }

    /// Whether class `sub` has `sup` in its MRO.
    pub fn is_subclass(&self, sub: u32, sup: u32) -> bool {
        sub == sup || self.mro(sub).contains(&sup)
    }

    /// Looks `name` up along the MRO of class `cls`, through the method cache.
    #[inline]
    pub fn lookup(&mut self, cls: u32, name: Symbol) -> Option<Value> {
        let version = self.versions[cls as usize];
        let slot = cache_index(version, name);
        if let Some(e) = self.cache.get(slot)
            && e.version == version
            && e.name == name
        {
            self.stats.hits += 1;
            return e.value;
        }
        self.lookup_slow(cls, name, version, slot)
    }

    #[cold]
    fn lookup_slow(&mut self, cls: u32, name: Symbol, version: u32, slot: usize) -> Option<Value> {
        self.stats.misses += 1;
        let value = self.lookup_uncached(cls, name);
        if self.cache.is_empty() {
            self.cache = vec![
                CacheEntry {
                    version: 0,
                    name: crate::intern::sym::__name__,
                    value: None,
                };
                CACHE_SIZE
            ]
            .into_boxed_slice();
            if let Some(t) = &self.cache_tracker {
                t.alloc(1, self.cache_bytes() as u64);
            }
        }
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
    pub fn lookup_uncached(&self, cls: u32, name: Symbol) -> Option<Value> {
        for &c in self.mro(cls) {
            let found = match self.user(c) {
                Some(t) => t.dict.get(&name).copied(),
                None => {
                    let methods = BUILTIN_TYPES[c as usize].methods;
                    methods.binary_search_by_key(&name, |e| e.0).ok().map(|i| {
                        Value::object(ObjRef {
                            kind: Kind::Function,
                            slot: methods[i].1,
                            stamp: self.stamp,
                        })
                    })
                }
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    /// Adds a user class; returns its index.
    pub(crate) fn push_user(&mut self, t: TypeObj) -> u32 {
        let index = self.versions.len() as u32;
        let version = self.fresh_version();
        self.versions.push(version);
        let nb = self.builtin_count;
        for &b in t.bases.iter() {
            // Builtin classes never change, so they need not know their subclasses.
            if let Some(base) = b.checked_sub(nb) {
                self.user[base as usize].subclasses.push(index);
            }
        }
        self.user.push(t);
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
        let nb = self.builtin_count;
        let Some(d) = cls
            .checked_sub(nb)
            .and_then(|i| self.user.get_mut(i as usize))
            .map(|t| &mut t.dict)
        else {
            // Builtin classes are immutable: callers refuse before getting here.
            debug_assert!(false, "set_attr on builtin class {cls}");
            return value;
        };
        let old = match value {
            Some(v) => d.insert(name, v),
            None => d.remove(&name),
        };
        let v = self.fresh_version();
        self.versions[cls as usize] = v;
        let subclasses = &self.user[(cls - nb) as usize].subclasses;
        if subclasses.is_empty() {
            return old;
        }
        // Each subclass once: in a lattice of diamonds a class is reachable along
        // exponentially many paths (CPython's type_modified stops at classes it has already
        // invalidated, which is the same thing).
        let mut stack = subclasses.clone();
        let mut seen = hashbrown::HashSet::new();
        seen.insert(cls);
        while let Some(c) = stack.pop() {
            if !seen.insert(c) {
                continue;
            }
            let v = self.fresh_version();
            self.versions[c as usize] = v;
            stack.extend(self.user[(c - nb) as usize].subclasses.iter().copied());
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

impl Drop for Types {
    fn drop(&mut self) {
        if let Some(t) = &self.cache_tracker
            && !self.cache.is_empty()
        {
            t.free(1, self.cache_bytes() as u64);
        }
    }
}

//! Interned names.
//!
//! A [`Symbol`] is a small index into one runtime's interner. The static names (every dunder
//! and builtin name the runtime needs, [`BASE_NAMES`], then the `__name__` of every builtin
//! class) have fixed symbols `0..STATIC_COUNT`, identical in every runtime ([`sym`] names
//! the base ones). Their text and their lookup table are program data built by the compiler
//! (`const` evaluation), so init neither copies nor hashes them, and no runtime owns them.
//! Names interned later are runtime-local: their text lives in the interner's bump arena
//! (freed wholesale with the runtime), and their lookup table stores only symbol indices and
//! hashes the arena text on demand, so no name is stored twice and nothing in the table
//! needs `Drop`.

use crate::builtins::table::BUILTIN_CLASSES;
use hashbrown::{DefaultHashBuilder, HashTable};
use molt_arenas::arena::{Arena, ArenaStr};
use molt_arenas::registry::Tracker;
use std::hash::BuildHasher;

/// An interned name of one runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(u32);

impl Symbol {
    /// The symbol's index in its interner.
    pub const fn index(self) -> u32 {
        self.0
    }
}

macro_rules! base_names {
    ($($id:ident = $text:literal),* $(,)?) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[repr(u32)]
        enum BaseName { $($id),* }

        /// Symbols of the base names: the same in every runtime.
        #[allow(non_upper_case_globals)]
        pub mod sym {
            use super::{BaseName, Symbol};
            $(
                #[doc = concat!("`", $text, "`")]
                pub const $id: Symbol = Symbol(BaseName::$id as u32);
            )*
        }

        /// The base names, interned first at init in this order (symbol `i` is
        /// `BASE_NAMES[i]`). Builtin class names are interned right after them.
        pub const BASE_NAMES: &[&str] = &[$($text),*];
    };
}

base_names! {
    // Object protocol.
    __new__ = "__new__", __init__ = "__init__", __del__ = "__del__",
    __repr__ = "__repr__", __str__ = "__str__", __format__ = "__format__",
    __hash__ = "__hash__", __bool__ = "__bool__", __len__ = "__len__",
    __eq__ = "__eq__", __ne__ = "__ne__", __lt__ = "__lt__", __le__ = "__le__",
    __gt__ = "__gt__", __ge__ = "__ge__",
    __getattr__ = "__getattr__", __getattribute__ = "__getattribute__",
    __setattr__ = "__setattr__", __delattr__ = "__delattr__", __dir__ = "__dir__",
    __get__ = "__get__", __set__ = "__set__", __delete__ = "__delete__",
    __call__ = "__call__", __iter__ = "__iter__", __next__ = "__next__",
    __getitem__ = "__getitem__", __setitem__ = "__setitem__", __delitem__ = "__delitem__",
    __contains__ = "__contains__", __reversed__ = "__reversed__",
    __enter__ = "__enter__", __exit__ = "__exit__",
    __await__ = "__await__", __aiter__ = "__aiter__", __anext__ = "__anext__",
    __aenter__ = "__aenter__", __aexit__ = "__aexit__",
    // Numbers.
    __add__ = "__add__", __sub__ = "__sub__", __mul__ = "__mul__",
    __truediv__ = "__truediv__", __floordiv__ = "__floordiv__", __mod__ = "__mod__",
    __pow__ = "__pow__", __neg__ = "__neg__", __pos__ = "__pos__", __abs__ = "__abs__",
    __invert__ = "__invert__", __and__ = "__and__", __or__ = "__or__", __xor__ = "__xor__",
    __lshift__ = "__lshift__", __rshift__ = "__rshift__", __index__ = "__index__",
    __int__ = "__int__", __float__ = "__float__",
    __radd__ = "__radd__", __rsub__ = "__rsub__", __rmul__ = "__rmul__",
    __rtruediv__ = "__rtruediv__", __rfloordiv__ = "__rfloordiv__", __rmod__ = "__rmod__",
    __rpow__ = "__rpow__", __divmod__ = "__divmod__", __rdivmod__ = "__rdivmod__",
    __rlshift__ = "__rlshift__", __rrshift__ = "__rrshift__", __rand__ = "__rand__",
    __ror__ = "__ror__", __rxor__ = "__rxor__", bit_length = "bit_length",
    get_int_max_str_digits = "get_int_max_str_digits",
    set_int_max_str_digits = "set_int_max_str_digits",
    to_bytes = "to_bytes", from_bytes = "from_bytes",
    // Type and module attributes.
    __name__ = "__name__", __qualname__ = "__qualname__", __module__ = "__module__",
    __doc__ = "__doc__", __dict__ = "__dict__", __class__ = "__class__",
    __bases__ = "__bases__", __base__ = "__base__", __mro__ = "__mro__",
    __subclasses__ = "__subclasses__", __slots__ = "__slots__",
    __init_subclass__ = "__init_subclass__", __class_getitem__ = "__class_getitem__",
    __file__ = "__file__", __package__ = "__package__", __spec__ = "__spec__",
    __loader__ = "__loader__", __path__ = "__path__", __all__ = "__all__",
    __builtins__ = "__builtins__", __import__ = "__import__", __main__ = "__main__",
    // Exceptions.
    __cause__ = "__cause__", __context__ = "__context__",
    __suppress_context__ = "__suppress_context__", __traceback__ = "__traceback__",
    __notes__ = "__notes__", args = "args", with_traceback = "with_traceback",
    // Modules and sys.
    builtins = "builtins", sys = "sys", argv = "argv", modules = "modules", path = "path",
    // Everyday methods of the builtin types.
    append = "append", pop = "pop", extend = "extend", insert = "insert", remove = "remove",
    get = "get", keys = "keys", values = "values", items = "items", update = "update",
    upper = "upper", lower = "lower", startswith = "startswith", endswith = "endswith",
    split = "split", join = "join", find = "find", replace = "replace", strip = "strip",
    encode = "encode", decode = "decode", index = "index", count = "count", copy = "copy",
    // Builtin functions.
    print = "print", len = "len", repr = "repr", hash = "hash", isinstance = "isinstance",
    issubclass = "issubclass", getattr = "getattr", setattr = "setattr",
    hasattr = "hasattr", iter = "iter", next = "next", id = "id",
    getrecursionlimit = "getrecursionlimit", setrecursionlimit = "setrecursionlimit",
    lstrip = "lstrip", rstrip = "rstrip", isspace = "isspace",
}

/// Number of names compiled into the program: the [`BASE_NAMES`], then the `__name__` of
/// every builtin class ([`BUILTIN_CLASSES`] order). Their symbols are `0..STATIC_COUNT` in
/// every runtime.
pub const STATIC_COUNT: usize = BASE_NAMES.len() + BUILTIN_CLASSES.len();

/// The symbol of builtin class `index`'s `__name__` (a compile-time constant).
pub(crate) const fn class_symbol(index: usize) -> Symbol {
    assert!(index < BUILTIN_CLASSES.len());
    Symbol((BASE_NAMES.len() + index) as u32)
}

/// The static names, symbol `i` at index `i`: built by the compiler, not at init.
static STATIC_NAMES: [&str; STATIC_COUNT] = {
    let mut names = [""; STATIC_COUNT];
    let mut i = 0;
    while i < BASE_NAMES.len() {
        names[i] = BASE_NAMES[i];
        i += 1;
    }
    let mut c = 0;
    while c < BUILTIN_CLASSES.len() {
        names[BASE_NAMES.len() + c] = BUILTIN_CLASSES[c].name;
        c += 1;
    }
    names
};

const STATIC_TABLE_BITS: u32 = 10;
const STATIC_TABLE_SIZE: usize = 1 << STATIC_TABLE_BITS;
// At most a quarter full, so probes stay short.
const _: () = assert!(STATIC_COUNT * 4 <= STATIC_TABLE_SIZE);

/// Open-addressing table over [`STATIC_NAMES`] (linear probing; an entry is symbol + 1, 0 is
/// empty), built by the compiler with [`static_hash`]. Read-only program data, like the
/// names themselves: no runtime owns it and nothing in it is allocated.
static STATIC_TABLE: [u16; STATIC_TABLE_SIZE] = {
    let mut table = [0u16; STATIC_TABLE_SIZE];
    let mut i = 0;
    while i < STATIC_COUNT {
        let mut slot = static_slot(static_hash(STATIC_NAMES[i]));
        while table[slot] != 0 {
            assert!(
                !str_eq(STATIC_NAMES[table[slot] as usize - 1], STATIC_NAMES[i]),
                "a static name (base name or builtin class name) is listed twice"
            );
            slot = (slot + 1) & (STATIC_TABLE_SIZE - 1);
        }
        table[slot] = (i + 1) as u16;
        i += 1;
    }
    table
};

/// `a == b`, usable in constants.
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[inline]
const fn fold_mul(a: u64, b: u64) -> u64 {
    let m = (a as u128).wrapping_mul(b as u128);
    (m as u64) ^ ((m >> 64) as u64)
}

/// The hash of the static-name table: unkeyed (the table's content is fixed, nothing a
/// program does inserts into it), eight bytes per multiply, usable by the compiler.
#[inline]
const fn static_hash(name: &str) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rest = name.as_bytes();
    let mut h = fold_mul(rest.len() as u64 ^ 0x2545_F491_4F6C_DD1D, K);
    while let [a, b, c, d, e, f, g, i, tail @ ..] = rest {
        h = fold_mul(h ^ u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *i]), K);
        rest = tail;
    }
    let mut last = 0u64;
    let mut k = 0;
    while k < rest.len() {
        last |= (rest[k] as u64) << (8 * k);
        k += 1;
    }
    fold_mul(h ^ last, K)
}

#[inline]
const fn static_slot(hash: u64) -> usize {
    (hash >> (64 - STATIC_TABLE_BITS)) as usize
}

/// The symbol of a static name (a base name or a builtin class name), if `name` is one.
/// Usable in constants: the builtin method tables are resolved to symbols by the compiler.
#[inline]
pub const fn static_symbol(name: &str) -> Option<Symbol> {
    let mut slot = static_slot(static_hash(name));
    loop {
        let e = STATIC_TABLE[slot];
        if e == 0 {
            return None;
        }
        if str_eq(STATIC_NAMES[e as usize - 1], name) {
            return Some(Symbol(e as u32 - 1));
        }
        slot = (slot + 1) & (STATIC_TABLE_SIZE - 1);
    }
}

/// The runtime's interner: the static names (program data, shared by every runtime without
/// being copied or hashed at init) and the names interned at run time, whose text lives in
/// the interner's arena.
pub struct Interner {
    arena: Arena,
    /// Names interned at run time: symbol `STATIC_COUNT + i` is `names[i]`.
    names: Vec<ArenaStr>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Interner {
    /// An interner holding exactly the static names ([`BASE_NAMES`] and the builtin class
    /// names), with their fixed symbols. Allocates nothing.
    pub fn with_base_names(tracker: Option<Tracker>) -> Self {
        Self {
            arena: Arena::new(tracker),
            names: Vec::new(),
            table: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
        }
    }

    /// Returns the symbol of `name`, interning it if it is new (its text is copied into the
    /// interner's arena).
    pub fn intern(&mut self, name: &str) -> Symbol {
        if let Some(s) = static_symbol(name) {
            return s;
        }
        let hash = self.hasher.hash_one(name);
        if let Some(s) = self.find(hash, name) {
            return s;
        }
        let token = self.arena.alloc_str(name);
        self.push_new(hash, token)
    }

    fn find(&self, hash: u64, name: &str) -> Option<Symbol> {
        self.table
            .find(hash, |&i| self.text(i) == name)
            .map(|&i| Symbol(i + STATIC_COUNT as u32))
    }

    /// Appends a name known not to be interned yet.
    fn push_new(&mut self, hash: u64, name: ArenaStr) -> Symbol {
        let i = u32::try_from(self.names.len())
            .ok()
            .filter(|i| i.checked_add(STATIC_COUNT as u32).is_some())
            .expect("more than u32::MAX interned names");
        self.names.push(name);
        let (arena, names, hasher) = (&self.arena, &self.names, &self.hasher);
        self.table.insert_unique(hash, i, |i| {
            hasher.hash_one(arena_text(arena, names[*i as usize]))
        });
        Symbol(i + STATIC_COUNT as u32)
    }

    /// The symbol of `name`, if it was interned.
    pub fn lookup(&self, name: &str) -> Option<Symbol> {
        static_symbol(name).or_else(|| self.find(self.hasher.hash_one(name), name))
    }

    fn text(&self, i: u32) -> &str {
        arena_text(&self.arena, self.names[i as usize])
    }

    /// The text of `sym`, or `None` if this interner has no such symbol.
    pub fn name(&self, sym: Symbol) -> Option<&str> {
        match (sym.0 as usize).checked_sub(STATIC_COUNT) {
            None => Some(STATIC_NAMES[sym.0 as usize]),
            Some(i) => Some(arena_text(&self.arena, *self.names.get(i)?)),
        }
    }

    /// Number of interned names (the static ones included).
    pub fn len(&self) -> usize {
        STATIC_COUNT + self.names.len()
    }

    /// Whether nothing is interned (never true: the static names always are).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bytes of name text held in the arena (names interned at run time; the static names'
    /// text is part of the program).
    pub fn text_bytes(&self) -> u64 {
        self.arena.allocated_bytes()
    }
}

fn arena_text(arena: &Arena, token: ArenaStr) -> &str {
    arena.str(token).expect("interner token from its own arena")
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("names", &self.names.len())
            .field("text_bytes", &self.text_bytes())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_have_fixed_symbols() {
        let i = Interner::with_base_names(None);
        assert_eq!(i.len(), STATIC_COUNT);
        assert_eq!(
            i.lookup("ExceptionGroup"),
            Some(class_symbol(BUILTIN_CLASSES.len() - 1))
        );
        assert_eq!(static_symbol("__init__"), Some(sym::__init__));
        assert_eq!(static_symbol("spam"), None);
        assert_eq!(i.name(sym::__init__), Some("__init__"));
        assert_eq!(i.name(sym::__mro__), Some("__mro__"));
        assert_eq!(i.lookup("__bases__"), Some(sym::__bases__));
        assert_eq!(i.name(sym::id), Some("id"));
    }

    #[test]
    fn static_names_resolve_through_the_static_table() {
        for (k, name) in STATIC_NAMES.iter().enumerate() {
            assert_eq!(static_symbol(name), Some(Symbol(k as u32)), "{name}");
        }
        // Lengths around the 8-byte steps of the hash.
        for n in 0..=24 {
            assert_eq!(static_symbol(&"x".repeat(n)), None);
        }
    }

    #[test]
    fn base_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for n in BASE_NAMES {
            assert!(seen.insert(n), "{n} listed twice");
        }
    }

    #[test]
    fn interning_is_idempotent_and_resolves() {
        let mut i = Interner::with_base_names(None);
        let a = i.intern("spam");
        let b = i.intern("eggs");
        assert_ne!(a, b);
        assert_eq!(i.intern("spam"), a);
        assert_eq!(i.intern("__init__"), sym::__init__);
        assert_eq!(i.name(a), Some("spam"));
        assert_eq!(i.lookup("ham"), None);
        assert_eq!(i.name(Symbol(u32::MAX)), None);
        let e = i.intern("");
        assert_eq!(i.name(e), Some(""));
    }

    #[test]
    fn many_names_survive_table_growth() {
        let mut i = Interner::with_base_names(None);
        let n = if cfg!(miri) { 200 } else { 5000 };
        let syms: Vec<_> = (0..n).map(|k| i.intern(&format!("name{k}"))).collect();
        for (k, s) in syms.iter().enumerate() {
            assert_eq!(i.name(*s).unwrap(), format!("name{k}"));
            assert_eq!(i.lookup(&format!("name{k}")), Some(*s));
        }
    }
}

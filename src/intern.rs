//! Interned names, stored in the runtime's arena.
//!
//! A [`Symbol`] is a small index into one runtime's interner. The base names (every dunder
//! and builtin name the runtime needs, [`BASE_NAMES`]) are interned first at init, in a fixed
//! order, so their symbols are constants ([`sym`]) identical in every runtime. Names interned
//! later are runtime-local.
//!
//! The text lives in the interner's bump arena (freed wholesale with the runtime); the lookup
//! table stores only symbol indices and hashes the arena text on demand, so no name is
//! stored twice and nothing in the table needs `Drop`.

use hashbrown::{DefaultHashBuilder, HashTable};
use molt_arenas::arena::{Arena, ArenaStr};
use molt_arenas::registry::Tracker;
use std::hash::BuildHasher;

/// An interned name of one runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(u32);

impl Symbol {
    /// The symbol's index in its interner.
    pub fn index(self) -> u32 {
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
}

/// An interned name's text: compiled into the program (base names, builtin class and method
/// names: nothing to copy at init) or copied into the interner's arena (names interned at run
/// time).
#[derive(Clone, Copy)]
enum Name {
    Static(&'static str),
    Arena(ArenaStr),
}

/// The runtime's interner.
pub struct Interner {
    arena: Arena,
    names: Vec<Name>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl Interner {
    /// An interner holding exactly the [`BASE_NAMES`], with their fixed symbols.
    pub fn with_base_names(tracker: Option<Tracker>) -> Self {
        let mut this = Self {
            arena: Arena::new(tracker),
            names: Vec::with_capacity(BASE_NAMES.len() * 2),
            table: HashTable::with_capacity(BASE_NAMES.len() * 2),
            hasher: DefaultHashBuilder::default(),
        };
        for (i, &name) in BASE_NAMES.iter().enumerate() {
            // Base names are distinct (a unit test checks), so no lookup before inserting.
            debug_assert!(this.lookup(name).is_none(), "duplicate base name {name:?}");
            let hash = this.hasher.hash_one(name);
            this.push_new(hash, Name::Static(name));
            debug_assert_eq!(this.names.len(), i + 1);
        }
        this
    }

    /// Returns the symbol of `name`, interning it if it is new (its text is copied into the
    /// interner's arena).
    pub fn intern(&mut self, name: &str) -> Symbol {
        let hash = self.hasher.hash_one(name);
        if let Some(s) = self.find(hash, name) {
            return s;
        }
        let token = self.arena.alloc_str(name);
        self.push_new(hash, Name::Arena(token))
    }

    /// [`intern`](Self::intern) for text compiled into the program: a new name is not copied.
    pub fn intern_static(&mut self, name: &'static str) -> Symbol {
        let hash = self.hasher.hash_one(name);
        if let Some(s) = self.find(hash, name) {
            return s;
        }
        self.push_new(hash, Name::Static(name))
    }

    fn find(&self, hash: u64, name: &str) -> Option<Symbol> {
        self.table
            .find(hash, |&i| self.text(i) == name)
            .map(|&i| Symbol(i))
    }

    /// Appends a name known not to be interned yet.
    fn push_new(&mut self, hash: u64, name: Name) -> Symbol {
        let i = u32::try_from(self.names.len()).expect("more than u32::MAX interned names");
        self.names.push(name);
        let (arena, names, hasher) = (&self.arena, &self.names, &self.hasher);
        self.table.insert_unique(hash, i, |i| {
            hasher.hash_one(text_of(arena, names[*i as usize]))
        });
        Symbol(i)
    }

    /// The symbol of `name`, if it was interned.
    pub fn lookup(&self, name: &str) -> Option<Symbol> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |i| self.text(*i) == name)
            .map(|&i| Symbol(i))
    }

    fn text(&self, i: u32) -> &str {
        text_of(&self.arena, self.names[i as usize])
    }

    /// The text of `sym`, or `None` if this interner has no such symbol.
    pub fn name(&self, sym: Symbol) -> Option<&str> {
        let name = *self.names.get(sym.0 as usize)?;
        Some(text_of(&self.arena, name))
    }

    /// Number of interned names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether nothing is interned (never true after init).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Bytes of name text held in the arena (names interned at run time; the base names'
    /// text is part of the program).
    pub fn text_bytes(&self) -> u64 {
        self.arena.allocated_bytes()
    }
}

fn text_of(arena: &Arena, name: Name) -> &str {
    match name {
        Name::Static(s) => s,
        Name::Arena(token) => arena.str(token).expect("interner token from its own arena"),
    }
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
        assert_eq!(i.len(), BASE_NAMES.len());
        assert_eq!(i.name(sym::__init__), Some("__init__"));
        assert_eq!(i.name(sym::__mro__), Some("__mro__"));
        assert_eq!(i.lookup("__bases__"), Some(sym::__bases__));
        assert_eq!(i.name(sym::id), Some("id"));
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

//! Builtin classes: the declarative table, C3 linearization, and the per-runtime class
//! objects built from them at init.
//!
//! Class data is plain: a name ([`Symbol`]) and two slices of [`ClassId`]s (`__bases__` and
//! `__mro__`, the class itself first) in the runtime's global bump arena. The [`ClassData`]
//! records sit in a [`HandleTable`], so a [`ClassId`] carries its runtime's identity and a
//! class handle from another (or a dead) runtime is rejected.

pub mod c3;
pub mod table;

use crate::intern::{Interner, Symbol};
use molt_arenas::arena::{Arena, ArenaSlice, FrozenArena};
use molt_arenas::handles::{Handle, HandleError, HandleTable, RuntimeId, new_key_type};
use molt_arenas::registry::Tracker;

new_key_type! {
    /// Slot key of a class in its runtime's class table.
    pub struct ClassKey;
}

/// A class of one runtime.
pub type ClassId = Handle<ClassKey>;

/// One class: its name, `__bases__` and `__mro__`.
#[derive(Debug, Clone, Copy)]
pub struct ClassData {
    /// `__name__`.
    pub name: Symbol,
    /// `__bases__`, in declaration order.
    pub bases: ArenaSlice<ClassId>,
    /// `__mro__`, starting with the class itself.
    pub mro: ArenaSlice<ClassId>,
    /// Position in the builtin table (and index in the runtime's class table).
    pub index: u32,
}

/// The builtin classes of one runtime, in [`table::BUILTIN_CLASSES`] order.
#[derive(Debug)]
pub struct BuiltinClasses {
    table: HandleTable<ClassKey, ClassData>,
    by_index: Vec<ClassId>,
    base_exception: ClassId,
}

impl BuiltinClasses {
    /// Builds every builtin class, computing each MRO with C3 from its bases' MROs.
    ///
    /// Class names are interned into `interner`; bases and MROs go into `arena`.
    pub fn build(
        runtime: RuntimeId,
        interner: &mut Interner,
        arena: &Arena,
        tracker: Option<Tracker>,
    ) -> Result<Self, String> {
        let mut table: HandleTable<ClassKey, ClassData> =
            HandleTable::with_capacity(runtime, table::BUILTIN_CLASSES.len(), tracker);
        let mut by_index: Vec<ClassId> = Vec::with_capacity(table::BUILTIN_CLASSES.len());
        let mut mro_buf: Vec<ClassId> = Vec::with_capacity(16);
        let mut bases: Vec<ClassId> = Vec::with_capacity(4);
        for spec in table::BUILTIN_CLASSES {
            bases.clear();
            for base in spec.bases {
                let i = table::builtin_index(base)
                    .filter(|&i| i < by_index.len())
                    .ok_or_else(|| {
                        format!("class {}: base {base} is not defined before it", spec.name)
                    })?;
                bases.push(by_index[i]);
            }
            let id = table.insert(ClassData {
                name: interner.intern_static(spec.name),
                bases: arena.alloc_slice(&bases),
                mro: arena.alloc_slice::<ClassId>(&[]),
                index: by_index.len() as u32,
            });
            mro_buf.clear();
            mro_buf.push(id);
            if let [base] = bases.as_slice() {
                // One base: the MRO is `[class] + base.__mro__` (CPython's fast path too);
                // build it in place instead of through C3's merge buffers.
                let data = table.get(*base).expect("base class is in the table");
                mro_buf.extend_from_slice(arena.slice(data.mro).expect("own arena"));
            } else {
                let mro_of = |c: ClassId| -> &[ClassId] {
                    let data = table.get(c).expect("base class is in the table");
                    arena.slice(data.mro).expect("own arena")
                };
                let tail =
                    c3::c3_linearize(&bases, mro_of).map_err(|e: c3::MroError<ClassId>| {
                        let name_of = |c: ClassId| {
                            table
                                .get(c)
                                .ok()
                                .and_then(|d| interner.name(d.name))
                                .unwrap_or("?")
                                .to_owned()
                        };
                        format!("class {}: {}", spec.name, e.message(name_of))
                    })?;
                mro_buf.extend(tail);
            }
            table.get_mut(id).expect("just inserted").mro = arena.alloc_slice(&mro_buf);
            by_index.push(id);
        }
        let base_exception = table::builtin_index("BaseException")
            .map(|i| by_index[i])
            .ok_or("the builtin table has no BaseException")?;
        Ok(Self {
            table,
            by_index,
            base_exception,
        })
    }

    /// Number of builtin classes.
    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    /// Whether there are none (never, after init).
    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    /// The class's data, or why the handle does not resolve here.
    pub fn get(&self, id: ClassId) -> Result<&ClassData, HandleError> {
        self.table.get(id)
    }

    /// The builtin class called `name`.
    pub fn by_name(&self, name: &str) -> Option<ClassId> {
        table::builtin_index(name).map(|i| self.by_index[i])
    }

    /// The position of `id` in the builtin table (its index in the runtime's class table).
    pub fn index_of(&self, id: ClassId) -> Option<u32> {
        self.get(id).ok().map(|d| d.index)
    }

    /// All builtin classes in table order.
    pub fn iter(&self) -> impl Iterator<Item = ClassId> + '_ {
        self.by_index.iter().copied()
    }

    /// Whether `id` is `BaseException` or a subclass of it.
    pub fn is_exception(&self, arena: &FrozenArena, id: ClassId) -> bool {
        self.get(id)
            .ok()
            .and_then(|d| arena.slice(d.mro).ok())
            .is_some_and(|mro| mro.contains(&self.base_exception))
    }
}

//! Builtin classes: the declarative table, C3 linearization, and the per-runtime class
//! handles built at init.
//!
//! The builtin classes' `__bases__` and `__mro__` are a pure function of the declarative
//! [`table`], so the compiler computes them ([`static_bases`], [`static_mro`]: class indices,
//! each MRO linearized by the `const` C3 below, which a test checks against
//! [`c3::c3_linearize`] and CPython's own MROs). They are program data, like the table:
//! init neither computes nor copies them, and no runtime owns them.
//!
//! What a runtime owns is its [`ClassData`] records in a [`HandleTable`], so a [`ClassId`]
//! carries its runtime's identity and a class handle from another (or a dead) runtime is
//! rejected.

pub mod c3;
pub mod exc;
pub mod table;

pub use exc::ExcClass;

use crate::intern::{Symbol, class_symbol, str_eq};
use molt_arenas::handles::{Handle, HandleError, HandleTable, RuntimeId, new_key_type};
use molt_arenas::registry::Tracker;

new_key_type! {
    /// Slot key of a class in its runtime's class table.
    pub struct ClassKey;
}

/// A class of one runtime.
pub type ClassId = Handle<ClassKey>;

/// One class of a runtime: its name and its position in the builtin table.
#[derive(Debug, Clone, Copy)]
pub struct ClassData {
    /// `__name__`.
    pub name: Symbol,
    /// Position in the builtin table (and index in the runtime's class table).
    pub index: u32,
}

/// Number of builtin classes.
pub(crate) const CLASS_COUNT: usize = table::BUILTIN_CLASSES.len();
const MAX_BASES: usize = 4;
const MAX_MRO: usize = 12;

/// `__bases__` and `__mro__` of every builtin class, as class indices, and whether it is an
/// exception class: computed by the compiler from [`table::BUILTIN_CLASSES`].
struct ClassTables {
    bases: [[u32; MAX_BASES]; CLASS_COUNT],
    n_bases: [u8; CLASS_COUNT],
    mro: [[u32; MAX_MRO]; CLASS_COUNT],
    n_mro: [u8; CLASS_COUNT],
    is_exception: [bool; CLASS_COUNT],
}

static TABLES: ClassTables = ClassTables::build();

/// Index of `BaseException` in the builtin table.
pub(crate) const BASE_EXCEPTION: u32 = ExcClass::BASE_EXCEPTION.index();

/// Index in [`table::BUILTIN_CLASSES`] of the class called `name`, for constants (a compile
/// error if there is none).
pub(crate) const fn const_index(name: &str) -> usize {
    let mut i = 0;
    while i < CLASS_COUNT {
        if str_eq(table::BUILTIN_CLASSES[i].name, name) {
            return i;
        }
        i += 1;
    }
    panic!("a class named in a builtin table is not in the builtin class table");
}

impl ClassTables {
    const fn build() -> Self {
        let mut t = ClassTables {
            bases: [[0; MAX_BASES]; CLASS_COUNT],
            n_bases: [0; CLASS_COUNT],
            mro: [[0; MAX_MRO]; CLASS_COUNT],
            n_mro: [0; CLASS_COUNT],
            is_exception: [false; CLASS_COUNT],
        };
        let base_exception = const_index("BaseException");
        let mut c = 0;
        while c < CLASS_COUNT {
            let spec = table::BUILTIN_CLASSES[c];
            assert!(spec.bases.len() <= MAX_BASES, "raise MAX_BASES");
            let mut b = 0;
            while b < spec.bases.len() {
                let i = const_index(spec.bases[b]);
                // The table's order invariant: bases before their subclasses.
                assert!(i < c, "a base class comes after its subclass in the table");
                t.bases[c][b] = i as u32;
                b += 1;
            }
            t.n_bases[c] = spec.bases.len() as u8;
            t.linearize(c);
            let mut k = 0;
            while k < t.n_mro[c] as usize {
                if t.mro[c][k] as usize == base_exception {
                    t.is_exception[c] = true;
                }
                k += 1;
            }
            c += 1;
        }
        t
    }

    /// C3 over the MROs of `c`'s bases (already linearized) and the list of bases.
    /// Sequence `s < n` is base `s`'s MRO; sequence `n` is the base list.
    const fn linearize(&mut self, c: usize) {
        let n = self.n_bases[c] as usize;
        let mut cursor = [0usize; MAX_BASES + 1];
        self.mro[c][0] = c as u32;
        let mut len = 1;
        loop {
            let mut candidate = None;
            let mut s = 0;
            while s <= n {
                if cursor[s] < self.seq_len(c, s) {
                    let head = self.seq_item(c, s, cursor[s]);
                    if !self.in_a_tail(c, &cursor, head) {
                        candidate = Some(head);
                        break;
                    }
                }
                s += 1;
            }
            let Some(next) = candidate else {
                let mut s = 0;
                while s <= n {
                    assert!(
                        cursor[s] >= self.seq_len(c, s),
                        "no consistent MRO for a builtin class"
                    );
                    s += 1;
                }
                break;
            };
            assert!(len < MAX_MRO, "raise MAX_MRO");
            self.mro[c][len] = next;
            len += 1;
            let mut s = 0;
            while s <= n {
                if cursor[s] < self.seq_len(c, s) && self.seq_item(c, s, cursor[s]) == next {
                    cursor[s] += 1;
                }
                s += 1;
            }
        }
        self.n_mro[c] = len as u8;
    }

    const fn seq_len(&self, c: usize, s: usize) -> usize {
        let n = self.n_bases[c] as usize;
        if s < n {
            self.n_mro[self.bases[c][s] as usize] as usize
        } else {
            n
        }
    }

    const fn seq_item(&self, c: usize, s: usize, k: usize) -> u32 {
        let n = self.n_bases[c] as usize;
        if s < n {
            self.mro[self.bases[c][s] as usize][k]
        } else {
            self.bases[c][k]
        }
    }

    const fn in_a_tail(&self, c: usize, cursor: &[usize; MAX_BASES + 1], item: u32) -> bool {
        let n = self.n_bases[c] as usize;
        let mut s = 0;
        while s <= n {
            let mut k = cursor[s] + 1;
            while k < self.seq_len(c, s) {
                if self.seq_item(c, s, k) == item {
                    return true;
                }
                k += 1;
            }
            s += 1;
        }
        false
    }
}

/// `__bases__` of builtin class `index`, as class indices (program data).
pub const fn static_bases(index: usize) -> &'static [u32] {
    TABLES.bases[index]
        .split_at(TABLES.n_bases[index] as usize)
        .0
}

/// `__mro__` of builtin class `index`, as class indices, starting with the class itself
/// (program data).
pub const fn static_mro(index: usize) -> &'static [u32] {
    TABLES.mro[index].split_at(TABLES.n_mro[index] as usize).0
}

/// Whether builtin class `index` is `BaseException` or a subclass of it.
pub const fn static_is_exception(index: usize) -> bool {
    TABLES.is_exception[index]
}

/// Index of the builtin exception class called `name`.
pub fn exception_index(name: &str) -> Option<usize> {
    table::builtin_index(name).filter(|&i| static_is_exception(i))
}

/// The builtin classes of one runtime, in [`table::BUILTIN_CLASSES`] order.
#[derive(Debug)]
pub struct BuiltinClasses {
    table: HandleTable<ClassKey, ClassData>,
    by_index: Vec<ClassId>,
}

impl BuiltinClasses {
    /// Gives every builtin class a handle of this runtime (the class data itself is
    /// program data: see [`static_mro`]).
    pub fn build(runtime: RuntimeId, tracker: Option<Tracker>) -> Self {
        let mut table: HandleTable<ClassKey, ClassData> =
            HandleTable::with_capacity(runtime, CLASS_COUNT, tracker);
        let mut by_index: Vec<ClassId> = Vec::with_capacity(CLASS_COUNT);
        table.insert_all(
            (0..CLASS_COUNT).map(|index| ClassData {
                name: class_symbol(index),
                index: index as u32,
            }),
            &mut by_index,
        );
        Self { table, by_index }
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

    /// `__bases__` of `id`, in declaration order.
    pub fn bases(
        &self,
        id: ClassId,
    ) -> Result<impl ExactSizeIterator<Item = ClassId> + '_, HandleError> {
        let d = self.get(id)?;
        Ok(static_bases(d.index as usize)
            .iter()
            .map(|&i| self.by_index[i as usize]))
    }

    /// `__mro__` of `id`, starting with `id` itself.
    pub fn mro(
        &self,
        id: ClassId,
    ) -> Result<impl ExactSizeIterator<Item = ClassId> + '_, HandleError> {
        let d = self.get(id)?;
        Ok(static_mro(d.index as usize)
            .iter()
            .map(|&i| self.by_index[i as usize]))
    }

    /// Whether `id` is `BaseException` or a subclass of it.
    pub fn is_exception(&self, id: ClassId) -> bool {
        self.index_of(id)
            .is_some_and(|i| static_is_exception(i as usize))
    }

    /// The builtin exception class called `name`.
    pub fn exception_type(&self, name: &str) -> Option<ClassId> {
        exception_index(name).map(|i| self.by_index[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_c3_agrees_with_the_runtime_c3() {
        for c in 0..CLASS_COUNT {
            let bases: Vec<u32> = static_bases(c).to_vec();
            let names: Vec<&str> = bases
                .iter()
                .map(|&b| table::BUILTIN_CLASSES[b as usize].name)
                .collect();
            assert_eq!(names, table::BUILTIN_CLASSES[c].bases);
            let mut mro = vec![c as u32];
            if !bases.is_empty() {
                mro.extend(c3::c3_linearize(&bases, |b: u32| static_mro(b as usize)).unwrap());
            }
            assert_eq!(
                static_mro(c),
                &mro[..],
                "{}",
                table::BUILTIN_CLASSES[c].name
            );
            assert_eq!(
                static_is_exception(c),
                mro.contains(&BASE_EXCEPTION),
                "{}",
                table::BUILTIN_CLASSES[c].name
            );
        }
        assert_eq!(
            table::builtin_index("BaseException"),
            Some(BASE_EXCEPTION as usize)
        );
    }
}

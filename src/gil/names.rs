//! Interned names and the builtin classes by name.

use super::Gil;
use crate::ExcClass;
use crate::intern::Symbol;
use crate::value::Value;

impl Gil<'_> {
    /// Interns `name`.
    pub fn intern(&mut self, name: &str) -> Symbol {
        self.st.interner.intern(name)
    }

    pub(super) fn name(&self, s: Symbol) -> &str {
        self.st.interner.name(s).unwrap_or("?")
    }

    /// The builtin class called `name` (aliases such as `IOError` included).
    pub fn builtin_class(&self, name: &str) -> Option<Value> {
        self.builtin_index(name).map(|i| self.st.types.value_of(i))
    }

    /// The builtin exception class `class`, as a value (borrowed: no new reference).
    pub fn exception_class(&self, class: ExcClass) -> Value {
        self.st.types.value_of(class.index())
    }

    pub(crate) fn builtin_index(&self, name: &str) -> Option<u32> {
        let id = self.rt.classes().by_name(name).or_else(|| {
            crate::builtins::table::ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .and_then(|(_, target)| self.rt.classes().by_name(target))
        })?;
        self.rt.classes().index_of(id)
    }

    /// The builtin exception class called `name`.
    pub fn exception_type(&self, name: &str) -> Option<Value> {
        crate::builtins::exception_index(name).map(|i| self.st.types.value_of(i as u32))
    }

    pub(crate) fn class_name(&self, cls: u32) -> &str {
        self.name(self.st.types.name(cls))
    }
}

//! Host modules and imports: registering a module's initializer, `import`, the module cache.

use super::{Gil, PyResult};
use crate::ExcClass;
use crate::intern::sym;
use crate::object::Object;
use crate::value::Value;
use hashbrown::HashMap;

/// A host module's initializer: fills the new module's namespace (see
/// [`Gil::register_module`]).
pub type ModuleInit = fn(&mut Gil<'_>, Value) -> PyResult<()>;

impl Gil<'_> {
    /// Registers a host module: the first `import_module(name)` creates it and calls `init`
    /// to fill it; later imports return the cached module.
    pub fn register_module(&mut self, name: &str, init: ModuleInit) -> PyResult<()> {
        let s = self.intern(name);
        if s == sym::builtins || s == sym::sys || self.st.module_inits.contains_key(&s) {
            return Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                format!("module '{name}' is already registered"),
            ));
        }
        self.st.module_inits.insert(s, init);
        Ok(())
    }

    /// `import name`: the cached module (a new reference), building it on first import.
    /// `builtins` and `sys` are built in; other names must have been registered.
    pub fn import_module(&mut self, name: &str) -> PyResult<Value> {
        let s = self.intern(name);
        if let Some(&m) = self.st.modules.get(&s) {
            return Ok(self.own(m));
        }
        let init: ModuleInit = match s {
            sym::builtins => crate::object::natives::init_builtins,
            sym::sys => crate::object::natives::init_sys,
            _ => match self.st.module_inits.get(&s) {
                Some(&f) => f,
                None => {
                    return Err(self.raise_new(
                        ExcClass::MODULE_NOT_FOUND_ERROR,
                        format!("No module named '{name}'"),
                    ));
                }
            },
        };
        let m = self.alloc(Object::Module {
            name: s,
            namespace: HashMap::new(),
        })?;
        if let Err(e) = init(self, m) {
            self.release(m);
            return Err(e);
        }
        self.own(m);
        self.st.modules.insert(s, m);
        Ok(m)
    }

    /// Number of modules in the module cache.
    pub fn module_count(&self) -> usize {
        self.st.modules.len()
    }
}

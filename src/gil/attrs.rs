//! Attribute lookup and assignment (`getattr`, `setattr`) on modules, instances, exceptions
//! and classes.

use super::{Gil, PyResult, Raised};
use crate::ExcClass;
use crate::intern::{Symbol, sym};
use crate::object::Object;
use crate::value::{Kind, Value};

impl Gil<'_> {
    /// `getattr(obj, name)`: a new reference.
    pub fn getattr(&mut self, obj: Value, name: &str) -> PyResult<Value> {
        let name = self.intern(name);
        self.getattr_sym(obj, name)
    }

    /// `getattr` with an interned name.
    pub fn getattr_sym(&mut self, obj: Value, name: Symbol) -> PyResult<Value> {
        let cls = self.class_index(obj)?;
        if name == sym::__class__ {
            return Ok(self.st.types.value_of(cls));
        }
        // Attributes of the object itself.
        if let Some(t) = self.st.types.index_of(obj) {
            return self.type_getattr(t, name);
        }
        enum Own {
            Found(Value),
            ModuleName(Symbol),
            ModuleMissing(Symbol),
        }
        let own = match self.st.heap.get(obj) {
            Ok(Object::Module {
                name: n,
                namespace: ns,
            }) => Some(if name == sym::__name__ {
                Own::ModuleName(*n)
            } else {
                ns.get(&name)
                    .map_or(Own::ModuleMissing(*n), |&v| Own::Found(v))
            }),
            Ok(Object::Instance { attrs: ns, .. }) => ns.get(&name).map(|&v| Own::Found(v)),
            Ok(Object::Exception(e)) => match name {
                sym::args => Some(e.args),
                sym::__cause__ => Some(e.cause),
                sym::__context__ => Some(e.context),
                sym::__suppress_context__ => Some(Value::bool(e.suppress_context)),
                _ => e.dict.get(&name).copied(),
            }
            .map(Own::Found),
            _ => None,
        };
        match own {
            Some(Own::Found(v)) => return Ok(self.own(v)),
            Some(Own::ModuleName(n)) => {
                let text = self.name(n).to_owned();
                return self.str(&text);
            }
            Some(Own::ModuleMissing(n)) => {
                let owner = format!("module '{}'", self.name(n));
                return Err(self.attribute_error(&owner, name));
            }
            None => {}
        }
        match self.st.types.lookup(cls, name) {
            Some(f) if f.as_obj().is_some_and(|r| r.kind == Kind::Function) => {
                self.own(obj);
                self.alloc(Object::Method {
                    function: f,
                    receiver: obj,
                })
            }
            Some(v) => Ok(self.own(v)),
            None => {
                let owner = format!("'{}' object", self.class_name(cls));
                Err(self.attribute_error(&owner, name))
            }
        }
    }

    /// `AttributeError: <owner> has no attribute '<name>'`.
    fn attribute_error(&mut self, owner: &str, name: Symbol) -> Raised {
        let attr = self.name(name).to_owned();
        self.raise_new(
            ExcClass::ATTRIBUTE_ERROR,
            format!("{owner} has no attribute '{attr}'"),
        )
    }

    fn type_getattr(&mut self, t: u32, name: Symbol) -> PyResult<Value> {
        match name {
            sym::__name__ | sym::__qualname__ => {
                let n = self.class_name(t).to_owned();
                return self.str(&n);
            }
            sym::__bases__ | sym::__mro__ => {
                let seq = if name == sym::__bases__ {
                    self.st.types.bases(t).to_vec()
                } else {
                    self.st.types.mro(t).to_vec()
                };
                let vals: Vec<Value> = seq.iter().map(|&c| self.st.types.value_of(c)).collect();
                return self.tuple(&vals);
            }
            _ => {}
        }
        match self.st.types.lookup(t, name) {
            Some(v) => Ok(self.own(v)),
            None => {
                let owner = format!("type object '{}'", self.class_name(t));
                Err(self.attribute_error(&owner, name))
            }
        }
    }

    /// `setattr(obj, name, value)` (value borrowed).
    pub fn setattr(&mut self, obj: Value, name: &str, value: Value) -> PyResult<()> {
        let name = self.intern(name);
        self.check(value).map_err(|e| self.bad(e))?;
        let cls = self.class_index(obj)?;
        if let Some(t) = self.st.types.index_of(obj) {
            if t < self.st.types.builtin_count {
                let (attr, tn) = (self.name(name).to_owned(), self.class_name(t).to_owned());
                return Err(self.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("cannot set '{attr}' attribute of immutable type '{tn}'"),
                ));
            }
            self.own(value);
            if let Some(old) = self.st.types.set_attr(t, name, Some(value)) {
                self.release(old);
            }
            return Ok(());
        }
        if name == sym::__cause__ || name == sym::__context__ {
            let ok = value.is_none() || matches!(self.st.heap.get(value), Ok(Object::Exception(_)));
            if !ok && matches!(self.st.heap.get(obj), Ok(Object::Exception(_))) {
                let field = self.name(name).to_owned();
                return Err(self.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("exception {field} must be None or derive from BaseException"),
                ));
            }
        }
        self.own(value);
        let old = match self.st.heap.get_mut(obj) {
            Ok(Object::Module { namespace: ns, .. }) | Ok(Object::Instance { attrs: ns, .. }) => {
                Ok(ns.insert(name, value))
            }
            Ok(Object::Exception(e)) => Ok(match name {
                sym::__cause__ => {
                    e.suppress_context = true;
                    Some(std::mem::replace(&mut e.cause, value))
                }
                sym::__context__ => Some(std::mem::replace(&mut e.context, value)),
                _ => e.dict.insert(name, value),
            }),
            _ => Err(()),
        };
        match old {
            Ok(old) => {
                if let Some(old) = old {
                    self.release(old);
                }
                Ok(())
            }
            Err(()) => {
                self.release(value);
                let owner = format!("'{}' object", self.class_name(cls));
                Err(self.attribute_error(&owner, name))
            }
        }
    }

    /// Sets `exc.__cause__ = cause` (also setting `__suppress_context__`, like `raise ...
    /// from cause`).
    pub fn set_cause(&mut self, exc: Value, cause: Value) -> PyResult<()> {
        self.setattr(exc, "__cause__", cause)
    }
}

//! Classes: the class of a value, `isinstance`/`issubclass`, creating user classes, and
//! looking names up along a class's MRO.

use super::{Gil, PyResult};
use crate::ExcClass;
use crate::intern::Symbol;
use crate::object::types::{Layout, TypeObj, core_class};
use crate::object::{BadValue, Object};
use crate::value::{Kind, Unpacked, Value};
use hashbrown::HashMap;

impl Gil<'_> {
    /// The class index of `v`.
    pub(crate) fn class_index(&mut self, v: Value) -> PyResult<u32> {
        Ok(match v.unpack() {
            Unpacked::Float(_) => core_class::FLOAT,
            Unpacked::Int(_) => core_class::INT,
            Unpacked::Bool(_) => core_class::BOOL,
            Unpacked::None => core_class::NONE_TYPE,
            Unpacked::NotImplemented => core_class::NOT_IMPLEMENTED_TYPE,
            Unpacked::Ellipsis => core_class::ELLIPSIS,
            Unpacked::Obj(r) => match r.kind {
                Kind::Type => match self.st.types.index_of(v) {
                    Some(_) => core_class::TYPE,
                    None => return Err(self.bad(BadValue(v))),
                },
                Kind::Function => match self.native_index(v) {
                    Some(_) => core_class::BUILTIN_FUNCTION,
                    None => return Err(self.bad(BadValue(v))),
                },
                _ => match self.obj(v)? {
                    Object::Exception(e) => e.class,
                    Object::Instance { class: c, .. } => *c,
                    // Every other object's class is fixed by its kind.
                    o => core_class::of_kind(o.kind()),
                },
            },
        })
    }

    /// `type(v)`.
    pub fn class_of(&mut self, v: Value) -> PyResult<Value> {
        let c = self.class_index(v)?;
        Ok(self.st.types.value_of(c))
    }

    /// `type(v).__name__`.
    pub fn type_name(&mut self, v: Value) -> PyResult<String> {
        let c = self.class_index(v)?;
        Ok(self.class_name(c).to_owned())
    }

    /// The class index of a class value, or a `TypeError`.
    pub(crate) fn class_arg(&mut self, v: Value, what: &str) -> PyResult<u32> {
        match self.st.types.index_of(v) {
            Some(i) => Ok(i),
            None => {
                self.check(v).map_err(|e| self.bad(e))?;
                let t = self.type_name(v)?;
                Err(self.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("{what} must be a class, not {t}"),
                ))
            }
        }
    }

    /// Whether `v` is a class of this runtime.
    pub fn is_class(&self, v: Value) -> bool {
        self.st.types.index_of(v).is_some()
    }

    /// `isinstance(v, cls)`.
    pub fn isinstance(&mut self, v: Value, cls: Value) -> PyResult<bool> {
        let sup = self.class_arg(cls, "isinstance() arg 2")?;
        let c = self.class_index(v)?;
        Ok(self.st.types.is_subclass(c, sup))
    }

    /// `issubclass(sub, sup)`.
    pub fn issubclass(&mut self, sub: Value, sup: Value) -> PyResult<bool> {
        let a = self.class_arg(sub, "issubclass() arg 1")?;
        let b = self.class_arg(sup, "issubclass() arg 2")?;
        Ok(self.st.types.is_subclass(a, b))
    }

    /// Creates a user class `name(*bases)` with `namespace` (values borrowed), computing its
    /// MRO with C3 as CPython does and failing with CPython's `TypeError` for duplicate bases
    /// and inconsistent hierarchies. With no bases the class derives from `object`. User
    /// classes may derive from `object`, exception classes and other user classes, and live
    /// until the runtime shuts down.
    pub fn class_new(
        &mut self,
        name: &str,
        bases: &[Value],
        namespace: &[(&str, Value)],
    ) -> PyResult<Value> {
        if name.contains('\0') {
            return Err(self.raise_new(
                ExcClass::VALUE_ERROR,
                "type name must not contain null characters",
            ));
        }
        let mut base_idx = Vec::with_capacity(bases.len().max(1));
        for &b in bases {
            base_idx.push(self.class_arg(b, "bases")?);
        }
        if base_idx.is_empty() {
            base_idx.push(core_class::OBJECT);
        }
        for &b in &base_idx {
            let exc = self.st.types.is_subclass(b, self.base_exception());
            if b < self.st.types.builtin_count && b != core_class::OBJECT && !exc {
                let t = self.class_name(b).to_owned();
                return Err(self.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("molt-state user classes cannot derive from builtin type '{t}'"),
                ));
            }
        }
        for (_, v) in namespace {
            self.check(*v).map_err(|e| self.bad(e))?;
        }
        let types = &self.st.types;
        let tail = crate::builtins::c3::c3_linearize(&base_idx, |c: u32| types.mro(c).to_vec());
        let tail = match tail {
            Ok(t) => t,
            Err(e) => {
                let msg = e.message(|c: u32| self.class_name(c).to_owned());
                return Err(self.raise_new(ExcClass::TYPE_ERROR, msg));
            }
        };
        let index = self.st.types.len() as u32;
        if index >= crate::value::MAX_SLOTS {
            return Err(self.raise_new(ExcClass::MEMORY_ERROR, "too many classes in this runtime"));
        }
        let mut mro = Vec::with_capacity(tail.len() + 1);
        mro.push(index);
        mro.extend(tail);
        let is_exc = mro.contains(&self.base_exception());
        let mut dict = HashMap::with_capacity(namespace.len());
        for (k, v) in namespace {
            let k = self.intern(k);
            self.own(*v);
            if let Some(old) = dict.insert(k, *v) {
                self.release(old);
            }
        }
        let name = self.intern(name);
        let t = TypeObj {
            name,
            bases: base_idx.into_boxed_slice(),
            mro: mro.into_boxed_slice(),
            dict,
            subclasses: Vec::new(),
            layout: if is_exc {
                Layout::Exception
            } else {
                Layout::Instance
            },
        };
        let i = self.st.types.push_user(t);
        self.st.user_class_added();
        Ok(self.st.types.value_of(i))
    }

    pub(crate) fn alloc_instance(&mut self, cls: u32) -> PyResult<Value> {
        self.alloc(Object::Instance {
            class: cls,
            attrs: HashMap::new(),
        })
    }

    pub(crate) fn base_exception(&self) -> u32 {
        crate::builtins::BASE_EXCEPTION
    }

    /// Looks `name` up along the MRO of class `cls` through the method cache (what every
    /// attribute lookup and method call does). `None` if `cls` is not a class of this
    /// runtime or has no such attribute. The value is borrowed.
    #[inline]
    pub fn class_lookup(&mut self, cls: Value, name: Symbol) -> Option<Value> {
        let c = self.st.types.index_of(cls)?;
        self.st.types.lookup(c, name)
    }

    /// [`class_lookup`](Self::class_lookup) without the method cache: the MRO walk a cache
    /// miss pays.
    pub fn class_lookup_uncached(&self, cls: Value, name: Symbol) -> Option<Value> {
        let c = self.st.types.index_of(cls)?;
        self.st.types.lookup_uncached(c, name)
    }

    /// Method cache counters.
    pub fn method_cache_stats(&self) -> crate::object::types::CacheStats {
        self.st.types.cache_stats()
    }
}

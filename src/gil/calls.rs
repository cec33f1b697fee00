//! Calls: native functions, bound methods, `__call__`, method calls through the method cache,
//! and instantiating classes.

use super::recursion::CALLING;
use super::{Gil, PyResult};
use crate::ExcClass;
use crate::intern::{Symbol, sym};
use crate::object::types::Layout;
use crate::object::{ExcObj, Object};
use crate::value::{Kind, Value};
use hashbrown::HashMap;

impl Gil<'_> {
    /// `callable(*args)`: a new reference.
    pub fn call(&mut self, callable: Value, args: &[Value]) -> PyResult<Value> {
        self.check_all(args)?;
        if let Some(i) = self.native_index(callable) {
            let n = self.st.natives[i as usize];
            if n.host != crate::object::natives::NO_HOST {
                return self.call_host(n.host, args);
            }
            return (n.func)(self, args);
        }
        if let Some(t) = self.st.types.index_of(callable) {
            return self.instantiate(t, args);
        }
        // Numbers and singletons are valid values but not heap objects: not callable unless
        // their class says so (below).
        let heap = if callable.as_obj().is_none() {
            None
        } else {
            Some(self.obj(callable)?)
        };
        match heap {
            Some(Object::Method {
                function: f,
                receiver: s,
            }) => {
                let (f, s) = (*f, *s);
                let mut full = Vec::with_capacity(args.len() + 1);
                full.push(s);
                full.extend_from_slice(args);
                self.recursion_guard(CALLING, |g| g.call(f, &full))
            }
            _ => {
                let cls = self.class_index(callable)?;
                match self.st.types.lookup(cls, sym::__call__) {
                    Some(f) => {
                        let mut full = Vec::with_capacity(args.len() + 1);
                        full.push(callable);
                        full.extend_from_slice(args);
                        // `A.__call__ = A()`: an instance whose `__call__` is an instance.
                        self.recursion_guard(CALLING, |g| g.call(f, &full))
                    }
                    None => {
                        let t = self.class_name(cls).to_owned();
                        Err(self.raise_new(
                            ExcClass::TYPE_ERROR,
                            format!("'{t}' object is not callable"),
                        ))
                    }
                }
            }
        }
    }

    /// `obj.name(*args)`: looks `name` up through the method cache and calls it with `obj`
    /// first, without creating a bound method. A new reference.
    pub fn call_method(&mut self, obj: Value, name: &str, args: &[Value]) -> PyResult<Value> {
        let name = self.intern(name);
        self.call_method_sym(obj, name, args)
    }

    /// [`call_method`](Self::call_method) with an interned name.
    pub fn call_method_sym(&mut self, obj: Value, name: Symbol, args: &[Value]) -> PyResult<Value> {
        let cls = self.class_index(obj)?;
        let plain = match obj.as_obj() {
            None => true,
            Some(r) => matches!(
                r.kind,
                Kind::Str | Kind::Bytes | Kind::Tuple | Kind::List | Kind::Dict
            ),
        };
        if plain
            && let Some(f) = self.st.types.lookup(cls, name)
            && let Some(i) = self.native_index(f)
        {
            self.check_all(args)?;
            let func = self.st.natives[i as usize].func;
            let mut buf = [Value::NONE; 8];
            if args.len() < buf.len() {
                buf[0] = obj;
                buf[1..=args.len()].copy_from_slice(args);
                return func(self, &buf[..=args.len()]);
            }
            let mut full = Vec::with_capacity(args.len() + 1);
            full.push(obj);
            full.extend_from_slice(args);
            return func(self, &full);
        }
        let m = self.getattr_sym(obj, name)?;
        let r = self.call(m, args);
        self.release(m);
        r
    }

    /// Calls class `cls`: creates an instance.
    pub(crate) fn instantiate(&mut self, cls: u32, args: &[Value]) -> PyResult<Value> {
        match self.st.types.layout(cls) {
            Layout::Exception => {
                let args = self.tuple(args)?;
                self.alloc(Object::Exception(ExcObj::new(cls, args)))
            }
            Layout::Instance => {
                let inst = self.alloc(Object::Instance {
                    class: cls,
                    attrs: HashMap::new(),
                })?;
                match self.st.types.lookup(cls, sym::__init__) {
                    Some(init) => {
                        let mut full = Vec::with_capacity(args.len() + 1);
                        full.push(inst);
                        full.extend_from_slice(args);
                        match self.call(init, &full) {
                            Ok(r) => {
                                self.release(r);
                                Ok(inst)
                            }
                            Err(e) => {
                                self.release(inst);
                                Err(e)
                            }
                        }
                    }
                    None if !args.is_empty() => {
                        self.release(inst);
                        let t = self.class_name(cls).to_owned();
                        Err(self
                            .raise_new(ExcClass::TYPE_ERROR, format!("{t}() takes no arguments")))
                    }
                    None => Ok(inst),
                }
            }
            Layout::Builtin => crate::object::natives::construct(self, cls, args),
        }
    }
}

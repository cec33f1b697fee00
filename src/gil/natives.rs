//! Registering native functions (Rust `fn`s and host closures) and calling host closures.

use super::{Gil, PyResult};
// gil -> natives -> gil is a genuine cycle: the token keeps the native functions, which
// receive the token when called.
use crate::object::natives::Native;
use crate::value::{Kind, ObjRef, Value};

impl Gil<'_> {
    pub(crate) fn native_value(&self, index: u32) -> Value {
        Value::object(ObjRef {
            kind: Kind::Function,
            slot: index,
            stamp: self.st.natives_stamp,
        })
    }

    /// Registers a native function (for a class namespace or a module); it lives as long as
    /// the runtime.
    pub fn native_function(&mut self, name: &str, func: crate::object::natives::NativeFn) -> Value {
        let name = self.intern(name);
        let i = self.st.push_native(Native {
            name,
            owner: None,
            func,
            host: crate::object::natives::NO_HOST,
        });
        self.native_value(i)
    }

    /// Registers a host function, a Rust closure (for a class namespace, where it binds as
    /// a method with `self` first, or a module); it lives as long as the runtime and is
    /// dropped at shutdown. Its repr is `<built-in function NAME>`. Calls to it count
    /// toward the recursion limit (`RecursionError`, never a stack overflow).
    pub fn native_closure(
        &mut self,
        name: &str,
        func: impl Fn(&mut Gil<'_>, &[Value]) -> PyResult<Value> + Send + Sync + 'static,
    ) -> Value {
        self.host_function(name, Box::new(func))
    }

    pub(crate) fn host_function(
        &mut self,
        name: &str,
        func: crate::object::natives::HostFn,
    ) -> Value {
        let name = self.intern(name);
        let host = self.st.host_fns.0.len() as u32;
        self.st.host_fns.0.push(func);
        let i = self.st.push_native(Native {
            name,
            owner: None,
            func: |_, _| unreachable!("host functions are called through call_host"),
            host,
        });
        self.native_value(i)
    }

    /// Calls host function `host`, counting the call toward the recursion limit.
    pub(super) fn call_host(&mut self, host: u32, args: &[Value]) -> PyResult<Value> {
        let f: *const (dyn Fn(&mut Gil<'_>, &[Value]) -> PyResult<Value> + Send + Sync) =
            &*self.st.host_fns.0[host as usize];
        // SAFETY: the host function table only grows (its boxes never move or drop) until
        // teardown, and no teardown can run while a token (this one) is live, so the
        // closure outlives this call; we hold no borrow of `LockedState` across it.
        self.recursion_guard("", |g| unsafe { (*f)(g, args) })
    }
}

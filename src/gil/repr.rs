//! `repr()` and `str()` of values (the text of leaves comes from [`crate::object::repr`]).

use super::recursion::{IN_REPR, IN_STR};
use super::{Gil, PyResult};
use crate::ExcClass;
use crate::object::repr::{bytes_repr, float_repr, str_repr};
use crate::object::{BadValue, Object, is_heap_value};
use crate::value::{Kind, Unpacked, Value};
use std::fmt::Write as _;

impl Gil<'_> {
    /// `repr(v)`.
    pub fn repr(&mut self, v: Value) -> PyResult<String> {
        self.check(v).map_err(|e| self.bad(e))?;
        let mut out = String::new();
        let mut active = Vec::new();
        self.repr_into(v, &mut out, &mut active)?;
        Ok(out)
    }

    /// `str(v)`.
    pub fn to_str(&mut self, v: Value) -> PyResult<String> {
        self.check(v).map_err(|e| self.bad(e))?;
        match self.st.heap.get(v) {
            Ok(Object::Str(s)) => Ok(s.text.to_string()),
            Ok(Object::Exception(_)) => self.recursion_guard(IN_STR, |g| g.exc_str(v)),
            _ => self.repr(v),
        }
    }

    pub(crate) fn exc_str(&mut self, v: Value) -> PyResult<String> {
        let args = match self.obj(v)? {
            Object::Exception(e) => e.args,
            _ => return Err(self.type_error_for(v, "an exception")),
        };
        let items = self.items(args)?;
        let cls = self.class_index(v)?;
        let is_key_error = self.st.types.is_subclass(cls, ExcClass::KEY_ERROR.index());
        match items.as_slice() {
            [] => Ok(String::new()),
            // KeyError shows its key's repr, as CPython's KeyError.__str__ does.
            [one] if is_key_error => self.repr(*one),
            [one] => self.to_str(*one),
            _ => self.repr(args),
        }
    }

    // repr recurses once per nesting level (repr_into -> recursion_guard -> repr_obj ->
    // repr_into), so those frames are kept small: everything that is not the recursion
    // (formatting leaves, building the plan of an object) sits in functions of its own,
    // off the recursive path. Measured stack per level: docs/ARCHITECTURE.md.
    fn repr_into(&mut self, v: Value, out: &mut String, active: &mut Vec<Value>) -> PyResult<()> {
        if !is_heap_value(v) {
            return self.repr_leaf(v, out);
        }
        if active.contains(&v) {
            return self.repr_active(v, out);
        }
        active.push(v);
        let r = self.recursion_guard(IN_REPR, |g| g.repr_obj(v, out, active));
        active.pop();
        r
    }

    /// The repr of a value that is not a heap object.
    #[inline(never)]
    fn repr_leaf(&mut self, v: Value, out: &mut String) -> PyResult<()> {
        match v.unpack() {
            Unpacked::Int(i) => write!(out, "{i}").ok(),
            Unpacked::Bool(b) => out.write_str(if b { "True" } else { "False" }).ok(),
            Unpacked::Float(f) => out.write_str(&float_repr(f)).ok(),
            Unpacked::None => out.write_str("None").ok(),
            Unpacked::NotImplemented => out.write_str("NotImplemented").ok(),
            Unpacked::Ellipsis => out.write_str("Ellipsis").ok(),
            Unpacked::Obj(r) => match r.kind {
                Kind::Type => {
                    let c = self.class_arg(v, "value")?;
                    write!(out, "<class '{}'>", self.class_name(c)).ok()
                }
                Kind::Function => {
                    let i = self.native_index(v).ok_or_else(|| self.bad(BadValue(v)))?;
                    let n = self.st.natives[i as usize];
                    let name = self.name(n.name).to_owned();
                    match n.owner {
                        Some(c) => {
                            write!(out, "<method '{name}' of '{}' objects>", self.class_name(c))
                                .ok()
                        }
                        None => write!(out, "<built-in function {name}>").ok(),
                    }
                }
                _ => unreachable!("heap values are not leaves"),
            },
        };
        Ok(())
    }

    /// The repr of a container already being repr'd further out (`[...]`, as CPython's
    /// `Py_ReprEnter` gives).
    #[inline(never)]
    fn repr_active(&mut self, v: Value, out: &mut String) -> PyResult<()> {
        let t = match self.obj(v)? {
            Object::List(_) => "[...]",
            Object::Dict(_) => "{...}",
            Object::Tuple(_) => "(...)",
            _ => "...",
        };
        out.push_str(t);
        Ok(())
    }

    /// What repr of heap object `v` prints: text, or the parts to recurse into.
    #[inline(never)]
    fn repr_plan(&mut self, v: Value, out: &mut String) -> PyResult<ReprPlan> {
        self.check(v).map_err(|e| self.bad(e))?;
        let Ok(obj) = self.st.heap.get(v) else {
            return Err(self.bad(BadValue(v)));
        };
        let plan = match obj {
            Object::Str(s) => ReprPlan::Text(str_repr(&s.text)),
            Object::Bytes { data: b, .. } => ReprPlan::Text(bytes_repr(b)),
            Object::Tuple(t) => ReprPlan::Seq(t.to_vec(), "(", ")", t.len() == 1),
            Object::List(l) => ReprPlan::Seq(l.clone(), "[", "]", false),
            Object::Dict(d) => ReprPlan::Dict(d.iter().collect()),
            Object::Module { name: n, .. } => {
                ReprPlan::Text(format!("<module '{}' (built-in)>", self.name(*n)))
            }
            Object::Exception(e) => ReprPlan::Exc(e.class, e.args),
            Object::Method {
                function: f,
                receiver: s,
            } => ReprPlan::Method(*f, *s),
            Object::Instance { class: c, .. } => {
                let slot = v.as_obj().map_or(0, |r| r.slot);
                ReprPlan::Text(format!("<{} object #{slot}>", self.class_name(*c)))
            }
            Object::Int(n) => match crate::object::bigint::decimal(n, self.st.int_max_str_digits) {
                Ok(t) => ReprPlan::Text(t),
                Err(msg) => return Err(self.raise_new(ExcClass::VALUE_ERROR, msg)),
            },
        };
        Ok(match plan {
            ReprPlan::Text(t) => {
                out.push_str(&t);
                ReprPlan::Done
            }
            ReprPlan::Method(f, s) => {
                let fname = match self.native_index(f) {
                    Some(i) => self.name(self.st.natives[i as usize].name).to_owned(),
                    None => "?".into(),
                };
                let t = self.type_name(s)?;
                write!(out, "<built-in method {fname} of {t} object at ").ok();
                ReprPlan::Method(f, s)
            }
            ReprPlan::Exc(class, args) => {
                out.push_str(self.class_name(class));
                let items = self.items(args)?;
                if items.len() == 1 {
                    out.push('(');
                    ReprPlan::Exc(class, items[0])
                } else {
                    ReprPlan::Seq(items, "(", ")", false)
                }
            }
            plan => plan,
        })
    }

    fn repr_obj(&mut self, v: Value, out: &mut String, active: &mut Vec<Value>) -> PyResult<()> {
        match self.repr_plan(v, out)? {
            ReprPlan::Done | ReprPlan::Text(_) => {}
            ReprPlan::Method(_, s) => {
                self.repr_into(s, out, active)?;
                out.push('>');
            }
            ReprPlan::Exc(_, one) => {
                self.repr_into(one, out, active)?;
                out.push(')');
            }
            ReprPlan::Seq(items, open, close, trailing_comma) => {
                out.push_str(open);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.repr_into(*item, out, active)?;
                }
                if trailing_comma {
                    out.push(',');
                }
                out.push_str(close);
            }
            ReprPlan::Dict(items) => {
                out.push('{');
                for (i, (k, val)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.repr_into(*k, out, active)?;
                    out.push_str(": ");
                    self.repr_into(*val, out, active)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }
}

/// What [`Gil::repr`] prints for one heap object (see `Gil::repr_plan`).
enum ReprPlan {
    /// Printed already.
    Done,
    Text(String),
    /// Items, open and close brackets, and whether a trailing comma follows one item.
    Seq(Vec<Value>, &'static str, &'static str, bool),
    Dict(Vec<(Value, Value)>),
    /// An exception with one argument (printed as `Class(arg)`) or, while planning, its
    /// class and args.
    Exc(u32, Value),
    /// A bound method: (function, self).
    Method(Value, Value),
}

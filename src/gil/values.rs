//! Making values (int, float, str, bytes, tuple, list, dict) and reading them back (text,
//! items, numbers, `len`, indexing, truthiness).

use super::{Gil, PyResult, Raised};
use crate::ExcClass;
use crate::object::num::Num;
use crate::object::{Object, StrObj, char_count, dict::Dict};
use crate::value::{Kind, Unpacked, Value};

impl Gil<'_> {
    /// An int: a small int, or a big int outside the small-int range.
    pub fn int(&mut self, i: i64) -> PyResult<Value> {
        match Value::int(i) {
            Some(v) => Ok(v),
            None => crate::object::bigint::from_i64_slow(self, i),
        }
    }

    /// A float.
    pub fn float(&self, f: f64) -> Value {
        Value::float(f)
    }

    /// A new `str`.
    pub fn str(&mut self, s: &str) -> PyResult<Value> {
        self.alloc(Object::Str(StrObj {
            text: s.into(),
            chars: char_count(s),
            hash: -1,
        }))
    }

    /// A new `bytes`.
    pub fn bytes(&mut self, b: &[u8]) -> PyResult<Value> {
        self.alloc(Object::Bytes {
            data: b.into(),
            hash: -1,
        })
    }

    /// A new tuple of `items` (borrowed; the tuple takes its own references).
    pub fn tuple(&mut self, items: &[Value]) -> PyResult<Value> {
        self.check_all(items)?;
        for &v in items {
            self.own(v);
        }
        self.alloc(Object::Tuple(items.into()))
    }

    /// A new list of `items` (borrowed).
    pub fn list(&mut self, items: &[Value]) -> PyResult<Value> {
        self.check_all(items)?;
        for &v in items {
            self.own(v);
        }
        self.alloc(Object::List(items.to_vec()))
    }

    /// A new empty dict.
    pub fn dict(&mut self) -> PyResult<Value> {
        self.alloc(Object::Dict(Dict::new()))
    }

    pub(super) fn type_error_for(&mut self, v: Value, expected: &str) -> Raised {
        let t = self.type_name(v).unwrap_or_else(|_| "?".into());
        self.raise_new(
            ExcClass::TYPE_ERROR,
            format!("expected {expected}, got {t}"),
        )
    }

    /// The text of a `str`.
    pub fn str_text(&mut self, v: Value) -> PyResult<&str> {
        match self.obj(v)? {
            Object::Str(_) => match self.st.heap.get(v) {
                Ok(Object::Str(s)) => Ok(&s.text),
                _ => unreachable!("checked just now"),
            },
            _ => Err(self.type_error_for(v, "str")),
        }
    }

    /// The contents of a `bytes`.
    pub fn bytes_data(&mut self, v: Value) -> PyResult<&[u8]> {
        match self.obj(v)? {
            Object::Bytes { .. } => match self.st.heap.get(v) {
                Ok(Object::Bytes { data: b, .. }) => Ok(b),
                _ => unreachable!("checked just now"),
            },
            _ => Err(self.type_error_for(v, "bytes")),
        }
    }

    /// The items of a tuple or list (borrowed), copied out.
    pub fn items(&mut self, v: Value) -> PyResult<Vec<Value>> {
        match self.obj(v)? {
            Object::Tuple(t) => Ok(t.to_vec()),
            Object::List(l) => Ok(l.clone()),
            _ => Err(self.type_error_for(v, "tuple or list")),
        }
    }

    /// The int value of an int or bool (`OverflowError` for a big int beyond `i64`).
    pub fn as_i64(&mut self, v: Value) -> PyResult<i64> {
        match v.unpack() {
            Unpacked::Int(i) => Ok(i),
            Unpacked::Bool(b) => Ok(b as i64),
            _ if crate::object::bigint::is_big(v) => crate::object::bigint::as_i64(self, v),
            _ => Err(self.type_error_for(v, "int")),
        }
    }

    /// The value of a float, int or bool as a float.
    pub fn as_f64(&mut self, v: Value) -> PyResult<f64> {
        match self.num(v) {
            Some(Num::Int(i)) => Ok(i as f64),
            Some(Num::Float(f)) => Ok(f),
            None if crate::object::bigint::is_big(v) => crate::object::bigint::as_f64(self, v),
            None => Err(self.type_error_for(v, "float")),
        }
    }

    pub(crate) fn num(&self, v: Value) -> Option<Num> {
        match v.unpack() {
            Unpacked::Int(i) => Some(Num::Int(i)),
            Unpacked::Bool(b) => Some(Num::Int(b as i64)),
            Unpacked::Float(f) => Some(Num::Float(f)),
            _ => None,
        }
    }

    /// `len(v)` for str (code points), bytes, tuple, list and dict.
    pub fn len(&mut self, v: Value) -> PyResult<usize> {
        self.check(v).map_err(|e| self.bad(e))?;
        match self.st.heap.builtin_len(v) {
            Some(n) => Ok(n),
            None => {
                let t = self.type_name(v)?;
                Err(self.raise_new(
                    ExcClass::TYPE_ERROR,
                    format!("object of type '{t}' has no len()"),
                ))
            }
        }
    }

    /// `seq[index]` for tuples and lists (negative indices count from the end); a new
    /// reference.
    pub fn get_item_index(&mut self, seq: Value, index: i64) -> PyResult<Value> {
        if seq.as_obj().is_none() || self.check(seq).is_ok() && self.st.heap.get(seq).is_err() {
            // A number, a singleton, a class or a function: valid, but not a sequence.
            let t = self.type_name(seq)?;
            return Err(self.raise_new(
                ExcClass::TYPE_ERROR,
                format!("'{t}' object is not subscriptable"),
            ));
        }
        let (items, what): (&[Value], &str) = match self.obj(seq)? {
            Object::Tuple(t) => (t, "tuple"),
            Object::List(l) => (l, "list"),
            _ => return Err(self.type_error_for(seq, "tuple or list")),
        };
        let n = items.len() as i64;
        let i = if index < 0 { index + n } else { index };
        if (0..n).contains(&i) {
            let v = items[i as usize];
            Ok(self.own(v))
        } else {
            let msg = format!("{what} index out of range");
            Err(self.raise_new(ExcClass::INDEX_ERROR, msg))
        }
    }

    /// Truthiness.
    pub fn truthy(&mut self, v: Value) -> PyResult<bool> {
        Ok(match v.unpack() {
            Unpacked::Bool(b) => b,
            Unpacked::Int(i) => i != 0,
            Unpacked::Float(f) => f != 0.0,
            Unpacked::None => false,
            Unpacked::NotImplemented | Unpacked::Ellipsis => true,
            Unpacked::Obj(r) if matches!(r.kind, Kind::Type | Kind::Function) => {
                self.check(v).map_err(|e| self.bad(e))?;
                true
            }
            Unpacked::Obj(_) => match self.obj(v)? {
                Object::Str(s) => !s.text.is_empty(),
                Object::Bytes { data: b, .. } => !b.is_empty(),
                Object::Tuple(t) => !t.is_empty(),
                Object::List(l) => !l.is_empty(),
                Object::Dict(d) => !d.is_empty(),
                _ => true,
            },
        })
    }
}

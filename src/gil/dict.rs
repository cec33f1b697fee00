//! Dict operations through the token (`d.get`, `d[k] = v`, `d.pop`, items): hashing the key
//! and comparing it with the stored keys.

use super::hash::eq_inner;
use super::recursion::{IN_COMPARISON, TooDeep};
use super::{Gil, PyResult};
use crate::object::{Object, dict::Dict};
use crate::value::Value;

impl Gil<'_> {
    fn dict_find(&mut self, d: Value, key: Value) -> PyResult<(i64, Option<usize>)> {
        let h = self.hash(key)?;
        let budget = self.recursion_budget();
        let heap = &self.st.heap;
        match heap.get(d) {
            Ok(Object::Dict(dict)) => {
                let mut too_deep = false;
                let found = dict.find(h, |k| {
                    eq_inner(heap, k, key, budget).unwrap_or_else(|TooDeep| {
                        too_deep = true;
                        false
                    })
                });
                if too_deep {
                    return Err(self.recursion_error(IN_COMPARISON));
                }
                Ok((h, found))
            }
            Ok(_) => Err(self.type_error_for(d, "dict")),
            Err(_) if self.check(d).is_ok() => Err(self.type_error_for(d, "dict")),
            Err(e) => Err(self.bad(e)),
        }
    }

    fn dict_mut(&mut self, d: Value) -> &mut Dict {
        match self.st.heap.get_mut(d) {
            Ok(Object::Dict(dict)) => dict,
            _ => unreachable!("checked by dict_find"),
        }
    }

    /// `d.get(key)`: a borrowed value, or `None` if absent.
    pub fn dict_get(&mut self, d: Value, key: Value) -> PyResult<Option<Value>> {
        self.check(key).map_err(|e| self.bad(e))?;
        let (_, found) = self.dict_find(d, key)?;
        Ok(found.map(|i| self.dict_mut(d).value_at(i)))
    }

    /// `d[key] = value` (both borrowed).
    pub fn dict_set(&mut self, d: Value, key: Value, value: Value) -> PyResult<()> {
        self.check(key).map_err(|e| self.bad(e))?;
        self.check(value).map_err(|e| self.bad(e))?;
        let (h, found) = self.dict_find(d, key)?;
        self.own(value);
        match found {
            Some(i) => {
                let old = self.dict_mut(d).replace_at(i, value);
                self.release(old);
            }
            None => {
                self.own(key);
                self.dict_mut(d).insert_new(h, key, value);
            }
        }
        Ok(())
    }

    /// Removes `key`; returns its value (a new reference), or `None` if absent.
    pub fn dict_pop(&mut self, d: Value, key: Value) -> PyResult<Option<Value>> {
        self.check(key).map_err(|e| self.bad(e))?;
        let (_, found) = self.dict_find(d, key)?;
        let Some(i) = found else { return Ok(None) };
        let (k, v) = self.dict_mut(d).remove_at(i).expect("found just now");
        self.release(k);
        Ok(Some(v))
    }

    /// The items of a dict in insertion order (borrowed).
    pub fn dict_items(&mut self, d: Value) -> PyResult<Vec<(Value, Value)>> {
        match self.obj(d)? {
            Object::Dict(dict) => Ok(dict.iter().collect()),
            _ => Err(self.type_error_for(d, "dict")),
        }
    }
}

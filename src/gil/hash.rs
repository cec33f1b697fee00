//! `hash()` (CPython 3.11's values) and container equality, with the heap-level functions the
//! C ABI's held path shares.

use super::recursion::{IN_COMPARISON, TooDeep};
use super::{Gil, PyResult};
use crate::ExcClass;
use crate::hash;
use crate::object::num::{Num, num_eq};
use crate::object::{BadValue, Object};
use crate::value::{Kind, Unpacked, Value};

impl Gil<'_> {
    /// `hash(v)`, as CPython 3.11 computes it under the same hash seed (for str, bytes,
    /// int, float, bool and tuple; other hashable objects hash by identity). Lists and dicts
    /// raise `TypeError: unhashable type`.
    pub fn hash(&mut self, v: Value) -> PyResult<i64> {
        // A str or bytes whose hash is cached (checked live, of this runtime): one lookup.
        if let Some(h) = self.st.heap.cached_hash(v.to_bits()) {
            return Ok(h);
        }
        // Classes and native functions hash by identity, but only live ones of this runtime.
        if let Some(r) = v.as_obj()
            && matches!(r.kind, Kind::Type | Kind::Function)
        {
            self.check(v).map_err(|e| self.bad(e))?;
        }
        let secret = self.rt.hash_secret();
        match hash_inner(&mut self.st.heap, secret, v) {
            Ok(h) => Ok(h),
            Err(HashError::Bad(e)) => Err(self.bad(e)),
            Err(HashError::Unhashable(t)) => {
                Err(self.raise_new(ExcClass::TYPE_ERROR, format!("unhashable type: '{t}'")))
            }
        }
    }

    /// Equality as containers use it (identity implies equality; numbers compare by value
    /// across int, float and bool; str, bytes, tuple, list and dict by contents).
    /// `RecursionError` ("maximum recursion depth exceeded in comparison") when nested
    /// containers go deeper than the recursion limit, as in CPython.
    pub fn eq(&mut self, a: Value, b: Value) -> PyResult<bool> {
        self.check(a).map_err(|e| self.bad(e))?;
        self.check(b).map_err(|e| self.bad(e))?;
        let budget = self.recursion_budget();
        eq_inner(&self.st.heap, a, b, budget).map_err(|TooDeep| self.recursion_error(IN_COMPARISON))
    }
}

enum HashError {
    Bad(BadValue),
    Unhashable(&'static str),
}

fn identity_hash(v: Value) -> i64 {
    let h = v.to_bits().rotate_right(4) as i64;
    if h == -1 { -2 } else { h }
}

fn hash_inner(
    heap: &mut crate::object::Heap,
    secret: &hash::HashSecret,
    v: Value,
) -> Result<i64, HashError> {
    /// A tuple being hashed: its items and the hashes of those done so far.
    struct Frame {
        items: Vec<Value>,
        hashes: Vec<i64>,
    }
    enum Step {
        Done(i64),
        Tuple(Vec<Value>),
    }
    // One item: its hash, or the items of a tuple to hash first.
    let mut step = |v: Value| -> Result<Step, HashError> {
        Ok(Step::Done(match v.unpack() {
            Unpacked::Int(i) => hash::hash_int(i),
            Unpacked::Bool(b) => hash::hash_bool(b),
            Unpacked::Float(f) => hash::hash_float(f),
            Unpacked::None | Unpacked::NotImplemented | Unpacked::Ellipsis => identity_hash(v),
            Unpacked::Obj(r) if matches!(r.kind, Kind::Type | Kind::Function) => identity_hash(v),
            Unpacked::Obj(_) => match heap.get_mut(v).map_err(HashError::Bad)? {
                Object::Str(s) => {
                    if s.hash == -1 {
                        s.hash = hash::hash_str(secret, &s.text);
                    }
                    s.hash
                }
                Object::Bytes { data: b, hash: h } => {
                    if *h == -1 {
                        *h = hash::hash_bytes(secret, b);
                    }
                    *h
                }
                Object::Tuple(t) => return Ok(Step::Tuple(t.to_vec())),
                Object::List(_) => return Err(HashError::Unhashable("list")),
                Object::Dict(_) => return Err(HashError::Unhashable("dict")),
                Object::Int(n) => crate::object::bigint::hash(n),
                _ => identity_hash(v),
            },
        }))
    };
    // Nested tuples are hashed with an explicit stack, not recursion: CPython 3.11's tuple
    // hash has no recursion check (a 100k-deep tuple hashes fine there), and here no depth
    // can overflow the thread's stack either.
    let mut stack: Vec<Frame> = Vec::new();
    let mut next = step(v)?;
    loop {
        let done = match next {
            Step::Tuple(items) => {
                stack.push(Frame {
                    hashes: Vec::with_capacity(items.len()),
                    items,
                });
                None
            }
            Step::Done(h) => Some(h),
        };
        if let Some(h) = done {
            match stack.last_mut() {
                None => return Ok(h),
                Some(f) => f.hashes.push(h),
            }
        }
        // Finish every tuple whose items are all hashed, then start the next item.
        loop {
            let Some(f) = stack.last_mut() else {
                unreachable!("the loop returns when the outermost value is done")
            };
            if f.hashes.len() < f.items.len() {
                let item = f.items[f.hashes.len()];
                next = step(item)?;
                break;
            }
            let f = stack.pop().expect("just looked");
            let h = hash::hash_tuple(f.hashes);
            match stack.last_mut() {
                None => return Ok(h),
                Some(parent) => parent.hashes.push(h),
            }
        }
    }
}

/// Container equality over the heap (see [`Gil::eq`]); values that do not resolve are
/// unequal to everything but themselves. Containers may nest `budget` levels deep (the
/// recursion limit left), else `TooDeep`. Dicts compare in O(n) (each key is looked up in
/// the other dict by its stored hash), as CPython's `dict_equal` does.
pub(crate) fn eq_inner(
    heap: &crate::object::Heap,
    a: Value,
    b: Value,
    budget: u32,
) -> Result<bool, TooDeep> {
    if a == b {
        return Ok(true);
    }
    let num = |v: Value| match v.unpack() {
        Unpacked::Int(i) => Some(Num::Int(i)),
        Unpacked::Bool(x) => Some(Num::Int(x as i64)),
        Unpacked::Float(f) => Some(Num::Float(f)),
        _ => None,
    };
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(num_eq(x, y));
    }
    if let Some(r) = crate::object::bigint::num_eq(heap, a, b) {
        return Ok(r);
    }
    let (Ok(x), Ok(y)) = (heap.get(a), heap.get(b)) else {
        return Ok(false);
    };
    let seq = |x: &[Value], y: &[Value]| -> Result<bool, TooDeep> {
        if x.len() != y.len() {
            return Ok(false);
        }
        let budget = budget.checked_sub(1).ok_or(TooDeep)?;
        for (a, b) in x.iter().zip(y) {
            if !eq_inner(heap, *a, *b, budget)? {
                return Ok(false);
            }
        }
        Ok(true)
    };
    match (x, y) {
        (Object::Str(x), Object::Str(y)) => Ok(x.text == y.text),
        (Object::Bytes { data: x, .. }, Object::Bytes { data: y, .. }) => Ok(x == y),
        (Object::Tuple(x), Object::Tuple(y)) => seq(x, y),
        (Object::List(x), Object::List(y)) => seq(x, y),
        (Object::Dict(x), Object::Dict(y)) => {
            if x.len() != y.len() {
                return Ok(false);
            }
            let budget = budget.checked_sub(1).ok_or(TooDeep)?;
            for (h, k, v) in x.iter_hashed() {
                let mut err = None;
                let found = y.find(h, |k2| {
                    eq_inner(heap, k, k2, budget).unwrap_or_else(|e| {
                        err = Some(e);
                        false
                    })
                });
                if let Some(e) = err {
                    return Err(e);
                }
                let Some(i) = found else {
                    return Ok(false);
                };
                if !eq_inner(heap, v, y.value_at(i), budget)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

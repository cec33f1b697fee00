//! The `dict` object: insertion ordered, keyed by hash and equality.
//!
//! Entries sit in a vector in insertion order (a removed entry leaves a hole, compacted when
//! holes outnumber live entries); a hashbrown `HashTable` maps each key's hash to its entry
//! index. Equality of keys needs the heap (a str key compares by content), so lookups take an
//! equality callback and the dict itself never touches other objects.

use crate::value::Value;
use hashbrown::HashTable;

#[derive(Debug, Clone, Copy)]
struct Entry {
    hash: i64,
    key: Value,
    value: Value,
}

/// An insertion-ordered dict of owned keys and values.
#[derive(Debug, Default)]
pub struct Dict {
    entries: Vec<Option<Entry>>,
    index: HashTable<u32>,
    len: usize,
}

impl Dict {
    /// An empty dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry index of the key with `hash` for which `eq(key)` holds.
    pub fn find(&self, hash: i64, mut eq: impl FnMut(Value) -> bool) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash as u64, |&i| {
                entries[i as usize].is_some_and(|e| e.hash == hash && eq(e.key))
            })
            .map(|&i| i as usize)
    }

    /// The value at entry `i` (from [`find`](Self::find)).
    pub fn value_at(&self, i: usize) -> Value {
        self.entries[i].map_or(Value::NONE, |e| e.value)
    }

    /// Replaces the value at entry `i`, returning the old one (whose reference passes to the
    /// caller).
    pub fn replace_at(&mut self, i: usize, value: Value) -> Value {
        match &mut self.entries[i] {
            Some(e) => std::mem::replace(&mut e.value, value),
            None => Value::NONE,
        }
    }

    /// Appends a key that [`find`](Self::find) did not find. Takes ownership of both
    /// references.
    pub fn insert_new(&mut self, hash: i64, key: Value, value: Value) {
        let i = u32::try_from(self.entries.len()).expect("dict has fewer than 2^32 entries");
        self.entries.push(Some(Entry { hash, key, value }));
        let entries = &self.entries;
        self.index.insert_unique(hash as u64, i, |&j| {
            entries[j as usize].map_or(0, |e| e.hash as u64)
        });
        self.len += 1;
    }

    /// Removes entry `i`, returning its key and value (references pass to the caller).
    pub fn remove_at(&mut self, i: usize) -> Option<(Value, Value)> {
        let e = self.entries[i].take()?;
        if let Ok(slot) = self.index.find_entry(e.hash as u64, |&j| j as usize == i) {
            slot.remove();
        }
        self.len -= 1;
        if self.entries.len() > 8 && self.len * 2 < self.entries.len() {
            self.compact();
        }
        Some((e.key, e.value))
    }

    fn compact(&mut self) {
        self.entries.retain(Option::is_some);
        self.index.clear();
        for (i, e) in self.entries.iter().enumerate() {
            let h = e.map_or(0, |e| e.hash);
            let entries = &self.entries;
            self.index.insert_unique(h as u64, i as u32, |&j| {
                entries[j as usize].map_or(0, |e| e.hash as u64)
            });
        }
    }

    /// Items in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (Value, Value)> + '_ {
        self.entries.iter().flatten().map(|e| (e.key, e.value))
    }

    /// Items in insertion order with their stored hashes.
    pub fn iter_hashed(&self) -> impl Iterator<Item = (i64, Value, Value)> + '_ {
        self.entries
            .iter()
            .flatten()
            .map(|e| (e.hash, e.key, e.value))
    }

    pub(crate) fn release_into(&self, out: &mut Vec<Value>) {
        for e in self.entries.iter().flatten() {
            out.push(e.key);
            out.push(e.value);
        }
    }
}

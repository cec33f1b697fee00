//! Typed handle tables over slotmap, checked against their runtime on every use.
//!
//! A [`HandleTable<K, V>`] owns its values (slotmap drops them) and hands out [`Handle<K>`]s:
//! a slotmap key plus the [`RuntimeId`] of the table's runtime. Resolving a handle checks the
//! runtime first (a handle from another runtime, or from a runtime that has shut down, is a
//! [`HandleError::ForeignRuntime`]), then the slot's version (a removed entry is
//! [`HandleError::Stale`]). Neither case touches memory the handle does not own.

use crate::registry::Tracker;
use crate::sync::next_instance_id;
use slotmap::{Key, KeyData, SlotMap};
use std::fmt;
use std::num::NonZeroU64;

pub use slotmap::new_key_type;

/// The identity of one runtime instance.
///
/// Taken from a process-wide counter that never repeats, so it serves as both the runtime's id
/// and its generation: a runtime re-initialized after shutdown gets a new `RuntimeId`, and every
/// handle of the old one stops resolving.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct RuntimeId(NonZeroU64);

impl RuntimeId {
    /// A new identity, distinct from every other in this process.
    pub fn fresh() -> Self {
        Self(next_instance_id())
    }

    /// The identity as a non-zero integer (for the C ABI and reports).
    pub fn get(self) -> u64 {
        self.0.get()
    }

    /// Rebuilds an identity from [`get`](Self::get); `None` for zero.
    pub fn from_u64(v: u64) -> Option<Self> {
        NonZeroU64::new(v).map(Self)
    }
}

impl fmt::Debug for RuntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "runtime#{}", self.0)
    }
}

impl fmt::Display for RuntimeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "runtime#{}", self.0)
    }
}

/// A key into a [`HandleTable`], tied to the table's runtime.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle<K> {
    key: K,
    runtime: RuntimeId,
}

impl<K: Key> Handle<K> {
    /// The runtime this handle belongs to.
    pub fn runtime(&self) -> RuntimeId {
        self.runtime
    }

    /// The handle's two words, for passing through the C ABI.
    pub fn to_ffi(self) -> FfiHandle {
        FfiHandle {
            key: self.key.data().as_ffi(),
            runtime: self.runtime.get(),
        }
    }

    /// Rebuilds a handle from [`to_ffi`](Self::to_ffi). Any pair of words is accepted: a
    /// forged or stale handle is rejected when it is resolved, not here. `None` only for a
    /// zero runtime word, which no runtime has.
    pub fn from_ffi(h: FfiHandle) -> Option<Self> {
        Some(Self {
            key: KeyData::from_ffi(h.key).into(),
            runtime: RuntimeId::from_u64(h.runtime)?,
        })
    }
}

impl<K: Key> fmt::Debug for Handle<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({:?}, {:?})", self.key.data(), self.runtime)
    }
}

/// A handle as two plain words, for the C ABI.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FfiHandle {
    /// The slot key (index and version).
    pub key: u64,
    /// The owning runtime's identity.
    pub runtime: u64,
}

/// Why a handle did not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// The handle belongs to another runtime, or to one that has shut down.
    #[error("handle belongs to {handle}, not to this runtime ({table})")]
    ForeignRuntime {
        /// The handle's runtime.
        handle: RuntimeId,
        /// The runtime of the table it was used with.
        table: RuntimeId,
    },
    /// The handle's entry was removed (its slot may since hold another entry).
    #[error("stale handle: its entry was removed")]
    Stale,
}

/// A slotmap owned by one runtime, whose handles carry that runtime's identity.
pub struct HandleTable<K: Key, V> {
    map: SlotMap<K, V>,
    runtime: RuntimeId,
    tracker: Option<Tracker>,
}

impl<K: Key, V> HandleTable<K, V> {
    /// An empty table for `runtime`; `tracker`, if given, counts entries in and out.
    pub fn new(runtime: RuntimeId, tracker: Option<Tracker>) -> Self {
        Self {
            map: SlotMap::with_key(),
            runtime,
            tracker,
        }
    }

    /// An empty table with room for `capacity` entries.
    pub fn with_capacity(runtime: RuntimeId, capacity: usize, tracker: Option<Tracker>) -> Self {
        Self {
            map: SlotMap::with_capacity_and_key(capacity),
            runtime,
            tracker,
        }
    }

    /// The runtime this table belongs to.
    pub fn runtime(&self) -> RuntimeId {
        self.runtime
    }

    #[inline]
    fn check(&self, h: Handle<K>) -> Result<K, HandleError> {
        if h.runtime != self.runtime {
            return Err(self.foreign(h));
        }
        Ok(h.key)
    }

    #[cold]
    #[inline(never)]
    fn foreign(&self, h: Handle<K>) -> HandleError {
        HandleError::ForeignRuntime {
            handle: h.runtime,
            table: self.runtime,
        }
    }

    fn entry_bytes() -> u64 {
        std::mem::size_of::<V>() as u64
    }

    /// Inserts `value` and returns its handle.
    pub fn insert(&mut self, value: V) -> Handle<K> {
        let key = self.map.insert(value);
        if let Some(t) = &self.tracker {
            t.alloc(1, Self::entry_bytes());
        }
        Handle {
            key,
            runtime: self.runtime,
        }
    }

    /// Inserts every value of `values`, appending their handles to `handles` in order: the
    /// same as calling [`insert`](Self::insert) for each, with one tracker update for all.
    pub fn insert_all(
        &mut self,
        values: impl IntoIterator<Item = V>,
        handles: &mut Vec<Handle<K>>,
    ) {
        let before = self.map.len();
        let runtime = self.runtime;
        handles.extend(values.into_iter().map(|v| Handle {
            key: self.map.insert(v),
            runtime,
        }));
        if let Some(t) = &self.tracker {
            let n = (self.map.len() - before) as u64;
            t.alloc(n, n * Self::entry_bytes());
        }
    }

    /// Resolves a handle.
    #[inline]
    pub fn get(&self, h: Handle<K>) -> Result<&V, HandleError> {
        let key = self.check(h)?;
        self.map.get(key).ok_or(HandleError::Stale)
    }

    /// Resolves a handle for mutation.
    #[inline]
    pub fn get_mut(&mut self, h: Handle<K>) -> Result<&mut V, HandleError> {
        let key = self.check(h)?;
        self.map.get_mut(key).ok_or(HandleError::Stale)
    }

    /// Removes the entry and returns its value.
    pub fn remove(&mut self, h: Handle<K>) -> Result<V, HandleError> {
        let key = self.check(h)?;
        let v = self.map.remove(key).ok_or(HandleError::Stale)?;
        if let Some(t) = &self.tracker {
            t.free(1, Self::entry_bytes());
        }
        Ok(v)
    }

    /// Whether the handle resolves.
    pub fn contains(&self, h: Handle<K>) -> bool {
        self.get(h).is_ok()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops every entry. Handles to them become stale.
    pub fn clear(&mut self) {
        let n = self.map.len() as u64;
        self.map.clear();
        if let Some(t) = &self.tracker {
            t.free(n, n * Self::entry_bytes());
        }
    }

    /// Iterates over entries and their handles.
    pub fn iter(&self) -> impl Iterator<Item = (Handle<K>, &V)> + '_ {
        let runtime = self.runtime;
        self.map
            .iter()
            .map(move |(key, v)| (Handle { key, runtime }, v))
    }
}

impl<K: Key, V> Drop for HandleTable<K, V> {
    fn drop(&mut self) {
        self.clear();
    }
}

impl<K: Key, V> fmt::Debug for HandleTable<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleTable")
            .field("runtime", &self.runtime)
            .field("len", &self.map.len())
            .finish()
    }
}

#[cfg(all(test, not(molt_loom)))]
mod tests {
    use super::*;
    use crate::registry::AllocRegistry;
    use crate::sync::Arc;

    new_key_type! { struct TestKey; }

    #[test]
    fn insert_get_remove() {
        let mut t: HandleTable<TestKey, String> = HandleTable::new(RuntimeId::fresh(), None);
        let h = t.insert("a".into());
        assert_eq!(t.get(h).unwrap(), "a");
        t.get_mut(h).unwrap().push('b');
        assert_eq!(t.remove(h).unwrap(), "ab");
        assert_eq!(t.get(h), Err(HandleError::Stale));
        assert_eq!(t.remove(h), Err(HandleError::Stale));
        // The slot is reused, with a new version: the old handle stays stale.
        let h2 = t.insert("c".into());
        assert_eq!(t.get(h), Err(HandleError::Stale));
        assert_eq!(t.get(h2).unwrap(), "c");
    }

    #[test]
    fn handles_from_other_or_dead_runtimes_are_rejected() {
        let mut a: HandleTable<TestKey, u32> = HandleTable::new(RuntimeId::fresh(), None);
        let b: HandleTable<TestKey, u32> = HandleTable::new(RuntimeId::fresh(), None);
        let h = a.insert(1);
        assert!(matches!(
            b.get(h),
            Err(HandleError::ForeignRuntime { handle, table }) if handle == a.runtime() && table == b.runtime()
        ));
        // A "re-initialized" runtime: same table layout, new identity.
        drop(a);
        let mut a2: HandleTable<TestKey, u32> = HandleTable::new(RuntimeId::fresh(), None);
        a2.insert(2);
        assert!(matches!(a2.get(h), Err(HandleError::ForeignRuntime { .. })));
    }

    #[test]
    fn ffi_round_trip_and_forged_words() {
        let mut t: HandleTable<TestKey, u32> = HandleTable::new(RuntimeId::fresh(), None);
        let h = t.insert(9);
        let back = Handle::<TestKey>::from_ffi(h.to_ffi()).unwrap();
        assert_eq!(*t.get(back).unwrap(), 9);
        assert!(Handle::<TestKey>::from_ffi(FfiHandle { key: 1, runtime: 0 }).is_none());
        for key in [0u64, 1, u64::MAX, 0xdead_beef_0000_0001] {
            let forged = Handle::<TestKey>::from_ffi(FfiHandle {
                key,
                runtime: t.runtime().get(),
            })
            .unwrap();
            if forged != h {
                assert_eq!(t.get(forged), Err(HandleError::Stale));
            }
        }
    }

    #[test]
    fn tracker_counts_entries_and_clear() {
        let reg = Arc::new(AllocRegistry::new(true));
        let mut t: HandleTable<TestKey, [u8; 16]> =
            HandleTable::new(RuntimeId::fresh(), Some(Tracker::new(&reg, "t").unwrap()));
        let h = t.insert([0; 16]);
        t.insert([1; 16]);
        t.insert([2; 16]);
        t.remove(h).unwrap();
        assert_eq!(reg.leak_report().leaks[0].live_count(), 2);
        assert_eq!(reg.leak_report().leaks[0].live_bytes(), 32);
        t.clear();
        assert!(t.is_empty());
        assert!(reg.leak_report().is_empty());
        t.insert([3; 16]);
        drop(t);
        assert!(reg.leak_report().is_empty());
    }

    #[test]
    fn insert_all_is_insert_in_order_with_one_count() {
        let reg = Arc::new(AllocRegistry::new(true));
        let mut t: HandleTable<TestKey, u32> =
            HandleTable::new(RuntimeId::fresh(), Some(Tracker::new(&reg, "t").unwrap()));
        let first = t.insert(7);
        let mut handles = vec![first];
        t.insert_all(0..5, &mut handles);
        assert_eq!(handles.len(), 6);
        for (k, h) in handles[1..].iter().enumerate() {
            assert_eq!(*t.get(*h).unwrap(), k as u32);
        }
        assert_eq!(reg.leak_report().leaks[0].live_count(), 6);
        assert_eq!(reg.leak_report().leaks[0].live_bytes(), 24);
        t.remove(handles[3]).unwrap();
        assert_eq!(t.get(handles[3]), Err(HandleError::Stale));
        drop(t);
        assert!(reg.leak_report().is_empty());
    }
}

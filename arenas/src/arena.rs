//! Per-runtime arenas, freed wholesale when their runtime drops.
//!
//! * [`Arena`] is a bump arena (bumpalo) for plain runtime-global data: interned names,
//!   class names, MRO and method-table slices. It only accepts `Copy` data, so nothing in it
//!   ever needs `Drop` (bumpalo never runs destructors; a `String` or `Vec` stored in a bump
//!   arena would leak). [`Arena::freeze`] turns a finished arena into a [`FrozenArena`] that
//!   can be read from any thread.
//! * [`DropArena`] is a typed arena (typed-arena) for runtime-global objects that own heap
//!   memory and so need `Drop` (a module's namespace, say); dropping it drops every object.
//!
//! Both hand out small `Copy` tokens ([`ArenaStr`], [`ArenaSlice`], [`ArenaRef`]) rather than
//! references, so runtime tables can store them without borrowing the arena. A token records
//! the id of the arena that made it; resolving it through any other arena is an error, never a
//! read of foreign memory. Arena ids are never reused in a process, and an arena frees nothing
//! before it is dropped, so a token whose id matches points at live memory of that arena.

use crate::registry::Tracker;
use crate::sync::next_instance_id;
use bumpalo::Bump;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::ptr::NonNull;

/// A token was resolved through an arena other than the one that allocated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("arena token from arena #{token_arena} used with arena #{arena}")]
pub struct ForeignToken {
    /// The arena that made the token.
    pub token_arena: u64,
    /// The arena it was resolved through.
    pub arena: u64,
}

#[cold]
#[inline(never)]
fn foreign(token_arena: NonZeroU64, arena: NonZeroU64) -> ForeignToken {
    ForeignToken {
        token_arena: token_arena.get(),
        arena: arena.get(),
    }
}

/// A string in an [`Arena`] (or the [`FrozenArena`] it became).
#[derive(Clone, Copy)]
pub struct ArenaStr {
    /// The string's UTF-8 bytes (a `[u8]` pointer, whose length is readable without the arena).
    ptr: NonNull<[u8]>,
    arena: NonZeroU64,
}

// SAFETY: an `ArenaStr` is an inert token; the only way to read through it is
// `Arena::str`/`FrozenArena::str`, which check that the arena ids match and borrow the
// arena, whose thread-safety rules then apply. It never writes.
unsafe impl Send for ArenaStr {}
// SAFETY: as for `Send`: sharing the token shares no access.
unsafe impl Sync for ArenaStr {}

impl ArenaStr {
    /// The string's length in bytes (available without the arena).
    pub fn len(&self) -> usize {
        self.ptr.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for ArenaStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArenaStr(arena #{}, {} bytes)", self.arena, self.len())
    }
}

/// A slice of `Copy` data in an [`Arena`] (or the [`FrozenArena`] it became).
pub struct ArenaSlice<T> {
    ptr: NonNull<[T]>,
    arena: NonZeroU64,
}

impl<T> Clone for ArenaSlice<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ArenaSlice<T> {}

// SAFETY: an inert token, like `ArenaStr`; reading through it needs the arena and yields
// `&[T]`, so it may cross threads exactly when `&[T]` may, i.e. when `T: Sync`.
unsafe impl<T: Sync> Send for ArenaSlice<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Sync> Sync for ArenaSlice<T> {}

impl<T> ArenaSlice<T> {
    /// Number of elements (available without the arena).
    pub fn len(&self) -> usize {
        self.ptr.len()
    }

    /// Whether the slice is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> fmt::Debug for ArenaSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArenaSlice(arena #{}, len {})", self.arena, self.len())
    }
}

/// A bump arena for plain (`Copy`) runtime-global data, freed wholesale on drop.
///
/// Allocation takes `&self` (the arena is `Send` but not `Sync`): build it on one thread, or
/// under the runtime lock, then [`freeze`](Arena::freeze) it to share it.
pub struct Arena {
    bump: Bump,
    id: NonZeroU64,
    allocs: Cell<u64>,
    bytes: Cell<u64>,
    tracker: Option<Tracker>,
}

impl Arena {
    /// An empty arena; `tracker`, if given, records each allocation and, on drop, the frees.
    pub fn new(tracker: Option<Tracker>) -> Self {
        Self {
            bump: Bump::new(),
            id: next_instance_id(),
            allocs: Cell::new(0),
            bytes: Cell::new(0),
            tracker,
        }
    }

    /// This arena's process-unique id.
    pub fn id(&self) -> u64 {
        self.id.get()
    }

    fn count(&self, bytes: usize) {
        self.allocs.set(self.allocs.get() + 1);
        self.bytes.set(self.bytes.get() + bytes as u64);
        if let Some(t) = &self.tracker {
            t.alloc(1, bytes as u64);
        }
    }

    /// Copies `s` into the arena.
    pub fn alloc_str(&self, s: &str) -> ArenaStr {
        let stored: &mut [u8] = self.bump.alloc_slice_copy(s.as_bytes());
        self.count(s.len());
        ArenaStr {
            ptr: NonNull::from(stored),
            arena: self.id,
        }
    }

    /// Copies `items` into the arena. `T: Copy` guarantees no element needs `Drop`.
    pub fn alloc_slice<T: Copy + 'static>(&self, items: &[T]) -> ArenaSlice<T> {
        let stored: &mut [T] = self.bump.alloc_slice_copy(items);
        self.count(std::mem::size_of_val(items));
        ArenaSlice {
            ptr: NonNull::from(stored),
            arena: self.id,
        }
    }

    /// Resolves a string token made by this arena.
    #[inline]
    pub fn str(&self, s: ArenaStr) -> Result<&str, ForeignToken> {
        if s.arena != self.id {
            return Err(foreign(s.arena, self.id));
        }
        // SAFETY: the token was made by this arena (ids are unique and never reused), whose
        // allocations stay valid and unmodified until it is dropped, which `&self` prevents
        // for the lifetime of the returned reference. The bytes were copied from a `&str` in
        // `alloc_str`, so they are valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(s.ptr.as_ref()) })
    }

    /// Resolves a slice token made by this arena.
    #[inline]
    pub fn slice<T>(&self, s: ArenaSlice<T>) -> Result<&[T], ForeignToken> {
        if s.arena != self.id {
            return Err(foreign(s.arena, self.id));
        }
        // SAFETY: as in `str`: this arena made the token and outlives the borrow.
        Ok(unsafe { s.ptr.as_ref() })
    }

    /// Bytes handed out by this arena so far (not counting bumpalo's chunk overhead).
    pub fn allocated_bytes(&self) -> u64 {
        self.bytes.get()
    }

    /// Number of allocations made so far.
    pub fn allocation_count(&self) -> u64 {
        self.allocs.get()
    }

    /// Bytes of chunk memory the arena holds from the system allocator.
    pub fn chunk_bytes(&self) -> usize {
        self.bump.allocated_bytes()
    }

    /// Ends allocation and makes the arena shareable between threads.
    pub fn freeze(self) -> FrozenArena {
        FrozenArena { arena: self }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        if let Some(t) = &self.tracker {
            t.free(self.allocs.get(), self.bytes.get());
        }
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("id", &self.id)
            .field("allocations", &self.allocs.get())
            .field("bytes", &self.bytes.get())
            .finish()
    }
}

/// An [`Arena`] that no longer allocates, readable from any thread.
#[derive(Debug)]
pub struct FrozenArena {
    arena: Arena,
}

// SAFETY: `Arena` is `!Sync` only because bumpalo's allocation cursor and our counters are
// `Cell`s. A `FrozenArena` exposes no method that allocates or touches those cells through
// `&self` (only `str`, `slice` and the read-only getters below), and the allocated data is
// `Copy` plain data never written after allocation, so shared access from many threads only
// ever reads.
unsafe impl Sync for FrozenArena {}

impl FrozenArena {
    /// This arena's process-unique id.
    pub fn id(&self) -> u64 {
        self.arena.id()
    }

    /// Resolves a string token made by this arena.
    #[inline]
    pub fn str(&self, s: ArenaStr) -> Result<&str, ForeignToken> {
        self.arena.str(s)
    }

    /// Resolves a slice token made by this arena.
    #[inline]
    pub fn slice<T>(&self, s: ArenaSlice<T>) -> Result<&[T], ForeignToken> {
        self.arena.slice(s)
    }

    /// Bytes handed out by this arena.
    pub fn allocated_bytes(&self) -> u64 {
        self.arena.allocated_bytes()
    }

    /// Number of allocations made.
    pub fn allocation_count(&self) -> u64 {
        self.arena.allocation_count()
    }
}

/// An object in a [`DropArena`].
pub struct ArenaRef<T> {
    ptr: NonNull<T>,
    arena: NonZeroU64,
    _owns: PhantomData<fn() -> T>,
}

impl<T> Clone for ArenaRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ArenaRef<T> {}

// SAFETY: an inert token; reading through it needs `&DropArena<T>` (or `&mut`), whose own
// auto traits govern thread access.
unsafe impl<T> Send for ArenaRef<T> {}
// SAFETY: as for `Send`.
unsafe impl<T> Sync for ArenaRef<T> {}

impl<T> fmt::Debug for ArenaRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArenaRef(arena #{})", self.arena)
    }
}

/// A typed arena for runtime-global objects that need `Drop`; dropping the arena drops
/// every object in it, in allocation order.
pub struct DropArena<T> {
    arena: typed_arena::Arena<T>,
    id: NonZeroU64,
    tracker: Option<Tracker>,
}

impl<T> DropArena<T> {
    /// An empty arena; `tracker`, if given, records allocations and, on drop, the frees.
    pub fn new(tracker: Option<Tracker>) -> Self {
        Self {
            arena: typed_arena::Arena::new(),
            id: next_instance_id(),
            tracker,
        }
    }

    /// Moves `value` into the arena.
    pub fn alloc(&self, value: T) -> ArenaRef<T> {
        let stored: &mut T = self.arena.alloc(value);
        if let Some(t) = &self.tracker {
            t.alloc(1, std::mem::size_of::<T>() as u64);
        }
        ArenaRef {
            ptr: NonNull::from(stored),
            arena: self.id,
            _owns: PhantomData,
        }
    }

    /// Resolves a token made by this arena.
    #[inline]
    pub fn get(&self, r: ArenaRef<T>) -> Result<&T, ForeignToken> {
        if r.arena != self.id {
            return Err(foreign(r.arena, self.id));
        }
        // SAFETY: this arena made the token (unique ids), never moves or frees an object
        // before it is dropped, and `&self` keeps it alive for the returned borrow. Mutable
        // access needs `&mut self` (`get_mut`), so no `&mut T` can coexist with this `&T`.
        Ok(unsafe { r.ptr.as_ref() })
    }

    /// Resolves a token made by this arena for mutation.
    #[inline]
    pub fn get_mut(&mut self, mut r: ArenaRef<T>) -> Result<&mut T, ForeignToken> {
        if r.arena != self.id {
            return Err(foreign(r.arena, self.id));
        }
        // SAFETY: as in `get`; `&mut self` guarantees no other reference into the arena is
        // live, so this is the only reference to the object.
        Ok(unsafe { r.ptr.as_mut() })
    }

    /// Number of objects in the arena.
    pub fn len(&self) -> usize {
        self.arena.len()
    }

    /// Whether the arena holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for DropArena<T> {
    fn drop(&mut self) {
        if let Some(t) = &self.tracker {
            let n = self.arena.len() as u64;
            t.free(n, n * std::mem::size_of::<T>() as u64);
        }
    }
}

impl<T> fmt::Debug for DropArena<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DropArena")
            .field("id", &self.id)
            .field("len", &self.arena.len())
            .finish()
    }
}

#[cfg(all(test, not(molt_loom)))]
mod tests {
    use super::*;
    use crate::registry::AllocRegistry;
    use crate::sync::Arc;

    #[test]
    fn strings_and_slices_round_trip() {
        let a = Arena::new(None);
        let s = a.alloc_str("__init__");
        let e = a.alloc_str("");
        let xs = a.alloc_slice(&[1u32, 2, 3]);
        assert_eq!(a.str(s).unwrap(), "__init__");
        assert_eq!(a.str(e).unwrap(), "");
        assert!(e.is_empty());
        assert_eq!(a.slice(xs).unwrap(), &[1, 2, 3]);
        assert_eq!(a.allocation_count(), 3);
        assert_eq!(a.allocated_bytes(), 8 + 12);
    }

    #[test]
    fn foreign_tokens_are_rejected() {
        let a = Arena::new(None);
        let b = Arena::new(None);
        let s = a.alloc_str("x");
        let err = b.str(s).unwrap_err();
        assert_eq!(err.token_arena, a.id());
        assert_eq!(err.arena, b.id());
        let xs = a.alloc_slice(&[7u8]);
        assert!(b.slice(xs).is_err());
        let d1: DropArena<String> = DropArena::new(None);
        let d2: DropArena<String> = DropArena::new(None);
        let r = d1.alloc("owned".to_string());
        assert!(d2.get(r).is_err());
    }

    #[test]
    fn frozen_arena_is_shared_across_threads() {
        let a = Arena::new(None);
        let names: Vec<ArenaStr> = (0..16).map(|i| a.alloc_str(&format!("n{i}"))).collect();
        let frozen = Arc::new(a.freeze());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let frozen = Arc::clone(&frozen);
                let names = names.clone();
                std::thread::spawn(move || {
                    names
                        .iter()
                        .map(|n| frozen.str(*n).unwrap().len())
                        .sum::<usize>()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 10 * 2 + 6 * 3);
        }
    }

    #[test]
    fn drop_arena_runs_destructors_and_allows_mutation() {
        let mut d: DropArena<Vec<String>> = DropArena::new(None);
        let r = d.alloc(vec!["a".into()]);
        d.get_mut(r).unwrap().push("b".into());
        assert_eq!(d.get(r).unwrap().len(), 2);
        assert_eq!(d.len(), 1);
        // Dropping `d` frees the Vec and its Strings; Miri's leak check verifies it.
    }

    #[test]
    fn trackers_see_arena_allocations_freed_on_drop() {
        let reg = Arc::new(AllocRegistry::new(true));
        {
            let a = Arena::new(Some(Tracker::new(&reg, "arena").unwrap()));
            a.alloc_str("hello");
            a.alloc_slice(&[0u64; 4]);
            let d = DropArena::new(Some(Tracker::new(&reg, "drop-arena").unwrap()));
            d.alloc(String::from("x"));
            let live = reg.leak_report();
            assert_eq!(live.leaks.len(), 2);
            assert_eq!(live.leaks[0].live_bytes(), 5 + 32);
        }
        assert!(reg.leak_report().is_empty());
    }
}

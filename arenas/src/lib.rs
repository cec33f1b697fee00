//! Memory building blocks for molt-state, with no knowledge of the object model.
//!
//! * [`sync`]: the one module that chooses loom or std synchronization types;
//! * [`arena`]: per-runtime arenas (bumpalo for plain data, typed-arena for `Drop` types),
//!   freed wholesale, reached through checked `Copy` tokens;
//! * [`handles`]: slotmap handle tables whose handles carry their runtime's identity;
//! * [`pool`]: object pools (chunked slabs, per-thread magazines, a per-pool depot);
//! * [`registry`]: the allocation registry (per-kind counters and the leak report).
//!
//! ```
//! use molt_arenas::arena::Arena;
//! use molt_arenas::handles::{new_key_type, HandleTable, RuntimeId};
//!
//! new_key_type! { struct ClassKey; }
//! let arena = Arena::new(None);
//! let name = arena.alloc_str("object");
//! let mut classes: HandleTable<ClassKey, _> = HandleTable::new(RuntimeId::fresh(), None);
//! let object = classes.insert(name);
//! assert_eq!(arena.str(*classes.get(object).unwrap()).unwrap(), "object");
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod arena;
pub mod handles;
pub mod pool;
pub mod registry;
pub mod sync;

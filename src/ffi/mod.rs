//! The C ABI: the process-default runtime and its entry points.
//!
//! Conventions, shared by every `molt_*` function:
//! * the return value is a status: [`MOLT_OK`] (0) or a negative `MOLT_ERR_*` code; results
//!   come back through out-parameters;
//! * a failing call stores a message for the calling thread, read with [`molt_last_error`];
//! * every entry point is gated: with no live runtime it returns
//!   [`MOLT_ERR_NOT_INITIALIZED`], never touches memory and never panics;
//! * no panic crosses the boundary: each entry point runs under `catch_unwind`, and a caught
//!   panic becomes [`MOLT_ERR_INTERNAL`]. The held paths of `molt_incref`, `molt_decref`,
//!   `molt_len`, `molt_hash` and `molt_int_from_i64` run before it: they are leaf code (no
//!   call, no allocation, nothing that can panic), and everything else they hand to the
//!   entry point's out-of-line path, which has the boundary;
//! * only these entry points reach the published runtime: without the GIL, by taking it
//!   (one compare-and-swap, one swap to release) and loading the pointer; while the thread
//!   holds it, by comparing the thread's identity with the GIL's owner line (the held path:
//!   no lock, no atomic read-modify-write; see docs/ARCHITECTURE.md).
//!
//! The files, by area: `status` (the codes, the failure type and its conversions, the
//! boundary), `args` (reaching the runtime, reading arguments), `lifecycle` (init,
//! shutdown, reports, argv, capabilities), `values` (making and reading ints, floats, str,
//! bytes, tuples, lists, dicts), `objects` (reference counts, attributes, calls, hash, repr,
//! classes, modules), `exceptions`, `tasks`, `gil` (the thread state) and `natives` (native
//! functions defined from C).
//!
//! `include/molt_state.h` is generated from these files by cbindgen (a test checks it is
//! current; `MOLT_BLESS=1 cargo test -p molt-state-capi --test header` rewrites it).

use crate::lifecycle::RuntimeSlot;

/// Writes a value's bits through an out-pointer (`out` NULL is an error).
macro_rules! out_value {
    ($out:expr, $v:expr) => {
        // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
        unsafe { $crate::ffi::args::write_out($out, $v.to_bits(), "out") }
    };
}

mod args;
mod exceptions;
mod gil;
mod lifecycle;
mod natives;
mod objects;
mod status;
mod tasks;
mod values;

pub use exceptions::*;
pub use gil::*;
pub use lifecycle::*;
pub use natives::*;
pub use objects::*;
pub use status::{
    MOLT_ERR_BUSY, MOLT_ERR_EXCEPTION, MOLT_ERR_INDEX, MOLT_ERR_INIT_FAILED, MOLT_ERR_INTERNAL,
    MOLT_ERR_INVALID_ARGUMENT, MOLT_ERR_NOT_INITIALIZED, MOLT_ERR_PERMISSION, MOLT_ERR_REENTRANT,
    MOLT_ERR_STALE_VALUE, MOLT_OK,
};
pub use tasks::*;
pub use values::*;

/// The process-default runtime: the only `static` holding runtime state is this slot (a
/// lifecycle word, a pointer and a generation counter).
static DEFAULT: RuntimeSlot = RuntimeSlot::new();

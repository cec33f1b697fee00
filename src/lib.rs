// The README is the crate's documentation: one text for the docs, their examples and the
// doctests (as bumpalo does).
#![doc = include_str!("../README.md")]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod builtins;
pub mod caps;
pub mod config;
mod digits;
pub mod error;
#[cfg(not(molt_loom))]
pub mod ffi;
pub mod gil;
pub mod hash;
pub mod intern;
pub mod lifecycle;
pub mod object;
pub mod pinned;
mod printable;
pub mod report;
pub mod state;
pub mod tasks;
mod thread_state;
pub mod value;

pub use builtins::ExcClass;
pub use config::Config;
pub use error::{InitError, InitStep, NotInitialized, PermissionError, RuntimeBusy, ShutdownError};
pub use gil::{Gil, GilError, PyResult, Raised};
pub use lifecycle::{GilStateError, Runtime, RuntimeSlot};
pub use pinned::PinnedState;
pub use report::TeardownReport;
pub use state::RuntimeState;
pub use tasks::{CancelToken, TaskCx, TaskId, TaskState};
pub use value::Value;

//! molt-state: an arena-backed runtime state with an explicit init/shutdown lifecycle for a
//! Python-like language runtime.
//!
//! Every piece of runtime-global state (interned names, builtin classes with their
//! `__bases__`/`__mro__`, caches, the hash secret, capabilities, argv, ...) lives in one
//! [`RuntimeState`]. Rust callers own one through [`Runtime`] (several may live at once);
//! C callers use the process-default runtime through [`ffi`] (`molt_runtime_init` /
//! `molt_runtime_shutdown`). Shutdown frees everything and returns a [`TeardownReport`] whose
//! leak report must be empty.
//!
//! ```
//! use molt_state::{Config, Runtime};
//!
//! let rt = Runtime::try_new(Config { argv: vec!["prog".into()], ..Config::default() })?;
//! let object = rt.classes().by_name("object").unwrap();
//! let int = rt.classes().by_name("bool").unwrap();
//! let mro: Vec<_> = rt.classes().mro(int)?.collect();
//! assert_eq!(mro.last(), Some(&object));
//! assert_eq!(rt.lock().argv(), ["prog"]);
//! let report = rt.shutdown()?;
//! assert!(report.leaks.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

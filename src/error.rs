//! Error types of the lifecycle and the runtime's first owners.

use std::fmt;
use std::str::FromStr;

/// The steps of init, in the strict order they run.
///
/// Init is all-or-nothing: if step K fails, everything built by steps before K is dropped,
/// nothing is published, and the error names step K.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InitStep {
    /// Resolve and validate the configuration (environment included).
    Config,
    /// Create the allocation registry and the runtime arena.
    Arena,
    /// Derive the hash secret (OS randomness or the seed).
    HashSecret,
    /// Create the interner (the static names, every dunder, builtin and class name the
    /// runtime needs, are program data with fixed symbols).
    InternNames,
    /// Give the builtin classes their handles and build the native table.
    BuiltinClasses,
    /// Build the caches: class table and method cache, capability cache, argv.
    Caches,
    /// Publish the finished state (C ABI default runtime) or hand it to the caller.
    Publish,
}

impl InitStep {
    /// Every step, in order.
    pub const ALL: [InitStep; 7] = [
        InitStep::Config,
        InitStep::Arena,
        InitStep::HashSecret,
        InitStep::InternNames,
        InitStep::BuiltinClasses,
        InitStep::Caches,
        InitStep::Publish,
    ];

    /// The step's name, as accepted by `MOLT_FAIL_INIT_AT`.
    pub const fn name(self) -> &'static str {
        match self {
            InitStep::Config => "config",
            InitStep::Arena => "arena",
            InitStep::HashSecret => "hash-secret",
            InitStep::InternNames => "intern-names",
            InitStep::BuiltinClasses => "builtin-classes",
            InitStep::Caches => "caches",
            InitStep::Publish => "publish",
        }
    }
}

impl fmt::Display for InitStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for InitStep {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        InitStep::ALL
            .into_iter()
            .find(|step| step.name() == s)
            .ok_or(())
    }
}

/// Init failed; nothing was published and nothing of the partial state survives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("runtime init failed at step {step}: {message}")]
pub struct InitError {
    /// The step that failed.
    pub step: InitStep,
    /// What went wrong.
    pub message: String,
}

impl InitError {
    pub(crate) fn new(step: InitStep, message: impl Into<String>) -> Self {
        Self {
            step,
            message: message.into(),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(InitStep::Config, message)
    }

    pub(crate) fn injected(step: InitStep) -> Self {
        Self::new(step, "injected failure (fault injection)")
    }
}

/// Shutdown could not proceed; the runtime is left fully usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShutdownError {
    /// Other threads were still inside the runtime when the wait bound ran out.
    #[error(
        "runtime busy: {threads} other thread(s) still inside the runtime after waiting {waited_ms} ms; the runtime is still running"
    )]
    Busy {
        /// How many threads were inside.
        threads: u64,
        /// How long shutdown waited.
        waited_ms: u64,
    },
    /// Tasks were still running when the wait bound ran out. Pending and sleeping tasks
    /// were cancelled; new spawns are accepted again.
    #[error(
        "runtime busy: {running} task(s) still running after waiting {waited_ms} ms; pending and sleeping tasks were cancelled, the runtime is still running"
    )]
    TasksRunning {
        /// How many tasks were running.
        running: u64,
        /// How long shutdown waited.
        waited_ms: u64,
    },
    /// Another thread held the GIL (or had it released inside a runtime call it has not
    /// returned from) for the whole wait bound.
    #[error(
        "runtime busy: another thread held the GIL for the whole {waited_ms} ms wait; the runtime is still running"
    )]
    GilHeld {
        /// How long shutdown waited.
        waited_ms: u64,
    },
    /// Shutdown was called from inside the runtime: from a task of the runtime (which it
    /// would have to wait for) or from inside a runtime call (a native function) on this
    /// thread. Nothing was changed.
    #[error("runtime busy: shutdown called from inside {0}; the runtime is still running")]
    Reentrant(&'static str),
}

/// [`Runtime::shutdown`](crate::Runtime::shutdown) could not proceed: the error, and the
/// runtime itself, still fully usable, so the caller can retry later.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct RuntimeBusy {
    /// Why shutdown did not proceed.
    pub error: ShutdownError,
    /// The runtime, still running.
    pub runtime: crate::Runtime,
}

/// A capability the program needs was not granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionError {
    /// The missing capability.
    pub capability: String,
    /// Whether it was refused because it is not a well-formed capability name
    /// ([`crate::caps::is_valid_name`]; `*` only grants, it cannot be required).
    pub malformed: bool,
}

impl std::fmt::Display for PermissionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.malformed {
            write!(
                f,
                "PermissionError: capability {:?} is not a valid capability name (expected dot-separated lowercase words ([a-z0-9_-]+), e.g. \"fs.read\")",
                self.capability
            )
        } else {
            write!(
                f,
                "PermissionError: capability {:?} is not granted (grant it with MOLT_CAPABILITIES or Config::capabilities)",
                self.capability
            )
        }
    }
}

impl std::error::Error for PermissionError {}

/// A runtime call was made with no live runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no runtime is initialized (call molt_runtime_init first)")]
pub struct NotInitialized;

/// The text of a panic payload (a `&str` or `String` message, as `panic!` makes).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

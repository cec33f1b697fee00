//! Runtime configuration: what `Runtime::new` and `molt_runtime_init` build from.
//!
//! Every setting has a programmatic form and most have an environment variable, read once at
//! init (never on a hot path). An explicit setting wins over the environment.
//!
//! | setting | `Config` field | environment |
//! |---|---|---|
//! | argv (`sys.argv`) | [`Config::argv`] | – (C: `molt_runtime_set_argv`) |
//! | hash seed | [`Config::hash_seed`] | `MOLT_HASHSEED` (CPython's `PYTHONHASHSEED` meaning) |
//! | capabilities | [`Config::capabilities`] | `MOLT_CAPABILITIES` (comma-separated) |
//! | allocation registry | [`Config::track_allocations`] | `MOLT_ALLOC_REGISTRY=1` (on by default in debug builds) |
//! | shutdown wait bound | [`Config::shutdown_timeout`] | – |
//! | task worker threads | [`Config::workers`] | `MOLT_WORKERS` (0: tasks run on the joining thread) |
//! | fault injection (tests) | [`Config::fail_at`] | `MOLT_FAIL_INIT_AT=<step name>` |

use crate::error::{InitError, InitStep};
use crate::hash::HashSeed;
use std::time::Duration;

/// Environment variable holding the hash seed.
pub const ENV_HASHSEED: &str = "MOLT_HASHSEED";
/// Environment variable holding the comma-separated capability set.
pub const ENV_CAPABILITIES: &str = "MOLT_CAPABILITIES";
/// Environment variable turning the allocation registry on (`1`) or off (`0`).
pub const ENV_ALLOC_REGISTRY: &str = "MOLT_ALLOC_REGISTRY";
/// Environment variable holding the number of task worker threads.
pub const ENV_WORKERS: &str = "MOLT_WORKERS";
/// The most task worker threads a runtime may have.
pub const MAX_WORKERS: usize = 256;
/// Environment variable naming an init step to fail (fault injection, for tests).
pub const ENV_FAIL_INIT_AT: &str = "MOLT_FAIL_INIT_AT";

/// Settings for a new runtime.
#[derive(Debug, Clone)]
pub struct Config {
    /// The program's arguments, exposed as `sys.argv`.
    pub argv: Vec<String>,
    /// Hash seed; `None` reads `MOLT_HASHSEED`, and without it uses OS randomness.
    pub hash_seed: Option<HashSeed>,
    /// Capability names granted to the program; `None` reads `MOLT_CAPABILITIES` (absent:
    /// none granted).
    pub capabilities: Option<Vec<String>>,
    /// Whether the allocation registry counts; `None` reads `MOLT_ALLOC_REGISTRY`, and
    /// without it is on in debug builds and off in release builds.
    pub track_allocations: Option<bool>,
    /// How long shutdown waits for other threads to leave the runtime, and for running tasks
    /// to finish, before it returns `Busy` and leaves the runtime running.
    pub shutdown_timeout: Duration,
    /// Number of scheduler worker threads that run tasks (started on the first spawn, so
    /// init stays cheap); `None` reads `MOLT_WORKERS`, and without it uses the machine's
    /// parallelism, at most 4. `Some(0)`: no worker threads, tasks run on the thread that
    /// joins them (also what targets without threads do).
    pub workers: Option<usize>,
    /// Whether unset settings are read from the environment (default `true`). Tests that
    /// must not depend on the caller's environment set it to `false`.
    pub read_env: bool,
    /// Fault injection: make this init step fail, to test that init is all-or-nothing.
    /// `None` reads `MOLT_FAIL_INIT_AT` (when `read_env`).
    pub fail_at: Option<InitStep>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            argv: Vec::new(),
            hash_seed: None,
            capabilities: None,
            track_allocations: None,
            shutdown_timeout: Duration::from_secs(1),
            workers: None,
            read_env: true,
            fail_at: None,
        }
    }
}

/// A [`Config`] with every environment lookup done and every value validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `sys.argv`.
    pub argv: Vec<String>,
    /// The hash seed.
    pub hash_seed: HashSeed,
    /// Granted capability names, as given (validated when the cache is built).
    pub capabilities: Vec<String>,
    /// Whether the allocation registry counts.
    pub track_allocations: bool,
    /// Shutdown's wait bound.
    pub shutdown_timeout: Duration,
    /// Task worker threads; `None`: the machine's parallelism, at most 4, decided when the
    /// first task is spawned.
    pub workers: Option<usize>,
    /// The init step to fail, if any.
    pub fail_at: Option<InitStep>,
}

/// Reads an environment variable of the process: `Err` if it is set but not UTF-8.
pub fn process_env(name: &str) -> Result<Option<String>, String> {
    match std::env::var(name) {
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(format!("environment variable {name} is not valid UTF-8"))
        }
    }
}

impl Config {
    /// Resolves environment fallbacks (from the process environment) and validates
    /// everything: what init does first.
    pub fn resolve(&self) -> Result<Resolved, InitError> {
        self.resolve_with(process_env)
    }

    /// [`resolve`](Self::resolve) with `env` standing in for the process environment (so
    /// tests need not mutate the real one).
    pub fn resolve_with(
        &self,
        env: impl Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<Resolved, InitError> {
        let env = |name| {
            if self.read_env {
                env(name).map_err(InitError::config)
            } else {
                Ok(None)
            }
        };
        let hash_seed = match self.hash_seed {
            Some(seed) => seed,
            None => match env(ENV_HASHSEED)? {
                // As PYTHONHASHSEED: set but empty means random.
                Some(v) if v.is_empty() => HashSeed::Random,
                Some(v) => v
                    .parse::<HashSeed>()
                    .map_err(|e| InitError::config(format!("{ENV_HASHSEED}: {e}")))?,
                None => HashSeed::Random,
            },
        };
        let capabilities = match &self.capabilities {
            Some(caps) => caps.clone(),
            None => match env(ENV_CAPABILITIES)? {
                Some(v) => v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => Vec::new(),
            },
        };
        let track_allocations = match self.track_allocations {
            Some(on) => on,
            None => match env(ENV_ALLOC_REGISTRY)?.as_deref() {
                Some("1" | "true" | "on" | "yes") => true,
                Some("0" | "false" | "off" | "no") => false,
                Some(other) => {
                    return Err(InitError::config(format!(
                        "{ENV_ALLOC_REGISTRY}: expected 1 or 0, got {other:?}"
                    )));
                }
                None => cfg!(debug_assertions),
            },
        };
        let workers = match self.workers {
            Some(n) => Some(n),
            None => match env(ENV_WORKERS)? {
                Some(v) => Some(v.trim().parse::<usize>().map_err(|e| {
                    InitError::config(format!("{ENV_WORKERS}: expected a thread count: {e}"))
                })?),
                None => None,
            },
        };
        if let Some(n) = workers
            && n > MAX_WORKERS
        {
            return Err(InitError::config(format!(
                "workers: {n} is more than the maximum of {MAX_WORKERS}"
            )));
        }
        let fail_at = match self.fail_at {
            Some(step) => Some(step),
            None => match env(ENV_FAIL_INIT_AT)? {
                Some(v) => Some(v.parse::<InitStep>().map_err(|()| {
                    InitError::config(format!(
                        "{ENV_FAIL_INIT_AT}: unknown init step {v:?} (expected one of {})",
                        InitStep::ALL.map(InitStep::name).join(", ")
                    ))
                })?),
                None => None,
            },
        };
        Ok(Resolved {
            argv: self.argv.clone(),
            hash_seed,
            capabilities,
            track_allocations,
            shutdown_timeout: self.shutdown_timeout,
            workers,
            fail_at,
        })
    }
}

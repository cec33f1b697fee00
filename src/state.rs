//! `RuntimeState`: the one owner of every piece of runtime-global state.
//!
//! Built by [`RuntimeState::new`] in the strict order of [`InitStep`] and destroyed by
//! [`RuntimeState::teardown`], the single teardown routine that both `Runtime::shutdown` and
//! `Drop` (and the C ABI's `molt_runtime_shutdown`) use. If any init step fails, everything
//! built so far is dropped by ordinary Rust unwinding of the locals, so a failed init leaves
//! nothing behind.

use crate::builtins::{BuiltinClasses, ClassId};
use crate::caps::Capabilities;
use crate::config::{Config, Resolved};
use crate::error::{InitError, InitStep, PermissionError};
use crate::hash::HashSecret;
use crate::intern::{Interner, Symbol};
use crate::report::{OwnerStat, TeardownReport};
use molt_arenas::arena::{Arena, FrozenArena};
use molt_arenas::handles::RuntimeId;
use molt_arenas::registry::{AllocRegistry, LeakReport, Tracker};
use molt_arenas::sync::{Arc, Mutex, MutexGuard};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Names of the allocation kinds the runtime registers, in registration order.
pub mod kinds {
    /// Bump arena of runtime-global plain data (class bases/MROs, capability names).
    pub const GLOBAL_ARENA: &str = "arena.global";
    /// Bump arena of interned name text.
    pub const INTERNED_TEXT: &str = "arena.interned-names";
    /// Class records in the class handle table.
    pub const CLASSES: &str = "table.classes";
    /// Exception type cache entries.
    pub const EXCEPTION_CACHE: &str = "cache.exception-types";
    /// argv strings.
    pub const ARGV: &str = "argv";
}

/// The mutable part of a runtime, behind its runtime lock (the GIL).
#[derive(Debug)]
pub struct Interp {
    /// Interned names (base names first, then names interned at run time).
    pub(crate) interner: Interner,
    /// `sys.argv`.
    argv: Vec<String>,
    argv_tracker: Option<Tracker>,
}

impl Interp {
    /// Interns `name`.
    pub fn intern(&mut self, name: &str) -> Symbol {
        self.interner.intern(name)
    }

    /// The text of an interned name of this runtime.
    pub fn name(&self, sym: Symbol) -> Option<&str> {
        self.interner.name(sym)
    }

    /// Number of interned names.
    pub fn interned_count(&self) -> usize {
        self.interner.len()
    }

    /// `sys.argv`.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Replaces `sys.argv`.
    pub fn set_argv(&mut self, argv: Vec<String>) {
        let bytes = |v: &[String]| v.iter().map(|s| s.len() as u64).sum::<u64>();
        if let Some(t) = &self.argv_tracker {
            t.free(self.argv.len() as u64, bytes(&self.argv));
            t.alloc(argv.len() as u64, bytes(&argv));
        }
        self.argv = argv;
    }
}

/// Every piece of runtime-global state of one runtime.
///
/// Owners, in init order (teardown runs in reverse, see [`RuntimeState::teardown`]):
/// 1. allocation registry and global arena;
/// 2. hash secret;
/// 3. interned names (in [`Interp`], behind the runtime lock);
/// 4. builtin classes with `__bases__`/`__mro__`;
/// 5. caches: exception type cache, capability cache, argv.
///
/// Owners still to come plug in at the marked places: method tables and the method cache
/// next to the builtin classes; module cache and last-exception tracking next to the
/// exception type cache; object pools (per runtime, with per-thread caches) and async
/// registries (tasks, cancel tokens, per-task exception state, worker threads), which
/// teardown quiesces and drains first.
#[derive(Debug)]
pub struct RuntimeState {
    id: RuntimeId,
    config: Resolved,
    registry: Arc<AllocRegistry>,
    hash_secret: HashSecret,
    /// Runtime-global plain data (class bases and MROs, capability names), frozen after init.
    arena: FrozenArena,
    classes: BuiltinClasses,
    // -- method tables and the method cache join `classes` here.
    exception_types: HashMap<Symbol, ClassId>,
    exception_tracker: Option<Tracker>,
    // -- module cache and last-exception tracking join the exception type cache here.
    capabilities: Capabilities,
    // -- object pools and async registries (tasks, cancel tokens, workers) go here.
    interp: Mutex<Interp>,
    init_time: Duration,
}

fn step_ok(fail_at: Option<InitStep>, step: InitStep) -> Result<(), InitError> {
    if fail_at == Some(step) {
        Err(InitError::injected(step))
    } else {
        Ok(())
    }
}

fn tracker(
    registry: &Arc<AllocRegistry>,
    name: &'static str,
    step: InitStep,
) -> Result<Option<Tracker>, InitError> {
    if !registry.is_enabled() {
        return Ok(None);
    }
    Tracker::new(registry, name)
        .map(Some)
        .map_err(|e| InitError::new(step, e.to_string()))
}

impl RuntimeState {
    /// Builds a complete runtime state from `config`, in the strict init order. On error,
    /// everything built so far has been dropped.
    pub fn new(config: &Config) -> Result<Self, InitError> {
        let started = Instant::now();
        let fail_at = config.fail_at;
        step_ok(fail_at, InitStep::Config)?;
        let config = config.resolve()?;
        let fail_at = config.fail_at;

        step_ok(fail_at, InitStep::Arena)?;
        let id = RuntimeId::fresh();
        let registry = Arc::new(AllocRegistry::new(config.track_allocations));
        let arena = Arena::new(tracker(&registry, kinds::GLOBAL_ARENA, InitStep::Arena)?);

        step_ok(fail_at, InitStep::HashSecret)?;
        let hash_secret = HashSecret::new(config.hash_seed)
            .map_err(|e| InitError::new(InitStep::HashSecret, e.to_string()))?;

        step_ok(fail_at, InitStep::InternNames)?;
        let mut interner = Interner::with_base_names(tracker(
            &registry,
            kinds::INTERNED_TEXT,
            InitStep::InternNames,
        )?);

        step_ok(fail_at, InitStep::BuiltinClasses)?;
        let classes = BuiltinClasses::build(
            id,
            &mut interner,
            &arena,
            tracker(&registry, kinds::CLASSES, InitStep::BuiltinClasses)?,
        )
        .map_err(|e| InitError::new(InitStep::BuiltinClasses, e))?;

        step_ok(fail_at, InitStep::Caches)?;
        let capabilities = Capabilities::parse(&config.capabilities, &arena)
            .map_err(|e| InitError::new(InitStep::Caches, e.to_string()))?;
        let arena = arena.freeze();
        let exception_tracker = tracker(&registry, kinds::EXCEPTION_CACHE, InitStep::Caches)?;
        let exception_types: HashMap<Symbol, ClassId> = classes
            .iter()
            .filter(|&c| classes.is_exception(&arena, c))
            .map(|c| (classes.get(c).expect("own class").name, c))
            .collect();
        if let Some(t) = &exception_tracker {
            t.alloc(
                exception_types.len() as u64,
                (exception_types.len() * size_of::<(Symbol, ClassId)>()) as u64,
            );
        }
        let mut interp = Interp {
            interner,
            argv: Vec::new(),
            argv_tracker: tracker(&registry, kinds::ARGV, InitStep::Caches)?,
        };
        interp.set_argv(config.argv.clone());

        step_ok(fail_at, InitStep::Publish)?;
        Ok(Self {
            id,
            config,
            registry,
            hash_secret,
            arena,
            classes,
            exception_types,
            exception_tracker,
            capabilities,
            interp: Mutex::new(interp),
            init_time: started.elapsed(),
        })
    }

    /// This runtime's identity (never reused in the process).
    pub fn id(&self) -> RuntimeId {
        self.id
    }

    /// How long init took.
    pub fn init_time(&self) -> Duration {
        self.init_time
    }

    /// The bound shutdown waits for other threads to leave.
    pub fn shutdown_timeout(&self) -> Duration {
        self.config.shutdown_timeout
    }

    /// Takes the runtime lock (the GIL) and gives access to the mutable state.
    pub fn lock(&self) -> MutexGuard<'_, Interp> {
        // A panic while holding the lock cannot leave `Interp` half-updated in a way that
        // matters for memory safety (it is plain owned data), so poisoning is ignored.
        self.interp.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The builtin classes.
    pub fn classes(&self) -> &BuiltinClasses {
        &self.classes
    }

    /// The runtime-global arena (class bases and MROs, capability names).
    pub fn arena(&self) -> &FrozenArena {
        &self.arena
    }

    /// The exception class called `name` (from the exception type cache).
    pub fn exception_type(&self, name: &str) -> Option<ClassId> {
        let sym = self.lock().interner.lookup(name)?;
        self.exception_types.get(&sym).copied()
    }

    /// Number of entries in the exception type cache.
    pub fn exception_type_count(&self) -> usize {
        self.exception_types.len()
    }

    /// Succeeds if `capability` was granted, otherwise a `PermissionError`.
    pub fn require(&self, capability: &str) -> Result<(), PermissionError> {
        self.capabilities.require(&self.arena, capability)
    }

    /// The granted capabilities, sorted.
    pub fn capabilities(&self) -> Vec<String> {
        self.capabilities
            .names(&self.arena)
            .map(str::to_owned)
            .collect()
    }

    /// `hash(s)` for a str, as CPython 3.11 computes it under the same hash seed.
    pub fn hash_str(&self, s: &str) -> i64 {
        crate::hash::hash_str(&self.hash_secret, s)
    }

    /// The allocation registry.
    pub fn registry(&self) -> &AllocRegistry {
        &self.registry
    }

    /// What each owner holds now (for reports and tests).
    pub fn held(&self) -> Vec<OwnerStat> {
        let interp = self.lock();
        vec![
            OwnerStat::new(
                "interned names",
                interp.interner.len() as u64,
                interp.interner.text_bytes(),
            ),
            OwnerStat::new("builtin classes", self.classes.len() as u64, 0),
            OwnerStat::new("exception type cache", self.exception_types.len() as u64, 0),
            OwnerStat::new("capabilities", self.capabilities.len() as u64, 0),
            OwnerStat::new(
                "argv",
                interp.argv.len() as u64,
                interp.argv.iter().map(|s| s.len() as u64).sum(),
            ),
            OwnerStat::new(
                "global arena",
                self.arena.allocation_count(),
                self.arena.allocated_bytes(),
            ),
        ]
    }

    /// The leak report as of now (non-empty while the runtime is alive and tracking).
    pub fn live_allocations(&self) -> LeakReport {
        self.registry.leak_report()
    }

    /// Tears the runtime down, completely, and reports what it held and what leaked.
    ///
    /// The one teardown routine. Order (each step drops what it names):
    /// 1. quiesce — the callers guarantee no other thread is inside (the C ABI waits for
    ///    entrants; the Rust API owns the runtime); tasks and workers join here when they exist;
    /// 2. caches: exception type cache, argv, capability cache;
    /// 3. builtin classes (method tables will go with them);
    /// 4. interned names, then the global arena, wholesale;
    /// 5. the hash secret is wiped (and the memory that held it dropped);
    /// 6. the registry, now only referenced here, yields the leak report.
    pub fn teardown(self) -> TeardownReport {
        let started = Instant::now();
        let held = self.held();
        let RuntimeState {
            id,
            config: _,
            registry,
            mut hash_secret,
            arena,
            classes,
            exception_types,
            exception_tracker,
            capabilities,
            interp,
            init_time,
        } = self;
        // 2. caches.
        if let Some(t) = &exception_tracker {
            t.free(
                exception_types.len() as u64,
                (exception_types.len() * size_of::<(Symbol, ClassId)>()) as u64,
            );
        }
        drop(exception_types);
        drop(exception_tracker);
        let mut interp = interp.into_inner().unwrap_or_else(|e| e.into_inner());
        interp.set_argv(Vec::new());
        drop(capabilities);
        // 3. classes.
        drop(classes);
        // 4. names and the arena.
        drop(interp);
        drop(arena);
        // 5. the hash secret.
        hash_secret.wipe();
        let hash_secret_wiped = hash_secret.is_wiped();
        drop(hash_secret);
        // 6. report.
        let leaks = registry.leak_report();
        let registry_stats = registry.stats();
        TeardownReport {
            runtime: id,
            init_time,
            shutdown_time: started.elapsed(),
            held,
            registry_enabled: registry.is_enabled(),
            registry: registry_stats,
            leaks,
            hash_secret_wiped,
        }
    }
}

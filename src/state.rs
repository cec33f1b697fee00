//! `RuntimeState`: the one owner of every piece of runtime-global state.
//!
//! Built by [`PinnedState::new`](crate::pinned::PinnedState::new) (through
//! `RuntimeState::build`) in the strict order of [`InitStep`] and destroyed by
//! `RuntimeState::teardown`, the single teardown routine that both `Runtime::shutdown` and
//! `Drop` (and the C ABI's `molt_runtime_shutdown`) use. If any init step fails, everything
//! built so far is dropped by ordinary Rust unwinding of the locals, so a failed init leaves
//! nothing behind.

use crate::builtins::{BuiltinClasses, CLASS_COUNT, ClassId, static_is_exception};
use crate::caps::Capabilities;
use crate::config::{Config, Resolved};
use crate::error::{InitError, InitStep, PermissionError};
use crate::gil::{ExcState, Gil, GilError, ModuleInit};
use crate::hash::HashSecret;
use crate::intern::{Interner, Symbol};
use crate::object::natives::{BUILTIN_NATIVES, Native};
use crate::object::types::{TypeObj, Types};
use crate::object::{HEAP_KIND_NAMES, Heap, Object};
use crate::report::{OwnerStat, TeardownReport};
use crate::tasks::Tasks;
use crate::thread_state::{GilCondvar, GilLock};
use crate::value::{Value, runtime_stamp_parts, stamp};
use hashbrown::HashMap;
use molt_arenas::arena::{Arena, FrozenArena};
use molt_arenas::handles::RuntimeId;
use molt_arenas::registry::{AllocRegistry, LeakReport, Tracker};
use molt_arenas::sync::Arc;
use std::time::{Duration, Instant};

/// Names of the allocation kinds the runtime registers, in registration order.
pub mod kinds {
    /// Bump arena of runtime-global plain data (capability names).
    pub const GLOBAL_ARENA: &str = "arena.global";
    /// Bump arena of interned name text.
    pub const INTERNED_TEXT: &str = "arena.interned-names";
    /// Class records in the class handle table.
    pub const CLASSES: &str = "table.classes";
    /// argv strings.
    pub const ARGV: &str = "argv";
    /// Native functions (builtin methods and host functions).
    pub const NATIVES: &str = "table.natives";
    /// User classes.
    pub const USER_CLASSES: &str = "table.user-classes";
    /// The method cache.
    pub const METHOD_CACHE: &str = "cache.methods";
    /// Task records.
    pub const TASKS: &str = "table.tasks";
    /// Cancel tokens.
    pub const CANCEL_TOKENS: &str = "table.cancel-tokens";
}

/// The mutable part of a runtime, behind its runtime lock (the GIL).
#[derive(Debug)]
pub struct LockedState {
    /// Interned names (base names first, then names interned at run time).
    pub(crate) interner: Interner,
    /// `sys.argv`.
    argv: Vec<String>,
    argv_tracker: Option<Tracker>,
    /// Heap objects (reference counted).
    pub(crate) heap: Heap,
    /// Every class (builtin first, then user classes) and the method cache.
    pub(crate) types: Types,
    /// Native functions (builtin methods and functions first, then host functions).
    pub(crate) natives: Vec<Native>,
    pub(crate) natives_stamp: u32,
    /// Host functions (Rust closures, C functions with user data), dropped at teardown.
    pub(crate) host_fns: crate::object::natives::HostFns,
    natives_tracker: Option<Tracker>,
    user_class_tracker: Option<Tracker>,
    /// The module cache (owned references).
    pub(crate) modules: HashMap<Symbol, Value>,
    /// Host modules not yet imported.
    pub(crate) module_inits: HashMap<Symbol, ModuleInit>,
    /// Per-thread current and last exception.
    pub(crate) exc: HashMap<u64, ExcState>,
    /// Async registries: tasks, cancel tokens, timers, worker threads.
    pub(crate) tasks: Tasks,
    /// `sys.getrecursionlimit()` (CPython's default, 1000); see [`Gil::recursion_enter`].
    pub(crate) recursion_limit: u32,
    /// `sys.get_int_max_str_digits()` (CPython's default, 4300; 0: no limit).
    pub(crate) int_max_str_digits: usize,
    /// Levels of recursive operations (comparison, repr, str, native re-entry) the lock
    /// holder is inside.
    pub(crate) recursion_depth: u32,
}

impl LockedState {
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

    /// Replaces `sys.argv` (also in the `sys` module, if it was imported).
    pub fn set_argv(&mut self, argv: Vec<String>) {
        let bytes = |v: &[String]| v.iter().map(|s| s.len() as u64).sum::<u64>();
        if let Some(t) = &self.argv_tracker {
            t.free(self.argv.len() as u64, bytes(&self.argv));
            t.alloc(argv.len() as u64, bytes(&argv));
        }
        self.argv = argv;
        if let Some(&sys) = self.modules.get(&crate::intern::sym::sys) {
            let mut items = Vec::with_capacity(self.argv.len());
            for a in &self.argv {
                let obj = Object::Str(crate::object::StrObj {
                    text: a.as_str().into(),
                    chars: crate::object::char_count(a),
                    hash: -1,
                });
                match self.heap.alloc(obj) {
                    Some(v) => items.push(v),
                    None => break,
                }
            }
            let Some(list) = self.heap.alloc(Object::List(items)) else {
                return;
            };
            let old = match self.heap.get_mut(sys) {
                Ok(Object::Module { namespace: ns, .. }) => {
                    ns.insert(crate::intern::sym::argv, list)
                }
                _ => Some(list),
            };
            if let Some(old) = old {
                let _ = self.heap.decref(old);
            }
        }
    }

    pub(crate) fn push_native(&mut self, native: Native) -> u32 {
        let i = self.natives.len() as u32;
        self.natives.push(native);
        if let Some(t) = &self.natives_tracker {
            t.alloc(1, size_of::<Native>() as u64);
        }
        i
    }

    pub(crate) fn user_class_added(&self) {
        if let Some(t) = &self.user_class_tracker {
            t.alloc(1, size_of::<TypeObj>() as u64);
        }
    }
}

/// Every piece of runtime-global state of one runtime.
///
/// Owners, in init order (teardown runs in reverse, see `RuntimeState::teardown`):
/// 1. allocation registry and global arena;
/// 2. hash secret;
/// 3. the interner (in [`LockedState`], behind the runtime lock; the static names are program
///    data);
/// 4. builtin class handles and the native table (their `__bases__`/`__mro__` and method
///    tables are program data: see [`crate::builtins`]);
/// 5. caches: the class table with its method cache, capability cache, argv.
///
/// Behind the runtime lock ([`LockedState`]): method tables and the method cache, the object heap
/// on its pool, the module cache, per-thread and per-task exception state, and the async
/// registries (tasks, cancel tokens, timers, worker threads), which shutdown quiesces and
/// stops first (see `tasks`).
#[derive(Debug)]
pub struct RuntimeState {
    id: RuntimeId,
    config: Resolved,
    registry: Arc<AllocRegistry>,
    hash_secret: HashSecret,
    /// Runtime-global plain data (capability names), frozen after init.
    arena: FrozenArena,
    classes: BuiltinClasses,
    capabilities: Capabilities,
    /// The mutable state, accessed only by the thread that holds `gil` (through a token).
    locked: std::cell::UnsafeCell<LockedState>,
    /// The runtime lock of an owned runtime (see `crate::thread_state`).
    gil: GilLock,
    /// The lock in use when it is not `gil`: a runtime published in a `RuntimeSlot` uses the
    /// slot's, which outlives it, so that a C call can take it before it knows the runtime
    /// is alive (see `RuntimeSlot::with_gil`). Set once, before the state is shared.
    gil_at: molt_arenas::sync::AtomicPtr<GilLock>,
    /// Condition variables of the GIL: scheduler workers wait on `work_cv` for ready tasks,
    /// the sleep worker on `timer_cv` for its next timer, joiners and sleeping tasks on
    /// `done_cv` for task state changes.
    pub(crate) work_cv: GilCondvar,
    pub(crate) timer_cv: GilCondvar,
    pub(crate) done_cv: GilCondvar,
    /// Shutdown began: spawns are refused (see `RuntimeState::close_spawns`).
    pub(crate) spawns_closed: molt_arenas::sync::AtomicBool,
    /// Set by a `Runtime` dropped inside one of its tasks: the owning pointer, for the
    /// worker that then tears the runtime down (see `tasks`).
    pub(crate) orphan: molt_arenas::sync::AtomicPtr<RuntimeState>,
    init_time: Duration,
}

// SAFETY: every field but `locked` is `Sync`; `locked` is only accessed through a `Gil`
// token, and a token exists only on the thread that holds `gil`, which serializes access
// (the GIL's acquire/release orderings order one holder's accesses before the next's).
// `LockedState` is `Send`, so handing it from thread to thread with the GIL is sound.
unsafe impl Sync for RuntimeState {}

// Worker threads share the state by reference (see tasks::StatePtr).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<LockedState>();
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RuntimeState>();
};

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
    /// everything built so far has been dropped. Only [`PinnedState::new`] calls this: the
    /// state must reach its final address before any worker thread can point at it.
    ///
    /// [`PinnedState::new`]: crate::pinned::PinnedState::new
    pub(crate) fn build(config: &Config) -> Result<Self, InitError> {
        let started = Instant::now();
        let fail_at = config.fail_at;
        step_ok(fail_at, InitStep::Config)?;
        let config = config.resolve()?;
        let fail_at = config.fail_at;
        // `MOLT_FAIL_INIT_AT=config` is only known once the environment has been read.
        step_ok(fail_at, InitStep::Config)?;

        step_ok(fail_at, InitStep::Arena)?;
        let id = RuntimeId::fresh();
        let registry = Arc::new(AllocRegistry::new(config.track_allocations));
        let arena = Arena::new(tracker(&registry, kinds::GLOBAL_ARENA, InitStep::Arena)?);

        step_ok(fail_at, InitStep::HashSecret)?;
        let hash_secret = HashSecret::new(config.hash_seed)
            .map_err(|e| InitError::new(InitStep::HashSecret, e.to_string()))?;

        step_ok(fail_at, InitStep::InternNames)?;
        // The static names are program data: the interner starts with nothing to copy.
        let interner = Interner::with_base_names(tracker(
            &registry,
            kinds::INTERNED_TEXT,
            InitStep::InternNames,
        )?);

        step_ok(fail_at, InitStep::BuiltinClasses)?;
        // Bases, MROs and method tables are program data (see `crate::builtins`); the
        // runtime's part is its class handles, its class table and its native table.
        let classes = BuiltinClasses::build(
            id,
            tracker(&registry, kinds::CLASSES, InitStep::BuiltinClasses)?,
        );
        let natives = BUILTIN_NATIVES.to_vec();
        let natives_tracker = tracker(&registry, kinds::NATIVES, InitStep::BuiltinClasses)?;
        if let Some(t) = &natives_tracker {
            t.alloc(
                natives.len() as u64,
                (natives.len() * size_of::<Native>()) as u64,
            );
        }

        step_ok(fail_at, InitStep::Caches)?;
        let (tag, version_start) = runtime_stamp_parts(id.get());
        let types = Types::new(
            tag,
            version_start,
            tracker(&registry, kinds::METHOD_CACHE, InitStep::Caches)?,
        );
        let heap_trackers = if registry.is_enabled() {
            let mut v = Vec::with_capacity(HEAP_KIND_NAMES.len());
            for name in HEAP_KIND_NAMES {
                v.push(tracker(&registry, name, InitStep::Caches)?.expect("registry enabled"));
            }
            Some(v)
        } else {
            None
        };
        let heap = Heap::new(tag, version_start, heap_trackers);
        let capabilities = Capabilities::parse(&config.capabilities, &arena)
            .map_err(|e| InitError::new(InitStep::Caches, e.to_string()))?;
        let arena = arena.freeze();
        let mut locked = LockedState {
            interner,
            argv: Vec::new(),
            argv_tracker: tracker(&registry, kinds::ARGV, InitStep::Caches)?,
            heap,
            types,
            natives,
            natives_stamp: stamp(tag, version_start),
            host_fns: Default::default(),
            natives_tracker,
            user_class_tracker: tracker(&registry, kinds::USER_CLASSES, InitStep::Caches)?,
            modules: HashMap::new(),
            module_inits: HashMap::new(),
            exc: HashMap::new(),
            tasks: Tasks::new(
                id,
                config.workers,
                match (
                    tracker(&registry, kinds::TASKS, InitStep::Caches)?,
                    tracker(&registry, kinds::CANCEL_TOKENS, InitStep::Caches)?,
                ) {
                    (Some(a), Some(b)) => Some((a, b)),
                    _ => None,
                },
            ),
            recursion_limit: crate::gil::DEFAULT_RECURSION_LIMIT,
            int_max_str_digits: crate::object::bigint::DEFAULT_MAX_STR_DIGITS,
            recursion_depth: 0,
        };
        locked.set_argv(config.argv.clone());

        step_ok(fail_at, InitStep::Publish)?;
        Ok(Self {
            id,
            config,
            registry,
            hash_secret,
            arena,
            classes,
            capabilities,
            locked: std::cell::UnsafeCell::new(locked),
            gil: GilLock::new(),
            gil_at: molt_arenas::sync::AtomicPtr::new(std::ptr::null_mut()),
            work_cv: GilCondvar::new(),
            timer_cv: GilCondvar::new(),
            done_cv: GilCondvar::new(),
            spawns_closed: molt_arenas::sync::AtomicBool::new(false),
            orphan: molt_arenas::sync::AtomicPtr::new(std::ptr::null_mut()),
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

    /// Takes the GIL and gives access to the mutable state (a [`Gil`] token seen as the
    /// [`LockedState`] it guards). Panics as [`gil`](Self::gil) does.
    pub fn lock(&self) -> LockedGuard<'_> {
        LockedGuard(self.gil())
    }

    #[inline]
    pub(crate) fn gil_lock(&self) -> &GilLock {
        let p = self.gil_at.load(molt_arenas::sync::Ordering::Relaxed);
        if p.is_null() {
            &self.gil
        } else {
            // SAFETY: set by `use_slot_gil` to the lock of the slot that publishes this state,
            // which outlives it (the slot frees the state before it could go away).
            unsafe { &*p }
        }
    }

    /// Makes this state use `lock` (its slot's) as its GIL. Called before the state is
    /// shared; `lock` must outlive the state.
    pub(crate) fn use_slot_gil(&self, lock: &GilLock) {
        self.gil_at.store(
            std::ptr::from_ref(lock).cast_mut(),
            molt_arenas::sync::Ordering::Relaxed,
        );
    }

    pub(crate) fn locked_ptr(&self) -> std::ptr::NonNull<LockedState> {
        // SAFETY: `UnsafeCell::get` is never null.
        unsafe { std::ptr::NonNull::new_unchecked(self.locked.get()) }
    }

    /// The builtin classes.
    pub fn classes(&self) -> &BuiltinClasses {
        &self.classes
    }

    /// The runtime-global arena (capability names).
    pub fn arena(&self) -> &FrozenArena {
        &self.arena
    }

    /// The builtin exception class called `name`.
    pub fn exception_type(&self, name: &str) -> Option<ClassId> {
        self.classes.exception_type(name)
    }

    /// Takes the GIL and returns the token of the object-model API, waiting while another
    /// thread holds it. On a thread that already holds it without a usable token (through
    /// `molt_gil_acquire`, or inside a C native function), the token nests.
    ///
    /// # Panics
    /// If a token of this runtime is already live on this thread (a native function calling
    /// `g.runtime().gil()`, or `rt.gil()` twice): use that token. [`try_gil`](Self::try_gil)
    /// returns the error instead.
    pub fn gil(&self) -> Gil<'_> {
        match self.try_gil() {
            Ok(g) => g,
            Err(e) => panic!("RuntimeState::gil (use try_gil to handle it): {e}"),
        }
    }

    /// [`gil`](Self::gil), failing at once with [`GilError::InUse`] instead of panicking.
    pub fn try_gil(&self) -> Result<Gil<'_>, GilError> {
        Gil::enter(self, crate::thread_state::thread_key())
    }

    /// The hash secret.
    pub(crate) fn hash_secret(&self) -> &HashSecret {
        &self.hash_secret
    }

    /// Number of builtin exception classes (what [`exception_type`](Self::exception_type)
    /// can find).
    pub fn exception_type_count(&self) -> usize {
        (0..CLASS_COUNT).filter(|&i| static_is_exception(i)).count()
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
        let locked = self.lock();
        vec![
            OwnerStat::new(
                "interned names",
                locked.interner.len() as u64,
                locked.interner.text_bytes(),
            ),
            OwnerStat::new("builtin classes", self.classes.len() as u64, 0),
            OwnerStat::new(
                "user classes",
                (locked.types.len() - locked.types.builtin_count as usize) as u64,
                0,
            ),
            OwnerStat::new("native functions", locked.natives.len() as u64, 0),
            OwnerStat::new(
                "method cache",
                locked.types.cache_stats().occupied,
                locked.types.cache_bytes() as u64,
            ),
            OwnerStat::new("module cache", locked.modules.len() as u64, 0),
            OwnerStat::new("exception states", locked.exc.len() as u64, 0),
            OwnerStat::new("heap objects", locked.heap.live(), 0),
            OwnerStat::new("task records", locked.tasks.len() as u64, 0),
            OwnerStat::new("capabilities", self.capabilities.len() as u64, 0),
            OwnerStat::new(
                "argv",
                locked.argv.len() as u64,
                locked.argv.iter().map(|s| s.len() as u64).sum(),
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
    /// 1. quiesce — done by the callers before: no other thread is inside (the C ABI waits
    ///    for entrants; the Rust API owns the runtime), and [`quiesce`](Self::quiesce) and
    ///    [`stop_workers`](Self::stop_workers) cancelled pending tasks, waited for running
    ///    ones, joined the worker threads and cleared the async registries (task records,
    ///    cancel tokens, timers, per-task exception state);
    /// 2. caches: module cache, per-thread exception state, argv,
    ///    capability cache;
    /// 3. every live heap object, whatever its reference count (so objects a program leaked,
    ///    reference cycles included, are reclaimed; the report lists them);
    /// 4. native functions, the method cache, user classes, builtin classes;
    /// 5. interned names, then the global arena, wholesale;
    /// 6. the hash secret is wiped (and the memory that held it dropped);
    /// 7. the registry, now only referenced here, yields the leak report.
    pub(crate) fn teardown(self) -> TeardownReport {
        let started = Instant::now();
        // Callers stop the workers first (while the state is still at its pinned address);
        // doing it again is a no-op that also covers a state that never started any.
        self.stop_workers();
        let held = self.held();
        let RuntimeState {
            id,
            config: _,
            registry,
            mut hash_secret,
            arena,
            classes,
            capabilities,
            locked,
            gil: _,
            gil_at: _,
            work_cv: _,
            timer_cv: _,
            done_cv: _,
            spawns_closed: _,
            orphan: _,
            init_time,
        } = self;
        let mut locked = locked.into_inner();
        let tasks = locked.tasks.shutdown_report.take().unwrap_or_default();
        // What the program left alive: live objects not accounted for by the runtime's own
        // references (counted before those caches are cleared; see `Heap::held_by`).
        let left_alive: Vec<OwnerStat> = if locked.heap.live() == 0 {
            Vec::new() // nothing but the runtime's own preallocated objects
        } else {
            let roots = locked
                .modules
                .values()
                .copied()
                .chain(
                    locked
                        .exc
                        .values()
                        .flat_map(|s| s.current.into_iter().chain(s.last)),
                )
                .chain(locked.types.user_attribute_values())
                .chain(locked.heap.memory_error());
            let held = locked.heap.held_by(roots);
            HEAP_KIND_NAMES
                .iter()
                .zip(locked.heap.live_by_kind().iter().zip(held))
                .filter(|(_, (live, held))| **live > *held)
                .map(|(name, (live, held))| {
                    OwnerStat::new(name.trim_start_matches("object."), live - held, 0)
                })
                .collect()
        };
        // 2. caches: the module cache and every thread's exception state only hold
        //    references into the heap, which step 3 frees wholesale.
        locked.modules.clear();
        locked.module_inits.clear();
        locked.exc.clear();
        locked.set_argv(Vec::new());
        // The preallocated MemoryError is the runtime's own, not something the program left.
        locked.heap.release_memory_error();
        drop(capabilities);
        // 3. live heap objects, whatever their reference counts (cycles included).
        let (live, pool) = locked.heap.drop_all();
        let reclaimed: Vec<OwnerStat> = HEAP_KIND_NAMES
            .iter()
            .zip(live)
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| OwnerStat::new(name.trim_start_matches("object."), n, 0))
            .collect();
        // 4. method tables, native functions, the method cache, user and builtin classes.
        if let Some(t) = &locked.natives_tracker {
            t.free(
                locked.natives.len() as u64,
                (locked.natives.len() * size_of::<Native>()) as u64,
            );
        }
        locked.natives = Vec::new();
        // Host functions: their user data is freed now (a C function's free_user_data).
        locked.host_fns = Default::default();
        if let Some(t) = &locked.user_class_tracker {
            let n = locked.types.user_count() as u64;
            t.free(n, n * size_of::<TypeObj>() as u64);
        }
        drop(classes);
        // 4. names and the arena.
        drop(locked);
        drop(arena);
        // 5. the hash secret.
        hash_secret.wipe();
        let hash_secret_wiped = hash_secret.is_wiped();
        drop(hash_secret);
        // 6. report.
        let leaks = registry.leak_report();
        let registry_stats = registry.stats();
        TeardownReport {
            reclaimed,
            left_alive,
            pool,
            tasks,
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

/// The GIL held as a view of the mutable state ([`RuntimeState::lock`]).
pub struct LockedGuard<'rt>(Gil<'rt>);

impl std::fmt::Debug for LockedGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LockedGuard({:?})", self.0)
    }
}

impl std::ops::Deref for LockedGuard<'_> {
    type Target = LockedState;
    fn deref(&self) -> &LockedState {
        self.0.locked()
    }
}

impl std::ops::DerefMut for LockedGuard<'_> {
    fn deref_mut(&mut self) -> &mut LockedState {
        self.0.locked_mut()
    }
}

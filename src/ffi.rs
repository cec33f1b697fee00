//! The C ABI: the process-default runtime and its entry points.
//!
//! Conventions, shared by every `molt_*` function:
//! * the return value is a status: [`MOLT_OK`] (0) or a negative `MOLT_ERR_*` code; results
//!   come back through out-parameters;
//! * a failing call stores a message for the calling thread, read with [`molt_last_error`];
//! * every entry point is gated: with no live runtime it returns
//!   [`MOLT_ERR_NOT_INITIALIZED`], never touches memory and never panics;
//! * no panic crosses the boundary: each entry point runs under `catch_unwind`, and a caught
//!   panic becomes [`MOLT_ERR_INTERNAL`];
//! * only these entry points read the published runtime pointer (one atomic add and one
//!   load per call, see [`crate::lifecycle::RuntimeSlot::enter`]).
//!
//! `include/molt_state.h` is generated from this file by cbindgen (a test checks it is
//! current; `MOLT_BLESS=1 cargo test --test all header` rewrites it).

use crate::config::Config;
use crate::error::InitError;
use crate::lifecycle::{Entered, GilStateError, RuntimeSlot};
use crate::state::RuntimeState;
use crate::thread_state::THREAD as THREAD_STATE;
use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// Success.
pub const MOLT_OK: i32 = 0;
/// No runtime is initialized (call `molt_runtime_init` first).
pub const MOLT_ERR_NOT_INITIALIZED: i32 = -1;
/// `molt_runtime_init` failed; the message names the failing step. Nothing was published.
pub const MOLT_ERR_INIT_FAILED: i32 = -2;
/// Shutdown gave up waiting for other threads to leave the runtime; it is still running.
pub const MOLT_ERR_BUSY: i32 = -3;
/// An argument was invalid (null pointer, negative count, bad UTF-8, ...).
pub const MOLT_ERR_INVALID_ARGUMENT: i32 = -4;
/// A required capability is not granted (`PermissionError`).
pub const MOLT_ERR_PERMISSION: i32 = -5;
/// An index was out of range.
pub const MOLT_ERR_INDEX: i32 = -6;
/// A Rust `Gil` token of the runtime is in use on this thread (Rust code called the C ABI
/// while holding one): use the token.
pub const MOLT_ERR_REENTRANT: i32 = -9;
/// A bug inside molt-state was caught at the boundary (a panic); the message says where.
pub const MOLT_ERR_INTERNAL: i32 = -100;

/// The process-default runtime: the only `static` holding runtime state is this slot (a
/// lifecycle word, a pointer and a generation counter).
static DEFAULT: RuntimeSlot = RuntimeSlot::new();

/// Shutdown's wait bound when it cannot read the runtime's own setting.
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    /// The last teardown report, formatted on first request (most hosts never ask, and
    /// formatting costs as much as a third of a cycle).
    static LAST_REPORT: RefCell<Option<LastReport>> = const { RefCell::new(None) };
}

/// A teardown report and, once asked for, its text.
struct LastReport {
    report: Box<crate::TeardownReport>,
    text: Option<CString>,
}

/// A failed call: a status code and the message for `molt_last_error`.
///
/// Boxed, so that an entry point's `Result<(), Failure>` is one pointer that travels in a
/// register: a 32-byte result written and re-read through the stack cost the held path a
/// store-forwarding stall per call.
struct Failure(Box<FailureInner>);

struct FailureInner {
    code: i32,
    message: String,
}

impl Failure {
    #[cold]
    fn new(code: i32, message: impl Into<String>) -> Self {
        Self(Box::new(FailureInner {
            code,
            message: message.into(),
        }))
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(MOLT_ERR_INVALID_ARGUMENT, message)
    }
}

impl From<InitError> for Failure {
    fn from(e: InitError) -> Self {
        Self::new(MOLT_ERR_INIT_FAILED, e.to_string())
    }
}

fn to_cstring(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).expect("NULs were escaped")
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(to_cstring(message)));
}

/// Runs an entry point's body: catches panics, records the failure message.
fn boundary(name: &str, body: impl FnOnce() -> Result<(), Failure>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => MOLT_OK,
        Ok(Err(f)) => {
            set_last_error(&f.0.message);
            f.0.code
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error in {name}: {}",
                crate::error::panic_message(payload.as_ref())
            ));
            MOLT_ERR_INTERNAL
        }
    }
}

/// Enters the default runtime or fails with `MOLT_ERR_NOT_INITIALIZED`.
fn entered(name: &str) -> Result<Entered<'static>, Failure> {
    DEFAULT
        .enter()
        .map_err(|e| Failure::new(MOLT_ERR_NOT_INITIALIZED, format!("{name}: {e}")))
}

/// Runs `body` on the default runtime's state without the GIL (immutable state): through
/// the held path's thread-local when the thread holds the GIL, else entering.
fn with_state<T>(
    name: &str,
    body: impl FnOnce(&RuntimeState) -> Result<T, Failure>,
) -> Result<T, Failure> {
    if let Some(rt) = DEFAULT.held() {
        return body(rt);
    }
    let rt = entered(name)?;
    body(&rt)
}

/// Fails if the out-pointer is NULL (every entry point checks it first).
#[inline]
fn out_arg<T>(out: *mut T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid("out is NULL"));
    }
    Ok(())
}

/// Writes `value` through `out`, or fails if `out` is null.
///
/// # Safety
/// `out` must be null or valid for a write of `T`.
unsafe fn write_out<T>(out: *mut T, value: T, what: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null, and the caller guarantees it is valid for writes.
    unsafe { out.write(value) };
    Ok(())
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string that stays valid during the call.
unsafe fn read_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null and NUL-terminated per the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|e| Failure::invalid(format!("{what} is not valid UTF-8: {e}")))
}

/// Initializes the process-default runtime (configured from the environment: see the
/// README's table of `MOLT_*` variables).
///
/// Idempotent: returns `MOLT_OK` if a runtime is already live; concurrent callers all
/// return `MOLT_OK` after exactly one initialization. On failure returns
/// `MOLT_ERR_INIT_FAILED`, publishes nothing, and a later call may succeed.
#[unsafe(no_mangle)]
pub extern "C" fn molt_runtime_init() -> i32 {
    boundary("molt_runtime_init", || {
        DEFAULT.init(|| RuntimeState::new(&Config::default()))?;
        Ok(())
    })
}

/// Shuts the process-default runtime down and frees all of its state.
///
/// Idempotent: with no runtime (before init, or twice) it returns `MOLT_OK`. Returns
/// `MOLT_ERR_BUSY` (runtime still live and usable) if other threads stay inside the runtime
/// longer than its shutdown timeout. The teardown report is kept for this thread
/// (`molt_last_teardown_report`); with `MOLT_PRINT_TEARDOWN=1` it is also printed to stderr.
#[unsafe(no_mangle)]
pub extern "C" fn molt_runtime_shutdown() -> i32 {
    boundary("molt_runtime_shutdown", || {
        let timeout = DEFAULT
            .enter()
            .map(|rt| rt.shutdown_timeout())
            .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT);
        match DEFAULT.shutdown(timeout) {
            Ok(Some(report)) => {
                if std::env::var_os("MOLT_PRINT_TEARDOWN").is_some_and(|v| v == "1") {
                    eprintln!("{report}");
                }
                let last = LastReport {
                    report: Box::new(report),
                    text: None,
                };
                LAST_REPORT.with(|r| *r.borrow_mut() = Some(last));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) => Err(Failure::new(MOLT_ERR_BUSY, e.to_string())),
        }
    })
}

/// 1 if the process-default runtime is live, 0 otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn molt_runtime_is_initialized() -> i32 {
    i32::from(DEFAULT.is_initialized())
}

/// How many times the process-default runtime has been shut down (a generation counter;
/// values and handles from an earlier generation are rejected).
#[unsafe(no_mangle)]
pub extern "C" fn molt_runtime_generation() -> u64 {
    DEFAULT.generation()
}

/// The message of this thread's last failed call, or NULL if none failed yet.
///
/// The string is owned by molt-state and valid until this thread's next failing call.
#[unsafe(no_mangle)]
pub extern "C" fn molt_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// The text of the teardown report of this thread's last shutdown that tore a runtime
/// down, or NULL if none. Valid until this thread's next such shutdown.
#[unsafe(no_mangle)]
pub extern "C" fn molt_last_teardown_report() -> *const c_char {
    LAST_REPORT.with(|r| {
        let mut r = r.borrow_mut();
        match r.as_mut() {
            Some(last) => last
                .text
                .get_or_insert_with(|| to_cstring(&last.report.to_string()))
                .as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The leak check of this thread's last shutdown that tore a runtime down, for a test
/// harness: writes how many objects the program left alive (references it never dropped,
/// found without the registry, so in release builds too) to `*left_alive` and how many
/// allocations the registry still counted after teardown (0 when it is off) to `*leaked`.
/// `MOLT_ERR_INVALID_ARGUMENT` if this thread has torn no runtime down yet. Works with no
/// runtime.
///
/// # Safety
/// `left_alive` and `leaked` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_last_teardown_counts(left_alive: *mut u64, leaked: *mut u64) -> i32 {
    boundary("molt_last_teardown_counts", || {
        out_arg(left_alive)?;
        out_arg(leaked)?;
        let (alive, leaks) = LAST_REPORT
            .with(|r| {
                r.borrow().as_ref().map(|last| {
                    let leaks: i64 = last.report.leaks.leaks.iter().map(|k| k.live_count()).sum();
                    let leaks = leaks.max(0) as u64;
                    (last.report.left_alive_count(), leaks)
                })
            })
            .ok_or_else(|| Failure::invalid("this thread has not torn a runtime down yet"))?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(left_alive, alive, "left_alive") }?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(leaked, leaks, "leaked") }
    })
}

/// 1 if this thread's last teardown was clean (nothing left alive by the program, nothing
/// leaked), 0 if not, `MOLT_ERR_INVALID_ARGUMENT` if this thread has torn no runtime down.
#[unsafe(no_mangle)]
pub extern "C" fn molt_last_teardown_is_clean() -> i32 {
    let mut answer = 0;
    let status = boundary("molt_last_teardown_is_clean", || {
        answer = LAST_REPORT
            .with(|r| {
                r.borrow()
                    .as_ref()
                    .map(|last| i32::from(last.report.is_clean()))
            })
            .ok_or_else(|| Failure::invalid("this thread has not torn a runtime down yet"))?;
        Ok(())
    });
    if status == MOLT_OK { answer } else { status }
}

/// Replaces `sys.argv` with `argc` NUL-terminated UTF-8 strings.
///
/// # Safety
/// `argv` must point to `argc` pointers, each to a NUL-terminated string, all valid for the
/// duration of the call (`argv` may be NULL when `argc` is 0). The strings are copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_runtime_set_argv(argc: i32, argv: *const *const c_char) -> i32 {
    boundary("molt_runtime_set_argv", || {
        let argc = usize::try_from(argc)
            .map_err(|_| Failure::invalid(format!("argc is negative ({argc})")))?;
        if argc > 0 && argv.is_null() {
            return Err(Failure::invalid("argv is NULL but argc > 0"));
        }
        let mut args = Vec::with_capacity(argc);
        for i in 0..argc {
            // SAFETY: the caller guarantees `argv` points to `argc` pointers.
            let p = unsafe { *argv.add(i) };
            // SAFETY: each pointer is NULL or a NUL-terminated string (caller's contract).
            let s = unsafe { read_str(p, &format!("argv[{i}]")) }?;
            args.push(s.to_owned());
        }
        with_gil("molt_runtime_set_argv", |g| {
            g.st.set_argv(args);
            Ok(())
        })
    })
}

/// Writes the number of `sys.argv` entries to `*out`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_runtime_argv_len(out: *mut usize) -> i32 {
    boundary("molt_runtime_argv_len", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        let n = with_gil("molt_runtime_argv_len", |g| Ok(g.st.argv().len()))?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(out, n, "out") }
    })
}

/// Copies `sys.argv[index]` (UTF-8, NUL-terminated) into `buf` of `cap` bytes and writes its
/// length in bytes (without the NUL) to `*out_len`. If `cap` is too small, writes the needed
/// length and returns `MOLT_ERR_INVALID_ARGUMENT`; `buf` may be NULL when `cap` is 0.
///
/// # Safety
/// `buf` must be valid for `cap` bytes of writes (or NULL with `cap` 0); `out_len` must be
/// valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_runtime_argv_get(
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> i32 {
    boundary("molt_runtime_argv_get", || {
        let arg = with_gil("molt_runtime_argv_get", |g| {
            let argv = g.st.argv();
            argv.get(index).cloned().ok_or_else(|| {
                Failure::new(
                    MOLT_ERR_INDEX,
                    format!(
                        "IndexError: argv index {index} out of range (len {})",
                        argv.len()
                    ),
                )
            })
        })?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(out_len, arg.len(), "out_len") }?;
        if cap <= arg.len() {
            return Err(Failure::invalid(format!(
                "buffer too small: {cap} bytes for {} bytes plus NUL",
                arg.len()
            )));
        }
        if buf.is_null() {
            return Err(Failure::invalid("buf is NULL"));
        }
        // SAFETY: `buf` is valid for `cap > arg.len()` bytes (caller's contract), and a Rust
        // `String` cannot overlap caller memory.
        unsafe {
            std::ptr::copy_nonoverlapping(arg.as_ptr(), buf.cast::<u8>(), arg.len());
            buf.add(arg.len()).write(0);
        }
        Ok(())
    })
}

/// Returns `MOLT_OK` if `capability` (NUL-terminated, e.g. `"fs.read"`) was granted at init,
/// `MOLT_ERR_PERMISSION` otherwise.
///
/// # Safety
/// `capability` must be NULL (an error) or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_capability_require(capability: *const c_char) -> i32 {
    boundary("molt_capability_require", || {
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(capability, "capability") }?;
        with_state("molt_capability_require", |rt| {
            rt.require(name)
                .map_err(|e| Failure::new(MOLT_ERR_PERMISSION, e.to_string()))
        })
    })
}

/// Writes the number of allocations the live runtime's registry counts as live to `*out`
/// (0 when the registry is off).
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_runtime_live_allocations(out: *mut i64) -> i32 {
    boundary("molt_runtime_live_allocations", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        let live = with_state("molt_runtime_live_allocations", |rt| {
            Ok(rt
                .live_allocations()
                .leaks
                .iter()
                .map(|k| k.live_count())
                .sum())
        })?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(out, live, "out") }
    })
}

// ============================================================================ object model

/// A Python exception was raised: it is this thread's current exception (take it with
/// `molt_err_fetch`), and `molt_last_error` describes it ("ValueError: ...").
pub const MOLT_ERR_EXCEPTION: i32 = -7;
/// A value argument does not refer to a live object of the runtime: its object was freed, or
/// it comes from another runtime or one that has shut down. Nothing was touched.
pub const MOLT_ERR_STALE_VALUE: i32 = -8;

/// The bits of `None` (values are NaN-boxed `uint64_t`s; see `docs/ARCHITECTURE.md`).
pub const MOLT_NONE: u64 = 0xFFFB_0000_0000_0000;
/// The bits of `True`.
pub const MOLT_TRUE: u64 = 0xFFFA_0000_0000_0001;
/// The bits of `False`.
pub const MOLT_FALSE: u64 = 0xFFFA_0000_0000_0000;

use crate::gil::{Gil, Raised};
use crate::value::Value;

/// Runs `body` with the default runtime's GIL held: on the held path when the calling
/// thread holds it (one thread-local read), else acquiring it for the call.
#[inline]
fn with_gil<T>(
    name: &str,
    body: impl FnOnce(&mut Gil<'_>) -> Result<T, Failure>,
) -> Result<T, Failure> {
    match DEFAULT.with_gil(body) {
        Ok(r) => r,
        Err(e) => Err(gil_failure(name, e)),
    }
}

#[cold]
fn gil_failure(name: &str, e: GilStateError) -> Failure {
    let code = match e {
        GilStateError::NotInitialized => MOLT_ERR_NOT_INITIALIZED,
        GilStateError::Invalid(_) => MOLT_ERR_INVALID_ARGUMENT,
        GilStateError::TokenInUse => MOLT_ERR_REENTRANT,
    };
    Failure::new(code, format!("{name}: {e}"))
}

/// The failure for a raised exception (which stays current for `molt_err_fetch`).
fn raised(g: &mut Gil<'_>, _r: Raised) -> Failure {
    Failure::new(MOLT_ERR_EXCEPTION, g.describe_current())
}

/// The held path of `molt_incref`/`molt_decref` for a heap value: true if `op` succeeded.
/// Anything else (an immortal value to check, a stale one to report) takes the token path,
/// which finds the same: a failed `op` changed nothing.
#[inline]
fn heap_refcount(
    st: &mut crate::state::Interp,
    bits: u64,
    op: fn(&mut crate::object::Heap, Value) -> Result<(), crate::object::BadValue>,
) -> bool {
    match Value::from_bits(bits) {
        Some(v) if crate::object::is_heap_value(v) => op(&mut st.heap, v).is_ok(),
        _ => false,
    }
}

/// `molt_incref`/`molt_decref`: `op` on a heap value with one lookup (the heap's own check
/// is `value_arg`'s); any other valid value is immortal, so it is only checked.
#[inline]
fn refcount_arg(
    g: &mut Gil<'_>,
    bits: u64,
    op: fn(&mut crate::object::Heap, Value) -> Result<(), crate::object::BadValue>,
) -> Result<(), Failure> {
    match Value::from_bits(bits) {
        Some(v) if crate::object::is_heap_value(v) => {
            op(&mut g.st.heap, v).map_err(|_| stale(g, bits, "value"))
        }
        _ => value_arg(g, bits, "value").map(|_| ()),
    }
}

/// The failure for a value argument that does not resolve (what `value_arg` reports).
#[cold]
fn stale(g: &Gil<'_>, bits: u64, what: &str) -> Failure {
    match value_arg(g, bits, what) {
        Err(f) => f,
        Ok(_) => Failure::new(MOLT_ERR_STALE_VALUE, format!("{what}: stale value")),
    }
}

/// Decodes and checks a value argument.
fn value_arg(g: &Gil<'_>, bits: u64, what: &str) -> Result<Value, Failure> {
    let v = Value::from_bits(bits).ok_or_else(|| {
        Failure::new(
            MOLT_ERR_STALE_VALUE,
            format!("{what} ({bits:#018x}) is not a valid value encoding"),
        )
    })?;
    g.check(v)
        .map_err(|e| Failure::new(MOLT_ERR_STALE_VALUE, format!("{what}: {e}")))?;
    Ok(v)
}

/// Reads `n` value arguments.
///
/// # Safety
/// `items` must be NULL with `n` 0, or valid for reads of `n` `uint64_t`s.
unsafe fn values_arg(
    g: &Gil<'_>,
    items: *const u64,
    n: usize,
    what: &str,
) -> Result<Vec<Value>, Failure> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if n > isize::MAX as usize / size_of::<u64>() {
        return Err(Failure::invalid(format!(
            "{what}: count {n} is larger than any array can be"
        )));
    }
    if items.is_null() {
        return Err(Failure::invalid(format!(
            "{what} is NULL but its count is {n}"
        )));
    }
    // SAFETY: non-null and valid for `n` reads per the caller's contract.
    let raw = unsafe { std::slice::from_raw_parts(items, n) };
    raw.iter()
        .enumerate()
        .map(|(i, &b)| value_arg(g, b, &format!("{what}[{i}]")))
        .collect()
}

/// Reads `len` bytes (NULL allowed when `len` is 0).
///
/// # Safety
/// `data` must be NULL with `len` 0, or valid for reads of `len` bytes.
unsafe fn bytes_arg<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a [u8], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!(
            "{what}: length {len} is larger than any buffer can be"
        )));
    }
    if data.is_null() {
        return Err(Failure::invalid(format!(
            "{what} is NULL but its length is {len}"
        )));
    }
    // SAFETY: non-null and valid for `len` reads per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

macro_rules! out_value {
    ($out:expr, $v:expr) => {
        // SAFETY: forwarded caller contract (`out` is NULL or valid for a write).
        unsafe { write_out($out, $v.to_bits(), "out") }
    };
}

/// A new int: an immediate inside the small-int range (-2^47 ..= 2^47-1), a big int
/// (a new reference) outside it.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_from_i64(value: i64, out: *mut u64) -> i32 {
    boundary("molt_int_from_i64", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        // A small int is an immediate: with the GIL held, nothing of the runtime is touched.
        if let Some(v) = Value::int(value)
            && DEFAULT.held().is_some()
        {
            return out_value!(out, v);
        }
        // SAFETY: forwarded contract; `out` is not NULL.
        unsafe { int_from_i64_slow(value, out) }
    })
}

/// `molt_int_from_i64` off the held path (or of an int too big for an immediate): out of
/// line, so the held path's frame stays small.
///
/// # Safety
/// `out` must be valid for a write of `uint64_t`.
#[cold]
#[inline(never)]
unsafe fn int_from_i64_slow(value: i64, out: *mut u64) -> Result<(), Failure> {
    with_gil("molt_int_from_i64", |g| {
        let v = g.int(value).map_err(|r| raised(g, r))?;
        out_value!(out, v)
    })
}

/// `int(digits, base)` with CPython 3.11's rules: sign, surrounding whitespace,
/// underscores between digits, the `0x`/`0o`/`0b` prefixes (base 16/8/2, or any with base
/// 0), and the 4,300-digit limit of `sys.set_int_max_str_digits`. `len` bytes of UTF-8 (not
/// NUL-terminated). Bad syntax raises `ValueError`, a base outside 0 and 2..=36
/// `ValueError` (`MOLT_ERR_EXCEPTION`). A new reference (or an immediate small int).
///
/// # Safety
/// `digits` must be valid for reads of `len` bytes (NULL allowed with `len` 0); `out` must
/// be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_from_str(
    digits: *const c_char,
    len: usize,
    base: i32,
    out: *mut u64,
) -> i32 {
    boundary("molt_int_from_str", || {
        out_arg(out)?;
        // SAFETY: forwarded caller contract.
        let bytes = unsafe { bytes_arg(digits.cast(), len, "digits") }?;
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Failure::invalid(format!("digits is not valid UTF-8: {e}")))?;
        with_gil("molt_int_from_str", |g| {
            // A negative base is out of range like any other: CPython's ValueError.
            let base = u32::try_from(base).unwrap_or(1);
            let v = g.int_from_str(text, base).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// `str(value)` of an int: a new str, in decimal (a bool gives `"True"`/`"False"`, as
/// `str()` does); more digits than the `sys.set_int_max_str_digits` limit raise `ValueError`,
/// a value that is not an int `TypeError` (`MOLT_ERR_EXCEPTION`), as in CPython.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_to_str(value: u64, out: *mut u64) -> i32 {
    boundary("molt_int_to_str", || {
        out_arg(out)?;
        with_gil("molt_int_to_str", |g| {
            let v = value_arg(g, value, "value")?;
            let s = g.int_to_str(v).map_err(|r| raised(g, r))?;
            out_value!(out, s)
        })
    })
}

/// A float (every NaN becomes the canonical NaN).
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_float_from_f64(value: f64, out: *mut u64) -> i32 {
    boundary("molt_float_from_f64", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_float_from_f64", |g| out_value!(out, g.float(value)))
    })
}

/// A new str from `len` bytes of UTF-8 (not NUL-terminated; invalid UTF-8 is
/// `MOLT_ERR_INVALID_ARGUMENT`). A new reference.
///
/// # Safety
/// `data` must be valid for reads of `len` bytes (NULL allowed with `len` 0); `out` must be
/// NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_str_from_utf8(data: *const c_char, len: usize, out: *mut u64) -> i32 {
    boundary("molt_str_from_utf8", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_str_from_utf8", |g| {
            // SAFETY: forwarded caller contract.
            let bytes = unsafe { bytes_arg(data.cast(), len, "data") }?;
            let text = std::str::from_utf8(bytes)
                .map_err(|e| Failure::invalid(format!("data is not valid UTF-8: {e}")))?;
            let v = g.str(text).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// A new bytes object from `len` bytes. A new reference.
///
/// # Safety
/// `data` must be valid for reads of `len` bytes (NULL allowed with `len` 0); `out` must be
/// NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_bytes_from(data: *const u8, len: usize, out: *mut u64) -> i32 {
    boundary("molt_bytes_from", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_bytes_from", |g| {
            // SAFETY: forwarded caller contract.
            let bytes = unsafe { bytes_arg(data, len, "data") }?;
            let v = g.bytes(bytes).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// A new tuple of `n` values (borrowed: the tuple takes its own references).
///
/// # Safety
/// `items` must be valid for reads of `n` `uint64_t`s (NULL allowed with `n` 0); `out` must
/// be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_tuple_new(items: *const u64, n: usize, out: *mut u64) -> i32 {
    boundary("molt_tuple_new", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_tuple_new", |g| {
            // SAFETY: forwarded caller contract.
            let items = unsafe { values_arg(g, items, n, "items") }?;
            let v = g.tuple(&items).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// A new list of `n` values (borrowed).
///
/// # Safety
/// As for `molt_tuple_new`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_list_new(items: *const u64, n: usize, out: *mut u64) -> i32 {
    boundary("molt_list_new", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_list_new", |g| {
            // SAFETY: forwarded caller contract.
            let items = unsafe { values_arg(g, items, n, "items") }?;
            let v = g.list(&items).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// A new empty dict.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_dict_new(out: *mut u64) -> i32 {
    boundary("molt_dict_new", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_dict_new", |g| {
            let v = g.dict().map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// `dict[key] = value` (both borrowed). Unhashable keys raise `TypeError`.
#[unsafe(no_mangle)]
pub extern "C" fn molt_dict_set(dict: u64, key: u64, value: u64) -> i32 {
    boundary("molt_dict_set", || {
        with_gil("molt_dict_set", |g| {
            let d = value_arg(g, dict, "dict")?;
            let k = value_arg(g, key, "key")?;
            let v = value_arg(g, value, "value")?;
            g.dict_set(d, k, v).map_err(|r| raised(g, r))
        })
    })
}

/// `dict[key]`: a new reference; a missing key raises `KeyError`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_dict_get(dict: u64, key: u64, out: *mut u64) -> i32 {
    boundary("molt_dict_get", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_dict_get", |g| {
            let d = value_arg(g, dict, "dict")?;
            let k = value_arg(g, key, "key")?;
            let v = g
                .call_method(d, "__getitem__", &[k])
                .map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// The value of an int (or bool). An int that does not fit in `int64_t` raises
/// `OverflowError` (`MOLT_ERR_EXCEPTION`).
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_int_as_i64(value: u64, out: *mut i64) -> i32 {
    boundary("molt_int_as_i64", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_int_as_i64", |g| {
            let v = value_arg(g, value, "value")?;
            let i = g.as_i64(v).map_err(|r| raised(g, r))?;
            // SAFETY: forwarded caller contract.
            unsafe { write_out(out, i, "out") }
        })
    })
}

/// The value of a float (or int, or bool) as a double.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `double`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_float_as_f64(value: u64, out: *mut f64) -> i32 {
    boundary("molt_float_as_f64", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_float_as_f64", |g| {
            let v = value_arg(g, value, "value")?;
            let f = g.as_f64(v).map_err(|r| raised(g, r))?;
            // SAFETY: forwarded caller contract.
            unsafe { write_out(out, f, "out") }
        })
    })
}

/// The UTF-8 text of a str: a pointer to its bytes (not NUL-terminated) and their length.
/// The pointer stays valid while the str object lives (and the runtime is up).
///
/// # Safety
/// `data` and `len` must be NULL (an error) or valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_str_as_utf8(
    value: u64,
    data: *mut *const c_char,
    len: *mut usize,
) -> i32 {
    boundary("molt_str_as_utf8", || {
        with_gil("molt_str_as_utf8", |g| {
            let v = value_arg(g, value, "value")?;
            let (p, n) = match g.str_text(v) {
                Ok(text) => (text.as_ptr().cast::<c_char>(), text.len()),
                Err(r) => return Err(raised(g, r)),
            };
            // SAFETY: forwarded caller contract.
            unsafe { write_out(len, n, "len") }?;
            // SAFETY: forwarded caller contract.
            unsafe { write_out(data, p, "data") }
        })
    })
}

/// `len(value)` for str (code points), bytes, tuple, list and dict.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_len(value: u64, out: *mut usize) -> i32 {
    boundary("molt_len", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        // SAFETY: a builtin's length is read from the heap: no user code, no call back.
        let held = unsafe { DEFAULT.with_interp_held(|_, st| builtin_len(st, value)) };
        if let Some(Some(n)) = held {
            // SAFETY: forwarded caller contract.
            return unsafe { write_out(out, n, "out") };
        }
        // SAFETY: forwarded caller contract; `out` is not NULL.
        unsafe { len_slow(value, out) }
    })
}

/// The length of a builtin container or str that `bits` refers to, if it is one.
#[inline]
fn builtin_len(st: &crate::state::Interp, bits: u64) -> Option<usize> {
    let v = Value::from_bits(bits).filter(|&v| crate::object::is_heap_value(v))?;
    st.heap.builtin_len(v)
}

/// `molt_len` off the held path: out of line, so the held path's frame stays small.
///
/// # Safety
/// `out` must be valid for a write of `size_t`.
#[cold]
#[inline(never)]
unsafe fn len_slow(value: u64, out: *mut usize) -> Result<(), Failure> {
    with_gil("molt_len", |g| {
        let v = value_arg(g, value, "value")?;
        let n = g.len(v).map_err(|r| raised(g, r))?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(out, n, "out") }
    })
}

/// The length of a tuple.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_tuple_len(tuple: u64, out: *mut usize) -> i32 {
    boundary("molt_tuple_len", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_tuple_len", |g| {
            let v = value_arg(g, tuple, "tuple")?;
            let tuple_class = g.builtin_class("tuple").expect("builtin");
            if !g.isinstance(v, tuple_class).map_err(|r| raised(g, r))? {
                let t = g.type_name(v).map_err(|r| raised(g, r))?;
                let r = g.raise_new("TypeError", format!("expected tuple, got {t}"));
                return Err(raised(g, r));
            }
            let n = g.len(v).map_err(|r| raised(g, r))?;
            // SAFETY: forwarded caller contract.
            unsafe { write_out(out, n, "out") }
        })
    })
}

/// `tuple[index]` (also works on lists): a new reference; out of range raises `IndexError`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_tuple_get(tuple: u64, index: usize, out: *mut u64) -> i32 {
    boundary("molt_tuple_get", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_tuple_get", |g| {
            let v = value_arg(g, tuple, "tuple")?;
            let i = i64::try_from(index).unwrap_or(i64::MAX);
            let item = g.get_item_index(v, i).map_err(|r| raised(g, r))?;
            out_value!(out, item)
        })
    })
}

/// Adds a reference (a no-op for numbers, singletons, classes and functions).
#[unsafe(no_mangle)]
pub extern "C" fn molt_incref(value: u64) -> i32 {
    boundary("molt_incref", || {
        // SAFETY: a heap reference count operation runs no user code and makes no call
        // back into the runtime (freeing releases owned references iteratively).
        let done = unsafe {
            DEFAULT.with_interp_held(|_, st| heap_refcount(st, value, crate::object::Heap::incref))
        };
        if done == Some(true) {
            return Ok(());
        }
        incref_slow(value)
    })
}

/// `molt_incref` off the held path (or of a value the held path rejected): out of line, so
/// the held path's frame stays small.
#[cold]
#[inline(never)]
fn incref_slow(value: u64) -> Result<(), Failure> {
    with_gil("molt_incref", |g| {
        refcount_arg(g, value, crate::object::Heap::incref)
    })
}

/// Drops a reference, freeing the object (and what it owns) at zero. A value whose object
/// is already freed is `MOLT_ERR_STALE_VALUE`, never a double free.
#[unsafe(no_mangle)]
pub extern "C" fn molt_decref(value: u64) -> i32 {
    boundary("molt_decref", || {
        // SAFETY: a heap reference count operation runs no user code and makes no call
        // back into the runtime (freeing releases owned references iteratively).
        let done = unsafe {
            DEFAULT.with_interp_held(|_, st| heap_refcount(st, value, crate::object::Heap::decref))
        };
        if done == Some(true) {
            return Ok(());
        }
        decref_slow(value)
    })
}

/// `molt_decref` off the held path (or of a value the held path rejected): out of line, so
/// the held path's frame stays small.
#[cold]
#[inline(never)]
fn decref_slow(value: u64) -> Result<(), Failure> {
    with_gil("molt_decref", |g| {
        refcount_arg(g, value, crate::object::Heap::decref)
    })
}

/// `getattr(obj, name)`: a new reference; a missing attribute raises `AttributeError`.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_getattr(obj: u64, name: *const c_char, out: *mut u64) -> i32 {
    boundary("molt_getattr", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_getattr", |g| {
            let o = value_arg(g, obj, "obj")?;
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            let v = g.getattr(o, name).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// `setattr(obj, name, value)` (value borrowed).
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_setattr(obj: u64, name: *const c_char, value: u64) -> i32 {
    boundary("molt_setattr", || {
        with_gil("molt_setattr", |g| {
            let o = value_arg(g, obj, "obj")?;
            let v = value_arg(g, value, "value")?;
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            g.setattr(o, name, v).map_err(|r| raised(g, r))
        })
    })
}

/// `callable(*args)`: a new reference.
///
/// # Safety
/// `args` must be valid for reads of `n` `uint64_t`s (NULL allowed with `n` 0); `out` NULL
/// (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_call(
    callable: u64,
    args: *const u64,
    n: usize,
    out: *mut u64,
) -> i32 {
    boundary("molt_call", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_call", |g| {
            let f = value_arg(g, callable, "callable")?;
            // SAFETY: forwarded caller contract.
            let args = unsafe { values_arg(g, args, n, "args") }?;
            let v = g.call(f, &args).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// `obj.name(*args)` through the method cache: a new reference.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `args` valid for reads of `n`
/// `uint64_t`s (NULL allowed with `n` 0); `out` NULL (an error) or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_call_method(
    obj: u64,
    name: *const c_char,
    args: *const u64,
    n: usize,
    out: *mut u64,
) -> i32 {
    boundary("molt_call_method", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_call_method", |g| {
            let o = value_arg(g, obj, "obj")?;
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            // SAFETY: forwarded caller contract.
            let args = unsafe { values_arg(g, args, n, "args") }?;
            let v = g.call_method(o, name, &args).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// `hash(value)`, equal to CPython 3.11's under the same hash seed for str, bytes, int,
/// float, bool and tuple. Lists and dicts raise `TypeError`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_hash(value: u64, out: *mut i64) -> i32 {
    boundary("molt_hash", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        // SAFETY: hashing a heap value runs no user code and makes no call back (a tuple's
        // hash is iterative).
        let held = unsafe {
            DEFAULT.with_interp_held(|rt, st| {
                let v = Value::from_bits(value).filter(|&v| crate::object::is_heap_value(v))?;
                crate::gil::hash_heap_value(&mut st.heap, rt.hash_secret(), v)
            })
        };
        if let Some(Some(h)) = held {
            // SAFETY: forwarded caller contract.
            return unsafe { write_out(out, h, "out") };
        }
        // SAFETY: forwarded caller contract; `out` is not NULL.
        unsafe { hash_slow(value, out) }
    })
}

/// `molt_hash` off the held path: out of line, so the held path's frame stays small.
///
/// # Safety
/// `out` must be valid for a write of `int64_t`.
#[cold]
#[inline(never)]
unsafe fn hash_slow(value: u64, out: *mut i64) -> Result<(), Failure> {
    with_gil("molt_hash", |g| {
        let v = value_arg(g, value, "value")?;
        let h = g.hash(v).map_err(|r| raised(g, r))?;
        // SAFETY: forwarded caller contract.
        unsafe { write_out(out, h, "out") }
    })
}

/// `repr(value)` as a new str.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_repr(value: u64, out: *mut u64) -> i32 {
    boundary("molt_repr", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_repr", |g| {
            let v = value_arg(g, value, "value")?;
            let s = g.repr(v).map_err(|r| raised(g, r))?;
            let r = g.str(&s).map_err(|r| raised(g, r))?;
            out_value!(out, r)
        })
    })
}

/// The builtin class called `name` (e.g. `"ValueError"`); an unknown name is
/// `MOLT_ERR_INVALID_ARGUMENT`. Classes are immortal: no reference to drop.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_builtin_class(name: *const c_char, out: *mut u64) -> i32 {
    boundary("molt_builtin_class", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_builtin_class", |g| {
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            let c = g
                .builtin_class(name)
                .ok_or_else(|| Failure::invalid(format!("no builtin class named {name:?}")))?;
            out_value!(out, c)
        })
    })
}

/// Creates a user class `name` with the bases in the tuple `bases` (or `MOLT_NONE` for
/// `(object,)`) and the namespace dict `namespace` (str keys; or `MOLT_NONE`). Inconsistent
/// hierarchies raise CPython's `TypeError`. The class lives until shutdown.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_class_new(
    name: *const c_char,
    bases: u64,
    namespace: u64,
    out: *mut u64,
) -> i32 {
    boundary("molt_class_new", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_class_new", |g| {
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            let b = value_arg(g, bases, "bases")?;
            let ns = value_arg(g, namespace, "namespace")?;
            let bases = if b.is_none() {
                Vec::new()
            } else {
                g.items(b).map_err(|r| raised(g, r))?
            };
            let mut entries = Vec::new();
            if !ns.is_none() {
                for (k, v) in g.dict_items(ns).map_err(|r| raised(g, r))? {
                    let key = match g.str_text(k) {
                        Ok(t) => t.to_owned(),
                        Err(r) => return Err(raised(g, r)),
                    };
                    entries.push((key, v));
                }
            }
            let entries: Vec<(&str, Value)> =
                entries.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let c = g
                .class_new(name, &bases, &entries)
                .map_err(|r| raised(g, r))?;
            out_value!(out, c)
        })
    })
}

/// `import name`: the cached module (a new reference). `builtins` and `sys` are built in;
/// an unknown name raises `ModuleNotFoundError`.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_import(name: *const c_char, out: *mut u64) -> i32 {
    boundary("molt_import", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_import", |g| {
            // SAFETY: forwarded caller contract.
            let name = unsafe { read_str(name, "name") }?;
            let m = g.import_module(name).map_err(|r| raised(g, r))?;
            out_value!(out, m)
        })
    })
}

/// 1 if this thread has a current exception, 0 if not, `MOLT_ERR_NOT_INITIALIZED` with no
/// runtime.
#[unsafe(no_mangle)]
pub extern "C" fn molt_err_occurred() -> i32 {
    let mut answer = 0;
    let status = boundary("molt_err_occurred", || {
        with_gil("molt_err_occurred", |g| {
            answer = i32::from(g.err_occurred().is_some());
            Ok(())
        })
    });
    if status == MOLT_OK { answer } else { status }
}

/// Catches this thread's current exception: clears it and writes it to `*out` (a new
/// reference), or writes `MOLT_NONE` if there is none.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_err_fetch(out: *mut u64) -> i32 {
    boundary("molt_err_fetch", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        with_gil("molt_err_fetch", |g| {
            if out.is_null() {
                return Err(Failure::invalid("out is NULL"));
            }
            let e = g.err_fetch().unwrap_or(Value::NONE);
            out_value!(out, e)
        })
    })
}

/// Raises an exception: `exc` is an exception class (instantiated with `message` as its
/// argument, or no argument if `message` is NULL) or an exception instance (borrowed;
/// `message` must then be NULL). Returns `MOLT_OK` once the exception is this thread's
/// current exception.
///
/// # Safety
/// `message` must be NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_raise(exc: u64, message: *const c_char) -> i32 {
    boundary("molt_raise", || {
        with_gil("molt_raise", |g| {
            let e = value_arg(g, exc, "exc")?;
            let msg = if message.is_null() {
                None
            } else {
                // SAFETY: forwarded caller contract.
                Some(unsafe { read_str(message, "message") }?)
            };
            let is_class = g.is_class(e);
            let instance = match (is_class, msg) {
                (true, Some(m)) => {
                    let s = g.str(m).map_err(|r| raised(g, r))?;
                    let r = g.call(e, &[s]);
                    g.decref(s).map_err(|r| raised(g, r))?;
                    r.map_err(|r| raised(g, r))?
                }
                (true, None) => g.call(e, &[]).map_err(|r| raised(g, r))?,
                (false, Some(_)) => {
                    return Err(Failure::invalid(
                        "message must be NULL when exc is an exception instance",
                    ));
                }
                (false, None) => {
                    g.incref(e).map_err(|r| raised(g, r))?;
                    e
                }
            };
            let before = g.err_occurred();
            let _raised = g.raise(instance);
            // `raise` itself raises TypeError for a non-exception; report that as a failure.
            match g.err_occurred() {
                Some(cur) if cur == instance || before == Some(cur) => Ok(()),
                _ => {
                    // `raise` took no reference to a non-exception: drop the one made above
                    // (the incref, or the class call's result), or it would never be freed.
                    let _ = g.decref(instance);
                    Err(Failure::new(MOLT_ERR_EXCEPTION, g.describe_current()))
                }
            }
        })
    })
}

// ============================================================================ tasks

use crate::async_rt::TaskId;
use molt_arenas::handles::{FfiHandle, Handle};
use std::ffi::c_void;

/// A task of the default runtime: two words (key and runtime identity). A task handle from
/// an earlier runtime, or one already joined, is rejected with `MOLT_ERR_STALE_VALUE`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MoltTask {
    /// The task's key in its runtime's task table.
    pub key: u64,
    /// The identity of the runtime that spawned it.
    pub runtime: u64,
}

/// A task body: called on a worker thread (or on the thread that joins the task) with the
/// `user_data` given at spawn and a result slot preset to `MOLT_NONE`. It may call any
/// `molt_*` function; exceptions it raises are the task's own. It returns `MOLT_OK` after
/// writing a new reference to `*result` (or leaving `MOLT_NONE`), or `MOLT_ERR_EXCEPTION`
/// after raising (`molt_raise`), which fails the task (`CancelledError` cancels it). Any
/// other status fails the task with a `RuntimeError` that quotes `molt_last_error`.
pub type MoltTaskFn = Option<unsafe extern "C" fn(user_data: *mut c_void, result: *mut u64) -> i32>;

/// `molt_task_state`: waiting to run.
pub const MOLT_TASK_PENDING: i32 = 0;
/// `molt_task_state`: running (or sleeping inside its body).
pub const MOLT_TASK_RUNNING: i32 = 1;
/// `molt_task_state`: returned a value.
pub const MOLT_TASK_DONE: i32 = 2;
/// `molt_task_state`: cancelled.
pub const MOLT_TASK_CANCELLED: i32 = 3;
/// `molt_task_state`: raised.
pub const MOLT_TASK_FAILED: i32 = 4;

fn task_arg(g: &Gil<'_>, task: MoltTask) -> Result<TaskId, Failure> {
    let id = Handle::from_ffi(FfiHandle {
        key: task.key,
        runtime: task.runtime,
    })
    .ok_or_else(|| Failure::new(MOLT_ERR_STALE_VALUE, "task: not a task handle (runtime 0)"))?;
    g.task_check(id)
        .map_err(|e| Failure::new(MOLT_ERR_STALE_VALUE, format!("task: {e}")))?;
    Ok(id)
}

fn to_molt_task(id: TaskId) -> MoltTask {
    let h = id.to_ffi();
    MoltTask {
        key: h.key,
        runtime: h.runtime,
    }
}

/// What a C callback's status and result slot mean (a task body's or a native function's):
/// `MOLT_OK` with a valid result, `MOLT_ERR_EXCEPTION` after raising (`strict`: only if an
/// exception is in fact current), or another status, which raises `RuntimeError` quoting
/// the callback's last failed call.
fn c_outcome(
    g: &mut Gil<'_>,
    status: i32,
    result: u64,
    what: &str,
    strict: bool,
) -> crate::PyResult<Value> {
    match status {
        MOLT_OK => match Value::from_bits(result) {
            Some(v) if g.check(v).is_ok() => Ok(v),
            _ => Err(g.raise_new(
                "RuntimeError",
                format!("{what} returned MOLT_OK with an invalid result {result:#018x}"),
            )),
        },
        MOLT_ERR_EXCEPTION if !strict || g.err_occurred().is_some() => Err(crate::gil::raised()),
        other => {
            let last = LAST_ERROR.with(|e| {
                e.borrow()
                    .as_ref()
                    .map(|c| c.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "no exception was raised and no molt_* call failed".into())
            });
            Err(g.raise_new(
                "RuntimeError",
                format!("{what} returned status {other}: {last}"),
            ))
        }
    }
}

/// A C task body and its user data, moved to the thread that runs it.
struct CTask {
    func: unsafe extern "C" fn(*mut c_void, *mut u64) -> i32,
    user_data: *mut c_void,
}

// SAFETY: `molt_task_spawn`'s contract: the C caller allows `func` to be called with
// `user_data` on another thread.
unsafe impl Send for CTask {}

impl CTask {
    fn run(self, cx: &mut crate::TaskCx<'_>) -> crate::PyResult<Value> {
        let mut result = MOLT_NONE;
        // A failure message quoted below must be the body's own, not one from before.
        LAST_ERROR.with(|e| *e.borrow_mut() = None);
        // SAFETY: `molt_task_spawn`'s contract: `func` is a valid task body, callable with
        // `user_data` on this thread; `result` is a valid, writable `uint64_t`.
        let status = unsafe { (self.func)(self.user_data, &mut result) };
        let mut g = cx.gil();
        c_outcome(&mut g, status, result, "task body", false)
    }
}

fn spawn_c(
    name: &str,
    delay: Option<Duration>,
    func: MoltTaskFn,
    user_data: *mut c_void,
    out: *mut MoltTask,
) -> Result<(), Failure> {
    let func = func.ok_or_else(|| Failure::invalid("func is NULL"))?;
    if out.is_null() {
        return Err(Failure::invalid("out is NULL"));
    }
    with_gil(name, |g| {
        let body = CTask { func, user_data };
        let id = g
            .spawn_task(None, delay, Box::new(move |cx| body.run(cx)))
            .map_err(|r| raised(g, r))?;
        // SAFETY: `out` is non-null and, per the caller's contract, valid for a write.
        unsafe { write_out(out, to_molt_task(id), "out") }
    })
}

fn seconds_arg(seconds: f64, what: &str) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        Failure::invalid(format!(
            "{what} must be a finite, non-negative number of seconds, got {seconds}"
        ))
    })
}

/// Spawns a task of the default runtime that runs `func(user_data, result)` on a worker
/// thread (see [`MoltTaskFn`]); writes its handle to `*out`. Worker threads start on the
/// first spawn. Fails with `MOLT_ERR_EXCEPTION` (`RuntimeError`) once shutdown has begun.
///
/// # Safety
/// `func` must be NULL (an error) or a task body that may be called with `user_data` on
/// another thread, and `user_data` must stay valid until the task has finished (joined, or
/// shutdown returned). `out` must be NULL (an error) or valid for a write of `MoltTask`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_spawn(
    func: MoltTaskFn,
    user_data: *mut c_void,
    out: *mut MoltTask,
) -> i32 {
    boundary("molt_task_spawn", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        spawn_c("molt_task_spawn", None, func, user_data, out)
    })
}

/// [`molt_task_spawn`] for a task that starts after `delay_seconds` (a timer of the sleep
/// worker).
///
/// # Safety
/// As for [`molt_task_spawn`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_spawn_after(
    delay_seconds: f64,
    func: MoltTaskFn,
    user_data: *mut c_void,
    out: *mut MoltTask,
) -> i32 {
    boundary("molt_task_spawn_after", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        let delay = seconds_arg(delay_seconds, "delay_seconds")?;
        spawn_c("molt_task_spawn_after", Some(delay), func, user_data, out)
    })
}

/// Waits for the task and writes its result (a new reference) to `*out`; or, if it raised
/// or was cancelled, makes its exception this thread's current exception and returns
/// `MOLT_ERR_EXCEPTION`. The handle is spent either way (a second join is
/// `MOLT_ERR_STALE_VALUE`). A task not yet started runs on the calling thread.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_join(task: MoltTask, out: *mut u64) -> i32 {
    boundary("molt_task_join", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        with_gil("molt_task_join", |g| {
            let id = task_arg(g, task)?;
            let v = g.join(id).map_err(|r| raised(g, r))?;
            out_value!(out, v)
        })
    })
}

/// Cancels the task with `message` (NULL: none): a pending task never runs; a running one
/// sees it at its next `molt_task_check_cancelled` or `molt_sleep`. Writes 1 to `*took`
/// (when not NULL) if the cancellation took effect, 0 if the task had already finished.
///
/// # Safety
/// `message` must be NULL or NUL-terminated; `took` NULL or valid for a write of `int32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_cancel(
    task: MoltTask,
    message: *const c_char,
    took: *mut i32,
) -> i32 {
    boundary("molt_task_cancel", || {
        let msg = if message.is_null() {
            None
        } else {
            // SAFETY: forwarded caller contract.
            Some(unsafe { read_str(message, "message") }?)
        };
        with_gil("molt_task_cancel", |g| {
            let id = task_arg(g, task)?;
            let t = g.cancel(id, msg).map_err(|r| raised(g, r))?;
            if !took.is_null() {
                // SAFETY: non-null, valid for a write per the caller's contract.
                unsafe { write_out(took, i32::from(t), "took") }?;
            }
            Ok(())
        })
    })
}

/// Writes the task's state (`MOLT_TASK_*`) to `*out`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `int32_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_task_state(task: MoltTask, out: *mut i32) -> i32 {
    use crate::TaskState as S;
    boundary("molt_task_state", || {
        with_gil("molt_task_state", |g| {
            let id = task_arg(g, task)?;
            let state = g.task_state(id).map_err(|r| raised(g, r))?;
            let code = match state {
                S::Pending => MOLT_TASK_PENDING,
                S::Running => MOLT_TASK_RUNNING,
                S::Done => MOLT_TASK_DONE,
                S::Cancelled => MOLT_TASK_CANCELLED,
                S::Failed => MOLT_TASK_FAILED,
            };
            // SAFETY: forwarded caller contract.
            unsafe { write_out(out, code, "out") }
        })
    })
}

/// Sleeps for `seconds`, with the GIL released meanwhile (taken back at the depth it had,
/// for a thread that held it). Inside a task (a task body calling it) the sleep worker wakes
/// the task, and a cancellation or shutdown ends the sleep early with `MOLT_ERR_EXCEPTION`
/// (`CancelledError`, the task's current exception). Elsewhere it sleeps the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn molt_sleep(seconds: f64) -> i32 {
    boundary("molt_sleep", || {
        let duration = seconds_arg(seconds, "seconds")?;
        if DEFAULT.held().is_none() {
            // Holding nothing: nothing to release, and nothing to enter for.
            let rt = entered("molt_sleep")?;
            if crate::async_rt::current_task(rt.id().get()).is_none() {
                drop(rt);
                std::thread::sleep(duration);
                return Ok(());
            }
        }
        with_gil("molt_sleep", |g| {
            match crate::async_rt::current_task(g.runtime().id().get()) {
                Some((_, task)) => g.task_sleep(task, duration).map_err(|r| raised(g, r)),
                None => {
                    g.unlocked(|| std::thread::sleep(duration));
                    Ok(())
                }
            }
        })
    })
}

/// Inside a task: `MOLT_OK`, or `MOLT_ERR_EXCEPTION` with `CancelledError` raised if the task
/// was cancelled. Outside a task: `MOLT_ERR_INVALID_ARGUMENT`.
#[unsafe(no_mangle)]
pub extern "C" fn molt_task_check_cancelled() -> i32 {
    boundary("molt_task_check_cancelled", || {
        with_gil("molt_task_check_cancelled", |g| {
            let Some((_, task)) = crate::async_rt::current_task(g.runtime().id().get()) else {
                return Err(Failure::invalid(
                    "molt_task_check_cancelled: the calling thread is not running a task",
                ));
            };
            g.task_check_cancelled(task).map_err(|r| raised(g, r))
        })
    })
}

// ============================================================================ the GIL

fn gil_status(name: &str, r: Result<(), GilStateError>) -> Result<(), Failure> {
    r.map_err(|e| gil_failure(name, e))
}

/// Takes the default runtime's GIL for the calling thread, re-entrantly (each call needs
/// its `molt_gil_release`). While a thread holds it, every entry point takes the held path
/// (no lock, no atomic read-modify-write). Returns `MOLT_ERR_NOT_INITIALIZED` at once,
/// never blocking, with no runtime or once shutdown has begun. A thread that exits holding
/// it releases it. Holders are not preempted: others (task workers included) wait until it
/// is released, saved (`molt_gil_save`) or given up inside a blocking runtime call.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_acquire() -> i32 {
    boundary("molt_gil_acquire", || {
        gil_status("molt_gil_acquire", DEFAULT.gil_acquire())
    })
}

/// Drops one hold taken by `molt_gil_acquire`; the last one releases the GIL.
/// `MOLT_ERR_INVALID_ARGUMENT` if the thread does not hold it (or only a call in progress
/// does), `MOLT_ERR_NOT_INITIALIZED` with no runtime.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_release() -> i32 {
    boundary("molt_gil_release", || {
        gil_status("molt_gil_release", DEFAULT.gil_release())
    })
}

/// 1 if the calling thread holds the default runtime's GIL, else 0.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_is_held() -> i32 {
    i32::from(DEFAULT.gil_is_held())
}

/// Releases the GIL completely, at any depth, for a blocking call (as CPython's
/// `PyEval_SaveThread`); returns the token `molt_gil_restore` takes, or 0 if the thread does
/// not hold it.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_save() -> u64 {
    let mut token = 0;
    let _ = boundary("molt_gil_save", || {
        token = DEFAULT.gil_save();
        Ok(())
    });
    token
}

/// Takes the GIL back at the depth `molt_gil_save` released (0: does nothing). After the
/// runtime shut down meanwhile: `MOLT_ERR_NOT_INITIALIZED`, at once.
#[unsafe(no_mangle)]
pub extern "C" fn molt_gil_restore(token: u64) -> i32 {
    boundary("molt_gil_restore", || {
        gil_status("molt_gil_restore", DEFAULT.gil_restore(token))
    })
}

// ============================================================================ native functions

/// A native function defined from C: called with the `user_data` given to
/// `molt_function_new`, the arguments (borrowed; for a method, `self` first) and a result
/// slot preset to `MOLT_NONE`. It runs with the GIL held (every `molt_*` call inside takes
/// the held path) and may call any `molt_*` function. It returns `MOLT_OK` after writing a
/// new reference to `*result` (or leaving `MOLT_NONE`), or `MOLT_ERR_EXCEPTION` after
/// raising (`molt_raise`); any other status raises `RuntimeError` quoting
/// `molt_last_error`.
pub type MoltNativeFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        args: *const u64,
        nargs: usize,
        result: *mut u64,
    ) -> i32,
>;

/// Frees a native function's user data: called exactly once, at shutdown at the latest.
pub type MoltFreeFn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A C native function and its user data.
struct CNative {
    func: unsafe extern "C" fn(*mut c_void, *const u64, usize, *mut u64) -> i32,
    user_data: *mut c_void,
    free: MoltFreeFn,
}

// SAFETY: `molt_function_new`'s contract: the function may be called, and `free_user_data`
// run, with `user_data` on any thread (one at a time: calls hold the GIL).
unsafe impl Send for CNative {}
// SAFETY: as above; the runtime only calls it with the GIL held, one thread at a time.
unsafe impl Sync for CNative {}

impl Drop for CNative {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: `molt_function_new`'s contract: `free` may be called once with
            // `user_data`; this drop runs once (at teardown).
            unsafe { free(self.user_data) };
        }
    }
}

impl CNative {
    fn call(&self, g: &mut Gil<'_>, args: &[Value]) -> crate::PyResult<Value> {
        let rt = g.runtime();
        let lock = rt.gil_lock();
        let key = crate::thread_state::thread_key();
        let was_active = lock.active();
        // What the owner line holds for this call, to check (and repair) on return.
        let given = crate::thread_state::Saved {
            depth: lock.depth(),
            tokens: lock.tokens(),
            active: false,
            c_held: false,
            recursion: g.st.recursion_depth,
        };
        // Lend the token: the C code's `molt_*` calls make their own (the held path).
        lock.set_active(false);
        let had_record = THREAD_STATE.try_with(|t| t.names(rt)).unwrap_or(true);
        if !had_record {
            let _ = THREAD_STATE.try_with(|t| t.set_c_state(rt, &DEFAULT, DEFAULT.generation()));
        }
        LAST_ERROR.with(|e| *e.borrow_mut() = None);
        let mut result = MOLT_NONE;
        // SAFETY: `molt_function_new`'s contract: `func` is a valid native function;
        // `args` points to `args.len()` values (`Value` is a transparent `u64`), valid for
        // the call; `result` is a valid, writable `uint64_t`.
        let status = unsafe {
            (self.func)(
                self.user_data,
                args.as_ptr().cast::<u64>(),
                args.len(),
                &mut result,
            )
        };
        // The function must give back the GIL as it got it (a save it did not restore, or
        // a release it did not acquire, would leave this token without the lock).
        let intact =
            lock.owned_by(key) && lock.depth() == given.depth && lock.tokens() == given.tokens;
        if !intact {
            if lock.owned_by(key) {
                lock.set_holds(given, rt);
            } else {
                lock.restore(key, given, rt);
            }
        }
        if !had_record {
            crate::thread_state::clear_c_state_if(rt);
        } else {
            let _ = THREAD_STATE.try_with(|t| t.set_c_state(rt, &DEFAULT, DEFAULT.generation()));
        }
        lock.set_active(was_active);
        if !intact {
            if status == MOLT_OK
                && let Some(v) = Value::from_bits(result)
            {
                let _ = g.decref(v);
            }
            return Err(g.raise_new(
                "RuntimeError",
                "a native function returned without the GIL as it was given (a molt_gil_save without its restore, or an unbalanced release)",
            ));
        }
        c_outcome(g, status, result, "native function", true)
    }
}

/// Defines a native function `name` of the default runtime, callable with `molt_call`, as
/// a method in a class namespace (bound: `self` is `args[0]`) or in a module; its repr is
/// `<built-in function NAME>`. Writes the function value to `*out` (functions are immortal:
/// no reference to drop). `free_user_data` (may be NULL) runs exactly once with
/// `user_data`, at shutdown at the latest. Calls nest up to the recursion limit
/// (`RecursionError`). On failure nothing is kept and `free_user_data` is not called.
///
/// # Safety
/// `name` must be NULL (an error) or NUL-terminated; `fn` NULL (an error) or a function
/// that may be called with `user_data` on any thread holding the GIL; `free_user_data` NULL
/// or callable once with `user_data` on any thread; `out` NULL (an error) or valid for a
/// write of `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_function_new(
    name: *const c_char,
    r#fn: MoltNativeFn,
    user_data: *mut c_void,
    free_user_data: MoltFreeFn,
    out: *mut u64,
) -> i32 {
    boundary("molt_function_new", || {
        // Checked before anything is made: a result built for a NULL out-pointer would
        // stay alive with no owner.
        out_arg(out)?;
        // Every argument is checked before anything is made.
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(name, "name") }?;
        let func = r#fn.ok_or_else(|| Failure::invalid("fn is NULL"))?;
        if out.is_null() {
            return Err(Failure::invalid("out is NULL"));
        }
        with_gil("molt_function_new", |g| {
            let native = CNative {
                func,
                user_data,
                free: free_user_data,
            };
            let v = g.host_function(name, Box::new(move |g, args| native.call(g, args)));
            out_value!(out, v)
        })
    })
}

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
use crate::lifecycle::{Entered, RuntimeSlot};
use crate::state::RuntimeState;
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
/// A bug inside molt-state was caught at the boundary (a panic); the message says where.
pub const MOLT_ERR_INTERNAL: i32 = -100;

/// The process-default runtime: the only `static` holding runtime state is this slot (a
/// lifecycle word, a pointer and a generation counter).
static DEFAULT: RuntimeSlot = RuntimeSlot::new();

/// Shutdown's wait bound when it cannot read the runtime's own setting.
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
    static LAST_REPORT: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A failed call: a status code and the message for `molt_last_error`.
struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
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

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// Runs an entry point's body: catches panics, records the failure message.
fn boundary(name: &str, body: impl FnOnce() -> Result<(), Failure>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => MOLT_OK,
        Ok(Err(f)) => {
            set_last_error(&f.message);
            f.code
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error in {name}: {}",
                panic_message(payload.as_ref())
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
                let text = report.to_string();
                if std::env::var_os("MOLT_PRINT_TEARDOWN").is_some_and(|v| v == "1") {
                    eprintln!("{text}");
                }
                LAST_REPORT.with(|r| *r.borrow_mut() = Some(to_cstring(&text)));
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
    LAST_REPORT.with(|r| r.borrow().as_ref().map_or(std::ptr::null(), |c| c.as_ptr()))
}

/// Replaces `sys.argv` with `argc` NUL-terminated UTF-8 strings.
///
/// # Safety
/// `argv` must point to `argc` pointers, each to a NUL-terminated string, all valid for the
/// duration of the call (`argv` may be NULL when `argc` is 0). The strings are copied.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_runtime_set_argv(argc: i32, argv: *const *const c_char) -> i32 {
    boundary("molt_runtime_set_argv", || {
        let rt = entered("molt_runtime_set_argv")?;
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
        rt.lock().set_argv(args);
        Ok(())
    })
}

/// Writes the number of `sys.argv` entries to `*out`.
///
/// # Safety
/// `out` must be NULL (an error) or valid for a write of `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn molt_runtime_argv_len(out: *mut usize) -> i32 {
    boundary("molt_runtime_argv_len", || {
        let rt = entered("molt_runtime_argv_len")?;
        let n = rt.lock().argv().len();
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
        let rt = entered("molt_runtime_argv_get")?;
        let interp = rt.lock();
        let arg = interp.argv().get(index).ok_or_else(|| {
            Failure::new(
                MOLT_ERR_INDEX,
                format!(
                    "IndexError: argv index {index} out of range (len {})",
                    interp.argv().len()
                ),
            )
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
        let rt = entered("molt_capability_require")?;
        // SAFETY: forwarded caller contract.
        let name = unsafe { read_str(capability, "capability") }?;
        rt.require(name)
            .map_err(|e| Failure::new(MOLT_ERR_PERMISSION, e.to_string()))
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
        let rt = entered("molt_runtime_live_allocations")?;
        let live = rt
            .live_allocations()
            .leaks
            .iter()
            .map(|k| k.live_count())
            .sum();
        // SAFETY: forwarded caller contract.
        unsafe { write_out(out, live, "out") }
    })
}

//! Lifecycle entry points: init and shutdown of the default runtime, its generation, the
//! last error and teardown report of this thread, argv, capabilities and the registry count.

use super::DEFAULT;
use super::args::*;
use super::status::*;
use crate::config::Config;
use crate::pinned::PinnedState;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::time::Duration;

/// Shutdown's wait bound when it cannot read the runtime's own setting.
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

thread_local! {
    /// The last teardown report, formatted on first request (most hosts never ask, and
    /// formatting costs as much as a third of a cycle).
    static LAST_REPORT: RefCell<Option<LastReport>> = const { RefCell::new(None) };
}

/// A teardown report and, once asked for, its text.
struct LastReport {
    report: Box<crate::TeardownReport>,
    text: Option<CString>,
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
        DEFAULT.init(|| PinnedState::new(&Config::default()))?;
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
        with_gil(|g| {
            g.locked_mut().set_argv(args);
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
        let n = with_gil(|g| Ok(g.locked().argv().len()))?;
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
        let arg = with_gil(|g| {
            let argv = g.locked().argv();
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
        with_state(|rt| {
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
        let live = with_state(|rt| {
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

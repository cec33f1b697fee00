//! The status codes, the failure every entry point returns on the Rust side, the one
//! conversion per error type into a status, and the boundary that turns a failure (or a
//! caught panic) into the status and the message of `molt_last_error`.

use crate::ExcClass;
use crate::error::{InitError, NotInitialized, PermissionError, ShutdownError};
use crate::gil::{Gil, Raised};
use crate::lifecycle::GilStateError;
use crate::value::Value;
use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};

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
/// A Python exception was raised: it is this thread's current exception (take it with
/// `molt_err_fetch`), and `molt_last_error` describes it ("ValueError: ...").
pub const MOLT_ERR_EXCEPTION: i32 = -7;
/// A value argument does not refer to a live object of the runtime: its object was freed, or
/// it comes from another runtime or one that has shut down. Nothing was touched.
pub const MOLT_ERR_STALE_VALUE: i32 = -8;
/// A Rust `Gil` token of the runtime is in use on this thread (Rust code called the C ABI
/// while holding one): use the token.
pub const MOLT_ERR_REENTRANT: i32 = -9;
/// A bug inside molt-state was caught at the boundary (a panic); the message says where.
pub const MOLT_ERR_INTERNAL: i32 = -100;

thread_local! {
    /// The message of this thread's last failed call (`molt_last_error`).
    pub(super) static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// A failed call: a status code and the message for `molt_last_error`.
///
/// Boxed, so that an entry point's `Result<(), Failure>` is one pointer that travels in a
/// register: a 32-byte result written and re-read through the stack cost the held path a
/// store-forwarding stall per call.
pub(super) struct Failure(Box<FailureInner>);

struct FailureInner {
    code: i32,
    message: String,
    form: Form,
}

/// How a failure's message is finished before it is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The message is complete.
    Plain,
    /// The message is prefixed with the entry point's name (`"molt_sleep: ..."`), which only
    /// [`boundary`] knows: the name is written once per entry point.
    Named,
    /// A Python exception was raised; the message is its description, which [`with_gil`]
    /// (super) fills in while the token is still at hand.
    Raised,
}

impl Failure {
    /// A failure with a complete message.
    #[cold]
    pub(super) fn new(code: i32, message: impl Into<String>) -> Self {
        Self::with_form(code, message.into(), Form::Plain)
    }

    /// A failure whose message the boundary prefixes with the entry point's name.
    #[cold]
    pub(super) fn named(code: i32, message: impl Into<String>) -> Self {
        Self::with_form(code, message.into(), Form::Named)
    }

    /// `MOLT_ERR_INVALID_ARGUMENT` with a complete message.
    pub(super) fn invalid(message: impl Into<String>) -> Self {
        Self::new(MOLT_ERR_INVALID_ARGUMENT, message)
    }

    fn with_form(code: i32, message: String, form: Form) -> Self {
        Self(Box::new(FailureInner {
            code,
            message,
            form,
        }))
    }

    /// Describes a raised exception (which stays current for `molt_err_fetch`) while the
    /// token is at hand; any other failure is returned as it is.
    #[cold]
    pub(super) fn described(mut self, g: &mut Gil<'_>) -> Self {
        if self.0.form == Form::Raised {
            self.0.message = g.describe_current();
            self.0.form = Form::Plain;
        }
        self
    }
}

/// A raised exception: `MOLT_ERR_EXCEPTION`, described by `with_gil` on the way out.
impl From<Raised> for Failure {
    #[cold]
    fn from(_: Raised) -> Self {
        Self::with_form(MOLT_ERR_EXCEPTION, String::new(), Form::Raised)
    }
}

/// `From` for the error types whose every value has one status: `new` keeps the error's
/// message as it is, `named` puts the entry point's name before it.
macro_rules! one_status {
    ($($error:ty => $code:expr, $form:ident;)*) => {$(
        impl From<$error> for Failure {
            #[cold]
            fn from(e: $error) -> Self {
                Self::$form($code, e.to_string())
            }
        }
    )*};
}

one_status! {
    InitError => MOLT_ERR_INIT_FAILED, new;
    NotInitialized => MOLT_ERR_NOT_INITIALIZED, named;
    PermissionError => MOLT_ERR_PERMISSION, new;
    ShutdownError => MOLT_ERR_BUSY, new;
}

impl From<GilStateError> for Failure {
    #[cold]
    fn from(e: GilStateError) -> Self {
        let code = match e {
            GilStateError::NotInitialized => MOLT_ERR_NOT_INITIALIZED,
            GilStateError::Invalid(_) => MOLT_ERR_INVALID_ARGUMENT,
            GilStateError::TokenInUse => MOLT_ERR_REENTRANT,
        };
        Self::named(code, e.to_string())
    }
}

/// A message as a C string (NULs escaped, so none is lost).
pub(super) fn to_cstring(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).expect("NULs were escaped")
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| *e.borrow_mut() = Some(to_cstring(message)));
}

/// Runs the body of the entry point `name`: catches panics, and turns a failure into its
/// status and this thread's `molt_last_error` message.
// Inline: every entry point's body runs inside it, held path included; the module is its
// own codegen unit, so without the hint each entry point would call it out of line.
#[inline]
pub(super) fn boundary(name: &str, body: impl FnOnce() -> Result<(), Failure>) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => MOLT_OK,
        Ok(Err(f)) => failed(name, f),
        Err(payload) => {
            set_last_error(&format!(
                "internal error in {name}: {}",
                crate::error::panic_message(payload.as_ref())
            ));
            MOLT_ERR_INTERNAL
        }
    }
}

#[cold]
fn failed(name: &str, f: Failure) -> i32 {
    let FailureInner {
        code,
        message,
        form,
    } = *f.0;
    match form {
        Form::Named => set_last_error(&format!("{name}: {message}")),
        // An undescribed exception cannot leave `with_gil`; say what is known.
        Form::Raised => set_last_error(&format!("{name}: an exception was raised")),
        Form::Plain => set_last_error(&message),
    }
    code
}

/// What a C callback's status and result slot mean (a task body's or a native function's):
/// `MOLT_OK` with a valid result, `MOLT_ERR_EXCEPTION` after raising (`strict`: only if an
/// exception is in fact current), or another status, which raises `RuntimeError` quoting
/// the callback's last failed call.
pub(super) fn c_outcome(
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
                ExcClass::RUNTIME_ERROR,
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
                ExcClass::RUNTIME_ERROR,
                format!("{what} returned status {other}: {last}"),
            ))
        }
    }
}

//! [`ExcClass`]: the builtin exception classes as compile-time constants.
//!
//! The runtime raises its own exceptions by constant (`g.raise_new(ExcClass::TYPE_ERROR,
//! ..)`), never by name: each constant is the class's index in the builtin table, found by
//! `const` evaluation, so a misspelt name, or a class that is not an exception, fails the
//! build instead of raising something else at run time. Names that come from outside (a
//! test's table, a host's configuration) go through [`ExcClass::by_name`].

use super::{const_index, static_is_exception, table};

/// A builtin exception class (`BaseException` or a subclass of it), by its index in the
/// builtin class table. The same in every runtime: program data, not runtime data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExcClass(u32);

impl ExcClass {
    /// The exception class called `name` (a compile error, in a `const`, if there is none).
    const fn named(name: &str) -> ExcClass {
        let i = const_index(name);
        assert!(
            static_is_exception(i),
            "an ExcClass constant names a class that is not an exception"
        );
        ExcClass(i as u32)
    }

    /// The builtin exception class called `name` (or an alias of one, as `IOError`), if any.
    pub fn by_name(name: &str) -> Option<ExcClass> {
        let i = table::builtin_index(name).or_else(|| {
            table::ALIASES
                .iter()
                .find(|(alias, _)| *alias == name)
                .and_then(|(_, target)| table::builtin_index(target))
        })?;
        static_is_exception(i).then_some(ExcClass(i as u32))
    }

    /// The class's index in the builtin class table.
    pub const fn index(self) -> u32 {
        self.0
    }

    /// The class's `__name__`.
    pub const fn name(self) -> &'static str {
        table::BUILTIN_CLASSES[self.0 as usize].name
    }
}

macro_rules! exc_classes {
    ($($name:ident = $text:literal;)*) => {
        impl ExcClass {
            $(
                #[doc = concat!("`", $text, "`.")]
                pub const $name: ExcClass = ExcClass::named($text);
            )*
        }

        #[cfg(test)]
        const ALL: &[ExcClass] = &[$(ExcClass::$name),*];
    };
}

exc_classes! {
    BASE_EXCEPTION = "BaseException";
    BASE_EXCEPTION_GROUP = "BaseExceptionGroup";
    EXCEPTION = "Exception";
    GENERATOR_EXIT = "GeneratorExit";
    KEYBOARD_INTERRUPT = "KeyboardInterrupt";
    SYSTEM_EXIT = "SystemExit";
    ARITHMETIC_ERROR = "ArithmeticError";
    ASSERTION_ERROR = "AssertionError";
    ATTRIBUTE_ERROR = "AttributeError";
    BUFFER_ERROR = "BufferError";
    EOF_ERROR = "EOFError";
    IMPORT_ERROR = "ImportError";
    LOOKUP_ERROR = "LookupError";
    MEMORY_ERROR = "MemoryError";
    NAME_ERROR = "NameError";
    OS_ERROR = "OSError";
    REFERENCE_ERROR = "ReferenceError";
    RUNTIME_ERROR = "RuntimeError";
    STOP_ASYNC_ITERATION = "StopAsyncIteration";
    STOP_ITERATION = "StopIteration";
    SYNTAX_ERROR = "SyntaxError";
    SYSTEM_ERROR = "SystemError";
    TYPE_ERROR = "TypeError";
    VALUE_ERROR = "ValueError";
    WARNING = "Warning";
    FLOATING_POINT_ERROR = "FloatingPointError";
    OVERFLOW_ERROR = "OverflowError";
    ZERO_DIVISION_ERROR = "ZeroDivisionError";
    BYTES_WARNING = "BytesWarning";
    DEPRECATION_WARNING = "DeprecationWarning";
    ENCODING_WARNING = "EncodingWarning";
    FUTURE_WARNING = "FutureWarning";
    IMPORT_WARNING = "ImportWarning";
    PENDING_DEPRECATION_WARNING = "PendingDeprecationWarning";
    RESOURCE_WARNING = "ResourceWarning";
    RUNTIME_WARNING = "RuntimeWarning";
    SYNTAX_WARNING = "SyntaxWarning";
    UNICODE_WARNING = "UnicodeWarning";
    USER_WARNING = "UserWarning";
    BLOCKING_IO_ERROR = "BlockingIOError";
    CHILD_PROCESS_ERROR = "ChildProcessError";
    CONNECTION_ERROR = "ConnectionError";
    FILE_EXISTS_ERROR = "FileExistsError";
    FILE_NOT_FOUND_ERROR = "FileNotFoundError";
    INTERRUPTED_ERROR = "InterruptedError";
    IS_A_DIRECTORY_ERROR = "IsADirectoryError";
    NOT_A_DIRECTORY_ERROR = "NotADirectoryError";
    PERMISSION_ERROR = "PermissionError";
    PROCESS_LOOKUP_ERROR = "ProcessLookupError";
    TIMEOUT_ERROR = "TimeoutError";
    INDENTATION_ERROR = "IndentationError";
    INDEX_ERROR = "IndexError";
    KEY_ERROR = "KeyError";
    MODULE_NOT_FOUND_ERROR = "ModuleNotFoundError";
    NOT_IMPLEMENTED_ERROR = "NotImplementedError";
    RECURSION_ERROR = "RecursionError";
    UNBOUND_LOCAL_ERROR = "UnboundLocalError";
    UNICODE_ERROR = "UnicodeError";
    BROKEN_PIPE_ERROR = "BrokenPipeError";
    CONNECTION_ABORTED_ERROR = "ConnectionAbortedError";
    CONNECTION_REFUSED_ERROR = "ConnectionRefusedError";
    CONNECTION_RESET_ERROR = "ConnectionResetError";
    TAB_ERROR = "TabError";
    UNICODE_DECODE_ERROR = "UnicodeDecodeError";
    UNICODE_ENCODE_ERROR = "UnicodeEncodeError";
    UNICODE_TRANSLATE_ERROR = "UnicodeTranslateError";
    EXCEPTION_GROUP = "ExceptionGroup";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_exception_class_has_its_constant() {
        let classes = (0..table::BUILTIN_CLASSES.len()).filter(|&i| static_is_exception(i));
        assert_eq!(classes.count(), ALL.len());
        for &c in ALL {
            assert_eq!(ExcClass::by_name(c.name()), Some(c));
        }
        assert_eq!(ExcClass::TYPE_ERROR.name(), "TypeError");
        assert_eq!(ExcClass::by_name("IOError"), Some(ExcClass::OS_ERROR));
        assert_eq!(ExcClass::by_name("int"), None, "not an exception class");
        assert_eq!(ExcClass::by_name("ValueErorr"), None);
    }
}

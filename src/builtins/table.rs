//! Stand-in (replaced by the generated CPython 3.11 table).
#![allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassSpec {
    pub name: &'static str,
    pub bases: &'static [&'static str],
}
pub static BUILTIN_CLASSES: &[ClassSpec] = &[
    ClassSpec {
        name: "object",
        bases: &[],
    },
    ClassSpec {
        name: "type",
        bases: &["object"],
    },
    ClassSpec {
        name: "int",
        bases: &["object"],
    },
    ClassSpec {
        name: "bool",
        bases: &["int"],
    },
    ClassSpec {
        name: "BaseException",
        bases: &["object"],
    },
    ClassSpec {
        name: "Exception",
        bases: &["BaseException"],
    },
];
pub fn builtin_index(name: &str) -> Option<usize> {
    BUILTIN_CLASSES.iter().position(|c| c.name == name)
}

//! The builtin classes against CPython 3.11: the table, every class's `__bases__` and
//! `__mro__` in a live runtime, and C3 replayed over CPython's own outcomes for random
//! hierarchies. The reference data (tests/data, written by scripts/gen_builtins.py and
//! scripts/gen_c3_vectors.py) is compiled in: Miri runs these tests with isolation on.

use crate::{scaled, test_config};
use molt_state::Runtime;
use molt_state::builtins::c3::{MroError, c3_linearize};
use molt_state::builtins::table::{ALIASES, BUILTIN_CLASSES, CORE_CLASS_COUNT, builtin_index};
use std::collections::HashSet;

const CPYTHON_BUILTINS: &str = include_str!("../data/cpython311_builtins.txt");
const C3_VECTORS: &str = include_str!("../data/c3_vectors.txt");

/// A `class` line of cpython311_builtins.txt.
#[derive(Debug, PartialEq, Eq)]
struct Reference<'a> {
    name: &'a str,
    bases: Vec<&'a str>,
    mro: Vec<&'a str>,
}

/// Space-separated names, `-` for none.
fn name_list(field: &str) -> Vec<&str> {
    if field == "-" {
        Vec::new()
    } else {
        field.split(' ').collect()
    }
}

/// The classes and aliases of cpython311_builtins.txt, in file order.
fn reference() -> (Vec<Reference<'static>>, Vec<(&'static str, &'static str)>) {
    let mut classes = Vec::new();
    let mut aliases = Vec::new();
    for line in CPYTHON_BUILTINS.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            ["class", name, bases, mro] => classes.push(Reference {
                name,
                bases: name_list(bases),
                mro: name_list(mro),
            }),
            ["alias", alias, class] => aliases.push((alias, class)),
            _ => panic!("bad line in cpython311_builtins.txt: {line:?}"),
        }
    }
    (classes, aliases)
}

#[test]
fn the_table_is_cpythons_class_list() {
    let (reference, aliases) = reference();
    let table: Vec<(&str, Vec<&str>)> = BUILTIN_CLASSES
        .iter()
        .map(|spec| (spec.name, spec.bases.to_vec()))
        .collect();
    let expected: Vec<(&str, Vec<&str>)> = reference
        .iter()
        .map(|r| (r.name, r.bases.clone()))
        .collect();
    assert_eq!(table, expected);
    assert_eq!(ALIASES, aliases);
    // 17 core classes, then 67 exception classes.
    let core: Vec<&str> = BUILTIN_CLASSES[..CORE_CLASS_COUNT]
        .iter()
        .map(|s| s.name)
        .collect();
    // The object model indexes the core classes by their position: the same list.
    assert_eq!(core, molt_state::object::types::core_class::NAMES);
    assert_eq!(BUILTIN_CLASSES.len(), 84);
    for r in &reference {
        let is_exception = r.mro.contains(&"BaseException");
        let index = builtin_index(r.name).unwrap();
        assert_eq!(index >= CORE_CLASS_COUNT, is_exception, "{}", r.name);
    }
}

#[test]
fn bases_come_before_their_subclasses_and_names_are_unique() {
    let mut names = HashSet::new();
    for (i, spec) in BUILTIN_CLASSES.iter().enumerate() {
        assert!(names.insert(spec.name), "{} listed twice", spec.name);
        assert_eq!(builtin_index(spec.name), Some(i));
        assert_eq!(spec.bases.is_empty(), i == 0, "{}", spec.name);
        for base in spec.bases {
            let b = builtin_index(base).unwrap_or_else(|| panic!("unknown base {base}"));
            assert!(b < i, "base {base} of {} comes after it", spec.name);
        }
    }
    assert_eq!(BUILTIN_CLASSES[0].name, "object");
    for (alias, class) in ALIASES {
        assert_eq!(
            builtin_index(alias),
            None,
            "{alias} is an alias, not a class"
        );
        assert!(builtin_index(class).is_some(), "{alias} -> unknown {class}");
    }
    assert_eq!(builtin_index("IOError"), None);
    assert_eq!(builtin_index("WindowsError"), None);
    assert_eq!(builtin_index(""), None);
}

#[test]
fn every_runtime_class_has_cpythons_bases_and_mro() {
    let (reference, _) = reference();
    let rt = Runtime::try_new(test_config()).unwrap();
    let classes = rt.classes();
    let locked = rt.lock();
    let name_of = |id| {
        let data = classes.get(id).unwrap();
        locked.name(data.name).unwrap()
    };
    let names_of = |ids: Vec<_>| ids.into_iter().map(name_of).collect::<Vec<_>>();
    // Both directions: the runtime has exactly the reference classes, in table order.
    let actual: Vec<Reference> = classes
        .iter()
        .map(|id| {
            let mro: Vec<_> = classes.mro(id).unwrap().collect();
            assert_eq!(mro.first(), Some(&id), "the MRO starts with the class");
            Reference {
                name: name_of(id),
                bases: names_of(classes.bases(id).unwrap().collect()),
                mro: names_of(mro),
            }
        })
        .collect();
    assert_eq!(actual.len(), reference.len());
    for (a, r) in actual.iter().zip(&reference) {
        assert_eq!(a, r);
    }
    for r in &reference {
        let id = classes.by_name(r.name).unwrap();
        assert_eq!(name_of(id), r.name);
    }
    drop(locked);
    // Exactly the exception classes are exception types.
    let exceptions = BUILTIN_CLASSES.len() - CORE_CLASS_COUNT;
    assert_eq!(rt.exception_type_count(), exceptions);
    for spec in &BUILTIN_CLASSES[CORE_CLASS_COUNT..] {
        assert_eq!(rt.exception_type(spec.name), classes.by_name(spec.name));
    }
    for spec in &BUILTIN_CLASSES[..CORE_CLASS_COUNT] {
        assert_eq!(rt.exception_type(spec.name), None);
    }
    assert!(rt.shutdown().unwrap().leaks.is_empty());
}

/// Undoes the vector file's escapes: `\n` is a newline, `\\` a backslash.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            other => panic!("bad escape \\{other:?} in {s:?}"),
        }
    }
    out
}

#[test]
fn c3_reproduces_cpython_on_random_hierarchies() {
    // Under Miri only the first vectors (the hand-picked hierarchies and a random one).
    let limit = scaled(usize::MAX, 30);
    // Classes of the current hierarchy as indices: names and full MROs.
    let mut names: Vec<&str> = Vec::new();
    let mut mros: Vec<Vec<usize>> = Vec::new();
    let (mut created, mut duplicates, mut inconsistent) = (0, 0, 0);
    let lines = C3_VECTORS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.is_empty());
    let mut replayed = 0;
    for (number, line) in lines {
        let at = number + 1;
        if line.starts_with("hierarchy ") {
            names = vec!["object"];
            mros = vec![vec![0]];
            continue;
        }
        if replayed == limit {
            break;
        }
        replayed += 1;
        let [name, bases, kind, expected] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("c3_vectors.txt:{at}: bad line {line:?}");
        };
        let bases: Vec<usize> = bases
            .split(' ')
            .map(|b| {
                names
                    .iter()
                    .position(|n| *n == b)
                    .unwrap_or_else(|| panic!("c3_vectors.txt:{at}: unknown base {b}"))
            })
            .collect();
        let result = c3_linearize(&bases, |c| mros[c].as_slice());
        match (kind, result) {
            ("mro", Ok(tail)) => {
                let mut mro = vec![name];
                mro.extend(tail.iter().map(|&c| names[c]));
                assert_eq!(mro.join(" "), expected, "c3_vectors.txt:{at}: {name}");
                let me = names.len();
                names.push(name);
                mros.push(std::iter::once(me).chain(tail).collect());
                created += 1;
            }
            ("error", Err(err)) => {
                let message = err.message(|c| names[c]);
                assert_eq!(message, unescape(expected), "c3_vectors.txt:{at}: {name}");
                match err {
                    MroError::DuplicateBase(_) => duplicates += 1,
                    MroError::Inconsistent { .. } => inconsistent += 1,
                }
            }
            (kind, result) => {
                panic!("c3_vectors.txt:{at}: {name}: expected {kind} {expected:?}, got {result:?}")
            }
        }
    }
    assert!(created > 0 && duplicates > 0 && inconsistent > 0);
    if !cfg!(miri) {
        assert!(created + duplicates + inconsistent > 3000);
        assert!(
            inconsistent > 500,
            "only {inconsistent} inconsistent hierarchies"
        );
    }
}

//! C3 linearization, exactly as CPython 3.11 computes `__mro__`.
//!
//! [`c3_linearize`] follows `mro_implementation` in CPython 3.11's `Objects/typeobject.c`
//! (the MRO of a class whose metaclass is `type`), step by step, so that it picks the same
//! order in every case and fails on the same inputs with the same message:
//!
//! 1. **No bases** (only `object`): the MRO is the class alone.
//! 2. **One base** (fast path): the MRO is the class followed by the base's MRO, copied as
//!    is. Nothing is checked.
//! 3. **Duplicate bases**: with two or more bases, the first base (in declaration order)
//!    that occurs again later is reported: `duplicate base class A`.
//! 4. **Merge** of the lists `to_merge` = the MRO of each base, in order, then the list of
//!    bases itself. Each list has a cursor (everything before it has been output). Scanning
//!    the lists in order, the head of the first non-exhausted list that is not in the *tail*
//!    (after the cursor) of any list is output, every cursor sitting on it advances, and the
//!    scan starts over from the first list. When all lists are exhausted the merge is done.
//! 5. **Failure**: when a full scan finds no head to output, CPython names the heads of the
//!    non-exhausted lists, in `to_merge` order without repeats (it collects them in a dict):
//!    `Cannot create a consistent method resolution\norder (MRO) for bases A, B` (one
//!    newline, after "resolution"). The message is built in a 1000-byte buffer, so it is cut
//!    to at most 999 bytes; see [`MroError::message`].
//!
//! Classes are any `Copy + Eq` handle; the caller supplies each base's MRO through a
//! closure, so no class graph is needed here.

/// Why a class's bases have no MRO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MroError<C> {
    /// The bases list the class twice or more: the first such base, in declaration order.
    DuplicateBase(C),
    /// The C3 merge got stuck: no head of the remaining lists can come next.
    Inconsistent {
        /// The classes CPython names in its message ("for bases ..."): the heads of the
        /// lists still to merge when the merge stopped, in merge-list order, each once.
        /// These are not necessarily among the declared bases.
        bases: Vec<C>,
    },
}

/// Start of CPython's message for a failed merge (`set_mro_error`).
const INCONSISTENT: &str = "Cannot create a consistent method resolution\norder (MRO) for bases";

/// Size of the buffer CPython formats that message into: it holds at most one byte less.
const MESSAGE_BUFFER: usize = 1000;

impl<C: Copy> MroError<C> {
    /// The message of the `TypeError` CPython 3.11 raises, with class names from `name_of`
    /// (the class's `__name__`).
    ///
    /// For [`MroError::Inconsistent`] CPython appends ` NAME,` per class to a 1000-byte
    /// buffer and stops once the text would have reached 1000 bytes, so a message with very
    /// long names is cut to its first 999 bytes; so is this one. (When that cut splits a
    /// multi-byte UTF-8 character, CPython fails to decode its own message and raises a
    /// `UnicodeDecodeError` instead; here the partial character is dropped.)
    pub fn message<S: AsRef<str>>(&self, name_of: impl Fn(C) -> S) -> String {
        match self {
            MroError::DuplicateBase(c) => format!("duplicate base class {}", name_of(*c).as_ref()),
            MroError::Inconsistent { bases } => {
                let mut message = String::from(INCONSISTENT);
                for (i, &c) in bases.iter().enumerate() {
                    if message.len() >= MESSAGE_BUFFER {
                        break;
                    }
                    message.push(' ');
                    message.push_str(name_of(c).as_ref());
                    if i + 1 < bases.len() {
                        message.push(',');
                    }
                }
                if message.len() >= MESSAGE_BUFFER {
                    let mut cut = MESSAGE_BUFFER - 1;
                    while !message.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    message.truncate(cut);
                }
                message
            }
        }
    }
}

/// The MRO of a class with the given `bases`, *without* the class itself (which CPython puts
/// first), computed exactly as CPython 3.11 does; see the [module docs](self).
///
/// `mro_of(base)` gives the complete MRO of a base (starting with the base itself); it is
/// called once per base. The result for `bases = []` is empty (that is `object`).
///
/// Allocates the result, and with two or more bases one vector of the bases' MROs and one of
/// cursors. [`c3_linearize_into`] appends to a caller's vector instead.
///
/// # Errors
///
/// [`MroError::DuplicateBase`] when a base is listed twice (checked only with two or more
/// bases), [`MroError::Inconsistent`] when no order satisfies the constraints.
pub fn c3_linearize<C, M>(bases: &[C], mro_of: impl Fn(C) -> M) -> Result<Vec<C>, MroError<C>>
where
    C: Copy + Eq,
    M: AsRef<[C]>,
{
    let mut out = Vec::new();
    c3_linearize_into(bases, mro_of, &mut out)?;
    Ok(out)
}

/// [`c3_linearize`], appending the MRO (without the class itself) to `out`, so that a caller
/// building many classes can reuse one buffer (e.g. with the class itself already pushed).
///
/// # Errors
///
/// As [`c3_linearize`]; `out` is then as it was.
pub fn c3_linearize_into<C, M>(
    bases: &[C],
    mro_of: impl Fn(C) -> M,
    out: &mut Vec<C>,
) -> Result<(), MroError<C>>
where
    C: Copy + Eq,
    M: AsRef<[C]>,
{
    match bases {
        [] => return Ok(()),
        [base] => {
            out.extend_from_slice(mro_of(*base).as_ref());
            return Ok(());
        }
        _ => {}
    }
    if let Some(dup) = first_duplicate(bases) {
        return Err(MroError::DuplicateBase(dup));
    }

    let mros: Vec<M> = bases.iter().map(|&b| mro_of(b)).collect();
    // to_merge: the bases' MROs, then the bases themselves.
    let lists = mros.len() + 1;
    let list = |i: usize| -> &[C] { mros.get(i).map_or(bases, |m| m.as_ref()) };
    // remain[i]: index in list i of its first element not yet output.
    let mut remain = vec![0usize; lists];
    let start = out.len();
    out.reserve(mros.iter().map(|m| m.as_ref().len()).max().unwrap_or(0));

    'again: loop {
        let mut exhausted = 0;
        for i in 0..lists {
            let Some(&candidate) = list(i).get(remain[i]) else {
                exhausted += 1;
                continue;
            };
            if (0..lists).any(|j| tail_contains(list(j), remain[j], candidate)) {
                continue;
            }
            out.push(candidate);
            for (j, cursor) in remain.iter_mut().enumerate() {
                if list(j).get(*cursor) == Some(&candidate) {
                    *cursor += 1;
                }
            }
            continue 'again;
        }
        if exhausted == lists {
            return Ok(());
        }
        out.truncate(start);
        let mut heads: Vec<C> = Vec::new();
        for (i, &cursor) in remain.iter().enumerate() {
            if let Some(&head) = list(i).get(cursor) {
                if !heads.contains(&head) {
                    heads.push(head);
                }
            }
        }
        return Err(MroError::Inconsistent { bases: heads });
    }
}

/// The first element of `items` that occurs again later (CPython's `check_duplicates`).
fn first_duplicate<C: Copy + Eq>(items: &[C]) -> Option<C> {
    items
        .iter()
        .enumerate()
        .find(|&(i, c)| items[i + 1..].contains(c))
        .map(|(_, &c)| c)
}

/// Whether `item` occurs in `list` after position `cursor` (CPython's `tail_contains`).
fn tail_contains<C: Eq>(list: &[C], cursor: usize, item: C) -> bool {
    list.get(cursor + 1..)
        .is_some_and(|tail| tail.contains(&item))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little class graph with single-letter names: `(class, bases)`, bases before
    /// subclasses. Returns every class's full MRO (class first) as a string.
    fn mros(graph: &[(char, &str)]) -> Vec<(char, String)> {
        let mut done: Vec<(char, Vec<char>)> = Vec::new();
        for &(class, bases) in graph {
            let bases: Vec<char> = bases.chars().collect();
            let mro_of = |c: char| done.iter().find(|(d, _)| *d == c).unwrap().1.clone();
            let tail = c3_linearize(&bases, mro_of).unwrap();
            done.push((class, std::iter::once(class).chain(tail).collect()));
        }
        done.into_iter()
            .map(|(c, mro)| (c, mro.into_iter().collect()))
            .collect()
    }

    fn mro_of_in(graph: &[(char, &str)]) -> impl Fn(char) -> Vec<char> {
        let all = mros(graph);
        move |c| {
            all.iter()
                .find(|(d, _)| *d == c)
                .unwrap()
                .1
                .chars()
                .collect()
        }
    }

    fn name(c: char) -> String {
        c.to_string()
    }

    #[test]
    fn no_bases_is_object_alone() {
        assert_eq!(c3_linearize(&[], |_: char| Vec::new()), Ok(vec![]));
    }

    #[test]
    fn single_base_copies_its_mro_unchecked() {
        // The fast path copies whatever the base's MRO is, even one C3 could not produce.
        let weird = |_: char| vec!['B', 'X', 'X', 'O'];
        assert_eq!(c3_linearize(&['B'], weird), Ok(vec!['B', 'X', 'X', 'O']));
        let graph = [('O', ""), ('A', "O"), ('B', "A")];
        assert_eq!(mros(&graph)[2].1, "BAO");
    }

    #[test]
    fn duplicate_base_reports_the_first_repeated_base_before_merging() {
        let mro_of = mro_of_in(&[('O', ""), ('A', "O"), ('B', "O")]);
        let err = c3_linearize(&['B', 'A', 'A', 'B'], &mro_of).unwrap_err();
        assert_eq!(err, MroError::DuplicateBase('B'));
        assert_eq!(err.message(name), "duplicate base class B");
        // Checked before the merge: (O, A, A) would also be inconsistent.
        let err = c3_linearize(&['O', 'A', 'A'], &mro_of).unwrap_err();
        assert_eq!(err.message(name), "duplicate base class A");
    }

    #[test]
    fn classic_inconsistent_orders() {
        // class X(A, B); class Y(B, A); class Z(X, Y)  ->  stuck on heads A (of X's MRO)
        // and B (of Y's MRO).
        let mro_of = mro_of_in(&[('O', ""), ('A', "O"), ('B', "O"), ('X', "AB"), ('Y', "BA")]);
        let err = c3_linearize(&['X', 'Y'], &mro_of).unwrap_err();
        assert_eq!(
            err,
            MroError::Inconsistent {
                bases: vec!['A', 'B']
            }
        );
        assert_eq!(
            err.message(name),
            "Cannot create a consistent method resolution\norder (MRO) for bases A, B"
        );
        // class C(O, A): object before its subclass. Heads: O (of O's MRO), A (of A's MRO),
        // and O again (of the bases list) is not repeated.
        let err = c3_linearize(&['O', 'A'], &mro_of).unwrap_err();
        assert_eq!(
            err.message(name),
            "Cannot create a consistent method resolution\norder (MRO) for bases O, A"
        );
    }

    #[test]
    fn into_appends_and_leaves_the_buffer_alone_on_error() {
        let mro_of = mro_of_in(&[('O', ""), ('A', "O"), ('B', "O"), ('X', "AB"), ('Y', "BA")]);
        let mut out = vec!['Q'];
        c3_linearize_into(&['A', 'B'], &mro_of, &mut out).unwrap();
        assert_eq!(out, ['Q', 'A', 'B', 'O']);
        for bad in [&['X', 'Y'][..], &['A', 'A'], &['O', 'A']] {
            let mut out = vec!['Q'];
            assert!(c3_linearize_into(bad, &mro_of, &mut out).is_err());
            assert_eq!(out, ['Q']);
        }
    }

    #[test]
    fn the_wikipedia_example() {
        let graph = [
            ('O', ""),
            ('A', "O"),
            ('B', "O"),
            ('C', "O"),
            ('D', "O"),
            ('E', "O"),
            ('1', "ABC"),
            ('2', "DBE"),
            ('3', "DA"),
            ('Z', "123"),
        ];
        let all = mros(&graph);
        assert_eq!(all[6].1, "1ABCO");
        assert_eq!(all[7].1, "2DBEO");
        assert_eq!(all[8].1, "3DAO");
        assert_eq!(all[9].1, "Z123DABCEO");
    }

    #[test]
    fn long_messages_are_cut_to_999_bytes_like_cpythons_buffer() {
        // CPython 3.11: A = type('A' * 600, (), {}); B = type('B' * 600, (A,), {});
        // type('X', (A, B), {}) raises a TypeError whose message is 999 bytes long.
        let a = "A".repeat(600);
        let b = "B".repeat(600);
        let err = MroError::Inconsistent { bases: vec![0, 1] };
        let message = err.message(|c: usize| if c == 0 { &a } else { &b });
        let expected = format!("{INCONSISTENT} {a}, {b}");
        assert_eq!(message.len(), 999);
        assert_eq!(message, expected[..999]);
        // Names past the cut-off are not formatted at all; short ones are never cut.
        let err = MroError::Inconsistent {
            bases: vec![0, 1, 0],
        };
        assert_eq!(
            err.message(|c: usize| if c == 0 { &a } else { &b }),
            message
        );
        let err = MroError::Inconsistent { bases: vec![0, 1] };
        assert_eq!(
            err.message(|c: usize| ["A", "B"][c]),
            format!("{INCONSISTENT} A, B")
        );
        // A cut inside a multi-byte character drops the partial character.
        let e = "é".repeat(600);
        let err = MroError::Inconsistent { bases: vec![0] };
        let message = err.message(|_: usize| format!("A{e}"));
        assert_eq!(message.len(), 998);
        assert!(message.ends_with("éé"));
    }
}

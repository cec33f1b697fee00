//! The capability cache: which capabilities (`fs.read`, `net.connect`, ...) the program
//! was granted, parsed once at init and checked with [`Capabilities::require`].

use crate::error::PermissionError;
use molt_arenas::arena::{Arena, ArenaStr, FrozenArena};

/// The granted capabilities of one runtime. Names live in the runtime's global arena.
#[derive(Debug)]
pub struct Capabilities {
    /// Sorted, deduplicated.
    granted: Vec<ArenaStr>,
}

/// Why a capability name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid capability name {name:?}: expected dot-separated lowercase words ([a-z0-9_-]+), e.g. \"fs.read\""
)]
pub struct InvalidCapability {
    /// The rejected name.
    pub name: String,
}

/// Whether `name` is a well-formed capability name: dot-separated non-empty words of
/// `[a-z0-9_-]`, or `*` (every capability).
pub fn is_valid_name(name: &str) -> bool {
    name == "*"
        || (!name.is_empty()
            && name.split('.').all(|word| {
                !word.is_empty()
                    && word.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    })
            }))
}

impl Capabilities {
    /// Validates `names` and stores them in `arena`.
    pub fn parse<S: AsRef<str>>(names: &[S], arena: &Arena) -> Result<Self, InvalidCapability> {
        let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        if let Some(bad) = sorted.iter().find(|n| !is_valid_name(n)) {
            return Err(InvalidCapability {
                name: (*bad).to_owned(),
            });
        }
        sorted.sort_unstable();
        sorted.dedup();
        Ok(Self {
            granted: sorted.into_iter().map(|n| arena.alloc_str(n)).collect(),
        })
    }

    /// Succeeds when `capability` was granted (directly, through a granted prefix such as
    /// `fs` for `fs.read`, or through `*`); otherwise a `PermissionError`. A malformed name
    /// (`"fs.read."`, `"FS"`, `""`, `"*"`...) is never granted, whatever was granted.
    pub fn require(&self, arena: &FrozenArena, capability: &str) -> Result<(), PermissionError> {
        let malformed = capability == "*" || !is_valid_name(capability);
        if !malformed && self.has(arena, capability) {
            Ok(())
        } else {
            Err(PermissionError {
                capability: capability.to_owned(),
                malformed,
            })
        }
    }

    /// Whether `capability` is granted (see [`require`](Self::require)); `false` for a
    /// malformed name.
    pub fn has(&self, arena: &FrozenArena, capability: &str) -> bool {
        if capability == "*" || !is_valid_name(capability) {
            return false;
        }
        let granted = |name: &str| {
            self.granted
                .binary_search_by(|g| arena.str(*g).expect("own arena").cmp(name))
                .is_ok()
        };
        if granted("*") || granted(capability) {
            return true;
        }
        // A granted prefix grants everything below it: "fs" grants "fs.read".
        capability
            .match_indices('.')
            .any(|(i, _)| granted(&capability[..i]))
    }

    /// Number of granted entries.
    pub fn len(&self) -> usize {
        self.granted.len()
    }

    /// Whether nothing is granted.
    pub fn is_empty(&self) -> bool {
        self.granted.is_empty()
    }

    /// The granted names, sorted.
    pub fn names<'a>(&'a self, arena: &'a FrozenArena) -> impl Iterator<Item = &'a str> + 'a {
        self.granted
            .iter()
            .map(move |g| arena.str(*g).expect("own arena"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(names: &[&str]) -> (Capabilities, FrozenArena) {
        let arena = Arena::new(None);
        let c = Capabilities::parse(names, &arena).unwrap();
        (c, arena.freeze())
    }

    #[test]
    fn require_granted_and_prefixes() {
        let (c, a) = caps(&["net.connect", "fs", "net.connect"]);
        assert_eq!(c.len(), 2);
        assert!(c.require(&a, "fs.read").is_ok());
        assert!(c.require(&a, "fs.write.append").is_ok());
        assert!(c.require(&a, "net.connect").is_ok());
        let err = c.require(&a, "net.listen").unwrap_err();
        assert_eq!(err.capability, "net.listen");
        assert!(err.to_string().contains("PermissionError"));
        assert!(c.require(&a, "fsx").is_err());
        assert_eq!(c.names(&a).collect::<Vec<_>>(), ["fs", "net.connect"]);
    }

    #[test]
    fn star_grants_everything_and_empty_grants_nothing() {
        let (c, a) = caps(&["*"]);
        assert!(c.has(&a, "anything.at.all"));
        let (c, a) = caps(&[]);
        assert!(c.is_empty());
        assert!(!c.has(&a, "fs.read"));
    }

    #[test]
    fn malformed_names_are_never_granted() {
        for granted in [&["*"][..], &["fs"], &["fs.read"]] {
            let (c, a) = caps(granted);
            for bad in [
                "fs.read.", "fs..read", ".fs", "FS.read", "fs read", "", "*", "fs.*",
            ] {
                let err = c.require(&a, bad).unwrap_err();
                assert!(err.malformed, "{bad:?}");
                assert!(
                    err.to_string().contains("not a valid capability name"),
                    "{err}"
                );
                assert!(!c.has(&a, bad), "{bad:?}");
            }
            assert!(c.require(&a, "fs.read").is_ok());
        }
    }

    #[test]
    fn malformed_names_are_rejected() {
        let arena = Arena::new(None);
        for bad in [
            "", "FS", "fs..read", ".fs", "fs.", "fs read", "fs/read", "é",
        ] {
            let err = Capabilities::parse(&[bad], &arena).unwrap_err();
            assert_eq!(err.name, bad);
        }
        assert!(Capabilities::parse(&["fs.read", "net-1.x_y"], &arena).is_ok());
    }
}

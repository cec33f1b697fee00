//! Integration tests of molt-state: one binary, a module per topic.

mod bigint;
mod builtins;
mod config;
mod ffi;
mod gil;
mod hash;
mod hostile;
mod lifecycle;
mod object;
mod ops;
mod pool;
mod slot;
mod tasks;
mod value;

use molt_state::{Config, Gil};

/// A config independent of the caller's environment, with the registry on.
pub fn test_config() -> Config {
    Config {
        read_env: false,
        track_allocations: Some(true),
        hash_seed: Some(molt_state::hash::HashSeed::Fixed(0)),
        ..Config::default()
    }
}

/// Fetches the current exception and returns "Class: message" (clearing it).
pub fn caught(g: &mut Gil<'_>) -> String {
    let e = g.err_fetch().expect("an exception is set");
    let d = g.describe_exception(e);
    g.decref(e).unwrap();
    d
}

/// Loop counts shrink under Miri, which is about a thousand times slower.
pub const fn scaled(native: usize, miri: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

//! Configuration: environment fallbacks and validation, with a fake environment.

use molt_state::config::{ENV_ALLOC_REGISTRY, ENV_CAPABILITIES, ENV_FAIL_INIT_AT, ENV_HASHSEED};
use molt_state::hash::HashSeed;
use molt_state::{Config, InitStep};
use std::collections::HashMap;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Result<Option<String>, String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| Ok(map.get(name).cloned())
}

#[test]
fn environment_fills_unset_fields() {
    let r = Config::default()
        .resolve_with(env(&[
            (ENV_HASHSEED, "12345"),
            (ENV_CAPABILITIES, "fs.read, net.connect,,time"),
            (ENV_ALLOC_REGISTRY, "1"),
            (ENV_FAIL_INIT_AT, "caches"),
        ]))
        .unwrap();
    assert_eq!(r.hash_seed, HashSeed::Fixed(12345));
    assert_eq!(r.capabilities, ["fs.read", "net.connect", "time"]);
    assert!(r.track_allocations);
    assert_eq!(r.fail_at, Some(InitStep::Caches));
}

#[test]
fn explicit_settings_win_over_the_environment() {
    let r = Config {
        hash_seed: Some(HashSeed::Fixed(1)),
        capabilities: Some(vec![]),
        track_allocations: Some(false),
        ..Config::default()
    }
    .resolve_with(env(&[
        (ENV_HASHSEED, "7"),
        (ENV_CAPABILITIES, "fs"),
        (ENV_ALLOC_REGISTRY, "1"),
    ]))
    .unwrap();
    assert_eq!(r.hash_seed, HashSeed::Fixed(1));
    assert!(r.capabilities.is_empty());
    assert!(!r.track_allocations);
}

#[test]
fn defaults_without_environment() {
    let r = Config::default().resolve_with(env(&[])).unwrap();
    assert_eq!(r.hash_seed, HashSeed::Random);
    assert!(r.capabilities.is_empty());
    assert_eq!(r.track_allocations, cfg!(debug_assertions));
    assert_eq!(r.fail_at, None);
    let r = Config {
        read_env: false,
        ..Config::default()
    }
    .resolve_with(env(&[(ENV_HASHSEED, "not a seed")]))
    .unwrap();
    assert_eq!(
        r.hash_seed,
        HashSeed::Random,
        "read_env=false ignores the environment"
    );
}

#[test]
fn invalid_environment_values_are_config_errors() {
    for (var, value, needle) in [
        (ENV_HASHSEED, "-1", "MOLT_HASHSEED"),
        (ENV_HASHSEED, "4294967296", "MOLT_HASHSEED"),
        (ENV_HASHSEED, "abc", "MOLT_HASHSEED"),
        (ENV_ALLOC_REGISTRY, "maybe", "MOLT_ALLOC_REGISTRY"),
        (ENV_FAIL_INIT_AT, "nowhere", "unknown init step"),
    ] {
        let err = Config::default()
            .resolve_with(env(&[(var, value)]))
            .unwrap_err();
        assert_eq!(err.step, InitStep::Config);
        assert!(err.message.contains(needle), "{var}={value}: {err}");
    }
    let err = Config::default()
        .resolve_with(|_| Err("environment variable X is not valid UTF-8".into()))
        .unwrap_err();
    assert!(err.message.contains("UTF-8"));
}

#[test]
fn init_steps_round_trip_through_their_names() {
    for step in InitStep::ALL {
        assert_eq!(step.name().parse::<InitStep>(), Ok(step));
    }
}

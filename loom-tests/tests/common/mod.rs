//! Shared by the loom model files.

/// Runs a loom model with room for spin-waits (a high branch bound) and prints how many
/// executions loom explored. The counter is per call, so models running in parallel test
/// threads do not mix their counts.
pub fn model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    let counter = std::sync::Arc::clone(&executions);
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    eprintln!(
        "{name}: explored {} executions",
        executions.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// A config independent of the environment, with a fixed hash seed; the allocation registry
/// on only with `LOOM_TRACK=1` (its counters are not modelled, but its bookkeeping slows every
/// execution).
#[allow(dead_code)] // not every model file builds runtimes
pub fn config() -> molt_state::Config {
    molt_state::Config {
        read_env: false,
        track_allocations: Some(std::env::var_os("LOOM_TRACK").is_some()),
        hash_seed: Some(molt_state::hash::HashSeed::Fixed(0)),
        ..molt_state::Config::default()
    }
}

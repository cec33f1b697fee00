//! Shared by the loom model files.

/// Runs a loom model with room for spin-waits (a high branch bound) and prints how many
/// executions loom explored.
pub fn model(f: impl Fn() + Sync + Send + 'static) {
    static EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut builder = loom::model::Builder::new();
    builder.max_branches = 100_000;
    EXECUTIONS.store(0, std::sync::atomic::Ordering::Relaxed);
    builder.check(move || {
        EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f()
    });
    eprintln!(
        "explored {} executions",
        EXECUTIONS.load(std::sync::atomic::Ordering::Relaxed)
    );
}

//! Fuzz target `ops`: the op-sequence language of `tests/all/ops/lang.rs` (the same
//! interpreter the proptest in `tests/all/ops.rs` runs), decoded from the fuzzer's bytes
//! with `arbitrary`. Every input runs on fresh runtimes and ends with every runtime shut
//! down and its teardown checked; an invariant violation panics, which libFuzzer reports
//! as a crash with the input saved under `fuzz/artifacts/ops/`.
#![no_main]

#[path = "../../tests/all/ops/lang.rs"]
mod lang;

use libfuzzer_sys::fuzz_target;

/// Longest sequence run per input (longer inputs are cut).
const MAX_OPS: usize = 256;

fuzz_target!(
    init: {
        // The C ABI's runtime reads its config from the environment: count allocations
        // (the teardown's leak report is checked), and nothing else from outside.
        // SAFETY: runs once, before the fuzzer calls the target, with no other threads.
        unsafe {
            std::env::set_var("MOLT_ALLOC_REGISTRY", "1");
            std::env::remove_var("MOLT_FAIL_INIT_AT");
        }
    },
    // Decoded with `arbitrary` (`Op` derives it under cargo-fuzz's `cfg(fuzzing)`), so
    // `cargo fuzz fmt ops <input>` prints the op sequence.
    |ops: Vec<lang::Op>| {
        lang::run(&ops, MAX_OPS);
    }
);

//! loom models of molt-state, in `tests/`. Build and run them with
//!
//! ```sh
//! RUSTFLAGS="--cfg molt_loom -C debug-assertions=on" LOOM_MAX_PREEMPTIONS=2 \
//!     CARGO_TARGET_DIR=target/loom cargo test -p loom-tests --release
//! ```
//!
//! Without `--cfg molt_loom` every model compiles to nothing. The cfg switches
//! `molt_arenas::sync` (the one shim) to loom's types, so the models explore the real code.

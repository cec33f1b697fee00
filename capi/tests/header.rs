//! include/molt_state.h is what cbindgen generates from src/ffi/.

use std::path::Path;

#[test]
#[cfg_attr(
    miri,
    ignore = "runs cbindgen over the source tree (file I/O, far too slow under Miri)"
)]
fn header_is_current() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.parent().expect("capi/ sits in the workspace root");
    let config = cbindgen::Config::from_file(here.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new()
        // Only the C ABI: the crate's other `pub const`s are not part of it.
        .with_src(root.join("src/ffi/mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = root.join("include/molt_state.h");
    if std::env::var_os("MOLT_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/molt_state.h is out of date: run `MOLT_BLESS=1 cargo test -p molt-state-capi --test header` and commit it"
    );
    for name in [
        "molt_runtime_init",
        "molt_runtime_shutdown",
        "molt_last_error",
        "MOLT_ERR_BUSY",
    ] {
        assert!(generated.contains(name), "{name} missing from the header");
    }
}

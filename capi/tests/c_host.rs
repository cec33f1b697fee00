//! Builds capi/tests/c/host.c against the cdylib and runs it: the C ABI as a C host sees it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding this test binary, where cargo also puts `libmolt_state.so`.
///
/// `cargo test` builds a package's library for its integration tests only when they can
/// link it, which a cdylib-only crate's cannot: so the first caller builds it here, with the
/// cargo that runs the tests, into the same target directory and profile (cargo releases
/// its build lock while tests run).
fn deps_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let deps = std::env::current_exe()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf();
            let mut cargo = Command::new(env!("CARGO"));
            cargo
                .args(["build", "--lib", "-p", "molt-state-capi"])
                .current_dir(env!("CARGO_MANIFEST_DIR"));
            if deps.parent().and_then(|p| p.file_name()) == Some("release".as_ref()) {
                cargo.arg("--release");
            }
            let status = cargo.status().expect("cargo runs");
            assert!(status.success(), "cargo build -p molt-state-capi failed");
            deps
        })
        .clone()
}

/// Compiles `capi/tests/c/<name>.c` against the cdylib into `target/c-host/<name>`.
fn compile(name: &str, extra_flags: &[&str]) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.parent().expect("capi/ sits in the workspace root");
    let deps = deps_dir();
    let lib = deps.join(format!(
        "{}molt_state{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.exists(), "cdylib not found at {}", lib.display());
    let out_dir = root.join("target").join("c-host");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .args(extra_flags)
        .arg("-I")
        .arg(root.join("include"))
        .arg(here.join(format!("tests/c/{name}.c")))
        .arg("-L")
        .arg(&deps)
        .arg(format!("-Wl,-rpath,{}", deps.display()))
        .arg("-lmolt_state")
        .arg("-o")
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("cannot run C compiler {cc:?}: {e}"));
    assert!(status.success(), "compiling capi/tests/c/{name}.c failed");
    exe
}

#[test]
#[cfg_attr(miri, ignore = "compiles and runs a C program (FFI, subprocesses)")]
fn c_host_program_drives_the_abi() {
    let exe = compile("host", &["-O1", "-g"]);
    run_ok("host", Command::new(&exe).arg("10000"));
}

/// Runs a C host with the environment's fault injection and hash seed removed (the
/// program inherits our environment) and checks that it succeeded and printed "ok".
fn run_ok(name: &str, cmd: &mut Command) {
    let out = cmd
        .env_remove("MOLT_FAIL_INIT_AT")
        .env_remove("MOLT_HASHSEED")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok"), "{stdout}");
}

#[test]
#[cfg_attr(miri, ignore = "compiles and runs a C program (FFI, subprocesses)")]
fn c_host_sees_init_failures_as_status_codes() {
    let exe = compile("init_fail", &[]);
    for (var, value, expect) in [
        ("MOLT_FAIL_INIT_AT", "builtin-classes", "builtin-classes"),
        ("MOLT_FAIL_INIT_AT", "publish", "publish"),
        ("MOLT_HASHSEED", "not-a-number", "MOLT_HASHSEED"),
        ("MOLT_CAPABILITIES", "BAD NAME", "invalid capability"),
    ] {
        let out = Command::new(&exe).env(var, value).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{var}={value}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(expect), "{var}={value}: {stdout}");
    }
}

#[test]
#[cfg_attr(miri, ignore = "compiles and runs a C program (FFI, subprocesses)")]
fn c_host_holds_the_gil_and_defines_native_functions() {
    let exe = compile("gil_host", &["-O1", "-g", "-pthread"]);
    run_ok("gil_host", &mut Command::new(&exe));
}

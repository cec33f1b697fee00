//! Tests of the molt-state program (`src/main.rs`), run as a process: they live here because
//! `CARGO_BIN_EXE_molt-state` is only set for this crate's own tests.

#[test]
#[cfg_attr(miri, ignore)] // runs the program
fn the_program_refuses_out_of_range_arguments_and_fails_init_at_config() {
    let exe = env!("CARGO_BIN_EXE_molt-state");
    for (args, want) in [
        (
            &["cycle", "--threads", "100000"][..],
            "100000 is not in 1..=1024",
        ),
        (
            &["cycle", "-n", "18446744073709551615"],
            "is not in 1..=10000000",
        ),
        (&["cycle", "-n", "0"], "0 is not in 1..=10000000"),
        (&["cycle", "--alloc-threads", "65"], "65 is not in 0..=64"),
        (
            &["cycle", "--tasks", "100001"],
            "100001 is not in 0..=100000",
        ),
    ] {
        let out = std::process::Command::new(exe).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}"); // clap's usage error
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let out = std::process::Command::new(exe)
        .arg("run")
        .env("MOLT_FAIL_INIT_AT", "config")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("init failed at step config: injected failure"),
        "{err}"
    );
}

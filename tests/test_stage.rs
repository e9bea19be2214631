//! The test stage (`cascade run --test`, `cascade test`) under real
//! autopkgtest (unshare, riscv64 through qemu) and lintian, on one copy of
//! the shared demo run (tests/common).
//!
//! Needs sbuild's chroot tarballs, autopkgtest and mmdebstrap. Without them
//! the test is skipped with a reason, or fails when CI=true.

use std::path::Path;

mod common;
use common::{missing_prerequisite, unavailable};

fn cascade_cmd(dir: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(common::demo_cascade(dir))
}

/// `cascade test … --format json`: the exit code and the cells by
/// `SOURCE/ARCH`.
fn test_run(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let out = cascade_cmd(dir)
        .args([
            "test",
            "run",
            "--recipes",
            "demo/recipes",
            "--workdir",
            "work",
        ])
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let cells: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let by_key = cells
        .into_iter()
        .map(|c| {
            (
                format!(
                    "{}/{}",
                    c["source"].as_str().unwrap(),
                    c["arch"].as_str().unwrap()
                ),
                c,
            )
        })
        .collect();
    (
        out.status.code().unwrap(),
        serde_json::Value::Object(by_key),
    )
}

/// One copy of the shared demo run for the whole stage (autopkgtest
/// testbeds are the cost): `cascade run --test` on amd64 reuses the builds
/// and tests each one — demo-runtime's test passes, demo-blas's GPU test
/// exits 77 and is skipped, demo-smi has none — and a rerun reuses every
/// cell; `cascade test` then runs demo-runtime's test on riscv64 (qemu),
/// lintian on demo-smi (its setting changed: that cell is redone), a recipe
/// setting redoes one cell of a `run --test`, and a testbed that cannot
/// start is a tmpfail and exit 1, not a crash.
#[test]
#[ignore = "needs sbuild and autopkgtest"]
fn the_test_stage_on_the_demo_run() {
    let tools = ["autopkgtest", "mmdebstrap", "sbuild"];
    if let Some(why) = missing_prerequisite(&tools, &["amd64", "riscv64"]) {
        unavailable(&why);
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::copy_of_the_demo_run(dir);
    let run = || {
        let out = cascade_cmd(dir)
            .args(common::demo_args("run", "amd64"))
            .args(["--test", "--no-lintian"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{text}");
        text
    };
    let rundir = cascade::rundir::RunDir::new(dir.join("run"));
    let amd64 = cascade::arch::Arch::new("amd64").unwrap();
    let cell = |source: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(rundir.test_result(source, &amd64)).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let first = run();
    for line in [
        "tested   demo-runtime/amd64 7.2.4-1~exp1: pass",
        "demo-blas/amd64 7.2.4-1~exp1: skipped",
        "demo-smi/amd64 7.2.4-1~exp1: no-tests",
    ] {
        assert!(first.contains(line), "{line}:\n{first}");
    }
    let runtime = cell("demo-runtime");
    assert_eq!(runtime["status"], "pass");
    assert_eq!(runtime["autopkgtest"]["tests"][0]["name"], "headers");
    assert!(runtime["input_hash"].is_string());
    assert_eq!(
        cell("demo-blas")["autopkgtest"]["tests"][0]["class"],
        "skip"
    );
    assert_eq!(cell("demo-smi")["status"], "no-tests");
    let log = rundir.test_artifacts("demo-runtime", &amd64).join("log");
    assert!(log.is_file());
    // The run's report holds the test cells; JUnit a case per test.
    let report = cascade::report::Report::from_run(&dir.join("run")).unwrap();
    let cell = report.test_cell("demo-runtime", "amd64").unwrap();
    assert_eq!(cell.status, "pass");
    let junit = std::fs::read_to_string(dir.join("run/junit.xml")).unwrap();
    assert!(
        junit.contains("<testcase name=\"headers\" classname=\"amd64.demo-runtime.autopkgtest\""),
        "{junit}"
    );

    let again = run();
    assert!(
        again.contains("demo-runtime/amd64 7.2.4-1~exp1: pass reused"),
        "{again}"
    );
    assert!(!again.contains("test     demo-runtime"), "{again}");

    // riscv64 through qemu-user binfmt, in the riscv64 tarball.
    let (code, cells) = test_run(
        dir,
        &[
            "--arch",
            "riscv64",
            "--source",
            "demo-runtime",
            "--no-lintian",
        ],
    );
    assert_eq!(code, 0, "{cells:#}");
    assert_eq!(cells["demo-runtime/riscv64"]["status"], "pass", "{cells:#}");

    // lintian from the target suite, on the source and the .debs.
    let (code, cells) = test_run(dir, &["--arch", "amd64", "--source", "demo-smi"]);
    assert_eq!(code, 0, "{cells:#}");
    let lintian = &cells["demo-smi/amd64"]["lintian"];
    assert!(lintian["error"].is_null(), "{lintian:#}");
    let tags = lintian["tags"].as_array().unwrap();
    assert!(
        tags.iter().any(|t| t["package"] == "demo-smi source"),
        "{lintian:#}"
    );

    // A changed test setting: that cell is redone (here: skipped by the
    // recipe, without a testbed); the others are reused.
    let recipe = dir.join("demo/recipes/demo-runtime.yaml");
    let text = std::fs::read_to_string(&recipe).unwrap();
    std::fs::write(&recipe, format!("{text}tests:\n  skip: true\n")).unwrap();
    let changed = run();
    assert!(
        changed.contains("tested   demo-runtime/amd64 7.2.4-1~exp1: skipped-by-recipe\n"),
        "{changed}"
    );
    assert!(
        changed.contains("demo-solver/amd64 7.2.4-1~exp1: pass reused"),
        "{changed}"
    );

    // A testbed that cannot start: tmpfail, exit 1.
    let stack = dir.join("demo/recipes/stack.yaml");
    let text = std::fs::read_to_string(&stack).unwrap();
    std::fs::write(
        &stack,
        format!("{text}tests:\n  backend:\n    amd64: [unshare, --tarball, /nonexistent.tar, --arch, amd64]\n"),
    )
    .unwrap();
    let (code, cells) = test_run(
        dir,
        &["--arch", "amd64", "--source", "demo-solver", "--no-lintian"],
    );
    assert_eq!(code, 1, "{cells:#}");
    assert_eq!(cells["demo-solver/amd64"]["status"], "tmpfail", "{cells:#}");
}

//! The test stage (`cascade run --test`, `cascade test`) under real
//! autopkgtest (unshare, riscv64 through qemu) and lintian. The shared demo
//! run (tests/common) is the README's first command, `--test` included: its
//! test cells are checked here, then a copy of it goes on with what
//! changes a cell.
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
        .args(["test", "run", "--recipes", "demo/recipes"])
        .args(["--workdir", "work", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let cells: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let by_key = cells.into_iter().map(|c| {
        let key = format!(
            "{}/{}",
            c["source"].as_str().unwrap(),
            c["arch"].as_str().unwrap()
        );
        (key, c)
    });
    (out.status.code().unwrap(), by_key.collect())
}

/// A cell's `result.json` in `run`.
fn cell(run: &Path, source: &str, arch: &str) -> serde_json::Value {
    let arch = cascade::arch::Arch::new(arch).unwrap();
    let path = cascade::rundir::RunDir::new(run).test_result(source, &arch);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Each autopkgtest test of a cell as `name=class`.
fn classes(c: &serde_json::Value) -> Vec<String> {
    let tests = c["autopkgtest"]["tests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (tests.iter())
        .map(|t| {
            format!(
                "{}={}",
                t["name"].as_str().unwrap(),
                t["class"].as_str().unwrap()
            )
        })
        .collect()
}

/// The shared run's tests: demo-runtime's `headers` passes on both arches
/// and its `loader` fails on riscv64 only; demo-blas's GPU test exits 77
/// and is skipped; demo-smi's test, triggered by the runtime's library,
/// waited for demo-runtime's build; demo-solver has no riscv64 build to
/// test; lintian ran on each cell; the report and junit.xml hold them.
fn the_shared_runs_tests(run: &Path, stdout: &str) {
    let status = |s: &str, a: &str| cell(run, s, a)["status"].as_str().unwrap().to_string();
    for (source, arch, want) in [
        ("demo-cmake", "all", "no-tests"),
        ("demo-runtime", "amd64", "pass"),
        ("demo-runtime", "riscv64", "fail"),
        ("demo-blas", "amd64", "skipped"),
        ("demo-blas", "riscv64", "skipped"),
        ("demo-smi", "amd64", "pass"),
        ("demo-solver", "amd64", "pass"),
        ("demo-solver", "riscv64", "not-built"),
        ("demo-kernels", "amd64", "no-tests"),
        ("demo-apps", "amd64", "no-tests"),
    ] {
        assert_eq!(status(source, arch), want, "{source}/{arch}\n{stdout}");
    }
    assert_eq!(
        classes(&cell(run, "demo-runtime", "amd64")),
        ["headers=pass", "loader=pass"]
    );
    let riscv64 = cell(run, "demo-runtime", "riscv64");
    assert_eq!(classes(&riscv64), ["headers=pass", "loader=fail"]);
    assert!(riscv64["input_hash"].is_string());
    let log =
        std::fs::read_to_string(run.join("tests/demo-runtime_riscv64/autopkgtest.log")).unwrap();
    assert!(
        log.contains("no device loader for ELF machine 243"),
        "{log}"
    );
    assert_eq!(classes(&cell(run, "demo-blas", "riscv64")), ["gpu=skip"]);
    // autopkgtest got the run's .debs but no debug symbols, and its copy of
    // them (its output's binaries/) is gone: the run has them in debs/.
    let call = std::fs::read_to_string(run.join("tests/demo-blas_amd64/autopkgtest.sh")).unwrap();
    assert!(
        call.contains("/libdemoblas1_") && !call.contains("dbgsym"),
        "{call}"
    );
    assert!(
        !run.join("tests/demo-blas_amd64/artifacts/binaries")
            .exists()
    );
    // The plan names the trigger; the test waited for the runtime's build.
    let plan: cascade::jobgraph::RunPlan =
        serde_json::from_str(&std::fs::read_to_string(run.join("plan.json")).unwrap()).unwrap();
    let smi = (plan.arches.iter().flat_map(|a| &a.sources))
        .find(|s| s.source == "demo-smi")
        .unwrap();
    assert_eq!(smi.tested_with, ["demo-runtime"]);
    let at = |line: &str| {
        stdout
            .find(line)
            .unwrap_or_else(|| panic!("{line}:\n{stdout}"))
    };
    assert!(
        at("ok       demo-runtime/amd64") < at("test     demo-smi/amd64"),
        "{stdout}"
    );
    // lintian from the target suite, on the source and the .debs; as root
    // in a session of the run's schroot chroot of the lintian tarball (its
    // log beside the output), else in mmdebstrap's throwaway chroot.
    let lintian = &cell(run, "demo-smi", "amd64")["lintian"];
    assert!(lintian["error"].is_null(), "{lintian:#}");
    // SAFETY: geteuid(2) has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let log = if root {
        "schroot.log"
    } else {
        "mmdebstrap.log"
    };
    let dir = run.join("tests/demo-smi_amd64/lintian");
    assert!(dir.join(log).is_file(), "no {log} in {}", dir.display());
    let tags = lintian["tags"].as_array().unwrap();
    assert!(
        tags.iter().any(|t| t["package"] == "demo-smi source"),
        "{lintian:#}"
    );
    // The reports: a case per autopkgtest test in JUnit.
    let report = cascade::report::Report::from_run(run).unwrap();
    assert_eq!(
        report.test_cell("demo-runtime", "riscv64").unwrap().status,
        "fail"
    );
    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    for case in [
        "<testcase name=\"loader\" classname=\"riscv64.demo-runtime.autopkgtest\"",
        "<testcase name=\"headers\" classname=\"amd64.demo-runtime.autopkgtest\"",
    ] {
        assert!(junit.contains(case), "{case}\n{junit}");
    }
    let text = std::fs::read_to_string(run.join("summary.md")).unwrap();
    assert!(text.contains("loader"), "{text}");
}

/// demo-solver's source package with a test that never ends (same
/// version: its built .debs stay), under a recipe timeout of 5 s:
/// autopkgtest kills it (class `timeout`, an unexpected failure), and no
/// process or mount of the testbed is left.
fn a_hanging_test_times_out_and_leaves_nothing_behind(dir: &Path) {
    let src = dir.join("work/source/demo-solver");
    let dsc = "demo-solver_7.2.4-1~exp1.dsc";
    let sh = |script: &str| {
        let out = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "{script}: {out:?}");
    };
    sh(&format!("dpkg-source -x {dsc} hang"));
    std::fs::write(
        src.join("hang/debian/tests/control"),
        "Test-Command: sleep 3600\nDepends: demo-solver\n",
    )
    .unwrap();
    sh(&format!(
        "rm {dsc} *.debian.tar.* && dpkg-source -b hang && rm -r hang"
    ));
    let recipe = dir.join("demo/recipes/demo-solver.yaml");
    let text = std::fs::read_to_string(&recipe).unwrap();
    std::fs::write(&recipe, format!("{text}tests:\n  timeout: 5\n")).unwrap();
    // The host's mounts but schroot's: run-tests runs other binaries
    // beside this one, whose sbuild calls open and end schroot sessions
    // meanwhile (autopkgtest's unshare testbed mounts nothing there). A
    // mount this test left would be one the host did not have before.
    let mounts = || {
        let text = std::fs::read_to_string("/proc/mounts").unwrap();
        (text.lines())
            .filter(|l| {
                let at = l.split_whitespace().nth(1).unwrap_or("");
                !["/run/schroot/", "/var/run/schroot/", "/var/lib/schroot/"]
                    .iter()
                    .any(|p| at.starts_with(p))
            })
            .map(String::from)
            .collect::<std::collections::BTreeSet<_>>()
    };
    let before = mounts();
    let (code, cells) = test_run(
        dir,
        &["--arch", "amd64", "--source", "demo-solver", "--no-lintian"],
    );
    assert_eq!(code, 1, "{cells:#}");
    let solver = &cells["demo-solver/amd64"];
    assert_eq!(solver["status"], "fail", "{cells:#}");
    assert_eq!(classes(solver), ["command1=timeout"], "{cells:#}");
    let left = std::process::Command::new("pgrep")
        .args(["-f", "sleep 3600"])
        .output()
        .unwrap();
    assert!(left.stdout.is_empty(), "left running: {left:?}");
    let left: Vec<_> = mounts().difference(&before).cloned().collect();
    assert!(left.is_empty(), "mounts left behind: {left:?}");
    std::fs::write(&recipe, text).unwrap();
}

/// The shared run's tests, then on a copy: a changed recipe setting redoes
/// its cell alone (the others are reused), a hanging test times out and
/// leaves nothing behind, and a testbed that cannot start is a tmpfail
/// and exit 1, not a crash.
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
    let stdout = common::demo_run().stdout.clone();
    common::copy_of_the_demo_run(dir);
    the_shared_runs_tests(&dir.join("run"), &stdout);

    let recipe = dir.join("demo/recipes/demo-runtime.yaml");
    let text = std::fs::read_to_string(&recipe).unwrap();
    std::fs::write(&recipe, format!("{text}tests:\n  skip: true\n")).unwrap();
    let out = cascade_cmd(dir)
        .args(common::DEMO_RUN_ARGS)
        .output()
        .unwrap();
    let changed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{changed}");
    for line in [
        "tested   demo-runtime/amd64 7.2.4-1~exp1: skipped-by-recipe\n",
        "tested   demo-runtime/riscv64 7.2.4-1~exp1: skipped-by-recipe\n",
        "demo-solver/amd64 7.2.4-1~exp1: pass reused",
        "demo-smi/amd64 7.2.4-1~exp1: pass reused",
    ] {
        assert!(changed.contains(line), "{line}\n{changed}");
    }

    a_hanging_test_times_out_and_leaves_nothing_behind(dir);

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

    // No chroot tarball for the arch (a host where `cascade setup` did not
    // make it): a tmpfail that says which file and how to make it.
    std::fs::write(&stack, text).unwrap();
    let empty = dir.join("empty-cache");
    let out = cascade_cmd(dir)
        .env("XDG_CACHE_HOME", &empty)
        .args([
            "test",
            "run",
            "--recipes",
            "demo/recipes",
            "--workdir",
            "work",
        ])
        .args([
            "--arch",
            "riscv64",
            // demo-runtime's recipe skips its tests by now.
            "--source",
            "demo-blas",
            "--no-lintian",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let missing = empty.join("sbuild/unstable-riscv64-testbed.tar");
    for line in [
        "tmpfail".to_string(),
        format!("no testbed for riscv64: {} is missing", missing.display()),
        "`cascade setup --arch riscv64` makes it".to_string(),
    ] {
        assert!(said.contains(&line), "{line}\n{said}");
    }
}

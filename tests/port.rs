//! Porting runs under real sbuild on the demo stack (riscv64 cross-built):
//! demo-smi leaves riscv64 out of its Architecture field but builds there
//! once widened (its patch is saved); demo-kernels is widened too and fails
//! with `#error` (a root failure its recipe expects); demo-apps, which needs
//! demo-kernels, is blocked by it. (One porting run through the command,
//! which is what the library's porting path runs: no second run of the
//! same builds through the library.)
//!
//! Needs sbuild, dpkg-source, patch, git, xz and the riscv64 chroot tarball
//! that `cascade setup --arch riscv64` makes. Without them the tests are
//! skipped with a reason, or fail when CI=true.

use std::path::{Path, PathBuf};

use cascade::events::Outcome;
use cascade::report::port as port_report;

mod common;
use common::{missing_prerequisite, unavailable};

/// What a porting run needs besides sbuild.
const PORT_TOOLS: &[&str] = &["dpkg-source", "git", "xz", "patch"];

fn cascade_cmd(dir: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(common::demo_cascade(dir))
}

const PORT_ARGS: [&str; 11] = common::demo_args("port", "riscv64");

/// `cascade port --arch riscv64` on the demo stack: the README's porting
/// run. demo-solver's recipe gets the porting profile `nocheck` for riscv64
/// (its test suite fails there under emulation) and, without its tests to
/// run there, may be cross-built; so the run passes: the
/// only root failure, demo-kernels, is expected. A rerun with `--since` the
/// first run reuses every build and compares the scores.
#[test]
#[ignore = "needs sbuild"]
fn cascade_port_on_the_demo_stack() {
    if let Some(why) = missing_prerequisite(PORT_TOOLS, &["riscv64", "amd64"]) {
        unavailable(&why);
        return;
    }
    // The nightly situation: a porting run in the run directory of an
    // earlier plain run (a copy of the shared demo run, tests/common), whose
    // riscv64 builds of unchanged inputs it reuses instead of repeating.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::copy_of_the_demo_run(dir);
    // With nocheck its build-time tests do not run on riscv64, the one
    // reason its recipe keeps it under qemu (`cross: false`): it is
    // cross-built like the rest (the shared run builds it under qemu).
    let solver = dir.join("demo/recipes/demo-solver.yaml");
    let text = std::fs::read_to_string(&solver).unwrap();
    assert!(text.contains("cross: false\n"), "{text}");
    let mut text = text.replace("cross: false\n", "");
    text.push_str("port:\n  riscv64:\n    profiles: [nocheck]\n    timeout_minutes: 60\n");
    std::fs::write(&solver, text).unwrap();

    let t0 = std::time::Instant::now();
    let out = cascade_cmd(dir).args(PORT_ARGS).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "{stdout}\n{}\nfirst porting run: {:.0} s",
        String::from_utf8_lossy(&out.stderr),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(0), "exit code of the porting run");
    let run = dir.join("run");
    let rep = port_report::load(&run.join(port_report::PORT_JSON)).unwrap();
    let a = &rep.arches[0];
    assert_eq!(a.arch, "riscv64");
    let built: Vec<&str> = a.built.iter().map(|b| b.source.as_str()).collect();
    for s in ["demo-runtime", "demo-blas", "demo-smi", "demo-solver"] {
        assert!(built.contains(&s), "{s} not built: {built:?}");
    }
    let solver_log = run.join("logs/demo-solver_7.2.4-1~exp1_riscv64.build");
    let solver_log = std::fs::read_to_string(&solver_log).unwrap();
    let host = cascade::arch::Arch::host().to_string();
    assert!(
        solver_log.contains(&format!("\nBuild Architecture: {host}\n")),
        "demo-solver/riscv64 not cross-built"
    );
    let smi = a.built.iter().find(|b| b.source == "demo-smi").unwrap();
    assert!(smi.ported);
    assert_eq!(smi.version, "7.2.4-1~exp1~port1");
    assert_eq!(
        a.patches,
        [PathBuf::from("port/riscv64/patches/demo-smi.patch")]
    );
    let patch = std::fs::read_to_string(run.join(&a.patches[0])).unwrap();
    assert!(
        patch.contains("+Architecture: amd64 arm64 ppc64el riscv64"),
        "{patch}"
    );
    assert!(
        run.join("debs/riscv64/demo-smi_7.2.4-1~exp1~port1_riscv64.deb")
            .is_file()
    );
    assert_eq!(a.root_failures.len(), 1, "{:?}", a.root_failures);
    let k = &a.root_failures[0];
    assert_eq!(k.source, "demo-kernels");
    assert!(k.expected.is_some());
    assert!(
        k.errors.iter().any(|e| e.contains("no kernel backend")),
        "{:?}",
        k.errors
    );
    assert_eq!(k.blocks, ["demo-apps"]);
    assert_eq!(a.blocked.len(), 1);
    assert_eq!(a.blocked[0].source, "demo-apps");
    assert_eq!(a.blocked[0].by, ["demo-kernels"]);
    assert_eq!(a.score.built, 4);
    assert!(rep.failing.is_empty());
    // demo-solver's inputs changed (the nocheck profile), the widened ones
    // are new; the rest came from the plain run.
    let first = cascade::report::Report::from_run(&run).unwrap();
    let reused = |s: &str, arch: &str| first.cell(s, arch).is_some_and(|r| r.reused);
    for (s, arch) in [
        ("demo-cmake", "all"),
        ("demo-runtime", "riscv64"),
        ("demo-blas", "riscv64"),
    ] {
        assert!(reused(s, arch), "{s}/{arch} rebuilt");
    }
    assert!(!reused("demo-solver", "riscv64") && !reused("demo-smi", "riscv64"));
    // The normal report is there too, and the user's packaging is untouched.
    assert!(run.join("report.json").is_file());
    assert!(run.join("port.md").is_file());
    assert!(stdout.contains("verdict: pass"), "{stdout}");

    // Again, compared with the first run: every build reused, same score.
    let t0 = std::time::Instant::now();
    let out = cascade_cmd(dir)
        .args(PORT_ARGS)
        .args(["--since", "run/report.json"])
        .output()
        .unwrap();
    eprintln!(
        "{}\nsecond porting run: {:.1} s",
        String::from_utf8_lossy(&out.stdout),
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(0));
    let rep2 = port_report::load(&run.join(port_report::PORT_JSON)).unwrap();
    assert_eq!(rep2.arches[0].previous, Some(rep2.arches[0].score));
    assert!(rep2.arches[0].regressions.is_empty());
    let report = cascade::report::Report::from_run(&run).unwrap();
    assert!(
        report
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Ok)
            .all(|r| r.reused),
        "a rerun rebuilt something"
    );
}

/// Usage errors come before any bump or build, with exit code 2 (a bad
/// `--since` is an error reading it: 1).
#[test]
fn cascade_port_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cascade::demo::init(&dir.join("demo")).unwrap();
    cascade_cmd(dir)
        .args(["port", "--recipes", "demo/recipes", "--arch", "s390x"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--arch s390x: neither built nor a porting target of the stack demo",
        ));
    let stack = dir.join("demo/recipes/stack.yaml");
    let text = std::fs::read_to_string(&stack)
        .unwrap()
        .replace("port: [riscv64]\n", "");
    std::fs::write(&stack, text).unwrap();
    cascade_cmd(dir)
        .args(["port", "--recipes", "demo/recipes"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("lists no porting target"));
    cascade_cmd(dir)
        .args(["port", "--recipes", "demo/recipes", "--since", "nowhere"])
        .args(["--arch", "riscv64"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("nowhere"));
    // `cascade port` is `cascade run --port`: the porting options need it.
    cascade_cmd(dir)
        .args(["run", "--recipes", "demo/recipes", "--since", "run"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("go with --port"));
}

/// `cascade build --only PKG --port`, what a nightly CI job runs: a source
/// the packaging leaves off the arch is planned from a widened build copy
/// (`~port1`); without `--port` it is excluded. No sbuild runs.
#[test]
fn build_only_port_plans_a_build_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    cascade::demo::init(&dir.join("demo")).unwrap();
    cascade_cmd(dir)
        .args(["bump", "demo-smi", "--recipes", "demo/recipes"])
        .args(["--workdir", "work"])
        .assert()
        .success();
    let build = |port: bool| {
        let mut c = cascade_cmd(dir);
        c.args(["build", "--recipes", "demo/recipes", "--only", "demo-smi"])
            .args(["--arch", "riscv64", "--workdir", "work", "--run-dir", "run"])
            .arg("--dry-run");
        if port {
            c.arg("--port");
        }
        let out = c.assert().success().get_output().stdout.clone();
        String::from_utf8(out).unwrap()
    };
    let plain = build(false);
    assert!(
        plain.contains("demo-smi/riscv64: excluded: Architecture: amd64 arm64 ppc64el"),
        "{plain}"
    );
    let ported = build(true);
    assert!(
        ported.contains("build demo-smi/riscv64 7.2.4-1~exp1~port1"),
        "{ported}"
    );
    // A dry run writes nothing: the widened copy and its patch live in a
    // scratch directory that is gone afterwards (issue 17.3).
    assert!(
        !dir.join("run").exists(),
        "a dry run made the run directory"
    );
}

//! A dry run writes nothing, commits nothing and pushes nothing (issue 17,
//! item 3): for every command that takes `--dry-run` (bump, build, run,
//! port), the demo's packaging and upstream repositories (bare remotes, a
//! maintainer's `--checkout`), the workdir and the run directory are
//! byte-identical before and after, `.git` included — even with `--push`
//! and `--test` (whose test jobs are listed, not run).
//!
//! Plans read the frozen archive snapshot (`/work/shared/debian-archive`
//! or CASCADE_TEST_MIRROR); builds need only the amd64 chroot tarball to
//! exist (nothing is built). Missing prerequisites skip, or fail under CI=true.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use sha2::{Digest, Sha256};

mod common;
use common::{missing_prerequisite, snapshot_mirror as mirror, unavailable};

fn cascade(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("cascade").unwrap();
    c.env("SOURCE_DATE_EPOCH", "1764590400")
        .env("DEBFULLNAME", "Cascade Test")
        .env("DEBEMAIL", "cascade-test@example.org")
        .env("CASCADE_CACHE_DIR", common::snapshot_cache())
        .env_remove("CASCADE_RECIPES")
        .current_dir(dir);
    c
}

/// Every file, symlink and directory under `root`, by relative path: the
/// content's SHA-256, the link target, or "dir".
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let what = if meta.is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if meta.is_dir() {
                todo.push(p.clone());
                "dir".to_owned()
            } else {
                hex::encode(Sha256::digest(std::fs::read(&p).unwrap()))
            };
            out.insert(rel, what);
        }
    }
    out
}

/// The trees a dry run must leave alone.
fn snapshot(dir: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    ["demo/git", "checkout", "work", "run"]
        .into_iter()
        .map(|d| (d.to_owned(), tree(&dir.join(d))))
        .collect()
}

fn assert_unchanged(before: &BTreeMap<String, BTreeMap<String, String>>, dir: &Path, what: &str) {
    let after = snapshot(dir);
    for (name, b) in before {
        let a = &after[name];
        let changed: Vec<&String> = a
            .keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .collect();
        assert!(changed.is_empty(), "{what} changed {name}: {changed:?}");
    }
}

/// A demo stack with a maintainer's checkout of demo-cmake, its source
/// packages made by a real bump, a bumped (unpushed) checkout, and a run
/// directory holding one file.
fn bumped_demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cascade(d).args(["demo", "init", "demo"]).assert().success();
    let url = d.join("demo/git/packaging/demo-cmake.git");
    let clone = std::process::Command::new("git")
        .args(["clone", "-q", "-b", "debian/experimental"])
        .arg(&url)
        .arg(d.join("checkout"))
        .status()
        .unwrap();
    assert!(clone.success());
    cascade(d)
        .args(["bump", "--recipes", "demo/recipes", "--workdir", "work"])
        .args(["--checkout", "demo-cmake=checkout"])
        .assert()
        .success();
    std::fs::create_dir_all(d.join("run")).unwrap();
    std::fs::write(d.join("run/keep"), "an earlier run's file\n").unwrap();
    dir
}

fn skip() -> bool {
    if let Some(why) = missing_prerequisite(&["dpkg-source", "git"], &["amd64"]) {
        unavailable(&why);
        return true;
    }
    if !mirror().join("dists/sid/Release").exists() {
        unavailable(&format!("no archive snapshot at {}", mirror().display()));
        return true;
    }
    false
}

fn common_args(cmd: &mut Command) -> &mut Command {
    cmd.args(["--recipes", "demo/recipes", "--workdir", "work"])
        .args(["--run-dir", "run", "--arch", "amd64", "--allow-expired"])
        .arg("--mirror")
        .arg(mirror())
}

#[test]
fn dry_runs_of_bump_build_run_and_port_change_nothing() {
    if skip() {
        return;
    }
    let dir = bumped_demo();
    let d = dir.path();
    // A release later than what the bump reached: the stack's recipes now
    // ask for a new Debian revision, so every dry run has a bump to plan.
    for entry in std::fs::read_dir(d.join("demo/recipes")).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("-1~exp1\"", "-1~exp2\"")).unwrap();
    }
    let before = snapshot(d);

    let out = cascade(d)
        .args(["bump", "--recipes", "demo/recipes", "--workdir", "work"])
        .args(["--checkout", "demo-cmake=checkout", "--dry-run", "--push"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("demo-cmake: would bump"), "{text}");
    assert_unchanged(&before, d, "bump --dry-run --push");

    let out = common_args(cascade(d).args(["build", "--dry-run"]))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("build demo-runtime/amd64"), "{text}");
    assert!(!text.contains("test demo-runtime/amd64"), "{text}");
    assert_unchanged(&before, d, "build --dry-run");

    for cmd in ["run", "port"] {
        // With --test: the test jobs are listed, nothing is tested.
        let out = common_args(cascade(d).args([cmd, "--dry-run", "--push", "--test"]))
            .args(["--checkout", "demo-cmake=checkout"])
            .assert()
            .success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(text.contains("demo-cmake: would bump"), "{cmd}: {text}");
        assert!(
            text.contains("build demo-blas/amd64 7.2.4-1~exp2"),
            "{cmd}: {text}"
        );
        assert!(
            text.contains("test demo-blas/amd64 on amd64 after demo-blas/amd64\n"),
            "{cmd}: {text}"
        );
        // demo-smi's tests name the runtime's library (Testsuite-Triggers).
        assert!(
            text.contains(
                "test demo-smi/amd64 on amd64 after demo-smi/amd64, demo-runtime/amd64\n"
            ),
            "{cmd}: {text}"
        );
        assert_unchanged(&before, d, &format!("{cmd} --dry-run --push --test"));
    }
}

/// Issue 17.2 with the demo stack, whose sources are in neither a checkout
/// nor the archive: demo-blas's packaging repo is unreachable, so its bump
/// fails before a clone exists. With no earlier plan, demo-solver's reason
/// names that bump; with the run directory's earlier plan recording
/// demo-solver ← demo-blas, demo-solver is skipped behind it.
#[test]
fn a_bump_failed_before_a_clone_is_named_or_skips_its_dependents() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cascade(d).args(["demo", "init", "demo"]).assert().success();
    let recipe = d.join("demo/recipes/demo-blas.yaml");
    let text = std::fs::read_to_string(&recipe).unwrap();
    let gone = text.replace("packaging/demo-blas.git", "packaging/gone.git");
    assert_ne!(gone, text);
    std::fs::write(&recipe, gone).unwrap();
    let run = |d: &Path| {
        let out = common_args(cascade(d).args(["run", "--dry-run"]))
            .assert()
            .success();
        String::from_utf8_lossy(&out.get_output().stdout).into_owned()
    };

    let text = run(d);
    assert!(text.contains("demo-blas: failed"), "{text}");
    assert!(
        text.contains(
            "demo-solver/amd64: blocked: missing from the archive: libdemoblas-dev (>= 7.1.0~) \
             (demo-blas's bump failed before its debian/control could be read)"
        ),
        "{text}"
    );

    // An earlier run's plan.json (only what matters here).
    std::fs::create_dir_all(d.join("run")).unwrap();
    let plan = r#"{"schema":"cascade-run-plan/1","host":"amd64","all_only":["demo-cmake"],
        "arches":[{"arch":"amd64","sources":[
          {"source":"demo-blas","version":"7.1.0-1~exp1"},
          {"source":"demo-solver","version":"7.1.0-1~exp1","depends_on":["demo-blas"]}]}]}"#;
    std::fs::write(d.join("run/plan.json"), plan).unwrap();
    let text = run(d);
    assert!(
        text.contains("demo-solver/amd64: skipped: dependency demo-blas failed on amd64"),
        "{text}"
    );
    assert!(text.contains("demo-blas/amd64: failed at bump"), "{text}");
    assert!(!text.contains("missing from the archive"), "{text}");
}

//! `cascade transition RUNDIR --rebuild` under real sbuild, on the demo:
//! `cascade demo archive` writes what unstable had before the move (the old
//! `libdemoruntime0` and three consumers outside the stack), and the
//! transition check of the shared demo run (tests/common) against it finds
//! the rename, the binNMUs, the uninstallable consumers, and rebuilds the
//! two failing consumers against the run's .debs, rechecking each failure
//! against the old release: `demo-consumer-legacy` a regression,
//! `demo-consumer-broken` already failing (`demo-consumer`'s `ok` is made
//! by tests/ci.rs through the CI pipeline). A second call reuses every
//! build.
//!
//! Needs sbuild, dpkg-source, dpkg-deb, dpkg-scanpackages, cc, dose-debcheck,
//! the amd64 chroot tarballs and the Debian mirror (the base suite's
//! indices). Without them the test is skipped with a reason, or fails when
//! CI=true.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{missing_prerequisite, unavailable};

const TOOLS: &[&str] = &[
    "dpkg-source",
    "dpkg-deb",
    "dpkg-scanpackages",
    "dpkg-scansources",
    "cc",
    "dose-debcheck",
];

fn cascade(dir: &Path) -> assert_cmd::Command {
    assert_cmd::Command::from_std(common::demo_cascade(dir))
}

/// demo-consumer's `ok` rebuild is left out here: tests/ci.rs's
/// `transition_pipeline_rebuilds_under_gitlab_ci_local` makes it, through
/// the CI pipeline (one real build less in the suite).
const TRANSITION: [&str; 14] = [
    "transition",
    "run",
    "--recipes",
    "demo/recipes",
    "--extra-archive",
    "demo/archive",
    "--arch",
    "amd64",
    "--rebuild",
    "-j2",
    "--allow-expired",
    "--no-verify-signature",
    "--exclude",
    "^demo-consumer$",
];

fn verdicts(doc: &Value) -> Vec<(String, String)> {
    doc["arches"][0]["rebuilt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("source"), s("verdict"))
        })
        .collect()
}

#[test]
#[ignore = "needs sbuild"]
fn the_demo_transition_rebuilds_its_consumers_and_rechecks_the_failures() {
    if let Some(why) = missing_prerequisite(TOOLS, &["amd64"]) {
        return unavailable(&why);
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    common::copy_of_the_demo_run(dir);
    cascade(dir)
        .args(["demo", "archive", "demo"])
        .assert()
        .success();

    let out = cascade(dir)
        .args(TRANSITION)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert_eq!(out.status.code(), Some(1), "a regression: exit 1");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "cascade-transition/2");
    assert_eq!(doc["base_suite"], "unstable");
    let a = &doc["arches"][0];
    assert_eq!(a["renames"][0]["old"], "libdemoruntime0");
    assert_eq!(a["renames"][0]["new"], "libdemoruntime1");
    let binnmus: Vec<&str> = (a["binnmus"].as_array().unwrap().iter())
        .map(|d| d["source"].as_str().unwrap())
        .collect();
    assert_eq!(binnmus, ["demo-consumer", "demo-consumer-legacy"]);
    let broken = a["installability"]["broken"].to_string();
    assert!(broken.contains("libdemoruntime0"), "{broken}");
    let want = [
        ("demo-consumer-broken", "already-failing"),
        ("demo-consumer-legacy", "regression"),
    ]
    .map(|(s, v)| (s.to_string(), v.to_string()));
    assert_eq!(verdicts(&doc), want);
    let rebuilt = a["rebuilt"].as_array().unwrap();
    let legacy = &rebuilt[1];
    assert_eq!(legacy["outcome"]["class"], "failed", "{legacy}");
    assert_eq!(legacy["outcome"]["stage"], "build", "{legacy}");
    assert_eq!(legacy["recheck"]["class"], "ok", "{legacy}");
    let log = std::fs::read_to_string(legacy["log"].as_str().unwrap()).unwrap();
    assert!(
        log.contains("demo_runtime_add3"),
        "the build failed on the removed API"
    );
    let broken = &rebuilt[0];
    assert_eq!(broken["outcome"]["class"], "test-failed", "{broken}");
    assert_eq!(broken["recheck"]["class"], "test-failed", "{broken}");
    // The recheck of demo-consumer-legacy got the old release's .debs,
    // fetched from the archive's pool.
    let recheck_log = std::fs::read_to_string(legacy["recheck_log"].as_str().unwrap()).unwrap();
    assert!(
        recheck_log.contains("libdemoruntime0"),
        "old runtime installed"
    );
    let run = dir.join("run");
    assert!(run.join("transition/transition.json").is_file());
    assert!(run.join("transition/transition.md").is_file());

    // The second call reuses every build: the logs stay as they were.
    let logs = run.join("transition/with-stack/logs");
    let mtime = |p: &Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let before: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| (e.as_ref().unwrap().path(), mtime(&e.unwrap().path())))
        .collect();
    let again = cascade(dir).args(TRANSITION).output().unwrap();
    let text = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "nmu demo-consumer_1.0 . amd64 . unstable . -m \"Rebuild against libdemoruntime1.\""
        ),
        "{text}"
    );
    assert!(
        text.contains("0 ok, 1 regression(s), 1 already failing, 0 other"),
        "{text}"
    );
    for (path, t) in before {
        assert_eq!(mtime(&path), t, "{} was rewritten", path.display());
    }
}

//! `cascade report` on run directories made with the library's own state.

use std::path::Path;

use assert_cmd::Command;
use cascade::arch::Arch;
use cascade::events::{BuildResult, Outcome};
use cascade::schedule::JobKey;
use cascade::state::RunState;

fn result(source: &str, arch: &str, outcome: Outcome) -> BuildResult {
    BuildResult {
        source: source.into(),
        arch: Arch::new(arch).unwrap(),
        version: "1.0-1".into(),
        outcome,
        expected_failure: None,
        log: None,
        duration_secs: 5.0,
        debs: Vec::new(),
        reused: false,
    }
}

fn run_dir(dir: &Path, results: Vec<BuildResult>) {
    let mut state = RunState::new();
    for r in results {
        let key = JobKey::new(r.source.clone(), r.arch.clone());
        state.record(&key, "hash".into(), r);
    }
    state.save(dir).unwrap();
}

fn failed() -> Outcome {
    Outcome::Failed {
        stage: "build".into(),
        errors: vec!["x.c:1:1: error: boom".into()],
    }
}

#[test]
fn a_clean_run_exits_zero_and_shows_the_matrix() {
    let dir = tempfile::tempdir().unwrap();
    run_dir(
        dir.path(),
        vec![
            result("a", "amd64", Outcome::Ok),
            result("a", "riscv64", Outcome::Ok),
        ],
    );
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .args(["report", dir.path().to_str().unwrap()])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("amd64"), "{text}");
    assert!(text.contains("2 ok"), "{text}");
}

#[test]
fn an_unexpected_failure_exits_one_and_since_names_the_regression() {
    let old = tempfile::tempdir().unwrap();
    run_dir(old.path(), vec![result("a", "amd64", Outcome::Ok)]);
    let new = tempfile::tempdir().unwrap();
    run_dir(new.path(), vec![result("a", "amd64", failed())]);
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .args([
            "report",
            new.path().to_str().unwrap(),
            "--since",
            old.path().to_str().unwrap(),
            "--format",
            "json",
        ])
        .assert()
        .code(1);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["schema"], "cascade-report/1");
    assert_eq!(json["regressions"]["newly_failing"][0]["source"], "a");
    assert_eq!(json["results"][0]["outcome"]["class"], "failed");
}

#[test]
fn every_format_renders_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    run_dir(dir.path(), vec![result("a", "amd64", Outcome::Ok)]);
    for (format, needle) in [
        ("html", "<table id=\"matrix\">"),
        ("junit", "<testsuites"),
        ("markdown", "| package |"),
        ("text", "1 ok"),
        ("json", "\"schema\""),
    ] {
        let out = dir.path().join(format!("out.{format}"));
        Command::cargo_bin("cascade")
            .unwrap()
            .args([
                "report",
                dir.path().to_str().unwrap(),
                "--format",
                format,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(needle), "{format}: {text}");
    }
}

#[test]
fn not_a_run_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .args(["report", dir.path().to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "neither report.json, state.json nor results/",
        ));
}

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
        stats: None,
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
    assert_eq!(json["schema"], "cascade-report/2");
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

/// `--out` replaces a regular file atomically but never the entry itself
/// when it is a symlink (its target is written) or a device node (issue 17.6).
#[test]
fn out_writes_through_symlinks_and_device_nodes() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    run_dir(dir.path(), vec![result("a", "amd64", Outcome::Ok)]);
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    // The link first: a build that would replace entries fails here,
    // before it could replace the host's /dev/null.
    for out in [link.as_path(), Path::new("/dev/null")] {
        Command::cargo_bin("cascade")
            .unwrap()
            .args(["report", dir.path().to_str().unwrap(), "--format", "json"])
            .arg("--out")
            .arg(out)
            .assert()
            .success();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert!(
            std::fs::read_to_string(&real)
                .unwrap()
                .contains("\"schema\"")
        );
    }
    let null = std::fs::metadata("/dev/null").unwrap();
    assert!(null.file_type().is_char_device(), "/dev/null was replaced");
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

/// `cascade report --port riscv64`, the nightly pipeline's report job: a
/// widened package (`~port1`) that never built does not fail the night; a
/// package that built in the previous night's run and fails now does.
#[test]
fn port_verdict_fails_only_on_what_built_before() {
    let ported = |source: &str, outcome: Outcome| BuildResult {
        version: "1.0-1~port1".into(),
        ..result(source, "riscv64", outcome)
    };
    let report = |dir: &Path, since: Option<&Path>| {
        let mut c = Command::cargo_bin("cascade").unwrap();
        c.args(["report", dir.to_str().unwrap(), "--port", "riscv64"]);
        if let Some(s) = since {
            c.args(["--since", s.to_str().unwrap()]);
        }
        c.assert()
    };
    let last_night = tempfile::tempdir().unwrap();
    run_dir(
        last_night.path(),
        vec![ported("smi", Outcome::Ok), ported("kernels", failed())],
    );
    // First night: kernels never built; the porting verdict passes where a
    // plain report would fail.
    report(last_night.path(), None).success();
    Command::cargo_bin("cascade")
        .unwrap()
        .args(["report", last_night.path().to_str().unwrap()])
        .assert()
        .code(1);
    assert!(last_night.path().join("port.json").exists());

    let tonight = tempfile::tempdir().unwrap();
    run_dir(
        tonight.path(),
        vec![ported("smi", failed()), ported("kernels", failed())],
    );
    // smi built last night and fails tonight: the night fails.
    report(tonight.path(), Some(last_night.path())).code(1);
    let port = std::fs::read_to_string(tonight.path().join("port.json")).unwrap();
    assert!(port.contains("\"smi\""), "{port}");
}

/// A fan-out pipeline's report job: the build jobs' `results/*.json` and the
/// pipeline's `plan.json`. GitLab never started `apps` (its dependency
/// `kernels` failed): the report shows it skipped behind `kernels`, `smi` is
/// excluded as the plan says, and the porting verdict counts `apps` as
/// blocked, not as a failure of its own.
#[test]
fn a_pipelines_plan_completes_its_results() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir_all(&results).unwrap();
    let mut kernels = result("kernels", "riscv64", failed());
    kernels.expected_failure = Some("#error: no riscv64 kernels".into());
    for r in [result("runtime", "riscv64", Outcome::Ok), kernels] {
        std::fs::write(
            results.join(format!("{}_{}.json", r.source, r.arch)),
            serde_json::to_string(&r).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(
        dir.path().join("plan.json"),
        r#"{"schema": "cascade-run-plan/1", "arches": [{"arch": "riscv64", "sources": [
            {"source": "runtime", "version": "1.0-1"},
            {"source": "kernels", "version": "1.0-1", "depends_on": ["runtime"]},
            {"source": "apps", "version": "1.0-1", "depends_on": ["kernels", "runtime"]},
            {"source": "smi", "version": "1.0-1", "not_built": "Architecture: amd64"}
        ]}]}"#,
    )
    .unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .args(["report", dir.path().to_str().unwrap(), "--format", "json"])
        .args(["--port", "riscv64"])
        .assert()
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let cells: Vec<String> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{} {} {}",
                r["source"].as_str().unwrap(),
                r["arch"].as_str().unwrap(),
                r["outcome"]["class"].as_str().unwrap(),
                r["outcome"]["dependency"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            "runtime/riscv64 ok -",
            "kernels/riscv64 failed -",
            "apps/riscv64 skipped kernels",
            "smi/riscv64 excluded -",
        ]
    );
    let port: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("port.json")).unwrap())
            .unwrap();
    let blocked = &port["arches"][0]["blocked"];
    assert_eq!(blocked[0]["source"], "apps", "{port}");
    assert_eq!(blocked[0]["by"][0], "kernels", "{port}");

    // A plan of another schema is refused, naming the file.
    std::fs::write(
        dir.path().join("plan.json"),
        r#"{"schema": "x", "arches": []}"#,
    )
    .unwrap();
    Command::cargo_bin("cascade")
        .unwrap()
        .args(["report", dir.path().to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("plan.json"));
}

/// A test cell as `cascade test` leaves it: `RUNDIR/tests/PKG_ARCH/result.json`
/// with one autopkgtest test per `(name, class)`.
fn test_cell(dir: &Path, source: &str, status: &str, tests: &[(&str, &str)]) {
    let unexpected: Vec<String> = (tests.iter())
        .filter(|(_, class)| *class == "fail")
        .map(|(name, _)| format!("{name}: fail"))
        .collect();
    let verdict = if unexpected.is_empty() {
        "pass"
    } else {
        "fail"
    };
    let tests: Vec<serde_json::Value> = (tests.iter())
        .map(|(name, class)| serde_json::json!({"name": name, "class": class}))
        .collect();
    let cell = serde_json::json!({
        "source": source, "arch": "amd64", "test_arch": "amd64", "version": "1.0-1",
        "status": status, "exit_code": 0, "duration_secs": 3.0,
        "autopkgtest": {"verdict": verdict, "tests": tests},
        "unexpected": unexpected,
    });
    let cell_dir = dir.join("tests").join(format!("{source}_amd64"));
    std::fs::create_dir_all(&cell_dir).unwrap();
    std::fs::write(cell_dir.join("result.json"), cell.to_string()).unwrap();
}

/// `cascade report --since` on two tested runs whose builds are the same:
/// `a`'s `smoke` test broke (a test regression: exit 1, named in every
/// format), `b`'s was fixed.
#[test]
fn since_names_test_regressions_and_fixes() {
    let (old, new) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for dir in [old.path(), new.path()] {
        let builds = vec![
            result("a", "amd64", Outcome::Ok),
            result("b", "amd64", Outcome::Ok),
        ];
        run_dir(dir, builds);
    }
    test_cell(old.path(), "a", "pass", &[("smoke", "pass")]);
    test_cell(old.path(), "b", "fail", &[("unit", "fail")]);
    test_cell(new.path(), "a", "fail", &[("smoke", "fail")]);
    test_cell(new.path(), "b", "pass", &[("unit", "pass")]);
    let report = |format: &str| {
        let out = Command::cargo_bin("cascade")
            .unwrap()
            .args(["report", new.path().to_str().unwrap(), "--since"])
            .arg(old.path())
            .args(["--format", format])
            .assert()
            .code(1);
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&report("json")).unwrap();
    let reg = &json["regressions"];
    assert_eq!(reg["newly_failing"], serde_json::json!([]), "{reg}");
    assert_eq!(reg["tests_newly_failing"][0]["source"], "a", "{reg}");
    assert_eq!(reg["tests_newly_failing"][0]["tests_failing"][0], "smoke");
    assert_eq!(reg["tests_newly_fixed"][0]["source"], "b", "{reg}");
    let text = report("text");
    assert!(
        text.contains("tests newly failing:\n    a/amd64: pass -> fail (smoke: pass -> fail)"),
        "{text}"
    );
    assert!(
        text.contains("tests newly fixed:\n    b/amd64: fail -> pass"),
        "{text}"
    );
    assert!(report("markdown").contains("**Tests newly failing**:"));
    assert!(report("html").contains("tests newly failing: <b>a/amd64</b>"));
    // The porting verdict (every build ok: it passes) fails on the test
    // regression as it would on a build regression; without --since's
    // run there is none, and the verdict stands.
    let port = |since: bool| {
        let mut c = Command::cargo_bin("cascade").unwrap();
        c.args(["report", new.path().to_str().unwrap(), "--port", "amd64"]);
        if since {
            c.arg("--since").arg(old.path());
        }
        c.assert()
    };
    port(true).code(1);
    port(false).success();
}

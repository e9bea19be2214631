//! `cascade rdeps` on the trimmed snapshot (tests/fixtures/archive): the
//! answer dose-ceve gives on the full snapshot, direct vs transitive, arch
//! restrictions, JSON, bad input.

#[path = "fixtures/archive/server.rs"]
mod server;

use assert_cmd::Command;
use predicates::prelude::*;
use server::{Server, fixture};

fn rdeps(extra: &[&str]) -> (Command, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let mut c = Command::cargo_bin("cascade").unwrap();
    c.arg("rdeps")
        .arg("--mirror")
        .arg(fixture())
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--allow-expired")
        .args(extra);
    (c, cache)
}

fn lines(out: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(out)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `dose-ceve -T debsrc --deb-native-arch=amd64 --deb-drop-b-d-indep
/// -r libamdhip64-dev,hipcc` on the full sid snapshot (see benches/).
fn dose_answer() -> Vec<String> {
    let text =
        std::fs::read_to_string(fixture().join("dose-ceve-sid-amd64-libamdhip64-dev-hipcc.txt"))
            .unwrap();
    text.lines().map(str::to_string).collect()
}

#[test]
fn same_sources_as_dose_ceve() {
    let (mut c, _cache) = rdeps(&["libamdhip64-dev", "hipcc", "--no-indep"]);
    let out = c.assert().success().get_output().stdout.clone();
    let got = lines(&out);
    assert_eq!(got, dose_answer());
    // Beyond the team: ggml, magma-rocm, gloo-rocm, ucx, starpu; eztrace only via libstarpu-dev.
    for s in [
        "ggml",
        "magma-rocm",
        "gloo-rocm",
        "ucx",
        "starpu",
        "eztrace",
    ] {
        assert!(got.contains(&s.to_string()), "{s} missing");
    }
}

#[test]
fn over_http_too() {
    let server = Server::serve(&fixture());
    let cache = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .args([
            "rdeps",
            "libamdhip64-dev",
            "hipcc",
            "--no-indep",
            "--allow-expired",
            "--no-verify-signature", // the fixture is not signed
            "--suite",
            "unstable",
        ])
        .args(["--mirror", &server.url, "--cache-dir"])
        .arg(cache.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(lines(&out), dose_answer());
}

#[test]
fn direct_leaves_out_transitive_sources() {
    let (mut c, _cache) = rdeps(&["libamdhip64-dev", "hipcc", "--no-indep", "--direct"]);
    let got = lines(&c.assert().success().get_output().stdout);
    assert!(got.contains(&"ggml".to_string()));
    // eztrace reaches hip only through libstarpu-dev; hipsolver through librocblas-dev & co.
    assert!(!got.contains(&"eztrace".to_string()));
    assert!(!got.contains(&"hipsolver".to_string()));
    assert!(got.len() < dose_answer().len());
}

#[test]
fn architecture_restrictions_apply() {
    // ggml's ROCm build-dependencies are restricted to amd64.
    let (mut c, _cache) = rdeps(&["libamdhip64-dev", "hipcc", "--no-indep", "--arch", "arm64"]);
    let got = lines(&c.assert().success().get_output().stdout);
    assert!(!got.contains(&"ggml".to_string()));
    assert!(got.contains(&"rocblas".to_string()));
}

#[test]
fn json_output() {
    let (mut c, _cache) = rdeps(&["libamdhip64-dev", "hipcc", "--no-indep", "--format", "json"]);
    let out = c.assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["suite"], "sid");
    assert_eq!(v["arch"], "amd64");
    assert_eq!(v["include_indep"], false);
    let sources = v["sources"].as_array().unwrap();
    assert_eq!(sources.len(), dose_answer().len());
    let eztrace = sources.iter().find(|s| s["source"] == "eztrace").unwrap();
    assert_eq!(eztrace["via"], serde_json::json!(["libstarpu-dev"]));
    assert!(eztrace["version"].is_string());
}

#[test]
fn unknown_binaries() {
    let (mut c, _cache) = rdeps(&["no-such-binary"]);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-binary"))
        .stderr(predicate::str::contains("sid/amd64"));
    let (mut c, _cache) = rdeps(&["hipcc", "no-such-binary"]);
    c.assert().success().stderr(predicate::str::contains(
        "warning: no-such-binary is not in sid/amd64's Packages",
    ));
}

#[test]
fn bad_arguments() {
    let (mut c, _cache) = rdeps(&["hipcc", "--arch", "riscv"]);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("unknown architecture `riscv`"));
    let mut c = Command::cargo_bin("cascade").unwrap();
    c.arg("rdeps").assert().code(2);
    // Issue 17.9: an empty name is refused before the archive is read.
    let (mut c, _cache) = rdeps(&[""]);
    c.assert()
        .code(2)
        .stderr(predicate::str::contains("`` is not a binary package name"));
}

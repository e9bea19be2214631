//! `cascade transition --dry-run` on the real recipes, checked against an
//! answer this test computes on its own from the indices: a small deb822
//! reader, the rule "a binary the moving source's base version builds and
//! its new version does not" for dropped binaries, and "an outside
//! arch-dependent binary with a dependency whose every alternative names a
//! disappearing binary" for binNMUs. On the fixture archive always; on the
//! whole snapshot with `--include-ignored` (run-tests skips it by name).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

mod common;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

type Para = BTreeMap<String, String>;

fn read_index(path: &Path) -> String {
    let xz = path.with_extension("xz");
    let mut text = String::new();
    if xz.exists() {
        xz2::read::XzDecoder::new(std::fs::File::open(&xz).unwrap())
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = std::fs::read_to_string(path).unwrap_or_default();
    }
    text
}

fn paras(text: &str) -> Vec<Para> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut p = Para::new();
        let mut last = String::new();
        for line in block.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = p.get_mut(&last) {
                    v.push('\n');
                    v.push_str(line.trim());
                }
            } else if let Some((k, v)) = line.split_once(':') {
                last = k.to_string();
                p.insert(last.clone(), v.trim().to_string());
            }
        }
        if !p.is_empty() {
            out.push(p);
        }
    }
    out
}

fn dists(mirror: &Path, suite: &str, file: &str) -> Vec<Para> {
    paras(&read_index(
        &mirror.join("dists").join(suite).join("main").join(file),
    ))
}

/// Newest version per source (plain string comparison would mislead:
/// dpkg --compare-versions decides).
fn newest(sources: &[Para], name: &str) -> Option<String> {
    let mut best: Option<String> = None;
    for p in sources.iter().filter(|p| p["Package"] == name) {
        if p.get("Extra-Source-Only").map(String::as_str) == Some("yes") {
            continue;
        }
        let v = p["Version"].clone();
        let newer = best.as_ref().is_none_or(|b| {
            std::process::Command::new("dpkg")
                .args(["--compare-versions", &v, "gt", b])
                .status()
                .unwrap()
                .success()
        });
        if newer {
            best = Some(v);
        }
    }
    best
}

fn built_on(arch_field: &str, arch: &str) -> bool {
    arch_field.split(',').any(|a| {
        a == "any" || a == "all" || a == "linux-any" || a == arch || a == format!("any-{arch}")
    })
}

/// Binary names of a Sources paragraph's Package-List built on `arch`.
fn package_list(p: &Para, arch: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in p.get("Package-List").map_or("", String::as_str).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let archs = f[4..]
            .iter()
            .find_map(|x| x.strip_prefix("arch="))
            .unwrap_or("any");
        if built_on(archs, arch) {
            out.insert(f[0].to_string());
        }
    }
    out
}

fn source_of(p: &Para) -> (String, String) {
    let src = p
        .get("Source")
        .cloned()
        .unwrap_or_else(|| p["Package"].clone());
    let mut it = src.split_whitespace();
    let name = it.next().unwrap().to_string();
    let version = it
        .next()
        .map(|v| v.trim_matches(['(', ')']).to_string())
        .unwrap_or_else(|| p["Version"].clone());
    (name, version)
}

struct Expected {
    dropped: BTreeSet<String>,
    binnmu_sources: BTreeSet<String>,
}

/// The independent answer for one arch.
fn expected(mirror: &Path, stack: &BTreeSet<String>, arch: &str) -> Expected {
    let sid_sources = dists(mirror, "sid", "source/Sources");
    let exp_sources = dists(mirror, "experimental", "source/Sources");
    let packages = dists(mirror, "sid", &format!("binary-{arch}/Packages"));
    let mut dropped = BTreeSet::new();
    let mut gone = BTreeSet::new();
    for s in stack {
        let (Some(new_v), old_v) = (newest(&exp_sources, s), newest(&sid_sources, s)) else {
            continue;
        };
        if old_v.as_ref() == Some(&new_v) {
            continue;
        }
        let new = exp_sources
            .iter()
            .find(|p| &p["Package"] == s && p["Version"] == new_v)
            .map(|p| package_list(p, arch))
            .unwrap();
        for p in &packages {
            let (src, src_v) = source_of(p);
            if &src == s && !new.contains(&p["Package"]) {
                gone.insert(p["Package"].clone());
                if Some(&src_v) == old_v.as_ref() {
                    dropped.insert(p["Package"].clone());
                }
            }
        }
    }
    let mut binnmu_sources = BTreeSet::new();
    for p in &packages {
        let (src, _) = source_of(p);
        if stack.contains(&src) || p["Architecture"] == "all" {
            continue;
        }
        let deps = [p.get("Depends"), p.get("Pre-Depends")];
        let broken = deps
            .into_iter()
            .flatten()
            .flat_map(|d| d.split(','))
            .any(|group| {
                group.split('|').all(|alt| {
                    let name = alt.split_whitespace().next().unwrap_or("");
                    gone.contains(name.split(':').next().unwrap())
                })
            });
        if broken {
            binnmu_sources.insert(src);
        }
    }
    Expected {
        dropped,
        binnmu_sources,
    }
}

fn stack_names() -> BTreeSet<String> {
    std::fs::read_dir(format!("{ROOT}/recipes"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let source = name.strip_suffix(".yaml")?;
            (source != "stack").then(|| source.to_string())
        })
        .collect()
}

fn transition(mirror: &Path, arches: &str, extra: &[&str]) -> Value {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(ROOT)
        .env("CASCADE_CACHE_DIR", cache.path())
        .env_remove("CASCADE_MIRROR")
        .args(["--recipes", "recipes", "transition", "--dry-run"])
        .arg("--mirror")
        .arg(mirror)
        .args(["--allow-expired", "--arch", arches, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(v: &Value, key: &str, field: &str) -> BTreeSet<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

fn check_against_independent_answer(mirror: &Path, arches: &[&str]) -> Value {
    let doc = transition(mirror, &arches.join(","), &["--no-installability"]);
    assert_eq!(doc["schema"], "cascade-transition/2");
    assert_eq!(
        doc["base_suite"], "unstable",
        "named as the stack file names it"
    );
    let stack = stack_names();
    for (i, arch) in arches.iter().enumerate() {
        let a = &doc["arches"][i];
        assert_eq!(a["arch"], *arch);
        let want = expected(mirror, &stack, arch);
        assert_eq!(
            names(a, "dropped", "binary"),
            want.dropped,
            "dropped on {arch}"
        );
        let got: BTreeSet<String> = names(a, "binnmus", "source");
        assert_eq!(got, want.binnmu_sources, "binNMU sources on {arch}");
    }
    doc
}

#[test]
fn the_fixture_transition_equals_an_independent_count() {
    let mirror = Path::new(ROOT).join("tests/fixtures/archive");
    let doc = check_against_independent_answer(&mirror, &["amd64", "riscv64"]);
    // The fixture is trimmed to the stack: the answer must still say something.
    assert!(!doc["arches"][0]["dropped"].as_array().unwrap().is_empty());
}

#[test]
#[ignore = "reads the whole archive snapshot (opt-in)"]
fn the_snapshot_transition_of_rocm_7_2_4_into_unstable() {
    let mirror = common::snapshot_mirror();
    if !mirror.join("dists/sid/Release").exists() {
        return common::unavailable(&format!("no snapshot at {}", mirror.display()));
    }
    let doc = check_against_independent_answer(&mirror, &["amd64", "arm64", "ppc64el", "riscv64"]);
    let amd64 = &doc["arches"][0];
    // The facts the team knows: 17 binaries go, rocr-runtime 7.2.4 still
    // wants rocm-device-libs-21, which rocm-llvm 7.2.4 renames to -22.
    assert_eq!(amd64["dropped"].as_array().unwrap().len(), 17);
    let renames = names(amd64, "renames", "new");
    assert!(renames.contains("rocm-device-libs-22") && renames.contains("libamdhip64-7"));
    let left = names(amd64, "left_behind", "source");
    assert!(left.contains("rocr-runtime"), "{left:?}");
    assert_eq!(amd64["rebuilds_direct"], 17);
}

/// A .deb with just a control file.
fn deb(dir: &Path, package: &str, arch: &str, depends: &str) {
    let root = tempfile::tempdir().unwrap();
    let debian = root.path().join("DEBIAN");
    std::fs::create_dir_all(&debian).unwrap();
    let depends = if depends.is_empty() {
        String::new()
    } else {
        format!("Depends: {depends}\n")
    };
    std::fs::write(
        debian.join("control"),
        format!(
            "Package: {package}\nSource: rocm-smi-lib\nVersion: 7.2.4-1\nArchitecture: {arch}\n\
             Maintainer: T <t@example.org>\n{depends}Description: test\n test\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir).unwrap();
    let out = std::process::Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(root.path())
        .arg(dir.join(format!("{package}_7.2.4-1_{arch}.deb")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// dose-debcheck answers the same on the background the checked packages
/// reach as on the whole suite: the fixture's sid amd64 (830 binaries),
/// checking every fifth package, with Essential left out as cascade runs it.
#[test]
#[ignore = "needs dose-debcheck (dose-extra)"]
fn dose_answers_the_same_on_the_reachable_background() {
    if !std::process::Command::new("sh")
        .args(["-c", "command -v dose-debcheck"])
        .status()
        .unwrap()
        .success()
    {
        return common::unavailable("dose-debcheck is not installed");
    }
    use cascade::transition::debcheck;
    let xz = Path::new(ROOT).join("tests/fixtures/archive/dists/sid/main/binary-amd64/Packages.xz");
    let out = std::process::Command::new("xz")
        .arg("-dc")
        .arg(&xz)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = (text.lines())
        .filter_map(|l| l.strip_prefix("Package: "))
        .collect();
    let check: BTreeSet<&str> = names.iter().step_by(5).copied().collect();
    let whole = debcheck::split(&text, "", &BTreeSet::new(), &check);
    let trimmed = debcheck::reachable(whole.clone());
    assert!(trimmed.background.len() < whole.background.len());
    let tmp = tempfile::tempdir().unwrap();
    // Each broken package with its reasons, in any order (dose lists a
    // package's reasons in the order it met them).
    let broken = |s: &debcheck::Split| -> BTreeSet<(String, String, BTreeSet<String>)> {
        (debcheck::check("amd64", s, tmp.path()).unwrap().into_iter())
            .map(|b| {
                let reasons = b.reason.split("; ").map(String::from).collect();
                (b.package, b.version, reasons)
            })
            .collect()
    };
    let want = broken(&whole);
    assert!(!want.is_empty(), "the fixture holds uninstallable packages");
    assert_eq!(broken(&trimmed), want);
}

#[test]
#[ignore = "needs dose-debcheck (dose-extra) and dpkg-deb"]
fn a_runs_debs_are_the_new_binaries_and_dose_checks_them() {
    if let Some(tool) = ["dose-debcheck", "dpkg-deb"].into_iter().find(|t| {
        !std::process::Command::new("sh")
            .args(["-c", &format!("command -v {t}")])
            .status()
            .unwrap()
            .success()
    }) {
        return common::unavailable(&format!("{tool} is not installed"));
    }
    let run = tempfile::tempdir().unwrap();
    let debs = run.path().join("debs/amd64");
    deb(&debs, "librocm-smi64-7", "amd64", "");
    deb(
        &debs,
        "librocm-smi-dev",
        "amd64",
        "librocm-smi64-7 (= 7.2.4-1)",
    );
    deb(
        &debs,
        "rocm-smi",
        "amd64",
        "librocm-smi64-7, libnot-in-any-archive",
    );
    deb(&debs, "librocm-smi64-7-dbgsym", "amd64", "librocm-smi64-7");
    let mirror = Path::new(ROOT).join("tests/fixtures/archive");
    let cache = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("cascade")
        .unwrap()
        .current_dir(ROOT)
        .env("CASCADE_CACHE_DIR", cache.path())
        .args(["--recipes", "recipes", "transition"])
        .arg(run.path())
        .arg("--mirror")
        .arg(&mirror)
        .args(["--allow-expired", "--arch", "amd64", "--format", "json"])
        .output()
        .unwrap();
    // rocm-smi is uninstallable: a problem, exit 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = &doc["arches"][0];
    assert_eq!(a["moving"], serde_json::json!(["rocm-smi-lib"]));
    // The fixture's sid builds rocm-smi, librocm-smi64-1, librocm-smi-dev,
    // liboam1 and liboam-dev from rocm-smi-lib 6.4.1; the run, three (the
    // -dbgsym package does not count).
    let dropped = names(a, "dropped", "binary");
    let want: BTreeSet<String> = ["liboam-dev", "liboam1", "librocm-smi64-1"]
        .map(String::from)
        .into();
    assert_eq!(dropped, want);
    assert_eq!(
        names(a, "added", "binary"),
        ["librocm-smi64-7".to_string()].into()
    );
    assert_eq!(
        names(a, "renames", "old"),
        ["librocm-smi64-1".to_string()].into()
    );
    let i = &a["installability"];
    let broken: Vec<(&str, &str)> = i["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["package"].as_str().unwrap(),
                b["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        broken
            .iter()
            .any(|(p, r)| *p == "rocm-smi" && r.contains("libnot-in-any-archive")),
        "{broken:?}"
    );
    assert!(
        !broken.iter().any(|(p, _)| p.starts_with("librocm-smi")),
        "{broken:?}"
    );
}

/// `--rebuild` builds against a run: with `--dry-run` it is a usage error,
/// before anything is loaded.
#[test]
fn rebuild_needs_a_run_directory() {
    Command::cargo_bin("cascade")
        .unwrap()
        .args([
            "--recipes",
            &format!("{ROOT}/recipes"),
            "transition",
            "--dry-run",
            "--rebuild",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--rebuild builds against a run's .debs",
        ));
}

/// `--merge`: a file that is not a transition report is refused, naming
/// it and the line; a good one alone comes back as it was, with its exit
/// code (1: an uninstallable package).
#[test]
fn merge_names_a_bad_report_and_keeps_a_good_one() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"schema\": 3\n}\n").unwrap();
    let merge = |files: &[&Path]| {
        let mut c = Command::cargo_bin("cascade").unwrap();
        c.args(["transition", "--format", "json", "--merge"])
            .args(files);
        c
    };
    merge(&[&bad])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!(
            "{}: not a transition report (line 2, column",
            bad.display()
        )));
    let good = serde_json::json!({
        "schema": "cascade-transition/2", "stack": "s", "base_suite": "unstable",
        "new_from": "run",
        "arches": [{
            "arch": "amd64", "moving": ["libfoo"], "dropped": [], "cruft": [], "added": [],
            "renames": [], "binnmus": [], "sourceful": [], "rebuilds": [],
            "rebuilds_direct": 0, "rebuilds_transitive": null, "left_behind": [],
            "installability": {"checked": 1, "not_in_new": [],
                "broken": [{"package": "app", "version": "1", "reason": "missing libfoo1"}]},
            "rebuilt": null
        }]
    });
    let path = tmp.path().join("analysis.json");
    std::fs::write(&path, good.to_string()).unwrap();
    let none = tmp.path().join("none");
    merge(&[&path, &none])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "{}: No such file",
            none.display()
        )));
    let out = merge(&[&path, &path]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let back: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back, good);
}

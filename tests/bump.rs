//! `cascade bump` and its parts against real tools: changelog edits compared
//! byte for byte with devscripts' dch, and bumps of real git repositories
//! made in temporary directories.

use std::path::{Path, PathBuf};
use std::process::Command;

use cascade::changelog::{self, Maintainer, NewEntry};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/changelogs");
const REAL: [&str; 5] = [
    "hipblas-common",
    "rocblas",
    "rocm-cmake",
    "rocm-llvm",
    "rocr-runtime",
];
/// 2026-01-01 00:00:00 UTC.
const EPOCH: u64 = 1767225600;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(format!("{name}.changelog"))).unwrap()
}

/// Whether dch and faketime can run here; in CI their absence is a failure.
fn have_dch() -> bool {
    let ok = |p: &str| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok("dch") && ok("faketime") {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("dch (devscripts) and faketime are required in CI");
    }
    eprintln!("skipping: dch or faketime is not installed");
    false
}

/// What dch writes for `--newversion V --distribution D TEXT` (then `-a`
/// for each further line) at EPOCH.
fn dch(text: &str, version: &str, dist: &str, changes: &[String], who: &Maintainer) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("debian")).unwrap();
    let path = dir.path().join("debian/changelog");
    std::fs::write(&path, text).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("faketime")
            .args(["-f", "2026-01-01 00:00:00", "dch", "--no-conf"])
            .args(args)
            .current_dir(dir.path())
            .env("TZ", "UTC")
            .env("DEBFULLNAME", &who.name)
            .env("DEBEMAIL", &who.email)
            .env_remove("DEBCHANGE_VENDOR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "dch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "--newversion",
        version,
        "--distribution",
        dist,
        "--force-distribution",
        &changes[0],
    ]);
    for extra in &changes[1..] {
        run(&["--no-auto-nmu", "-a", extra]);
    }
    std::fs::read_to_string(&path).unwrap()
}

fn ours(text: &str, version: &str, dist: &str, changes: &[String], who: &Maintainer) -> String {
    let v = version.parse().unwrap();
    changelog::add_entry(
        text,
        Path::new("debian/changelog"),
        &NewEntry {
            version: &v,
            distribution: dist,
            changes,
            maintainer: who,
            timestamp: EPOCH,
        },
    )
    .unwrap()
}

fn me() -> Maintainer {
    Maintainer {
        name: "Test User".into(),
        email: "test@example.org".into(),
    }
}

fn assert_same_as_dch(text: &str, version: &str, dist: &str, changes: &[&str], who: &Maintainer) {
    let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
    let want = dch(text, version, dist, &changes, who);
    let got = ours(text, version, dist, &changes, who);
    assert_eq!(got, want, "differs from dch for {version}");
}

#[test]
fn changelog_matches_dch_on_the_real_changelogs() {
    if !have_dch() {
        return;
    }
    for (name, version) in [
        ("hipblas-common", "7.2.4-1~exp1"),
        ("rocblas", "7.2.4-1~exp1"),
        ("rocm-cmake", "10.2-1~exp1"),
        ("rocm-llvm", "7.2.4+dfsg-1~exp1"),
        ("rocr-runtime", "7.2.4+dfsg-1~exp1"),
    ] {
        let text = fixture(name);
        let upstream = version.split(['+', '-']).next().unwrap();
        let line = format!("New upstream version {upstream}");
        assert_same_as_dch(&text, version, "experimental", &[&line], &me());
        // Everything below the new entry is untouched.
        let got = ours(&text, version, "experimental", &[line], &me());
        assert!(got.ends_with(&text), "{name}: old entries changed");
    }
    assert_eq!(REAL.len(), 5);
}

#[test]
fn changelog_matches_dch_with_extra_and_long_lines() {
    if !have_dch() {
        return;
    }
    let text = fixture("rocblas");
    assert_same_as_dch(
        &text,
        "7.2.4-1~exp1",
        "experimental",
        &[
            "New upstream version 7.2.4",
            "Rebase patches; drop 0003-fix-build-with-gcc-15.patch, applied upstream, and refresh the rest of the series",
            "d/control: bump the Build-Depends on libamdhip64-dev (>= 7.2.4~) and rocm-cmake (>= 7.2.4~) for the new stack",
            "Ünïcödé names like Cordell Blöor and Christian Kästner wrap the way dch pads multibyte characters here",
        ],
        &me(),
    );
}

#[test]
fn changelog_matches_dch_on_epochs() {
    if !have_dch() {
        return;
    }
    let text = fixture("rocm-cmake");
    assert_same_as_dch(
        &text,
        "1:10.2-1~exp1",
        "experimental",
        &["New upstream version 10.2"],
        &me(),
    );
    let with_epoch = text.replacen("(10.1-1)", "(1:10.1-1)", 1);
    assert_same_as_dch(
        &with_epoch,
        "1:10.2-1~exp1",
        "experimental",
        &["New upstream version 10.2"],
        &me(),
    );
}

const UNRELEASED: &str = "hipblas-common (7.1.0-2) UNRELEASED; urgency=low

  * Some pending change
  * Another one

 -- Test User <test@example.org>  Tue, 11 Nov 2025 00:08:52 +0100

hipblas-common (7.1.0-1) unstable; urgency=medium

  * New upstream version 7.1.0

 -- Christian Bayle <bayle@debian.org>  Tue, 11 Nov 2025 00:08:52 +0100
";

#[test]
fn changelog_matches_dch_on_unreleased_top_entries() {
    if !have_dch() {
        return;
    }
    let other = Maintainer {
        name: "Other Person".into(),
        email: "other@example.org".into(),
    };
    let line = ["New upstream version 7.2.4", "Refresh patches"];
    // Same maintainer: lines appended, urgency kept, dist and version replaced.
    assert_same_as_dch(UNRELEASED, "7.2.4-1~exp1", "experimental", &line, &me());
    // Another maintainer: `[ Name ]` markers for both.
    assert_same_as_dch(UNRELEASED, "7.2.4-1~exp1", "experimental", &line, &other);
    // Existing markers; the last one is ours, or someone else's.
    let marked = UNRELEASED.replace(
        "  * Some pending change\n  * Another one\n",
        "  [ Alice ]\n  * Some pending change\n\n  [ Test User ]\n  * Another one\n",
    );
    assert_same_as_dch(&marked, "7.2.4-1~exp1", "experimental", &line, &me());
    assert_same_as_dch(&marked, "7.2.4-1~exp1", "experimental", &line, &other);
    // Two blank lines before the next entry, and a lone UNRELEASED entry.
    let spaced = UNRELEASED.replace("+0100\n\nhipblas", "+0100\n\n\nhipblas");
    assert_same_as_dch(&spaced, "7.2.4-1~exp1", "experimental", &line, &other);
    let lone: String = UNRELEASED
        .lines()
        .take(6)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_same_as_dch(&lone, "7.2.4+dfsg-1~exp1", "unstable", &line, &other);
}

#[test]
fn changelog_errors_name_the_file_and_line() {
    let err = changelog::top("not a changelog\n", Path::new("pkg/debian/changelog"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("pkg/debian/changelog:1:"), "{err}");
    let _unused: Option<PathBuf> = None;
}

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
            "See https://github.com/ROCm/rocm-libraries/commit/0123456789abcdef0123456789abcdef0123456789abcdef-and-more-text for details",
            "A line with a hyphen-separated-word exactly at the sixty-eighth column so-that-it-breaks there",
            "Trailing  and   inner   spaces   are   kept   as   dch   keeps   them   in   the   middle   of   lines   ",
            "x",
        ],
        &me(),
    );
    // Another urgency on the top entry, a maintainer name with non-ASCII
    // letters.
    let high = text.replacen("urgency=medium", "urgency=high", 1);
    let kastner = Maintainer {
        name: "Christian Kästner".into(),
        email: "ckk@debian.org".into(),
    };
    assert_same_as_dch(
        &high,
        "7.2.4-1~exp1",
        "experimental",
        &["New upstream version 7.2.4"],
        &kastner,
    );
    let unreleased = high.replacen(") unstable;", ") UNRELEASED;", 1);
    assert_same_as_dch(
        &unreleased,
        "7.2.4-1~exp1",
        "experimental",
        &["New upstream version 7.2.4"],
        &kastner,
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
}

// ---------------------------------------------------------------------------
// Bumps of real git repositories.

mod repos {
    use std::path::{Path, PathBuf};

    use git2::{Repository, Signature, Time};

    pub fn sig(t: i64) -> Signature<'static> {
        Signature::new("Upstream Dev", "dev@upstream.example", &Time::new(t, 0)).unwrap()
    }

    /// Writes files (path, content, executable) into a work tree and commits
    /// everything on the current branch.
    pub fn commit_files(repo: &Repository, files: &[(&str, &str, bool)], msg: &str, t: i64) {
        use std::os::unix::fs::PermissionsExt;
        let root = repo.workdir().unwrap();
        for (path, content, exec) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
            let mode = if *exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig(t), &sig(t), msg, &tree, &parents)
            .unwrap();
    }

    /// An upstream repository with tags rocm-7.1.0, rocm-7.2.0, rocm-7.2.4.
    pub fn upstream(dir: &Path) -> PathBuf {
        let path = dir.join("upstream");
        let repo = Repository::init(&path).unwrap();
        let mut t = 1_750_000_000;
        for v in ["7.1.0", "7.2.0", "7.2.4"] {
            let legacy = path.join("legacy.txt");
            if v == "7.2.4" {
                std::fs::remove_file(&legacy).unwrap();
            } else {
                std::fs::write(&legacy, "dropped in 7.2.4\n").unwrap();
            }
            commit_files(
                &repo,
                &[
                    ("README.md", &format!("hipBLAS common {v}\n"), false),
                    ("CMakeLists.txt", "project(hipblas-common)\n", false),
                    ("library/include/hipblas-common.h", "#pragma once\n", false),
                    ("third_party/zlib/zlib.h", "/* bundled */\n", false),
                    ("docs/blob.pdf", "%PDF-1.4 nonfree\n", false),
                    ("tools/run.sh", "#!/bin/sh\necho run\n", true),
                ],
                &format!("Release {v}"),
                t,
            );
            let head = repo.head().unwrap().peel_to_commit().unwrap();
            repo.tag(
                &format!("rocm-{v}"),
                head.as_object(),
                &sig(t),
                &format!("ROCm {v}"),
                false,
            )
            .unwrap();
            t += 86_400 * 30;
        }
        path
    }

    pub const CONTROL: &str = "Source: hipblas-common
Section: devel
Priority: optional
Maintainer: Debian ROCm Team <debian-ai@lists.debian.org>
Build-Depends: debhelper-compat (= 13), cmake
Standards-Version: 4.7.0

Package: libhipblas-common-dev
Architecture: all
Depends: ${misc:Depends}
Description: common headers for hipBLAS
 Test package.
";

    pub const COPYRIGHT: &str =
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hipBLAS-common
Files-Excluded: third_party/*
 docs/blob.pdf

Files: *
Copyright: 2023-2025 Advanced Micro Devices, Inc.
License: MIT
";

    /// A bare packaging repository (the "remote") whose `debian/experimental`
    /// branch holds debian/ with the given changelog.
    pub fn packaging(dir: &Path, changelog: &str) -> PathBuf {
        let work = dir.join("packaging-src");
        let repo = Repository::init(&work).unwrap();
        repo.set_head("refs/heads/debian/experimental").unwrap();
        commit_files(
            &repo,
            &[
                ("debian/changelog", changelog, false),
                ("debian/control", CONTROL, false),
                ("debian/copyright", COPYRIGHT, false),
                ("debian/rules", "#!/usr/bin/make -f\n%:\n\tdh $@\n", true),
                ("debian/source/format", "3.0 (quilt)\n", false),
            ],
            "Initial packaging",
            1_700_000_000,
        );
        let bare = dir.join("packaging.git");
        git2::build::RepoBuilder::new()
            .bare(true)
            .clone(work.to_str().unwrap(), &bare)
            .unwrap();
        bare
    }
}

use cascade::bump::{self, BumpOptions, Status, Step};
use cascade::git::{Git2, Vcs};
use cascade::recipe::{ImportStyle, Recipe, Stack};

fn stack() -> Stack {
    serde_yaml::from_str(
        "name: rocm-7.2.4\nsuite: experimental\nbase_suite: unstable\nmirror: http://deb.debian.org/debian\narchitectures: [amd64]\n",
    )
    .unwrap()
}

fn recipe(upstream: &Path, packaging: &Path, tag: &str, template: &str) -> Recipe {
    serde_yaml::from_str(&format!(
        "source: hipblas-common\npackaging:\n  repo: {}\n  branch: debian/experimental\nupstream:\n  repo: {}\n  tag: {tag}\nversion: \"{template}\"\n",
        packaging.display(),
        upstream.display()
    ))
    .unwrap()
}

fn options(dir: &Path) -> BumpOptions {
    BumpOptions {
        workdir: dir.join("work"),
        checkouts: Default::default(),
        out_dir: dir.join("out"),
        allow_dirty: false,
        force: false,
        reupload: false,
        push: false,
        dry_run: false,
        maintainer: me(),
        timestamp: EPOCH,
        stop_after: None,
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    upstream: PathBuf,
    packaging: PathBuf,
}

impl Fixture {
    /// The hipblas-common recipe on this fixture's repositories.
    fn recipe(&self, tag: &str, template: &str) -> Recipe {
        recipe(&self.upstream, &self.packaging, tag, template)
    }
}

fn fixture_repos(changelog: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let upstream = repos::upstream(dir.path());
    let packaging = repos::packaging(dir.path(), changelog);
    Fixture {
        dir,
        upstream,
        packaging,
    }
}

fn have_dpkg_source() -> bool {
    let ok = Command::new("dpkg-source")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("dpkg-source (dpkg-dev) is required in CI");
        }
        eprintln!("skipping: dpkg-source is not installed");
    }
    ok
}

fn head_commit(repo: &Path) -> git2::Oid {
    git2::Repository::open(repo)
        .unwrap()
        .head()
        .unwrap()
        .target()
        .unwrap()
}

fn tar_entries(path: &Path) -> Vec<String> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(xz2::read::XzDecoder::new(f));
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn happy_path_gbp() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let opts = options(fx.dir.path());
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.status, Status::Bumped);
    assert_eq!(out.previous.as_deref(), Some("7.1.0-1"));
    assert_eq!(out.version.as_deref(), Some("7.2.4-1~exp1"));

    let pkg = opts.packaging_dir("hipblas-common");
    let cl = std::fs::read_to_string(pkg.join("debian/changelog")).unwrap();
    assert!(
        cl.starts_with(
            "hipblas-common (7.2.4-1~exp1) experimental; urgency=medium\n\n  * New upstream version 7.2.4\n\n -- Test User <test@example.org>  Thu, 01 Jan 2026 00:00:00 +0000\n\n"
        ),
        "{cl}"
    );
    assert!(cl.ends_with(&fixture("hipblas-common")));

    let repo = git2::Repository::open(&pkg).unwrap();
    let head = repo.head().unwrap();
    assert_eq!(head.name().unwrap(), "refs/heads/debian/experimental");
    let commit = head.peel_to_commit().unwrap();
    assert_eq!(commit.message().unwrap(), "New upstream version 7.2.4\n");
    assert_eq!(commit.author().name().unwrap(), "Test User");
    assert_eq!(commit.parent_count(), 2, "merges the upstream import");
    let tag = repo
        .revparse_single("refs/tags/upstream/7.2.4")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(commit.parent_id(1).unwrap(), tag.id());
    assert!(
        repo.find_branch("upstream", git2::BranchType::Local)
            .is_ok()
    );
    // The work tree has the upstream files and is clean.
    assert!(pkg.join("library/include/hipblas-common.h").exists());
    assert!(Git2.dirty_paths(&pkg).unwrap().is_empty());

    let dsc = out.dsc.unwrap();
    assert!(dsc.ends_with("out/hipblas-common/hipblas-common_7.2.4-1~exp1.dsc"));
    assert!(dsc.exists());
    let dsc_text = std::fs::read_to_string(&dsc).unwrap();
    assert!(dsc_text.contains("Format: 3.0 (quilt)"), "{dsc_text}");
    assert!(
        dsc_text.contains("hipblas-common_7.2.4.orig.tar.xz"),
        "{dsc_text}"
    );
    let orig = out.orig.unwrap();
    assert!(orig.ends_with("hipblas-common_7.2.4.orig.tar.xz"));
    let entries = tar_entries(&orig);
    assert!(entries.contains(&"hipblas-common-7.2.4/tools/run.sh".to_owned()));
    assert!(entries.contains(&"hipblas-common-7.2.4/third_party/zlib/zlib.h".to_owned()));
}

#[test]
fn second_run_is_already_at_target_and_changes_nothing() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let opts = options(fx.dir.path());
    let first = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    let pkg = opts.packaging_dir("hipblas-common");
    let before = head_commit(&pkg);
    let cl = std::fs::read(pkg.join("debian/changelog")).unwrap();
    let second = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(second.status, Status::AlreadyAtTarget);
    assert_eq!(second.version.as_deref(), Some("7.2.4-1~exp1"));
    assert_eq!(second.dsc, first.dsc);
    assert_eq!(head_commit(&pkg), before);
    assert_eq!(std::fs::read(pkg.join("debian/changelog")).unwrap(), cl);
    // A second upload of the same upstream release, when asked for.
    let again = BumpOptions {
        reupload: true,
        ..options(fx.dir.path())
    };
    let third = bump::bump_package(&r, &stack(), &again, &Git2).unwrap();
    assert_eq!(third.status, Status::Bumped);
    assert_eq!(third.version.as_deref(), Some("7.2.4-1~exp2"));
    let repo = git2::Repository::open(&pkg).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.parent_count(), 1, "upstream already merged");
}

#[test]
fn successive_imports_follow_the_upstream_branch() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let opts = options(fx.dir.path());
    let old = fx.recipe("rocm-7.2.0", "{upstream}-1~exp1");
    bump::bump_package(&old, &stack(), &opts, &Git2).unwrap();
    let pkg = opts.packaging_dir("hipblas-common");
    assert!(pkg.join("legacy.txt").exists());
    let new = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let out = bump::bump_package(&new, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.previous.as_deref(), Some("7.2.0-1~exp1"));
    assert!(
        !pkg.join("legacy.txt").exists(),
        "files upstream dropped go"
    );
    assert!(Git2.dirty_paths(&pkg).unwrap().is_empty());
    let repo = git2::Repository::open(&pkg).unwrap();
    let up = |t: &str| {
        repo.revparse_single(t)
            .unwrap()
            .peel_to_commit()
            .unwrap()
            .id()
    };
    let new_up = repo.find_commit(up("refs/tags/upstream/7.2.4")).unwrap();
    assert_eq!(new_up.parent_id(0).unwrap(), up("refs/tags/upstream/7.2.0"));
    assert_eq!(up("refs/heads/upstream"), new_up.id());
    // The previous packaging commit is still there: nothing was rewritten.
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    let prev = head.parent(0).unwrap();
    assert_eq!(prev.message().unwrap(), "New upstream version 7.2.0\n");
}

#[test]
fn missing_tag_lists_the_nearest_tags() {
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.5", "{upstream}-1~exp1");
    let err = bump::bump_package(&r, &stack(), &options(fx.dir.path()), &Git2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no tag `rocm-7.2.5`"), "{err}");
    assert!(
        err.contains("rocm-7.2.4") && err.contains("rocm-7.2.0"),
        "{err}"
    );
}

#[test]
fn dirty_checkout_is_refused_unless_allowed() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let checkout = fx.dir.path().join("mine");
    git2::Repository::clone(fx.packaging.to_str().unwrap(), &checkout).unwrap();
    std::fs::write(checkout.join("debian/control"), "Source: changed\n").unwrap();
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let mut opts = options(fx.dir.path());
    opts.checkouts
        .insert("hipblas-common".into(), checkout.clone());
    let err = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap_err();
    assert!(matches!(err, bump::Error::Dirty { .. }), "{err}");
    assert!(err.to_string().contains("debian/control"), "{err}");
    // Nothing was touched.
    assert_eq!(
        std::fs::read_to_string(checkout.join("debian/changelog")).unwrap(),
        fixture("hipblas-common")
    );
    assert_eq!(
        std::fs::read_to_string(checkout.join("debian/control")).unwrap(),
        "Source: changed\n"
    );
    // With --allow-dirty, the bump goes ahead and the user's change stays
    // uncommitted in the work tree.
    std::fs::write(
        checkout.join("debian/control"),
        repos::CONTROL.replace("cmake\n", "cmake, ninja-build\n"),
    )
    .unwrap();
    opts.allow_dirty = true;
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.status, Status::Bumped);
    assert_eq!(Git2.dirty_paths(&checkout).unwrap(), ["debian/control"]);
}

#[test]
fn version_must_increase_unless_forced() {
    let text = fixture("hipblas-common").replacen("(7.1.0-1)", "(7.3.0-1)", 1);
    let fx = fixture_repos(&text);
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let err = bump::bump_package(&r, &stack(), &options(fx.dir.path()), &Git2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("7.2.4-1~exp1") && err.contains("7.3.0-1"),
        "{err}"
    );
}

#[test]
fn unreleased_top_entry_is_updated() {
    if !have_dpkg_source() {
        return;
    }
    let text = fixture("hipblas-common").replacen(
        "hipblas-common (7.1.0-1) unstable; urgency=medium\n",
        "hipblas-common (7.1.0-2) UNRELEASED; urgency=medium\n",
        1,
    );
    let fx = fixture_repos(&text);
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let opts = options(fx.dir.path());
    bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    let cl = std::fs::read_to_string(
        opts.packaging_dir("hipblas-common")
            .join("debian/changelog"),
    )
    .unwrap();
    let want = ours(
        &text,
        "7.2.4-1~exp1",
        "experimental",
        &["New upstream version 7.2.4".into()],
        &me(),
    );
    assert_eq!(cl, want);
    assert!(cl.starts_with("hipblas-common (7.2.4-1~exp1) experimental; urgency=medium\n\n  [ Christian Bayle ]\n  * Remove gbp.conf\n"), "{cl}");
    assert_eq!(
        cl.matches("hipblas-common (").count(),
        text.matches("hipblas-common (").count()
    );
}

#[test]
fn unreleased_entry_at_the_target_version_is_completed() {
    if !have_dpkg_source() {
        return;
    }
    let text = format!(
        "hipblas-common (7.2.4-1~exp1) UNRELEASED; urgency=medium\n\n  * Prepared by hand\n\n -- Test User <test@example.org>  Tue, 11 Nov 2025 00:08:52 +0100\n\n{}",
        fixture("hipblas-common")
    );
    let fx = fixture_repos(&text);
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let opts = options(fx.dir.path());
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.status, Status::Bumped);
    let cl = std::fs::read_to_string(
        opts.packaging_dir("hipblas-common")
            .join("debian/changelog"),
    )
    .unwrap();
    assert!(cl.starts_with("hipblas-common (7.2.4-1~exp1) experimental; urgency=medium\n\n  * Prepared by hand\n  * New upstream version 7.2.4\n"), "{cl}");
    let again = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(again.status, Status::AlreadyAtTarget);
}

#[test]
fn already_at_target_still_provides_the_source_package() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let opts = options(fx.dir.path());
    bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    let pkg = opts.packaging_dir("hipblas-common");
    let before = head_commit(&pkg);
    std::fs::remove_dir_all(fx.dir.path().join("out")).unwrap();
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.status, Status::AlreadyAtTarget);
    assert!(out.dsc.unwrap().exists());
    assert_eq!(head_commit(&pkg), before);
}

#[test]
fn epoch_is_kept_and_dropped_from_file_names() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.4", "1:{upstream}-1~exp1");
    let out = bump::bump_package(&r, &stack(), &options(fx.dir.path()), &Git2).unwrap();
    assert_eq!(out.version.as_deref(), Some("1:7.2.4-1~exp1"));
    assert!(
        out.dsc
            .unwrap()
            .ends_with("hipblas-common_7.2.4-1~exp1.dsc")
    );
    let cl = std::fs::read_to_string(
        options(fx.dir.path())
            .packaging_dir("hipblas-common")
            .join("debian/changelog"),
    )
    .unwrap();
    assert!(cl.starts_with("hipblas-common (1:7.2.4-1~exp1) experimental;"));
}

#[test]
fn dfsg_repack_drops_files_excluded() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.4", "{upstream}+dfsg-1~exp1");
    let opts = options(fx.dir.path());
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.version.as_deref(), Some("7.2.4+dfsg-1~exp1"));
    let orig = out.orig.unwrap();
    assert!(orig.ends_with("hipblas-common_7.2.4+dfsg.orig.tar.xz"));
    let pkg = opts.packaging_dir("hipblas-common");
    let msg = git2::Repository::open(&pkg)
        .unwrap()
        .head()
        .unwrap()
        .peel_to_commit()
        .unwrap()
        .message()
        .unwrap()
        .to_owned();
    assert_eq!(msg, "New upstream version 7.2.4\n");
    let entries = tar_entries(&orig);
    assert!(
        entries.iter().all(|e| !e.contains("third_party/zlib")),
        "{entries:?}"
    );
    assert!(
        entries.iter().all(|e| !e.contains("blob.pdf")),
        "{entries:?}"
    );
    assert!(entries.contains(&"hipblas-common-7.2.4+dfsg/README.md".to_owned()));
    // The imported upstream tree is filtered too.
    let repo = git2::Repository::open(&pkg).unwrap();
    let tree = repo
        .revparse_single("refs/tags/upstream/7.2.4+dfsg")
        .unwrap()
        .peel_to_tree()
        .unwrap();
    assert!(tree.get_path(Path::new("third_party/zlib/zlib.h")).is_err());
    assert!(tree.get_path(Path::new("docs/blob.pdf")).is_err());
    assert!(tree.get_path(Path::new("README.md")).is_ok());
    assert!(out.dsc.unwrap().exists());
}

#[test]
fn orig_tarball_is_reproducible() {
    use sha2::Digest;
    let fx = fixture_repos(&fixture("hipblas-common"));
    let sum = |out: &str| {
        let p = cascade::source::orig_tarball(
            &fx.upstream,
            "rocm-7.2.4",
            "hipblas-common",
            "7.2.4",
            &[],
            &fx.dir.path().join(out),
        )
        .unwrap();
        hex::encode(sha2::Sha256::digest(std::fs::read(p).unwrap()))
    };
    let a = sum("one");
    let b = sum("two");
    assert_eq!(a, b);
    // Mode and mtime come from git.
    let f =
        std::fs::File::open(fx.dir.path().join("one/hipblas-common_7.2.4.orig.tar.xz")).unwrap();
    let mut ar = tar::Archive::new(xz2::read::XzDecoder::new(f));
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        assert_eq!(h.uid().unwrap(), 0);
        assert_eq!(h.mtime().unwrap(), 1_750_000_000 + 2 * 86_400 * 30);
        if e.path().unwrap().ends_with("tools/run.sh") {
            assert_eq!(h.mode().unwrap(), 0o755);
        }
    }
}

#[test]
fn interrupted_bump_is_completed_by_a_rerun() {
    if !have_dpkg_source() {
        return;
    }
    for step in [Step::Changelog, Step::Tarball, Step::Import] {
        let fx = fixture_repos(&fixture("hipblas-common"));
        let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
        let mut opts = options(fx.dir.path());
        opts.stop_after = Some(step);
        let err = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap_err();
        assert!(matches!(err, bump::Error::Interrupted { .. }));
        let pkg = opts.packaging_dir("hipblas-common");
        assert_eq!(Git2.dirty_paths(&pkg).unwrap(), ["debian/changelog"]);

        opts.stop_after = None;
        let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
        assert_eq!(out.status, Status::Bumped, "{step:?}");
        assert!(out.resumed, "{step:?}");
        let cl = std::fs::read_to_string(pkg.join("debian/changelog")).unwrap();
        assert_eq!(cl.matches("(7.2.4-1~exp1)").count(), 1, "{step:?}: {cl}");
        assert!(Git2.dirty_paths(&pkg).unwrap().is_empty());
        assert!(out.dsc.unwrap().exists());
        let again = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
        assert_eq!(again.status, Status::AlreadyAtTarget);
    }
}

#[test]
fn interruption_inside_the_commit_step_is_completed_by_a_rerun() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let mut opts = options(fx.dir.path());
    let old = fx.recipe("rocm-7.2.0", "{upstream}-1~exp1");
    bump::bump_package(&old, &stack(), &opts, &Git2).unwrap();
    let new = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    opts.stop_after = Some(Step::Import);
    bump::bump_package(&new, &stack(), &opts, &Git2).unwrap_err();
    // What the work-tree update of the commit step does before the branch
    // moves: upstream files of 7.2.4 outside debian/.
    let pkg = opts.packaging_dir("hipblas-common");
    let repo = git2::Repository::open(&pkg).unwrap();
    let up_tree = repo
        .revparse_single("refs/tags/upstream/7.2.4")
        .unwrap()
        .peel_to_tree()
        .unwrap();
    let mut co = git2::build::CheckoutBuilder::new();
    co.force();
    for entry in up_tree.iter() {
        co.path(entry.name().unwrap());
    }
    co.path("legacy.txt");
    repo.checkout_tree(up_tree.as_object(), Some(&mut co))
        .unwrap();
    let mut dirty = Git2.dirty_paths(&pkg).unwrap();
    dirty.sort();
    assert_eq!(dirty, ["README.md", "debian/changelog", "legacy.txt"]);

    opts.stop_after = None;
    let out = bump::bump_package(&new, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.status, Status::Bumped);
    assert!(out.resumed);
    assert!(Git2.dirty_paths(&pkg).unwrap().is_empty());
    assert!(!pkg.join("legacy.txt").exists());
}

#[test]
fn native_packages_build_from_the_packaging_repo() {
    if !have_dpkg_source() {
        return;
    }
    let text = fixture("hipblas-common").replacen("(7.1.0-1)", "(0.9.9~exp1)", 1);
    let fx = fixture_repos(&text);
    // The packaging repo is its own upstream, tagged DEP-14 style.
    let remote = git2::Repository::open(&fx.packaging).unwrap();
    let tip = remote
        .revparse_single("refs/heads/debian/experimental")
        .unwrap();
    remote
        .tag_lightweight("debian/0.9.9_exp2", &tip, false)
        .unwrap();
    let yaml = format!(
        "source: hipblas-common\npackaging:\n  repo: {p}\n  branch: debian/experimental\nupstream:\n  repo: {p}\n  tag: debian/0.9.9_exp2\n  version: 0.9.9~exp2\nversion: \"{{upstream}}\"\nnative: true\n",
        p = fx.packaging.display()
    );
    let r: Recipe = serde_yaml::from_str(&yaml).unwrap();
    let opts = options(fx.dir.path());
    let pkg = opts.packaging_dir("hipblas-common");
    // dpkg-source wants the native format.
    git2::Repository::clone(fx.packaging.to_str().unwrap(), &pkg).unwrap();
    std::fs::write(pkg.join("debian/source/format"), "3.0 (native)\n").unwrap();
    let repo = git2::Repository::open(&pkg).unwrap();
    repos::commit_files(&repo, &[], "native format", 1_700_000_100);
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(out.status, Status::Bumped);
    assert_eq!(out.version.as_deref(), Some("0.9.9~exp2"));
    assert!(out.orig.is_none());
    let dsc = out.dsc.unwrap();
    assert!(
        dsc.ends_with("hipblas-common_0.9.9~exp2.dsc"),
        "{}",
        dsc.display()
    );
    let dsc_text = std::fs::read_to_string(&dsc).unwrap();
    assert!(dsc_text.contains("Format: 3.0 (native)"), "{dsc_text}");
    assert!(
        repo.find_reference("refs/tags/upstream/0.9.9_exp2")
            .is_err()
    );
    let again = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(again.status, Status::AlreadyAtTarget);
}

#[test]
fn debian_only_repos_commit_just_the_changelog() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let mut r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    r.packaging.import = ImportStyle::DebianOnly;
    r.commit_message = Some("Bump to ROCm 7.2.4".into());
    r.changelog = vec!["Rebuild against the ROCm 7.2.4 stack".into()];
    let opts = options(fx.dir.path());
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    let pkg = opts.packaging_dir("hipblas-common");
    let repo = git2::Repository::open(&pkg).unwrap();
    let head = repo.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.parent_count(), 1);
    assert_eq!(head.message().unwrap(), "Bump to ROCm 7.2.4\n");
    assert!(!pkg.join("README.md").exists());
    assert!(repo.find_reference("refs/tags/upstream/7.2.4").is_err());
    let cl = std::fs::read_to_string(pkg.join("debian/changelog")).unwrap();
    assert!(
        cl.contains("  * New upstream version 7.2.4\n  * Rebuild against the ROCm 7.2.4 stack\n")
    );
    assert!(out.dsc.unwrap().exists());
}

#[test]
fn push_only_when_asked_and_only_fast_forward() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let remote_tip = |repo: &Path| {
        git2::Repository::open(repo)
            .unwrap()
            .find_reference("refs/heads/debian/experimental")
            .unwrap()
            .target()
            .unwrap()
    };
    let before = remote_tip(&fx.packaging);
    let opts = options(fx.dir.path());
    bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert_eq!(remote_tip(&fx.packaging), before, "no push without --push");

    let dir2 = fx.dir.path().join("second");
    let mut opts = options(&dir2);
    opts.push = true;
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    let pushed = remote_tip(&fx.packaging);
    assert_eq!(Some(pushed.to_string()), out.commit);
    let remote = git2::Repository::open(&fx.packaging).unwrap();
    assert!(remote.find_reference("refs/tags/upstream/7.2.4").is_ok());
    assert!(remote.find_reference("refs/heads/upstream").is_ok());
}

/// Issue 17.7: a fresh clone has only `origin/upstream`; the next import
/// must go on top of it, or the push of `upstream` is not a fast-forward.
#[test]
fn push_from_a_fresh_clone_after_an_earlier_import() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let mut first = options(&fx.dir.path().join("first"));
    first.push = true;
    let old = fx.recipe("rocm-7.2.0", "{upstream}-1~exp1");
    bump::bump_package(&old, &stack(), &first, &Git2).unwrap();

    let mut fresh = options(&fx.dir.path().join("fresh"));
    fresh.push = true;
    let new = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let out = bump::bump_package(&new, &stack(), &fresh, &Git2).unwrap();
    let remote = git2::Repository::open(&fx.packaging).unwrap();
    let tip = |r: &str| remote.revparse_single(r).unwrap().peel_to_commit().unwrap();
    assert_eq!(
        Some(tip("refs/heads/debian/experimental").id().to_string()),
        out.commit
    );
    let up = tip("refs/heads/upstream");
    assert_eq!(up.id(), tip("refs/tags/upstream/7.2.4").id());
    assert_eq!(
        up.parent_id(0).unwrap(),
        tip("refs/tags/upstream/7.2.0").id()
    );
}

/// Issue 17.2: a clone killed halfway (git's layout, no reference yet) and
/// the temporary clone a killed run left are cloned again, not tripped on.
#[test]
fn an_interrupted_clone_is_redone() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let opts = options(fx.dir.path());
    let pkg = opts.packaging_dir("hipblas-common");
    std::fs::create_dir_all(pkg.join(".git/objects/pack")).unwrap();
    let leftover = pkg.with_file_name(".packaging.clone-x1y2z3");
    std::fs::create_dir_all(leftover.join(".git")).unwrap();
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    let out = bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert!(out.commit.is_some());
    assert!(pkg.join("debian/changelog").is_file());
    assert!(
        !leftover.exists(),
        "the killed run's temporary clone is gone"
    );

    // Killed right after `git init`: a repository without references.
    let fx = fixture_repos(&fixture("hipblas-common"));
    let opts = options(fx.dir.path());
    let pkg = opts.packaging_dir("hipblas-common");
    git2::Repository::init(&pkg).unwrap();
    let r = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    bump::bump_package(&r, &stack(), &opts, &Git2).unwrap();
    assert!(pkg.join("debian/changelog").is_file());
}

#[test]
fn stack_mode_reports_each_package_and_fail_fast_stops() {
    let fx = fixture_repos(&fixture("hipblas-common"));
    let bad = fx.recipe("rocm-9.9.9", "{upstream}-1~exp1");
    let mut dry = fx.recipe("rocm-7.2.4", "{upstream}-1~exp1");
    dry.source = "other".into();
    let mut opts = options(fx.dir.path());
    opts.dry_run = true;
    let outcomes = bump::bump_stack(&[&bad, &dry], &stack(), &opts, &Git2, false);
    assert!(matches!(&outcomes[0].status, Status::Failed(why) if why.contains("rocm-9.9.9")));
    assert_eq!(outcomes[1].status, Status::Planned);
    let diff = outcomes[1].changelog_diff.as_deref().unwrap();
    assert!(
        diff.contains("+hipblas-common (7.2.4-1~exp1) experimental; urgency=medium"),
        "{diff}"
    );
    let outcomes = bump::bump_stack(&[&bad, &dry], &stack(), &opts, &Git2, true);
    assert!(matches!(&outcomes[1].status, Status::Skipped(_)));
}

// ---------------------------------------------------------------------------
// The command line.

fn write_recipes(fx: &Fixture, template: &str) -> PathBuf {
    let dir = fx.dir.path().join("recipes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("stack.yaml"),
        "name: rocm-7.2.4\nsuite: experimental\nbase_suite: unstable\nmirror: http://deb.debian.org/debian\narchitectures: [amd64]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("hipblas-common.yaml"),
        format!(
            "source: hipblas-common\npackaging:\n  repo: {}\n  branch: debian/experimental\nupstream:\n  repo: {}\n  tag: rocm-7.2.4\nversion: \"{template}\"\n",
            fx.packaging.display(),
            fx.upstream.display()
        ),
    )
    .unwrap();
    dir
}

fn cascade(fx: &Fixture, recipes: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    assert_cmd::Command::cargo_bin("cascade")
        .unwrap()
        .arg("--recipes")
        .arg(recipes)
        .arg("bump")
        .arg("--workdir")
        .arg(fx.dir.path().join("work"))
        .args(args)
        .env("DEBFULLNAME", "Test User")
        .env("DEBEMAIL", "test@example.org")
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .assert()
}

#[test]
fn cli_dry_run_then_bump_then_already_at_target() {
    if !have_dpkg_source() {
        return;
    }
    let fx = fixture_repos(&fixture("hipblas-common"));
    let recipes = write_recipes(&fx, "{upstream}-1~exp1");
    let out = cascade(&fx, &recipes, &["--dry-run"]).success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("hipblas-common: would bump 7.1.0-1 → 7.2.4-1~exp1"),
        "{stdout}"
    );
    assert!(stdout.contains("+++ b/debian/changelog"), "{stdout}");
    assert!(
        stdout.contains("+  * New upstream version 7.2.4"),
        "{stdout}"
    );
    assert!(
        !fx.dir.path().join("work/source").exists(),
        "dry run wrote output"
    );

    let out = cascade(&fx, &recipes, &[]).success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("hipblas-common: bumped 7.1.0-1 → 7.2.4-1~exp1"),
        "{stdout}"
    );

    let out = cascade(&fx, &recipes, &["hipblas-common"]).success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("hipblas-common: already at target (7.2.4-1~exp1)"),
        "{stdout}"
    );

    cascade(&fx, &recipes, &["nonexistent"]).code(2);
}

#[test]
fn cli_binnmu_records_a_request() {
    let fx = fixture_repos(&fixture("hipblas-common"));
    let recipes = write_recipes(&fx, "{upstream}-1~exp1");
    let out_dir = fx.dir.path().join("out");
    let out_arg = out_dir.to_str().unwrap();
    cascade(
        &fx,
        &recipes,
        &["--binnmu", "Rebuild for riscv64", "--out", out_arg],
    )
    .success();
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("binnmu.json")).unwrap())
            .unwrap()
    };
    let v = read();
    assert_eq!(v[0]["source"], "hipblas-common");
    assert_eq!(v[0]["version"], "7.1.0-1+b1");
    assert_eq!(v[0]["binnmu"], 1);
    assert_eq!(v[0]["reason"], "Rebuild for riscv64");
    // The same request again is recorded once; a new reason is +b2.
    cascade(
        &fx,
        &recipes,
        &["--binnmu", "Rebuild for riscv64", "--out", out_arg],
    )
    .success();
    assert_eq!(read()[0]["binnmu"], 1);
    cascade(
        &fx,
        &recipes,
        &["--binnmu", "Rebuild against new libfoo", "--out", out_arg],
    )
    .success();
    assert_eq!(read()[0]["version"], "7.1.0-1+b2");
    // The changelog was not touched.
    let pkg = fx
        .dir
        .path()
        .join("work/hipblas-common/packaging/debian/changelog");
    assert_eq!(
        std::fs::read_to_string(pkg).unwrap(),
        fixture("hipblas-common")
    );
}

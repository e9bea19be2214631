//! lintian on what a run built, from the target suite's lintian: the
//! host's (bookworm's) is too old for current packages. Pure: the argv
//! ([`invocation`], [`tarball_actions`]), the output's tags grouped by
//! severity ([`parse`]) and the stack's verdict ([`fails`]).
//!
//! Where lintian runs: a tarball `DIR/SUITE-HOSTARCH-lintian.tar`
//! (mmdebstrap's `apt` variant and lintian), made on first use and again
//! when the plain chroot tarball was remade after it, then
//! unpacked per run by `mmdebstrap --format=null` (a throwaway chroot in a
//! user namespace, the same unshare mechanism sbuild uses, with its
//! `copy-in`/`copy-out` hooks to move files in and the output out); as
//! root, in an overlay session of the run's schroot chroot of it instead
//! ([`schroot_invocation`]), which unpacks nothing per cell.
//! Not sbuild's `--run-lintian`: it installs lintian (a hundred-odd
//! packages) into every build's chroot, under qemu for riscv64, and only
//! runs after a build — `cascade test` lints a finished run without
//! rebuilding. The host arch's chroot lints every arch's .debs: lintian
//! reads .debs as data (dpkg-deb, readelf), it runs none of their code.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::process::{Cmd, shell_quote};
use crate::recipe::LintianFailOn;
use crate::setup::Action;

/// `DIR/SUITE-ARCH-lintian.tar`: the chroot tarball with lintian installed.
pub fn tarball(dir: &Path, suite: &str, arch: &Arch) -> PathBuf {
    dir.join(format!("{suite}-{arch}-lintian.tar"))
}

/// Makes [`tarball`] (into a dot-file first, renamed when complete):
/// mmdebstrap's `apt` variant with lintian and what it depends on; not the
/// build chroot, whose toolchain lintian does not use (573 MB instead of
/// 710 MB to unpack for every cell, on sid/amd64).
pub fn tarball_actions(dir: &Path, suite: &str, arch: &Arch, mirror: &str) -> Vec<Action> {
    let target = tarball(dir, suite, arch);
    crate::setup::apt_tarball_actions(&target, suite, arch, mirror, "lintian", &[])
}

/// Where the files go inside the throwaway chroot.
const INSIDE: &str = "/tmp/cascade-lintian";
/// lintian's output, and its exit code, in [`INSIDE`] and then in `out_dir`.
pub const OUTPUT: &str = "lintian.txt";
pub const EXIT: &str = "lintian.exit";

/// The call that lints `files` (.dsc with its tarballs, .debs) in a
/// throwaway chroot from `tarball` and copies [`OUTPUT`] and [`EXIT`] into
/// `out_dir` (which must exist). lintian is told never to fail (`--fail-on
/// none`): its exit code then only says whether it ran, and [`fails`]
/// judges the tags. Pure.
pub fn invocation(
    tarball: &Path,
    arch: &Arch,
    suite: &str,
    files: &[PathBuf],
    out_dir: &Path,
) -> Cmd {
    let quoted = |p: &Path| shell_quote(p.as_os_str());
    let lint = format!("cd {INSIDE} && {}", lint_here());
    let copy_in: Vec<String> = files.iter().map(|f| quoted(f)).collect();
    Cmd::new("mmdebstrap")
        .arg("--variant=custom")
        .arg("--mode=unshare")
        .arg("--format=null")
        .arg(format!("--architectures={arch}"))
        .arg("--skip=update,setup,cleanup")
        .arg(format!(
            "--setup-hook=tar -C \"$1\" --exclude='./dev/*' -xf {}",
            quoted(tarball)
        ))
        .arg(format!("--customize-hook=mkdir -p \"$1{INSIDE}\""))
        .arg(format!(
            "--customize-hook=copy-in {} {INSIDE}",
            copy_in.join(" ")
        ))
        .arg(format!(
            "--customize-hook=chroot \"$1\" sh -c {}",
            shell_quote(std::ffi::OsStr::new(&lint))
        ))
        .arg(format!(
            "--customize-hook=copy-out {INSIDE}/{OUTPUT} {INSIDE}/{EXIT} {}",
            quoted(out_dir)
        ))
        .arg(suite)
        .arg("/dev/null")
}

/// As root, the call that lints the files in `dir` (.dsc with its tarballs,
/// .debs) in a session of the run's schroot chroot of the lintian tarball
/// ([`crate::schroot::prepare_lintian`]), which sees `dir` (under the run's
/// temp root) at its own path, and leaves [`OUTPUT`] and [`EXIT`] there.
/// Pure.
pub fn schroot_invocation(chroot: &str, dir: &Path) -> Cmd {
    Cmd::new("schroot")
        .args(["-c", chroot, "-d"])
        .arg(dir)
        .args(["--", "sh", "-c"])
        .arg(lint_here())
}

/// The shell command that lints the .dsc and .debs of the current
/// directory into [`OUTPUT`] and [`EXIT`] there.
fn lint_here() -> String {
    format!(
        "lintian --display-info --tag-display-limit 0 --fail-on none \
         $(ls *.dsc *.deb 2>/dev/null) > {OUTPUT} 2>&1; echo $? > {EXIT}"
    )
}

/// The files a .dsc names (its `Files:` field), which lintian needs beside
/// it to unpack the source.
pub fn dsc_files(dsc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_files = false;
    for line in dsc.lines() {
        if let Some(rest) = line.strip_prefix(' ').filter(|_| in_files) {
            out.extend(rest.split_whitespace().nth(2).map(str::to_string));
        } else {
            in_files = line.trim_end() == "Files:";
        }
    }
    out
}

/// A tag's severity: lintian's one-letter codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `E:`
    Error,
    /// `W:`
    Warning,
    /// `I:`
    Info,
    /// `P:` pedantic
    Pedantic,
    /// `X:` experimental
    Experimental,
    /// `O:` overridden by the package
    Overridden,
    /// `M:` masked
    Masked,
    /// `C:` classification
    Classification,
}

impl Severity {
    fn from_code(c: &str) -> Option<Severity> {
        Some(match c {
            "E" => Severity::Error,
            "W" => Severity::Warning,
            "I" => Severity::Info,
            "P" => Severity::Pedantic,
            "X" => Severity::Experimental,
            "O" => Severity::Overridden,
            "M" => Severity::Masked,
            "C" => Severity::Classification,
            _ => return None,
        })
    }
}

/// One emitted tag: `E: libfoo1: tag-name some context`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub severity: Severity,
    /// The package as lintian names it (`libfoo1`, `foo source`).
    pub package: String,
    pub tag: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub context: String,
}

/// lintian's output, read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lintian {
    pub tags: Vec<Tag>,
    /// Lines that are not tags (warnings of lintian itself, `N:` notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

impl Lintian {
    pub fn count(&self, severity: Severity) -> usize {
        self.tags.iter().filter(|t| t.severity == severity).count()
    }

    /// The tags grouped by severity, errors first.
    pub fn by_severity(&self) -> std::collections::BTreeMap<Severity, Vec<&Tag>> {
        let mut out = std::collections::BTreeMap::<Severity, Vec<&Tag>>::new();
        for t in &self.tags {
            out.entry(t.severity).or_default().push(t);
        }
        out
    }
}

/// Reads lintian's standard output: `X: PACKAGE[ TYPE]: TAG [CONTEXT]` a
/// tag. The package part ends at the first `": "` (package names hold no
/// colon or space; the type is a word after a space).
pub fn parse(text: &str) -> Lintian {
    let mut out = Lintian::default();
    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        match parse_tag(line) {
            Some(tag) => out.tags.push(tag),
            None => out.other.push(line.to_string()),
        }
    }
    out
}

fn parse_tag(line: &str) -> Option<Tag> {
    let (code, rest) = line.split_once(": ")?;
    let severity = Severity::from_code(code)?;
    let (package, rest) = rest.split_once(": ")?;
    let (tag, context) = rest.split_once(' ').unwrap_or((rest, ""));
    let valid = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    if !valid(package.split(' ').next()?) || !valid(tag) {
        return None;
    }
    Some(Tag {
        severity,
        package: package.to_string(),
        tag: tag.to_string(),
        context: context.to_string(),
    })
}

/// lintian's part of a cell's test result (`RUNDIR/tests/PKG_ARCH/result.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LintianResult {
    /// How many tags of each severity.
    pub counts: std::collections::BTreeMap<Severity, usize>,
    /// Whether the tags fail the cell under the stack's `fail_on`.
    pub fails: bool,
    pub tags: Vec<Tag>,
    /// Why lintian did not run to the end, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LintianResult {
    pub fn judge(lintian: Lintian, fail_on: LintianFailOn) -> LintianResult {
        let fails = fails(&lintian, fail_on);
        let counts = (lintian.by_severity().into_iter())
            .map(|(s, tags)| (s, tags.len()))
            .collect();
        LintianResult {
            counts,
            fails,
            tags: lintian.tags,
            error: None,
        }
    }

    /// lintian could not run: that fails the cell when tags would.
    pub fn broken(error: String, fail_on: LintianFailOn) -> LintianResult {
        LintianResult {
            fails: fail_on != LintianFailOn::Never,
            error: Some(error),
            ..LintianResult::default()
        }
    }

    /// `2 E, 1 W, 3 I` (errors first), or `clean`.
    pub fn brief(&self) -> String {
        if let Some(e) = &self.error {
            return format!("not run: {e}");
        }
        let codes = [
            (Severity::Error, "E"),
            (Severity::Warning, "W"),
            (Severity::Info, "I"),
            (Severity::Pedantic, "P"),
            (Severity::Experimental, "X"),
            (Severity::Overridden, "O"),
        ];
        let parts: Vec<String> = (codes.iter())
            .filter_map(|(s, c)| self.counts.get(s).map(|n| format!("{n} {c}")))
            .collect();
        if parts.is_empty() {
            "clean".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Whether the tags fail the cell under the stack's `tests.lintian.fail_on`.
pub fn fails(lintian: &Lintian, fail_on: LintianFailOn) -> bool {
    let worst = |s: Severity| lintian.count(s) > 0;
    match fail_on {
        LintianFailOn::Never => false,
        LintianFailOn::Error => worst(Severity::Error),
        LintianFailOn::Warning => worst(Severity::Error) || worst(Severity::Warning),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// lintian 2.12x's output on a demo package, as `cascade test` saw it.
    const OUTPUT_SAMPLE: &str = "\
running with root privileges is not recommended!
E: libdemoblas1: latest-changelog-entry-without-new-date [usr/share/doc/libdemoblas1/changelog.Debian.gz:1]
E: demo-blas source: latest-debian-changelog-entry-without-new-date [debian/changelog:1]
W: demo-blas source: no-nmu-in-changelog [debian/changelog:1]
I: demo-blas source: debian-watch-file-is-missing
I: libdemoblas1: no-symbols-control-file usr/lib/x86_64-linux-gnu/libdemoblas.so.1
P: demo-blas source: package-uses-old-debhelper-compat-version 12
X: libdemoblas1: some-experimental-tag
O: libdemoblas1: hardening-no-bindnow [usr/lib/x86_64-linux-gnu/libdemoblas.so.1]
N: a note
";

    #[test]
    fn tags_are_grouped_by_severity() {
        let l = parse(OUTPUT_SAMPLE);
        let groups = l.by_severity();
        let counts: Vec<(Severity, usize)> = groups.iter().map(|(s, t)| (*s, t.len())).collect();
        assert_eq!(
            counts,
            [
                (Severity::Error, 2),
                (Severity::Warning, 1),
                (Severity::Info, 2),
                (Severity::Pedantic, 1),
                (Severity::Experimental, 1),
                (Severity::Overridden, 1),
            ]
        );
        assert_eq!(
            groups[&Severity::Error][1],
            &Tag {
                severity: Severity::Error,
                package: "demo-blas source".into(),
                tag: "latest-debian-changelog-entry-without-new-date".into(),
                context: "[debian/changelog:1]".into(),
            }
        );
        assert_eq!(groups[&Severity::Info][0].context, "");
        assert_eq!(
            l.other,
            [
                "running with root privileges is not recommended!",
                "N: a note"
            ]
        );
    }

    #[test]
    fn a_cells_lintian_result_counts_and_judges() {
        let r = LintianResult::judge(parse(OUTPUT_SAMPLE), LintianFailOn::Error);
        assert!(r.fails);
        assert_eq!(r.brief(), "2 E, 1 W, 2 I, 1 P, 1 X, 1 O");
        let clean = LintianResult::judge(parse("N: nothing\n"), LintianFailOn::Warning);
        assert!(!clean.fails);
        assert_eq!(clean.brief(), "clean");
        let broken = LintianResult::broken("no lintian tarball".into(), LintianFailOn::Never);
        assert!(!broken.fails);
        assert_eq!(broken.brief(), "not run: no lintian tarball");
    }

    #[test]
    fn a_dsc_names_its_tarballs() {
        let dsc = "Format: 3.0 (quilt)\nSource: demo-blas\nChecksums-Sha256:\n abc 10 demo-blas_7.2.4.orig.tar.xz\nFiles:\n d41d 10 demo-blas_7.2.4.orig.tar.xz\n e3b0 20 demo-blas_7.2.4-1~exp1.debian.tar.xz\nTestsuite: autopkgtest\n";
        assert_eq!(
            dsc_files(dsc),
            [
                "demo-blas_7.2.4.orig.tar.xz",
                "demo-blas_7.2.4-1~exp1.debian.tar.xz"
            ]
        );
    }

    #[test]
    fn the_stack_decides_what_fails() {
        let errors = parse(OUTPUT_SAMPLE);
        let warnings = parse("W: foo: some-warning\nI: foo: some-info\n");
        let clean = parse("I: foo: some-info\n");
        for (l, never, error, warning) in [
            (&errors, false, true, true),
            (&warnings, false, false, true),
            (&clean, false, false, false),
        ] {
            assert_eq!(fails(l, LintianFailOn::Never), never);
            assert_eq!(fails(l, LintianFailOn::Error), error);
            assert_eq!(fails(l, LintianFailOn::Warning), warning);
        }
    }

    #[test]
    fn lintian_runs_in_a_throwaway_chroot_of_the_lintian_tarball() {
        let amd64 = Arch::new("amd64").unwrap();
        let t = tarball(Path::new("/c"), "unstable", &amd64);
        assert_eq!(t, Path::new("/c/unstable-amd64-lintian.tar"));
        let files = [
            PathBuf::from("/w/a_1.dsc"),
            PathBuf::from("/r/debs/riscv64/a_1~x_riscv64.deb"),
        ];
        let args: Vec<String> = invocation(
            &t,
            &amd64,
            "unstable",
            &files,
            Path::new("/r/tests/a_riscv64"),
        )
        .get_args()
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        assert_eq!(args[2], "--format=null");
        assert_eq!(
            args[5],
            "--setup-hook=tar -C \"$1\" --exclude='./dev/*' -xf /c/unstable-amd64-lintian.tar"
        );
        assert_eq!(
            args[7],
            "--customize-hook=copy-in /w/a_1.dsc /r/debs/riscv64/a_1~x_riscv64.deb /tmp/cascade-lintian"
        );
        assert!(args[8].contains("--fail-on none"), "{}", args[8]);
        assert_eq!(
            args[9],
            "--customize-hook=copy-out /tmp/cascade-lintian/lintian.txt /tmp/cascade-lintian/lintian.exit /r/tests/a_riscv64"
        );
        assert_eq!(&args[10..], ["unstable", "/dev/null"]);
        let make = tarball_actions(Path::new("/c"), "unstable", &amd64, "http://m/debian");
        assert_eq!(
            make[1].to_string(),
            "mmdebstrap --variant=apt --include=lintian --mode=unshare --format=tar \
             --architectures=amd64 '--aptopt=Acquire::Check-Valid-Until \"false\"' \
             '--aptopt=Acquire::Languages \"none\"' unstable /c/.unstable-amd64-lintian.tar.new \
             http://m/debian"
        );
        assert_eq!(
            make[2].to_string(),
            "mv /c/.unstable-amd64-lintian.tar.new /c/unstable-amd64-lintian.tar"
        );
    }

    #[test]
    fn as_root_lintian_runs_in_a_session_of_the_runs_lintian_chroot() {
        let dir = Path::new("/dev/shm/cascade-0123/test_a_riscv64/lintian");
        let cmd = schroot_invocation("cascade-0123-unstable-amd64-lintian", dir);
        let args: Vec<String> = (cmd.get_args().iter())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..6],
            [
                "-c",
                "cascade-0123-unstable-amd64-lintian",
                "-d",
                "/dev/shm/cascade-0123/test_a_riscv64/lintian",
                "--",
                "sh"
            ]
        );
        assert_eq!(args[6], "-c");
        assert!(args[7].starts_with("lintian --display-info"), "{}", args[7]);
        assert!(args[7].ends_with("> lintian.txt 2>&1; echo $? > lintian.exit"));
    }
}

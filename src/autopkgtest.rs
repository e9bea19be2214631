//! autopkgtest on what a run built: a [`TestRequest`] → autopkgtest's argv
//! ([`invocation`]), its summary file → per-test results ([`parse_summary`]),
//! its exit code → a [`Verdict`], and the recipe's expected failures laid
//! over them ([`judge`]). Pure: no file is touched, no process run (the
//! test stage, `teststage`, does that through [`crate::process`]).
//!
//! The testbed is autopkgtest's `unshare` virt-server on the testbed tarball
//! `cascade setup` made for the arch ([`testbed_tarball`]; riscv64 runs
//! under qemu-user binfmt, as its builds do), or the stack's
//! `tests.backend` words for the arch (e.g. `podman+rocm IMAGE` on a GPU
//! runner), passed through after `--`.
//!
//! The .debs under test are given as positional arguments: autopkgtest
//! publishes them as a local apt repository pinned above the archive
//! (priority 1002) and installs only what the tests' `Depends` pull in, so
//! passing the whole run's set for the arch (the source's own and the
//! stack's) makes every stack package come from this run, never from the
//! archive, without computing the stack's runtime closure here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::process::Cmd;
use crate::recipe::{Recipe, Stack};
use crate::setup::Action;

/// One autopkgtest call: a source's tests on one arch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRequest {
    /// The source package under test, as a .dsc (its tests come from it).
    pub dsc: PathBuf,
    /// The run's .debs autopkgtest may install (the source's and the stack's).
    pub debs: Vec<PathBuf>,
    /// autopkgtest's `--output-dir` (must not exist, or be empty).
    pub artifacts: PathBuf,
    /// autopkgtest's `--summary-file`.
    pub summary: PathBuf,
    /// Seconds one test may run (`--timeout-test`); none: autopkgtest's default.
    pub timeout: Option<u64>,
    pub backend: Backend,
}

/// The testbed: the virt-server and its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `unshare --tarball T --arch A`: the arch's [`testbed_tarball`].
    Unshare { tarball: PathBuf, arch: Arch },
    /// The stack's words for the arch (`tests.backend`), verbatim.
    Custom(Vec<String>),
}

impl Backend {
    /// The stack's backend for `arch`, else `unshare` on the arch's
    /// [`testbed_tarball`] in `chroot_dir`.
    pub fn for_arch(stack: &Stack, arch: &Arch, chroot_dir: &Path, suite: &str) -> Backend {
        match stack.test_backend(arch) {
            Some(words) => Backend::Custom(words.to_vec()),
            None => Backend::Unshare {
                tarball: testbed_tarball(chroot_dir, suite, arch),
                arch: arch.clone(),
            },
        }
    }

    /// The words after autopkgtest's `--`.
    pub fn args(&self) -> Vec<String> {
        match self {
            Backend::Unshare { tarball, arch } => vec![
                "unshare".into(),
                "--tarball".into(),
                tarball.display().to_string(),
                "--arch".into(),
                arch.to_string(),
            ],
            Backend::Custom(words) => words.clone(),
        }
    }
}

/// `DIR/SUITE-ARCH-testbed.tar`: the unshare backend's testbed, made by
/// `cascade setup` ([`testbed_actions`]).
pub fn testbed_tarball(dir: &Path, suite: &str, arch: &Arch) -> PathBuf {
    dir.join(format!("{suite}-{arch}-testbed.tar"))
}

/// Makes [`testbed_tarball`] (into a dot-file first, renamed when
/// complete): the testbed autopkgtest-virt-unshare bootstraps itself when
/// given no tarball (mmdebstrap's `apt` variant, apt's lists kept) plus
/// the two packages autopkgtest would otherwise install into every
/// testbed, one per test: apt-utils (apt-ftparchive publishes the .debs
/// under test; without apt's lists it first runs `apt-get update`, the
/// whole index fetched and parsed, under qemu on a foreign arch) and
/// dpkg-dev (dpkg-source unpacks the .dsc; autopkgtest then reverts the
/// testbed and unpacks it again). apt's binary cache is kept too. Not the
/// build chroot (mmdebstrap's `buildd` variant): a test gets no compiler
/// unless its Depends pull one in, as on ci.debian.net.
pub fn testbed_actions(dir: &Path, suite: &str, arch: &Arch, mirror: &str) -> Vec<Action> {
    crate::setup::apt_tarball_actions(
        &testbed_tarball(dir, suite, arch),
        suite,
        arch,
        mirror,
        "apt-utils,dpkg-dev",
        &[
            "--skip=cleanup/apt/lists,cleanup/apt/cache",
            "--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb",
        ],
    )
}

/// A testbed setup command: apt fetches no translations (Translation-en,
/// 7.7 MB on sid, decompressed under qemu on a foreign arch, is read by
/// nothing). The testbed tarball says so itself; a stack's own backend
/// gets it here.
pub const NO_TRANSLATIONS: &str =
    "echo 'Acquire::Languages \"none\";' > /etc/apt/apt.conf.d/90cascade-no-translations";

/// The unshare testbed's setup command: its apt lists are as old as its
/// tarball (up to `cascade setup`'s maximum age); this brings them to the
/// archive's state before the test dependencies are installed. When the
/// index has not changed only the Release file is fetched.
pub const UPDATE_LISTS: &str = "apt-get update";

/// The autopkgtest call for `req`. Pure.
pub fn invocation(program: &Path, req: &TestRequest) -> Cmd {
    let mut cmd = Cmd::new(program)
        .arg(format!("--output-dir={}", req.artifacts.display()))
        .arg(format!("--summary-file={}", req.summary.display()))
        // Tests come from debian/tests only: a package without them says
        // "no tests" (exit 8) rather than getting autodep8's generated ones.
        .arg("--no-auto-control")
        .arg(format!("--setup-commands={NO_TRANSLATIONS}"));
    if let Backend::Unshare { .. } = req.backend {
        cmd = cmd.arg(format!("--setup-commands={UPDATE_LISTS}"));
    }
    if let Some(secs) = req.timeout {
        cmd = cmd.arg(format!("--timeout-test={secs}"));
    }
    cmd.args(&req.debs)
        .arg(&req.dsc)
        .arg("--")
        .args(req.backend.args())
}

/// Whether a .dsc declares autopkgtests: `Testsuite: autopkgtest`, which
/// dpkg-source writes when debian/tests/control exists. A source without
/// it has no tests to run ([`TestClass::NoTests`]) and needs no testbed;
/// autodep8's `autopkgtest-pkg-*` values do not count (autopkgtest runs
/// with `--no-auto-control`).
pub fn declares_tests(dsc: &str) -> bool {
    dsc.lines()
        .filter_map(|l| l.strip_prefix("Testsuite:"))
        .any(|v| v.split(',').any(|t| t.trim() == "autopkgtest"))
}

/// How one test ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TestClass {
    Pass,
    Fail,
    /// Not run, or a `skippable` test that exited 77 (a GPU test without a GPU).
    Skip,
    /// The package has no tests (autopkgtest's `*  SKIP no tests in this package`).
    NoTests,
    /// A `flaky` test failed; its failure is ignored.
    Flaky,
    /// The testbed broke (autopkgtest's exit 16); nothing was learned.
    Tmpfail,
    /// Killed by `--timeout-test`.
    Timeout,
}

impl TestClass {
    pub fn as_str(self) -> &'static str {
        match self {
            TestClass::Pass => "pass",
            TestClass::Fail => "fail",
            TestClass::Skip => "skip",
            TestClass::NoTests => "no-tests",
            TestClass::Flaky => "flaky",
            TestClass::Tmpfail => "tmpfail",
            TestClass::Timeout => "timeout",
        }
    }

    /// A failure unless the recipe expects it.
    pub fn is_failure(self) -> bool {
        matches!(self, TestClass::Fail | TestClass::Timeout)
    }
}

/// One line of the summary file: a test and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestLine {
    /// The test's name (`*` for the whole package).
    pub name: String,
    pub class: TestClass,
    /// autopkgtest's reason (`non-zero exit status 1`), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A parsed summary file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub tests: Vec<TestLine>,
    /// What autopkgtest said about the run as a whole (`blame: …`,
    /// `badpkg: …`, `testbed failure: …`, `erroneous package: …`,
    /// `quitting: …`), and any line not understood.
    pub problems: Vec<String>,
}

/// Lines about the run as a whole rather than one test.
const RUN_LINES: [&str; 5] = [
    "blame: ",
    "badpkg: ",
    "erroneous package: ",
    "testbed failure: ",
    "quitting: ",
];

/// Parses autopkgtest's summary file: one `NAME  RESULT [detail]` line a
/// test (written as `'%-20s %s' % (name, result)`, so a name never holds
/// whitespace), and the run-wide lines of [`RUN_LINES`].
pub fn parse_summary(text: &str) -> Summary {
    let mut out = Summary::default();
    for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
        if RUN_LINES.iter().any(|p| line.starts_with(p)) {
            out.problems.push(line.to_string());
            continue;
        }
        match parse_test_line(line) {
            Some(t) => out.tests.push(t),
            None => out.problems.push(line.to_string()),
        }
    }
    out
}

fn parse_test_line(line: &str) -> Option<TestLine> {
    let (name, rest) = line.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let (word, detail) = rest.split_once(' ').unwrap_or((rest, ""));
    let detail = detail.trim().to_string();
    let class = match word {
        "PASS" => TestClass::Pass,
        "FAIL" if detail == "timed out" => TestClass::Timeout,
        // BROKEN: a test stanza autopkgtest could not use.
        "FAIL" | "BROKEN" => TestClass::Fail,
        "FLAKY" => TestClass::Flaky,
        "SKIP" if name == "*" && detail.starts_with("no tests") => TestClass::NoTests,
        "SKIP" => TestClass::Skip,
        _ => return None,
    };
    Some(TestLine {
        name: name.to_string(),
        class,
        detail,
    })
}

/// What autopkgtest's exit code says about the whole run (autopkgtest(1),
/// EXIT STATUS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// 0: every test passed.
    Pass,
    /// 2: some skipped (or a flaky test failed), none failed.
    Skipped,
    /// 4 (and 6: some also skipped): a test failed.
    Fail,
    /// 8: no tests, or every non-superficial test skipped.
    NoTests,
    /// 12 (and 14): an erroneous package, e.g. test dependencies that
    /// cannot be installed.
    BadPackage,
    /// 16: the testbed failed; retry.
    Tmpfail,
    /// 20, any other code, or no code: autopkgtest itself failed.
    Error,
}

impl Verdict {
    pub fn from_exit_code(code: Option<i32>) -> Verdict {
        match code {
            Some(0) => Verdict::Pass,
            Some(2) => Verdict::Skipped,
            Some(4 | 6) => Verdict::Fail,
            Some(8) => Verdict::NoTests,
            Some(12 | 14) => Verdict::BadPackage,
            Some(16) => Verdict::Tmpfail,
            _ => Verdict::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Skipped => "skipped",
            Verdict::Fail => "fail",
            Verdict::NoTests => "no-tests",
            Verdict::BadPackage => "bad-package",
            Verdict::Tmpfail => "tmpfail",
            Verdict::Error => "error",
        }
    }
}

/// One test's result as cascade reports it: autopkgtest's class and, for a
/// failure the recipe expects, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    pub name: String,
    pub class: TestClass,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The recipe's reason when this failure is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl TestResult {
    pub fn is_unexpected_failure(&self) -> bool {
        self.class.is_failure() && self.expected.is_none()
    }
}

/// A source × arch's tests, judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judged {
    pub verdict: Verdict,
    pub tests: Vec<TestResult>,
    /// Run-wide lines of the summary (`badpkg: …`, `testbed failure: …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Judged {
    /// Failures the recipe does not expect: failed or timed-out tests
    /// without an expected-failure entry, and a run that tested nothing
    /// because of the package (bad package), the testbed (tmpfail) or
    /// autopkgtest (error) — a run that learned nothing is not a pass.
    pub fn unexpected(&self) -> Vec<String> {
        let mut out: Vec<String> = (self.tests.iter())
            .filter(|t| t.is_unexpected_failure())
            .map(|t| format!("{}: {} {}", t.name, t.class.as_str(), t.detail))
            .map(|s| s.trim_end().to_string())
            .collect();
        let whole_run = matches!(
            self.verdict,
            Verdict::BadPackage | Verdict::Tmpfail | Verdict::Error
        );
        if whole_run && out.is_empty() {
            let why = self.problems.last().cloned().unwrap_or_default();
            let line = format!("autopkgtest: {} {why}", self.verdict.as_str());
            out.push(line.trim_end().to_string());
        }
        out
    }

    /// One word for the cell: the verdict, or `fail` only when a failure
    /// is unexpected (`expected-fail` when every failure is expected).
    pub fn status(&self) -> &'static str {
        let any_failed = self.tests.iter().any(|t| t.class.is_failure());
        match self.verdict {
            _ if !self.unexpected().is_empty() && any_failed => "fail",
            Verdict::Fail | Verdict::Pass | Verdict::Skipped if any_failed => "expected-fail",
            // Exit 8 also means "every non-superficial test skipped": the
            // GPU test without a GPU is a skip, not a package without tests.
            Verdict::NoTests if self.tests.iter().any(|t| t.class == TestClass::Skip) => "skipped",
            v => v.as_str(),
        }
    }
}

/// One source × arch's test stage, as `RUNDIR/tests/PKG_ARCH/result.json`
/// keeps it for the reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestCell {
    pub source: String,
    /// The build job's arch (`all` for an arch:all-only source).
    pub arch: Arch,
    /// The testbed's arch (the host's for `all`).
    pub test_arch: Arch,
    pub version: String,
    /// [`Judged::status`], or `no-tests`/`skipped-by-recipe`/`error`
    /// when autopkgtest did not run.
    pub status: String,
    /// autopkgtest's exit code; none when it did not run or was killed.
    pub exit_code: Option<i32>,
    pub duration_secs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autopkgtest: Option<Judged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lintian: Option<crate::lintian::LintianResult>,
    /// What fails this cell: unexpected test failures, lintian's verdict.
    /// Why it did not run, when that is no failure of its own: the build
    /// failure of a `not-built` cell (an expected one fails nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub unexpected: Vec<String>,
    /// The hash of its inputs (`teststage`): a rerun with the same reuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    /// Taken from an earlier run with identical inputs.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
}

/// The tests of one run judged: `summary` (the parsed summary file) with
/// `exit_code` (none: killed or not started) and the recipe's expected
/// failures for `arch`. A testbed failure makes every test tmpfail, as
/// nothing it reported can be trusted.
pub fn judge(
    summary: Summary,
    exit_code: Option<i32>,
    recipe: Option<&Recipe>,
    arch: &Arch,
) -> Judged {
    let verdict = Verdict::from_exit_code(exit_code);
    let tests = (summary.tests.into_iter())
        .map(|t| {
            let class = match verdict {
                Verdict::Tmpfail if t.class != TestClass::Pass => TestClass::Tmpfail,
                _ => t.class,
            };
            let expected = (class.is_failure())
                .then(|| recipe?.expected_test_failure(&t.name, arch))
                .flatten()
                .map(|e| match &e.link {
                    Some(link) => format!("{} ({link})", e.reason),
                    None => e.reason.clone(),
                });
            TestResult {
                name: t.name,
                class,
                detail: t.detail,
                expected,
            }
        })
        .collect();
    Judged {
        verdict,
        tests,
        problems: summary.problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    /// A summary as autopkgtest 5.49 writes it (`'%-20s %s'`), with a long
    /// name that overflows the column.
    const MIXED: &str = "\
smoke                PASS
header-installed     PASS (superficial)
gpu                  SKIP exit status 77 and marked as skippable
solver-residual      FAIL non-zero exit status 1
a-very-long-test-name-indeed FLAKY non-zero exit status 2
hang                 FAIL timed out
command1             FAIL stderr: warning: something
";

    #[test]
    fn invocation_tests_the_dsc_against_the_runs_debs_in_unshare() {
        let req = TestRequest {
            dsc: "/w/source/demo-blas/demo-blas_1-1.dsc".into(),
            debs: vec![
                "/r/debs/amd64/libdemoblas1_1-1_amd64.deb".into(),
                "/r/debs/all/demo-cmake_1-1_all.deb".into(),
            ],
            artifacts: "/r/tests/demo-blas_amd64/artifacts".into(),
            summary: "/r/tests/demo-blas_amd64/summary".into(),
            timeout: Some(300),
            backend: Backend::Unshare {
                tarball: "/c/unstable-riscv64-testbed.tar".into(),
                arch: arch("riscv64"),
            },
        };
        let cmd = invocation(Path::new("autopkgtest"), &req);
        assert_eq!(
            cmd.to_string(),
            "autopkgtest --output-dir=/r/tests/demo-blas_amd64/artifacts \
             --summary-file=/r/tests/demo-blas_amd64/summary --no-auto-control \
             '--setup-commands=echo '\\''Acquire::Languages \"none\";'\\'' > /etc/apt/apt.conf.d/90cascade-no-translations' \
             '--setup-commands=apt-get update' --timeout-test=300 \
             /r/debs/amd64/libdemoblas1_1-1_amd64.deb /r/debs/all/demo-cmake_1-1_all.deb \
             /w/source/demo-blas/demo-blas_1-1.dsc -- unshare --tarball /c/unstable-riscv64-testbed.tar --arch riscv64"
        );
        let custom = TestRequest {
            timeout: None,
            backend: Backend::Custom(vec!["podman+rocm".into(), "rocm/testbed".into()]),
            ..req
        };
        let line = invocation(Path::new("autopkgtest"), &custom).to_string();
        assert!(!line.contains("--timeout-test"), "{line}");
        // A stack's own testbed keeps its apt state.
        assert!(!line.contains("apt-get update"), "{line}");
        assert!(line.ends_with(".dsc -- podman+rocm rocm/testbed"), "{line}");
    }

    #[test]
    fn the_stacks_backend_wins_over_unshare() {
        let stack: Stack = serde_yaml::from_str(
            "name: s\nsuite: experimental\nbase_suite: unstable\nmirror: m\narchitectures: [amd64, riscv64]\ntests:\n  backend:\n    amd64: [qemu+rocm, /img]\n",
        )
        .unwrap();
        let dir = Path::new("/c");
        assert_eq!(
            Backend::for_arch(&stack, &arch("amd64"), dir, "unstable").args(),
            ["qemu+rocm", "/img"]
        );
        assert_eq!(
            Backend::for_arch(&stack, &arch("riscv64"), dir, "unstable").args(),
            [
                "unshare",
                "--tarball",
                "/c/unstable-riscv64-testbed.tar",
                "--arch",
                "riscv64"
            ]
        );
    }

    #[test]
    fn summary_lines_become_test_classes() {
        let s = parse_summary(MIXED);
        let got: Vec<(&str, TestClass, &str)> = (s.tests.iter())
            .map(|t| (t.name.as_str(), t.class, t.detail.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("smoke", TestClass::Pass, ""),
                ("header-installed", TestClass::Pass, "(superficial)"),
                (
                    "gpu",
                    TestClass::Skip,
                    "exit status 77 and marked as skippable"
                ),
                ("solver-residual", TestClass::Fail, "non-zero exit status 1"),
                (
                    "a-very-long-test-name-indeed",
                    TestClass::Flaky,
                    "non-zero exit status 2"
                ),
                ("hang", TestClass::Timeout, ""),
                ("command1", TestClass::Fail, "stderr: warning: something"),
            ]
            .map(|(n, c, d)| (
                n,
                c,
                if c == TestClass::Timeout {
                    "timed out"
                } else {
                    d
                }
            ))
        );
        assert!(s.problems.is_empty(), "{:?}", s.problems);
    }

    #[test]
    fn no_tests_bad_packages_and_broken_testbeds() {
        let none = parse_summary("*                    SKIP no tests in this package\n");
        assert_eq!(none.tests[0].class, TestClass::NoTests);
        let bad = parse_summary(
            "smoke                FAIL badpkg\nblame: arg:/r/debs/amd64/x.deb deb:x\nbadpkg: Test dependencies are unsatisfiable. A common reason is that your testbed is out of date with respect to the archive, and you need to use a current testbed or run apt-get update or use -U.\n",
        );
        assert_eq!(bad.tests.len(), 1);
        assert_eq!(bad.problems.len(), 2);
        assert!(bad.problems[1].starts_with("badpkg: Test dependencies"));
        let broken = parse_summary("testbed failure: unexpected eof from the testbed\n");
        assert!(broken.tests.is_empty());
        assert_eq!(
            broken.problems,
            ["testbed failure: unexpected eof from the testbed"]
        );
        let odd = parse_summary("smoke WEIRD thing\n");
        assert_eq!(odd.problems, ["smoke WEIRD thing"]);
    }

    #[test]
    fn only_a_declared_testsuite_needs_a_testbed() {
        let dsc = |field: &str| {
            format!("Format: 3.0 (quilt)\nSource: a\n{field}Files:\n 0 1 a_1.tar.xz\n")
        };
        assert!(declares_tests(&dsc("Testsuite: autopkgtest\n")));
        assert!(declares_tests(&dsc(
            "Testsuite: autopkgtest-pkg-python, autopkgtest\n"
        )));
        assert!(!declares_tests(&dsc("Testsuite: autopkgtest-pkg-python\n")));
        assert!(!declares_tests(&dsc("")));
    }

    #[test]
    fn exit_codes_map_to_verdicts() {
        let cases = [
            (Some(0), Verdict::Pass),
            (Some(2), Verdict::Skipped),
            (Some(4), Verdict::Fail),
            (Some(6), Verdict::Fail),
            (Some(8), Verdict::NoTests),
            (Some(12), Verdict::BadPackage),
            (Some(14), Verdict::BadPackage),
            (Some(16), Verdict::Tmpfail),
            (Some(20), Verdict::Error),
            (Some(1), Verdict::Error),
            (None, Verdict::Error),
        ];
        for (code, verdict) in cases {
            assert_eq!(Verdict::from_exit_code(code), verdict, "{code:?}");
        }
    }

    fn recipe_expecting(test: &str, arches: &str) -> Recipe {
        serde_yaml::from_str(&format!(
            "source: demo-solver\npackaging: {{repo: r, branch: b}}\nupstream: {{repo: u, tag: v1}}\nversion: '{{upstream}}-1'\ntests:\n  expected_failures:\n    - {{test: {test}, arches: {arches}, reason: rounding on riscv64, link: 'https://bugs.debian.org/1'}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn expected_failures_count_only_on_their_arches() {
        let recipe = recipe_expecting("solver-residual", "[riscv64]");
        let summary = || {
            parse_summary(
                "solver-residual      FAIL non-zero exit status 1\ngpu                  SKIP exit status 77 and marked as skippable\n",
            )
        };
        let riscv = judge(summary(), Some(6), Some(&recipe), &arch("riscv64"));
        assert_eq!(
            riscv.tests[0].expected.as_deref(),
            Some("rounding on riscv64 (https://bugs.debian.org/1)")
        );
        assert!(riscv.unexpected().is_empty());
        assert_eq!(riscv.status(), "expected-fail");
        let amd64 = judge(summary(), Some(6), Some(&recipe), &arch("amd64"));
        assert_eq!(
            amd64.unexpected(),
            ["solver-residual: fail non-zero exit status 1"]
        );
        assert_eq!(amd64.status(), "fail");
        assert!(amd64.tests[1].expected.is_none(), "a skip needs no excuse");
    }

    #[test]
    fn runs_that_learn_nothing_are_unexpected_and_tmpfail_taints_every_test() {
        let skipped = judge(
            parse_summary("gpu SKIP exit status 77 and marked as skippable\n"),
            Some(2),
            None,
            &arch("amd64"),
        );
        assert!(skipped.unexpected().is_empty());
        assert_eq!(skipped.status(), "skipped");
        // What autopkgtest 5.49 does with a lone skippable test that skips.
        let only_skip = judge(
            parse_summary("gpu                  SKIP exit status 77 and marked as skippable\n"),
            Some(8),
            None,
            &arch("amd64"),
        );
        assert_eq!(only_skip.status(), "skipped");
        let none = judge(
            parse_summary("* SKIP no tests in this package\n"),
            Some(8),
            None,
            &arch("amd64"),
        );
        assert!(none.unexpected().is_empty());
        assert_eq!(none.status(), "no-tests");
        let broken = judge(
            parse_summary(
                "smoke                FAIL non-zero exit status 255\ntestbed failure: sent `auxverb_debug_fail', got `copy-failed'\n",
            ),
            Some(16),
            None,
            &arch("riscv64"),
        );
        assert_eq!(broken.tests[0].class, TestClass::Tmpfail);
        assert_eq!(
            broken.unexpected(),
            ["autopkgtest: tmpfail testbed failure: sent `auxverb_debug_fail', got `copy-failed'"]
        );
        assert_eq!(broken.status(), "tmpfail");
        let killed = judge(Summary::default(), None, None, &arch("amd64"));
        assert_eq!(killed.unexpected(), ["autopkgtest: error"]);
    }
}

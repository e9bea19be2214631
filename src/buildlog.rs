//! Failure classes from an sbuild log: its closing summary (`Status:`,
//! `Fail-Stage:`) says where a build stopped, the log says why.
//!
//! The log is split into sections and the build failure is described by the
//! `buildlog-consultant` crate (Jelmer Vernooĳ's sbuild log analyser, as used
//! by the Debian Janitor): it knows hundreds of compiler, toolchain and apt
//! problems. What it does not return in the shape a report needs — the
//! missing build-dependencies as a list, test-suite failures told apart from
//! other build failures, the first error lines — is read here from the same
//! sections with a few plain patterns.

use std::collections::BTreeMap;
use std::path::Path;

use buildlog_consultant::sbuild::{SbuildLog, SbuildLogSection};

use crate::events::{NotBuiltReason, Outcome};

/// How many error lines an outcome carries.
const MAX_ERRORS: usize = 6;

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
}

/// sbuild's closing summary: `Key: value` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub fields: BTreeMap<String, String>,
}

impl Summary {
    /// `successful`, `attempted`, `failed`, `given-back` or `skipped`.
    pub fn status(&self) -> Option<&str> {
        self.fields.get("Status").map(String::as_str)
    }

    pub fn fail_stage(&self) -> Option<&str> {
        self.fields.get("Fail-Stage").map(String::as_str)
    }

    /// `Build-Time:` in seconds.
    pub fn build_time(&self) -> Option<u64> {
        self.fields.get("Build-Time")?.parse().ok()
    }

    /// `Package-Time:` in seconds: the whole sbuild run.
    pub fn package_time(&self) -> Option<u64> {
        self.fields.get("Package-Time")?.parse().ok()
    }
}

/// A classified log.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub outcome: Outcome,
    pub summary: Option<Summary>,
    /// buildlog-consultant's one-line description of the problem, if it
    /// recognised one.
    pub description: Option<String>,
}

/// Reads and classifies a log file.
pub fn classify_file(path: &Path) -> Result<Analysis, Error> {
    let bytes = std::fs::read(path)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))?;
    Ok(classify(&String::from_utf8_lossy(&bytes)))
}

/// Classifies a finished build from its sbuild log.
pub fn classify(log: &str) -> Analysis {
    let sections = split_sections(log);
    let summary = sections
        .iter()
        .rev()
        .find(|s| title_is(s, "Summary"))
        .map(|s| parse_summary(&s.lines()));
    let description = consultant_description(log);

    let Some(sum) = summary.clone() else {
        // sbuild always writes a summary, unless it was killed.
        return Analysis {
            outcome: Outcome::Failed {
                stage: "unknown".into(),
                errors: vec!["the log ends without sbuild's summary: was sbuild killed?".into()],
            },
            summary: None,
            description,
        };
    };
    let outcome = match (sum.status(), sum.fail_stage()) {
        (Some("successful"), _) => Outcome::Ok,
        (_, Some("install-deps" | "explain-bd-uninstallable")) => Outcome::BuildDepUnsatisfiable {
            missing: missing_build_deps(log),
        },
        // sbuild refuses a source whose Architecture list leaves this arch
        // out: that is an exclusion, not a failure of the package.
        (Some("skipped"), Some("arch-check")) => Outcome::Excluded {
            reason: NotBuiltReason::Excluded(
                lines_matching(log, |l| l.contains("not in arch list"))
                    .into_iter()
                    .next()
                    .map(|l| l.trim_start_matches("E: ").to_string())
                    .unwrap_or_else(|| "not in the source's architecture list".into()),
            ),
        },
        (_, stage) => {
            let stage = stage.unwrap_or("unknown").to_string();
            let build = section_text(&sections, "Build");
            if log.contains("minutes of inactivity") && log.contains("Build killed with signal") {
                Outcome::Timeout
            } else if stage == "build" && test_suite_failed(&build) {
                Outcome::TestFailed {
                    errors: test_errors(&build),
                }
            } else {
                let text = if stage == "build" {
                    build
                } else {
                    log.to_string()
                };
                let mut errors = error_lines(&text);
                if errors.is_empty() {
                    errors.extend(description.iter().cloned());
                }
                Outcome::Failed { stage, errors }
            }
        }
    };
    Analysis {
        outcome,
        summary,
        description,
    }
}

fn split_sections(log: &str) -> Vec<SbuildLogSection> {
    buildlog_consultant::sbuild::parse_sbuild_log(log.as_bytes())
        .map(|it| it.collect())
        .unwrap_or_default()
}

/// Section titles carry a right-aligned timestamp; compare the words only.
fn title_is(s: &SbuildLogSection, name: &str) -> bool {
    s.title
        .as_deref()
        .map(|t| t == name || t.starts_with(&format!("{name}  ")))
        .unwrap_or(false)
}

fn section_text(sections: &[SbuildLogSection], name: &str) -> String {
    sections
        .iter()
        .filter(|s| title_is(s, name))
        .flat_map(|s| s.lines.iter().map(|l| l.trim_end_matches('\n')))
        .collect::<Vec<_>>()
        .join("\n")
}

/// buildlog-consultant's description of the failure. It is a large set of
/// heuristics over arbitrary text; a panic in it must not take the run down.
fn consultant_description(log: &str) -> Option<String> {
    let log = log.to_string();
    std::panic::catch_unwind(move || {
        let parsed: SbuildLog = log.parse().ok()?;
        let failure = buildlog_consultant::sbuild::worker_failure_from_sbuild_log(&parsed).ok()?;
        failure.description
    })
    .ok()
    .flatten()
    .filter(|d| d != "build failed")
}

/// The `Key: value` lines of the summary section, up to the rule below them.
pub fn parse_summary(lines: &[&str]) -> Summary {
    let mut fields = BTreeMap::new();
    for line in lines {
        let line = line.trim_end();
        if line.starts_with("----") {
            break;
        }
        if let Some((k, v)) = line.split_once(": ") {
            fields.insert(k.to_string(), v.trim().to_string());
        }
    }
    Summary { fields }
}

fn lines_matching(text: &str, pred: impl Fn(&str) -> bool) -> Vec<&str> {
    text.lines().filter(|l| pred(l)).collect()
}

/// The unsatisfiable build-dependencies named by dose3's explanation
/// (`unsat-dependency:`) or, without it, by apt's "unmet dependencies".
fn missing_build_deps(log: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |dep: String| {
        if !dep.is_empty() && !out.contains(&dep) {
            out.push(dep);
        }
    };
    let dose: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim().strip_prefix("unsat-dependency: "))
        .collect();
    if !dose.is_empty() {
        for d in dose {
            push(strip_arch_qualifier(d.trim()));
        }
        return out;
    }
    let mut in_block = false;
    for line in log.lines() {
        if line.starts_with("The following packages have unmet dependencies:") {
            in_block = true;
            continue;
        }
        if in_block {
            if line.starts_with("E: ") || line.trim().is_empty() {
                in_block = false;
                continue;
            }
            // apt also lists the satisfiable dependencies of the broken
            // package, without a "but …" reason; only those with one are missing.
            if let Some((_, dep)) = line.split_once("Depends: ")
                && let Some((dep, _why)) = dep.split_once(" but ")
            {
                push(dep.trim().to_string());
            }
        }
    }
    out
}

/// `libfoo-dev:arm64 (>= 1)` → `libfoo-dev (>= 1)`.
fn strip_arch_qualifier(dep: &str) -> String {
    let (name, rest) = dep.split_once(' ').unwrap_or((dep, ""));
    let name = name.split(':').next().unwrap_or(name);
    if rest.is_empty() {
        name.to_string()
    } else {
        format!("{name} {rest}")
    }
}

/// Whether the build stopped in its test suite: debhelper's `dh_auto_test`
/// failed, or a CTest/Automake/`make check` failure report is in the log.
fn test_suite_failed(build: &str) -> bool {
    build.lines().any(|l| {
        l.starts_with("dh_auto_test: error:")
            || l.starts_with("The following tests FAILED:")
            || l.starts_with("Errors while running CTest")
            || (l.contains("***") && (l.contains(" check") || l.contains("check-am")))
    })
}

fn test_errors(build: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_ctest = false;
    for line in build.lines() {
        let t = line.trim_end();
        if t.starts_with("The following tests FAILED:") {
            in_ctest = true;
            out.push(t.to_string());
            continue;
        }
        if in_ctest {
            if t.trim().is_empty() || !line.starts_with(['\t', ' ']) {
                in_ctest = false;
            } else {
                out.push(t.trim().to_string());
                continue;
            }
        }
        if t.starts_with("FAIL: ")
            || t.starts_with("ERROR: ")
            || t.starts_with("dh_auto_test: error:")
        {
            out.push(t.to_string());
        }
    }
    out.truncate(MAX_ERRORS);
    out
}

/// The first lines that say what went wrong: compiler errors first, then
/// make's `***` lines and debhelper's errors.
fn error_lines(text: &str) -> Vec<String> {
    let compiler: Vec<&str> = lines_matching(text, |l| {
        l.contains(": error: ") || l.contains(": fatal error: ") || l.starts_with("E: ")
    })
    .into_iter()
    .filter(|l| !l.starts_with("dpkg-buildpackage:") && !l.starts_with("dh_"))
    .collect();
    let make: Vec<&str> = lines_matching(text, |l| {
        (l.starts_with("make") && l.contains("***")) || l.starts_with("dh_")
    });
    compiler
        .into_iter()
        .chain(make)
        .map(|l| l.trim_end().to_string())
        .take(MAX_ERRORS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Analysis {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/buildlogs")
            .join(name);
        classify_file(&path).unwrap()
    }

    #[test]
    fn a_successful_build_is_ok_with_its_times() {
        let a = fixture("ok.build");
        assert_eq!(a.outcome, Outcome::Ok);
        let s = a.summary.unwrap();
        assert_eq!(s.status(), Some("successful"));
        assert_eq!(s.build_time(), Some(18));
        assert_eq!(s.package_time(), Some(30));
        assert_eq!(s.fail_stage(), None);
    }

    #[test]
    fn real_sbuild_logs_of_the_demo_stack_are_ok() {
        // Written by sbuild 0.89 (unshare mode) on this host: an arch:all
        // build and a riscv64 build under qemu-user.
        for name in ["real-ok-arch-all.build", "real-ok-riscv64-qemu.build"] {
            let a = fixture(name);
            assert_eq!(a.outcome, Outcome::Ok, "{name}");
            assert!(a.summary.unwrap().build_time().is_some(), "{name}");
        }
    }

    #[test]
    fn real_failures_made_by_sbuild_on_this_host() {
        // tests/fixtures/buildlogs/sources/ holds the three source packages;
        // the logs are what `sbuild --chroot-mode=unshare` wrote for them.
        assert_eq!(
            fixture("real-bdfail.build").outcome,
            Outcome::BuildDepUnsatisfiable {
                missing: vec!["libcascade-does-not-exist-dev (>= 7.2)".into()]
            }
        );
        let Outcome::Failed { stage, errors } = fixture("real-buildfail.build").outcome else {
            panic!("not a build failure")
        };
        assert_eq!(stage, "build");
        assert!(
            errors[0].starts_with("hello.c:2:17: error: implicit declaration"),
            "{errors:?}"
        );
        let Outcome::TestFailed { errors } = fixture("real-testfail.build").outcome else {
            panic!("not a test failure")
        };
        assert_eq!(
            errors,
            [
                "FAIL: test_precision",
                "dh_auto_test: error: make -j2 check returned exit code 2"
            ]
        );
    }

    #[test]
    fn a_compiler_error_is_a_build_failure_with_the_first_errors() {
        let a = fixture("build-failed.build");
        let Outcome::Failed { stage, errors } = a.outcome else {
            panic!("{:?}", a.outcome)
        };
        assert_eq!(stage, "build");
        assert!(
            errors[0].contains("signal.c:42:5: error: implicit declaration"),
            "{errors:?}"
        );
        assert!(errors[1].contains("HSA_WAIT_STATE_ACTIVE"), "{errors:?}");
        assert!(
            errors.iter().any(|e| e.starts_with("make[2]: ***")),
            "{errors:?}"
        );
        assert!(errors.len() <= MAX_ERRORS);
    }

    #[test]
    fn a_failing_ctest_suite_is_a_test_failure() {
        let a = fixture("test-failed.build");
        let Outcome::TestFailed { errors } = a.outcome else {
            panic!("{:?}", a.outcome)
        };
        assert_eq!(errors[0], "The following tests FAILED:");
        assert_eq!(errors[1], "2 - solver_precision (Failed)");
        assert!(errors.iter().any(|e| e.starts_with("dh_auto_test: error:")));
    }

    #[test]
    fn a_failing_make_check_is_a_test_failure() {
        let a = fixture("make-check-failed.build");
        let Outcome::TestFailed { errors } = a.outcome else {
            panic!("{:?}", a.outcome)
        };
        assert_eq!(errors[0], "FAIL: test_power_cap");
    }

    #[test]
    fn apt_names_the_unsatisfiable_build_dependencies() {
        let a = fixture("bd-uninstallable.build");
        assert_eq!(
            a.outcome,
            Outcome::BuildDepUnsatisfiable {
                missing: vec![
                    "librocr-demo-dev (>= 7.2.4)".into(),
                    "rocm-cmake (>= 7.2)".into()
                ]
            }
        );
    }

    #[test]
    fn dose3_names_them_when_sbuild_ran_the_explainer() {
        let a = fixture("dose3-unsatisfiable.build");
        assert_eq!(
            a.outcome,
            Outcome::BuildDepUnsatisfiable {
                missing: vec!["libhipblas-demo-dev (>= 7.2.4)".into()]
            }
        );
    }

    #[test]
    fn an_arch_check_refusal_is_an_exclusion() {
        let a = fixture("arch-check.build");
        assert_eq!(
            a.outcome,
            Outcome::Excluded {
                reason: NotBuiltReason::Excluded("dsc: riscv64 not in arch list or does not match any arch wildcards: amd64 arm64 ppc64el -- skipping".into())
            }
        );
    }

    #[test]
    fn a_missing_source_fails_at_fetch_src() {
        let a = fixture("fetch-src.build");
        let Outcome::Failed { stage, errors } = a.outcome else {
            panic!("{:?}", a.outcome)
        };
        assert_eq!(stage, "fetch-src");
        assert!(errors[0].starts_with("E: Could not find"), "{errors:?}");
    }

    #[test]
    fn sbuilds_inactivity_kill_is_a_timeout() {
        assert_eq!(
            fixture("inactivity-timeout.build").outcome,
            Outcome::Timeout
        );
    }

    #[test]
    fn a_log_without_summary_is_an_unknown_failure() {
        let a = fixture("truncated.build");
        assert!(matches!(a.outcome, Outcome::Failed { ref stage, .. } if stage == "unknown"));
        assert!(a.summary.is_none());
        assert_eq!(
            classify("").outcome.class(),
            "failed",
            "an empty log is no success"
        );
    }
}

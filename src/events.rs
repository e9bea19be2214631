//! The typed events the runner emits, and the result of one build (a
//! test's is `autopkgtest::TestCell`).
//!
//! Reporters (text, JSON, JUnit, HTML) consume these; the runner never prints.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::arch::Arch;

/// How one package × arch ended. Serialised with a `class` tag; the names are
/// part of report.json's schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "kebab-case")]
pub enum Outcome {
    /// Built; .debs are in the run directory.
    Ok,
    /// sbuild could not install the build-dependencies.
    BuildDepUnsatisfiable {
        missing: Vec<String>,
    },
    /// Failed at an sbuild stage (fetch-src, install-deps, build, arch-check,
    /// post-build) with the first error lines of the log.
    Failed {
        stage: String,
        errors: Vec<String>,
    },
    /// The build's test suite (dh_auto_test) failed.
    TestFailed {
        errors: Vec<String>,
    },
    Timeout,
    Cancelled,
    /// Not built on this arch (the source's Architecture list, or a
    /// build-dependency that cannot be built there).
    Excluded {
        reason: NotBuiltReason,
    },
    /// Not attempted because a dependency failed.
    Skipped {
        dependency: String,
        arch: Arch,
    },
}

impl Outcome {
    /// Whether this outcome is a failure of the package itself.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::BuildDepUnsatisfiable { .. }
                | Outcome::Failed { .. }
                | Outcome::TestFailed { .. }
                | Outcome::Timeout
        )
    }

    /// The short class name used in tables and JSON.
    pub fn class(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::BuildDepUnsatisfiable { .. } => "build-dep-unsatisfiable",
            Outcome::Failed { .. } => "failed",
            Outcome::TestFailed { .. } => "test-failed",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
            Outcome::Excluded { .. } => "excluded",
            Outcome::Skipped { .. } => "skipped",
        }
    }
}

/// Why a source × arch is not built: excluded (its packaging or its recipe
/// leaves the arch out) or blocked (the archive, a cycle or a job the run
/// lacks is in the way).
///
/// Saved as one string, as plan.json and the results have always said it: an
/// exclusion's reason as it stands, a blocked one after `blocked: `. Loading
/// is the one place that reads the prefix; every rule matches the variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum NotBuiltReason {
    Excluded(String),
    Blocked(String),
}

impl NotBuiltReason {
    const BLOCKED: &str = "blocked: ";

    pub fn is_blocked(&self) -> bool {
        matches!(self, NotBuiltReason::Blocked(_))
    }

    /// The reason, without the `blocked: ` of the saved form.
    pub fn text(&self) -> &str {
        match self {
            NotBuiltReason::Excluded(why) | NotBuiltReason::Blocked(why) => why,
        }
    }

    /// Adds ` (note)` to the reason.
    pub fn add_note(&mut self, note: &str) {
        match self {
            NotBuiltReason::Excluded(why) | NotBuiltReason::Blocked(why) => {
                why.push_str(&format!(" ({note})"))
            }
        }
    }
}

impl From<String> for NotBuiltReason {
    fn from(saved: String) -> NotBuiltReason {
        match saved.strip_prefix(NotBuiltReason::BLOCKED) {
            Some(why) => NotBuiltReason::Blocked(why.to_string()),
            None => NotBuiltReason::Excluded(saved),
        }
    }
}

impl From<NotBuiltReason> for String {
    fn from(r: NotBuiltReason) -> String {
        r.to_string()
    }
}

/// The saved form: `blocked: ` before a blocked reason.
impl std::fmt::Display for NotBuiltReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotBuiltReason::Excluded(why) => f.write_str(why),
            NotBuiltReason::Blocked(why) => write!(f, "{}{why}", NotBuiltReason::BLOCKED),
        }
    }
}

/// The record of one package × arch in a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BuildResult {
    pub source: String,
    pub arch: Arch,
    pub version: String,
    pub outcome: Outcome,
    /// The recipe's reason when this arch is expected to fail.
    pub expected_failure: Option<String>,
    pub log: Option<PathBuf>,
    pub duration_secs: f64,
    /// The .deb files this build produced.
    pub debs: Vec<PathBuf>,
    /// True when the result was taken from an earlier run with identical inputs.
    pub reused: bool,
    /// Where the build's time went and ccache's counters (sbuild builds).
    /// (Boxed: most results, the ones never built, have none.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Box<crate::timing::BuildStats>>,
}

impl BuildResult {
    /// The record of a package × arch that was never built (excluded by the
    /// plan, for instance): no log, no .debs, no time.
    pub fn not_built(source: &str, arch: Arch, version: &str, outcome: Outcome) -> BuildResult {
        BuildResult {
            source: source.to_string(),
            arch,
            version: version.to_string(),
            outcome,
            expected_failure: None,
            log: None,
            duration_secs: 0.0,
            debs: Vec::new(),
            reused: false,
            stats: None,
        }
    }

    /// The one record of a build not attempted because the build of
    /// `dependency` on `dependency_arch`, a stack dependency, failed (or,
    /// transitively, the failure behind it).
    pub fn skipped(
        source: &str,
        arch: Arch,
        version: &str,
        dependency: &str,
        dependency_arch: &Arch,
    ) -> BuildResult {
        let outcome = Outcome::Skipped {
            dependency: dependency.to_string(),
            arch: dependency_arch.clone(),
        };
        BuildResult::not_built(source, arch, version, outcome)
    }

    /// A failure the recipes did not expect.
    pub fn is_unexpected_failure(&self) -> bool {
        self.outcome.is_failure() && self.expected_failure.is_none()
    }
}

/// What happens during a run, in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted {
        run_dir: PathBuf,
        total: usize,
        jobs: usize,
    },
    BuildStarted {
        source: String,
        arch: Arch,
        version: String,
    },
    BuildFinished {
        result: BuildResult,
    },
    /// A test job (`teststage`) starts: the tests of `source/arch`'s build.
    TestStarted {
        source: String,
        arch: Arch,
        version: String,
    },
    /// A test job ended, was reused, or will not run (its build failed:
    /// status `not-built`; Ctrl-C: `cancelled`).
    TestFinished {
        cell: Box<crate::autopkgtest::TestCell>,
    },
    RunFinished {
        results: Vec<BuildResult>,
        duration_secs: f64,
    },
}

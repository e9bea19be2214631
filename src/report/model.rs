//! The data every reporter renders: a run's results as a package × arch
//! matrix, its counts, and the comparison with an earlier run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::autopkgtest::{TestCell, TestClass};
use crate::events::{BuildResult, Outcome};

/// The `schema` value of report.json; bumped on incompatible changes
/// (2: the test stage's cells, `tests`).
pub const SCHEMA: &str = "cascade-report/2";

/// The schemas [`Report::load`] reads: a `/1` report has no `tests`.
const READS: [&str; 2] = ["cascade-report/1", SCHEMA];

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error("{path}: not a cascade report: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: report schema `{found}` is not `{SCHEMA}`")]
    Schema { path: PathBuf, found: String },
    #[error(
        "{0}: neither report.json, state.json nor results/ is there; is it a cascade run directory?"
    )]
    NotARun(PathBuf),
    #[error(transparent)]
    State(#[from] crate::state::Error),
    #[error(transparent)]
    Plan(#[from] super::planned::Error),
    #[error("writing JUnit XML: {0}")]
    Junit(String),
}

/// What a cell of the matrix shows: the outcome's class, except that a
/// failure the recipe expects is `expected-failure`.
pub fn display_class(r: &BuildResult) -> &'static str {
    match &r.outcome {
        _ if r.expected_failure.is_some() && r.outcome.is_failure() => "expected-failure",
        // The plan's blocked sources come as blocked exclusions: the cell
        // says the same word as the detail line.
        Outcome::Excluded { reason } if reason.is_blocked() => "blocked",
        o => o.class(),
    }
}

/// The exit code of a command that built or reports `results`: 1 when
/// anything failed that the recipes did not expect, else 0.
pub fn exit_code(results: &[BuildResult]) -> std::process::ExitCode {
    if results.iter().any(BuildResult::is_unexpected_failure) {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

/// Every class, in legend order, with what it means.
pub const CLASSES: &[(&str, &str)] = &[
    ("ok", "built"),
    ("failed", "failed at an sbuild stage"),
    ("test-failed", "the test suite failed"),
    (
        "build-dep-unsatisfiable",
        "build-dependencies cannot be installed",
    ),
    ("timeout", "killed after the time limit"),
    ("expected-failure", "failed, as the recipe expects"),
    ("skipped", "not attempted: a dependency failed"),
    ("excluded", "not built for this architecture"),
    (
        "blocked",
        "not buildable here: a build-dependency is missing from the archive",
    ),
    ("cancelled", "cancelled (Ctrl-C or --fail-fast)"),
];

/// One line of the details: why a cell is not plain ok.
pub fn explain(r: &BuildResult) -> String {
    let base = explain_outcome(&r.outcome);
    match &r.expected_failure {
        Some(why) if r.outcome.is_failure() => format!("{base} (expected: {why})"),
        Some(why) => {
            format!("{base}, but the recipe expects a failure ({why}): drop the expectation")
        }
        None => base,
    }
}

/// What an outcome says, in one line (`failed at build: error: …`).
pub fn explain_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok => "built".to_string(),
        Outcome::BuildDepUnsatisfiable { missing } if missing.is_empty() => {
            "build-dependencies unsatisfiable".to_string()
        }
        Outcome::BuildDepUnsatisfiable { missing } => {
            format!("build-dependencies unsatisfiable: {}", missing.join(", "))
        }
        Outcome::Failed { stage, errors } => match errors.first() {
            Some(e) => format!("failed at {stage}: {e}"),
            None => format!("failed at {stage}"),
        },
        Outcome::TestFailed { errors } => match errors.iter().find(|e| !e.ends_with(':')) {
            Some(e) => format!("test suite failed: {e}"),
            None => "test suite failed".to_string(),
        },
        Outcome::Timeout => "timed out".to_string(),
        Outcome::Cancelled => "cancelled".to_string(),
        // The plan's blocked sources are not built either; their reason
        // says `blocked: …` itself.
        Outcome::Excluded { reason } if reason.is_blocked() => reason.to_string(),
        Outcome::Excluded { reason } => format!("excluded: {reason}"),
        Outcome::Skipped { dependency, arch } => {
            format!("skipped: dependency {dependency} failed on {arch}")
        }
    }
}

/// `12s`, `3m05s`, `1h02m`.
pub fn format_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// A result that changed (or did not) between two runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub source: String,
    pub arch: String,
    pub old_class: Option<String>,
    pub new_class: String,
    pub old_version: Option<String>,
    pub new_version: String,
}

/// A run compared with an earlier one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Regressions {
    /// The earlier run directory (or report file).
    pub since: PathBuf,
    /// Failing now, not before (or new in this run).
    pub newly_failing: Vec<Change>,
    /// Failing before, built now.
    pub newly_fixed: Vec<Change>,
    pub still_failing: Vec<Change>,
    /// Built although the recipe expects a failure: drop the expectation.
    pub expectation_obsolete: Vec<Change>,
    /// Test cells that passed before and fail now (unexpectedly); a cell
    /// new in this run is none of these.
    #[serde(default)]
    pub tests_newly_failing: Vec<TestChange>,
    /// Test cells that failed before and pass now.
    #[serde(default)]
    pub tests_newly_fixed: Vec<TestChange>,
    /// Test cells that failed before and fail now.
    #[serde(default)]
    pub tests_still_failing: Vec<TestChange>,
}

/// A test cell (source × arch) that changed (or did not) between two runs,
/// with the autopkgtest tests that did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestChange {
    pub source: String,
    pub arch: String,
    pub old_status: String,
    pub new_status: String,
    pub old_version: String,
    pub new_version: String,
    /// The autopkgtest tests that passed before and fail now, unexpectedly.
    #[serde(default)]
    pub tests_failing: Vec<String>,
    /// The autopkgtest tests that failed before and pass now.
    #[serde(default)]
    pub tests_fixed: Vec<String>,
}

impl Regressions {
    pub fn is_empty(&self) -> bool {
        self.groups().iter().all(|list| list.is_empty())
            && self.test_groups().iter().all(|list| list.is_empty())
    }

    /// The test cells' changes by group, in the order every format lists
    /// them: newly failing, newly fixed, still failing.
    pub fn test_groups(&self) -> [&[TestChange]; 3] {
        [
            &self.tests_newly_failing,
            &self.tests_newly_fixed,
            &self.tests_still_failing,
        ]
    }

    /// The changes by group, in the order every format lists them: newly
    /// failing, newly fixed, still failing, expectation obsolete (each format
    /// titles them its way, zipping its titles with these).
    pub fn groups(&self) -> [&[Change]; 4] {
        [
            &self.newly_failing,
            &self.newly_fixed,
            &self.still_failing,
            &self.expectation_obsolete,
        ]
    }
}

/// Compares `new` with `old`, cell by cell. Failures are the package's own
/// (see [`Outcome::is_failure`]); expected failures count as failures for
/// old-versus-new, so a fix of an expected failure shows up as fixed too.
pub fn compare(old: &Report, new: &Report, since: &Path) -> Regressions {
    let old_cells: BTreeMap<(&str, &str), &BuildResult> = old
        .results
        .iter()
        .map(|r| ((r.source.as_str(), r.arch.as_str()), r))
        .collect();
    let mut reg = Regressions {
        since: since.to_path_buf(),
        ..Regressions::default()
    };
    for r in &new.results {
        let before = old_cells.get(&(r.source.as_str(), r.arch.as_str()));
        let change = Change {
            source: r.source.clone(),
            arch: r.arch.to_string(),
            old_class: before.map(|b| display_class(b).to_string()),
            new_class: display_class(r).to_string(),
            old_version: before.map(|b| b.version.clone()),
            new_version: r.version.clone(),
        };
        let was_bad = before.is_some_and(|b| b.outcome.is_failure());
        let is_bad = r.outcome.is_failure();
        if r.outcome == Outcome::Ok && r.expected_failure.is_some() {
            reg.expectation_obsolete.push(change.clone());
        }
        match (was_bad, is_bad) {
            (false, true) if r.expected_failure.is_none() => reg.newly_failing.push(change),
            (true, true) => reg.still_failing.push(change),
            (true, false) if r.outcome == Outcome::Ok => reg.newly_fixed.push(change),
            _ => {}
        }
    }
    compare_tests(old, new, &mut reg);
    reg
}

/// The titles of [`Regressions::test_groups`], as the formats say them.
pub const TEST_GROUP_TITLES: [&str; 3] = [
    "tests newly failing",
    "tests newly fixed",
    "tests still failing",
];

impl TestChange {
    /// `pass -> fail (numerics: pass -> fail)` with `arrow` between the
    /// statuses, then the autopkgtest tests that changed, by name.
    pub fn describe(&self, arrow: &str) -> String {
        let mut out = format!("{} {arrow} {}", self.old_status, self.new_status);
        let mut tests: Vec<String> = (self.tests_failing.iter())
            .map(|t| format!("{t}: pass {arrow} fail"))
            .collect();
        tests.extend((self.tests_fixed.iter()).map(|t| format!("{t}: fail {arrow} pass")));
        if !tests.is_empty() {
            out.push_str(&format!(" ({})", tests.join(", ")));
        }
        out
    }
}

/// A test cell's statuses that pass: tested, nothing unexpected.
const TEST_PASSES: [&str; 4] = ["pass", "skipped", "no-tests", "expected-fail"];

fn test_passed(cell: &TestCell) -> bool {
    cell.unexpected.is_empty() && TEST_PASSES.contains(&cell.status.as_str())
}

/// [`compare`]'s test cells: a cell that passed before and has `unexpected`
/// entries now is newly failing, the reverse newly fixed. A cell without
/// one before (new in this run, or an old report without tests) is neither.
fn compare_tests(old: &Report, new: &Report, reg: &mut Regressions) {
    for cell in &new.tests {
        let Some(before) = old.test_cell(&cell.source, cell.arch.as_str()) else {
            continue;
        };
        let change = TestChange {
            source: cell.source.clone(),
            arch: cell.arch.to_string(),
            old_status: before.status.clone(),
            new_status: cell.status.clone(),
            old_version: before.version.clone(),
            new_version: cell.version.clone(),
            tests_failing: tests_broken(before, cell),
            tests_fixed: tests_broken(cell, before),
        };
        let (was_bad, is_bad) = (!before.unexpected.is_empty(), !cell.unexpected.is_empty());
        match (was_bad, is_bad) {
            (false, true) if test_passed(before) => reg.tests_newly_failing.push(change),
            (true, true) => reg.tests_still_failing.push(change),
            (true, false) if test_passed(cell) => reg.tests_newly_fixed.push(change),
            _ => {}
        }
    }
}

fn test_results(cell: &TestCell) -> impl Iterator<Item = &crate::autopkgtest::TestResult> {
    cell.autopkgtest.iter().flat_map(|j| &j.tests)
}

/// The names of the autopkgtest tests that pass in `passing_in` and fail
/// unexpectedly in `failing_in`.
fn tests_broken(passing_in: &TestCell, failing_in: &TestCell) -> Vec<String> {
    let passed: Vec<&str> = (test_results(passing_in))
        .filter(|t| t.class == TestClass::Pass)
        .map(|t| t.name.as_str())
        .collect();
    (test_results(failing_in))
        .filter(|t| t.is_unexpected_failure() && passed.contains(&t.name.as_str()))
        .map(|t| t.name.clone())
        .collect()
}

/// A run's report: what report.json holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    /// The stack's name (`rocm-7.2.4`), if known.
    pub stack: Option<String>,
    pub run_dir: PathBuf,
    pub duration_secs: f64,
    /// Counts per display class, and `unexpected-failures`.
    pub counts: BTreeMap<String, usize>,
    pub results: Vec<BuildResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regressions: Option<Regressions>,
    /// The test stage's cells (`RUNDIR/tests/PKG_ARCH/result.json`), by
    /// source and arch; none when the run was not tested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestCell>,
}

impl Report {
    /// A report over results, in the order given (the plan's order reads best).
    pub fn new(
        stack: Option<String>,
        run_dir: PathBuf,
        duration_secs: f64,
        results: Vec<BuildResult>,
    ) -> Report {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &results {
            *counts.entry(display_class(r).to_string()).or_default() += 1;
        }
        counts.insert(
            "unexpected-failures".into(),
            results.iter().filter(|r| r.is_unexpected_failure()).count(),
        );
        Report {
            schema: SCHEMA.to_string(),
            stack,
            run_dir,
            duration_secs,
            counts,
            results,
            regressions: None,
            tests: Vec::new(),
        }
    }

    /// This report with the test stage's `tests`; the counts gain
    /// `tested` and `unexpected-test-failures`.
    pub fn with_tests(mut self, mut tests: Vec<TestCell>) -> Report {
        if !tests.is_empty() {
            let failed = tests.iter().filter(|t| !t.unexpected.is_empty()).count();
            self.counts.insert("tested".into(), tests.len());
            self.counts
                .insert("unexpected-test-failures".into(), failed);
        }
        tests.sort_by(|a, b| (&a.source, &a.arch).cmp(&(&b.source, &b.arch)));
        self.tests = tests;
        self
    }

    /// The test cell of `source` on `arch` (the build job's arch).
    pub fn test_cell(&self, source: &str, arch: &str) -> Option<&TestCell> {
        self.tests
            .iter()
            .find(|t| t.source == source && t.arch.as_str() == arch)
    }

    /// Reads a report.json.
    pub fn load(path: &Path) -> Result<Report, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| Error::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        let found = value
            .get("schema")
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        if !READS.contains(&found.as_str()) {
            return Err(Error::Schema {
                path: path.to_path_buf(),
                found,
            });
        }
        serde_json::from_value(value).map_err(|source| Error::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The report of a run directory (its report.json, else its state.json,
    /// else its `results/*.json` as CI build jobs leave them, completed by
    /// its `plan.json` when it has one), or of a report.json given directly.
    /// Its test cells are read from `RUNDIR/tests/` when there are any
    /// (fresher than a report.json written before `cascade test`).
    pub fn from_run(path: &Path) -> Result<Report, Error> {
        if path.is_file() {
            return Report::load(path);
        }
        let report = Report::builds_of_run(path)?;
        let tests = read_test_cells(path)?;
        Ok(if tests.is_empty() {
            report
        } else {
            report.with_tests(tests)
        })
    }

    /// [`Report::from_run`]'s builds.
    fn builds_of_run(path: &Path) -> Result<Report, Error> {
        let dir = crate::rundir::RunDir::new(path);
        let json = dir.report_json();
        if json.is_file() {
            return Report::load(&json);
        }
        if dir.state().is_file() {
            let state = crate::state::RunState::load(path)?;
            let duration = state.entries.values().map(|e| e.result.duration_secs).sum();
            return Ok(Report::new(
                None,
                path.to_path_buf(),
                duration,
                state.results(),
            ));
        }
        // A CI report job: every build job's `results/PKG_ARCH.json`. GitLab
        // never starts the dependents of a failed job, so they leave none:
        // the pipeline's plan names what is missing.
        let results_dir = dir.results();
        if results_dir.is_dir() {
            let mut results = read_results_dir(&results_dir)?;
            if let Some(plan) = super::planned::RunPlan::load(path)? {
                results = plan.complete(results);
            }
            let duration = results.iter().map(|r| r.duration_secs).sum();
            return Ok(Report::new(None, path.to_path_buf(), duration, results));
        }
        Err(Error::NotARun(path.to_path_buf()))
    }

    /// 1 when anything failed that the recipes did not expect, a build or
    /// a test, else 0: `cascade report`'s exit code.
    pub fn exit_code(&self) -> std::process::ExitCode {
        if self.has_unexpected_failures() {
            std::process::ExitCode::from(1)
        } else {
            std::process::ExitCode::SUCCESS
        }
    }

    /// Whether anything failed that the recipes did not expect, a build or
    /// a test: the exit code.
    pub fn has_unexpected_failures(&self) -> bool {
        self.results.iter().any(|r| r.is_unexpected_failure())
            || self.tests.iter().any(|t| !t.unexpected.is_empty())
    }

    /// The columns: architectures in order of appearance, `all` first.
    pub fn archs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.results {
            let a = r.arch.to_string();
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out.sort_by_key(|a| (a != "all", a.clone()));
        out
    }

    /// The rows: source packages in order of appearance.
    pub fn packages(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.results {
            if !out.contains(&r.source) {
                out.push(r.source.clone());
            }
        }
        out
    }

    pub fn cell(&self, source: &str, arch: &str) -> Option<&BuildResult> {
        self.results
            .iter()
            .find(|r| r.source == source && r.arch.as_str() == arch)
    }

    /// The version most cells of a row show (the row's label).
    pub fn row_version(&self, source: &str) -> String {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for r in self.results.iter().filter(|r| r.source == source) {
            *seen.entry(&r.version).or_default() += 1;
        }
        seen.into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(v, _)| v.to_string())
            .unwrap_or_default()
    }

    /// Results that are not plain successes, for the details under a table.
    pub fn not_ok(&self) -> Vec<&BuildResult> {
        self.results
            .iter()
            .filter(|r| r.outcome != Outcome::Ok || r.expected_failure.is_some())
            .collect()
    }

    /// One line of counts: `12 ok, 1 failed, 2 skipped`.
    pub fn counts_line(&self) -> String {
        let mut parts = Vec::new();
        for (class, _) in CLASSES {
            if let Some(n) = self.counts.get(*class).filter(|n| **n > 0) {
                parts.push(format!("{n} {class}"));
            }
        }
        if parts.is_empty() {
            "nothing built".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// What a test cell shows: its status, then the tests that did not pass
/// (`fail: numerics fail, gpu skip`), then lintian's failing verdict.
pub fn test_summary(cell: &TestCell) -> String {
    let mut out = cell.status.clone();
    let others: Vec<String> = (cell.autopkgtest.iter().flat_map(|j| &j.tests))
        .filter(|t| t.class != crate::autopkgtest::TestClass::Pass)
        .map(|t| format!("{} {}", t.name, t.class.as_str()))
        .collect();
    if !others.is_empty() && cell.autopkgtest.iter().any(|j| j.tests.len() > 1) {
        out.push_str(&format!(": {}", others.join(", ")));
    }
    if cell.lintian.as_ref().is_some_and(|l| l.fails) {
        out.push_str(" (lintian fails)");
    }
    out
}

impl Report {
    /// One line of the test cells' statuses (`7 tested: 2 pass, 1 skipped,
    /// 4 no-tests`); none when nothing was tested.
    pub fn tests_line(&self) -> Option<String> {
        if self.tests.is_empty() {
            return None;
        }
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &self.tests {
            *by.entry(t.status.as_str()).or_default() += 1;
        }
        let parts: Vec<String> = by.iter().map(|(s, n)| format!("{n} {s}")).collect();
        Some(format!("{} tested: {}", self.tests.len(), parts.join(", ")))
    }

    /// The test cells with something unexpected, in report order.
    pub fn failed_tests(&self) -> Vec<&TestCell> {
        self.tests
            .iter()
            .filter(|t| !t.unexpected.is_empty())
            .collect()
    }
}

/// The test stage's cells of the run in `run_dir` (`tests/*/result.json`),
/// none when it was not tested.
pub fn read_test_cells(run_dir: &Path) -> Result<Vec<TestCell>, Error> {
    let dir = crate::rundir::RunDir::new(run_dir).tests();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io(crate::fsio::IoError::new(dir, source))),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| Some(e.ok()?.path().join("result.json")))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files.into_iter().map(|path| read_json(&path)).collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source)))?;
    serde_json::from_str(&text).map_err(|source| Error::Parse {
        path: path.to_path_buf(),
        source,
    })
}

/// Every `*.json` in `dir`, one `BuildResult` each, by file name.
pub fn read_results_dir(dir: &Path) -> Result<Vec<BuildResult>, Error> {
    let files = crate::fsio::json_files(dir)?;
    files.into_iter().map(|path| read_json(&path)).collect()
}

/// `path` as seen from the directory `from`: logs are linked relative to the
/// report so the run directory can be moved or served as CI artifacts.
pub fn relative_to(path: &Path, from: &Path) -> PathBuf {
    if path.is_absolute() != from.is_absolute() {
        return path.to_path_buf();
    }
    let p: Vec<_> = path.components().collect();
    let f: Vec<_> = from.components().collect();
    let common = p.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Hand-made results for the reporters' snapshot tests.
    use super::*;
    use crate::arch::Arch;

    fn r(source: &str, arch: &str, outcome: Outcome, secs: f64) -> BuildResult {
        let ver = "7.2.4-1~exp1";
        let ok = outcome == Outcome::Ok;
        let built = !matches!(
            outcome,
            Outcome::Skipped { .. } | Outcome::Excluded { .. } | Outcome::Cancelled
        );
        BuildResult {
            source: source.into(),
            arch: Arch::new(arch).unwrap(),
            version: ver.into(),
            outcome,
            expected_failure: None,
            log: built.then(|| PathBuf::from(format!("/srv/run/logs/{source}_{ver}_{arch}.build"))),
            duration_secs: secs,
            debs: if ok {
                vec![PathBuf::from(format!(
                    "/srv/run/out/{source}_{ver}_{arch}/lib{source}_{ver}_{arch}.deb"
                ))]
            } else {
                Vec::new()
            },
            reused: false,
            stats: None,
        }
    }

    /// A demo-stack run on amd64 and riscv64.
    pub fn demo() -> Report {
        let amd64 = Arch::new("amd64").unwrap();
        let mut results = vec![
            r("rocm-cmake-demo", "all", Outcome::Ok, 14.0),
            r("rocr-demo", "amd64", Outcome::Ok, 95.0),
            r(
                "rocr-demo",
                "riscv64",
                Outcome::Failed {
                    stage: "build".into(),
                    errors: vec![
                        "src/signal.c:42:5: error: implicit declaration of function '__builtin_amdgcn_s_sleep'".into(),
                        "make[2]: *** [CMakeFiles/hsa.dir/build.make:79: signal.c.o] Error 1".into(),
                    ],
                },
                412.0,
            ),
            r("rocblas-demo", "amd64", Outcome::Ok, 3725.0),
            r(
                "rocblas-demo",
                "riscv64",
                Outcome::Skipped {
                    dependency: "rocr-demo".into(),
                    arch: Arch::new("riscv64").unwrap(),
                },
                0.0,
            ),
            r("hipsolver-demo", "amd64", Outcome::Ok, 61.0),
            r(
                "hipsolver-demo",
                "riscv64",
                Outcome::TestFailed {
                    errors: vec![
                        "The following tests FAILED:".into(),
                        "2 - solver_precision (Failed)".into(),
                    ],
                },
                80.0,
            ),
            r("llvm-demo", "amd64", Outcome::Ok, 7.0),
            r(
                "llvm-demo",
                "riscv64",
                Outcome::Excluded {
                    reason: crate::events::NotBuiltReason::Excluded("Architecture: amd64 arm64 ppc64el".into()),
                },
                0.0,
            ),
        ];
        results[6].expected_failure = Some("long double precision, #1099".into());
        results[5].reused = true;
        let _ = amd64;
        Report::new(
            Some("demo".into()),
            PathBuf::from("/srv/run"),
            4321.0,
            results,
        )
    }

    /// A test cell of `source` on amd64 with these autopkgtest tests.
    pub fn test_cell(
        source: &str,
        status: &str,
        verdict: crate::autopkgtest::Verdict,
        tests: &[(&str, crate::autopkgtest::TestClass)],
    ) -> TestCell {
        use crate::autopkgtest::{Judged, TestResult};
        let tests: Vec<TestResult> = (tests.iter())
            .map(|(name, class)| TestResult {
                name: name.to_string(),
                class: *class,
                detail: String::new(),
                expected: None,
            })
            .collect();
        let judged = Judged {
            verdict,
            tests,
            problems: vec![],
        };
        TestCell {
            status: status.into(),
            exit_code: Some(0),
            ..judged_cell(source, "7.2.4-1~exp1", judged)
        }
    }

    /// The test cell autopkgtest's `judged` outcome makes of `source`
    /// `version` on amd64 (its status, its unexpected failures; exit code
    /// 0, 30 s, no lintian).
    pub fn judged_cell(
        source: &str,
        version: &str,
        judged: crate::autopkgtest::Judged,
    ) -> TestCell {
        TestCell {
            source: source.into(),
            arch: Arch::new("amd64").unwrap(),
            test_arch: Arch::new("amd64").unwrap(),
            version: version.into(),
            status: judged.status().into(),
            exit_code: Some(0),
            duration_secs: 30.0,
            detail: None,
            unexpected: judged.unexpected(),
            autopkgtest: Some(judged),
            lintian: None,
            input_hash: None,
            reused: false,
        }
    }

    /// [`demo`] with its test stage: rocr-demo's two tests pass on amd64,
    /// rocblas-demo's GPU test is skipped, hipsolver-demo's `numerics`
    /// fails on amd64 (unexpected).
    pub fn demo_tested() -> Report {
        use crate::autopkgtest::{TestClass, Verdict};
        let pass = [("headers", TestClass::Pass), ("smoke", TestClass::Pass)];
        let gpu = [("gpu", TestClass::Skip)];
        let failing = [("numerics", TestClass::Fail), ("cli", TestClass::Pass)];
        demo().with_tests(vec![
            test_cell("rocr-demo", "pass", Verdict::Pass, &pass),
            test_cell("rocblas-demo", "skipped", Verdict::NoTests, &gpu),
            test_cell("hipsolver-demo", "fail", Verdict::Fail, &failing),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::events::NotBuiltReason;

    #[test]
    fn counts_and_classes() {
        let rep = fixtures::demo();
        assert_eq!(rep.counts["ok"], 5);
        assert_eq!(rep.counts["expected-failure"], 1);
        assert_eq!(rep.counts["unexpected-failures"], 1);
        assert!(rep.has_unexpected_failures());
        assert_eq!(rep.archs(), ["all", "amd64", "riscv64"]);
        assert_eq!(rep.packages()[0], "rocm-cmake-demo");
        assert_eq!(
            rep.counts_line(),
            "5 ok, 1 failed, 1 expected-failure, 1 skipped, 1 excluded"
        );
    }

    #[test]
    fn the_exit_code_ignores_expected_failures() {
        let mut rep = fixtures::demo();
        assert_eq!(exit_code(&rep.results), std::process::ExitCode::from(1));
        rep.results[2].expected_failure = Some("known".into());
        assert_eq!(exit_code(&rep.results), std::process::ExitCode::SUCCESS);
    }

    #[test]
    fn a_blocked_source_reads_blocked_not_excluded_blocked() {
        let not_built = |reason: &str| {
            BuildResult::not_built(
                "demo-apps",
                crate::arch::Arch::new("riscv64").unwrap(),
                "1-1",
                Outcome::Excluded {
                    reason: NotBuiltReason::from(reason.to_string()),
                },
            )
        };
        assert_eq!(
            explain(&not_built(
                "blocked: missing from the archive: libdemokernels-dev"
            )),
            "blocked: missing from the archive: libdemokernels-dev"
        );
        assert_eq!(
            explain(&not_built("Architecture: amd64")),
            "excluded: Architecture: amd64"
        );
    }

    #[test]
    fn a_blocked_cell_says_blocked_in_every_format() {
        let mut rep = fixtures::demo();
        let reason = "blocked: missing from the archive: libdemokernels-dev";
        let r = BuildResult::not_built(
            "demo-apps",
            crate::arch::Arch::new("riscv64").unwrap(),
            "1-1",
            Outcome::Excluded {
                reason: NotBuiltReason::from(reason.to_string()),
            },
        );
        assert_eq!(display_class(&r), "blocked");
        rep.results.push(r);
        let rep = Report::new(
            rep.stack.clone(),
            rep.run_dir.clone(),
            rep.duration_secs,
            rep.results,
        );
        assert_eq!(rep.counts.get("blocked"), Some(&1), "{:?}", rep.counts);
        assert!(
            rep.counts_line().contains("1 blocked"),
            "{}",
            rep.counts_line()
        );
        let text = crate::report::text::render(&rep, false);
        let md = crate::report::markdown::render(&rep);
        let html = crate::report::html::render(&rep, Path::new("."));
        let junit = crate::report::junit::render(&rep).unwrap();
        for (name, out) in [("text", &text), ("markdown", &md), ("html", &html)] {
            let cell = out.lines().find(|l| l.contains("demo-apps")).unwrap();
            assert!(
                cell.contains("blocked") && !cell.contains("excluded"),
                "{name}: {cell}"
            );
        }
        assert!(html.contains("c-blocked"), "{html}");
        assert!(junit.contains("message=\"blocked: missing"), "{junit}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(7.4), "7s");
        assert_eq!(format_duration(125.0), "2m05s");
        assert_eq!(format_duration(3725.0), "1h02m");
    }

    #[test]
    fn paths_relative_to_the_report() {
        assert_eq!(
            relative_to(Path::new("/srv/run/logs/a.build"), Path::new("/srv/run")),
            PathBuf::from("logs/a.build")
        );
        assert_eq!(
            relative_to(Path::new("/srv/run/logs/a.build"), Path::new("/srv/public")),
            PathBuf::from("../run/logs/a.build")
        );
    }

    #[test]
    fn comparing_two_runs() {
        let old = fixtures::demo();
        let mut new = fixtures::demo();
        // rocr-demo/riscv64 fixed; rocblas-demo/amd64 broke; the expected
        // failure of hipsolver-demo/riscv64 now passes.
        new.results[2].outcome = Outcome::Ok;
        new.results[3].outcome = Outcome::Timeout;
        new.results[6].outcome = Outcome::Ok;
        let reg = compare(&old, &new, Path::new("/srv/old"));
        let names = |v: &[Change]| {
            v.iter()
                .map(|c| format!("{}/{}", c.source, c.arch))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&reg.newly_fixed),
            ["rocr-demo/riscv64", "hipsolver-demo/riscv64"]
        );
        assert_eq!(names(&reg.newly_failing), ["rocblas-demo/amd64"]);
        assert_eq!(names(&reg.expectation_obsolete), ["hipsolver-demo/riscv64"]);
        assert!(reg.still_failing.is_empty());
        assert_eq!(reg.newly_failing[0].old_class.as_deref(), Some("ok"));
        let same = compare(&old, &old, Path::new("/srv/old"));
        assert_eq!(
            names(&same.still_failing),
            ["rocr-demo/riscv64", "hipsolver-demo/riscv64"]
        );
        let _ = Arch::host();
    }

    /// Test cells: rocr-demo's `smoke` breaks (a regression, named by
    /// test), hipsolver-demo's `numerics` is fixed, rocm-cmake-demo is
    /// tested for the first time and fails (new: no regression).
    #[test]
    fn comparing_two_tested_runs() {
        use crate::autopkgtest::{TestClass::*, Verdict};
        use fixtures::test_cell;
        let old = fixtures::demo_tested();
        let mut cells = old.tests.clone();
        for c in cells.iter_mut() {
            *c = match c.source.as_str() {
                "rocr-demo" => {
                    let tests = [("headers", Pass), ("smoke", Fail)];
                    test_cell("rocr-demo", "fail", Verdict::Fail, &tests)
                }
                "hipsolver-demo" => {
                    let tests = [("numerics", Pass), ("cli", Pass)];
                    test_cell("hipsolver-demo", "pass", Verdict::Pass, &tests)
                }
                _ => c.clone(),
            };
        }
        let fresh = [("smoke", Fail)];
        cells.push(test_cell("rocm-cmake-demo", "fail", Verdict::Fail, &fresh));
        let new = fixtures::demo().with_tests(cells);
        let reg = compare(&old, &new, Path::new("/srv/old"));
        let cells = |v: &[TestChange]| {
            v.iter()
                .map(|c| format!("{}/{}: {}", c.source, c.arch, c.describe("->")))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            cells(&reg.tests_newly_failing),
            ["rocr-demo/amd64: pass -> fail (smoke: pass -> fail)"]
        );
        assert_eq!(reg.tests_newly_failing[0].tests_failing, ["smoke"]);
        assert_eq!(
            cells(&reg.tests_newly_fixed),
            ["hipsolver-demo/amd64: fail -> pass (numerics: fail -> pass)"]
        );
        assert!(reg.tests_still_failing.is_empty(), "{reg:?}");
        assert!(!reg.is_empty());
        // The builds did not change: no build regression.
        assert!(reg.newly_failing.is_empty() && reg.newly_fixed.is_empty());

        let text = crate::report::text::render(
            &Report {
                regressions: Some(reg.clone()),
                ..new.clone()
            },
            false,
        );
        assert!(
            text.contains(
                "  tests newly failing:\n    rocr-demo/amd64: pass -> fail (smoke: pass -> fail)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  tests newly fixed:\n    hipsolver-demo/amd64: fail -> pass"),
            "{text}"
        );
        let rep = Report {
            regressions: Some(reg),
            ..new
        };
        let md = crate::report::markdown::render(&rep);
        assert!(
            md.contains(
                "**Tests newly failing**:\n- rocr-demo/amd64: pass → fail (smoke: pass → fail)\n"
            ),
            "{md}"
        );
        let html = crate::report::html::render(&rep, Path::new("/srv/run"));
        assert!(html.contains("<li>tests newly fixed: <b>hipsolver-demo/amd64</b> fail → pass (numerics: fail → pass)</li>"), "{html}");
        let json: serde_json::Value =
            serde_json::from_str(&crate::report::json::render(&rep)).unwrap();
        assert_eq!(
            json["regressions"]["tests_newly_failing"][0]["tests_failing"][0],
            "smoke"
        );
        assert!(rep.has_unexpected_failures());

        let same = compare(&old, &old, Path::new("/srv/old"));
        assert_eq!(
            cells(&same.tests_still_failing),
            ["hipsolver-demo/amd64: fail -> fail"]
        );
    }

    /// A `cascade-report/1` document has no tests: compared with a tested
    /// run, no test cell is a regression or a fix, and the builds compare as before.
    #[test]
    fn an_old_report_without_tests_compares_fine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let mut old = serde_json::to_value(fixtures::demo()).unwrap();
        old["schema"] = "cascade-report/1".into();
        old.as_object_mut().unwrap().remove("tests");
        std::fs::write(&path, old.to_string()).unwrap();
        let old = Report::load(&path).unwrap();
        let new = fixtures::demo_tested();
        let reg = compare(&old, &new, &path);
        assert!(reg.test_groups().iter().all(|g| g.is_empty()), "{reg:?}");
        assert_eq!(reg.still_failing.len(), 2);
        // A report.json written before test regressions existed still loads.
        let mut json = serde_json::to_value(&Report {
            regressions: Some(reg),
            ..new
        })
        .unwrap();
        for key in [
            "tests_newly_failing",
            "tests_newly_fixed",
            "tests_still_failing",
        ] {
            json["regressions"].as_object_mut().unwrap().remove(key);
        }
        std::fs::write(&path, json.to_string()).unwrap();
        assert!(Report::load(&path).unwrap().regressions.is_some());
    }

    #[test]
    fn a_report_round_trips_through_json_and_checks_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let rep = fixtures::demo();
        let path = dir.path().join("report.json");
        std::fs::write(&path, serde_json::to_string(&rep).unwrap()).unwrap();
        assert_eq!(Report::from_run(dir.path()).unwrap(), rep);
        std::fs::write(&path, r#"{"schema":"cascade-report/9"}"#).unwrap();
        assert!(matches!(Report::load(&path), Err(Error::Schema { .. })));
        assert!(matches!(
            Report::from_run(&dir.path().join("nope")),
            Err(Error::NotARun(_))
        ));
    }

    #[test]
    fn a_ci_run_dir_reports_its_results_files() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        std::fs::create_dir_all(&results).unwrap();
        // The CI report job creates results/ even when no build ran.
        assert!(Report::from_run(dir.path()).unwrap().results.is_empty());
        let rep = fixtures::demo();
        for r in &rep.results {
            let path = results.join(format!("{}_{}.json", r.source, r.arch));
            std::fs::write(path, serde_json::to_string(r).unwrap()).unwrap();
        }
        let back = Report::from_run(dir.path()).unwrap();
        assert_eq!(back.results.len(), rep.results.len());
        assert_eq!(
            back.has_unexpected_failures(),
            rep.has_unexpected_failures()
        );
        std::fs::write(results.join("broken.json"), "{").unwrap();
        assert!(matches!(
            Report::from_run(dir.path()),
            Err(Error::Parse { .. })
        ));
    }

    #[test]
    fn a_tested_report_shows_each_test_and_fails_on_an_unexpected_one() {
        let rep = fixtures::demo_tested();
        assert!(rep.has_unexpected_failures());
        assert_eq!(rep.counts["unexpected-test-failures"], 1);
        assert_eq!(
            rep.tests_line().as_deref(),
            Some("3 tested: 1 fail, 1 pass, 1 skipped")
        );
        // JSON: schema 2, read back whole; a schema-1 report still loads.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        std::fs::write(&path, crate::report::json::render(&rep)).unwrap();
        let back = Report::load(&path).unwrap();
        assert_eq!(back.schema, "cascade-report/2");
        assert_eq!(back.tests, rep.tests);
        let mut old = serde_json::to_value(fixtures::demo()).unwrap();
        old["schema"] = "cascade-report/1".into();
        std::fs::write(&path, old.to_string()).unwrap();
        assert!(Report::load(&path).unwrap().tests.is_empty());

        let xml = crate::report::junit::render(&rep).unwrap();
        assert!(
            xml.contains("<testsuite name=\"amd64 tests\" tests=\"5\""),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase name=\"numerics\" classname=\"amd64.hipsolver-demo.autopkgtest\">"
            ),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"fail\" type=\"fail\""),
            "{xml}"
        );
        assert!(xml.contains("<skipped message=\"skip\""), "{xml}");

        let text = crate::report::text::render(&rep, false);
        assert!(text.contains("  fail: numerics fail  -\n"), "{text}");
        assert!(
            text.contains("hipsolver-demo/amd64 tests: numerics: fail"),
            "{text}"
        );
        let md = crate::report::markdown::render(&rep);
        assert!(md.contains("### Tests"), "{md}");
        assert!(md.contains("| rocr-demo |  | pass |  |"), "{md}");
        let html = crate::report::html::render(&rep, Path::new("/srv/run"));
        assert!(html.contains("id=\"tests\""), "{html}");
        assert!(
            html.contains(
                "data-source=\"hipsolver-demo\" data-arch=\"amd64\" data-status=\"fail\""
            ),
            "{html}"
        );
        assert!(
            html.contains("href=\"tests/hipsolver-demo_amd64/autopkgtest.log\""),
            "{html}"
        );
    }
}

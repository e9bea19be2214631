//! The porting report: per architecture, what a porting run taught — which
//! packages now build, which fail on their own (root failures), which are
//! only blocked by a failed dependency, the porting score against the
//! previous run, and the patches that made packages build. Pure over the
//! run's results and the plan's edges; rendered as text, Markdown and JSON
//! (`port.json`, schema `cascade-port/1`, see docs/port.md).
//!
//! The verdict (the exit code of a nightly porting run) is decided here too:
//! - a package × arch that built in the previous run and now fails on its
//!   own, unexpectedly, fails the run (a regression);
//! - so does an unexpected root failure of a source whose packaging already
//!   lists the arch (not widened): that is a plain build failure, which
//!   `cascade run` fails on too;
//! - a root failure the recipe expects does not;
//! - a widened source that fails and never built before is reported, not
//!   failed on: finding those is what a porting run is for, and failing on
//!   them would keep the nightly red until the whole stack is ported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{Report, relative_to};
use crate::arch::Arch;
use crate::events::{BuildResult, Outcome};

/// The `schema` value of port.json; bumped on incompatible changes.
pub const SCHEMA: &str = "cascade-port/1";
/// The porting report's files in the run directory.
pub use crate::rundir::{PORT_JSON, PORT_MD, PORT_TXT};

/// How many error lines a root failure keeps.
const ERROR_LINES: usize = 5;

/// What the report needs to know about one arch besides the results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchContext {
    pub arch: Arch,
    /// Source → the stack sources it build-depends on here (the plan's edges).
    pub depends_on: BTreeMap<String, Vec<String>>,
    /// Sources tried only because the run widened their Architecture field.
    pub widened: BTreeSet<String>,
    /// The saved patch of each build copy.
    pub patches: BTreeMap<String, PathBuf>,
    /// Links of the recipes' expected failures on this arch, by source.
    pub links: BTreeMap<String, String>,
}

impl ArchContext {
    pub fn new(arch: Arch) -> ArchContext {
        ArchContext {
            arch,
            depends_on: BTreeMap::new(),
            widened: BTreeSet::new(),
            patches: BTreeMap::new(),
            links: BTreeMap::new(),
        }
    }
}

/// Built / total on one arch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub built: usize,
    pub total: usize,
}

impl Score {
    /// The score of `results` on `arch`: every source with a result there
    /// counts, whatever happened to it.
    pub fn of(results: &[BuildResult], arch: &str) -> Score {
        let here = results.iter().filter(|r| r.arch.as_str() == arch);
        let (mut built, mut total) = (0, 0);
        for r in here {
            total += 1;
            built += usize::from(r.outcome == Outcome::Ok);
        }
        Score { built, total }
    }

    pub fn percent(&self) -> u32 {
        if self.total == 0 {
            0
        } else {
            ((self.built * 100) as f64 / self.total as f64).round() as u32
        }
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({}%)", self.built, self.total, self.percent())
    }
}

/// A package that built.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Built {
    pub source: String,
    pub version: String,
    /// Built from a widened build copy.
    pub ported: bool,
    /// The patch that made it build (run-directory relative).
    pub patch: Option<PathBuf>,
    /// Did not build in the previous run.
    pub new: bool,
    /// Built although the recipe expects a failure: drop the expectation.
    pub expectation_obsolete: bool,
}

/// The recipe's expectation of a failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    pub reason: String,
    pub link: Option<String>,
}

/// A package that failed on its own: none of its stack dependencies failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFailure {
    pub source: String,
    pub version: String,
    /// The failure class (`failed`, `test-failed`, `timeout`, …).
    pub class: String,
    /// The sbuild stage, for `failed`.
    pub stage: Option<String>,
    /// The first error lines of the log (or the missing build-dependencies).
    pub errors: Vec<String>,
    pub expected: Option<Expected>,
    pub ported: bool,
    /// The build log (run-directory relative).
    pub log: Option<PathBuf>,
    /// Packages blocked by this failure.
    pub blocks: Vec<String>,
    /// Built in the previous run.
    pub built_before: bool,
}

/// A package not built because a dependency failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocked {
    pub source: String,
    pub version: String,
    /// The root failures in the way (`SOURCE`, or `SOURCE/ARCH` when the
    /// root is on another arch, e.g. an arch:all build).
    pub by: Vec<String>,
    pub ported: bool,
}

/// A package this run did not try, and why (the plan still excludes it,
/// or the run was cancelled).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotTried {
    pub source: String,
    pub version: String,
    pub reason: String,
}

/// A package that built in the previous run and fails now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regression {
    pub source: String,
    pub old_version: String,
    pub new_version: String,
    /// The class now (`failed`, `skipped`, …).
    pub class: String,
    pub expected: bool,
}

/// The porting report of one arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchPort {
    pub arch: String,
    pub score: Score,
    /// The previous run's score on this arch, if it built it.
    pub previous: Option<Score>,
    pub built: Vec<Built>,
    pub root_failures: Vec<RootFailure>,
    pub blocked: Vec<Blocked>,
    pub not_tried: Vec<NotTried>,
    pub regressions: Vec<Regression>,
    /// The patches of ported packages that built: ready to send.
    pub patches: Vec<PathBuf>,
}

/// The porting report of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortReport {
    pub schema: String,
    pub stack: Option<String>,
    pub run_dir: PathBuf,
    /// The previous run compared with.
    pub since: Option<PathBuf>,
    pub arches: Vec<ArchPort>,
    /// Why the run fails (see the module documentation); empty: it passes.
    pub failing: Vec<String>,
}

impl PortReport {
    /// 1 when [`PortReport::failing`] says why, else 0.
    pub fn exit_code(&self) -> std::process::ExitCode {
        if self.failing.is_empty() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(1)
        }
    }
}

/// Everything [`build`] reads.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    pub stack: Option<String>,
    pub run_dir: &'a Path,
    /// Every result of the run (arch:all ones included: they can be roots).
    pub results: &'a [BuildResult],
    /// The arches to report on (the porting targets), in order.
    pub arches: &'a [ArchContext],
    /// The previous run's report and where it came from.
    pub previous: Option<(&'a Report, &'a Path)>,
}

/// Builds the porting report.
pub fn build(input: &Input) -> PortReport {
    let mut failing = Vec::new();
    let arches = input
        .arches
        .iter()
        .map(|ctx| arch_report(input, ctx, &mut failing))
        .collect();
    PortReport {
        schema: SCHEMA.to_string(),
        stack: input.stack.clone(),
        run_dir: input.run_dir.to_path_buf(),
        since: input.previous.map(|(_, p)| p.to_path_buf()),
        arches,
        failing,
    }
}

fn error_lines(outcome: &Outcome) -> (Option<String>, Vec<String>) {
    let mut out = match outcome {
        Outcome::Failed { stage, errors } => (Some(stage.clone()), errors.clone()),
        Outcome::TestFailed { errors } => (None, errors.clone()),
        Outcome::BuildDepUnsatisfiable { missing } => (None, missing.clone()),
        _ => (None, Vec::new()),
    };
    out.1.truncate(ERROR_LINES);
    out
}

/// One arch's results as [`arch_report`] reads them.
struct ArchView<'a> {
    input: &'a Input<'a>,
    ctx: &'a ArchContext,
    arch: &'a str,
    /// This arch's results by source.
    by_source: BTreeMap<&'a str, &'a BuildResult>,
    /// The arch:all results by source (possible roots).
    all: BTreeMap<&'a str, &'a BuildResult>,
    /// The previous run's results on this arch by source, if any.
    previous: Option<BTreeMap<&'a str, &'a BuildResult>>,
}

impl<'a> ArchView<'a> {
    fn new(input: &'a Input<'a>, ctx: &'a ArchContext) -> ArchView<'a> {
        let arch = ctx.arch.as_str();
        let on = |results: &'a [BuildResult], on_all: bool| -> BTreeMap<&'a str, &'a BuildResult> {
            results
                .iter()
                .filter(|r| {
                    if on_all {
                        r.arch.is_all()
                    } else {
                        r.arch.as_str() == arch
                    }
                })
                .map(|r| (r.source.as_str(), r))
                .collect()
        };
        ArchView {
            input,
            ctx,
            arch,
            by_source: on(input.results, false),
            all: on(input.results, true),
            previous: input.previous.map(|(rep, _)| on(&rep.results, false)),
        }
    }

    fn built_before(&self, source: &str) -> bool {
        self.previous
            .as_ref()
            .and_then(|p| p.get(source))
            .is_some_and(|r| r.outcome == Outcome::Ok)
    }

    fn rel(&self, p: &Path) -> PathBuf {
        relative_to(p, self.input.run_dir)
    }

    /// The failed stack dependencies of a source, transitively, by name
    /// (`SOURCE/all` for an arch:all one).
    fn failed_deps(&self, source: &str) -> BTreeSet<String> {
        let edges = &self.ctx.depends_on;
        let deps = crate::schedule::upstream(source, |s| edges.get(s).map(Vec::as_slice));
        deps.into_iter()
            .filter_map(|d| match (self.by_source.get(d), self.all.get(d)) {
                (Some(r), _) => r.outcome.is_failure().then(|| d.to_string()),
                (None, Some(r)) => r.outcome.is_failure().then(|| format!("{d}/all")),
                (None, None) => None,
            })
            .collect()
    }

    fn built(&self, r: &BuildResult, out: &mut ArchPort) {
        let patch = self.ctx.patches.get(&r.source).map(|p| self.rel(p));
        if let Some(p) = &patch {
            out.patches.push(p.clone());
        }
        out.built.push(Built {
            source: r.source.clone(),
            version: r.version.clone(),
            ported: self.ctx.widened.contains(&r.source),
            patch,
            new: self.previous.is_some() && !self.built_before(&r.source),
            expectation_obsolete: r.expected_failure.is_some(),
        });
    }

    /// A failure: blocked when a stack dependency failed too, else a root.
    fn failed(&self, r: &BuildResult, out: &mut ArchPort) {
        let ported = self.ctx.widened.contains(&r.source);
        let roots = self.failed_deps(&r.source);
        if !roots.is_empty() {
            out.blocked.push(Blocked {
                source: r.source.clone(),
                version: r.version.clone(),
                by: roots.into_iter().collect(),
                ported,
            });
            return;
        }
        let (stage, errors) = error_lines(&r.outcome);
        out.root_failures.push(RootFailure {
            source: r.source.clone(),
            version: r.version.clone(),
            class: r.outcome.class().to_string(),
            stage,
            errors,
            expected: r.expected_failure.as_ref().map(|reason| Expected {
                reason: reason.clone(),
                link: self.ctx.links.get(&r.source).cloned(),
            }),
            ported,
            log: r.log.as_deref().map(|p| self.rel(p)),
            blocks: Vec::new(),
            built_before: self.built_before(&r.source),
        });
    }

    fn skipped(&self, r: &BuildResult, dependency: &str, dep_arch: &Arch, out: &mut ArchPort) {
        let mut by: Vec<String> = self.failed_deps(&r.source).into_iter().collect();
        if by.is_empty() {
            // No edges known (e.g. `--only`): the runner's root.
            by.push(if dep_arch.as_str() == self.arch {
                dependency.to_string()
            } else {
                format!("{dependency}/{dep_arch}")
            });
        }
        out.blocked.push(Blocked {
            source: r.source.clone(),
            version: r.version.clone(),
            by,
            ported: self.ctx.widened.contains(&r.source),
        });
    }

    /// A package that built in the previous run and fails (or is skipped) now.
    fn regression(&self, r: &BuildResult) -> Option<Regression> {
        let before = self.previous.as_ref()?.get(r.source.as_str())?;
        let fails = r.outcome.is_failure() || matches!(r.outcome, Outcome::Skipped { .. });
        (before.outcome == Outcome::Ok && fails).then(|| Regression {
            source: r.source.clone(),
            old_version: before.version.clone(),
            new_version: r.version.clone(),
            class: r.outcome.class().to_string(),
            expected: r.expected_failure.is_some(),
        })
    }

    /// Why this arch fails the run (see the module documentation).
    fn verdict(&self, out: &ArchPort, failing: &mut Vec<String>) {
        let arch = self.arch;
        for f in out.root_failures.iter().filter(|f| f.expected.is_none()) {
            if f.built_before {
                failing.push(format!(
                    "{}/{arch} built in the previous run and fails now ({})",
                    f.source, f.class
                ));
            } else if !f.ported {
                failing.push(format!(
                    "{}/{arch} fails ({}) although its packaging lists {arch}",
                    f.source, f.class
                ));
            }
        }
        // A package failing on its own behind a failed dependency that built
        // before still counts as a regression of its own.
        for b in &out.blocked {
            let own = self
                .by_source
                .get(b.source.as_str())
                .is_some_and(|r| r.is_unexpected_failure());
            if own && self.built_before(&b.source) {
                failing.push(format!(
                    "{}/{arch} built in the previous run and fails now",
                    b.source
                ));
            }
        }
    }
}

fn arch_report(input: &Input, ctx: &ArchContext, failing: &mut Vec<String>) -> ArchPort {
    let view = ArchView::new(input, ctx);
    let arch = view.arch;
    let mut out = ArchPort {
        arch: arch.to_string(),
        score: Score::of(input.results, arch),
        previous: input
            .previous
            .map(|(rep, _)| Score::of(&rep.results, arch))
            .filter(|s| s.total > 0),
        built: Vec::new(),
        root_failures: Vec::new(),
        blocked: Vec::new(),
        not_tried: Vec::new(),
        regressions: Vec::new(),
        patches: Vec::new(),
    };
    for r in input.results.iter().filter(|r| r.arch.as_str() == arch) {
        let not_tried = |reason: &str| NotTried {
            source: r.source.clone(),
            version: r.version.clone(),
            reason: reason.to_string(),
        };
        match &r.outcome {
            Outcome::Ok => view.built(r, &mut out),
            o if o.is_failure() => view.failed(r, &mut out),
            Outcome::Skipped { dependency, arch } => view.skipped(r, dependency, arch, &mut out),
            Outcome::Excluded { reason } => out.not_tried.push(not_tried(&reason.to_string())),
            Outcome::Cancelled => out.not_tried.push(not_tried("cancelled")),
            _ => {}
        }
        out.regressions.extend(view.regression(r));
    }
    for f in out.root_failures.iter_mut() {
        f.blocks = out
            .blocked
            .iter()
            .filter(|b| b.by.contains(&f.source))
            .map(|b| b.source.clone())
            .collect();
    }
    view.verdict(&out, failing);
    out
}

/// `port.json`.
pub fn render_json(report: &PortReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

fn score_line(a: &ArchPort) -> String {
    let mut s = format!("{}: {} built", a.arch, a.score);
    if let Some(p) = a.previous {
        let delta = a.score.built as i64 - p.built as i64;
        s.push_str(&format!(", previous run {p} ({delta:+})"));
    }
    s
}

fn failure_head(f: &RootFailure) -> String {
    let mut s = match &f.stage {
        Some(stage) => format!("{} at {stage}", f.class),
        None => f.class.clone(),
    };
    if let Some(e) = &f.expected {
        s.push_str(&format!(", expected: {}", e.reason));
        if let Some(l) = &e.link {
            s.push_str(&format!(" ({l})"));
        }
    }
    s
}

/// The terminal rendering.
pub fn render_text(report: &PortReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "Porting report{}",
        report
            .stack
            .as_ref()
            .map(|s| format!(" of {s}"))
            .unwrap_or_default()
    ));
    if let Some(since) = &report.since {
        out.push_str(&format!(", compared with {}", since.display()));
    }
    out.push('\n');
    for a in &report.arches {
        arch_text(&mut out, a);
    }
    out.push('\n');
    if report.failing.is_empty() {
        out.push_str("verdict: pass\n");
    } else {
        out.push_str("verdict: FAIL\n");
        for f in &report.failing {
            out.push_str(&format!("  {f}\n"));
        }
    }
    out
}

/// What was built, with its notes (ported, new, patch, obsolete expectation).
fn built_text(out: &mut String, a: &ArchPort) {
    if a.built.is_empty() {
        return;
    }
    out.push_str("  built:\n");
    for b in &a.built {
        let mut notes = Vec::new();
        if b.ported {
            notes.push("ported".to_string());
        }
        if b.new {
            notes.push("new".to_string());
        }
        if let Some(p) = &b.patch {
            notes.push(format!("patch {}", p.display()));
        }
        if b.expectation_obsolete {
            notes.push("expected to fail: drop the expectation".to_string());
        }
        out.push_str(&format!("    {} {}", b.source, b.version));
        if !notes.is_empty() {
            out.push_str(&format!("  ({})", notes.join(", ")));
        }
        out.push('\n');
    }
}

/// One arch: score, built, root failures, blocked, not tried, regressions, patches.
fn arch_text(out: &mut String, a: &ArchPort) {
    out.push_str(&format!("\n{}\n", score_line(a)));
    built_text(out, a);
    if !a.root_failures.is_empty() {
        out.push_str("  root failures:\n");
        for f in &a.root_failures {
            out.push_str(&format!(
                "    {} {}  {}\n",
                f.source,
                f.version,
                failure_head(f)
            ));
            for e in &f.errors {
                out.push_str(&format!("      | {e}\n"));
            }
            if !f.blocks.is_empty() {
                out.push_str(&format!("      blocks: {}\n", f.blocks.join(", ")));
            }
            if let Some(l) = &f.log {
                out.push_str(&format!("      log: {}\n", l.display()));
            }
        }
    }
    if !a.blocked.is_empty() {
        out.push_str("  blocked:\n");
        for b in &a.blocked {
            out.push_str(&format!("    {}  by {}\n", b.source, b.by.join(", ")));
        }
    }
    if !a.not_tried.is_empty() {
        out.push_str("  not tried:\n");
        for n in &a.not_tried {
            out.push_str(&format!("    {}  {}\n", n.source, n.reason));
        }
    }
    if !a.regressions.is_empty() {
        out.push_str("  regressions (built in the previous run):\n");
        for r in &a.regressions {
            out.push_str(&format!(
                "    {} {} → {} {}{}\n",
                r.source,
                r.old_version,
                r.new_version,
                r.class,
                if r.expected { " (expected)" } else { "" }
            ));
        }
    }
    if !a.patches.is_empty() {
        out.push_str("  patches that made packages build:\n");
        for p in &a.patches {
            out.push_str(&format!("    {}\n", p.display()));
        }
    }
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// `port.md`, for CI job pages and merge requests.
pub fn render_markdown(report: &PortReport) -> String {
    let mut out = format!(
        "# Porting report{}\n\n",
        report
            .stack
            .as_ref()
            .map(|s| format!(": {s}"))
            .unwrap_or_default()
    );
    if let Some(since) = &report.since {
        out.push_str(&format!("Compared with `{}`.\n\n", since.display()));
    }
    md_score_table(&mut out, report);
    for a in &report.arches {
        md_arch(&mut out, a);
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    md_verdict(&mut out, report);
    out
}

/// The score table: one row per arch.
fn md_score_table(out: &mut String, report: &PortReport) {
    out.push_str("| arch | built | total | score | previous |\n|---|---|---|---|---|\n");
    for a in &report.arches {
        out.push_str(&format!(
            "| {} | {} | {} | {}% | {} |\n",
            a.arch,
            a.score.built,
            a.score.total,
            a.score.percent(),
            a.previous
                .map(|p| format!("{p}"))
                .unwrap_or_else(|| "—".into())
        ));
    }
}

/// One arch's section: built, root failures, blocked, not tried,
/// regressions, patches.
fn md_arch(out: &mut String, a: &ArchPort) {
    out.push_str(&format!("\n## {}\n\n", a.arch));
    if !a.built.is_empty() {
        let items: Vec<String> = a
            .built
            .iter()
            .map(|b| {
                let ported = if b.ported { " (ported)" } else { "" };
                format!("`{}`{ported}", b.source)
            })
            .collect();
        out.push_str(&format!("**Built:** {}\n\n", items.join(", ")));
    }
    md_root_failures(out, &a.root_failures);
    md_list(out, "**Blocked:**", &a.blocked, |b| {
        format!("`{}` by {}", b.source, b.by.join(", "))
    });
    md_list(out, "**Not tried:**", &a.not_tried, |n| {
        format!("`{}`: {}", n.source, n.reason)
    });
    md_list(
        out,
        "**Regressions** (built in the previous run):",
        &a.regressions,
        |r| {
            format!(
                "`{}` {} → {}: {}{}",
                r.source,
                r.old_version,
                r.new_version,
                r.class,
                if r.expected { " (expected)" } else { "" }
            )
        },
    );
    md_list(
        out,
        "**Patches that made packages build:**",
        &a.patches,
        |p| format!("`{}`", p.display()),
    );
}

/// The root failures' table, if there are any.
fn md_root_failures(out: &mut String, failures: &[RootFailure]) {
    if failures.is_empty() {
        return;
    }
    out.push_str(
        "**Root failures:**\n\n| package | class | first error | blocks |\n|---|---|---|---|\n",
    );
    for f in failures {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            f.source,
            md_escape(&failure_head(f)),
            f.errors
                .first()
                .map(|e| format!("`{}`", md_escape(e)))
                .unwrap_or_default(),
            f.blocks.join(", ")
        ));
    }
    out.push('\n');
}

/// A bold heading and one `- ` item per entry, if there are any.
fn md_list<T>(out: &mut String, heading: &str, items: &[T], item: impl Fn(&T) -> String) {
    if items.is_empty() {
        return;
    }
    out.push_str(heading);
    out.push_str("\n\n");
    for i in items {
        out.push_str(&format!("- {}\n", item(i)));
    }
    out.push('\n');
}

/// The verdict, and what failed the run.
fn md_verdict(out: &mut String, report: &PortReport) {
    if report.failing.is_empty() {
        out.push_str("**Verdict:** pass\n");
    } else {
        out.push_str("**Verdict:** fail\n\n");
        for f in &report.failing {
            out.push_str(&format!("- {f}\n"));
        }
    }
}

/// Writes port.json, port.md and port.txt into `dir`; returns their paths.
pub fn write_all(report: &PortReport, dir: &Path) -> Result<Vec<PathBuf>, super::Error> {
    let mut out = Vec::new();
    for (name, text) in [
        (PORT_JSON, render_json(report)),
        (PORT_MD, render_markdown(report)),
        (PORT_TXT, render_text(report)),
    ] {
        let path = dir.join(name);
        super::files::write_atomic(&path, text.as_bytes())?;
        out.push(path);
    }
    Ok(out)
}

/// Reads a port.json (schema checked).
pub fn load(path: &Path) -> Result<PortReport, super::Error> {
    let text = std::fs::read_to_string(path).map_err(|source| {
        super::Error::Io(crate::fsio::IoError::new(path.to_path_buf(), source))
    })?;
    let rep: PortReport = serde_json::from_str(&text).map_err(|source| super::Error::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    if rep.schema != SCHEMA {
        // model's Schema error names report.json's schema; say ours.
        return Err(super::Error::Parse {
            path: path.to_path_buf(),
            source: serde::de::Error::custom(format!("schema `{}` is not `{SCHEMA}`", rep.schema)),
        });
    }
    Ok(rep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NotBuiltReason;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn r(source: &str, a: &str, outcome: Outcome) -> BuildResult {
        let version = if source == "demo-smi" || source == "demo-kernels" {
            "7.2.4-1~exp1~port1"
        } else {
            "7.2.4-1~exp1"
        };
        let mut b = BuildResult::not_built(source, arch(a), version, outcome);
        if !matches!(
            b.outcome,
            Outcome::Skipped { .. } | Outcome::Excluded { .. }
        ) {
            b.log = Some(PathBuf::from(format!(
                "/srv/run/logs/{source}_{version}_{a}.build"
            )));
        }
        b
    }

    fn kernels_failed() -> Outcome {
        Outcome::Failed {
            stage: "build".into(),
            errors: vec![
                "kernels.c:4:2: error: #error \"no kernel backend for this architecture\"".into(),
                "make[1]: *** [Makefile:12: kernels.o] Error 1".into(),
            ],
        }
    }

    /// A porting run of the demo stack on riscv64.
    fn demo_results() -> Vec<BuildResult> {
        let mut kernels = r("demo-kernels", "riscv64", kernels_failed());
        kernels.expected_failure =
            Some("no kernel backend for riscv64 yet (#error under __riscv)".into());
        vec![
            r("demo-cmake", "all", Outcome::Ok),
            r("demo-runtime", "riscv64", Outcome::Ok),
            r("demo-blas", "riscv64", Outcome::Ok),
            r("demo-smi", "riscv64", Outcome::Ok),
            r(
                "demo-solver",
                "riscv64",
                Outcome::TestFailed {
                    errors: vec!["FAIL: precision".into()],
                },
            ),
            kernels,
            r(
                "demo-apps",
                "riscv64",
                Outcome::Skipped {
                    dependency: "demo-kernels".into(),
                    arch: arch("riscv64"),
                },
            ),
        ]
    }

    fn demo_context() -> ArchContext {
        let mut ctx = ArchContext::new(arch("riscv64"));
        for (s, deps) in [
            ("demo-runtime", vec!["demo-cmake"]),
            ("demo-blas", vec!["demo-cmake", "demo-runtime"]),
            ("demo-solver", vec!["demo-blas"]),
            ("demo-apps", vec!["demo-kernels"]),
        ] {
            ctx.depends_on
                .insert(s.into(), deps.into_iter().map(String::from).collect());
        }
        ctx.widened = ["demo-smi", "demo-kernels"].map(String::from).into();
        for s in ["demo-smi", "demo-kernels"] {
            ctx.patches.insert(
                s.into(),
                PathBuf::from(format!("/srv/run/port/riscv64/patches/{s}.patch")),
            );
        }
        ctx.links
            .insert("demo-kernels".into(), "https://bugs.example.org/1".into());
        ctx
    }

    fn port_report(results: &[BuildResult], previous: Option<&Report>) -> PortReport {
        build(&Input {
            stack: Some("demo".into()),
            run_dir: Path::new("/srv/run"),
            results,
            arches: &[demo_context()],
            previous: previous.map(|p| (p, Path::new("/srv/old"))),
        })
    }

    fn names<T>(v: &[T], f: impl Fn(&T) -> &str) -> Vec<String> {
        v.iter().map(|x| f(x).to_string()).collect()
    }

    #[test]
    fn built_root_failures_and_blocked() {
        let rep = port_report(&demo_results(), None);
        let a = &rep.arches[0];
        assert_eq!(a.score, Score { built: 3, total: 6 });
        assert_eq!(a.score.to_string(), "3/6 (50%)");
        assert_eq!(a.previous, None);
        assert_eq!(
            names(&a.built, |b| &b.source),
            ["demo-runtime", "demo-blas", "demo-smi"]
        );
        let smi = &a.built[2];
        assert!(smi.ported && !smi.new);
        assert_eq!(
            smi.patch.as_deref(),
            Some(Path::new("port/riscv64/patches/demo-smi.patch"))
        );
        // Only the patch of a package that built is collected.
        assert_eq!(
            a.patches,
            [PathBuf::from("port/riscv64/patches/demo-smi.patch")]
        );
        assert_eq!(
            names(&a.root_failures, |f| &f.source),
            ["demo-solver", "demo-kernels"]
        );
        let k = &a.root_failures[1];
        assert_eq!(k.class, "failed");
        assert_eq!(k.stage.as_deref(), Some("build"));
        assert!(k.errors[0].contains("#error"));
        assert_eq!(k.blocks, ["demo-apps"]);
        assert_eq!(
            k.expected.as_ref().unwrap().link.as_deref(),
            Some("https://bugs.example.org/1")
        );
        assert_eq!(
            k.log.as_deref(),
            Some(Path::new(
                "logs/demo-kernels_7.2.4-1~exp1~port1_riscv64.build"
            ))
        );
        assert_eq!(a.blocked.len(), 1);
        assert_eq!(a.blocked[0].by, ["demo-kernels"]);
        // demo-solver's packaging lists riscv64: its failure fails the run;
        // demo-kernels' is expected.
        assert_eq!(
            rep.failing,
            ["demo-solver/riscv64 fails (test-failed) although its packaging lists riscv64"]
        );
        assert_eq!(rep.exit_code(), std::process::ExitCode::from(1));
    }

    #[test]
    fn a_widened_package_that_never_built_does_not_fail_the_run() {
        let mut results = demo_results();
        results[4].outcome = Outcome::Ok;
        results[5].expected_failure = None;
        let rep = port_report(&results, None);
        assert!(rep.failing.is_empty(), "{:?}", rep.failing);
        assert_eq!(rep.exit_code(), std::process::ExitCode::SUCCESS);
    }

    #[test]
    fn compared_with_the_previous_run() {
        // Last night: demo-smi still excluded, demo-solver built.
        let mut old = demo_results();
        old[3].outcome = Outcome::Excluded {
            reason: NotBuiltReason::Excluded("Architecture: amd64 arm64 ppc64el".into()),
        };
        old[4].outcome = Outcome::Ok;
        let old = Report::new(Some("demo".into()), "/srv/old".into(), 1.0, old);
        let rep = port_report(&demo_results(), Some(&old));
        let a = &rep.arches[0];
        assert_eq!(rep.since.as_deref(), Some(Path::new("/srv/old")));
        assert_eq!(a.previous, Some(Score { built: 3, total: 6 }));
        assert!(a.built.iter().any(|b| b.source == "demo-smi" && b.new));
        assert!(a.built.iter().any(|b| b.source == "demo-blas" && !b.new));
        assert_eq!(names(&a.regressions, |r| &r.source), ["demo-solver"]);
        assert!(a.root_failures[0].built_before);
        assert_eq!(
            rep.failing,
            ["demo-solver/riscv64 built in the previous run and fails now (test-failed)"]
        );

        // An expected failure that built last night is listed, not failed on.
        let mut old = demo_results();
        old[4].outcome = Outcome::Ok;
        old[5].outcome = Outcome::Ok;
        old[6].outcome = Outcome::Ok;
        let mut now = demo_results();
        now[4].outcome = Outcome::Ok;
        let old = Report::new(None, "/srv/old".into(), 1.0, old);
        let rep = port_report(&now, Some(&old));
        let a = &rep.arches[0];
        assert_eq!(
            names(&a.regressions, |r| &r.source),
            ["demo-kernels", "demo-apps"]
        );
        assert!(a.regressions[0].expected);
        assert!(rep.failing.is_empty(), "{:?}", rep.failing);
    }

    #[test]
    fn a_failure_behind_a_failed_dependency_is_blocked_not_a_root() {
        let mut results = demo_results();
        results[2].outcome = kernels_failed(); // demo-blas
        let rep = port_report(&results, None);
        let a = &rep.arches[0];
        // demo-solver failed too, but demo-blas is in its way.
        let solver = a
            .blocked
            .iter()
            .find(|b| b.source == "demo-solver")
            .unwrap();
        assert_eq!(solver.by, ["demo-blas"]);
        assert_eq!(
            names(&a.root_failures, |f| &f.source),
            ["demo-blas", "demo-kernels"]
        );
        assert_eq!(a.root_failures[0].blocks, ["demo-solver"]);
    }

    #[test]
    fn without_edges_the_runners_root_names_the_blocker() {
        let mut results = demo_results();
        results[0].outcome = kernels_failed(); // demo-cmake/all
        results[1].outcome = Outcome::Skipped {
            dependency: "demo-cmake".into(),
            arch: arch("all"),
        };
        let mut ctx = ArchContext::new(arch("riscv64"));
        ctx.widened.insert("demo-smi".into());
        let rep = build(&Input {
            stack: None,
            run_dir: Path::new("/srv/run"),
            results: &results,
            arches: &[ctx],
            previous: None,
        });
        let b = &rep.arches[0].blocked;
        assert_eq!(b[0].source, "demo-runtime");
        assert_eq!(b[0].by, ["demo-cmake/all"]);
        // With the edges, the arch:all root is found through them.
        let rep = build(&Input {
            stack: None,
            run_dir: Path::new("/srv/run"),
            results: &results,
            arches: &[demo_context()],
            previous: None,
        });
        assert_eq!(rep.arches[0].blocked[0].by, ["demo-cmake/all"]);
    }

    #[test]
    fn renderings() {
        let mut old = demo_results();
        old[3].outcome = Outcome::Excluded {
            reason: NotBuiltReason::Excluded("Architecture: amd64 arm64 ppc64el".into()),
        };
        let old = Report::new(Some("demo".into()), "/srv/old".into(), 1.0, old);
        let rep = port_report(&demo_results(), Some(&old));
        insta::assert_snapshot!("port_text", render_text(&rep));
        insta::assert_snapshot!("port_markdown", render_markdown(&rep));
    }

    #[test]
    fn json_round_trips_with_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let rep = port_report(&demo_results(), None);
        let written = write_all(&rep, dir.path()).unwrap();
        assert_eq!(written.len(), 3);
        let json = render_json(&rep);
        assert!(json.contains("\"schema\": \"cascade-port/1\""));
        assert_eq!(load(&dir.path().join(PORT_JSON)).unwrap(), rep);
        std::fs::write(dir.path().join(PORT_JSON), json.replace("port/1", "port/9")).unwrap();
        let err = load(&dir.path().join(PORT_JSON)).unwrap_err().to_string();
        assert!(
            err.contains("schema `cascade-port/9` is not `cascade-port/1`"),
            "{err}"
        );
    }
}

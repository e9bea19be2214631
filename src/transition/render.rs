//! The transition as text, Markdown and the release team's `nmu` lines;
//! JSON is the serde form of [`Transition`] (schema `cascade-transition/2`,
//! docs/transition.md).

use std::collections::BTreeMap;
use std::fmt::Write;

use super::debcheck::Installability;
use super::rebuild::{Rebuilt, Verdict};
use super::{ArchTransition, Dependent};
use crate::control::Dep;

/// The JSON document's schema name; bump on incompatible changes.
pub const SCHEMA: &str = "cascade-transition/2";

/// One transition check: every arch asked for.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    pub schema: String,
    pub stack: String,
    /// The suite the stack moves into (unstable).
    pub base_suite: String,
    /// Where the new binaries come from: the target suite (a dry run) or a run directory.
    pub new_from: String,
    pub arches: Vec<ArchReport>,
}

/// One arch: the analysis and, when checked, installability.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ArchReport {
    #[serde(flatten)]
    pub transition: ArchTransition,
    pub installability: Option<Installability>,
    /// The rebuilds of outside sources with recheck (`--rebuild`).
    pub rebuilt: Option<Vec<Rebuilt>>,
}

impl Transition {
    /// Anything a maintainer must act on before the move: a stack source
    /// left behind, an uninstallable package or a rebuild regression.
    pub fn has_problems(&self) -> bool {
        self.arches.iter().any(|a| {
            !a.transition.left_behind.is_empty()
                || a.installability
                    .as_ref()
                    .is_some_and(|i| !i.broken.is_empty())
                || a.rebuilt
                    .iter()
                    .flatten()
                    .any(|r| r.verdict == Verdict::Regression)
        })
    }
}

/// A relation group as Debian writes it: `a (>= 1) | b:any`.
pub fn relation(group: &[Dep]) -> String {
    let alternatives: Vec<String> = group.iter().map(Dep::to_string).collect();
    alternatives.join(" | ")
}

/// The release team's binNMU requests, one line per source and version
/// with every arch that needs it (wanna-build's `nmu` syntax).
pub fn nmu_lines(t: &Transition, suite: &str) -> Vec<String> {
    let mut by: BTreeMap<(&str, &str, String), Vec<&str>> = BTreeMap::new();
    for a in &t.arches {
        for d in &a.transition.binnmus {
            by.entry((&d.source, &d.version, d.against.join(", ")))
                .or_default()
                .push(a.transition.arch.as_str());
        }
    }
    by.into_iter()
        .map(|((source, version, against), arches)| {
            format!(
                "nmu {source}_{version} . {} . {suite} . -m \"Rebuild against {against}.\"",
                arches.join(" ")
            )
        })
        .collect()
}

/// The terminal form.
pub fn text(t: &Transition) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Transition of {} into {} (new binaries from {})",
        t.stack, t.base_suite, t.new_from
    );
    for a in &t.arches {
        arch_text(&mut out, a);
    }
    let nmus = nmu_lines(t, &t.base_suite);
    if !nmus.is_empty() {
        let _ = writeln!(out, "\nbinNMUs:");
        for l in nmus {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}

fn arch_text(out: &mut String, a: &ArchReport) {
    let t = &a.transition;
    let _ = writeln!(
        out,
        "\n{}: {} moving source(s); {} binaries dropped, {} new, {} renamed",
        t.arch,
        t.moving.len(),
        t.dropped.len(),
        t.added.len(),
        t.renames.len()
    );
    if !t.cruft.is_empty() {
        let names: Vec<&str> = t.cruft.iter().map(|c| c.binary.as_str()).collect();
        let _ = writeln!(
            out,
            "  cruft of older versions, removed too: {}",
            names.join(", ")
        );
    }
    for r in &t.renames {
        let _ = writeln!(out, "  rename   {} -> {} ({})", r.old, r.new, r.source);
    }
    let renamed = |b: &str| t.renames.iter().any(|r| r.old == b || r.new == b);
    for c in t.dropped.iter().filter(|c| !renamed(&c.binary)) {
        let _ = writeln!(out, "  dropped  {} ({})", c.binary, c.source);
    }
    for c in t.added.iter().filter(|c| !renamed(&c.binary)) {
        let _ = writeln!(out, "  new      {} ({})", c.binary, c.source);
    }
    for l in &t.left_behind {
        let _ = writeln!(
            out,
            "  LEFT BEHIND {} {}: Build-Depends {} (no longer built by {})",
            l.source,
            l.version,
            l.relation,
            l.built_by.join(", ")
        );
    }
    dependents_text(out, "binNMU", &t.binnmus);
    dependents_text(out, "sourceful upload (arch:all)", &t.sourceful);
    rebuilds_text(out, t);
    if let Some(rs) = &a.rebuilt {
        rebuilt_text(out, rs);
    }
    if let Some(i) = &a.installability {
        installability_text(out, i);
    }
}

fn dependents_text(out: &mut String, what: &str, ds: &[Dependent]) {
    for d in ds {
        let _ = writeln!(
            out,
            "  {what} {} {}: {} depend(s) on {}",
            d.source,
            d.version,
            d.binaries.join(", "),
            d.on.join(", ")
        );
    }
}

fn rebuilds_text(out: &mut String, t: &ArchTransition) {
    let transitive = t
        .rebuilds_transitive
        .map_or(String::new(), |n| format!(", {n} through the closure"));
    let _ = writeln!(
        out,
        "  rebuilds: {} outside source(s) build-depend on the stack directly{transitive}; selected {}",
        t.rebuilds_direct,
        t.rebuilds.len()
    );
    for r in &t.rebuilds {
        let _ = writeln!(out, "    {} (via {})", r.source, r.via.join(", "));
    }
}

/// The verdict of one rebuild in a line: the recheck's outcome after a
/// regression's, so both failures are read side by side.
pub fn rebuilt_line(r: &Rebuilt) -> String {
    let why = crate::report::model::explain_outcome(&r.outcome);
    let recheck = r.recheck.as_ref().map(|o| {
        format!(
            "; without the new stack: {}",
            crate::report::model::explain_outcome(o)
        )
    });
    match r.verdict {
        Verdict::Ok => "ok".into(),
        _ => format!(
            "{}: {why}{}",
            r.verdict.label(),
            recheck.unwrap_or_default()
        ),
    }
}

fn rebuilt_text(out: &mut String, rs: &[Rebuilt]) {
    let count = |v: Verdict| rs.iter().filter(|r| r.verdict == v).count();
    let _ = writeln!(
        out,
        "  rebuilt against the new stack: {} ok, {} regression(s), {} already failing, {} other",
        count(Verdict::Ok),
        count(Verdict::Regression),
        count(Verdict::AlreadyFailing),
        rs.len() - count(Verdict::Ok) - count(Verdict::Regression) - count(Verdict::AlreadyFailing)
    );
    for r in rs {
        let _ = writeln!(out, "    {} {}: {}", r.source, r.version, rebuilt_line(r));
    }
}

fn installability_text(out: &mut String, i: &Installability) {
    let _ = writeln!(
        out,
        "  installability (dose-debcheck): {} checked, {} uninstallable",
        i.checked,
        i.broken.len()
    );
    for b in &i.broken {
        let _ = writeln!(out, "    {} {}: {}", b.package, b.version, b.reason);
    }
    if !i.not_in_new.is_empty() {
        let _ = writeln!(
            out,
            "    not checked (no new .deb on this arch): {}",
            i.not_in_new.join(", ")
        );
    }
}

/// Markdown: a summary table per arch, then the nmu lines.
pub fn markdown(t: &Transition) -> String {
    let mut out = format!(
        "# Transition of {} into {}\n\nNew binaries from {}.\n\n",
        t.stack, t.base_suite, t.new_from
    );
    out.push_str("| arch | moving | dropped | new | renamed | binNMUs | sourceful | rebuilds (direct / closure) | left behind | uninstallable |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for a in &t.arches {
        let x = &a.transition;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} / {} | {} | {} |",
            x.arch,
            x.moving.len(),
            x.dropped.len(),
            x.added.len(),
            x.renames.len(),
            x.binnmus.len(),
            x.sourceful.len(),
            x.rebuilds_direct,
            x.rebuilds_transitive
                .map_or("–".to_string(), |n| n.to_string()),
            x.left_behind.len(),
            a.installability
                .as_ref()
                .map_or("–".to_string(), |i| i.broken.len().to_string()),
        );
    }
    rebuilt_markdown(&mut out, t);
    let nmus = nmu_lines(t, &t.base_suite);
    if !nmus.is_empty() {
        out.push_str("\n```\n");
        for l in nmus {
            let _ = writeln!(out, "{l}");
        }
        out.push_str("```\n");
    }
    out
}

/// The rebuilds as a matrix: outside sources × arch, each cell a verdict.
fn rebuilt_markdown(out: &mut String, t: &Transition) {
    let Some((arches, rows)) = rebuilt_matrix(t) else {
        return;
    };
    out.push_str("\n## Rebuilds against the new stack (recheck against the base suite)\n\n| source | version |");
    for a in &arches {
        let _ = write!(out, " {} |", a.transition.arch);
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(arches.len()));
    out.push('\n');
    for ((source, version), cells) in rows {
        let _ = write!(out, "| {source} | {version} |");
        for a in &arches {
            let cell = cells
                .get(a.transition.arch.as_str())
                .map_or("–".to_string(), |r| md_cell(&rebuilt_line(r)));
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
}

/// One row of the rebuild matrix: (source, version) → arch → its rebuild.
pub type MatrixRows<'t> = BTreeMap<(&'t str, &'t str), BTreeMap<&'t str, &'t Rebuilt>>;

/// The rebuilds as a matrix, for Markdown and HTML: the arches that were
/// rebuilt (columns) and the outside sources (rows); `None` without
/// `--rebuild`.
pub fn rebuilt_matrix(t: &Transition) -> Option<(Vec<&ArchReport>, MatrixRows<'_>)> {
    let arches: Vec<&ArchReport> = t.arches.iter().filter(|a| a.rebuilt.is_some()).collect();
    if arches.is_empty() {
        return None;
    }
    let mut rows: MatrixRows<'_> = BTreeMap::new();
    for a in &arches {
        for r in a.rebuilt.iter().flatten() {
            let row = rows.entry((&r.source, &r.version)).or_default();
            row.insert(a.transition.arch.as_str(), r);
        }
    }
    Some((arches, rows))
}

/// A table cell: `|` escaped, newlines folded.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

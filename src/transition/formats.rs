//! The transition as JUnit (one test suite per arch: each rebuild, each
//! left-behind source and each uninstallable package a test case) and as an
//! HTML page (the summary per arch, the matrix of outside sources × arch
//! with each rebuild's verdict, the binNMUs); and the comparison with an
//! earlier transition report (`--since`), pure over two documents.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Deserialize;

use super::rebuild::Verdict;
use super::render::{Transition, nmu_lines, rebuilt_line, rebuilt_matrix};
use crate::report::html::{CSS, esc};

/// JUnit XML: GitLab lists each rebuild and each problem in merge requests.
pub fn junit(t: &Transition) -> Result<String, quick_junit::SerializeError> {
    let mut junit = quick_junit::Report::new(format!("transition of {}", t.stack));
    for a in &t.arches {
        let mut suite = TestSuite::new(format!("transition {}", a.transition.arch));
        for r in a.rebuilt.iter().flatten() {
            let line = rebuilt_line(r);
            let status = match r.verdict {
                Verdict::Ok => TestCaseStatus::success(),
                Verdict::Regression => failure(line, "regression"),
                _ => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(line);
                    s
                }
            };
            suite.add_test_case(case(&a.transition.arch, "rebuild", &r.source, status));
        }
        for l in &a.transition.left_behind {
            let why = format!(
                "Build-Depends {} (no longer built by {})",
                l.relation,
                l.built_by.join(", ")
            );
            let status = failure(why, "left-behind");
            suite.add_test_case(case(&a.transition.arch, "left-behind", &l.source, status));
        }
        for b in a.installability.iter().flat_map(|i| &i.broken) {
            let status = failure(b.reason.clone(), "uninstallable");
            suite.add_test_case(case(&a.transition.arch, "installable", &b.package, status));
        }
        junit.add_test_suite(suite);
    }
    junit.set_time(Duration::ZERO);
    junit.to_string()
}

fn failure(message: String, kind: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(message).set_type(kind.to_string());
    s
}

fn case(arch: &crate::arch::Arch, what: &str, name: &str, status: TestCaseStatus) -> TestCase {
    let mut c = TestCase::new(name.to_string(), status);
    c.set_classname(format!("{arch}.{what}"));
    c
}

/// The HTML page.
pub fn html(t: &Transition) -> String {
    let title = format!("Transition of {} into {}", t.stack, t.base_suite);
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>\n{CSS}.c-regression{{background:#f6b8b8}}\n.c-already-failing{{background:#f7e3b0}}\n.c-unavailable,.c-unchecked{{background:#e8e8e8;color:#666}}\n</style>\n</head>\n<body>\n<h1>{0}</h1>\n<p>New binaries from {1}.</p>\n",
        esc(&title),
        esc(&t.new_from)
    );
    summary(&mut h, t);
    matrix(&mut h, t);
    let nmus = nmu_lines(t, &t.base_suite);
    if !nmus.is_empty() {
        h.push_str("<h2>binNMUs</h2>\n<pre>");
        for l in nmus {
            let _ = writeln!(h, "{}", esc(&l));
        }
        h.push_str("</pre>\n");
    }
    h.push_str("</body>\n</html>\n");
    h
}

fn summary(h: &mut String, t: &Transition) {
    h.push_str("<table>\n<tr><th>arch</th><th>moving</th><th>dropped</th><th>new</th><th>renamed</th><th>binNMUs</th><th>rebuilds (direct / closure)</th><th>left behind</th><th>uninstallable</th></tr>\n");
    for a in &t.arches {
        let x = &a.transition;
        let closure = x.rebuilds_transitive.map_or("–".into(), |n| n.to_string());
        let broken = a
            .installability
            .as_ref()
            .map_or("–".into(), |i| i.broken.len().to_string());
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {closure}</td><td>{}</td><td>{broken}</td></tr>",
            esc(x.arch.as_str()),
            x.moving.len(),
            x.dropped.len(),
            x.added.len(),
            x.renames.len(),
            x.binnmus.len(),
            x.rebuilds_direct,
            x.left_behind.len(),
        );
    }
    h.push_str("</table>\n");
    for a in &t.arches {
        for l in &a.transition.left_behind {
            let _ = writeln!(
                h,
                "<p class=\"bad\">{}: {} {} is left behind: Build-Depends {}</p>",
                esc(a.transition.arch.as_str()),
                esc(&l.source),
                esc(&l.version),
                esc(&l.relation)
            );
        }
    }
}

/// Outside sources × arch, each cell the rebuild's verdict.
fn matrix(h: &mut String, t: &Transition) {
    let Some((arches, rows)) = rebuilt_matrix(t) else {
        return;
    };
    h.push_str(
        "<h2>Rebuilds against the new stack</h2>\n<table>\n<tr><th>source</th><th>version</th>",
    );
    for a in &arches {
        let _ = write!(h, "<th>{}</th>", esc(a.transition.arch.as_str()));
    }
    h.push_str("</tr>\n");
    for ((source, version), cells) in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"v\">{}</td>",
            esc(source),
            esc(version)
        );
        for a in &arches {
            match cells.get(a.transition.arch.as_str()) {
                Some(r) => {
                    let class = verdict_class(r.verdict);
                    let _ = write!(
                        h,
                        "<td class=\"cell c-{class}\" data-source=\"{}\" data-verdict=\"{class}\" title=\"{}\">{}</td>",
                        esc(source),
                        esc(&rebuilt_line(r)),
                        esc(r.verdict.label())
                    );
                }
                None => h.push_str("<td class=\"cell c-excluded\">–</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// The verdict's JSON name (`already-failing`), which is also its CSS class.
pub fn verdict_class(v: Verdict) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// What an earlier transition report (`transition.json`) says, as far as
/// the comparison reads it.
#[derive(Debug, Deserialize)]
pub struct Earlier {
    pub arches: Vec<EarlierArch>,
}

#[derive(Debug, Deserialize)]
pub struct EarlierArch {
    pub arch: String,
    #[serde(default)]
    pub rebuilt: Option<Vec<EarlierRebuilt>>,
}

#[derive(Debug, Deserialize)]
pub struct EarlierRebuilt {
    pub source: String,
    pub verdict: String,
}

/// One rebuild whose verdict changed since the earlier report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub source: String,
    pub arch: String,
    pub before: String,
    pub now: String,
}

/// The rebuilds whose verdict changed since `earlier` (a new source
/// counts as `new` before): new regressions first, then the rest.
pub fn since(earlier: &Earlier, now: &Transition) -> Vec<Change> {
    let mut was: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for a in &earlier.arches {
        for r in a.rebuilt.iter().flatten() {
            was.insert((&a.arch, &r.source), &r.verdict);
        }
    }
    let mut out: Vec<Change> = Vec::new();
    for a in &now.arches {
        for r in a.rebuilt.iter().flatten() {
            let now_v = verdict_class(r.verdict);
            let before = was
                .get(&(a.transition.arch.as_str(), r.source.as_str()))
                .copied();
            if before != Some(now_v.as_str()) {
                out.push(Change {
                    source: r.source.clone(),
                    arch: a.transition.arch.to_string(),
                    before: before.unwrap_or("new").to_string(),
                    now: now_v,
                });
            }
        }
    }
    out.sort_by_key(|c| (c.now != "regression", c.source.clone(), c.arch.clone()));
    out
}

/// The comparison in lines, for the terminal and Markdown.
pub fn since_text(changes: &[Change], path: &str) -> String {
    let mut out = format!(
        "\nSince {path}: {} rebuild verdict(s) changed\n",
        changes.len()
    );
    for c in changes {
        let mark = if c.now == "regression" {
            "NEW REGRESSION "
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {mark}{}/{}: {} -> {}",
            c.source, c.arch, c.before, c.now
        );
    }
    out
}

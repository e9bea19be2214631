//! The terminal table: package rows × architecture columns, each cell the
//! class and duration; then one line per cell that is not plain ok.
//! Colour only when asked (the caller checks for a TTY).

use std::fmt::Write;

use super::model::{
    Regressions, Report, TEST_GROUP_TITLES, display_class, explain, format_duration, test_summary,
};
use crate::events::BuildResult;

fn colour(class: &str) -> &'static str {
    match class {
        "ok" => "\x1b[32m",
        "failed" | "test-failed" | "build-dep-unsatisfiable" | "timeout" => "\x1b[31;1m",
        "expected-failure" | "skipped" | "cancelled" => "\x1b[33m",
        _ => "\x1b[2m",
    }
}
const RESET: &str = "\x1b[0m";

/// Renders the table and the details.
pub fn render(report: &Report, colours: bool) -> String {
    let mut out = table(&matrix(report), colours);
    failures(&mut out, report);
    tests(&mut out, report, colours);
    if let Some(reg) = &report.regressions {
        regressions(&mut out, reg);
    }
    if let Some(line) = time_by_phase(report) {
        out.push('\n');
        out.push_str(&line);
    }
    let _ = writeln!(
        out,
        "\n{} in {}{}",
        report.counts_line(),
        format_duration(report.duration_secs),
        if report.has_unexpected_failures() {
            " — unexpected failures"
        } else {
            ""
        }
    );
    out
}

/// A table cell: its text and colour (empty: none).
type Cell = (String, &'static str);

/// The header row, then a row per package: a cell per arch.
fn matrix(report: &Report) -> Vec<Vec<Cell>> {
    let archs = report.archs();
    let mut header = vec![("package".to_string(), ""), ("version".to_string(), "")];
    header.extend(archs.iter().map(|a| (a.clone(), "")));
    let mut rows = vec![header];
    for p in &report.packages() {
        let version = report.row_version(p);
        let mut row = vec![(p.clone(), ""), (version.clone(), "")];
        row.extend(archs.iter().map(|a| match report.cell(p, a) {
            None => ("-".to_string(), ""),
            Some(r) => cell(r, &version),
        }));
        rows.push(row);
    }
    rows
}

/// Class, duration, reuse and a version other than the row's.
fn cell(r: &BuildResult, row_version: &str) -> Cell {
    let class = display_class(r);
    let mut s = class.to_string();
    if r.duration_secs > 0.0 {
        s.push_str(&format!(" {}", format_duration(r.duration_secs)));
    }
    if r.reused {
        s.push_str(" (reused)");
    }
    if r.version != row_version {
        s.push_str(&format!(" [{}]", r.version));
    }
    (s, colour(class))
}

/// Columns padded to their widest cell, a rule under the header.
fn table(rows: &[Vec<Cell>], colours: bool) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].0.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, (text, col)) in row.iter().enumerate() {
            let pad = widths[c] - text.chars().count();
            let sep = if c + 1 == row.len() { "" } else { "  " };
            if colours && !col.is_empty() {
                let _ = write!(line, "{col}{text}{RESET}{}{sep}", " ".repeat(pad));
            } else {
                let _ = write!(line, "{text}{}{sep}", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// A line per cell that is not ok, with its log.
fn failures(out: &mut String, report: &Report) {
    let not_ok = report.not_ok();
    if not_ok.is_empty() {
        return;
    }
    out.push('\n');
    for r in not_ok {
        let _ = write!(out, "{}/{}: {}", r.source, r.arch, explain(r));
        if let Some(log) = &r.log {
            let _ = write!(out, "\n    log: {}", log.display());
        }
        out.push('\n');
    }
}

/// The test stage: a row per tested package, a cell per arch, then a
/// line per cell with unexpected failures.
fn tests(out: &mut String, report: &Report, colours: bool) {
    let Some(line) = report.tests_line() else {
        return;
    };
    let archs = report.archs();
    let mut header = vec![("tests".to_string(), "")];
    header.extend(archs.iter().map(|a| (a.clone(), "")));
    let mut rows = vec![header];
    for p in report.packages() {
        let cells: Vec<Cell> = (archs.iter())
            .map(|a| match report.test_cell(&p, a) {
                None => ("-".to_string(), ""),
                Some(t) => (test_summary(t), test_colour(&t.status)),
            })
            .collect();
        if cells.iter().any(|(c, _)| c != "-") {
            rows.push([vec![(p.clone(), "")], cells].concat());
        }
    }
    out.push('\n');
    out.push_str(&table(&rows, colours));
    for t in report.failed_tests() {
        let _ = writeln!(
            out,
            "{}/{} tests: {}",
            t.source,
            t.arch,
            t.unexpected.join("; ")
        );
    }
    let _ = writeln!(out, "{line}");
}

fn test_colour(status: &str) -> &'static str {
    match status {
        "pass" => colour("ok"),
        "fail" | "tmpfail" | "error" | "bad-package" => colour("failed"),
        "expected-fail" | "skipped" => colour("skipped"),
        _ => "",
    }
}

fn regressions(out: &mut String, reg: &Regressions) {
    out.push('\n');
    let _ = writeln!(out, "Compared with {}:", reg.since.display());
    let titles = [
        "newly failing",
        "newly fixed",
        "still failing",
        "expected to fail but built (drop the expectation)",
    ];
    for (title, list) in titles.into_iter().zip(reg.groups()) {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}:");
        for c in list {
            let _ = writeln!(
                out,
                "    {}/{}: {} -> {}",
                c.source,
                c.arch,
                c.old_class.as_deref().unwrap_or("(absent)"),
                c.new_class
            );
        }
    }
    for (title, list) in TEST_GROUP_TITLES.into_iter().zip(reg.test_groups()) {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {title}:");
        for c in list {
            let _ = writeln!(out, "    {}/{}: {}", c.source, c.arch, c.describe("->"));
        }
    }
    if reg.is_empty() {
        out.push_str("  nothing changed\n");
    }
}

/// Where the builds of this run spent their time, from their logs' phases
/// (reused results took none of this run's time).
fn time_by_phase(report: &Report) -> Option<String> {
    let phases: Vec<&crate::timing::Phases> = report
        .results
        .iter()
        .filter(|r| !r.reused)
        .filter_map(|r| r.stats.as_ref()?.phases.as_ref())
        .collect();
    if phases.is_empty() {
        return None;
    }
    let t = crate::timing::sum(phases.iter().copied());
    Some(format!(
        "sbuild phases, {} build{}: {} (of {} s)\n",
        phases.len(),
        if phases.len() == 1 { "" } else { "s" },
        crate::timing::describe(&t),
        t.total
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{compare, fixtures};

    #[test]
    fn the_demo_table() {
        insta::assert_snapshot!(render(&fixtures::demo(), false));
    }

    #[test]
    fn colours_only_when_asked() {
        assert!(render(&fixtures::demo(), true).contains("\x1b[31;1mfailed"));
        assert!(!render(&fixtures::demo(), false).contains('\x1b'));
    }

    #[test]
    fn with_regressions() {
        let old = fixtures::demo();
        let mut new = fixtures::demo();
        new.results[2].outcome = crate::events::Outcome::Ok;
        new.results[3].outcome = crate::events::Outcome::Timeout;
        new.regressions = Some(compare(&old, &new, std::path::Path::new("/srv/old")));
        insta::assert_snapshot!(render(&new, false));
    }

    #[test]
    fn time_by_phase_of_the_builds_this_run_made() {
        let mut r = fixtures::demo();
        assert!(!render(&r, false).contains("sbuild phases"));
        let p = |setup, cleanup| crate::timing::Phases {
            setup,
            install_deps: 20,
            build: 5,
            cleanup,
            total: setup + 25 + cleanup,
            ..Default::default()
        };
        for (i, (setup, cleanup)) in [(10, 30), (12, 40), (99, 99)].into_iter().enumerate() {
            r.results[i].stats = Some(Box::new(crate::timing::BuildStats {
                phases: Some(p(setup, cleanup)),
                ccache: None,
            }));
        }
        r.results[2].reused = true;
        assert!(
            render(&r, false).contains(
                "\nsbuild phases, 2 builds: setup 22 s, build-deps 40 s, build 10 s, cleanup 70 s (of 142 s)\n"
            ),
            "{}",
            render(&r, false)
        );
    }
}

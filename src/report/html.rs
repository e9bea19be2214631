//! A self-contained HTML page (inline CSS, no script): the package × arch
//! matrix coloured by class, with versions, durations and links to the logs
//! relative to where the page is written, a legend, and the details.

use std::fmt::Write;
use std::path::Path;

use super::model::{
    CLASSES, Regressions, Report, TEST_GROUP_TITLES, display_class, explain, format_duration,
    relative_to, test_summary,
};
use crate::events::BuildResult;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const CSS: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.cell{min-width:8em}
td.cell a{color:inherit}
.v{font-family:monospace;font-size:.9em}
.d{font-size:.85em;opacity:.8}
.c-ok{background:#c8f0c8}
.c-failed,.c-test-failed,.c-build-dep-unsatisfiable,.c-timeout{background:#f6b8b8}
.c-expected-failure{background:#f7e3b0}
.c-skipped{background:#fbf1c7}
.c-cancelled{background:#e0d7f0}
.c-excluded,.c-blocked{background:#e8e8e8;color:#666}
.summary{font-size:1.1em}
.bad{color:#b00;font-weight:bold}
ul.details li{margin:.3em 0}
";

/// Renders the page; `report_dir` is where it will be written (for links).
pub fn render(report: &Report, report_dir: &Path) -> String {
    let title = match &report.stack {
        Some(s) => format!("cascade: {s}"),
        None => "cascade report".to_string(),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<p class=\"summary\" id=\"summary\">{} in {}{}</p>",
        esc(&report.counts_line()),
        format_duration(report.duration_secs),
        if report.has_unexpected_failures() {
            " — <span class=\"bad\">unexpected failures</span>"
        } else {
            ""
        }
    );
    matrix(&mut h, report, report_dir);
    legend(&mut h);
    details(&mut h, report, report_dir);
    tests(&mut h, report, report_dir);
    if let Some(reg) = &report.regressions {
        regressions(&mut h, reg);
    }
    h.push_str("</body>\n</html>\n");
    h
}

/// The test stage: a row per tested package, a cell per arch linked to
/// the autopkgtest log (`tests/PKG_ARCH/autopkgtest.log`).
fn tests(h: &mut String, report: &Report, report_dir: &Path) {
    let Some(line) = report.tests_line() else {
        return;
    };
    let archs = report.archs();
    let _ = write!(
        h,
        "<h2>Tests</h2>\n<p id=\"tests-summary\">{}</p>\n<table id=\"tests\">\n<thead><tr><th>package</th>",
        esc(&line)
    );
    for a in &archs {
        let _ = write!(h, "<th>{}</th>", esc(a));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let run = crate::rundir::RunDir::new(&report.run_dir);
    for p in report.packages() {
        if !archs.iter().any(|a| report.test_cell(&p, a).is_some()) {
            continue;
        }
        let _ = write!(h, "<tr><th>{}</th>", esc(&p));
        for a in &archs {
            let Some(t) = report.test_cell(&p, a) else {
                h.push_str("<td class=\"cell\">–</td>");
                continue;
            };
            let log = relative_to(&run.test_log(&t.source, &t.arch), report_dir);
            let _ = write!(
                h,
                "<td class=\"cell t-{}\" data-source=\"{}\" data-arch=\"{}\" data-status=\"{}\" title=\"{}\"><a href=\"{}\">{}</a></td>",
                esc(&t.status),
                esc(p.as_str()),
                esc(a),
                esc(&t.status),
                esc(&t.unexpected.join("; ")),
                esc(&log.display().to_string()),
                esc(&test_summary(t))
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

/// The package × arch table.
fn matrix(h: &mut String, report: &Report, report_dir: &Path) {
    let archs = report.archs();
    h.push_str("<table id=\"matrix\">\n<thead><tr><th>package</th><th>version</th>");
    for a in &archs {
        let _ = write!(h, "<th>{}</th>", esc(a));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for p in report.packages() {
        let version = report.row_version(&p);
        let _ = write!(
            h,
            "<tr><th>{}</th><td class=\"v\">{}</td>",
            esc(&p),
            esc(&version)
        );
        for a in &archs {
            match report.cell(&p, a) {
                None => h.push_str("<td class=\"cell\">–</td>"),
                Some(r) => cell(h, r, (&p, a, &version), report_dir),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
}

/// One cell of row `p`, column `a`: its class (linked to the log), a
/// version other than the row's, the duration.
fn cell(
    h: &mut String,
    r: &BuildResult,
    (p, a, row_version): (&str, &str, &str),
    report_dir: &Path,
) {
    let class = display_class(r);
    let _ = write!(
        h,
        "<td class=\"cell c-{class}\" data-source=\"{}\" data-arch=\"{}\" data-class=\"{class}\" title=\"{}\">",
        esc(p),
        esc(a),
        esc(&explain(r))
    );
    match &r.log {
        Some(log) => {
            let href = relative_to(log, report_dir);
            let _ = write!(
                h,
                "<a href=\"{}\">{class}</a>",
                esc(&href.to_string_lossy())
            );
        }
        None => h.push_str(class),
    }
    if r.version != row_version {
        let _ = write!(h, " <span class=\"v\">{}</span>", esc(&r.version));
    }
    if r.duration_secs > 0.0 {
        let _ = write!(
            h,
            "<br><span class=\"d\">{}{}</span>",
            format_duration(r.duration_secs),
            if r.reused { " (reused)" } else { "" }
        );
    }
    h.push_str("</td>");
}

fn legend(h: &mut String) {
    h.push_str("<h2>Legend</h2>\n<table id=\"legend\">\n");
    for (class, meaning) in CLASSES {
        let _ = writeln!(
            h,
            "<tr><td class=\"cell c-{class}\">{class}</td><td>{}</td></tr>",
            esc(meaning)
        );
    }
    h.push_str("</table>\n");
}

/// A line per cell that is not ok, with its log.
fn details(h: &mut String, report: &Report, report_dir: &Path) {
    let not_ok = report.not_ok();
    if not_ok.is_empty() {
        return;
    }
    h.push_str("<h2>Details</h2>\n<ul class=\"details\">\n");
    for r in not_ok {
        let _ = write!(
            h,
            "<li><b>{}/{}</b>: {}",
            esc(&r.source),
            esc(r.arch.as_str()),
            esc(&explain(r))
        );
        if let Some(log) = &r.log {
            let href = relative_to(log, report_dir);
            let _ = write!(h, " (<a href=\"{}\">log</a>)", esc(&href.to_string_lossy()));
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ul>\n");
}

fn regressions(h: &mut String, reg: &Regressions) {
    let _ = writeln!(
        h,
        "<h2>Compared with {}</h2>",
        esc(&reg.since.to_string_lossy())
    );
    h.push_str("<ul id=\"regressions\">\n");
    let titles = [
        "newly failing",
        "newly fixed",
        "still failing",
        "expected to fail but built: drop the expectation",
    ];
    for (title, list) in titles.into_iter().zip(reg.groups()) {
        for c in list {
            let _ = writeln!(
                h,
                "<li>{title}: <b>{}/{}</b> {} → {}</li>",
                esc(&c.source),
                esc(&c.arch),
                esc(c.old_class.as_deref().unwrap_or("(absent)")),
                esc(&c.new_class)
            );
        }
    }
    for (title, list) in TEST_GROUP_TITLES.into_iter().zip(reg.test_groups()) {
        for c in list {
            let _ = writeln!(
                h,
                "<li>{title}: <b>{}/{}</b> {}</li>",
                esc(&c.source),
                esc(&c.arch),
                esc(&c.describe("→"))
            );
        }
    }
    h.push_str("</ul>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures;

    #[test]
    fn the_demo_page() {
        insta::assert_snapshot!(render(&fixtures::demo(), Path::new("/srv/run")));
    }

    #[test]
    fn text_is_escaped() {
        let mut rep = fixtures::demo();
        rep.stack = Some("<script>".into());
        let page = render(&rep, Path::new("/srv/run"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<script>"));
    }
}

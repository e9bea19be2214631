//! A Markdown summary for CI job pages and merge-request comments: the
//! counts, the matrix, and what needs attention.

use std::fmt::Write;

use super::model::{
    Regressions, Report, TEST_GROUP_TITLES, display_class, explain, format_duration, test_summary,
};

fn badge(class: &str) -> &'static str {
    match class {
        "ok" => "✅",
        "failed" | "test-failed" | "build-dep-unsatisfiable" | "timeout" => "❌",
        "expected-failure" => "⚠️",
        "skipped" | "cancelled" => "⏭️",
        _ => "➖",
    }
}

/// Table cells must not break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut m = String::new();
    let title = report.stack.as_deref().unwrap_or("cascade run");
    let _ = writeln!(m, "## {}\n", cell(title));
    let _ = writeln!(
        m,
        "**{}** in {}{}\n",
        report.counts_line(),
        format_duration(report.duration_secs),
        if report.has_unexpected_failures() {
            " — **unexpected failures**"
        } else {
            ""
        }
    );
    matrix(&mut m, report);
    let not_ok = report.not_ok();
    if !not_ok.is_empty() {
        m.push_str("\n### Details\n\n");
        for r in not_ok {
            let _ = writeln!(m, "- **{}/{}**: {}", r.source, r.arch, cell(&explain(r)));
        }
    }
    tests(&mut m, report);
    if let Some(reg) = &report.regressions {
        regressions(&mut m, reg);
    }
    m
}

/// The test stage: a row per tested package, a column per arch.
fn tests(m: &mut String, report: &Report) {
    let Some(line) = report.tests_line() else {
        return;
    };
    let archs = report.archs();
    let _ = write!(m, "\n### Tests\n\n{line}\n\n| package |");
    for a in &archs {
        let _ = write!(m, " {a} |");
    }
    m.push_str("\n|---|");
    m.push_str(&"---|".repeat(archs.len()));
    m.push('\n');
    for p in report.packages() {
        let cells: Vec<String> = (archs.iter())
            .map(|a| {
                report
                    .test_cell(&p, a)
                    .map(test_summary)
                    .unwrap_or_default()
            })
            .collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let _ = writeln!(
            m,
            "| {} | {} |",
            cell(&p),
            cells
                .iter()
                .map(|c| cell(c))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    for t in report.failed_tests() {
        let _ = writeln!(
            m,
            "\n- **{}/{}** tests: {}",
            t.source,
            t.arch,
            cell(&t.unexpected.join("; "))
        );
    }
}

/// The matrix: a row per package, a column per arch, a badge per cell.
fn matrix(m: &mut String, report: &Report) {
    let archs = report.archs();
    m.push_str("| package | version |");
    for a in &archs {
        let _ = write!(m, " {a} |");
    }
    m.push_str("\n|---|---|");
    for _ in &archs {
        m.push_str("---|");
    }
    m.push('\n');
    for p in report.packages() {
        let _ = write!(m, "| {} | `{}` |", cell(&p), report.row_version(&p));
        for a in &archs {
            match report.cell(&p, a) {
                None => m.push_str(" |"),
                Some(r) => {
                    let class = display_class(r);
                    let _ = write!(m, " {} {class}", badge(class));
                    if r.duration_secs > 0.0 {
                        let _ = write!(m, " ({})", format_duration(r.duration_secs));
                    }
                    m.push_str(" |");
                }
            }
        }
        m.push('\n');
    }
}

/// What changed since the compared run, by kind of change.
fn regressions(m: &mut String, reg: &Regressions) {
    let _ = writeln!(m, "\n### Compared with `{}`\n", reg.since.display());
    if reg.is_empty() {
        m.push_str("Nothing changed.\n");
    }
    let titles = [
        "Newly failing",
        "Newly fixed",
        "Still failing",
        "Expected to fail but built — drop the expectation",
    ];
    for (title, list) in titles.into_iter().zip(reg.groups()) {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(m, "**{title}**:");
        for c in list {
            let _ = writeln!(
                m,
                "- {}/{}: {} → {}",
                c.source,
                c.arch,
                c.old_class.as_deref().unwrap_or("(absent)"),
                c.new_class
            );
        }
        m.push('\n');
    }
    for (title, list) in TEST_GROUP_TITLES.into_iter().zip(reg.test_groups()) {
        if list.is_empty() {
            continue;
        }
        let mut title = title.to_string();
        title[..1].make_ascii_uppercase();
        let _ = writeln!(m, "**{title}**:");
        for c in list {
            let _ = writeln!(m, "- {}/{}: {}", c.source, c.arch, cell(&c.describe("→")));
        }
        m.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::fixtures;

    #[test]
    fn the_demo_summary() {
        insta::assert_snapshot!(render(&fixtures::demo()));
    }
}

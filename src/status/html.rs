//! The survey as a self-contained HTML page (inline CSS, no script), in
//! the look of the run report's page: one row per package, per arch one
//! cell per suite, coloured by state; the frontier and the counts below.

use std::fmt::Write;

use super::compute::{Cell, Status};
use super::text::{blocked_chains, counts_line};
use crate::frontier::{ByArch, render::roots_text};
use crate::report::html::{CSS, esc};

/// Colours for the states, on top of the report page's CSS.
const STATUS_CSS: &str = "\
.s-built{background:#c8f0c8}
.s-out-of-date{background:#f7e3b0}
.s-missing{background:#f6b8b8}
.s-excluded,.s-absent{background:#e8e8e8;color:#666}
.s-all{background:#dde8f6}
td.lag{color:#b00;font-weight:bold}
#matrix th,#matrix td{white-space:nowrap}
";

const STATES: &[(&str, &str)] = &[
    (
        "built",
        "arch-dependent binaries at the suite's source version",
    ),
    (
        "out-of-date",
        "only binaries of an older source version (shown)",
    ),
    (
        "missing",
        "the Architecture field includes the arch, no binaries",
    ),
    ("excluded", "the Architecture field leaves the arch out"),
    ("all", "the source builds only Architecture: all packages"),
    ("absent", "the suite has no such source"),
];

fn cell_html(h: &mut String, source: &str, suite: &str, arch: &str, cell: &Cell) {
    let name = cell.name();
    let _ = write!(
        h,
        "<td class=\"cell s-{name}\" data-source=\"{}\" data-suite=\"{}\" data-arch=\"{}\" data-state=\"{name}\">{name}",
        esc(source),
        esc(suite),
        esc(arch)
    );
    if let Cell::OutOfDate { seen } = cell {
        let _ = write!(h, "<br><span class=\"v\">{}</span>", esc(seen));
    }
    h.push_str("</td>");
}

pub fn render(status: &Status) -> String {
    render_with(status, &ByArch::new())
}

/// [`render`], with each blocked source's blocker chains under it and each
/// arch's roots after its frontier, as `plan --port` prints them.
pub fn render_with(status: &Status, chains: &ByArch) -> String {
    let title = format!("cascade status: {}", status.stack);
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{CSS}{STATUS_CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let (u, e) = (&status.unstable_suite, &status.experimental_suite);
    h.push_str("<table id=\"matrix\">\n<thead><tr><th rowspan=\"2\">package</th><th rowspan=\"2\">unstable</th><th rowspan=\"2\">experimental</th><th rowspan=\"2\">target</th>");
    for a in &status.arches {
        let _ = write!(h, "<th colspan=\"2\">{}</th>", esc(a));
    }
    h.push_str("</tr>\n<tr>");
    for _ in &status.arches {
        let _ = write!(h, "<th>{}</th><th>{}</th>", esc(u), esc(e));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for p in &status.packages {
        let _ = write!(
            h,
            "<tr><th>{}</th><td class=\"v\">{}</td><td class=\"v\">{}</td><td class=\"v{}\">{}</td>",
            esc(&p.source),
            esc(p.unstable.version.as_deref().unwrap_or("–")),
            esc(p.experimental.version.as_deref().unwrap_or("–")),
            if p.experimental_lags { " lag" } else { "" },
            esc(&p.target)
        );
        for a in &status.arches {
            for (suite, s) in [(u, &p.unstable), (e, &p.experimental)] {
                match s.arches.get(a) {
                    Some(c) => cell_html(&mut h, &p.source, suite, a, c),
                    None => h.push_str("<td class=\"cell\"></td>"),
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n<p>A target in red: experimental lags it.</p>\n");
    h.push_str("<h2>Legend</h2>\n<table id=\"legend\">\n");
    for (state, meaning) in STATES {
        let _ = writeln!(
            h,
            "<tr><td class=\"cell s-{state}\">{state}</td><td>{}</td></tr>",
            esc(meaning)
        );
    }
    h.push_str("</table>\n");
    frontier_html(&mut h, status, chains);
    h.push_str("</ul>\n<h2>Summary</h2>\n<table id=\"summary\">\n<tr><th>suite</th><th>arch</th><th>counts</th></tr>\n");
    for suite in ["unstable", "experimental"] {
        for (arch, c) in status.summary.get(suite).into_iter().flatten() {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(suite),
                esc(arch),
                esc(&counts_line(c))
            );
        }
    }
    h.push_str("</table>\n</body>\n</html>\n");
    h
}

/// The porting frontier: per arch the ready sources, the blocked ones with
/// what they wait for and its chain, and the roots.
fn frontier_html(h: &mut String, status: &Status, chains: &ByArch) {
    let u = &status.unstable_suite;
    let _ = writeln!(
        h,
        "<h2>Porting frontier</h2>\n<p>Stack packages not built in {} on an architecture; <b>ready</b> when every build-dependency (Build-Depends, Build-Depends-Arch) is available there in {}.</p>\n<ul id=\"frontier\">",
        esc(u),
        esc(u)
    );
    for (arch, f) in &status.frontier {
        let mut shown = chains
            .get(arch)
            .map_or(Vec::new(), |c| vec![false; c.nodes.len()]);
        let ready: Vec<String> = f.ready.iter().map(|e| esc(&e.source)).collect();
        let _ = write!(
            h,
            "<li data-arch=\"{}\"><b>{}</b>: ready: {}",
            esc(arch),
            esc(arch),
            if ready.is_empty() {
                "(none)".to_string()
            } else {
                ready.join(", ")
            }
        );
        if !f.blocked.is_empty() {
            h.push_str("<ul>");
            for b in &f.blocked {
                let _ = write!(
                    h,
                    "<li>{} ({}) waits for: <span class=\"v\">{}</span>",
                    esc(&b.source),
                    esc(&b.state),
                    esc(&b.unsatisfied.join(", "))
                );
                if let Some(c) = chains.get(arch) {
                    let mut t = String::new();
                    blocked_chains(&mut t, c, &b.unsatisfied, 0, &mut shown);
                    pre(h, "chain", &t);
                }
                h.push_str("</li>");
            }
            h.push_str("</ul>");
        }
        if let Some(c) = chains.get(arch) {
            let mut t = String::new();
            roots_text(&mut t, c, 20);
            pre(h, "roots", &t);
        }
        h.push_str("</li>\n");
    }
}

/// A `<pre class="…">` of `text` unless empty.
fn pre(h: &mut String, class: &str, text: &str) {
    if !text.is_empty() {
        let _ = write!(h, "<pre class=\"{class}\">{}</pre>", esc(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_carry_their_state_and_text_is_escaped() {
        let mut s = crate::status::compute::tests::status();
        s.stack = "<stack & co>".into();
        let h = render(&s);
        assert!(h.contains("<title>cascade status: &lt;stack &amp; co&gt;</title>"));
        assert!(h.contains(
            "<td class=\"cell s-out-of-date\" data-source=\"rocblas\" data-suite=\"sid\" data-arch=\"amd64\" data-state=\"out-of-date\">out-of-date<br><span class=\"v\">6.4.4-3</span></td>"
        ));
        assert!(h.contains(
            "data-source=\"half\" data-suite=\"sid\" data-arch=\"riscv64\" data-state=\"all\""
        ));
        // rocm-hipamd's unsatisfied version constraint, escaped.
        assert!(h.contains("libhsa-runtime-dev (&gt;= 6.4)"));
        assert_eq!(
            h.matches("data-suite=\"sid\" data-arch=\"amd64\"").count(),
            4
        );
    }
}

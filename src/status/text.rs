//! The survey as plain text: the package table, the frontier per
//! architecture and the counts.

use std::fmt::Write;

use super::compute::{Cell, Counts, Frontier, Status};
use crate::frontier::{ByArch, Chains, render::chain_text_seen, render::roots_text};

/// The symbol of a cell in the text table.
pub fn symbol(cell: &Cell) -> &'static str {
    match cell {
        Cell::Built => "✓",
        Cell::OutOfDate { .. } => "old",
        Cell::Missing => "x",
        Cell::Excluded => "–",
        Cell::All => "all",
        Cell::Absent => ".",
    }
}

pub const LEGEND: &str = "✓ built at the source's version, old = out of date, x = missing, – = excluded by Architecture, all = arch:all only, . = not in the suite";

/// Pads by characters (the symbols are one column wide each), not bytes.
fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

pub fn render(status: &Status) -> String {
    render_with(status, &ByArch::new())
}

/// [`render`], with each blocked source's blocker chains under it and each
/// arch's roots after its frontier (the rendering of `plan --port`).
pub fn render_with(status: &Status, chains: &ByArch) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} and {} (per arch: {}/{})\n",
        status.stack,
        status.unstable_suite,
        status.experimental_suite,
        status.unstable_suite,
        status.experimental_suite
    );
    write_aligned(&mut out, &table_rows(status));
    let _ = writeln!(out, "\n{LEGEND}");
    out_of_date(&mut out, status);
    let _ = writeln!(
        out,
        "\nPorting frontier (not built in {}; build-dependencies checked against {}):",
        status.unstable_suite, status.unstable_suite
    );
    for (arch, f) in &status.frontier {
        arch_frontier(&mut out, arch, f, chains.get(arch));
    }
    summary(&mut out, status);
    out
}

/// The package table's header and one row per package.
fn table_rows(status: &Status) -> Vec<Vec<String>> {
    let mut header: Vec<String> = ["package", "unstable", "experimental", "target", "lag"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(status.arches.iter().cloned());
    let mut rows = vec![header];
    for p in &status.packages {
        let mut r = vec![
            p.source.clone(),
            p.unstable.version.clone().unwrap_or_else(|| "-".into()),
            p.experimental.version.clone().unwrap_or_else(|| "-".into()),
            p.target.clone(),
            if p.experimental_lags { "lags" } else { "" }.to_string(),
        ];
        for a in &status.arches {
            let u = p.unstable.arches.get(a).map_or(".", symbol);
            let e = p.experimental.arches.get(a).map_or(".", symbol);
            r.push(format!("{u}/{e}"));
        }
        rows.push(r);
    }
    rows
}

/// The rows in columns as wide as their widest cell, two spaces apart.
fn write_aligned(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
}

/// The out-of-date binaries, package by package and suite by suite, if any.
fn out_of_date(out: &mut String, status: &Status) {
    let olds: Vec<String> = status
        .packages
        .iter()
        .flat_map(|p| {
            [
                (&status.unstable_suite, &p.unstable),
                (&status.experimental_suite, &p.experimental),
            ]
            .into_iter()
            .flat_map(move |(suite, s)| {
                s.arches.iter().filter_map(move |(a, c)| match c {
                    Cell::OutOfDate { seen } => Some(format!(
                        "{}/{suite}/{a}: {seen} (source {})",
                        p.source,
                        s.version.as_deref().unwrap_or("?")
                    )),
                    _ => None,
                })
            })
        })
        .collect();
    if !olds.is_empty() {
        let _ = writeln!(out, "\nOut of date:");
        for o in olds {
            let _ = writeln!(out, "  {o}");
        }
    }
}

/// One arch's frontier: the ready sources, each blocked one with what it
/// waits for (and its blocker chains), then the roots.
fn arch_frontier(out: &mut String, arch: &str, f: &Frontier, chains: Option<&Chains>) {
    let mut shown = chains.map_or(Vec::new(), |c| vec![false; c.nodes.len()]);
    let ready: Vec<&str> = f.ready.iter().map(|e| e.source.as_str()).collect();
    let _ = writeln!(
        out,
        "  {arch}: ready: {}",
        if ready.is_empty() {
            "(none)".to_string()
        } else {
            ready.join(", ")
        }
    );
    for e in &f.blocked {
        let _ = writeln!(
            out,
            "    {} ({}) waits for: {}",
            e.source,
            e.state,
            e.unsatisfied.join(", ")
        );
        if let Some(c) = chains {
            blocked_chains(out, c, &e.unsatisfied, 3, &mut shown);
        }
    }
    if let Some(c) = chains.filter(|c| !c.roots.is_empty()) {
        out.push('\n');
        roots_text(out, c, 20);
    }
}

/// The counts per suite and arch.
fn summary(out: &mut String, status: &Status) {
    let _ = writeln!(
        out,
        "\nSummary (built / out of date / missing / excluded / all / absent):"
    );
    for suite in ["unstable", "experimental"] {
        for (arch, c) in status.summary.get(suite).into_iter().flatten() {
            let _ = writeln!(out, "  {suite:<12} {arch:<8} {}", counts_line(c));
        }
    }
}

/// The chains of a blocked source's unsatisfied relations, `indent` deep;
/// `shown` is shared by an arch's entries (see [`chain_text_seen`]).
pub fn blocked_chains(
    out: &mut String,
    c: &Chains,
    unsatisfied: &[String],
    indent: usize,
    shown: &mut [bool],
) {
    for rel in unsatisfied {
        if let Some(top) = c.tops.iter().find(|t| &t.item == rel) {
            chain_text_seen(out, c, &top.nodes, indent, shown);
        }
    }
}

pub fn counts_line(c: &Counts) -> String {
    format!(
        "{} built, {} out of date, {} missing, {} excluded, {} all, {} absent",
        c.built, c.out_of_date, c.missing, c.excluded, c.all, c.absent
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_frontier_counts() {
        insta::assert_snapshot!(render(&crate::status::compute::tests::status()));
    }
}

//! Text, JSON and DOT views of [`Chains`] and of whole-archive buildability.

use std::fmt::Write;

use super::chain::{ByArch, Chains, Kind, Node, NodeId, Why};
use super::solve::{Buildability, Failure};

/// The JSON schema name of `cascade frontier --format json`.
pub const JSON_SCHEMA: &str = "cascade-frontier/1";

/// One line per node, indented under its parent; a node shown before is
/// named with `(see above)`, a cycle with `↻`.
pub fn chain_text(out: &mut String, c: &Chains, nodes: &[NodeId], indent: usize) {
    chain_text_seen(out, c, nodes, indent, &mut vec![false; c.nodes.len()]);
}

/// [`chain_text`], sharing `shown` (one flag per node of `c`) with earlier
/// calls, so a node printed under one item is `(see above)` under the next.
pub fn chain_text_seen(
    out: &mut String,
    c: &Chains,
    nodes: &[NodeId],
    indent: usize,
    shown: &mut [bool],
) {
    for &n in nodes {
        node_text(out, c, n, indent, shown);
    }
}

fn node_text(out: &mut String, c: &Chains, n: NodeId, depth: usize, shown: &mut [bool]) {
    let node = &c.nodes[n];
    let pad = "  ".repeat(depth);
    if std::mem::replace(&mut shown[n], true) && !node.children.is_empty() {
        let _ = writeln!(out, "{pad}{} (see above)", head(node));
        return;
    }
    let _ = writeln!(out, "{pad}{}: {}", head(node), whys(node));
    for &cy in &node.cycles {
        let _ = writeln!(out, "{pad}  ↻ cycle back to {}", head(&c.nodes[cy]));
    }
    for &ch in &node.children {
        node_text(out, c, ch, depth + 1, shown);
    }
}

/// `binary foo` / `source bar 1.0-1 (experimental)`.
pub fn head(n: &Node) -> String {
    match n.kind {
        Kind::Binary => n.name.clone(),
        Kind::Source => format!(
            "source {}{}{}",
            n.name,
            n.version
                .as_ref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default(),
            n.suite
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ),
    }
}

/// The node's facts, joined with `; `.
pub fn whys(n: &Node) -> String {
    n.why.iter().map(why_text).collect::<Vec<_>>().join("; ")
}

fn why_text(w: &Why) -> String {
    match w {
        Why::Installable { version } => format!("installable ({version})"),
        Why::InStack { sources } => format!("built by the stack ({})", sources.join(", ")),
        Why::Uninstallable { version, relation } => {
            format!("{version} is here but not installable: needs {relation}")
        }
        Why::NoFit { have, need } => format!("have {}, need {need}", have.join(", ")),
        Why::Absent => "absent; built elsewhere by".into(),
        Why::NothingBuilds { closest } if closest.is_empty() => "no source builds it (root)".into(),
        Why::NothingBuilds { closest } => {
            format!(
                "no source builds it (root); closest: {}",
                closest.join(", ")
            )
        }
        Why::PackageList { binary, arches } => {
            format!("Package-List builds {binary} only for {}", arches.join(" "))
        }
        Why::Architecture { arches } => format!("Architecture: {}", arches.join(" ")),
        Why::BuildDeps { failure } => {
            format!("build-deps unsatisfiable: {}", failure_text(failure))
        }
        Why::NotBuilt => "allowed and build-deps satisfiable, but not built here (root)".into(),
        Why::PortableHere => "build-deps satisfiable here: porting it is the fix (root)".into(),
        Why::Buildable => "buildable here".into(),
    }
}

/// `missing foo (>= 1)`, `conflict on …`.
pub fn failure_text(f: &Failure) -> String {
    match f {
        Failure::Missing { relation } => format!("missing {relation}"),
        Failure::Uninstallable { relation, via } if via.is_empty() => {
            format!("{relation} not installable")
        }
        Failure::Uninstallable { relation, via } => {
            format!("{relation} not installable ({})", via.join(" → "))
        }
        Failure::Conflict { relation } => {
            format!("conflicts whichever way {relation} is satisfied")
        }
        Failure::Undecided { relation } => format!("undecided (search budget) at {relation}"),
    }
}

/// The roots, ranked: `  N  name  (unblocks a, b, …)`.
pub fn roots_text(out: &mut String, c: &Chains, limit: usize) {
    if c.roots.is_empty() {
        return;
    }
    let _ = writeln!(out, "Roots on {} (fixing one unblocks):", c.arch);
    for r in c.roots.iter().take(limit) {
        let n = &c.nodes[r.node];
        let mut who = r
            .unblocks
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if r.unblocks.len() > 8 {
            who.push_str(", …");
        }
        let _ = writeln!(
            out,
            "  {:>5}  {}: {}  [{who}]",
            r.unblocks.len(),
            head(n),
            whys(n)
        );
    }
}

/// `cascade frontier` text: each item's chain, then the roots.
pub fn text(c: &Chains) -> String {
    let mut out = String::new();
    for t in &c.tops {
        let _ = writeln!(out, "{} on {}:", t.item, c.arch);
        chain_text(&mut out, c, &t.nodes, 1);
    }
    out.push('\n');
    roots_text(&mut out, c, 50);
    out
}

/// JSON: the schema, the whole-archive answer if any, and the chains.
pub fn json(c: &Chains, all: Option<&[Buildability]>) -> String {
    let unbuildable: Option<Vec<&Buildability>> =
        all.map(|a| a.iter().filter(|b| b.failure.is_some()).collect());
    let doc = serde_json::json!({
        "schema": JSON_SCHEMA,
        "arch": c.arch,
        "checked": all.map(<[Buildability]>::len),
        "unbuildable": unbuildable,
        "items": c.tops,
        "nodes": c.nodes,
        "roots": c.roots,
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// DOT: binaries as ellipses, sources as boxes, roots red, cycles dashed.
pub fn dot(c: &Chains) -> String {
    let mut out = String::from("digraph cascade_frontier {\n  rankdir=LR;\n");
    dot_body(&mut out, c, "");
    out.push_str("}\n");
    out
}

/// [`dot`] of several arches in one graph: one cluster per arch.
pub fn dot_by_arch(chains: &ByArch) -> String {
    let mut out = String::from("digraph cascade_frontier {\n  rankdir=LR;\n");
    for (i, (arch, c)) in chains.iter().enumerate() {
        let _ = writeln!(out, "subgraph cluster_{i} {{\n  label={};", quote(arch));
        dot_body(&mut out, c, &format!("{arch}/"));
        out.push_str("}\n");
    }
    out.push_str("}\n");
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The nodes and edges of `c`, node ids and item names prefixed by `prefix`.
fn dot_body(out: &mut String, c: &Chains, prefix: &str) {
    let id = |i: NodeId| quote(&format!("{prefix}n{i}"));
    for (i, n) in c.nodes.iter().enumerate() {
        let shape = match n.kind {
            Kind::Binary => "ellipse",
            Kind::Source => "box",
        };
        let color = if n.is_root() { ", color=red" } else { "" };
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label={}, tooltip={}{color}];",
            id(i),
            quote(&head(n)),
            quote(&whys(n))
        );
        for &ch in &n.children {
            let _ = writeln!(out, "  {} -> {};", id(i), id(ch));
        }
        for &ch in &n.cycles {
            let _ = writeln!(
                out,
                "  {} -> {} [style=dashed, label=\"cycle\"];",
                id(i),
                id(ch)
            );
        }
    }
    for t in &c.tops {
        let item = quote(&format!("{prefix}{}", t.item));
        let _ = writeln!(out, "  {item} [shape=plaintext, label={}];", quote(&t.item));
        for &n in &t.nodes {
            let _ = writeln!(out, "  {item} -> {};", id(n));
        }
    }
}

/// `--all` text: every unbuildable source with its failing relation.
pub fn all_text(out: &mut String, arch: &str, all: &[Buildability]) {
    let bad: Vec<&Buildability> = all.iter().filter(|b| b.failure.is_some()).collect();
    let _ = writeln!(
        out,
        "{} of {} sources cannot be built on {arch}:",
        bad.len(),
        all.len()
    );
    for b in bad {
        if let Some(f) = &b.failure {
            let _ = writeln!(out, "  {} {}: {}", b.source, b.version, failure_text(f));
        }
    }
}

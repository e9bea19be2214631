//! Renderers of a [`Plan`]: text for a Debian maintainer, JSON with a
//! versioned schema (docs/plan-json.md), DOT for graphviz. Pure: each returns
//! a `String`; the command prints it.

use std::fmt::Write as _;

use serde::Serialize;

use crate::events::NotBuiltReason;

use super::{ArchPlan, Cycle, Plan, Reason, Root, SourcePlan, Status};

/// The JSON schema name and version; bump the number on incompatible changes.
pub const JSON_SCHEMA: &str = "cascade-plan/1";

#[derive(Serialize)]
struct JsonDoc<'a> {
    schema: &'static str,
    arches: &'a [ArchPlan],
    /// `plan --port`: the blocker chains of each arch's frontier, by arch
    /// (schema of `cascade frontier --format json`'s items/nodes/roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    chains: Option<&'a Chains>,
}

/// Blocker chains of each arch's porting frontier, by arch name.
pub type Chains = std::collections::BTreeMap<String, crate::frontier::Chains>;

/// JSON: `{"schema": "cascade-plan/1", "arches": [...]}`, pretty-printed,
/// ending with a newline.
pub fn json(plan: &Plan) -> String {
    json_with(plan, None)
}

/// [`json`] with the frontier's blocker chains (`plan --port`).
pub fn json_with(plan: &Plan, chains: Option<&Chains>) -> String {
    let doc = JsonDoc {
        schema: JSON_SCHEMA,
        arches: &plan.arches,
        chains,
    };
    // Serialising these structs can't fail: every map key is a string.
    let mut s = serde_json::to_string_pretty(&doc)
        .unwrap_or_else(|e| format!("{{\"schema\": \"{JSON_SCHEMA}\", \"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// Text, one section per architecture.
pub fn text(plan: &Plan) -> String {
    text_with(plan, &Chains::new())
}

/// [`text`], with each frontier entry's blocker chain under it and the
/// roots ranked after the frontier (`plan --port`).
pub fn text_with(plan: &Plan, chains: &Chains) -> String {
    let mut out = String::new();
    for (i, a) in plan.arches.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        arch_text(&mut out, a, chains.get(&a.arch));
    }
    out
}

fn root_text(root: &Root) -> String {
    match root {
        Root::Architecture { field } => format!("excluded: {field}"),
        Root::Missing { packages } => {
            format!("blocked: missing from the archive: {}", packages.join(", "))
        }
        Root::Cycle { members } => {
            format!("blocked: unbroken cycle {}", members.join(" ↔ "))
        }
    }
}

/// Why a source of an arch's plan is not built there, or `None` when it
/// is: excluded (an `Architecture` field as it stands) or blocked.
pub fn not_built_reason(s: &crate::plan::SourcePlan) -> Option<NotBuiltReason> {
    if s.status == crate::plan::Status::Buildable {
        return None;
    }
    let why = s
        .reason
        .as_ref()
        .map(|r| reason_text(&s.name, r))
        .unwrap_or_else(|| "not buildable".into());
    Some(match s.status {
        crate::plan::Status::Blocked => NotBuiltReason::Blocked(why),
        _ => NotBuiltReason::Excluded(why),
    })
}

/// One line saying why `source` can't build, chains spelled out:
/// `rocblas → hipcc (built by rocm-hipamd, excluded: Architecture: amd64 arm64 ppc64el)`.
pub fn reason_text(source: &str, reason: &Reason) -> String {
    match reason {
        Reason::Architecture { field } => field.clone(),
        Reason::Missing { packages } => {
            format!("missing from the archive: {}", packages.join(", "))
        }
        Reason::Cycle { members } => format!(
            "in a cycle no bootstrap recipe breaks: {}",
            members.join(" ↔ ")
        ),
        Reason::Dependency { chain, root } => {
            let mut s = source.to_string();
            for (i, link) in chain.iter().enumerate() {
                let last = i + 1 == chain.len();
                if last {
                    let _ = write!(
                        s,
                        " → {} (built by {}, {})",
                        link.package,
                        link.source,
                        root_text(root)
                    );
                } else {
                    let _ = write!(s, " → {} (built by {})", link.package, link.source);
                }
            }
            s
        }
    }
}

fn source_notes(s: &SourcePlan) -> String {
    let mut notes = Vec::new();
    if s.bootstrap {
        notes.push("bootstrap: build-depends from the archive".to_string());
    }
    if let Some(w) = &s.widened {
        notes.push(format!("tried anyway: {w}"));
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("  [{}]", notes.join("; "))
    }
}

fn arch_text(out: &mut String, a: &ArchPlan, chains: Option<&crate::frontier::Chains>) {
    let buildable = a.order.len();
    let _ = writeln!(
        out,
        "{}{}: {} to build in {} wave{}, {} excluded, {} blocked",
        a.arch,
        if a.port { " (porting run)" } else { "" },
        buildable,
        a.waves.len(),
        if a.waves.len() == 1 { "" } else { "s" },
        a.excluded.len(),
        a.blocked.len()
    );
    if !a.waves.is_empty() {
        out.push_str("\nWaves (each builds in parallel once the earlier ones are done):\n");
        for (i, w) in a.waves.iter().enumerate() {
            let _ = writeln!(out, "  {:>2}. {}", i + 1, w.join(", "));
        }
        out.push_str(if a.port {
            "\nOrder (what a porting run tries, roots first):\n"
        } else {
            "\nOrder:\n"
        });
        for (i, name) in a.order.iter().enumerate() {
            let Some(s) = a.source(name) else { continue };
            let _ = writeln!(
                out,
                "  {:>3}. {} {}{}",
                i + 1,
                s.name,
                s.version,
                source_notes(s)
            );
        }
    }
    if !a.excluded.is_empty() {
        out.push_str("\nExcluded:\n");
        for u in &a.excluded {
            let _ = writeln!(out, "  {}: {}", u.source, reason_text(&u.source, &u.reason));
        }
    }
    if !a.blocked.is_empty() {
        out.push_str("\nBlocked:\n");
        for u in &a.blocked {
            let _ = writeln!(out, "  {}: {}", u.source, reason_text(&u.source, &u.reason));
        }
    }
    if !a.frontier.is_empty() {
        let _ = writeln!(
            out,
            "\nPorting frontier (outside the stack, missing from the archive on {}):",
            a.arch
        );
        for m in &a.frontier {
            let _ = writeln!(out, "  {}: needed by {}", m.package, m.needed_by.join(", "));
            if let Some(c) = chains
                && let Some(top) = c.tops.iter().find(|t| t.item == m.package)
            {
                crate::frontier::render::chain_text(out, c, &top.nodes, 2);
            }
        }
        if let Some(c) = chains {
            out.push('\n');
            crate::frontier::render::roots_text(out, c, 20);
        }
    }
    if !a.cycles.is_empty() {
        out.push_str("\nCycles:\n");
        for c in &a.cycles {
            cycle_text(out, a, c);
        }
    }
}

fn cycle_text(out: &mut String, a: &ArchPlan, c: &Cycle) {
    let _ = writeln!(
        out,
        "  {}: {}",
        c.members.join(" ↔ "),
        if c.broken {
            "broken by bootstrap"
        } else {
            "NOT broken: its members are blocked"
        }
    );
    for e in &c.edges {
        let _ = writeln!(
            out,
            "    {} → {} ({}){}",
            e.from,
            e.to,
            e.packages.join(", "),
            if e.cut {
                format!("  cut: {} takes it from the archive (bootstrap)", e.from)
            } else if a.source(&e.from).is_some_and(|s| s.bootstrap) {
                format!("  not cut: the archive lacks it for {}", a.arch)
            } else {
                String::new()
            }
        );
    }
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", dot_escape(s))
}

/// DOT: one cluster per architecture; an edge `a → b` means a build-depends
/// on b. Excluded sources are dashed, blocked ones dashed and red, cut edges
/// dotted and red, bootstrap sources double-bordered.
pub fn dot(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str("digraph cascade_plan {\n");
    out.push_str("  rankdir=BT;\n");
    out.push_str("  node [shape=box, fontname=\"sans-serif\"];\n");
    for a in &plan.arches {
        dot_arch(&mut out, a);
    }
    out.push_str("}\n");
    out
}

/// The quoted node id of `name` in `a`'s cluster.
fn dot_id(a: &ArchPlan, name: &str) -> String {
    dot_quote(&format!("{}/{}", a.arch, name))
}

/// One arch's cluster: its sources, its edges, and the edges of the
/// dependency chains that made sources unbuildable.
fn dot_arch(out: &mut String, a: &ArchPlan) {
    let _ = writeln!(
        out,
        "  subgraph {} {{",
        dot_quote(&format!("cluster_{}", a.arch))
    );
    let port = if a.port { " (porting run)" } else { "" };
    let _ = writeln!(
        out,
        "    label={};",
        dot_quote(&format!("{}{port}", a.arch))
    );
    for s in &a.sources {
        dot_node(out, a, s);
    }
    for e in &a.edges {
        let mut attrs = vec![format!("tooltip={}", dot_quote(&e.packages.join(", ")))];
        if e.cut {
            attrs.push("style=dotted, color=red".into());
        } else if a
            .source(&e.from)
            .is_some_and(|s| s.status != Status::Buildable)
        {
            attrs.push("style=dashed".into());
        }
        let _ = writeln!(
            out,
            "    {} -> {} [{}];",
            dot_id(a, &e.from),
            dot_id(a, &e.to),
            attrs.join(", ")
        );
    }
    dot_chain_edges(out, a);
    out.push_str("  }\n");
}

/// One source's node, styled by its status.
fn dot_node(out: &mut String, a: &ArchPlan, s: &SourcePlan) {
    let mut attrs = vec![format!(
        "label=\"{}\\n{}\"",
        dot_escape(&s.name),
        dot_escape(&s.version)
    )];
    match s.status {
        Status::Buildable => {}
        Status::Excluded => attrs.push("style=dashed".into()),
        Status::Blocked => attrs.push("style=dashed, color=red".into()),
    }
    if let Some(r) = &s.reason {
        attrs.push(format!("tooltip={}", dot_quote(&reason_text(&s.name, r))));
    }
    if s.bootstrap {
        attrs.push("peripheries=2".into());
    }
    if s.widened.is_some() {
        attrs.push("fontcolor=blue".into());
    }
    let _ = writeln!(out, "    {} [{}];", dot_id(a, &s.name), attrs.join(", "));
}

/// A dependency on an unbuildable stack source that made a source
/// unbuildable has no edge in the graph; draw it so a chain can be
/// followed by eye.
fn dot_chain_edges(out: &mut String, a: &ArchPlan) {
    for s in &a.sources {
        if let Some(Reason::Dependency { chain, .. }) = &s.reason
            && let Some(first) = chain.first()
            && !a
                .edges
                .iter()
                .any(|e| e.from == s.name && e.to == first.source)
        {
            let _ = writeln!(
                out,
                "    {} -> {} [style=dashed, tooltip={}];",
                dot_id(a, &s.name),
                dot_id(a, &first.source),
                dot_quote(&first.package)
            );
        }
    }
}

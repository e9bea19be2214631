//! `plan`: the stack's sources × one architecture → build DAG, cycles, waves,
//! a total order, exclusions with their chains, and the porting frontier.
//!
//! Pure: no I/O. The inputs are plain values ([`SourceInput`]: relations
//! already evaluated for the arch and build profiles) and an [`Available`]
//! oracle for the archive; `cascade plan` fills them from `control`/`archive`.
//! Renderers (text, JSON, DOT) live in [`render`].
//!
//! How a plan is made, per architecture:
//! 1. a source whose `Architecture` field leaves the arch out is excluded,
//!    unless this is a porting run ([`Options::port`]), which tries it anyway;
//! 2. every build-dependency OR-group is resolved to its first alternative that
//!    a *viable* stack source builds (an edge) or the archive has; a group no
//!    alternative satisfies makes the source excluded (the only provider is an
//!    excluded stack source: the chain is kept) or blocked (missing from the
//!    archive: the porting frontier). Repeated until nothing changes, since
//!    losing a source can make its dependents lose theirs;
//! 3. a `bootstrap` source takes from the archive what the stack would have
//!    given it, when the archive has it: those edges are cut. Strongly connected
//!    components of the graph are reported as cycles; those the cuts do not
//!    break block their members (and, transitively, their dependents);
//! 4. what remains is a DAG: waves are its levels, the order is wave by wave,
//!    by name within a wave.
//!
//! Version constraints are the oracle's business (the archive may hold an
//! older version); a stack source is taken to satisfy them, since the stack
//! builds the versions the relations were written for.

pub mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// A version constraint on a relation, e.g. `>= 7.2.4~`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionReq {
    pub op: crate::control::Op,
    pub version: String,
}

/// One alternative of a build-dependency, already evaluated for the arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    /// Binary package (or virtual package) name.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<VersionReq>,
    /// `any`, `native`, or an architecture name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch_qualifier: Option<String>,
}

impl Alternative {
    /// An unversioned, unqualified alternative.
    pub fn new(name: &str) -> Alternative {
        Alternative {
            name: name.to_string(),
            version: None,
            arch_qualifier: None,
        }
    }
}

impl fmt::Display for Alternative {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(q) = &self.arch_qualifier {
            write!(f, ":{q}")?;
        }
        if let Some(v) = &self.version {
            write!(f, " ({} {})", v.op, v.version)?;
        }
        Ok(())
    }
}

/// A build-dependency: alternatives `a | b`, the first satisfiable one wins.
pub type OrGroup = Vec<Alternative>;

fn group_text(group: &[Alternative]) -> String {
    group
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// One stack source, as seen on one architecture. (De)serialisable so that
/// inputs can be saved and replayed as fixtures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceInput {
    pub name: String,
    pub version: String,
    /// `None` when the source builds on this arch; otherwise why not, as a
    /// maintainer would say it, e.g. `Architecture: amd64 arm64 ppc64el`.
    pub arch_exclusion: Option<String>,
    /// Binary packages it builds on this arch (in a porting run: the widened list).
    pub binaries: Vec<String>,
    /// Virtual packages its binaries provide on this arch.
    pub provides: Vec<String>,
    /// Build-Depends (+ -Arch, -Indep as wanted), evaluated for arch and profiles.
    pub build_deps: Vec<OrGroup>,
    /// Take build-dependencies from the archive instead of the stack.
    pub bootstrap: bool,
}

/// What the archive (outside the stack) offers on this architecture.
pub trait Available {
    /// Whether a binary package — or a provider, through `Provides` — in the
    /// archive satisfies this alternative (name, version, qualifier).
    fn satisfies(&self, alternative: &Alternative) -> bool;
}

/// A set of names, ignoring versions: handy for tests and simple callers.
impl Available for BTreeSet<String> {
    fn satisfies(&self, alternative: &Alternative) -> bool {
        self.contains(&alternative.name)
    }
}

impl<F: Fn(&Alternative) -> bool> Available for F {
    fn satisfies(&self, alternative: &Alternative) -> bool {
        self(alternative)
    }
}

/// Knobs of a plan.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Porting run: sources excluded only by their `Architecture` field are tried.
    pub port: bool,
}

/// How one OR-group was resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum Choice {
    /// A stack source builds it: an edge of the graph.
    Stack {
        /// Index of the chosen alternative in the group.
        alternative: usize,
        package: String,
        source: String,
    },
    /// The archive has it.
    Archive {
        alternative: usize,
        package: String,
        /// Set when a `bootstrap` recipe took it from the archive instead of
        /// this stack source: the edge to it is cut.
        #[serde(skip_serializing_if = "Option::is_none")]
        instead_of: Option<String>,
    },
    /// Neither the stack (viable sources) nor the archive has any alternative.
    Unsatisfied,
}

/// A build-dependency and how it was resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResolvedDep {
    /// The OR-group as written, e.g. `hipcc | clang-rocm (>= 7)`.
    pub relation: String,
    #[serde(flatten)]
    pub choice: Choice,
}

/// One step of a chain: needs `package`, which `source` builds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Link {
    pub package: String,
    pub source: String,
}

/// Why a source is first in a chain of unbuildable sources.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Root {
    /// Its `Architecture` field leaves the arch out.
    Architecture { field: String },
    /// Build-dependencies outside the stack that the archive lacks.
    Missing { packages: Vec<String> },
    /// A member of a dependency cycle no `bootstrap` breaks.
    Cycle { members: Vec<String> },
}

/// Why a source can't be built on this arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    Architecture {
        field: String,
    },
    Missing {
        packages: Vec<String>,
    },
    Cycle {
        members: Vec<String>,
    },
    /// Needs what an unbuildable stack source builds. `chain[0]` is the
    /// direct need; the last link's source is unbuildable because of `root`.
    Dependency {
        chain: Vec<Link>,
        root: Root,
    },
}

impl Reason {
    fn root(&self) -> Root {
        match self {
            Reason::Architecture { field } => Root::Architecture {
                field: field.clone(),
            },
            Reason::Missing { packages } => Root::Missing {
                packages: packages.clone(),
            },
            Reason::Cycle { members } => Root::Cycle {
                members: members.clone(),
            },
            Reason::Dependency { root, .. } => root.clone(),
        }
    }

    /// Excluded (the packaging leaves the arch out, maybe through a chain)
    /// rather than blocked (the archive or a cycle is in the way).
    pub fn is_exclusion(&self) -> bool {
        matches!(self.root(), Root::Architecture { .. })
    }

    /// The reason of a source needing `package` from `source`, unbuildable for `self`.
    fn through(&self, package: &str, source: &str) -> Reason {
        let mut chain = vec![Link {
            package: package.to_string(),
            source: source.to_string(),
        }];
        if let Reason::Dependency { chain: rest, .. } = self {
            chain.extend(rest.iter().cloned());
        }
        Reason::Dependency {
            chain,
            root: self.root(),
        }
    }
}

/// Where a source stands on this arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Buildable,
    Excluded,
    Blocked,
}

/// One stack source in the plan of one arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourcePlan {
    pub name: String,
    pub version: String,
    pub status: Status,
    /// 1-based wave, for buildable sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wave: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    pub bootstrap: bool,
    /// In a porting run: the `Architecture` exclusion that is being tried anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widened: Option<String>,
    /// Stack sources it build-depends on (after cuts), by name.
    pub depends_on: Vec<String>,
    /// Every build-dependency and its resolution; empty when excluded by
    /// `Architecture` (nothing to resolve).
    pub build_deps: Vec<ResolvedDep>,
}

/// An edge `from → to`: `from` build-depends on `packages`, built by `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub packages: Vec<String>,
    /// Cut by `from`'s bootstrap: those packages come from the archive.
    pub cut: bool,
}

/// A strongly connected component of the build graph (before cuts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cycle {
    pub members: Vec<String>,
    /// The edges between members, including cut ones.
    pub edges: Vec<Edge>,
    /// Whether the cuts break every cycle among the members.
    pub broken: bool,
}

/// A source that can't build here, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unbuildable {
    pub source: String,
    pub reason: Reason,
}

/// A build-dependency outside the stack the archive lacks for this arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// The OR-group as written.
    pub package: String,
    pub needed_by: Vec<String>,
}

/// The plan of one architecture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArchPlan {
    pub arch: String,
    pub port: bool,
    /// Every stack source, by name.
    pub sources: Vec<SourcePlan>,
    /// Every stack edge of sources that were resolved, including cut ones.
    pub edges: Vec<Edge>,
    /// Names per wave: a wave builds in parallel once the earlier ones are done.
    pub waves: Vec<Vec<String>>,
    /// Wave by wave, by name within a wave.
    pub order: Vec<String>,
    pub excluded: Vec<Unbuildable>,
    pub blocked: Vec<Unbuildable>,
    pub frontier: Vec<Missing>,
    pub cycles: Vec<Cycle>,
}

/// Plans of several architectures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub arches: Vec<ArchPlan>,
}

impl ArchPlan {
    pub fn source(&self, name: &str) -> Option<&SourcePlan> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The buildable sources in build order, then the others by name.
    pub fn in_build_order(&self) -> impl Iterator<Item = &SourcePlan> {
        self.order.iter().filter_map(|n| self.source(n)).chain(
            self.sources
                .iter()
                .filter(|s| s.status != Status::Buildable),
        )
    }
}

/// Plans one architecture. Deterministic: the same inputs give the same plan
/// whatever their order.
pub fn plan_arch(
    arch: &str,
    sources: &[SourceInput],
    archive: &dyn Available,
    options: Options,
) -> ArchPlan {
    let mut p = Planning::new(sources, options);
    p.resolve(archive);
    p.find_edges();
    let cycles = p.cycles();
    p.block_dependents();
    let (waves, wave_of) = p.waves();
    p.finish(arch, options, cycles, waves, &wave_of)
}

/// Edges `(from, to)` by source index: the packages behind each, and
/// whether the edge is cut (every package behind it comes from the archive).
type EdgeMap = BTreeMap<(usize, usize), (BTreeSet<String>, bool)>;

/// The state of one arch's plan while [`plan_arch`] makes it, step by step
/// (the numbers of the module comment).
struct Planning<'a> {
    /// The sources by name, deduplicated.
    srcs: Vec<&'a SourceInput>,
    /// Binary or virtual package → the source index building it.
    producers: BTreeMap<&'a str, usize>,
    /// Why each source can't build; `None` while it can.
    reason: Vec<Option<Reason>>,
    widened: Vec<Option<String>>,
    deps: Vec<Vec<ResolvedDep>>,
    edges: EdgeMap,
}

impl<'a> Planning<'a> {
    /// Step 1: the sources, their producers and `Architecture` exclusions.
    fn new(sources: &'a [SourceInput], options: Options) -> Planning<'a> {
        let mut srcs: Vec<&SourceInput> = sources.iter().collect();
        srcs.sort_by(|a, b| a.name.cmp(&b.name));
        srcs.dedup_by(|a, b| a.name == b.name);
        let n = srcs.len();
        // Real binaries win over virtual names; among equals the first by name.
        let mut producers: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, s) in srcs.iter().enumerate() {
            for b in &s.binaries {
                producers.entry(b.as_str()).or_insert(i);
            }
        }
        for (i, s) in srcs.iter().enumerate() {
            for p in &s.provides {
                producers.entry(p.as_str()).or_insert(i);
            }
        }
        let mut reason: Vec<Option<Reason>> = vec![None; n];
        let mut widened: Vec<Option<String>> = vec![None; n];
        for (i, s) in srcs.iter().enumerate() {
            if let Some(field) = &s.arch_exclusion {
                if options.port {
                    widened[i] = Some(field.clone());
                } else {
                    reason[i] = Some(Reason::Architecture {
                        field: field.clone(),
                    });
                }
            }
        }
        Planning {
            srcs,
            producers,
            reason,
            widened,
            deps: vec![Vec::new(); n],
            edges: EdgeMap::new(),
        }
    }

    fn name_of(&self, i: usize) -> String {
        self.srcs[i].name.clone()
    }

    fn edge_of(&self, (a, b): (usize, usize), pkgs: &BTreeSet<String>, cut: bool) -> Edge {
        Edge {
            from: self.name_of(a),
            to: self.name_of(b),
            packages: pkgs.iter().cloned().collect(),
            cut,
        }
    }

    /// Step 2: resolve against the viable sources until nothing changes.
    fn resolve(&mut self, archive: &dyn Available) {
        let resolvable: Vec<bool> = self.reason.iter().map(Option::is_none).collect();
        loop {
            let mut changed = false;
            for i in (0..self.srcs.len()).filter(|&i| resolvable[i]) {
                let s = self.srcs[i];
                let (producers, srcs) = (&self.producers, &self.srcs);
                self.deps[i] = s
                    .build_deps
                    .iter()
                    .map(|g| resolve(s, g, producers, &self.reason, srcs, archive))
                    .collect();
                if self.reason[i].is_none()
                    && let Some(r) = failure(s, &self.deps[i], producers, &self.reason, srcs)
                {
                    self.reason[i] = Some(r);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Step 3, first half: the stack edges of the resolved sources, cut
    /// ones included.
    fn find_edges(&mut self) {
        let idx_of: BTreeMap<&str, usize> = self
            .srcs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        for i in 0..self.srcs.len() {
            for (d, group) in self.deps[i].iter().zip(&self.srcs[i].build_deps) {
                let (to, pkg, cut) = match &d.choice {
                    Choice::Stack {
                        package, source, ..
                    } => (source.as_str(), package.clone(), false),
                    // The cut edge names what the stack would have given.
                    Choice::Archive {
                        instead_of: Some(source),
                        ..
                    } => {
                        let pkg = group
                            .iter()
                            .find(|a| {
                                self.producers
                                    .get(a.name.as_str())
                                    .is_some_and(|&p| self.srcs[p].name == *source)
                            })
                            .map_or_else(|| d.relation.clone(), |a| a.name.clone());
                        (source.as_str(), pkg, true)
                    }
                    _ => continue,
                };
                let Some(&to) = idx_of.get(to) else {
                    continue;
                };
                let e = self.edges.entry((i, to)).or_insert((BTreeSet::new(), cut));
                e.0.insert(pkg);
                // One kept dependency keeps the edge.
                e.1 &= cut;
            }
        }
    }

    /// Step 3, second half: the strongly connected components of the viable
    /// sources before cuts (the cycles), and those the cuts do not break,
    /// whose members are blocked.
    fn cycles(&mut self) -> Vec<Cycle> {
        let n = self.srcs.len();
        let viable: Vec<bool> = self.reason.iter().map(Option::is_none).collect();
        let mut full: DiGraph<usize, ()> = DiGraph::new();
        let mut kept: DiGraph<usize, ()> = DiGraph::new();
        let nodes_full: Vec<NodeIndex> = (0..n).map(|i| full.add_node(i)).collect();
        let nodes_kept: Vec<NodeIndex> = (0..n).map(|i| kept.add_node(i)).collect();
        for (&(a, b), (_, cut)) in &self.edges {
            if viable[a] && viable[b] {
                full.add_edge(nodes_full[a], nodes_full[b], ());
                if !*cut {
                    kept.add_edge(nodes_kept[a], nodes_kept[b], ());
                }
            }
        }
        let uncut = components(&kept, &viable);
        let in_uncut: BTreeSet<usize> = uncut.iter().flatten().copied().collect();
        let mut cycles: Vec<Cycle> = components(&full, &viable)
            .into_iter()
            .map(|members| {
                let set: BTreeSet<usize> = members.iter().copied().collect();
                let edges = self
                    .edges
                    .iter()
                    .filter(|((a, b), _)| set.contains(a) && set.contains(b))
                    .map(|(&ab, (pkgs, cut))| self.edge_of(ab, pkgs, *cut))
                    .collect();
                Cycle {
                    members: members.iter().map(|&i| self.name_of(i)).collect(),
                    edges,
                    broken: members.iter().all(|m| !in_uncut.contains(m)),
                }
            })
            .collect();
        cycles.sort_by(|a, b| a.members.cmp(&b.members));
        for scc in &uncut {
            let members: Vec<String> = scc.iter().map(|&i| self.name_of(i)).collect();
            for &i in scc {
                self.reason[i] = Some(Reason::Cycle {
                    members: members.clone(),
                });
            }
        }
        cycles
    }

    /// Step 4: what depends (through kept edges) on a blocked cycle is
    /// blocked too.
    fn block_dependents(&mut self) {
        loop {
            let mut changed = false;
            for (&(a, b), (pkgs, cut)) in &self.edges {
                if *cut || self.reason[a].is_some() {
                    continue;
                }
                if let Some(rb) = &self.reason[b] {
                    let pkg = pkgs.iter().next().cloned().unwrap_or_default();
                    self.reason[a] = Some(rb.through(&pkg, &self.srcs[b].name));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// Step 5: the waves of the buildable DAG, and each source's wave.
    fn waves(&self) -> (Vec<Vec<String>>, Vec<Option<usize>>) {
        let n = self.srcs.len();
        let buildable: Vec<bool> = self.reason.iter().map(Option::is_none).collect();
        let mut dep_sets: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for (&(a, b), (_, cut)) in &self.edges {
            if !*cut && buildable[a] && buildable[b] && a != b {
                dep_sets[a].insert(b);
            }
        }
        let mut wave_of: Vec<Option<usize>> = vec![None; n];
        let mut waves: Vec<Vec<String>> = Vec::new();
        loop {
            let ready: Vec<usize> = (0..n)
                .filter(|&i| buildable[i] && wave_of[i].is_none())
                .filter(|&i| dep_sets[i].iter().all(|&d| wave_of[d].is_some()))
                .collect();
            if ready.is_empty() {
                break;
            }
            for &i in &ready {
                wave_of[i] = Some(waves.len() + 1);
            }
            waves.push(ready.iter().map(|&i| self.name_of(i)).collect());
        }
        (waves, wave_of)
    }

    /// The porting frontier: build-dependencies no stack source builds and
    /// the archive lacks, with the sources needing them.
    fn frontier(&self) -> Vec<Missing> {
        let mut frontier: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for i in 0..self.srcs.len() {
            for (d, group) in self.deps[i].iter().zip(&self.srcs[i].build_deps) {
                let stack_builds = group
                    .iter()
                    .any(|a| self.producers.contains_key(a.name.as_str()));
                if d.choice == Choice::Unsatisfied && !stack_builds {
                    frontier
                        .entry(d.relation.clone())
                        .or_default()
                        .insert(self.name_of(i));
                }
            }
        }
        frontier
            .into_iter()
            .map(|(package, by)| Missing {
                package,
                needed_by: by.into_iter().collect(),
            })
            .collect()
    }

    /// The plan of source `i`.
    fn source_plan(&self, i: usize, wave: Option<usize>) -> SourcePlan {
        let status = match &self.reason[i] {
            None => Status::Buildable,
            Some(r) if r.is_exclusion() => Status::Excluded,
            Some(_) => Status::Blocked,
        };
        let depends_on = self
            .edges
            .iter()
            .filter(|((a, _), (_, cut))| *a == i && !*cut)
            .map(|((_, b), _)| self.name_of(*b))
            .collect();
        SourcePlan {
            name: self.name_of(i),
            version: self.srcs[i].version.clone(),
            status,
            wave,
            reason: self.reason[i].clone(),
            bootstrap: self.srcs[i].bootstrap,
            widened: self.widened[i].clone(),
            depends_on,
            build_deps: self.deps[i].clone(),
        }
    }

    fn finish(
        &self,
        arch: &str,
        options: Options,
        cycles: Vec<Cycle>,
        waves: Vec<Vec<String>>,
        wave_of: &[Option<usize>],
    ) -> ArchPlan {
        let sources: Vec<SourcePlan> = (0..self.srcs.len())
            .map(|i| self.source_plan(i, wave_of[i]))
            .collect();
        let unbuildable = |status: Status| -> Vec<Unbuildable> {
            sources
                .iter()
                .filter(|s| s.status == status)
                .filter_map(|s| {
                    Some(Unbuildable {
                        source: s.name.clone(),
                        reason: s.reason.clone()?,
                    })
                })
                .collect()
        };
        ArchPlan {
            arch: arch.to_string(),
            port: options.port,
            excluded: unbuildable(Status::Excluded),
            blocked: unbuildable(Status::Blocked),
            edges: self
                .edges
                .iter()
                .map(|(&ab, (pkgs, cut))| self.edge_of(ab, pkgs, *cut))
                .collect(),
            order: waves.iter().flatten().cloned().collect(),
            waves,
            frontier: self.frontier(),
            cycles,
            sources,
        }
    }
}

/// The strongly connected components of `g` among `viable` sources that are
/// cycles (more than one member, or a self-loop), as sorted source indices.
fn components(g: &DiGraph<usize, ()>, viable: &[bool]) -> Vec<Vec<usize>> {
    let is_cycle = |scc: &[NodeIndex]| scc.len() > 1 || g.find_edge(scc[0], scc[0]).is_some();
    let mut out: Vec<Vec<usize>> = tarjan_scc(g)
        .into_iter()
        .filter(|scc| viable[g[scc[0]]] && is_cycle(scc))
        .map(|scc| {
            let mut m: Vec<usize> = scc.iter().map(|&x| g[x]).collect();
            m.sort();
            m
        })
        .collect();
    out.sort();
    out
}

/// The inputs of one architecture's plan.
pub struct ArchInput<'a> {
    pub arch: String,
    pub sources: Vec<SourceInput>,
    pub archive: &'a dyn Available,
}

/// Plans every architecture given, in the given order.
pub fn plan(inputs: &[ArchInput<'_>], options: Options) -> Plan {
    Plan {
        arches: inputs
            .iter()
            .map(|a| plan_arch(&a.arch, &a.sources, a.archive, options))
            .collect(),
    }
}

fn resolve(
    src: &SourceInput,
    group: &[Alternative],
    producers: &BTreeMap<&str, usize>,
    reason: &[Option<Reason>],
    srcs: &[&SourceInput],
    archive: &dyn Available,
) -> ResolvedDep {
    let relation = group_text(group);
    let mut choice = Choice::Unsatisfied;
    for (k, alt) in group.iter().enumerate() {
        if let Some(&p) = producers.get(alt.name.as_str())
            && reason[p].is_none()
        {
            choice = Choice::Stack {
                alternative: k,
                package: alt.name.clone(),
                source: srcs[p].name.clone(),
            };
            break;
        }
        if archive.satisfies(alt) {
            choice = Choice::Archive {
                alternative: k,
                package: alt.name.clone(),
                instead_of: None,
            };
            break;
        }
    }
    if src.bootstrap
        && let Choice::Stack { source, .. } = &choice
        && let Some((k, alt)) = group.iter().enumerate().find(|(_, a)| archive.satisfies(a))
    {
        choice = Choice::Archive {
            alternative: k,
            package: alt.name.clone(),
            instead_of: Some(source.clone()),
        };
    }
    ResolvedDep { relation, choice }
}

/// Why a source with these resolutions can't build, if it can't. An
/// `Architecture` chain wins over missing packages, which win over other chains.
fn failure(
    src: &SourceInput,
    deps: &[ResolvedDep],
    producers: &BTreeMap<&str, usize>,
    reason: &[Option<Reason>],
    srcs: &[&SourceInput],
) -> Option<Reason> {
    let mut missing = Vec::new();
    let mut through: Vec<Reason> = Vec::new();
    for (d, group) in deps.iter().zip(&src.build_deps) {
        if d.choice != Choice::Unsatisfied {
            continue;
        }
        let provider = group.iter().find_map(|a| {
            let &p = producers.get(a.name.as_str())?;
            Some((a, p, reason[p].as_ref()?))
        });
        match provider {
            Some((alt, p, r)) => through.push(r.through(&alt.name, &srcs[p].name)),
            None => missing.push(d.relation.clone()),
        }
    }
    if let Some(r) = through.iter().find(|r| r.is_exclusion()) {
        return Some(r.clone());
    }
    if !missing.is_empty() {
        return Some(Reason::Missing { packages: missing });
    }
    through.into_iter().next()
}

#[cfg(test)]
mod tests;

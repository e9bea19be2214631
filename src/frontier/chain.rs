//! Blocker chains: why a binary (or source) is missing on an arch, followed
//! through the archive down to its roots.
//!
//! A binary is explained by what the arch's Packages say (installable,
//! present but uninstallable, too old, absent) and then by the sources whose
//! Package-List names it: excluded by the Package-List's `arch=` or the
//! Architecture field, not built although allowed, or with build-dependencies
//! that fail here — whose failing relation is explained in turn. Nodes are
//! shared (a DAG); an edge back to a node still being explained is a cycle.
//! A binary only the stack builds points back into the stack and stops.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

use super::solve::{Failure, Query, Solver, failing_clause};
use super::universe::{SourceSet, Universe};
use crate::arch::Arch;
use crate::control::{Dep, Profiles, arch_matches};

pub type NodeId = usize;

/// One fact about a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Why {
    /// Binary: installable here in this version (not a blocker).
    Installable { version: String },
    /// Binary: only the stack builds it — back into the stack.
    InStack { sources: Vec<String> },
    /// Binary: present here but not installable.
    Uninstallable { version: String, relation: String },
    /// Binary: present here, but no version or qualifier fits.
    NoFit { have: Vec<String>, need: String },
    /// Binary: absent here; the children are the sources that build it.
    Absent,
    /// Binary: no source of the suites builds it (a root); the closest names.
    NothingBuilds { closest: Vec<String> },
    /// Source: the binary's Package-List `arch=` leaves the arch out.
    PackageList { binary: String, arches: Vec<String> },
    /// Source: its Architecture field leaves the arch out.
    Architecture { arches: Vec<String> },
    /// Source: its build-dependencies can't be installed here.
    BuildDeps { failure: Failure },
    /// Source: allowed here and its build-dependencies are satisfiable, but
    /// the binary is not in the arch's Packages (not built yet, or failing).
    NotBuilt,
    /// Source: excluded, but its build-dependencies are satisfiable here:
    /// porting it is the fix.
    PortableHere,
    /// Source: builds here (its binaries should follow).
    Buildable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Binary,
    Source,
}

/// One binary or source in the chain graph.
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub kind: Kind,
    /// A binary's relation as asked (`name (>= v)`), or a source's name.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    pub why: Vec<Why>,
    pub children: Vec<NodeId>,
    /// Edges back to a node on the path that led here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<NodeId>,
}

impl Node {
    /// A node nothing further explains, that still blocks: fixing it is the work.
    pub fn is_root(&self) -> bool {
        self.children.is_empty()
            && self.why.iter().any(|w| {
                matches!(
                    w,
                    Why::NothingBuilds { .. }
                        | Why::NotBuilt
                        | Why::PortableHere
                        | Why::NoFit { .. }
                        | Why::BuildDeps { .. }
                        | Why::Uninstallable { .. }
                )
            })
    }
}

/// What was asked and the nodes answering it.
#[derive(Clone, Debug, Serialize)]
pub struct Top {
    /// The binary relation or source asked about.
    pub item: String,
    /// Who needs it (stack sources), if known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needed_by: Vec<String>,
    pub nodes: Vec<NodeId>,
}

/// A root and what fixing it would unblock.
#[derive(Clone, Debug, Serialize)]
pub struct RootCount {
    pub node: NodeId,
    pub name: String,
    /// The `needed_by` (or items) whose chains reach this root.
    pub unblocks: Vec<String>,
}

/// The chains of one arch.
#[derive(Clone, Debug, Serialize)]
pub struct Chains {
    pub arch: String,
    pub nodes: Vec<Node>,
    pub tops: Vec<Top>,
    pub roots: Vec<RootCount>,
}

/// The chains of several arches, by arch name (`plan --port`, `status`).
pub type ByArch = BTreeMap<String, Chains>;

/// Builds chain graphs over one universe and a set of sources.
pub struct Explainer<'a> {
    u: &'a Universe,
    viable: &'a [bool],
    solver: Solver<'a>,
    sources: &'a SourceSet,
    stack: &'a BTreeSet<String>,
    profiles: Profiles,
    indep: bool,
    nodes: Vec<Node>,
    memo: HashMap<(Kind, String), NodeId>,
    on_path: Vec<bool>,
    tops: Vec<Top>,
    /// How many binaries deep the current explanation is (0: asked directly).
    depth: usize,
    expand_stack: bool,
    names: std::cell::OnceCell<NameIndex<'a>>,
    closest_asked: usize,
}

impl<'a> Explainer<'a> {
    pub fn new(
        u: &'a Universe,
        viable: &'a [bool],
        sources: &'a SourceSet,
        stack: &'a BTreeSet<String>,
        profiles: Profiles,
    ) -> Explainer<'a> {
        Explainer {
            u,
            viable,
            solver: Solver::new(u, viable),
            sources,
            stack,
            profiles,
            indep: false,
            nodes: Vec::new(),
            memo: HashMap::default(),
            on_path: Vec::new(),
            tops: Vec::new(),
            depth: 0,
            expand_stack: false,
            names: std::cell::OnceCell::new(),
            closest_asked: 0,
        }
    }

    /// Also follow Build-Depends-Indep (off by default: a port builds arch-dependent packages).
    pub fn set_indep(&mut self, indep: bool) {
        self.indep = indep;
    }

    /// Follow binaries the stack builds into the stack's sources at any
    /// depth (`cascade frontier`), rather than stopping there (`plan --port`,
    /// whose plan explains the stack itself).
    pub fn set_expand_stack(&mut self, expand: bool) {
        self.expand_stack = expand;
    }

    /// Explains a relation as written (`a (>= 1) | b`), or a bare binary or
    /// source name; `needed_by` is who wants it.
    pub fn ask(&mut self, item: &str, needed_by: Vec<String>) {
        let nodes = match crate::control::parse_relations(item) {
            Ok(groups) if !groups.is_empty() => {
                let deps: Vec<Dep> = groups.into_iter().flatten().map(|r| r.dep).collect();
                let only_source = deps.len() == 1
                    && deps[0].version.is_none()
                    && self.sources.building(&deps[0].name).is_empty()
                    && self.u.named(&deps[0].name).is_empty()
                    && !self.sources.named(&deps[0].name).is_empty();
                if only_source {
                    vec![self.source_by_name(&deps[0].name)]
                } else {
                    deps.iter().map(|d| self.binary(d)).collect()
                }
            }
            _ => Vec::new(),
        };
        self.tops.push(Top {
            item: item.to_string(),
            needed_by,
            nodes,
        });
    }

    /// Explains a source by name (its newest suite's entry first).
    pub fn ask_source(&mut self, name: &str, needed_by: Vec<String>) {
        let nodes = vec![self.source_by_name(name)];
        self.tops.push(Top {
            item: name.to_string(),
            needed_by,
            nodes,
        });
    }

    fn source_by_name(&mut self, name: &str) -> NodeId {
        match self.sources.named(name).first() {
            Some(&i) => self.source(i, None),
            None => self.leaf(
                Kind::Source,
                name,
                vec![Why::NothingBuilds {
                    closest: Vec::new(),
                }],
            ),
        }
    }

    fn leaf(&mut self, kind: Kind, name: &str, why: Vec<Why>) -> NodeId {
        self.nodes.push(Node {
            kind,
            name: name.to_string(),
            version: None,
            suite: None,
            why,
            children: Vec::new(),
            cycles: Vec::new(),
        });
        self.on_path.push(false);
        self.nodes.len() - 1
    }

    /// A memoised node: `Ok(id)` to fill in, or `Err(id)` when it exists.
    fn enter(&mut self, kind: Kind, key: &str) -> Result<NodeId, NodeId> {
        if let Some(&id) = self.memo.get(&(kind, key.to_string())) {
            return Err(id);
        }
        let id = self.leaf(kind, key, Vec::new());
        self.memo.insert((kind, key.to_string()), id);
        self.on_path[id] = true;
        Ok(id)
    }

    /// Links `child` under `parent`, as a cycle when it is on the path.
    fn link(&mut self, parent: NodeId, child: NodeId) {
        let list = if self.on_path[child] {
            &mut self.nodes[parent].cycles
        } else {
            &mut self.nodes[parent].children
        };
        if !list.contains(&child) {
            list.push(child);
        }
    }

    fn binary(&mut self, dep: &Dep) -> NodeId {
        let id = match self.enter(Kind::Binary, &dep.to_string()) {
            Ok(id) => id,
            Err(id) => return id,
        };
        self.depth += 1;
        let mut cands = Vec::new();
        self.u.dep_candidates_ro(dep, &mut cands);
        let builders: Vec<u32> = self.sources.building(&dep.name).to_vec();
        let in_stack: Vec<String> = builders
            .iter()
            .map(|&i| self.sources.get(i).info.name.clone())
            .filter(|n| self.stack.contains(n))
            .collect();
        if let Some(&ok) = cands.iter().find(|&&c| self.viable[c as usize]) {
            self.nodes[id].why.push(Why::Installable {
                version: self.u.version(ok).to_string(),
            });
        } else if let Some(&c) = cands.first() {
            self.uninstallable(id, c);
        } else if !in_stack.is_empty() && in_stack.len() == dedup_names(self.sources, &builders) {
            self.nodes[id].why.push(Why::InStack { sources: in_stack });
            // Asked about directly, a stack binary is explained like any
            // other; reached from a chain, it points back into the stack.
            if self.expand_stack || self.depth == 1 {
                for &i in &builders {
                    let child = self.source(i, Some(&dep.name));
                    self.link(id, child);
                }
            }
        } else {
            self.absent(id, dep, &builders);
        }
        self.depth -= 1;
        self.on_path[id] = false;
        id
    }

    fn uninstallable(&mut self, id: NodeId, c: u32) {
        let k = failing_clause(self.u, self.viable, c);
        self.nodes[id].version = Some(self.u.version(c).to_string());
        self.nodes[id].why.push(Why::Uninstallable {
            version: self.u.version(c).to_string(),
            relation: k.map(|k| self.u.clause_text(k)).unwrap_or_default(),
        });
        if let Some(k) = k {
            for d in self.u.clause_deps(k) {
                let child = self.binary(&d);
                self.link(id, child);
            }
        }
    }

    /// [`NameIndex::closest`]; the first few by a scan of every name, as
    /// building the index costs about as much as ten scans (a plan asks a
    /// handful, `--all` thousands).
    fn closest(&mut self, name: &str) -> Vec<String> {
        self.closest_asked += 1;
        let (u, sources) = (self.u, self.sources);
        if self.closest_asked <= 4 && self.names.get().is_none() {
            return closest_by_scan(u, sources, name);
        }
        self.names
            .get_or_init(|| NameIndex::new(u, sources))
            .closest(name)
    }

    fn absent(&mut self, id: NodeId, dep: &Dep, builders: &[u32]) {
        let have: Vec<String> = self
            .u
            .named(&dep.name)
            .iter()
            .map(|&p| self.u.version(p).to_string())
            .collect();
        if !have.is_empty() {
            self.nodes[id].why.push(Why::NoFit {
                have,
                need: dep.to_string(),
            });
        } else if builders.is_empty() {
            let closest = self.closest(&dep.name);
            self.nodes[id].why.push(Why::NothingBuilds { closest });
        } else {
            self.nodes[id].why.push(Why::Absent);
        }
        for &i in builders {
            let child = self.source(i, Some(&dep.name));
            self.link(id, child);
        }
    }

    fn source(&mut self, i: u32, binary: Option<&str>) -> NodeId {
        let s = self.sources.get(i);
        let key = format!("{}/{}", s.suite, s.info.name);
        let id = match self.enter(Kind::Source, &key) {
            Ok(id) => id,
            Err(id) => return id,
        };
        self.nodes[id].name = s.info.name.clone();
        self.nodes[id].version = s.info.version.clone();
        self.nodes[id].suite = Some(s.suite.clone());
        let arch = &self.u.arch;
        let mut excluded = false;
        if let Some(b) = binary.and_then(|b| s.info.binaries.iter().find(|x| x.name == b))
            && !b
                .architecture
                .iter()
                .any(|a| a == "all" || arch_matches(arch, a))
        {
            excluded = true;
            self.nodes[id].why.push(Why::PackageList {
                binary: b.name.clone(),
                arches: b.architecture.clone(),
            });
        }
        let builds_here =
            Arch::new(arch).is_some_and(|a| s.info.builds_on(&a)) || s.info.builds_indep();
        if !builds_here {
            excluded = true;
            self.nodes[id].why.push(Why::Architecture {
                arches: s.info.architecture.clone(),
            });
        }
        let q = Query::for_source(self.u, s, &self.profiles, self.indep);
        match self.solver.check(&q) {
            Ok(()) if excluded => self.nodes[id].why.push(Why::PortableHere),
            Ok(()) if binary.is_some() => self.nodes[id].why.push(Why::NotBuilt),
            Ok(()) => self.nodes[id].why.push(Why::Buildable),
            Err(failure) => {
                let group = (0..q.deps.len()).position(|i| q.text(i) == failure.relation());
                let explain = matches!(
                    failure,
                    Failure::Missing { .. } | Failure::Uninstallable { .. }
                );
                self.nodes[id].why.push(Why::BuildDeps { failure });
                if let (Some(g), true) = (group, explain) {
                    for d in q.deps.get(g).cloned().unwrap_or_default() {
                        let child = self.binary(&d);
                        self.link(id, child);
                    }
                }
            }
        }
        self.on_path[id] = false;
        id
    }

    /// The graph, with roots ranked by how many `needed_by` (or items) reach them.
    pub fn finish(self) -> Chains {
        let mut counts: BTreeMap<NodeId, BTreeSet<String>> = BTreeMap::new();
        let mut seen = vec![false; self.nodes.len()];
        for top in &self.tops {
            seen.iter_mut().for_each(|s| *s = false);
            let mut stack: Vec<NodeId> = top.nodes.clone();
            while let Some(n) = stack.pop() {
                if std::mem::replace(&mut seen[n], true) {
                    continue;
                }
                if self.nodes[n].is_root() {
                    let who = if top.needed_by.is_empty() {
                        vec![top.item.clone()]
                    } else {
                        top.needed_by.clone()
                    };
                    counts.entry(n).or_default().extend(who);
                }
                stack.extend(self.nodes[n].children.iter().copied());
            }
        }
        let mut roots: Vec<RootCount> = counts
            .into_iter()
            .map(|(node, who)| RootCount {
                node,
                name: self.nodes[node].name.clone(),
                unblocks: who.into_iter().collect(),
            })
            .collect();
        roots.sort_by(|a, b| {
            b.unblocks
                .len()
                .cmp(&a.unblocks.len())
                .then_with(|| a.name.cmp(&b.name))
        });
        Chains {
            arch: self.u.arch.clone(),
            nodes: self.nodes,
            tops: self.tops,
            roots,
        }
    }
}

fn dedup_names(sources: &SourceSet, ids: &[u32]) -> usize {
    ids.iter()
        .map(|&i| sources.get(i).info.name.as_str())
        .collect::<BTreeSet<_>>()
        .len()
}

/// Every name sources build or this arch has (virtual names included),
/// sorted, for [`NameIndex::closest`]: built once per explainer, since
/// `--all` asks for thousands of missing names and a scan of all ~150,000
/// names for each took a second.
struct NameIndex<'a> {
    sorted: Vec<&'a str>,
    by_stem: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> NameIndex<'a> {
    fn new(u: &'a Universe, sources: &'a SourceSet) -> NameIndex<'a> {
        let mut sorted: Vec<&str> = sources.binary_names().chain(u.all_names()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut by_stem: HashMap<&str, Vec<&str>> = HashMap::default();
        for &n in &sorted {
            by_stem.entry(stem(n)).or_default().push(n);
        }
        NameIndex { sorted, by_stem }
    }

    /// Names that look like renames of `name` (the same stem without a
    /// trailing version or ABI suffix: `rocm-device-libs-21` → `rocm-device-libs-22`).
    fn closest(&self, name: &str) -> Vec<String> {
        let stem = stem(name);
        let mut same: Vec<&str> = Vec::new();
        if stem.len() >= 3 {
            let named = self.by_stem.get(stem).map_or(&[][..], Vec::as_slice);
            same = named.iter().copied().filter(|n| *n != name).collect();
        }
        if same.is_empty() {
            // No rename: the names sharing the longest prefix (at least 6
            // bytes), e.g. libhsakmt-dev → libhsa-runtime-dev.
            same = self.longest_prefix(name);
        }
        rank(same, name)
    }

    /// The names other than `name` sharing its longest common prefix, if
    /// at least 6 bytes long. In sorted order the best match is a
    /// neighbour of `name`'s place, and all names of that prefix are one run.
    fn longest_prefix(&self, name: &str) -> Vec<&'a str> {
        let lcp = |n: &str| {
            n.bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        let at = self.sorted.partition_point(|n| *n < name);
        let after = at + usize::from(self.sorted.get(at) == Some(&name));
        let before = at.checked_sub(1).and_then(|i| self.sorted.get(i));
        let best = [before, self.sorted.get(after)]
            .into_iter()
            .flatten()
            .map(|n| lcp(n))
            .max()
            .unwrap_or(0);
        if best < 6 {
            return Vec::new();
        }
        let prefix = &name.as_bytes()[..best];
        let start = self.sorted.partition_point(|n| n.as_bytes() < prefix);
        self.sorted[start..]
            .iter()
            .copied()
            .take_while(|n| n.as_bytes().starts_with(prefix))
            .filter(|n| *n != name)
            .collect()
    }
}

/// [`NameIndex::closest`] by a scan of every name, without building the index.
fn closest_by_scan(u: &Universe, sources: &SourceSet, name: &str) -> Vec<String> {
    let names = || {
        sources
            .binary_names()
            .chain(u.all_names())
            .filter(|n| *n != name)
    };
    let stem = stem(name);
    let mut same: BTreeSet<&str> = BTreeSet::new();
    if stem.len() >= 3 {
        same = names().filter(|n| self::stem(n) == stem).collect();
    }
    if same.is_empty() {
        let lcp = |n: &str| {
            n.bytes()
                .zip(name.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        };
        let best = names().map(lcp).max().unwrap_or(0);
        if best >= 6 {
            same = names().filter(|n| lcp(n) == best).collect();
        }
    }
    rank(same, name)
}

/// Sorted, deduplicated candidates `same` → at most 8, the same kind as
/// `name` first (`-dev` for `-dev`).
fn rank<'s>(same: impl IntoIterator<Item = &'s str>, name: &str) -> Vec<String> {
    let suffix = name.rsplit('-').next().unwrap_or("");
    let mut v: Vec<String> = same.into_iter().map(str::to_string).collect();
    v.sort_by_key(|n| !n.ends_with(suffix));
    v.truncate(8);
    v
}

fn stem(name: &str) -> &str {
    let n = name.strip_suffix("t64").unwrap_or(name);
    n.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
}

#[cfg(test)]
mod closest_tests {
    use super::*;

    #[test]
    fn the_index_answers_like_the_scan() {
        let packages = [
            "libhsa-runtime-dev",
            "libhsa-runtime64-1",
            "libhsakmt1",
            "rocm-device-libs-22",
            "rocm-device-libs-22t64",
            "hipcc",
            "zlib1g-dev",
            "zlib1g",
        ]
        .iter()
        .map(|n| format!("Package: {n}\nVersion: 1\nArchitecture: riscv64\n"))
        .collect::<Vec<_>>()
        .join("\n");
        let u = Universe::parse(&packages, "Packages", "riscv64").unwrap();
        let mut sources = SourceSet::default();
        let text = "Package: s\nVersion: 1\nArchitecture: any\nBinary: libhsakmt-dev2, rocm-device-libs-23, zlib1g-udeb\n";
        sources.add_suite(text, "Sources", "sid").unwrap();
        let index = NameIndex::new(&u, &sources);
        for name in [
            "libhsakmt-dev",
            "rocm-device-libs-21",
            "zlib1g",
            "hipcc",
            "libhsa-runtime-dev",
            "zz",
            "rocm-device-libs-22t64",
            "libh",
        ] {
            assert_eq!(
                index.closest(name),
                closest_by_scan(&u, &sources, name),
                "{name}"
            );
        }
        // The same stem wins over a longer shared prefix.
        assert_eq!(index.closest("libhsakmt-dev"), ["libhsakmt-dev2"]);
        assert_eq!(index.closest("libhsakmt"), ["libhsakmt1"]);
        assert_eq!(
            index.closest("rocm-device-libs-21"),
            [
                "rocm-device-libs-22",
                "rocm-device-libs-22t64",
                "rocm-device-libs-23"
            ]
        );
    }
}

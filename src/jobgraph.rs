//! `jobgraph`: the one place that turns a plan into jobs, as cargo's
//! `UnitGraph` is the one graph of units everything after it reads.
//!
//! Pure: no I/O. Made once from the run's plan ([`RunPlan`], the plan of
//! every arch reduced to what jobs need, which is also what
//! `RUNDIR/plan.json` and the plan cache hold) and the host arch
//! ([`host_arch`]). Its views: the local runner's jobs (`pipeline`), the
//! GitLab child pipeline (`ci`), `plan --jobs-json`, and the report's cells
//! for builds that never ran (`report::planned`).
//!
//! The rules, each written here only:
//! - a node per job: a buildable source × arch, or × `all` for a source whose
//!   binaries are all arch:all — built once, on the host arch, from the plan
//!   of the host arch (of the run's first arch when the run lacks the host);
//! - a source with both kinds builds its arch:all binaries in its host-arch
//!   job, so its dependents on other arches need that job as well;
//! - a job needing a job the graph lacks (an arch:all-only source the host
//!   arch's plan does not build) is not a job: it is blocked, naming the need;
//! - every source × arch that is not a job says why ([`Why`]).
//!
//! - with [`JobGraph::add_tests`], a test job (autopkgtest, lintian) after
//!   each build job, needing it alone; no job needs a test job.
//!
//! Job kinds ([`JobKind`]) are an enum so that new ones (rebuilds of the
//! archive's reverse dependencies) join the same graph and the same failure
//! rule (`schedule`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::events::NotBuiltReason;
use crate::plan::Plan;
use crate::plan::render::not_built_reason;
use crate::recipe::{BuildMode, Stack};
use crate::schedule::JobKey;

/// The schema of [`RunPlan`]'s JSON.
pub const SCHEMA: &str = "cascade-run-plan/1";

/// The plan of every arch of a run, reduced to what jobs need; the JSON of
/// `RUNDIR/plan.json` (schema `cascade-run-plan/1`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    pub schema: String,
    /// The arch that builds arch:all binaries ([`host_arch`]); older plans
    /// lack it (then: the first arch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<Arch>,
    /// Sources whose binaries are all arch:all: built once, as arch `all`.
    #[serde(default)]
    pub all_only: BTreeSet<String>,
    /// Sources with arch:all binaries besides arch-dependent ones.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub mixed: BTreeSet<String>,
    pub arches: Vec<ArchSources>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchSources {
    pub arch: Arch,
    /// Buildable sources in build order, then the others.
    pub sources: Vec<PlannedSource>,
    /// The archive packages most of this arch's builds install, which its
    /// warm chroot tarball should hold (`warm::common_build_deps`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warm: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSource {
    pub source: String,
    pub version: String,
    /// The stack sources it build-depends on here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Why it is not built here (excluded or blocked); absent when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_built: Option<NotBuiltReason>,
    /// The other stack sources whose binaries here its autopkgtests name
    /// (its `Testsuite-Triggers`): its test waits for their builds too, is
    /// offered their .debs and reruns when they change
    /// ([`RunPlan::add_test_triggers`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tested_with: Vec<String>,
}

impl RunPlan {
    /// From the stack's plan: every source of every arch, buildable ones in
    /// build order first.
    pub fn from_plan(
        plan: &Plan,
        host: &Arch,
        all_only: &BTreeSet<String>,
        mixed: &BTreeSet<String>,
    ) -> RunPlan {
        let arches = plan
            .arches
            .iter()
            .filter_map(|ap| {
                let arch = Arch::new(&ap.arch)?;
                let sources = ap
                    .in_build_order()
                    .map(|s| {
                        let not_built = not_built_reason(s);
                        PlannedSource {
                            source: s.name.clone(),
                            version: s.version.clone(),
                            depends_on: match not_built {
                                None => s.depends_on.clone(),
                                Some(_) => Vec::new(),
                            },
                            not_built,
                            tested_with: Vec::new(),
                        }
                    })
                    .collect();
                Some(ArchSources {
                    arch,
                    sources,
                    warm: Vec::new(),
                })
            })
            .collect();
        RunPlan {
            schema: SCHEMA.into(),
            host: Some(host.clone()),
            all_only: all_only.clone(),
            mixed: mixed.clone(),
            arches,
        }
    }

    /// Fills each buildable source's [`PlannedSource::tested_with`] from
    /// the stack's control data: per arch, the stack sources that build a
    /// binary its `Testsuite-Triggers` name there (its own left out).
    pub fn add_test_triggers(&mut self, infos: &[crate::control::SourceInfo]) {
        for a in &mut self.arches {
            let mut builder: BTreeMap<&str, &str> = BTreeMap::new();
            for info in infos {
                for b in info.binaries_on(&a.arch) {
                    builder.entry(b).or_insert(&info.name);
                }
            }
            for p in a.sources.iter_mut().filter(|p| p.not_built.is_none()) {
                let Some(info) = infos.iter().find(|i| i.name == p.source) else {
                    continue;
                };
                let mut with: Vec<String> = (info.testsuite_triggers.iter())
                    .filter_map(|t| builder.get(t.as_str()))
                    .filter(|s| **s != p.source)
                    .map(|s| s.to_string())
                    .collect();
                with.sort();
                with.dedup();
                p.tested_with = with;
            }
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
    }

    /// The job graph of a saved plan (plan.json): on its host, else (an
    /// older plan) its first arch; none without an arch, or when it makes
    /// no graph.
    pub fn saved_graph(&self) -> Option<JobGraph> {
        let host = (self.host.clone()).or_else(|| self.arches.first().map(|a| a.arch.clone()));
        JobGraph::new(self, &host?).ok()
    }

    /// Source → the stack sources it build-depends on, on `arch`.
    pub fn edges(&self, arch: &str) -> BTreeMap<String, Vec<String>> {
        self.arches
            .iter()
            .filter(|a| a.arch.as_str() == arch)
            .flat_map(|a| &a.sources)
            .filter(|s| s.not_built.is_none())
            .map(|s| (s.source.clone(), s.depends_on.clone()))
            .collect()
    }

    /// The sources in plan order: arch:all-only ones first, then as the
    /// arches first name them.
    pub fn rows(&self) -> Vec<String> {
        let mut rows: Vec<String> = self.all_only.iter().cloned().collect();
        for s in self.arches.iter().flat_map(|a| &a.sources) {
            if !rows.contains(&s.source) {
                rows.push(s.source.clone());
            }
        }
        rows
    }

    fn arch(&self, arch: &Arch) -> Option<&ArchSources> {
        self.arches.iter().find(|a| &a.arch == arch)
    }
}

/// The arch that builds arch:all binaries, for every consumer: the stack's
/// first `native` arch, else its first; `None` for a stack without arches.
pub fn host_arch(stack: &Stack) -> Option<Arch> {
    stack
        .architectures
        .iter()
        .find(|a| stack.modes.get(*a) == Some(&BuildMode::Native))
        .or_else(|| stack.architectures.first())
        .cloned()
}

/// [`host_arch`] for a run on `arches`: the run's first arch for a stack
/// without any (a validated stack has some).
pub fn run_host(stack: &Stack, arches: &[Arch]) -> Arch {
    host_arch(stack)
        .or_else(|| arches.first().cloned())
        .unwrap_or(Arch::ALL)
}

/// What a job does. Later kinds (rebuilding the archive's reverse
/// dependencies) join here and get the same needs and failure rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// sbuild of one source for one arch, or for `all`.
    Build,
    /// autopkgtest and lintian on what one build job made
    /// ([`JobGraph::add_tests`]).
    Test,
}

/// One job of the graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Source and arch, `all` for an arch:all-only source.
    pub key: JobKey,
    pub kind: JobKind,
    pub version: String,
    /// The arch whose plan it comes from.
    pub plan_arch: Arch,
    /// The arch it builds on: the host arch for an `all` job. A test job
    /// runs its testbed on its build's `build_arch`.
    pub build_arch: Arch,
    /// Whether it builds arch:all binaries: an `all` job, or a mixed
    /// source's job on the host arch.
    pub arch_all: bool,
    /// The jobs it needs directly (their .debs, their success).
    pub needs: Vec<JobKey>,
    /// A build's: the build jobs its test also needs
    /// ([`PlannedSource::tested_with`]).
    pub tested_with: Vec<JobKey>,
}

/// Why a source × arch is not a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    /// The plan does not build it there: excluded or blocked.
    Plan(NotBuiltReason),
    /// It needs this job, which the graph does not have.
    Needs(JobKey),
}

impl Why {
    /// Excluded (the packaging leaves the arch out) rather than blocked.
    pub fn is_exclusion(&self) -> bool {
        matches!(self, Why::Plan(NotBuiltReason::Excluded(_)))
    }

    /// The reason as a run says it, naming a missing job with `job_name`.
    pub fn reason(&self, job_name: impl Fn(&JobKey) -> String) -> NotBuiltReason {
        match self {
            Why::Plan(r) => r.clone(),
            Why::Needs(k) => NotBuiltReason::Blocked(format!(
                "needs {}, which this run does not build",
                job_name(k)
            )),
        }
    }

    /// The reason as a pipeline says it: its text says `excluded: …` or
    /// `blocked: …`.
    pub fn pipeline_reason(&self, job_name: impl Fn(&JobKey) -> String) -> NotBuiltReason {
        match self {
            Why::Plan(NotBuiltReason::Excluded(r)) => {
                NotBuiltReason::Excluded(format!("excluded: {r}"))
            }
            Why::Plan(r) => r.clone(),
            Why::Needs(k) => NotBuiltReason::Blocked(format!(
                "needs {}, which this pipeline does not build",
                job_name(k)
            )),
        }
    }

    /// [`Why::pipeline_reason`]'s text.
    pub fn pipeline_text(&self, job_name: impl Fn(&JobKey) -> String) -> String {
        self.pipeline_reason(job_name).to_string()
    }
}

/// A source × arch (or `all`) that is not a job, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotBuilt {
    pub key: JobKey,
    pub version: String,
    pub why: Why,
}

impl NotBuilt {
    /// Its outcome in a run's results: excluded, with the plan's reason or
    /// the job it lacks.
    pub fn outcome(&self) -> crate::events::Outcome {
        crate::events::Outcome::Excluded {
            reason: self.why.reason(|k| k.to_string()),
        }
    }
}

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("jobs depend on each other in a cycle through {0}")]
    Cycle(JobKey),
}

/// The jobs of a run and what is not built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobGraph {
    /// The arch that builds arch:all binaries.
    pub host: Arch,
    /// The arch whose plan `all` jobs come from: the host when the run has
    /// it, else the run's first arch.
    pub all_from: Arch,
    /// The run's arches, in order.
    pub arches: Vec<Arch>,
    /// `all` jobs first (the host plan's build order), then arch by arch in
    /// build order.
    pub nodes: Vec<Node>,
    /// The plan's reasons arch by arch, then jobs blocked by a missing need.
    pub not_built: Vec<NotBuilt>,
    index: BTreeMap<JobKey, usize>,
}

impl JobGraph {
    /// Every buildable source × arch of `plan`.
    pub fn new(plan: &RunPlan, host: &Arch) -> Result<JobGraph, Error> {
        JobGraph::select(plan, host, |_, _| true)
    }

    /// The jobs of the buildable sources `keep(source, arch)` accepts; a
    /// job's needs name only kept sources (the others' .debs come from
    /// elsewhere).
    pub fn select(
        plan: &RunPlan,
        host: &Arch,
        keep: impl Fn(&str, &Arch) -> bool,
    ) -> Result<JobGraph, Error> {
        let arches: Vec<Arch> = plan.arches.iter().map(|a| a.arch.clone()).collect();
        let all_from = if arches.contains(host) || arches.is_empty() {
            host.clone()
        } else {
            arches[0].clone()
        };
        let mut g = JobGraph {
            host: host.clone(),
            all_from,
            arches,
            nodes: Vec::new(),
            not_built: plan_reasons(plan, host),
            index: BTreeMap::new(),
        };
        let mut wanted = Vec::new();
        if let Some(a) = plan.arch(&g.all_from) {
            for s in a.sources.iter().filter(|s| s.not_built.is_none()) {
                if plan.all_only.contains(&s.source) && keep(&s.source, &a.arch) {
                    wanted.push(g.node(plan, a, s, &keep));
                }
            }
        }
        for a in &plan.arches {
            for s in a.sources.iter().filter(|s| s.not_built.is_none()) {
                if !plan.all_only.contains(&s.source) && keep(&s.source, &a.arch) {
                    wanted.push(g.node(plan, a, s, &keep));
                }
            }
        }
        g.keep_complete(wanted)?;
        Ok(g)
    }

    /// The node of a buildable `s` on `a`.
    fn node(
        &self,
        plan: &RunPlan,
        a: &ArchSources,
        s: &PlannedSource,
        keep: &impl Fn(&str, &Arch) -> bool,
    ) -> Node {
        let all = plan.all_only.contains(&s.source);
        let key_of = |d: &str, arch: &Arch| {
            let at = if plan.all_only.contains(d) {
                Arch::ALL
            } else {
                arch.clone()
            };
            JobKey::new(d, at)
        };
        let mut needs = Vec::new();
        for d in &s.depends_on {
            if keep(d, &a.arch) {
                needs.push(key_of(d, &a.arch));
            }
            // Its arch:all .debs come from the host arch's job.
            if a.arch != self.host
                && plan.mixed.contains(d)
                && self.arches.contains(&self.host)
                && keep(d, &self.host)
            {
                needs.push(JobKey::new(d.clone(), self.host.clone()));
            }
        }
        Node {
            key: key_of(&s.source, &a.arch),
            kind: JobKind::Build,
            version: s.version.clone(),
            plan_arch: a.arch.clone(),
            build_arch: if all {
                self.host.clone()
            } else {
                a.arch.clone()
            },
            arch_all: all || (plan.mixed.contains(&s.source) && a.arch == self.host),
            needs,
            tested_with: (s.tested_with.iter())
                .filter(|t| keep(t, &a.arch))
                .map(|t| key_of(t, &a.arch))
                .collect(),
        }
    }

    /// Takes the nodes whose needs (transitively) are all in `wanted`; the
    /// others become [`Why::Needs`], naming the first missing direct need.
    fn keep_complete(&mut self, wanted: Vec<Node>) -> Result<(), Error> {
        let by_key: BTreeMap<&JobKey, &Node> = wanted.iter().map(|n| (&n.key, n)).collect();
        let mut complete: BTreeMap<JobKey, bool> = BTreeMap::new();
        for n in &wanted {
            is_complete(&n.key, &by_key, &mut complete, &mut Vec::new())?;
        }
        for n in &wanted {
            if complete[&n.key] {
                self.index.insert(n.key.clone(), self.nodes.len());
                self.nodes.push(n.clone());
                continue;
            }
            let missing = n
                .needs
                .iter()
                .find(|d| complete.get(*d) != Some(&true))
                .cloned()
                .unwrap_or_else(|| n.key.clone());
            self.not_built.push(NotBuilt {
                key: n.key.clone(),
                version: n.version.clone(),
                why: Why::Needs(missing),
            });
        }
        Ok(())
    }

    /// Adds a test job after each build job: keyed by the build's key as a
    /// test ([`JobKey::test`]), needing that build job and the build jobs
    /// of the sources its tests trigger on ([`Node::tested_with`], those
    /// that are jobs), so that it waits for those and not for the stack, a
    /// failed need skips it (the schedule's one rule), and nothing needs it
    /// (tests are leaves: a failed test skips no build). Appended after the
    /// builds.
    pub fn add_tests(&mut self) {
        let tests: Vec<Node> = (self.nodes.iter())
            .filter(|n| n.kind == JobKind::Build)
            .map(|b| Node {
                key: b.key.test(),
                kind: JobKind::Test,
                version: b.version.clone(),
                plan_arch: b.plan_arch.clone(),
                build_arch: b.build_arch.clone(),
                arch_all: false,
                needs: std::iter::once(&b.key)
                    .chain(b.tested_with.iter().filter(|t| self.index.contains_key(*t)))
                    .cloned()
                    .collect(),
                tested_with: Vec::new(),
            })
            .collect();
        for t in tests {
            self.index.insert(t.key.clone(), self.nodes.len());
            self.nodes.push(t);
        }
    }

    /// The build jobs each test job needs besides its own build (its
    /// triggers'), by that build's key.
    pub fn test_triggers(&self) -> BTreeMap<JobKey, Vec<JobKey>> {
        (self.nodes.iter())
            .filter(|n| n.kind == JobKind::Test)
            .map(|n| {
                let build = n.key.build();
                let others = n.needs.iter().filter(|k| **k != build).cloned();
                let others = others.collect();
                (build, others)
            })
            .collect()
    }

    /// Where `key` is in [`JobGraph::nodes`] (after every job when it is not).
    pub fn position(&self, key: &JobKey) -> usize {
        self.index.get(key).copied().unwrap_or(usize::MAX)
    }

    pub fn node_of(&self, key: &JobKey) -> Option<&Node> {
        self.index.get(key).map(|&i| &self.nodes[i])
    }

    /// Why `key` is not a job, when the graph says.
    pub fn why_not(&self, key: &JobKey) -> Option<&NotBuilt> {
        self.not_built.iter().find(|n| &n.key == key)
    }

    /// Every job `key` needs, directly or not, each once, depth first in the
    /// needs' order (the dependent's side of "a failure skips its dependents",
    /// for a report asking which failure blocked a job).
    pub fn upstream(&self, key: &JobKey) -> Vec<&JobKey> {
        let needs = |k: &JobKey| self.node_of(k).map(|n| n.needs.as_slice());
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut todo: Vec<&JobKey> = needs(key).unwrap_or_default().iter().rev().collect();
        while let Some(d) = todo.pop() {
            if !seen.insert(d) {
                continue;
            }
            out.push(d);
            todo.extend(needs(d).unwrap_or_default().iter().rev());
        }
        out
    }

    /// `plan` as this graph builds it: a buildable source without a job is
    /// left out (not selected), or not built with the graph's reason.
    pub fn restrict(&self, plan: &RunPlan, job_name: impl Fn(&JobKey) -> String) -> RunPlan {
        let mut out = plan.clone();
        for a in &mut out.arches {
            let arch = a.arch.clone();
            a.sources.retain_mut(|s| {
                if s.not_built.is_some() {
                    return true;
                }
                let key = match plan.all_only.contains(&s.source) {
                    true => JobKey::new(s.source.clone(), Arch::ALL),
                    false => JobKey::new(s.source.clone(), arch.clone()),
                };
                if self.index.contains_key(&key) {
                    return true;
                }
                match self.why_not(&key) {
                    Some(n) => {
                        s.not_built = Some(n.why.pipeline_reason(&job_name));
                        true
                    }
                    None => false,
                }
            });
        }
        out
    }
}

/// The plan's not-built sources, arch by arch: an arch:all-only source
/// once, as `all`, from the arch its job would be planned from.
fn plan_reasons(plan: &RunPlan, host: &Arch) -> Vec<NotBuilt> {
    let has_host = plan.arches.iter().any(|a| &a.arch == host);
    let mut out = Vec::new();
    for (i, a) in plan.arches.iter().enumerate() {
        let all_from_here = if has_host { &a.arch == host } else { i == 0 };
        for s in &a.sources {
            let Some(reason) = &s.not_built else { continue };
            let arch = match plan.all_only.contains(&s.source) {
                true if !all_from_here => continue,
                true => Arch::ALL,
                false => a.arch.clone(),
            };
            out.push(NotBuilt {
                key: JobKey::new(s.source.clone(), arch),
                version: s.version.clone(),
                why: Why::Plan(reason.clone()),
            });
        }
    }
    out
}

/// Whether `key` and everything it needs are in `nodes`; memoised in `memo`.
fn is_complete(
    key: &JobKey,
    nodes: &BTreeMap<&JobKey, &Node>,
    memo: &mut BTreeMap<JobKey, bool>,
    visiting: &mut Vec<JobKey>,
) -> Result<bool, Error> {
    if let Some(&c) = memo.get(key) {
        return Ok(c);
    }
    let Some(node) = nodes.get(key) else {
        return Ok(false);
    };
    if visiting.contains(key) {
        return Err(Error::Cycle(key.clone()));
    }
    visiting.push(key.clone());
    let mut ok = true;
    for d in &node.needs {
        ok &= is_complete(d, nodes, memo, visiting)?;
    }
    visiting.pop();
    memo.insert(key.clone(), ok);
    Ok(ok)
}

#[cfg(test)]
mod tests;

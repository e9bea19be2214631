//! The pure dependency queue the runner drives: which job (a source × arch's
//! build, or its test) may start now, in which order, and what a failure
//! takes down with it.
//!
//! Shaped like cargo's `DependencyQueue`: no I/O, no clocks. Nodes are jobs,
//! edges say "built against", weights are the last known build durations.
//! Among the ready jobs the one heading the longest remaining weighted chain
//! (its critical path) goes first, because list scheduling by critical path
//! keeps the makespan close to the lower bound when workers are plentiful.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::arch::Arch;

/// Estimated duration of a build nobody has timed yet, in seconds.
pub const DEFAULT_WEIGHT_SECS: u64 = 600;
/// How much slower work under qemu (a qemu build, a foreign arch's
/// testbed) is taken to be than native work, until the run directory knows
/// (riscv64 under qemu-user: 3–5× for the demo stack).
pub const QEMU_SLOWDOWN: u64 = 4;

/// What a job does to its source × arch: build it, or test what the build
/// made (a test job depends on its build job and nothing depends on it).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    #[default]
    Build,
    Test,
}

impl Stage {
    pub fn is_build(&self) -> bool {
        *self == Stage::Build
    }
}

/// One job: a source package on one architecture (`all` for the arch:all
/// build that feeds every architecture), built or tested.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct JobKey {
    pub source: String,
    pub arch: Arch,
    /// Absent in JSON for a build, as before test jobs existed.
    #[serde(default, skip_serializing_if = "Stage::is_build")]
    pub stage: Stage,
}

impl JobKey {
    /// The build job of `source` on `arch`.
    pub fn new(source: impl Into<String>, arch: Arch) -> JobKey {
        JobKey {
            source: source.into(),
            arch,
            stage: Stage::Build,
        }
    }

    /// The test job of the same source × arch.
    pub fn test(&self) -> JobKey {
        JobKey {
            stage: Stage::Test,
            ..self.clone()
        }
    }

    /// The build job of the same source × arch.
    pub fn build(&self) -> JobKey {
        JobKey {
            stage: Stage::Build,
            ..self.clone()
        }
    }

    pub fn is_test(&self) -> bool {
        self.stage == Stage::Test
    }
}

/// `source/arch` for a build (the state's keys), `source/arch:test` for
/// its test.
impl fmt::Display for JobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.source, self.arch)?;
        match self.stage {
            Stage::Build => Ok(()),
            Stage::Test => f.write_str(":test"),
        }
    }
}

/// A node of the schedule as the caller describes it.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub key: JobKey,
    /// Jobs whose output this one builds against.
    pub deps: Vec<JobKey>,
    /// Expected duration in seconds (last known build time, or an estimate).
    pub weight: u64,
    /// Memory the build needs, in MiB (0 = negligible).
    pub memory: u64,
}

/// How much may run at once.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Concurrent builds (at least 1).
    pub jobs: usize,
    /// Memory budget in MiB over all running builds; `None` = unlimited.
    pub memory: Option<u64>,
}

/// A job that will never start because a job it depends on failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub job: JobKey,
    /// The failed job at the root of the chain (not the intermediate one).
    pub failed: JobKey,
}

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("job {0} is listed twice")]
    Duplicate(JobKey),
    #[error("job {job} depends on {dep}, which is not part of the run")]
    UnknownDependency { job: JobKey, dep: JobKey },
    #[error("dependency cycle through {0}; the plan should have broken it")]
    Cycle(JobKey),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Waiting,
    Ready,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

#[derive(Debug)]
struct Node {
    spec: JobSpec,
    deps: Vec<usize>,
    dependents: Vec<usize>,
    unfinished_deps: usize,
    /// Own weight plus the heaviest chain of dependents below it.
    critical: u64,
    state: State,
}

/// The dependency queue.
#[derive(Debug)]
pub struct Schedule {
    nodes: Vec<Node>,
    index: BTreeMap<JobKey, usize>,
    limits: Limits,
    running: usize,
    memory_in_use: u64,
}

impl Schedule {
    pub fn new(specs: Vec<JobSpec>, limits: Limits) -> Result<Schedule, Error> {
        let mut index = BTreeMap::new();
        for (i, s) in specs.iter().enumerate() {
            if index.insert(s.key.clone(), i).is_some() {
                return Err(Error::Duplicate(s.key.clone()));
            }
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(specs.len());
        for s in specs {
            let mut deps = BTreeSet::new();
            for d in &s.deps {
                match index.get(d) {
                    Some(&j) => {
                        deps.insert(j);
                    }
                    None => {
                        return Err(Error::UnknownDependency {
                            job: s.key.clone(),
                            dep: d.clone(),
                        });
                    }
                }
            }
            nodes.push(Node {
                unfinished_deps: deps.len(),
                deps: deps.into_iter().collect(),
                dependents: Vec::new(),
                critical: 0,
                state: State::Waiting,
                spec: s,
            });
        }
        for i in 0..nodes.len() {
            for d in nodes[i].deps.clone() {
                nodes[d].dependents.push(i);
            }
        }
        let order = topo_order(&nodes)?;
        // Reverse topological order: every dependent's chain is known first.
        for &i in order.iter().rev() {
            let below = nodes[i]
                .dependents
                .iter()
                .map(|&d| nodes[d].critical)
                .max()
                .unwrap_or(0);
            nodes[i].critical = nodes[i].spec.weight + below;
        }
        for n in &mut nodes {
            if n.unfinished_deps == 0 {
                n.state = State::Ready;
            }
        }
        Ok(Schedule {
            nodes,
            index,
            limits: Limits {
                jobs: limits.jobs.max(1),
                memory: limits.memory,
            },
            running: 0,
            memory_in_use: 0,
        })
    }

    /// The ready jobs, best first (longest critical path, then by key).
    pub fn ready(&self) -> Vec<&JobKey> {
        let mut r: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].state == State::Ready)
            .collect();
        r.sort_by(|&a, &b| self.cmp_priority(a, b));
        r.into_iter().map(|i| &self.nodes[i].spec.key).collect()
    }

    fn cmp_priority(&self, a: usize, b: usize) -> std::cmp::Ordering {
        self.nodes[b]
            .critical
            .cmp(&self.nodes[a].critical)
            .then_with(|| self.nodes[a].spec.key.cmp(&self.nodes[b].spec.key))
    }

    /// Starts the best ready job that fits the limits, if any. A job that
    /// needs more memory than the whole budget runs alone rather than never.
    /// Smaller jobs may overtake a big one waiting for memory (backfilling):
    /// idle workers cost more than the big job's short delay.
    pub fn start_next(&mut self) -> Option<JobKey> {
        if self.running >= self.limits.jobs {
            return None;
        }
        let mut ready: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].state == State::Ready)
            .collect();
        ready.sort_by(|&a, &b| self.cmp_priority(a, b));
        let pick = ready.into_iter().find(|&i| self.fits(i))?;
        let n = &mut self.nodes[pick];
        n.state = State::Running;
        self.running += 1;
        self.memory_in_use += n.spec.memory;
        Some(n.spec.key.clone())
    }

    fn fits(&self, i: usize) -> bool {
        match self.limits.memory {
            None => true,
            Some(budget) => {
                self.running == 0 || self.memory_in_use + self.nodes[i].spec.memory <= budget
            }
        }
    }

    /// Records the end of a running job. On failure every transitive
    /// dependent that has not started is marked skipped and returned.
    pub fn finish(&mut self, job: &JobKey, success: bool) -> Vec<Skip> {
        let Some(&i) = self.index.get(job) else {
            return Vec::new();
        };
        if self.nodes[i].state != State::Running {
            return Vec::new();
        }
        self.running -= 1;
        self.memory_in_use -= self.nodes[i].spec.memory;
        if success {
            self.nodes[i].state = State::Succeeded;
            for d in self.nodes[i].dependents.clone() {
                let n = &mut self.nodes[d];
                n.unfinished_deps -= 1;
                if n.unfinished_deps == 0 && n.state == State::Waiting {
                    n.state = State::Ready;
                }
            }
            Vec::new()
        } else {
            self.nodes[i].state = State::Failed;
            self.skip_dependents(i)
        }
    }

    /// Records jobs that failed before they could start (their bump, their
    /// build copy, the artifacts they need) with the same rule as a failed
    /// build: every transitive dependent that has not started is skipped
    /// and returned, naming the first of `jobs` behind it. Jobs that
    /// started, finished or are unknown are left alone.
    pub fn fail_unstarted(&mut self, jobs: &[JobKey]) -> Vec<Skip> {
        let failed: Vec<usize> = jobs
            .iter()
            .filter_map(|k| self.index.get(k).copied())
            .filter(|&i| matches!(self.nodes[i].state, State::Waiting | State::Ready))
            .collect();
        for &i in &failed {
            self.nodes[i].state = State::Failed;
        }
        failed
            .into_iter()
            .flat_map(|i| self.skip_dependents(i))
            .collect()
    }

    /// Marks the transitive dependents of the failed job `i` that have not
    /// started as skipped, naming `i` as the failure.
    fn skip_dependents(&mut self, i: usize) -> Vec<Skip> {
        let mut skipped = Vec::new();
        let mut stack = self.nodes[i].dependents.clone();
        let mut seen = BTreeSet::new();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            if matches!(self.nodes[d].state, State::Waiting | State::Ready) {
                self.nodes[d].state = State::Skipped;
                skipped.push(d);
                stack.extend(self.nodes[d].dependents.iter().copied());
            }
        }
        skipped.sort_by(|&a, &b| self.nodes[a].spec.key.cmp(&self.nodes[b].spec.key));
        let failed = self.nodes[i].spec.key.clone();
        skipped
            .into_iter()
            .map(|d| Skip {
                job: self.nodes[d].spec.key.clone(),
                failed: failed.clone(),
            })
            .collect()
    }

    /// Marks every job that has not started as cancelled and returns them
    /// (Ctrl-C, or fail-fast after a failure).
    pub fn cancel_pending(&mut self) -> Vec<JobKey> {
        let mut out = Vec::new();
        for n in &mut self.nodes {
            if matches!(n.state, State::Waiting | State::Ready) {
                n.state = State::Cancelled;
                out.push(n.spec.key.clone());
            }
        }
        out.sort();
        out
    }

    /// Number of jobs currently running.
    pub fn running(&self) -> usize {
        self.running
    }

    /// True when nothing is running and nothing can start any more.
    pub fn is_finished(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| !matches!(n.state, State::Waiting | State::Ready | State::Running))
    }

    /// The longest weighted chain from this job down to a sink, its own
    /// weight included.
    pub fn critical_path(&self, job: &JobKey) -> Option<u64> {
        self.index.get(job).map(|&i| self.nodes[i].critical)
    }

    /// The job's direct dependencies.
    pub fn deps(&self, job: &JobKey) -> Vec<&JobKey> {
        self.index
            .get(job)
            .map(|&i| {
                self.nodes[i]
                    .deps
                    .iter()
                    .map(|&d| &self.nodes[d].spec.key)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every job the given one depends on, directly or not, sorted.
    pub fn transitive_deps(&self, job: &JobKey) -> Vec<&JobKey> {
        let Some(&start) = self.index.get(job) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        let mut stack = self.nodes[start].deps.clone();
        while let Some(d) = stack.pop() {
            if seen.insert(d) {
                stack.extend(self.nodes[d].deps.iter().copied());
            }
        }
        let mut out: Vec<&JobKey> = seen.into_iter().map(|d| &self.nodes[d].spec.key).collect();
        out.sort();
        out
    }

    /// The longest weighted chain in the whole graph.
    pub fn longest_chain(&self) -> u64 {
        self.nodes.iter().map(|n| n.critical).max().unwrap_or(0)
    }

    /// Sum of all weights.
    pub fn total_weight(&self) -> u64 {
        self.nodes.iter().map(|n| n.spec.weight).sum()
    }

    /// Number of jobs.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Every node `start` depends on through `edges`, directly or not, each
/// once, depth first in the edges' order: the dependent's side of "a failure
/// skips its dependents", for a caller holding edges rather than a
/// `Schedule` (reports asking which failure blocked a build).
pub fn upstream<'a, F>(start: &'a str, edges: F) -> Vec<&'a str>
where
    F: Fn(&str) -> Option<&'a [String]>,
{
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut todo: Vec<&str> = edges(start)
        .unwrap_or_default()
        .iter()
        .rev()
        .map(String::as_str)
        .collect();
    while let Some(d) = todo.pop() {
        if !seen.insert(d) {
            continue;
        }
        out.push(d);
        if let Some(next) = edges(d) {
            todo.extend(next.iter().rev().map(String::as_str));
        }
    }
    out
}

fn topo_order(nodes: &[Node]) -> Result<Vec<usize>, Error> {
    let mut indeg: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
    let mut queue: Vec<usize> = (0..nodes.len()).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = queue.pop() {
        order.push(i);
        for &d in &nodes[i].dependents {
            indeg[d] -= 1;
            if indeg[d] == 0 {
                queue.push(d);
            }
        }
    }
    if order.len() != nodes.len() {
        let stuck = (0..nodes.len()).find(|&i| indeg[i] > 0).unwrap_or(0);
        return Err(Error::Cycle(nodes[stuck].spec.key.clone()));
    }
    Ok(order)
}

/// Makespan of critical-path list scheduling with `workers` parallel builds,
/// every job taking exactly its weight (the scheduler simulation of the
/// benchmark). Event-driven: no clock, just the weights.
pub fn simulate(specs: Vec<JobSpec>, workers: usize) -> Result<u64, Error> {
    let mut s = Schedule::new(
        specs,
        Limits {
            jobs: workers,
            memory: None,
        },
    )?;
    let mut now = 0u64;
    // (end time, key) of the running jobs.
    let mut running: Vec<(u64, JobKey)> = Vec::new();
    loop {
        while let Some(k) = s.start_next() {
            let w = s.nodes[s.index[&k]].spec.weight;
            running.push((now + w, k));
        }
        if running.is_empty() {
            break;
        }
        running.sort();
        let (end, k) = running.remove(0);
        now = end;
        s.finish(&k, true);
    }
    Ok(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn key(s: &str) -> JobKey {
        let (src, a) = s.split_once('/').unwrap();
        JobKey::new(src, arch(a))
    }

    fn spec(k: &str, deps: &[&str], weight: u64) -> JobSpec {
        JobSpec {
            key: key(k),
            deps: deps.iter().map(|d| key(d)).collect(),
            weight,
            memory: 0,
        }
    }

    fn limits(jobs: usize) -> Limits {
        Limits { jobs, memory: None }
    }

    fn names(v: Vec<&JobKey>) -> Vec<String> {
        v.into_iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn dependencies_come_first() {
        let mut s = Schedule::new(
            vec![
                spec("blas/amd64", &["runtime/amd64"], 10),
                spec("runtime/amd64", &["cmake/all"], 10),
                spec("cmake/all", &[], 1),
            ],
            limits(4),
        )
        .unwrap();
        let mut order = Vec::new();
        while !s.is_finished() {
            let k = s.start_next().unwrap();
            assert!(s.start_next().is_none(), "only one job is ever ready here");
            order.push(k.to_string());
            s.finish(&k, true);
        }
        assert_eq!(order, ["cmake/all", "runtime/amd64", "blas/amd64"]);
    }

    #[test]
    fn parallelism_is_capped_by_the_job_limit() {
        let specs = (0..5)
            .map(|i| spec(&format!("p{i}/amd64"), &[], 1))
            .collect();
        let mut s = Schedule::new(specs, limits(2)).unwrap();
        assert!(s.start_next().is_some());
        assert!(s.start_next().is_some());
        assert_eq!(s.start_next(), None);
        assert_eq!(s.running(), 2);
        s.finish(&key("p0/amd64"), true);
        assert!(s.start_next().is_some());
        assert_eq!(s.start_next(), None);
    }

    #[test]
    fn the_longest_remaining_chain_goes_first() {
        // `short` is heavy but leads nowhere; `head` leads a long chain.
        let s = Schedule::new(
            vec![
                spec("short/amd64", &[], 50),
                spec("head/amd64", &[], 5),
                spec("mid/amd64", &["head/amd64"], 30),
                spec("tail/amd64", &["mid/amd64"], 30),
            ],
            limits(1),
        )
        .unwrap();
        assert_eq!(names(s.ready()), ["head/amd64", "short/amd64"]);
        assert_eq!(s.critical_path(&key("head/amd64")), Some(65));
        assert_eq!(s.longest_chain(), 65);
        assert_eq!(s.total_weight(), 115);
    }

    #[test]
    fn ties_break_by_name_then_arch() {
        let s = Schedule::new(
            vec![
                spec("b/amd64", &[], 1),
                spec("a/riscv64", &[], 1),
                spec("a/amd64", &[], 1),
            ],
            limits(1),
        )
        .unwrap();
        assert_eq!(names(s.ready()), ["a/amd64", "a/riscv64", "b/amd64"]);
    }

    #[test]
    fn a_failure_skips_every_transitive_dependent() {
        let mut s = Schedule::new(
            vec![
                spec("cmake/all", &[], 1),
                spec("runtime/amd64", &["cmake/all"], 1),
                spec("runtime/riscv64", &["cmake/all"], 1),
                spec("blas/amd64", &["runtime/amd64"], 1),
                spec("solver/amd64", &["blas/amd64", "runtime/amd64"], 1),
                spec("other/amd64", &[], 1),
            ],
            limits(1),
        )
        .unwrap();
        let cmake = s.start_next().unwrap();
        assert_eq!(cmake, key("cmake/all"));
        s.finish(&cmake, true);
        let first = s.start_next().unwrap();
        assert_eq!(first, key("runtime/amd64"));
        let skipped = s.finish(&first, false);
        assert_eq!(
            skipped,
            vec![
                Skip {
                    job: key("blas/amd64"),
                    failed: key("runtime/amd64")
                },
                Skip {
                    job: key("solver/amd64"),
                    failed: key("runtime/amd64")
                },
            ]
        );
        let mut rest = Vec::new();
        while let Some(k) = s.start_next() {
            rest.push(k.to_string());
            s.finish(&k, true);
        }
        assert_eq!(rest, ["other/amd64", "runtime/riscv64"]);
        assert!(s.is_finished());
    }

    #[test]
    fn an_arch_all_failure_reaches_every_arch() {
        let mut s = Schedule::new(
            vec![
                spec("cmake/all", &[], 1),
                spec("runtime/amd64", &["cmake/all"], 1),
                spec("runtime/riscv64", &["cmake/all"], 1),
            ],
            limits(2),
        )
        .unwrap();
        let k = s.start_next().unwrap();
        let skipped = s.finish(&k, false);
        assert_eq!(skipped.len(), 2);
        assert!(skipped.iter().all(|x| x.failed == key("cmake/all")));
        assert!(s.is_finished());
    }

    #[test]
    fn the_memory_budget_holds_back_big_jobs_but_never_forever() {
        let mut big = spec("llvm/amd64", &[], 100);
        big.memory = 12000;
        let mut small = spec("small/amd64", &[], 1);
        small.memory = 2000;
        let mut small2 = spec("small2/amd64", &[], 1);
        small2.memory = 2000;
        let mut s = Schedule::new(
            vec![big, small, small2],
            Limits {
                jobs: 3,
                memory: Some(8000),
            },
        )
        .unwrap();
        // The big one is best and over budget: it runs alone.
        assert_eq!(s.start_next(), Some(key("llvm/amd64")));
        assert_eq!(s.start_next(), None);
        s.finish(&key("llvm/amd64"), true);
        assert_eq!(s.start_next(), Some(key("small/amd64")));
        assert_eq!(s.start_next(), Some(key("small2/amd64")));
    }

    #[test]
    fn cancel_marks_everything_not_started() {
        let mut s = Schedule::new(
            vec![spec("a/amd64", &[], 1), spec("b/amd64", &["a/amd64"], 1)],
            limits(1),
        )
        .unwrap();
        let a = s.start_next().unwrap();
        assert_eq!(s.cancel_pending(), vec![key("b/amd64")]);
        assert!(!s.is_finished());
        s.finish(&a, true);
        assert!(s.is_finished());
        assert_eq!(s.start_next(), None);
    }

    #[test]
    fn bad_graphs_are_errors() {
        assert!(matches!(
            Schedule::new(vec![spec("a/amd64", &["x/amd64"], 1)], limits(1)),
            Err(Error::UnknownDependency { .. })
        ));
        assert!(matches!(
            Schedule::new(
                vec![
                    spec("a/amd64", &["b/amd64"], 1),
                    spec("b/amd64", &["a/amd64"], 1)
                ],
                limits(1)
            ),
            Err(Error::Cycle(_))
        ));
        assert!(matches!(
            Schedule::new(
                vec![spec("a/amd64", &[], 1), spec("a/amd64", &[], 1)],
                limits(1)
            ),
            Err(Error::Duplicate(_))
        ));
    }

    #[test]
    fn transitive_deps_follow_the_whole_chain() {
        let s = Schedule::new(
            vec![
                spec("cmake/all", &[], 1),
                spec("runtime/amd64", &["cmake/all"], 1),
                spec("blas/amd64", &["runtime/amd64"], 1),
            ],
            limits(1),
        )
        .unwrap();
        assert_eq!(
            names(s.transitive_deps(&key("blas/amd64"))),
            ["cmake/all", "runtime/amd64"]
        );
    }

    #[test]
    fn simulation_meets_the_bounds_on_a_small_graph() {
        // Two independent chains of 10+10 and four leaves of 5: with 2 workers
        // the critical-path order gives 20, the lower bound.
        let specs = vec![
            spec("a/amd64", &[], 10),
            spec("b/amd64", &["a/amd64"], 10),
            spec("c/amd64", &[], 5),
            spec("d/amd64", &[], 5),
        ];
        assert_eq!(simulate(specs.clone(), 2).unwrap(), 20);
        assert_eq!(simulate(specs, 1).unwrap(), 30);
    }

    #[test]
    fn a_failure_before_building_skips_dependents_like_a_failed_build() {
        let specs = || {
            vec![
                spec("bump/amd64", &[], 1),
                spec("copy/amd64", &[], 1),
                spec("a/amd64", &["bump/amd64"], 1),
                spec("b/amd64", &["a/amd64", "copy/amd64"], 1),
                spec("c/amd64", &["copy/amd64"], 1),
                spec("free/amd64", &[], 1),
            ]
        };
        let mut s = Schedule::new(specs(), limits(1)).unwrap();
        let skips = s.fail_unstarted(&[key("bump/amd64"), key("copy/amd64")]);
        let got: Vec<String> = skips
            .iter()
            .map(|k| format!("{} <- {}", k.job, k.failed))
            .collect();
        assert_eq!(
            got,
            [
                "a/amd64 <- bump/amd64",
                "b/amd64 <- bump/amd64",
                "c/amd64 <- copy/amd64"
            ]
        );
        // Only the independent job is left, and the run can finish.
        assert_eq!(s.start_next(), Some(key("free/amd64")));
        assert!(s.finish(&key("free/amd64"), true).is_empty());
        assert!(s.is_finished());
        // The same graph failing `bump` while building skips the same jobs.
        let mut t = Schedule::new(specs(), limits(2)).unwrap();
        assert_eq!(t.start_next(), Some(key("bump/amd64")));
        let built: Vec<String> = t
            .finish(&key("bump/amd64"), false)
            .iter()
            .map(|k| k.job.to_string())
            .collect();
        assert_eq!(built, ["a/amd64", "b/amd64"]);
        // A job that started is not failed again.
        assert!(t.fail_unstarted(&[key("bump/amd64")]).is_empty());
    }

    #[test]
    fn upstream_walks_dependencies_depth_first_once() {
        let edges: BTreeMap<String, Vec<String>> = [
            ("apps", vec!["blas", "runtime"]),
            ("blas", vec!["runtime", "cmake"]),
            ("runtime", vec!["cmake"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        let got = upstream("apps", |s| edges.get(s).map(Vec::as_slice));
        assert_eq!(got, ["blas", "runtime", "cmake"]);
        assert!(upstream("cmake", |s| edges.get(s).map(Vec::as_slice)).is_empty());
    }
}

//! The plan a run directory carries, `RUNDIR/plan.json` (schema
//! `cascade-run-plan/1`): per architecture, every stack source with its
//! version and stack build-dependencies, or why it is not built there.
//!
//! `cascade build` writes it whenever it plans the whole stack; a GitLab
//! fan-out's report job writes the one `cascade ci generate` planned. Reports
//! read it for what results alone cannot say: the builds that never ran (in
//! a pipeline, GitLab never starts the dependents of a failed job, so they
//! leave no result) and the edges a porting verdict follows from a failure
//! to the packages it blocks.

use std::collections::BTreeMap;
use std::path::Path;

use crate::arch::Arch;
use crate::events::{BuildResult, Outcome};
use crate::jobgraph::JobGraph;
pub use crate::jobgraph::{ArchSources, PlannedSource, RunPlan, SCHEMA};
use crate::schedule::JobKey;

pub use crate::rundir::PLAN as RUN_PLAN;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error("{path}: not a run plan: {source}")]
    Parse {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: schema `{found}`, expected `{SCHEMA}`")]
    Schema {
        path: std::path::PathBuf,
        found: String,
    },
}

impl RunPlan {
    /// `RUNDIR/plan.json`, or `None` when the run has none.
    pub fn load(run_dir: &Path) -> Result<Option<RunPlan>, Error> {
        let path = crate::rundir::RunDir::new(run_dir).plan();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io(crate::fsio::IoError::new(path, source))),
        };
        let plan: RunPlan = serde_json::from_str(&text).map_err(|source| Error::Parse {
            path: path.clone(),
            source,
        })?;
        if plan.schema != SCHEMA {
            return Err(Error::Schema {
                path,
                found: plan.schema,
            });
        }
        Ok(Some(plan))
    }

    /// `results` with a result for every package × arch the plan names: a
    /// planned build without one is `skipped` behind the failed build of a
    /// stack dependency (transitively), else `cancelled` (it never ran); a
    /// source the plan does not build is `excluded` with the plan's reason
    /// (as `all` for an arch:all-only one no arch builds).
    /// Then in plan order: sources as the plan lists them, arch by arch.
    pub fn complete(&self, mut results: Vec<BuildResult>) -> Vec<BuildResult> {
        // A plan is a DAG (the planner breaks cycles): a graph that cannot be
        // made leaves the results as they are.
        let Some(graph) = self.saved_graph() else {
            return results;
        };
        let mut known: BTreeMap<(String, String), usize> = results
            .iter()
            .enumerate()
            .map(|(i, r)| (key(&r.source, &r.arch), i))
            .collect();
        for node in &graph.nodes {
            let (source, arch) = (&node.key.source, &node.key.arch);
            if known.contains_key(&key(source, arch)) {
                continue;
            }
            let result = match failed_dependency(&graph, &node.key, &known, &results) {
                Some((dep, at)) => {
                    BuildResult::skipped(source, arch.clone(), &node.version, &dep, &at)
                }
                None => {
                    BuildResult::not_built(source, arch.clone(), &node.version, Outcome::Cancelled)
                }
            };
            known.insert(key(source, arch), results.len());
            results.push(result);
        }
        for n in &graph.not_built {
            let (source, arch) = (&n.key.source, &n.key.arch);
            if known.contains_key(&key(source, arch)) {
                continue;
            }
            let outcome = n.outcome();
            known.insert(key(source, arch), results.len());
            results.push(BuildResult::not_built(
                source,
                arch.clone(),
                &n.version,
                outcome,
            ));
        }
        self.sort(&mut results);
        results
    }

    /// Plan order: rows as the plan first names them, arch columns in the
    /// plan's order (`all` first), results the plan lacks last.
    fn sort(&self, results: &mut [BuildResult]) {
        let row: BTreeMap<String, usize> = self
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i))
            .collect();
        let col = |arch: &Arch| -> usize {
            if arch.is_all() {
                return 0;
            }
            self.arches
                .iter()
                .position(|a| &a.arch == arch)
                .map_or(usize::MAX, |i| i + 1)
        };
        results.sort_by_key(|r| {
            (
                row.get(&r.source).copied().unwrap_or(usize::MAX),
                col(&r.arch),
            )
        });
    }
}

/// The first failed build among the jobs `job` needs, transitively (their
/// own result, or the failure behind a skip); `known` indexes `results` by
/// [`key`].
fn failed_dependency(
    graph: &JobGraph,
    job: &JobKey,
    known: &BTreeMap<(String, String), usize>,
    results: &[BuildResult],
) -> Option<(String, Arch)> {
    graph.upstream(job).into_iter().find_map(|d| {
        let r = known.get(&key(&d.source, &d.arch)).map(|&i| &results[i])?;
        match &r.outcome {
            o if o.is_failure() => Some((d.source.clone(), d.arch.clone())),
            Outcome::Skipped { dependency, arch } => Some((dependency.clone(), arch.clone())),
            _ => None,
        }
    })
}

/// A result's key: source and arch.
fn key(source: &str, arch: &Arch) -> (String, String) {
    (source.to_string(), arch.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::NotBuiltReason;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn src(source: &str, deps: &[&str]) -> PlannedSource {
        PlannedSource {
            source: source.into(),
            version: "1.0-1".into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            not_built: None,
            tested_with: Vec::new(),
        }
    }

    /// The demo stack's shape on riscv64: cmake (arch:all) ← runtime ←
    /// blas ← apps, and smi excluded.
    fn demo() -> RunPlan {
        let mut smi = src("demo-smi", &[]);
        smi.not_built = Some(NotBuiltReason::Excluded("Architecture: amd64 arm64".into()));
        RunPlan {
            schema: SCHEMA.into(),
            host: None,
            all_only: ["demo-cmake".to_string()].into(),
            mixed: Default::default(),
            arches: vec![ArchSources {
                arch: arch("riscv64"),
                sources: vec![
                    src("demo-cmake", &[]),
                    src("demo-runtime", &["demo-cmake"]),
                    src("demo-blas", &["demo-cmake", "demo-runtime"]),
                    src("demo-apps", &["demo-blas"]),
                    smi,
                ],
                warm: Vec::new(),
            }],
        }
    }

    fn result(source: &str, a: &str, outcome: Outcome) -> BuildResult {
        BuildResult::not_built(source, arch(a), "1.0-1", outcome)
    }

    fn failed() -> Outcome {
        Outcome::Failed {
            stage: "build".into(),
            errors: vec![],
        }
    }

    fn cells(results: &[BuildResult]) -> Vec<String> {
        results
            .iter()
            .map(|r| match &r.outcome {
                Outcome::Skipped { dependency, arch } => {
                    format!("{}/{}: skipped by {dependency}/{arch}", r.source, r.arch)
                }
                o => format!("{}/{}: {}", r.source, r.arch, o.class()),
            })
            .collect()
    }

    #[test]
    fn builds_that_never_ran_are_skipped_behind_the_failure() {
        // A fan-out pipeline: runtime failed, GitLab never started blas
        // and apps; the results come in file-name order.
        let results = vec![
            result("demo-runtime", "riscv64", failed()),
            result("demo-cmake", "all", Outcome::Ok),
        ];
        assert_eq!(
            cells(&demo().complete(results)),
            [
                "demo-cmake/all: ok",
                "demo-runtime/riscv64: failed",
                "demo-blas/riscv64: skipped by demo-runtime/riscv64",
                "demo-apps/riscv64: skipped by demo-runtime/riscv64",
                "demo-smi/riscv64: excluded",
            ]
        );
    }

    #[test]
    fn a_build_without_a_failed_dependency_never_ran() {
        let results = vec![result("demo-cmake", "all", Outcome::Ok)];
        let done = cells(&demo().complete(results));
        assert_eq!(done[1], "demo-runtime/riscv64: cancelled");
        assert_eq!(done[2], "demo-blas/riscv64: cancelled");
    }

    #[test]
    fn an_arch_all_failure_blocks_every_arch() {
        let results = vec![result("demo-cmake", "all", failed())];
        let done = cells(&demo().complete(results));
        assert_eq!(done[1], "demo-runtime/riscv64: skipped by demo-cmake/all");
    }

    #[test]
    fn existing_results_are_kept_as_they_are() {
        let results = vec![
            result("demo-apps", "riscv64", Outcome::Ok),
            result("demo-smi", "riscv64", Outcome::Ok),
            result("demo-cmake", "all", Outcome::Ok),
            result("demo-runtime", "riscv64", Outcome::Ok),
            result("demo-blas", "riscv64", Outcome::Ok),
        ];
        assert_eq!(
            cells(&demo().complete(results)),
            [
                "demo-cmake/all: ok",
                "demo-runtime/riscv64: ok",
                "demo-blas/riscv64: ok",
                "demo-apps/riscv64: ok",
                "demo-smi/riscv64: ok",
            ]
        );
    }

    #[test]
    fn round_trips_and_checks_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(RunPlan::load(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(RUN_PLAN), demo().to_json()).unwrap();
        assert_eq!(RunPlan::load(dir.path()).unwrap(), Some(demo()));
        let mut other = demo();
        other.schema = "cascade-run-plan/9".into();
        std::fs::write(dir.path().join(RUN_PLAN), other.to_json()).unwrap();
        let err = RunPlan::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("plan.json") && err.contains("cascade-run-plan/9"),
            "{err}"
        );
        std::fs::write(dir.path().join(RUN_PLAN), "{").unwrap();
        let err = RunPlan::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a run plan"), "{err}");
    }
}

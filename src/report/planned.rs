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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::arch::Arch;
use crate::events::{BuildResult, Outcome};
use crate::plan::Plan;
use crate::plan::render::not_built_reason;

pub use crate::rundir::PLAN as RUN_PLAN;
pub const SCHEMA: &str = "cascade-run-plan/1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    pub schema: String,
    /// Sources whose binaries are all arch:all: built once, as arch `all`.
    #[serde(default)]
    pub all_only: BTreeSet<String>,
    pub arches: Vec<ArchSources>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchSources {
    pub arch: Arch,
    /// Buildable sources in build order, then the others.
    pub sources: Vec<PlannedSource>,
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
    pub not_built: Option<String>,
}

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
    /// From the stack's plan: every source of every arch, buildable ones in
    /// build order first.
    pub fn from_plan(plan: &Plan, all_only: &BTreeSet<String>) -> RunPlan {
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
                        }
                    })
                    .collect();
                Some(ArchSources { arch, sources })
            })
            .collect();
        RunPlan {
            schema: SCHEMA.into(),
            all_only: all_only.clone(),
            arches,
        }
    }

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

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default() + "\n"
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

    /// The arch a source's result is recorded under: `all` for arch:all-only
    /// sources.
    fn result_arch(&self, source: &str, arch: &Arch) -> Arch {
        if self.all_only.contains(source) {
            Arch::ALL
        } else {
            arch.clone()
        }
    }

    /// `results` with a result for every package × arch the plan names: a
    /// planned build without one is `skipped` behind the failed build of a
    /// stack dependency (transitively), else `cancelled` (it never ran); a
    /// source the plan does not build is `excluded` with the plan's reason
    /// (as `all` for an arch:all-only one no arch builds).
    /// Then in plan order: sources as the plan lists them, arch by arch.
    pub fn complete(&self, mut results: Vec<BuildResult>) -> Vec<BuildResult> {
        let mut known: BTreeMap<(String, String), usize> = results
            .iter()
            .enumerate()
            .map(|(i, r)| (key(&r.source, &r.arch), i))
            .collect();
        // Planned builds first, on every arch: an arch:all-only source one
        // arch leaves out is still built once, as `all`, for the others.
        for planned in [true, false] {
            for a in &self.arches {
                let edges = self.edges(a.arch.as_str());
                for s in a
                    .sources
                    .iter()
                    .filter(|s| s.not_built.is_none() == planned)
                {
                    let arch = self.result_arch(&s.source, &a.arch);
                    if known.contains_key(&key(&s.source, &arch)) {
                        continue;
                    }
                    let failed = match &s.not_built {
                        Some(_) => None,
                        None => {
                            self.failed_dependency(&s.source, &a.arch, &edges, &known, &results)
                        }
                    };
                    let (source, version) = (&s.source, &s.version);
                    let result = match (&s.not_built, failed) {
                        (_, Some((dep, at))) => {
                            BuildResult::skipped(source, arch.clone(), version, &dep, &at)
                        }
                        (Some(reason), None) => {
                            let reason = reason.clone();
                            let outcome = Outcome::Excluded { reason };
                            BuildResult::not_built(source, arch.clone(), version, outcome)
                        }
                        (None, None) => BuildResult::not_built(
                            source,
                            arch.clone(),
                            version,
                            Outcome::Cancelled,
                        ),
                    };
                    known.insert(key(&s.source, &arch), results.len());
                    results.push(result);
                }
            }
        }
        // Plan order: rows as the plan first names them, arch columns in
        // the plan's order (`all` first), results the plan lacks last.
        let mut rows: Vec<&str> = self.all_only.iter().map(String::as_str).collect();
        for a in &self.arches {
            for s in &a.sources {
                if !rows.contains(&s.source.as_str()) {
                    rows.push(&s.source);
                }
            }
        }
        let row: BTreeMap<String, usize> = rows
            .iter()
            .enumerate()
            .map(|(i, s)| (s.to_string(), i))
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
        results
    }

    /// The first failed build among `source`'s stack dependencies on `arch`,
    /// transitively (their own result, or the failure behind a skip);
    /// `known` indexes `results` by [`key`].
    fn failed_dependency(
        &self,
        source: &str,
        arch: &Arch,
        edges: &BTreeMap<String, Vec<String>>,
        known: &BTreeMap<(String, String), usize>,
        results: &[BuildResult],
    ) -> Option<(String, Arch)> {
        let deps = crate::schedule::upstream(source, |s| edges.get(s).map(Vec::as_slice));
        deps.into_iter().find_map(|d| {
            let at = self.result_arch(d, arch);
            let r = known.get(&key(d, &at)).map(|&i| &results[i])?;
            match &r.outcome {
                o if o.is_failure() => Some((d.to_string(), at)),
                Outcome::Skipped { dependency, arch } => Some((dependency.clone(), arch.clone())),
                _ => None,
            }
        })
    }
}

/// A result's key: source and arch.
fn key(source: &str, arch: &Arch) -> (String, String) {
    (source.to_string(), arch.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn src(source: &str, deps: &[&str]) -> PlannedSource {
        PlannedSource {
            source: source.into(),
            version: "1.0-1".into(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            not_built: None,
        }
    }

    /// The demo stack's shape on riscv64: cmake (arch:all) ← runtime ←
    /// blas ← apps, and smi excluded.
    fn demo() -> RunPlan {
        let mut smi = src("demo-smi", &[]);
        smi.not_built = Some("Architecture: amd64 arm64".into());
        RunPlan {
            schema: SCHEMA.into(),
            all_only: ["demo-cmake".to_string()].into(),
            arches: vec![ArchSources {
                arch: arch("riscv64"),
                sources: vec![
                    src("demo-cmake", &[]),
                    src("demo-runtime", &["demo-cmake"]),
                    src("demo-blas", &["demo-cmake", "demo-runtime"]),
                    src("demo-apps", &["demo-blas"]),
                    smi,
                ],
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

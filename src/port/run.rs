//! The run side of a porting run: which builds get a build copy, and how
//! their jobs change — the copy's .dsc and `~port1` version, the recipe's
//! porting profiles, environment and timeout — before the runner sees them;
//! and the [`ArchContext`]s the porting report needs.
//!
//! A job on a porting arch gets a build copy when its source's Architecture
//! field leaves the arch out (the plan tried it anyway: "widened") or when
//! its recipe has porting patches or widens build-dependencies for that
//! arch. Porting profiles, environment and timeout apply to every build on
//! a porting arch whose recipe sets them, widened or not: emulation is slow
//! for all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use super::copy::{self, Origin, PortedSource};
use crate::arch::Arch;
use crate::changelog::Maintainer;
use crate::events::{BuildResult, Outcome};
use crate::recipe::{PortSettings, Recipes};
use crate::report::port::ArchContext;
use crate::runner::{EarlyFailure, Job, take_failed};
use crate::schedule::JobKey;

/// What a porting run adds to a run.
#[derive(Clone, Debug)]
pub struct PortRun<'a> {
    pub recipes: &'a Recipes,
    pub run_dir: &'a Path,
    /// Signs the porting changelog entries.
    pub maintainer: &'a Maintainer,
    /// The porting entries' date. `None`: the modification time of the
    /// source package being ported, so that a rerun makes a byte-identical
    /// .dsc and the runner can reuse its build (dpkg-source clamps the
    /// tarballs' mtimes to the changelog date).
    pub timestamp: Option<u64>,
    /// Porting arches → the sources whose Architecture field leaves them out.
    pub targets: &'a BTreeMap<Arch, BTreeSet<String>>,
}

/// The jobs after [`apply`], and what the report needs.
#[derive(Clone, Debug)]
pub struct Applied {
    pub jobs: Vec<Job>,
    /// One per porting arch, in the targets' order.
    pub contexts: Vec<ArchContext>,
    /// Build copies that could not be made (`failed` at stage `port`) and the
    /// jobs depending on them (`skipped`).
    pub failed: Vec<BuildResult>,
    pub ported: Vec<PortedSource>,
}

/// Whether `source` needs a build copy on `arch`.
pub fn needs_copy(widened: bool, settings: &PortSettings) -> bool {
    widened || !settings.patches.is_empty() || settings.widen_build_depends
}

/// Changes the jobs of the porting arches (see the module documentation).
/// Jobs on other arches and arch:all-only jobs pass unchanged.
pub fn apply(jobs: Vec<Job>, run: &PortRun) -> Result<Applied, crate::runner::Error> {
    let none = PortSettings::default();
    let mut contexts: BTreeMap<Arch, ArchContext> = run
        .targets
        .iter()
        .map(|(arch, widened)| {
            let mut ctx = ArchContext::new(arch.clone());
            ctx.widened = widened.clone();
            for r in &run.recipes.recipes {
                if let Some(link) = r.expected_failures.get(arch).and_then(|e| e.link.clone()) {
                    ctx.links.insert(r.source.clone(), link);
                }
            }
            (arch.clone(), ctx)
        })
        .collect();
    let mut ported = Vec::new();
    let mut broken: BTreeMap<JobKey, String> = BTreeMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    for mut job in jobs {
        let arch = job.request.arch.clone();
        let Some(ctx) = contexts.get_mut(&arch).filter(|_| !job.all_only) else {
            out.push(job);
            continue;
        };
        let source = job.request.source.clone();
        ctx.depends_on.insert(
            source.clone(),
            job.deps.iter().map(|k| k.source.clone()).collect(),
        );
        let recipe = run.recipes.get(&source);
        let settings = recipe.and_then(|r| r.port.get(&arch)).unwrap_or(&none);
        if needs_copy(ctx.widened.contains(&source), settings) {
            let made = copy::prepare(&copy::Request {
                origin: Origin::Dsc(&job.request.dsc),
                source: &source,
                version: &job.request.version,
                arch: &arch,
                settings,
                recipe_dir: &run.recipes.dir,
                run_dir: run.run_dir,
                maintainer: run.maintainer,
                timestamp: run.timestamp.unwrap_or_else(|| mtime(&job.request.dsc)),
            });
            match made {
                Ok(p) => {
                    job.request.dsc = p.dsc.clone();
                    job.request.version = p.version.clone();
                    if let Some(patch) = &p.patch {
                        ctx.patches.insert(source.clone(), patch.clone());
                    }
                    ported.push(p);
                }
                Err(e) => {
                    broken.insert(job.key(), error_chain(&e));
                }
            }
        }
        for p in &settings.profiles {
            if !job.request.profiles.contains(p) {
                job.request.profiles.push(p.clone());
            }
        }
        job.request.env.extend(settings.env.clone());
        if let Some(m) = settings.timeout_minutes {
            job.request.timeout = Some(Duration::from_secs(m * 60));
        }
        out.push(job);
    }
    let broken: Vec<EarlyFailure> = broken
        .into_iter()
        .map(|(key, why)| {
            let outcome = Outcome::Failed {
                stage: "port".into(),
                errors: vec![why],
            };
            EarlyFailure::Job(key, outcome)
        })
        .collect();
    let (jobs, failed) = take_failed(out, &broken)?;
    Ok(Applied {
        jobs,
        contexts: run
            .targets
            .keys()
            .filter_map(|a| contexts.remove(a))
            .collect(),
        failed,
        ported,
    })
}

/// Seconds since the epoch of a file's last modification (0 if unknown:
/// the copy then fails on the missing file anyway).
fn mtime(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::recipe::BuildMode;
    use crate::runner::BuildRequest;

    fn job(source: &str, arch: &str, deps: &[&str]) -> Job {
        let a = Arch::new(arch).unwrap();
        Job {
            request: BuildRequest {
                source: source.into(),
                version: "7.2.4-1~exp1".into(),
                arch: a.clone(),
                mode: BuildMode::Qemu,
                dsc: PathBuf::from(format!("/nonexistent/{source}_7.2.4-1~exp1.dsc")),
                extra_debs: vec![],
                out_dir: PathBuf::new(),
                log: PathBuf::new(),
                timeout: None,
                profiles: vec!["nocheck".into()],
                arch_all: false,
                binnmu: None,
                env: BTreeMap::new(),
            },
            deps: deps
                .iter()
                .map(|d| JobKey::new(d.to_string(), a.clone()))
                .collect(),
            weight: 0,
            memory: 0,
            expected_failure: None,
            chroot_id: "x".into(),
            all_only: false,
        }
    }

    fn recipes(dir: &Path) -> Recipes {
        let stack = crate::demo::init(dir).unwrap();
        let mut recipes = crate::recipe::load(&stack.recipes).unwrap();
        let riscv = Arch::new("riscv64").unwrap();
        let r = recipes
            .recipes
            .iter_mut()
            .find(|r| r.source == "demo-solver")
            .unwrap();
        r.port.insert(
            riscv,
            PortSettings {
                profiles: vec!["nocheck".into(), "noudeb".into()],
                env: [("DEB_BUILD_PARALLEL".to_string(), "1".to_string())].into(),
                timeout_minutes: Some(240),
                ..PortSettings::default()
            },
        );
        recipes
    }

    #[test]
    fn settings_apply_and_a_failed_copy_fails_its_job_and_skips_dependents() {
        let tmp = tempfile::tempdir().unwrap();
        let recipes = recipes(tmp.path());
        let riscv = Arch::new("riscv64").unwrap();
        let targets: BTreeMap<Arch, BTreeSet<String>> =
            [(riscv.clone(), ["demo-kernels".to_string()].into())].into();
        let run_dir = tmp.path().join("run");
        let maintainer = Maintainer {
            name: "P".into(),
            email: "p@example.org".into(),
        };
        let applied = apply(
            vec![
                job("demo-solver", "riscv64", &[]),
                // Its .dsc does not exist: the copy fails.
                job("demo-kernels", "riscv64", &[]),
                job("demo-apps", "riscv64", &["demo-kernels"]),
                job("demo-kernels", "amd64", &[]),
            ],
            &PortRun {
                recipes: &recipes,
                run_dir: &run_dir,
                maintainer: &maintainer,
                timestamp: None,
                targets: &targets,
            },
        )
        .unwrap();
        let keys: Vec<String> = applied.jobs.iter().map(|j| j.key().to_string()).collect();
        assert_eq!(keys, ["demo-solver/riscv64", "demo-kernels/amd64"]);
        let solver = &applied.jobs[0].request;
        assert_eq!(solver.profiles, ["nocheck", "noudeb"]);
        assert_eq!(solver.env["DEB_BUILD_PARALLEL"], "1");
        assert_eq!(solver.timeout, Some(Duration::from_secs(240 * 60)));
        // Not widened, no patches: the original source package.
        assert!(solver.dsc.ends_with("demo-solver_7.2.4-1~exp1.dsc"));
        assert_eq!(applied.failed.len(), 2);
        assert!(matches!(
            &applied.failed[0].outcome,
            Outcome::Failed { stage, errors } if stage == "port" && errors[0].contains("demo-kernels")
        ));
        assert_eq!(
            applied.failed[1].outcome,
            Outcome::Skipped {
                dependency: "demo-kernels".into(),
                arch: riscv.clone()
            }
        );
        let ctx = &applied.contexts[0];
        assert_eq!(ctx.arch, riscv);
        assert_eq!(ctx.depends_on["demo-apps"], ["demo-kernels"]);
        assert!(ctx.widened.contains("demo-kernels"));
    }
}

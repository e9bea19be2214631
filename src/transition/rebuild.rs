//! Rebuilding the outside sources that build-depend on the stack against
//! the run's .debs, with ratt's recheck: a source that fails is built once
//! more against the base suite alone, which tells a regression (builds
//! without the new stack, fails with it) from a package that was already
//! failing.
//!
//! Pure: the rebuilds as runner [`Job`]s ([`jobs`]), which of them a failed
//! stack build blocks ([`blocked_by`]), which failures are rechecked
//! ([`needs_recheck`]) and the verdict ([`verdict`]). Fetching the sources
//! and running sbuild twice are effects (`commands::transition`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::arch::Arch;
use crate::archive::Packages;
use crate::events::Outcome;
use crate::rdeps::Affected;
use crate::recipe::BuildMode;
use crate::runner::{BuildRequest, Job};
use crate::schedule::JobKey;

/// What one outside source's rebuild on one arch came to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Builds against the new stack.
    Ok,
    /// Fails against the new stack, builds against the base suite alone.
    Regression,
    /// Fails against the base suite too.
    AlreadyFailing,
    /// Not built: a stack build it needs failed in the run.
    Skipped,
    /// Not built: its source could not be fetched from the pool.
    Unavailable,
    /// Failed against the new stack; the recheck was not done (cancelled).
    Unchecked,
}

impl Verdict {
    /// How the verdict is written in text and Markdown.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Regression => "regression",
            Verdict::AlreadyFailing => "already failing",
            Verdict::Skipped => "skipped",
            Verdict::Unavailable => "unavailable",
            Verdict::Unchecked => "unchecked",
        }
    }
}

/// One outside source × arch: both builds and the verdict.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rebuilt {
    pub source: String,
    pub version: String,
    pub verdict: Verdict,
    /// The build against the run's .debs (a source that could not be
    /// fetched failed at sbuild's `fetch-src` stage; a blocked one is
    /// `skipped`).
    pub outcome: Outcome,
    /// The recheck against the base suite alone, when there was one.
    pub recheck: Option<Outcome>,
    pub log: Option<PathBuf>,
    pub recheck_log: Option<PathBuf>,
    /// The stack binaries it build-depends on.
    pub via: Vec<String>,
}

/// A failure the recheck can explain: the build ran and failed (sbuild's
/// stages, dependencies it could not install, tests, timeout). Success, a
/// skipped or cancelled build and a source that was never fetched are not
/// rechecked.
pub fn needs_recheck(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Failed { stage, .. } => stage != FETCH_STAGE,
        Outcome::BuildDepUnsatisfiable { .. } | Outcome::TestFailed { .. } | Outcome::Timeout => {
            true
        }
        Outcome::Ok | Outcome::Cancelled | Outcome::Excluded { .. } | Outcome::Skipped { .. } => {
            false
        }
    }
}

/// sbuild's name for the stage that gets the source: a source cascade could
/// not fetch fails there.
pub const FETCH_STAGE: &str = "fetch-src";

/// The verdict of a rebuild against the new stack (`outcome`) and, for a
/// failure, of its recheck against the base suite alone.
pub fn verdict(outcome: &Outcome, recheck: Option<&Outcome>) -> Verdict {
    match (outcome, recheck) {
        (Outcome::Ok, _) => Verdict::Ok,
        (Outcome::Skipped { .. } | Outcome::Excluded { .. }, _) => Verdict::Skipped,
        (Outcome::Failed { stage, .. }, _) if stage == FETCH_STAGE => Verdict::Unavailable,
        (_, Some(Outcome::Ok)) => Verdict::Regression,
        (_, Some(Outcome::Cancelled) | None) => Verdict::Unchecked,
        (_, Some(_)) => Verdict::AlreadyFailing,
    }
}

/// What every rebuild on one arch shares.
#[derive(Clone, Debug)]
pub struct ArchBuild {
    pub arch: Arch,
    pub mode: BuildMode,
    /// The chroot's id and what the run's .debs were built from: both are
    /// inputs of every rebuild (see `state::Inputs`).
    pub chroot_id: String,
    pub timeout: Option<Duration>,
    /// The .debs built against: the run's for this arch and `all` for the
    /// build, none for the recheck.
    pub debs: Vec<PathBuf>,
}

/// One job per fetched candidate (`dscs`: source name → .dsc). The jobs
/// have no dependencies: the stack they build against is already built.
pub fn jobs(candidates: &[Affected], dscs: &BTreeMap<String, PathBuf>, on: &ArchBuild) -> Vec<Job> {
    candidates
        .iter()
        .filter_map(|c| Some(job(c, dscs.get(&c.source)?, on)))
        .collect()
}

fn job(c: &Affected, dsc: &Path, on: &ArchBuild) -> Job {
    Job {
        request: BuildRequest {
            source: c.source.clone(),
            version: c.version.clone().unwrap_or_default(),
            arch: on.arch.clone(),
            mode: on.mode,
            dsc: dsc.to_path_buf(),
            extra_debs: on.debs.clone(),
            out_dir: PathBuf::new(),
            log: PathBuf::new(),
            timeout: on.timeout,
            profiles: Vec::new(),
            arch_all: false,
            binnmu: None,
            env: BTreeMap::new(),
        },
        deps: Vec::new(),
        weight: 0,
        memory: 1024,
        expected_failure: None,
        chroot_id: on.chroot_id.clone(),
        all_only: false,
    }
}

/// The failed stack build that blocks a candidate on `arch`: the first
/// stack source (in the base suite's binary → source map) among those
/// building its `via` binaries whose build failed in the run (`failed`:
/// stack source → its failed job, on this arch or `all`).
pub fn blocked_by(
    c: &Affected,
    packages: &Packages,
    failed: &BTreeMap<String, JobKey>,
) -> Option<JobKey> {
    let sources: BTreeSet<&str> = c.via.iter().filter_map(|b| packages.source_of(b)).collect();
    sources.into_iter().find_map(|s| failed.get(s).cloned())
}

/// The base suite's stack binaries a recheck installs explicitly: the
/// candidate's `via` binaries and, through their Depends and Pre-Depends,
/// every stack binary (of the `stack` sources) they need — the old side of
/// what the first build got from the run. (The chroot's mirror may lack
/// them, as with an overlay archive; where it has them, they are the same
/// packages apt would install.)
pub fn base_stack_binaries(
    via: &[String],
    packages: &Packages,
    stack: &BTreeSet<String>,
) -> BTreeSet<String> {
    let in_stack = |name: &str| {
        packages
            .get(name)
            .is_some_and(|b| stack.contains(&b.source))
    };
    let mut todo: Vec<String> = via.iter().filter(|b| in_stack(b)).cloned().collect();
    let mut out = BTreeSet::new();
    while let Some(name) = todo.pop() {
        let Some(b) = packages.get(&name) else {
            continue;
        };
        if !out.insert(name) {
            continue;
        }
        for group in b.depends.iter().chain(&b.pre_depends) {
            for dep in group {
                for s in packages.satisfiers(dep) {
                    if in_stack(s) && !out.contains(s) {
                        todo.push(s.to_string());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(stage: &str) -> Outcome {
        Outcome::Failed {
            stage: stage.into(),
            errors: vec!["error: boom".into()],
        }
    }

    #[test]
    fn a_failure_that_builds_without_the_new_stack_is_a_regression() {
        assert_eq!(
            verdict(&failed("build"), Some(&Outcome::Ok)),
            Verdict::Regression
        );
        let depwait = Outcome::BuildDepUnsatisfiable {
            missing: vec!["libdemo-runtime1".into()],
        };
        assert_eq!(verdict(&depwait, Some(&Outcome::Ok)), Verdict::Regression);
    }

    #[test]
    fn a_failure_without_the_new_stack_too_was_already_failing() {
        let test = Outcome::TestFailed { errors: vec![] };
        assert_eq!(
            verdict(&test, Some(&failed("build"))),
            Verdict::AlreadyFailing
        );
        assert_eq!(
            verdict(&Outcome::Timeout, Some(&Outcome::Timeout)),
            Verdict::AlreadyFailing
        );
    }

    #[test]
    fn success_skips_and_unfetched_sources_need_no_recheck() {
        assert_eq!(verdict(&Outcome::Ok, None), Verdict::Ok);
        let skipped = Outcome::Skipped {
            dependency: "demo-runtime".into(),
            arch: Arch::new("amd64").unwrap(),
        };
        assert_eq!(verdict(&skipped, None), Verdict::Skipped);
        assert_eq!(verdict(&failed(FETCH_STAGE), None), Verdict::Unavailable);
        for o in [
            Outcome::Ok,
            skipped,
            failed(FETCH_STAGE),
            Outcome::Cancelled,
        ] {
            assert!(!needs_recheck(&o), "{o:?}");
        }
        assert!(needs_recheck(&failed("build")));
        assert!(needs_recheck(&Outcome::Timeout));
    }

    #[test]
    fn a_failure_whose_recheck_did_not_run_is_unchecked() {
        assert_eq!(verdict(&failed("build"), None), Verdict::Unchecked);
        assert_eq!(
            verdict(&failed("build"), Some(&Outcome::Cancelled)),
            Verdict::Unchecked
        );
    }

    fn affected(source: &str, via: &[&str]) -> Affected {
        Affected {
            source: source.into(),
            version: Some("1.0-1".into()),
            via: via.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn jobs_build_the_fetched_candidates_against_the_given_debs() {
        let on = ArchBuild {
            arch: Arch::new("amd64").unwrap(),
            mode: BuildMode::Native,
            chroot_id: "chroot".into(),
            timeout: None,
            debs: vec![PathBuf::from(
                "/run/debs/amd64/libdemo-runtime2_7.2.4_amd64.deb",
            )],
        };
        let dscs = BTreeMap::from([("consumer".to_string(), PathBuf::from("/c/consumer.dsc"))]);
        let got = jobs(
            &[
                affected("consumer", &["libdemo-dev"]),
                affected("gone", &["libdemo-dev"]),
            ],
            &dscs,
            &on,
        );
        assert_eq!(got.len(), 1, "the unfetched source has no job");
        let j = &got[0];
        assert_eq!(j.key(), JobKey::new("consumer", on.arch.clone()));
        assert_eq!(j.request.version, "1.0-1");
        assert_eq!(j.request.extra_debs, on.debs);
        assert!(j.deps.is_empty());
    }

    #[test]
    fn a_recheck_installs_the_base_suite_s_stack_binaries_behind_the_via_ones() {
        let text = "Package: libdemoruntime-dev\nVersion: 7.1.0-1\nArchitecture: amd64\nSource: demo-runtime\nDepends: libdemoruntime0 (= 7.1.0-1), libc6-dev\n\n\
                    Package: libdemoruntime0\nVersion: 7.1.0-1\nArchitecture: amd64\nSource: demo-runtime\nDepends: libc6, demo-cmake\n\n\
                    Package: demo-cmake\nVersion: 7.1.0-1\nArchitecture: all\n\n\
                    Package: libc6\nVersion: 2.41-1\nArchitecture: amd64\nSource: glibc\n\n\
                    Package: libc6-dev\nVersion: 2.41-1\nArchitecture: amd64\nSource: glibc\nDepends: libc6\n";
        let packages = Packages::parse(text, "Packages", "amd64").unwrap();
        let stack: BTreeSet<String> = ["demo-runtime", "demo-cmake"].map(String::from).into();
        let got = base_stack_binaries(
            &["libdemoruntime-dev".into(), "libc6-dev".into()],
            &packages,
            &stack,
        );
        let want: BTreeSet<String> = ["demo-cmake", "libdemoruntime-dev", "libdemoruntime0"]
            .map(String::from)
            .into();
        assert_eq!(got, want);
    }

    #[test]
    fn a_candidate_is_blocked_by_the_failed_build_of_a_source_it_needs() {
        let text = "Package: libdemo-dev\nVersion: 7.1.0-1\nArchitecture: amd64\nSource: demo-runtime\n\n\
                    Package: libother-dev\nVersion: 1\nArchitecture: amd64\nSource: other\n";
        let packages = Packages::parse(text, "Packages", "amd64").unwrap();
        let key = JobKey::new("demo-runtime", Arch::new("amd64").unwrap());
        let failed = BTreeMap::from([("demo-runtime".to_string(), key.clone())]);
        assert_eq!(
            blocked_by(
                &affected("c", &["libother-dev", "libdemo-dev"]),
                &packages,
                &failed
            ),
            Some(key)
        );
        assert_eq!(
            blocked_by(&affected("c", &["libother-dev"]), &packages, &failed),
            None
        );
    }
}

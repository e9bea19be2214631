//! `cascade transition RUNDIR --rebuild`: each selected outside source,
//! fetched from the mirror's pool (checked against Sources), is built under
//! sbuild on each arch against the run's .debs; each failure is built again
//! against the base suite alone (recheck). Facts first (pool files, the
//! run's failed stack builds, chroots), jobs and verdicts from
//! [`crate::transition::rebuild`], the two sbuild passes last. Both passes
//! keep their state, logs and .debs in the run directory
//! (`RUNDIR/transition/{with-stack,recheck}`, see [`RunDir`]), so a second
//! call rebuilds only what changed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;
use crate::arch::Arch;
use crate::archive::Suite;
use crate::archive::pool::pool_sources;
use crate::commands::build::{execute_with_progress, sbuild_config, tmp_base};
use crate::config::Config;
use crate::events::{BuildResult, Outcome};
use crate::fsio::IoError;
use crate::pipeline::{BuildOptions, Prepared};
use crate::rdeps::Affected;
use crate::recipe::{BuildMode, Recipes};
use crate::report::progress::Progress;
use crate::rundir::RunDir;
use crate::runner::{EarlyFailure, Job, take_failed};
use crate::sbuild::SbuildConfig;
use crate::schedule::JobKey;
use crate::transition::rebuild::{self, ArchBuild, FETCH_STAGE, Rebuilt};

/// What the rebuilds need besides the candidates.
pub(super) struct Context<'a> {
    pub recipes: &'a Recipes,
    pub config: &'a Config,
    pub archives: &'a super::BaseArchives<'a>,
    pub base: &'a Suite,
    pub run_dir: &'a Path,
    pub jobs: Option<usize>,
    pub timeout: Option<Duration>,
}

/// The rebuilds of `selected` (per arch, in report order) and whether
/// the user cancelled them.
pub(super) fn rebuild_all(
    cx: &Context<'_>,
    selected: &BTreeMap<Arch, Vec<Affected>>,
) -> Result<(BTreeMap<Arch, Vec<Rebuilt>>, bool), Error> {
    let fetched = fetch_sources(cx, selected)?;
    let dscs: BTreeMap<String, PathBuf> = fetched
        .iter()
        .filter_map(|(n, r)| Some((n.clone(), r.as_ref().ok()?.clone())))
        .collect();
    let failed = failed_stack_builds(cx.run_dir)?;
    let state = crate::state::RunState::load(cx.run_dir)?;
    let sbuild = sbuild_config(cx.recipes, cx.config, false, false);
    // Absolute: the report names the logs.
    let root = std::path::absolute(cx.run_dir).map_err(|e| IoError::new(cx.run_dir, e))?;
    let run = RunDir::new(root);
    let mut jobs = Vec::new();
    let mut early = Vec::new();
    for (arch, cands) in selected.iter().filter(|(_, c)| !c.is_empty()) {
        let stack = stack_digest(&state, arch);
        let on = arch_build(cx, &sbuild, arch, &stack, run_debs(&run, arch)?)?;
        jobs.extend(rebuild::jobs(cands, &dscs, &on));
        early.extend(blocked(cx, arch, cands, &failed));
    }
    let (jobs, skipped) = take_failed(jobs, &by_failed(early))?;
    let (first, cancelled) = if jobs.is_empty() {
        (Vec::new(), false)
    } else {
        pass(cx, &sbuild, &run.transition_with_stack(), jobs.clone())?
    };
    let recheck_jobs = rechecks(cx, selected, &jobs, &first)?;
    let (second, cancelled) = if cancelled || recheck_jobs.is_empty() {
        (Vec::new(), cancelled)
    } else {
        pass(cx, &sbuild, &run.transition_recheck(), recheck_jobs)?
    };
    let first: Vec<BuildResult> = first.into_iter().chain(skipped).collect();
    let out = selected
        .iter()
        .map(|(arch, cands)| {
            let r = cands
                .iter()
                .map(|c| verdict_of(c, arch, &fetched, &first, &second))
                .collect();
            (arch.clone(), r)
        })
        .collect();
    Ok((out, cancelled))
}

/// Each candidate's .dsc in the cache, or why it could not be fetched.
fn fetch_sources(
    cx: &Context<'_>,
    selected: &BTreeMap<Arch, Vec<Affected>>,
) -> Result<BTreeMap<String, Result<PathBuf, String>>, Error> {
    let wanted: BTreeMap<String, String> = selected
        .values()
        .flatten()
        .filter_map(|c| Some((c.source.clone(), c.version.clone()?)))
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rel = format!("dists/{}/main/source/Sources", cx.base.name);
    let mut out = BTreeMap::new();
    let mut left = wanted;
    for (fetcher, text) in cx.archives.texts(&rel)? {
        let origin = fetcher.mirror().describe(&rel);
        for (name, src) in pool_sources(&text, &origin, &left)? {
            left.remove(&name);
            out.insert(name, fetcher.fetch_source(&src).map_err(|e| e.to_string()));
        }
    }
    for (name, version) in left {
        let missing = format!("{name} {version} is not in {rel}");
        out.insert(name, Err(missing));
    }
    Ok(out)
}

/// The run's failed stack builds, per arch: source → its failed job. A
/// failed arch:all build blocks every arch. Read from `RUNDIR/results/`,
/// which a local run writes and CI jobs pass on as artifacts.
fn failed_stack_builds(run_dir: &Path) -> Result<BTreeMap<Arch, BTreeMap<String, JobKey>>, Error> {
    let dir = RunDir::new(run_dir).results();
    let results = if dir.is_dir() {
        crate::report::model::read_results_dir(&dir)?
    } else {
        Vec::new()
    };
    let mut out: BTreeMap<Arch, BTreeMap<String, JobKey>> = BTreeMap::new();
    for r in results {
        // Failed, or skipped behind a failure: not built, its .debs are not
        // in the run. (An excluded source is not the run's failure.)
        if r.outcome.is_failure() || matches!(r.outcome, Outcome::Skipped { .. }) {
            let key = JobKey::new(r.source.clone(), r.arch.clone());
            out.entry(r.arch.clone()).or_default().insert(r.source, key);
        }
    }
    Ok(out)
}

/// The candidates on `arch` a failed stack build blocks.
fn blocked(
    cx: &Context<'_>,
    arch: &Arch,
    cands: &[Affected],
    failed: &BTreeMap<Arch, BTreeMap<String, JobKey>>,
) -> Vec<EarlyFailure> {
    let mut here = failed.get(arch).cloned().unwrap_or_default();
    for (s, k) in failed.get(&Arch::ALL).into_iter().flatten() {
        here.entry(s.clone()).or_insert_with(|| k.clone());
    }
    let Some(packages) = cx.base.packages.get(arch.as_str()) else {
        return Vec::new();
    };
    cands
        .iter()
        .filter_map(|c| {
            let failed = rebuild::blocked_by(c, packages, &here)?;
            let blocks = vec![JobKey::new(c.source.clone(), arch.clone())];
            Some(EarlyFailure::External { failed, blocks })
        })
        .collect()
}

/// One [`EarlyFailure`] per failed build, with every candidate it blocks:
/// a failed arch:all build blocks candidates on several arches, and the
/// schedule takes each job once.
fn by_failed(early: Vec<EarlyFailure>) -> Vec<EarlyFailure> {
    let mut map: BTreeMap<JobKey, Vec<JobKey>> = BTreeMap::new();
    for e in early {
        if let EarlyFailure::External { failed, blocks } = e {
            map.entry(failed).or_default().extend(blocks);
        }
    }
    map.into_iter()
        .map(|(failed, blocks)| EarlyFailure::External { failed, blocks })
        .collect()
}

/// How outside sources build on `arch`: the stack's mode, but qemu where
/// that is cross (nothing says an outside source cross-builds); `stack` is
/// [`stack_digest`].
fn arch_build(
    cx: &Context<'_>,
    sbuild: &SbuildConfig,
    arch: &Arch,
    stack: &str,
    debs: Vec<PathBuf>,
) -> Result<ArchBuild, Error> {
    let mode = match cx.recipes.stack.mode_for(arch) {
        BuildMode::Cross => BuildMode::Qemu,
        m => m,
    };
    let tarball = sbuild.chroot_for(arch, mode);
    let chroot_id = crate::state::chroot_id(&tarball).map_err(|_| {
        Error::Usage(format!(
            "no chroot tarball {} for {arch}: run `cascade setup --arch {arch}`",
            tarball.display()
        ))
    })?;
    // The runner hashes the names of given .debs; a run rebuilt from a
    // changed .dsc at the same version has new .debs under the old names.
    // The input hashes of the run's builds (`stack`) tell them apart.
    let chroot_id = format!("{chroot_id} stack:{stack}");
    Ok(ArchBuild {
        arch: arch.clone(),
        mode,
        chroot_id,
        timeout: cx.timeout,
        debs,
    })
}

/// A digest of the input hashes of the run's successful builds on `arch`
/// and `all`: what the run's .debs there were built from.
fn stack_digest(state: &crate::state::RunState, arch: &Arch) -> String {
    use sha2::Digest;
    let mut hashes: Vec<&str> = (state.entries.values())
        .filter(|e| e.result.outcome == Outcome::Ok)
        .filter(|e| &e.result.arch == arch || e.result.arch.is_all())
        .map(|e| e.input_hash.as_str())
        .collect();
    hashes.sort();
    hex::encode(sha2::Sha256::digest(hashes.join(" ")))
}

/// The run's .debs for `arch` and `all`, without debug symbols; none is
/// an error: a rebuild "against the new stack" would then be against the
/// base suite (a run directory without its .debs, or a CI job that did not
/// get its parent's artifacts).
fn run_debs(run: &RunDir, arch: &Arch) -> Result<Vec<PathBuf>, Error> {
    let mut out = super::debs_in(&run.debs_for(arch.as_str()))?;
    out.extend(super::debs_in(&run.debs_for("all"))?);
    if out.is_empty() {
        return Err(Error::Usage(format!(
            "{} and {} hold no .debs to rebuild against on {arch}",
            run.debs_for(arch.as_str()).display(),
            run.debs_for("all").display()
        )));
    }
    Ok(out)
}

/// The jobs whose first build failed in a way a recheck explains, now
/// against the base suite alone: instead of the run's .debs they get the
/// base suite's stack binaries they need ([`rebuild::base_stack_binaries`]).
fn rechecks(
    cx: &Context<'_>,
    selected: &BTreeMap<Arch, Vec<Affected>>,
    jobs: &[Job],
    first: &[BuildResult],
) -> Result<Vec<Job>, Error> {
    let failed: BTreeSet<JobKey> = first
        .iter()
        .filter(|r| rebuild::needs_recheck(&r.outcome))
        .map(|r| JobKey::new(r.source.clone(), r.arch.clone()))
        .collect();
    let stack: BTreeSet<String> = cx
        .recipes
        .recipes
        .iter()
        .map(|r| r.source.clone())
        .collect();
    let mut out = Vec::new();
    for (arch, cands) in selected {
        let Some(packages) = cx.base.packages.get(arch.as_str()) else {
            continue;
        };
        let again: Vec<(&Job, BTreeSet<String>)> = (jobs.iter())
            .filter(|j| &j.request.arch == arch && failed.contains(&j.key()))
            .map(|j| {
                let c = cands.iter().find(|c| c.source == j.request.source);
                let via = c.map_or(&[][..], |c| &c.via[..]);
                (j, rebuild::base_stack_binaries(via, packages, &stack))
            })
            .collect();
        let wanted: BTreeSet<&String> = again.iter().flat_map(|(_, b)| b).collect();
        let debs = base_debs(cx, arch, wanted)?;
        for (j, binaries) in again {
            let mut j = j.clone();
            j.request.extra_debs = binaries
                .iter()
                .filter_map(|b| debs.get(b).cloned())
                .collect();
            out.push(j);
        }
    }
    Ok(out)
}

/// The base suite's .debs of `binaries` on `arch`, each fetched from the
/// first archive whose Packages lists it (checked against its SHA256),
/// reading each Packages once for all rechecks of the arch. One that
/// cannot be fetched is left out with a warning: the chroot's own mirror
/// may still have it.
fn base_debs(
    cx: &Context<'_>,
    arch: &Arch,
    binaries: BTreeSet<&String>,
) -> Result<BTreeMap<String, PathBuf>, Error> {
    let packages = &cx.base.packages[arch.as_str()];
    let mut left: BTreeMap<String, String> = binaries
        .into_iter()
        .filter_map(|b| Some((b.clone(), packages.get(b)?.version.clone())))
        .collect();
    let mut out = BTreeMap::new();
    if left.is_empty() {
        return Ok(out);
    }
    let rel = format!("dists/{}/main/binary-{arch}/Packages", cx.base.name);
    for (fetcher, text) in cx.archives.texts(&rel)? {
        let origin = fetcher.mirror().describe(&rel);
        for (name, deb) in crate::archive::pool::pool_debs(&text, &origin, &left)? {
            left.remove(&name);
            match fetcher.fetch_deb(&deb) {
                Ok(path) => {
                    out.insert(name, path);
                }
                Err(e) => tracing::warn!("recheck without {name}: {e}"),
            }
        }
    }
    Ok(out)
}

/// One sbuild pass over `jobs` in `dir`, progress on stderr (stdout is
/// the report's).
fn pass(
    cx: &Context<'_>,
    sbuild: &SbuildConfig,
    dir: &Path,
    jobs: Vec<Job>,
) -> Result<(Vec<BuildResult>, bool), Error> {
    let mut arches: Vec<Arch> = jobs.iter().map(|j| j.request.arch.clone()).collect();
    arches.dedup();
    let sources = jobs.iter().map(|j| j.request.source.clone()).collect();
    let prepared = Prepared {
        jobs,
        not_built: Vec::new(),
        sources,
        plan_cached: false,
    };
    let opts = pass_options(cx, dir, arches);
    execute_with_progress(
        prepared,
        sbuild,
        &opts,
        None,
        &tmp_base(cx.recipes, cx.config, false),
        Progress::plain(Box::new(std::io::stderr())),
    )
}

fn pass_options(cx: &Context<'_>, dir: &Path, arches: Vec<Arch>) -> BuildOptions {
    BuildOptions {
        arches,
        only: BTreeSet::new(),
        from_artifacts: None,
        run_dir: dir.to_path_buf(),
        workdir: dir.to_path_buf(),
        jobs: cx.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        modes: BTreeMap::new(),
        fail_fast: false,
        timeout: cx.timeout,
        profiles: Vec::new(),
        port: false,
        allow_expired: false,
        fetch_policy: Default::default(),
        mirror: None,
        cache_dir: cx.config.cache_dir.clone(),
        dry_run: false,
    }
}

/// One candidate's line of the report, from what each step gave.
fn verdict_of(
    c: &Affected,
    arch: &Arch,
    fetched: &BTreeMap<String, Result<PathBuf, String>>,
    first: &[BuildResult],
    second: &[BuildResult],
) -> Rebuilt {
    let find = |rs: &[BuildResult]| {
        rs.iter()
            .find(|r| r.source == c.source && &r.arch == arch)
            .cloned()
    };
    let unfetched = match fetched.get(&c.source) {
        Some(Ok(_)) => None,
        Some(Err(e)) => Some(e.clone()),
        None => Some("the base suite gives no version".to_string()),
    };
    let (outcome, log) = match (unfetched, find(first)) {
        (Some(e), _) => {
            let stage = FETCH_STAGE.to_string();
            (
                Outcome::Failed {
                    stage,
                    errors: vec![e],
                },
                None,
            )
        }
        (None, Some(r)) => (r.outcome, r.log),
        (None, None) => (Outcome::Cancelled, None),
    };
    let again = find(second);
    Rebuilt {
        source: c.source.clone(),
        version: c.version.clone().unwrap_or_default(),
        verdict: rebuild::verdict(&outcome, again.as_ref().map(|r| &r.outcome)),
        outcome,
        recheck: again.as_ref().map(|r| r.outcome.clone()),
        log,
        recheck_log: again.and_then(|r| r.log),
        via: c.via.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str, a: &str) -> JobKey {
        JobKey::new(s, Arch::new(a).unwrap())
    }

    #[test]
    fn one_failed_build_blocking_several_candidates_enters_the_schedule_once() {
        let runtime = key("demo-runtime", "all");
        let early = vec![
            EarlyFailure::External {
                failed: runtime.clone(),
                blocks: vec![key("a", "amd64")],
            },
            EarlyFailure::External {
                failed: runtime.clone(),
                blocks: vec![key("a", "riscv64")],
            },
        ];
        let merged = by_failed(early.clone());
        assert_eq!(merged.len(), 1);
        // Jobs as the command makes them.
        let job = |s: &str, a: &str| {
            let on = ArchBuild {
                arch: Arch::new(a).unwrap(),
                mode: BuildMode::Native,
                chroot_id: String::new(),
                timeout: None,
                debs: Vec::new(),
            };
            let c = Affected {
                source: s.into(),
                version: Some("1".into()),
                via: Vec::new(),
            };
            let dscs = BTreeMap::from([(s.to_string(), PathBuf::from("a.dsc"))]);
            rebuild::jobs(&[c], &dscs, &on).remove(0)
        };
        assert!(
            take_failed(vec![job("a", "amd64")], &early).is_err(),
            "the schedule refuses a failed build given twice"
        );
        let (left, skipped) = take_failed(
            vec![job("a", "amd64"), job("a", "riscv64"), job("b", "amd64")],
            &merged,
        )
        .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(skipped.len(), 2);
        assert!(
            skipped
                .iter()
                .all(|r| matches!(r.outcome, Outcome::Skipped { .. }))
        );
    }
}

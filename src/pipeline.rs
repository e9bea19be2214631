//! The orchestration behind `cascade build` and `cascade run`: source
//! packages (from the bump step) → plan → runner jobs → results, the run
//! directory's layout and the report. Commands stay thin: they parse
//! arguments, print, and call these functions in order.
//!
//! ```text
//! bump outcomes / WORKDIR/source/PKG/*.dsc ─► StackSource ─► plan (cached RunPlan) ─► JobGraph ─► Prepared{jobs, not_built}
//!      ─► runner::run (SbuildBuilder) ─► results ─► RUNDIR/{debs,results,report.*}
//! ```
//!
//! The run directory has the layout the generated GitLab jobs rely on (see
//! `ci`): `RUNDIR/debs/ARCH/*.deb` (arch:all ones in `RUNDIR/debs/all/`),
//! `RUNDIR/logs/*.build`, `RUNDIR/results/PKG_ARCH.json` (one `BuildResult`
//! each), plus the runner's `state.json` and `out/`, and the report files.
//!
//! A no-op rerun must be fast (well under a second on the demo stack): the
//! runner reuses results from `state.json`, and the plan is cached in
//! `RUNDIR/plan-cache.json` keyed by everything it depends on except the
//! archive, whose answers are trusted for [`PLAN_CACHE_MAX_AGE`] — loading
//! sid's indices takes seconds and hundreds of MiB.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use crate::arch::Arch;
use crate::autopkgtest::TestCell;
use crate::bump::{BumpOptions, BumpOutcome, Status as BumpStatus};
use crate::control::SourceInfo;
use crate::events::{BuildResult, Event, NotBuiltReason, Outcome};
use crate::jobgraph::{
    ArchSources, JobGraph, JobKind, Node, NotBuilt, PlannedSource, RunPlan, run_host,
};
use crate::recipe::{BuildMode, Recipes};
use crate::report::{self, Report};
use crate::rundir::RunDir;
use crate::runner::{
    self, BuildOutput, BuildRequest, Builder, CancelToken, EarlyFailure, Job, RunOptions,
};
use crate::sbuild::{self, SbuildConfig};
use crate::schedule::JobKey;
use crate::state;
use crate::teststage::{TestJob, Tester};

/// How long a cached plan is trusted when its inputs are unchanged: the
/// archive (what the stack does not build) moves slowly, and sbuild resolves
/// against the live archive anyway.
pub const PLAN_CACHE_MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// The plan cache's file name inside the run directory.
pub use crate::rundir::PLAN_CACHE;
// 3: each arch carries its warm list (`ArchSources::warm`).
const PLAN_CACHE_SCHEMA: &str = "cascade-plan-cache/3";

/// Errors of this module. Each variant carries what a user needs to act.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no source package for {source_name} in {}: run `cascade bump {source_name}` first (with the same --workdir)",
        dir.display()
    )]
    NoSourcePackage { source_name: String, dir: PathBuf },
    #[error(
        "no chroot for {arch} ({mode}): {} is missing; run `cascade setup --arch {arch}`",
        path.display()
    )]
    NoChroot {
        arch: Arch,
        mode: BuildMode,
        path: PathBuf,
    },
    #[error("--only {0}: no recipe for it in the stack")]
    UnknownSource(String),
    #[error(transparent)]
    Io(#[from] crate::fsio::IoError),
    #[error(transparent)]
    Control(#[from] crate::control::Error),
    #[error(transparent)]
    Archive(#[from] crate::archive::Error),
    #[error(transparent)]
    Planner(#[from] crate::planner::Error),
    #[error(transparent)]
    Runner(#[from] crate::runner::Error),
    #[error(transparent)]
    State(#[from] crate::state::Error),
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    #[error(transparent)]
    Graph(#[from] crate::jobgraph::Error),
}

use crate::fsio::at as io;

/// How to build: the validated options of `cascade build` / `cascade run`.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Architectures to build (a subset of the stack's, in its order).
    pub arches: Vec<Arch>,
    /// Build only these sources (`--only`); empty: the whole stack. Their
    /// stack dependencies are not rebuilt: their .debs come from
    /// `from_artifacts`, else from this run directory's `debs/`.
    pub only: BTreeSet<String>,
    /// `DIR/ARCH/*.deb` and `DIR/all/*.deb`: .debs of the stack built
    /// elsewhere (the GitLab jobs this one needs), passed to sbuild.
    pub from_artifacts: Option<PathBuf>,
    pub run_dir: PathBuf,
    /// Where the bump step works: source packages are in `WORKDIR/source/PKG/`.
    pub workdir: PathBuf,
    pub jobs: usize,
    /// `--mode ARCH=MODE`, over the stack's modes.
    pub modes: BTreeMap<Arch, BuildMode>,
    pub fail_fast: bool,
    /// Per-build timeout over the recipes' and the stack's.
    pub timeout: Option<Duration>,
    /// Build profiles besides the stack's.
    pub profiles: Vec<String>,
    /// Porting run: try sources whose Architecture field leaves an arch out.
    pub port: bool,
    pub allow_expired: bool,
    pub fetch_policy: crate::archive::Policy,
    /// Mirror over the stack's (`--mirror`, `CASCADE_MIRROR`).
    pub mirror: Option<String>,
    /// cascade's cache (archive indices).
    pub cache_dir: PathBuf,
    /// `--dry-run`: plan without writing the run directory (no plan.json,
    /// no plan cache).
    pub dry_run: bool,
}

/// Where the bump step leaves source packages (its default `--out`).
pub fn source_dir(workdir: &Path) -> PathBuf {
    workdir.join("source")
}

/// One source of the stack as this run sees it.
#[derive(Clone, Debug)]
pub struct StackSource {
    pub info: SourceInfo,
    pub version: String,
    /// The source package to build; `None` when the bump failed.
    pub dsc: Option<PathBuf>,
}

/// The newest .dsc of `source` in `dir` (`SOURCE_*.dsc`), by Debian version.
pub fn find_dsc(dir: &Path, source: &str) -> Result<Option<(PathBuf, SourceInfo)>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(dir)(e).into()),
    };
    let prefix = format!("{source}_");
    let mut best: Option<(debversion::Version, PathBuf, SourceInfo)> = None;
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.starts_with(&prefix) || !name.ends_with(".dsc") {
            continue;
        }
        let info = SourceInfo::from_dsc_file(&path)?;
        let Some(v) = info.version.as_deref().and_then(|v| v.parse().ok()) else {
            continue;
        };
        if best.as_ref().is_none_or(|(b, _, _)| &v > b) {
            best = Some((v, path, info));
        }
    }
    Ok(best.map(|(_, p, i)| (p, i)))
}

/// The stack's sources from the source packages the bump step left in
/// `WORKDIR/source/`. Every selected source (all without `--only`) must have
/// one; other sources are taken when present (their edges order the plan).
pub fn sources_from_workdir(
    recipes: &Recipes,
    opts: &BuildOptions,
) -> Result<Vec<StackSource>, Error> {
    for s in &opts.only {
        if recipes.get(s).is_none() {
            return Err(Error::UnknownSource(s.clone()));
        }
    }
    let dir = source_dir(&opts.workdir);
    let mut out = Vec::new();
    for r in &recipes.recipes {
        let selected = opts.only.is_empty() || opts.only.contains(&r.source);
        let pkg_dir = dir.join(&r.source);
        match find_dsc(&pkg_dir, &r.source)? {
            Some((dsc, info)) => out.push(StackSource {
                version: info.version.clone().unwrap_or_default(),
                info,
                dsc: Some(dsc),
            }),
            None if selected => {
                return Err(Error::NoSourcePackage {
                    source_name: r.source.clone(),
                    dir: pkg_dir,
                });
            }
            None => {}
        }
    }
    Ok(out)
}

/// The stack's sources after a bump: the .dsc of each bumped (or already
/// bumped) package; for a package whose bump failed or was skipped, its
/// packaging checkout's debian/control when there is one (so the plan still
/// knows its dependents), and the reason, by source name.
pub fn sources_after_bump(
    recipes: &Recipes,
    outcomes: &[BumpOutcome],
    bump: &BumpOptions,
) -> Result<(Vec<StackSource>, BTreeMap<String, String>), Error> {
    let mut sources = Vec::new();
    let mut failed = BTreeMap::new();
    for o in outcomes {
        let reason = match (&o.status, &o.dsc) {
            (BumpStatus::Bumped | BumpStatus::AlreadyAtTarget, Some(dsc)) => {
                let info = SourceInfo::from_dsc_file(dsc)?;
                sources.push(StackSource {
                    version: info.version.clone().unwrap_or_default(),
                    info,
                    dsc: Some(dsc.clone()),
                });
                continue;
            }
            (BumpStatus::Failed(why), _) => format!("bump failed: {why}"),
            (BumpStatus::Skipped(why), _) => format!("bump skipped: {why}"),
            (other, _) => format!("bump left no source package ({other:?})"),
        };
        failed.insert(o.source.clone(), reason);
        let control = bump.packaging_dir(&o.source).join("debian/control");
        if control.is_file()
            && let Ok(info) = SourceInfo::from_control_file(&control)
        {
            let version = o
                .version
                .clone()
                .or_else(|| recipes.get(&o.source).map(|r| r.debian_version()))
                .unwrap_or_default();
            sources.push(StackSource {
                info,
                version,
                dsc: None,
            });
        }
    }
    Ok((sources, failed))
}

/// The plan of `--only` builds, without the archive: the selected sources'
/// stack dependencies come as .debs from elsewhere (another CI job), so only
/// their own `Architecture` field decides.
pub fn only_plan(sources: &[StackSource], opts: &BuildOptions, host: &Arch) -> RunPlan {
    let infos: Vec<SourceInfo> = sources.iter().map(|s| s.info.clone()).collect();
    let (all_only, mixed) = stack_planner::indep_split(&infos);
    let arches = opts
        .arches
        .iter()
        .map(|arch| {
            let planned = sources
                .iter()
                .filter(|s| opts.only.contains(&s.info.name))
                .map(|s| {
                    let ok = opts.port || s.info.builds_on(arch) || all_only.contains(&s.info.name);
                    PlannedSource {
                        source: s.info.name.clone(),
                        version: s.version.clone(),
                        depends_on: Vec::new(),
                        not_built: (!ok).then(|| {
                            let field = s.info.architecture.join(" ");
                            NotBuiltReason::Excluded(format!("Architecture: {field}"))
                        }),
                        tested_with: Vec::new(),
                    }
                })
                .collect();
            ArchSources {
                arch: arch.clone(),
                sources: planned,
                warm: Vec::new(),
            }
        })
        .collect();
    RunPlan {
        schema: crate::jobgraph::SCHEMA.into(),
        host: Some(host.clone()),
        all_only,
        mixed,
        arches,
    }
}

#[derive(Serialize, Deserialize)]
struct PlanCache {
    schema: String,
    key: String,
    plan: RunPlan,
}

/// The cache key: every input of the plan but the archive.
fn plan_key(recipes: &Recipes, sources: &[StackSource], opts: &BuildOptions) -> String {
    let mut h = Sha256::new();
    let mut feed = |s: &str| {
        h.update(s.as_bytes());
        h.update([0]);
    };
    feed(PLAN_CACHE_SCHEMA);
    // By name: `cascade run` lists the sources in bump order (the last
    // plan's), `cascade build` in the recipes' order; one cache serves both.
    let mut sorted: Vec<&StackSource> = sources.iter().collect();
    sorted.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    for s in sorted {
        feed(&s.info.name);
        feed(&s.version);
        // The .dsc's bytes, not its path: the bump names it by a relative
        // or an absolute path depending on the step that made it. Without a
        // .dsc, the parsed source minus its origin.
        match s.dsc.as_deref().and_then(|d| state::file_sha256(d).ok()) {
            Some(sha) => feed(&sha),
            None => {
                let mut info = s.info.clone();
                info.origin.clear();
                feed(&format!("{info:?}"));
            }
        }
    }
    for r in &recipes.recipes {
        feed(&format!("{}:{}", r.source, r.bootstrap));
    }
    let stack = &recipes.stack;
    feed(&stack.base_suite);
    feed(opts.mirror.as_deref().unwrap_or(&stack.mirror));
    for a in &opts.arches {
        feed(a.as_str());
    }
    feed(&all_profiles(recipes, opts).join(","));
    feed(&format!("{}:{}", opts.port, opts.allow_expired));
    hex::encode(h.finalize())
}

/// The plan for `sources`, from `RUNDIR/plan-cache.json` when its key matches
/// and it is fresh, else computed (loading the archive) and cached. Returns
/// whether the cache was used. The whole stack's plan (not `--only`'s) is
/// also written to `RUNDIR/plan.json` for the run's reports.
///
/// A source whose bump failed before any control data existed (no checkout,
/// not in the archive) is taken from the run directory's earlier plan, read
/// before this one replaces it ([`after_failed_bumps`]).
pub fn plan_for(
    recipes: &Recipes,
    sources: &[StackSource],
    bump_failures: &BTreeMap<String, String>,
    opts: &BuildOptions,
) -> Result<(RunPlan, bool), Error> {
    if !opts.only.is_empty() {
        return Ok((
            only_plan(sources, opts, &run_host(&recipes.stack, &opts.arches)),
            false,
        ));
    }
    let earlier = earlier_plan(&opts.run_dir);
    let (plan, cached) = whole_plan(recipes, sources, opts)?;
    let plan = after_failed_bumps(plan, earlier.as_ref(), bump_failures);
    if !opts.dry_run {
        let path = RunDir::new(&opts.run_dir).plan();
        report::files::write_atomic(&path, plan.to_json().as_bytes())?;
    }
    Ok((plan, cached))
}

fn whole_plan(
    recipes: &Recipes,
    sources: &[StackSource],
    opts: &BuildOptions,
) -> Result<(RunPlan, bool), Error> {
    let key = plan_key(recipes, sources, opts);
    let cache = RunDir::new(&opts.run_dir).plan_cache();
    if let Some(plan) = read_plan_cache(&cache, &key) {
        return Ok((plan, true));
    }
    let load = |allow_expired| {
        stack_planner::load_suites(
            &recipes.stack,
            &opts.arches,
            opts.mirror.as_deref(),
            &opts.cache_dir,
            allow_expired,
            &opts.fetch_policy,
        )
    };
    // The archive only tells the plan what the stack does not build; sbuild
    // resolves against the chroot's own apt. Stale indices are worth a
    // warning here, not a refusal to build.
    let (base, target) = match load(opts.allow_expired) {
        Err(crate::planner::Error::Archive(crate::archive::Error::Expired {
            file,
            valid_until,
        })) => {
            tracing::warn!(
                "{file}: Valid-Until {valid_until} has passed; planning with these indices anyway"
            );
            load(true)?
        }
        other => other?,
    };
    let mut infos: Vec<SourceInfo> = sources.iter().map(|s| s.info.clone()).collect();
    let suites: Vec<&crate::archive::Suite> = target.iter().chain([&base]).collect();
    infos.extend(from_archive(recipes, sources, |name| {
        suites.iter().find_map(|s| s.sources.get(name)).cloned()
    }));
    let popts = stack_planner::Options {
        arches: opts.arches.clone(),
        profiles: all_profiles(recipes, opts),
        port: opts.port,
        include_indep: true,
    };
    let full = stack_planner::plan_stack(recipes, &infos, &base, &popts);
    let (all_only, mixed) = stack_planner::indep_split(&infos);
    let mut plan = RunPlan::from_plan(
        &full,
        &run_host(&recipes.stack, &opts.arches),
        &all_only,
        &mixed,
    );
    warm_lists(&mut plan, &full, &base);
    plan.add_test_triggers(&infos);
    // The run's versions: a source whose bump failed has its checkout's
    // debian/control, which names none.
    let version: BTreeMap<&str, &str> = sources
        .iter()
        .map(|s| (s.info.name.as_str(), s.version.as_str()))
        .collect();
    for p in plan.arches.iter_mut().flat_map(|a| &mut a.sources) {
        if let Some(v) = version.get(p.source.as_str()) {
            p.version = v.to_string();
        }
    }
    let text = serde_json::to_vec_pretty(&PlanCache {
        schema: PLAN_CACHE_SCHEMA.into(),
        key,
        plan: plan.clone(),
    })
    .unwrap_or_default();
    // A cache that cannot be written only costs time on the next run.
    if !opts.dry_run {
        let _ = report::files::write_atomic(&cache, &text);
    }
    Ok((plan, false))
}

/// The archive's control data (`lookup`) of the recipes `sources` lacks: a
/// source whose bump failed before a checkout existed. The plan then knows
/// its dependents, which are skipped behind its failed bump rather than
/// blocked by binaries missing from the archive.
fn from_archive(
    recipes: &Recipes,
    sources: &[StackSource],
    lookup: impl Fn(&str) -> Option<SourceInfo>,
) -> Vec<SourceInfo> {
    recipes
        .recipes
        .iter()
        .filter(|r| !sources.iter().any(|s| s.info.name == r.source))
        .filter_map(|r| lookup(&r.source))
        .collect()
}

/// The run directory's last plan: `plan.json`, else the plan cache's
/// (whatever its age or key); none when neither reads as this schema.
pub fn earlier_plan(run_dir: &Path) -> Option<RunPlan> {
    let dir = RunDir::new(run_dir);
    let plan = std::fs::read(dir.plan())
        .ok()
        .and_then(|b| serde_json::from_slice::<RunPlan>(&b).ok())
        .or_else(|| {
            let b = std::fs::read(dir.plan_cache()).ok()?;
            Some(serde_json::from_slice::<PlanCache>(&b).ok()?.plan)
        })?;
    (plan.schema == crate::jobgraph::SCHEMA).then_some(plan)
}

/// Pure (issue 17.2): the stack's plan after bumps that failed before any
/// control data existed — sources neither a checkout nor the archive
/// describes, so `plan` lacks them. With an `earlier` plan of the run
/// directory, each takes its entries from there, and so do the sources
/// that plan records as (transitively) depending on it and that are not
/// built now: its jobs then enter the schedule failed at bump and those
/// dependents are skipped behind it. What remains unplanned is named in
/// every reason that blames binaries missing from the archive.
pub fn after_failed_bumps(
    mut plan: RunPlan,
    earlier: Option<&RunPlan>,
    bump_failures: &BTreeMap<String, String>,
) -> RunPlan {
    let rows = plan.rows();
    let mut unplanned: Vec<&str> = bump_failures
        .keys()
        .map(String::as_str)
        .filter(|s| !rows.iter().any(|r| r == s))
        .collect();
    if let Some(earlier) = earlier {
        for a in &mut plan.arches {
            if let Some(e) = earlier.arches.iter().find(|e| e.arch == a.arch) {
                restore(a, e, &unplanned);
            }
        }
        for s in &unplanned {
            if earlier.all_only.contains(*s) {
                plan.all_only.insert(s.to_string());
            }
            if earlier.mixed.contains(*s) {
                plan.mixed.insert(s.to_string());
            }
        }
        let rows = plan.rows();
        unplanned.retain(|s| !rows.iter().any(|r| r == s));
    }
    if !unplanned.is_empty() {
        blame_failed_bumps(&mut plan, &unplanned);
    }
    plan
}

/// `failed`'s entries of `earlier` go first in `a`; the sources `earlier`
/// builds behind them (transitively) and `a` does not build get their
/// earlier edges back.
fn restore(a: &mut ArchSources, earlier: &ArchSources, failed: &[&str]) {
    let buildable = || earlier.sources.iter().filter(|s| s.not_built.is_none());
    let mut behind: BTreeSet<&str> = failed.iter().copied().collect();
    let mut grew = true;
    while grew {
        grew = false;
        for s in buildable() {
            if !behind.contains(s.source.as_str())
                && s.depends_on.iter().any(|d| behind.contains(d.as_str()))
            {
                behind.insert(&s.source);
                grew = true;
            }
        }
    }
    for s in a.sources.iter_mut().filter(|s| s.not_built.is_some()) {
        if let Some(old) =
            buildable().find(|o| o.source == s.source && behind.contains(o.source.as_str()))
        {
            s.depends_on = old.depends_on.clone();
            s.not_built = None;
        }
    }
    let entries = earlier
        .sources
        .iter()
        .filter(|s| failed.contains(&s.source.as_str()))
        .cloned();
    a.sources.splice(0..0, entries);
}

/// Every reason blaming binaries missing from the archive names the bumps
/// (`failed`) that failed before their control data could be read: the
/// binaries may be theirs. The one place this is said; plan.json, the
/// results and every report format read it from the plan.
fn blame_failed_bumps(plan: &mut RunPlan, failed: &[&str]) {
    let note = match failed {
        [one] => format!("{one}'s bump failed before its debian/control could be read"),
        many => format!(
            "the bumps of {} failed before their debian/control could be read",
            many.join(", ")
        ),
    };
    for s in plan.arches.iter_mut().flat_map(|a| &mut a.sources) {
        if let Some(why) = s
            .not_built
            .as_mut()
            .filter(|w| w.text().contains("missing from the archive"))
        {
            why.add_note(&note);
        }
    }
}

fn read_plan_cache(path: &Path, key: &str) -> Option<RunPlan> {
    let age = std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())?;
    if age > PLAN_CACHE_MAX_AGE {
        return None;
    }
    let cached: PlanCache = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (cached.schema == PLAN_CACHE_SCHEMA && cached.key == key).then_some(cached.plan)
}

/// The order to bump in: the last plan's build order when the run directory
/// has one (whatever its age: bumps do not depend on each other, the order
/// only makes the output read like the build), else the recipes' order.
pub fn bump_order<'r>(recipes: &'r Recipes, run_dir: &Path) -> Vec<&'r crate::recipe::Recipe> {
    let rows: Vec<String> = std::fs::read(RunDir::new(run_dir).plan_cache())
        .ok()
        .and_then(|b| serde_json::from_slice::<PlanCache>(&b).ok())
        .map(|c| c.plan.rows())
        .unwrap_or_default();
    let mut out: Vec<&crate::recipe::Recipe> = recipes.recipes.iter().collect();
    out.sort_by_key(|r| {
        rows.iter()
            .position(|x| *x == r.source)
            .unwrap_or(usize::MAX)
    });
    out
}

fn all_profiles(recipes: &Recipes, opts: &BuildOptions) -> Vec<String> {
    let mut p = recipes.stack.profiles.clone();
    for x in &opts.profiles {
        if !p.contains(x) {
            p.push(x.clone());
        }
    }
    p
}

/// A binNMU the bump step recorded (`WORKDIR/source/binnmu.json`).
fn binnmus(workdir: &Path) -> Vec<crate::bump::BinNmu> {
    std::fs::read_to_string(source_dir(workdir).join("binnmu.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// What the runner gets, and what it does not build.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub jobs: Vec<Job>,
    /// Excluded, blocked and failed-at-bump package × arch, and those
    /// skipped because of a failed bump.
    pub not_built: Vec<BuildResult>,
    /// Report rows: sources in plan order.
    pub sources: Vec<String>,
    pub plan_cached: bool,
}

/// What [`jobs`] needs from disk, gathered first as plain values.
#[derive(Clone, Debug)]
pub struct JobFacts {
    /// The arch that builds arch:all binaries ([`run_host`]).
    pub host: Arch,
    /// The chroot id of each arch × mode the run may use, or the missing
    /// tarball's path (an error only when a job needs it).
    pub chroots: BTreeMap<(Arch, BuildMode), Result<String, PathBuf>>,
    /// binNMUs the bump step recorded.
    pub binnmus: Vec<crate::bump::BinNmu>,
    /// The run directory's state: which builds have a recorded duration.
    pub known: state::RunState,
    /// Per arch, the stack's .debs built elsewhere (`--only` builds).
    pub artifacts: BTreeMap<Arch, Vec<PathBuf>>,
    /// The failed builds among the results that came with `--from-artifacts`.
    pub failed_artifacts: Vec<BuildResult>,
}

impl JobFacts {
    /// No chroots, no binNMUs, no state, no artifacts.
    pub fn new(host: Arch) -> JobFacts {
        JobFacts {
            host,
            chroots: BTreeMap::new(),
            binnmus: Vec::new(),
            known: state::RunState::default(),
            artifacts: BTreeMap::new(),
            failed_artifacts: Vec::new(),
        }
    }
}

/// Reads what [`jobs`] needs: chroots, binNMUs, the state, artifacts.
pub fn gather(
    recipes: &Recipes,
    opts: &BuildOptions,
    sbuild: &SbuildConfig,
) -> Result<JobFacts, Error> {
    let host = run_host(&recipes.stack, &opts.arches);
    let mut arches = opts.arches.clone();
    if !arches.contains(&host) {
        arches.push(host.clone());
    }
    let mut facts = JobFacts::new(host);
    facts.binnmus = binnmus(&opts.workdir);
    facts.known = state::RunState::load(&opts.run_dir).unwrap_or_default();
    for arch in &arches {
        let mode = mode_of(recipes, opts, arch);
        // Recipes that cannot cross-build go under qemu (`Recipes::mode_of`).
        let modes = match mode {
            BuildMode::Cross => vec![mode, BuildMode::Qemu],
            _ => vec![mode],
        };
        for mode in modes {
            let path = sbuild.chroot_for(arch, mode);
            let id = state::chroot_id(&path).map_err(|_| path);
            facts.chroots.insert((arch.clone(), mode), id);
        }
        if !opts.only.is_empty() {
            facts.artifacts.insert(arch.clone(), artifacts(opts, arch));
        }
    }
    if let Some(dir) = opts
        .from_artifacts
        .as_ref()
        .filter(|_| !opts.only.is_empty())
    {
        facts.failed_artifacts = failed_artifact_results(dir, &opts.only)?;
    }
    Ok(facts)
}

/// Each arch's [`crate::warm::common_build_deps`], named as apt installs
/// them: a virtual package stands for its one provider in the base suite.
fn warm_lists(plan: &mut RunPlan, full: &crate::plan::Plan, base: &crate::archive::Suite) {
    for (arch, warm) in plan
        .arches
        .iter_mut()
        .map(|a| (a.arch.as_str(), &mut a.warm))
    {
        let (Some(ap), Some(packages)) = (
            full.arches.iter().find(|p| p.arch == arch),
            base.packages.get(arch),
        ) else {
            continue;
        };
        *warm = crate::warm::common_build_deps(ap, |name| {
            let dep = crate::control::Dep {
                name: name.to_string(),
                archqual: None,
                version: None,
            };
            let mut found = packages.satisfiers(&dep);
            if found.contains(&name) {
                return Some(name.to_string());
            }
            found.sort_unstable();
            found.dedup();
            (found.len() == 1).then(|| found[0].to_string())
        });
    }
}

/// How `arch` is built in this run (`--mode`, else the stack's rule); a
/// job's own mode is [`Recipes::mode_of`].
pub(crate) fn mode_of(recipes: &Recipes, opts: &BuildOptions, arch: &Arch) -> BuildMode {
    opts.modes
        .get(arch)
        .copied()
        .unwrap_or_else(|| recipes.stack.mode_for(arch))
}

/// The stack .debs an `--only` build on `arch` gets: from `from_artifacts`,
/// else this run dir's, except the selected sources' own.
fn artifacts(opts: &BuildOptions, arch: &Arch) -> Vec<PathBuf> {
    let (dir, own): (PathBuf, BTreeSet<String>) = match &opts.from_artifacts {
        Some(d) => (d.clone(), BTreeSet::new()),
        None => (
            RunDir::new(&opts.run_dir).debs(),
            own_deb_names(&opts.run_dir, &opts.only),
        ),
    };
    let mut debs = Vec::new();
    for sub in [arch.as_str(), "all"] {
        debs.extend(
            list_debs(&dir.join(sub))
                .into_iter()
                .filter(|d| !own.contains(&file_name(d))),
        );
    }
    debs
}

/// [`gather`], then [`jobs`].
pub fn prepare(
    recipes: &Recipes,
    sources: &[StackSource],
    bump_failures: &BTreeMap<String, String>,
    plan: &RunPlan,
    opts: &BuildOptions,
    sbuild: &SbuildConfig,
) -> Result<Prepared, Error> {
    let facts = gather(recipes, opts, sbuild)?;
    jobs(recipes, sources, bump_failures, plan, opts, &facts)
}

/// The inputs of [`jobs`], read by the helpers that make one job.
struct JobInputs<'a> {
    recipes: &'a Recipes,
    by_name: BTreeMap<&'a str, &'a StackSource>,
    opts: &'a BuildOptions,
    facts: &'a JobFacts,
    profiles: Vec<String>,
    bump_failures: &'a BTreeMap<String, String>,
}

/// Pure: the runner's jobs, one per node of the plan's [`JobGraph`]; what
/// the graph does not build becomes a result. A source whose bump failed
/// gets a `failed` result at stage `bump` on each arch it would build on,
/// and its dependents are skipped.
pub fn jobs(
    recipes: &Recipes,
    sources: &[StackSource],
    bump_failures: &BTreeMap<String, String>,
    plan: &RunPlan,
    opts: &BuildOptions,
    facts: &JobFacts,
) -> Result<Prepared, Error> {
    let selected = |s: &str| opts.only.is_empty() || opts.only.contains(s);
    let graph = JobGraph::new(plan, &facts.host)?;
    let input = JobInputs {
        recipes,
        by_name: sources.iter().map(|s| (s.info.name.as_str(), s)).collect(),
        opts,
        facts,
        profiles: all_profiles(recipes, opts),
        bump_failures,
    };
    let mut jobs = Vec::new();
    for node in graph.nodes.iter().filter(|n| selected(&n.key.source)) {
        jobs.extend(input.job(node)?);
    }
    let mut not_built: Vec<BuildResult> = graph
        .not_built
        .iter()
        .filter(|n| selected(&n.key.source))
        .map(|n| input.not_built(n))
        .collect();
    let planned = plan.rows();
    let unplanned = |s: &str| selected(s) && !planned.iter().any(|p| p == s);
    not_built.extend(unplanned_bump_failures(&input, bump_failures, &unplanned));
    // Cells the plan builds become failed-at-bump, cells it excludes stay
    // excluded; what builds against a failure is skipped.
    let failures = early_failures(&jobs, bump_failures, &facts.failed_artifacts);
    let (jobs, mut failed) = runner::take_failed(jobs, &failures)?;
    not_built.append(&mut failed);
    Ok(Prepared {
        jobs,
        not_built,
        sources: report_rows(recipes, &input.by_name, plan, &selected),
        plan_cached: false,
    })
}

/// Report rows: plan order across arches, then what the plan lacks.
fn report_rows(
    recipes: &Recipes,
    by_name: &BTreeMap<&str, &StackSource>,
    plan: &RunPlan,
    selected: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let planned = plan.rows();
    let recipes = recipes.recipes.iter().map(|r| &r.source);
    let mut rows: Vec<String> = Vec::new();
    for s in planned.iter().chain(recipes) {
        let known = by_name.contains_key(s.as_str()) || !plan.all_only.contains(s);
        if known && selected(s) && !rows.contains(s) {
            rows.push(s.clone());
        }
    }
    rows
}

/// Selected sources the plan does not know: the bump failed before a
/// checkout existed and the archive lacks them. Failed at bump on every
/// arch of its recipe.
fn unplanned_bump_failures(
    input: &JobInputs,
    bump_failures: &BTreeMap<String, String>,
    selected: &dyn Fn(&str) -> bool,
) -> Vec<BuildResult> {
    let mut out = Vec::new();
    for (source, why) in bump_failures.iter().filter(|(s, _)| selected(s)) {
        if input.by_name.contains_key(source.as_str()) {
            continue;
        }
        let Some(r) = input.recipes.get(source) else {
            continue;
        };
        for arch in input.recipes.arches_for(r) {
            if input.opts.arches.contains(&arch) {
                let version = r.debian_version();
                out.push(BuildResult::not_built(
                    source,
                    arch,
                    &version,
                    bump_failed(why),
                ));
            }
        }
    }
    out
}

impl JobInputs<'_> {
    /// The runner's job of `node`; none for a source without a package,
    /// unless its bump failed: that job enters the schedule failed.
    fn job(&self, node: &Node) -> Result<Option<Job>, Error> {
        let source = node.key.source.as_str();
        let (version, dsc) = match self.by_name.get(source) {
            Some(src) => (src.version.clone(), src.dsc.clone()),
            None if self.bump_failures.contains_key(source) => {
                let version = self.recipes.get(source).map(|r| r.debian_version());
                (version.unwrap_or_else(|| node.version.clone()), None)
            }
            None => return Ok(None),
        };
        let (recipes, opts, facts) = (self.recipes, self.opts, self.facts);
        let recipe = recipes.get(source);
        let build_arch = &node.build_arch;
        let mode = recipes.mode_of(source, mode_of(recipes, opts, build_arch));
        let timeout = opts.timeout.or_else(|| {
            recipe
                .and_then(|r| r.timeout_minutes)
                .or(recipes.stack.timeout_minutes)
                .map(|m| Duration::from_secs(m * 60))
        });
        let binnmu = facts
            .binnmus
            .iter()
            .find(|b| b.source == source && b.source_version == version)
            .map(|b| (b.binnmu, b.reason.clone()));
        let request = BuildRequest {
            source: source.to_string(),
            version,
            arch: build_arch.clone(),
            mode,
            dsc: dsc.unwrap_or_default(),
            extra_debs: facts.artifacts.get(build_arch).cloned().unwrap_or_default(),
            out_dir: PathBuf::new(),
            log: PathBuf::new(),
            timeout,
            profiles: self.profiles.clone(),
            arch_all: node.arch_all,
            binnmu,
            env: BTreeMap::new(),
        };
        Ok(Some(Job {
            request,
            deps: node.needs.clone(),
            weight: weight_of(&facts.known, &node.key, mode),
            memory: recipe.map_or(1, |r| u64::from(r.memory_weight)) * 1024,
            expected_failure: recipe
                .and_then(|r| r.expected_failures.get(&node.key.arch))
                .map(|e| e.reason.clone()),
            chroot_id: self.chroot_id(build_arch, mode)?,
            all_only: node.key.arch.is_all(),
        }))
    }

    /// The result of a source × arch the graph does not build: `excluded`,
    /// with the plan's reason or the job it lacks.
    fn not_built(&self, n: &NotBuilt) -> BuildResult {
        let version = self
            .by_name
            .get(n.key.source.as_str())
            .map_or(n.version.clone(), |s| s.version.clone());
        BuildResult::not_built(&n.key.source, n.key.arch.clone(), &version, n.outcome())
    }

    fn chroot_id(&self, arch: &Arch, mode: BuildMode) -> Result<String, Error> {
        let missing = |path: PathBuf| Error::NoChroot {
            arch: arch.clone(),
            mode,
            path,
        };
        match self.facts.chroots.get(&(arch.clone(), mode)) {
            Some(Ok(id)) => Ok(id.clone()),
            Some(Err(path)) => Err(missing(path.clone())),
            None => Err(missing(PathBuf::new())),
        }
    }
}

/// Builds with no recorded duration: emulation is several times slower
/// than a native build, so that the first run already starts the qemu
/// chains early. A recorded duration (weight 0: the runner looks it up)
/// wins on later runs.
fn weight_of(known: &state::RunState, key: &JobKey, mode: BuildMode) -> u64 {
    match (known.get(key), mode) {
        (Some(_), _) => 0,
        (None, BuildMode::Qemu) => {
            crate::schedule::QEMU_SLOWDOWN * crate::schedule::DEFAULT_WEIGHT_SECS
        }
        (None, _) => crate::schedule::DEFAULT_WEIGHT_SECS,
    }
}

/// Porting run: per arch, the sources the plan tries only because of
/// porting — buildable there, but their Architecture field leaves the arch
/// out (arch:all-only sources are never widened).
pub fn widened(
    sources: &[StackSource],
    plan: &RunPlan,
    arches: &[Arch],
) -> BTreeMap<Arch, BTreeSet<String>> {
    arches
        .iter()
        .map(|arch| {
            let buildable: BTreeSet<&str> = plan
                .arches
                .iter()
                .filter(|a| &a.arch == arch)
                .flat_map(|a| a.sources.iter().filter(|p| p.not_built.is_none()))
                .map(|p| p.source.as_str())
                .collect();
            let set = sources
                .iter()
                .filter(|s| {
                    buildable.contains(s.info.name.as_str())
                        && !plan.all_only.contains(&s.info.name)
                        && !s.info.builds_on(arch)
                })
                .map(|s| s.info.name.clone())
                .collect();
            (arch.clone(), set)
        })
        .collect()
}

/// Porting run (`opts.port`): the prepared jobs on `opts.arches` build from
/// build copies where `port::run` says so, with the recipes' porting
/// profiles, environment and timeouts (`--timeout` still wins). Copies that
/// cannot be made become results. Returns what the porting report needs.
pub fn port_jobs(
    prepared: &mut Prepared,
    recipes: &Recipes,
    sources: &[StackSource],
    plan: &RunPlan,
    opts: &BuildOptions,
    maintainer: &crate::changelog::Maintainer,
    timestamp: Option<u64>,
) -> Result<crate::port::run::Applied, Error> {
    let targets = widened(sources, plan, &opts.arches);
    let mut applied = crate::port::run::apply(
        std::mem::take(&mut prepared.jobs),
        &crate::port::run::PortRun {
            recipes,
            run_dir: &opts.run_dir,
            maintainer,
            timestamp,
            targets: &targets,
        },
    )?;
    if let Some(t) = opts.timeout {
        for job in &mut applied.jobs {
            job.request.timeout = Some(t);
        }
    }
    prepared.jobs = std::mem::take(&mut applied.jobs);
    prepared.not_built.append(&mut applied.failed);
    Ok(applied)
}

fn bump_failed(why: &str) -> Outcome {
    Outcome::Failed {
        stage: "bump".into(),
        errors: vec![why.to_string()],
    }
}

/// What fails before building: the jobs of sources whose bump failed
/// (`failed` at stage `bump`), then, in a CI job, the failed builds of its
/// stack dependencies that came with `--from-artifacts`. A CI job's jobs
/// know no edges to those (their plan has no archive), so each blocks every
/// job on its arch, or on every arch when either is `all`; they come sorted
/// by arch and source, so a job blocked by several names the first.
fn early_failures(
    jobs: &[Job],
    bump_failures: &BTreeMap<String, String>,
    failed_artifacts: &[BuildResult],
) -> Vec<EarlyFailure> {
    let mut out: Vec<EarlyFailure> = jobs
        .iter()
        .filter_map(|j| {
            let why = bump_failures.get(&j.request.source)?;
            Some(EarlyFailure::Job(j.key(), bump_failed(why)))
        })
        .collect();
    let mut external: Vec<&BuildResult> = failed_artifacts.iter().collect();
    external.sort_by(|a, b| (a.arch.as_str(), &a.source).cmp(&(b.arch.as_str(), &b.source)));
    for f in external {
        let blocks = jobs
            .iter()
            .map(Job::key)
            .filter(|k| f.arch == k.arch || f.arch.is_all() || k.arch.is_all())
            .collect();
        out.push(EarlyFailure::External {
            failed: JobKey::new(f.source.clone(), f.arch.clone()),
            blocks,
        });
    }
    out
}

/// The failed builds among the results that came with `--from-artifacts`
/// (`DIR/results/*.json`), leaving out the selected sources' own.
fn failed_artifact_results(dir: &Path, only: &BTreeSet<String>) -> Result<Vec<BuildResult>, Error> {
    let results_dir = RunDir::new(dir).results();
    if !results_dir.is_dir() {
        return Ok(Vec::new());
    }
    Ok(report::model::read_results_dir(&results_dir)?
        .into_iter()
        .filter(|r| r.outcome.is_failure() && !only.contains(&r.source))
        .collect())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn list_debs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "deb" || e == "udeb"))
        .collect();
    out.sort();
    out
}

/// File names of the .debs the run directory's state holds for `sources`.
fn own_deb_names(run_dir: &Path, sources: &BTreeSet<String>) -> BTreeSet<String> {
    state::RunState::load(run_dir)
        .map(|s| {
            s.results()
                .into_iter()
                .filter(|r| sources.contains(&r.source))
                .flat_map(|r| r.debs.iter().map(|d| file_name(d)).collect::<Vec<_>>())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the prepared jobs and returns every result (built, reused and not
/// built), in report order: sources as `prepared.sources`, `all` first, then
/// the arches in run order.
pub async fn execute<B: Builder>(
    prepared: Prepared,
    builder: B,
    opts: &BuildOptions,
    events: UnboundedSender<Event>,
    cancel: CancelToken,
) -> Result<Vec<BuildResult>, Error> {
    let effects = (builder, runner::NoTests);
    let run = execute_with_tests(prepared, Vec::new(), effects, opts, events, cancel);
    Ok(run.await?.0)
}

/// [`execute`] with test jobs ([`test_jobs`]) in the same runner and `-j`;
/// also returns the test cells, in job order.
pub async fn execute_with_tests<B: Builder, T: Tester>(
    prepared: Prepared,
    tests: Vec<TestJob>,
    (builder, tester): (B, T),
    opts: &BuildOptions,
    events: UnboundedSender<Event>,
    cancel: CancelToken,
) -> Result<(Vec<BuildResult>, Vec<TestCell>), Error> {
    let mut run = RunOptions::new(opts.run_dir.clone());
    run.jobs = opts.jobs.max(1);
    run.fail_fast = opts.fail_fast;
    run.default_timeout = opts.timeout;
    let (mut results, cells) =
        runner::run_with_tests(prepared.jobs, tests, builder, tester, run, events, cancel).await?;
    results.extend(prepared.not_built);
    sort_results(&mut results, &prepared.sources, &opts.arches);
    Ok((results, cells))
}

/// Pure: the test jobs of `--test`, one per test node of the plan's job
/// graph ([`JobGraph::add_tests`]) whose build is one of `prepared`'s
/// jobs (a build that failed before building or was not selected has
/// none); a job tests its build's .dsc (a porting run's build copy) and is
/// offered the .debs its build was given from elsewhere (`--only`).
/// `settings(source, test_arch)` is [`crate::teststage::settings_id`].
pub fn test_jobs(
    plan: &RunPlan,
    host: &Arch,
    prepared: &Prepared,
    settings: impl Fn(&str, &Arch) -> String,
) -> Result<Vec<TestJob>, Error> {
    let mut graph = JobGraph::new(plan, host)?;
    graph.add_tests();
    let builds: BTreeMap<JobKey, &Job> = prepared.jobs.iter().map(|j| (j.key(), j)).collect();
    let mut triggers = graph.test_triggers();
    let tests = (graph.nodes.iter())
        .filter(|n| n.kind == JobKind::Test)
        .filter_map(|n| {
            let build = builds.get(&n.key.build())?;
            let dsc = &build.request.dsc;
            Some(TestJob {
                build: n.key.build(),
                version: build.request.version.clone(),
                test_arch: n.build_arch.clone(),
                dsc: Some(dsc.clone())
                    .filter(|d| !d.as_os_str().is_empty())
                    .ok_or_else(|| format!("no source package of {}", n.key.source)),
                // What the build got from elsewhere (`--only` builds).
                debs: build.request.extra_debs.clone(),
                own_debs: Vec::new(),
                settings: settings(&n.key.source, &n.build_arch),
                triggers: triggers.remove(&n.key.build()).unwrap_or_default(),
            })
        });
    Ok(tests.collect())
}

fn sort_results(results: &mut [BuildResult], sources: &[String], arches: &[Arch]) {
    let row = |s: &str| sources.iter().position(|x| x == s).unwrap_or(usize::MAX);
    let col = |a: &Arch| {
        if a.is_all() {
            0
        } else {
            arches
                .iter()
                .position(|x| x == a)
                .map_or(usize::MAX, |i| i + 1)
        }
    };
    results.sort_by(|a, b| {
        (row(&a.source), col(&a.arch), &a.source).cmp(&(row(&b.source), col(&b.arch), &b.source))
    });
}

/// Writes the run directory's shared layout and the report: every result
/// as `results/PKG_ARCH.json`, the .debs of every successful build the
/// state knows as `debs/ARCH/` (hard links, copies across file systems),
/// and report.json, report.html, junit.xml, summary.md.
pub fn write_outputs(
    run_dir: &Path,
    stack: Option<String>,
    duration_secs: f64,
    results: Vec<BuildResult>,
) -> Result<Report, Error> {
    let layout = RunDir::new(run_dir);
    let dir = layout.results();
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    for r in &results {
        let path = layout.result(&r.source, &r.arch);
        let text = serde_json::to_vec_pretty(r).unwrap_or_default();
        report::files::write_atomic(&path, &text)?;
    }
    link_debs(run_dir)?;
    let tests = report::model::read_test_cells(run_dir)?;
    let rep = Report::new(stack, run_dir.to_path_buf(), duration_secs, results).with_tests(tests);
    report::write_all(&rep, run_dir)?;
    Ok(rep)
}

/// Rebuilds `RUNDIR/debs/` from the state: what it holds is always the
/// latest successful build of each package × arch, never a stale version.
fn link_debs(run_dir: &Path) -> Result<(), Error> {
    let layout = RunDir::new(run_dir);
    let debs = layout.debs();
    let st = state::RunState::load(run_dir)?;
    let tmp = layout.debs_staging();
    let _ = std::fs::remove_dir_all(&tmp);
    for r in st.results() {
        if r.outcome != Outcome::Ok {
            continue;
        }
        for deb in &r.debs {
            let name = file_name(deb);
            // name_version_ARCH.deb: arch:all packages go to all/.
            let arch = name
                .rsplit_once('_')
                .and_then(|(_, a)| a.split_once('.'))
                .map(|(a, _)| a.to_string())
                .unwrap_or_else(|| r.arch.to_string());
            let sub = tmp.join(&arch);
            std::fs::create_dir_all(&sub).map_err(io(&sub))?;
            let dest = sub.join(&name);
            crate::fsio::link_or_copy(deb, &dest)?;
        }
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let _ = std::fs::remove_dir_all(&debs);
    std::fs::rename(&tmp, &debs).map_err(io(&debs))?;
    Ok(())
}

/// Wraps a builder to append each sbuild command line to a file before it
/// runs (`--print-sbuild-commands`): the benchmark replays them bare.
pub struct Recording<B> {
    pub inner: B,
    pub config: SbuildConfig,
    pub file: PathBuf,
}

impl<B: Builder> Builder for Recording<B> {
    fn build(&self, req: BuildRequest) -> impl std::future::Future<Output = BuildOutput> + Send {
        let line = sbuild::invocation(&req, &self.config).cmd.shell_line();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)
        {
            use std::io::Write;
            let _ = writeln!(f, "{line}");
        }
        self.inner.build(req)
    }
}

use crate::planner as stack_planner;

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(a: &str) -> Arch {
        Arch::new(a).unwrap()
    }

    fn job(source: &str, a: &str, deps: &[(&str, &str)]) -> Job {
        Job {
            request: BuildRequest {
                source: source.into(),
                version: "1-1".into(),
                arch: arch(a),
                mode: BuildMode::Native,
                dsc: PathBuf::new(),
                extra_debs: vec![],
                out_dir: PathBuf::new(),
                log: PathBuf::new(),
                timeout: None,
                profiles: vec![],
                arch_all: false,
                binnmu: None,
                env: BTreeMap::new(),
            },
            deps: deps.iter().map(|(s, a)| JobKey::new(*s, arch(a))).collect(),
            weight: 0,
            memory: 0,
            expected_failure: None,
            chroot_id: String::new(),
            all_only: false,
        }
    }

    /// A CI job whose needed job failed as expected (the pipeline went on):
    /// the failed result that came with the artifacts skips it.
    #[test]
    fn a_failed_result_among_the_artifacts_skips_the_build() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        std::fs::create_dir_all(&results).unwrap();
        let failed = Outcome::Failed {
            stage: "build".into(),
            errors: vec![],
        };
        for r in [
            BuildResult::not_built("kernels", arch("riscv64"), "1-1", failed.clone()),
            BuildResult::not_built("runtime", arch("riscv64"), "1-1", Outcome::Ok),
            // The job's own result of an earlier attempt does not count.
            BuildResult::not_built("apps", arch("riscv64"), "1-1", failed.clone()),
        ] {
            std::fs::write(
                results.join(format!("{}_{}.json", r.source, r.arch)),
                serde_json::to_string(&r).unwrap(),
            )
            .unwrap();
        }
        let only = BTreeSet::from(["apps".to_string()]);
        let failures = failed_artifact_results(dir.path(), &only).unwrap();
        assert_eq!(
            failures
                .iter()
                .map(|r| r.source.as_str())
                .collect::<Vec<_>>(),
            ["kernels"]
        );
        let mut opts = options(dir.path());
        opts.only = only.clone();
        opts.from_artifacts = Some(dir.path().to_path_buf());
        let jobs = vec![job("apps", "riscv64", &[]), job("apps", "amd64", &[])];
        let early = early_failures(&jobs, &BTreeMap::new(), &failures);
        let (kept, skipped) = runner::take_failed(jobs, &early).unwrap();
        assert_eq!(kept.len(), 1, "the amd64 build does not need riscv64's");
        assert_eq!(
            crate::report::model::explain(&skipped[0]),
            "skipped: dependency kernels failed on riscv64"
        );
        // No results came along: nothing to skip.
        let none = failed_artifact_results(&dir.path().join("nothing"), &only).unwrap();
        assert!(none.is_empty());
    }

    fn source(control: &str) -> StackSource {
        let info = SourceInfo::from_control_str(control, "test").unwrap();
        StackSource {
            version: "7.2.4-1~exp1".into(),
            dsc: Some(PathBuf::from(format!("/src/{}.dsc", info.name))),
            info,
        }
    }

    fn planned(source: &str, buildable: bool, deps: &[&str]) -> PlannedSource {
        PlannedSource {
            source: source.into(),
            version: "7.2.4-1~exp1".into(),
            not_built: (!buildable).then(|| NotBuiltReason::Excluded("Architecture: amd64".into())),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            tested_with: Vec::new(),
        }
    }

    fn recipes(dir: &Path) -> Recipes {
        let stack = "name: t\nsuite: experimental\nbase_suite: unstable\nmirror: http://x\n\
                     architectures: [amd64, riscv64]\nmodes: {amd64: native, riscv64: qemu}\n";
        let recipe = |s: &str, extra: &str| {
            format!(
                "source: {s}\npackaging: {{repo: /x, branch: b}}\nupstream: {{repo: /y, tag: v7.2.4}}\n\
                 version: \"{{upstream}}-1~exp1\"\n{extra}"
            )
        };
        std::fs::write(dir.join("stack.yaml"), stack).unwrap();
        std::fs::write(dir.join("cmake.yaml"), recipe("cmake", "")).unwrap();
        std::fs::write(
            dir.join("runtime.yaml"),
            recipe("runtime", "timeout_minutes: 7\ncross: false\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("smi.yaml"),
            recipe("smi", "expected_failures: {amd64: {reason: flaky}}\n"),
        )
        .unwrap();
        crate::recipe::load(dir).unwrap()
    }

    fn options(run_dir: &Path) -> BuildOptions {
        BuildOptions {
            arches: vec![arch("amd64"), arch("riscv64")],
            only: BTreeSet::new(),
            from_artifacts: None,
            run_dir: run_dir.to_path_buf(),
            workdir: run_dir.join("work"),
            jobs: 2,
            modes: BTreeMap::new(),
            fail_fast: false,
            timeout: None,
            profiles: vec![],
            port: false,
            allow_expired: false,
            fetch_policy: Default::default(),
            mirror: None,
            cache_dir: run_dir.join("cache"),
            dry_run: false,
        }
    }

    #[test]
    fn the_plan_cache_key_does_not_depend_on_the_order_of_the_sources() {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let recipes = recipes(&rdir);
        let opts = options(dir.path());
        let mut sources = vec![
            source("Source: cmake\n\nPackage: cmake-helper\nArchitecture: all\n"),
            source("Source: runtime\n\nPackage: libruntime1\nArchitecture: any\n"),
        ];
        let build_order = plan_key(&recipes, &sources, &opts);
        sources.reverse();
        assert_eq!(plan_key(&recipes, &sources, &opts), build_order);
    }

    /// cmake (arch:all only) ← runtime ← smi, smi excluded on riscv64.
    fn three_sources() -> RunPlan {
        RunPlan {
            schema: crate::jobgraph::SCHEMA.into(),
            host: Some(arch("amd64")),
            arches: vec![
                ArchSources {
                    arch: arch("amd64"),
                    sources: vec![
                        planned("cmake", true, &[]),
                        planned("runtime", true, &["cmake"]),
                        planned("smi", true, &["runtime"]),
                    ],
                    warm: Vec::new(),
                },
                ArchSources {
                    arch: arch("riscv64"),
                    sources: vec![
                        planned("cmake", true, &[]),
                        planned("runtime", true, &["cmake"]),
                        planned("smi", false, &[]),
                    ],
                    warm: Vec::new(),
                },
            ],
            all_only: BTreeSet::from(["cmake".to_string()]),
            mixed: BTreeSet::new(),
        }
    }

    fn facts() -> JobFacts {
        let mut facts = JobFacts::new(arch("amd64"));
        facts.chroots = BTreeMap::from([
            ((arch("amd64"), BuildMode::Native), Ok("amd64-id".into())),
            ((arch("riscv64"), BuildMode::Qemu), Ok("riscv64-id".into())),
        ]);
        facts
    }

    /// cmake and smi bumped; runtime's bump failed.
    fn all_but_runtime() -> (Vec<StackSource>, BTreeMap<String, String>) {
        let sources = vec![
            source("Source: cmake\n\nPackage: cmake-helper\nArchitecture: all\n"),
            source(
                "Source: smi\nBuild-Depends: libruntime1\n\nPackage: smi\nArchitecture: amd64\n",
            ),
        ];
        let failures = BTreeMap::from([("runtime".to_string(), "could not clone /x".to_string())]);
        (sources, failures)
    }

    /// The jobs of `plan` while runtime's bump failed, and the cells it
    /// does not build, sorted: `source/arch: explanation`.
    fn runtime_failed(plan: &RunPlan) -> (Vec<String>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let (sources, failures) = all_but_runtime();
        let opts = options(dir.path());
        let p = jobs(&recipes(&rdir), &sources, &failures, plan, &opts, &facts()).unwrap();
        let keys = p.jobs.iter().map(|j| j.key().to_string()).collect();
        let mut cells: Vec<String> = p
            .not_built
            .iter()
            .map(|r| {
                let why = crate::report::model::explain(r);
                format!("{}/{}: {why}", r.source, r.arch)
            })
            .collect();
        cells.sort();
        (keys, cells)
    }

    /// runtime failed at bump, smi skipped behind it.
    const SKIPPED_BEHIND_RUNTIME: [&str; 4] = [
        "runtime/amd64: failed at bump: could not clone /x",
        "runtime/riscv64: failed at bump: could not clone /x",
        "smi/amd64: skipped: dependency runtime failed on amd64, \
         but the recipe expects a failure (flaky): drop the expectation",
        "smi/riscv64: excluded: Architecture: amd64",
    ];

    /// Issue 17.2: a bump that failed before any checkout existed. The
    /// plan takes the source from the archive, so its dependents are
    /// skipped behind the failed bump instead of "blocked: missing from
    /// the archive".
    #[test]
    fn a_failed_bump_without_a_checkout_skips_its_dependents() {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let (sources, _) = all_but_runtime();
        let archive = "Source: runtime\nBuild-Depends: cmake-helper\n\nPackage: libruntime1\nArchitecture: any\n";
        let runtime = SourceInfo::from_control_str(archive, "Sources").unwrap();
        let planned = from_archive(&recipes(&rdir), &sources, |name| {
            (name == "runtime").then(|| runtime.clone())
        });
        assert_eq!(planned, [runtime]);

        let (keys, cells) = runtime_failed(&three_sources());
        assert_eq!(keys, ["cmake/all"]);
        assert_eq!(cells, SKIPPED_BEHIND_RUNTIME);
    }

    /// `three_sources` planned while runtime's bump failed before any
    /// control data existed (no checkout, not in the archive): runtime is
    /// absent and smi blocked by its binary.
    fn without_runtime() -> RunPlan {
        let mut plan = three_sources();
        for a in &mut plan.arches {
            a.sources.retain(|s| s.source != "runtime");
        }
        plan.arches[0].sources[1] = PlannedSource {
            not_built: Some(NotBuiltReason::Blocked(
                "missing from the archive: libruntime1".into(),
            )),
            depends_on: Vec::new(),
            ..planned("smi", false, &[])
        };
        plan
    }

    /// Issue 17.2, a source in neither a checkout nor the archive (the demo
    /// stack's): the run directory's earlier plan gives its place and its
    /// dependents, which are skipped behind the failed bump.
    #[test]
    fn a_failed_bump_without_control_data_takes_the_earlier_plan() {
        let (_, failures) = all_but_runtime();
        let earlier = three_sources();
        let plan = after_failed_bumps(without_runtime(), Some(&earlier), &failures);
        let smi = &plan.arches[0].sources.iter().find(|s| s.source == "smi");
        assert_eq!(smi.unwrap().depends_on, ["runtime"]);
        let (keys, cells) = runtime_failed(&plan);
        assert_eq!(keys, ["cmake/all"]);
        assert_eq!(cells, SKIPPED_BEHIND_RUNTIME);
        // A plan that knows the source is left as it is.
        assert_eq!(
            after_failed_bumps(earlier.clone(), None, &failures),
            earlier
        );
    }

    /// Issue 17.2 without an earlier plan either: a reason blaming a binary
    /// missing from the archive names the bump that failed before its
    /// control data could be read.
    #[test]
    fn a_failed_bump_without_control_data_or_earlier_plan_is_named_in_missing_reasons() {
        let (_, failures) = all_but_runtime();
        let plan = after_failed_bumps(without_runtime(), None, &failures);
        let (_, cells) = runtime_failed(&plan);
        let smi = "smi/amd64: blocked: missing from the archive: libruntime1 \
                   (runtime's bump failed before its debian/control could be read)";
        assert!(cells.contains(&smi.to_string()), "{cells:?}");
        // Without a failed bump the reason stays as the plan gave it.
        let plain = after_failed_bumps(without_runtime(), None, &BTreeMap::new());
        assert_eq!(plain, without_runtime());
    }

    #[test]
    fn a_recipe_that_cannot_cross_build_goes_under_qemu_where_its_arch_is_cross() {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let recipes = recipes(&rdir);
        let sources = vec![
            source("Source: cmake\n\nPackage: cmake-helper\nArchitecture: all\n"),
            source(
                "Source: runtime\nBuild-Depends: cmake-helper\n\nPackage: libruntime1\nArchitecture: any\n",
            ),
        ];
        let mut opts = options(dir.path());
        opts.modes.insert(arch("riscv64"), BuildMode::Cross);
        let p = jobs(
            &recipes,
            &sources,
            &BTreeMap::new(),
            &three_sources(),
            &opts,
            &facts(),
        )
        .unwrap();
        let mode = |key: &str| {
            p.jobs
                .iter()
                .find(|j| j.key().to_string() == key)
                .unwrap()
                .request
                .mode
        };
        // runtime's recipe says `cross: false`: qemu, and its chroot.
        assert_eq!(mode("runtime/riscv64"), BuildMode::Qemu);
        assert_eq!(mode("runtime/amd64"), BuildMode::Native);
        assert_eq!(recipes.mode_of("cmake", BuildMode::Cross), BuildMode::Cross);
    }

    #[test]
    fn jobs_follow_the_plan_with_arch_all_built_once_on_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let recipes = recipes(&rdir);
        let mut facts = facts();
        let sources = vec![
            source("Source: cmake\n\nPackage: cmake-helper\nArchitecture: all\n"),
            source(
                "Source: runtime\nBuild-Depends: cmake-helper\n\nPackage: libruntime1\nArchitecture: any\n",
            ),
            source(
                "Source: smi\nBuild-Depends: libruntime1\n\nPackage: smi\nArchitecture: amd64\n",
            ),
        ];
        let plan = three_sources();
        let opts = options(dir.path());
        let p = jobs(&recipes, &sources, &BTreeMap::new(), &plan, &opts, &facts).unwrap();
        let got: Vec<(String, Vec<String>, bool)> = p
            .jobs
            .iter()
            .map(|j| {
                (
                    j.key().to_string(),
                    j.deps.iter().map(|d| d.to_string()).collect(),
                    j.request.arch_all,
                )
            })
            .collect();
        let expect = |k: &str, d: &[&str], all: bool| {
            (
                k.to_string(),
                d.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                all,
            )
        };
        assert_eq!(
            got,
            [
                expect("cmake/all", &[], true),
                expect("runtime/amd64", &["cmake/all"], false),
                expect("smi/amd64", &["runtime/amd64"], false),
                expect("runtime/riscv64", &["cmake/all"], false),
            ]
        );
        let cmake = &p.jobs[0];
        assert_eq!(cmake.request.arch, arch("amd64"));
        assert_eq!(cmake.request.mode, BuildMode::Native);
        assert_eq!(p.jobs[3].request.mode, BuildMode::Qemu);
        assert_eq!(p.jobs[1].request.timeout, Some(Duration::from_secs(7 * 60)));
        assert_eq!(p.jobs[2].expected_failure.as_deref(), Some("flaky"));
        assert_eq!(p.not_built.len(), 1);
        assert_eq!(p.not_built[0].source, "smi");
        assert_eq!(p.not_built[0].outcome.class(), "excluded");
        assert_eq!(p.sources, ["cmake", "runtime", "smi"]);

        assert_eq!(p.jobs[3].chroot_id, "riscv64-id");
        // A missing chroot is named, with the command that makes it.
        let tarball = PathBuf::from("/srv/unstable-riscv64.tar");
        facts
            .chroots
            .insert((arch("riscv64"), BuildMode::Qemu), Err(tarball));
        let err = jobs(&recipes, &sources, &BTreeMap::new(), &plan, &opts, &facts).unwrap_err();
        assert!(
            err.to_string().contains("cascade setup --arch riscv64"),
            "{err}"
        );
    }

    #[test]
    fn only_builds_take_the_artifacts_and_no_archive() {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let recipes = recipes(&rdir);
        let mut cfg = SbuildConfig::new("unstable");
        cfg.build_arch = arch("amd64");
        let artifacts = dir.path().join("artifacts");
        for (sub, name) in [
            ("riscv64", "libruntime1_7.2.4-1~exp1_riscv64.deb"),
            ("all", "cmake-helper_7.2.4-1~exp1_all.deb"),
            ("amd64", "libruntime1_7.2.4-1~exp1_amd64.deb"),
        ] {
            std::fs::create_dir_all(artifacts.join(sub)).unwrap();
            std::fs::write(artifacts.join(sub).join(name), "").unwrap();
        }
        let sources = vec![source(
            "Source: smi\nBuild-Depends: libruntime1\n\nPackage: smi\nArchitecture: amd64 riscv64\n",
        )];
        let mut opts = options(dir.path());
        opts.arches = vec![arch("riscv64")];
        opts.only = BTreeSet::from(["smi".to_string()]);
        opts.from_artifacts = Some(artifacts.clone());
        let (plan, cached) = plan_for(&recipes, &sources, &BTreeMap::new(), &opts).unwrap();
        assert!(!cached);
        let mut facts = gather(&recipes, &opts, &cfg).unwrap();
        let riscv64 = (arch("riscv64"), BuildMode::Qemu);
        // Whatever this machine has: the jobs are decided from facts.
        facts.chroots.insert(riscv64, Ok("riscv64-id".into()));
        let p = jobs(&recipes, &sources, &BTreeMap::new(), &plan, &opts, &facts).unwrap();
        assert_eq!(p.jobs.len(), 1);
        let names: Vec<String> = p.jobs[0]
            .request
            .extra_debs
            .iter()
            .map(|d| file_name(d))
            .collect();
        assert_eq!(
            names,
            [
                "libruntime1_7.2.4-1~exp1_riscv64.deb",
                "cmake-helper_7.2.4-1~exp1_all.deb"
            ]
        );
    }

    #[test]
    fn test_jobs_follow_the_builds_that_are_jobs_and_test_their_dsc() {
        let dir = tempfile::tempdir().unwrap();
        let rdir = dir.path().join("recipes");
        std::fs::create_dir_all(&rdir).unwrap();
        let sources = vec![
            source("Source: cmake\n\nPackage: cmake-helper\nArchitecture: all\n"),
            source(
                "Source: runtime\nBuild-Depends: cmake-helper\n\nPackage: libruntime1\nArchitecture: any\n",
            ),
        ];
        let plan = three_sources();
        let opts = options(dir.path());
        let mut p = jobs(
            &recipes(&rdir),
            &sources,
            &BTreeMap::new(),
            &plan,
            &opts,
            &facts(),
        )
        .unwrap();
        // runtime/riscv64 failed before building: no job, so no test (nor
        // for smi, which has no source package here).
        p.jobs.retain(|j| j.key().to_string() != "runtime/riscv64");
        p.jobs[1].request.dsc = PathBuf::from("port/amd64/runtime/runtime_1-1~port1.dsc");
        let tests =
            test_jobs(&plan, &arch("amd64"), &p, |s, _| format!("settings of {s}")).unwrap();
        let got: Vec<(String, String, String)> = (tests.iter())
            .map(|t| {
                (
                    t.key().to_string(),
                    t.test_arch.to_string(),
                    t.settings.clone(),
                )
            })
            .collect();
        let want = |k: &str, a: &str, s: &str| (k.to_string(), a.to_string(), s.to_string());
        assert_eq!(
            got,
            [
                want("cmake/all:test", "amd64", "settings of cmake"),
                want("runtime/amd64:test", "amd64", "settings of runtime"),
            ]
        );
        assert_eq!(
            tests[1].dsc.as_deref().unwrap(),
            Path::new("port/amd64/runtime/runtime_1-1~port1.dsc")
        );
        // A build job without a .dsc: its test says so.
        p.jobs[0].request.dsc = PathBuf::new();
        let tests = test_jobs(&plan, &arch("amd64"), &p, |_, _| String::new()).unwrap();
        assert_eq!(tests[0].dsc, Err("no source package of cmake".to_string()));
    }

    #[test]
    fn a_failed_bump_fails_its_builds_and_skips_dependents() {
        let jobs = vec![
            job("runtime", "amd64", &[]),
            job("blas", "amd64", &[("runtime", "amd64")]),
            job("solver", "amd64", &[("blas", "amd64")]),
            job("other", "amd64", &[]),
        ];
        let failures = BTreeMap::from([("runtime".to_string(), "bump failed: no tag".to_string())]);
        let early = early_failures(&jobs, &failures, &[]);
        let (kept, results) = runner::take_failed(jobs, &early).unwrap();
        assert_eq!(
            kept.iter()
                .map(|j| j.request.source.as_str())
                .collect::<Vec<_>>(),
            ["other"]
        );
        let classes: Vec<(String, String)> = results
            .iter()
            .map(|r| (r.source.clone(), crate::report::model::explain(r)))
            .collect();
        assert_eq!(
            classes,
            [
                (
                    "runtime".into(),
                    "failed at bump: bump failed: no tag".into()
                ),
                (
                    "blas".into(),
                    "skipped: dependency runtime failed on amd64".into()
                ),
                (
                    "solver".into(),
                    "skipped: dependency runtime failed on amd64".into()
                ),
            ]
        );
    }

    #[test]
    fn a_dsc_reads_as_a_source() {
        let dir = tempfile::tempdir().unwrap();
        let dsc = dir.path().join("demo-blas_7.2.4-1~exp1.dsc");
        std::fs::write(
            &dsc,
            "Format: 3.0 (quilt)\nSource: demo-blas\nBinary: libdemoblas1, libdemoblas-dev\n\
             Architecture: any\nVersion: 7.2.4-1~exp1\nBuild-Depends: debhelper-compat (= 13), libdemoruntime-dev (>= 7.2.4)\n\
             Package-List:\n libdemoblas-dev deb libdevel optional arch=any\n libdemoblas1 deb libs optional arch=any\n\
             Files:\n 0123 12 demo-blas_7.2.4.orig.tar.xz\n",
        )
        .unwrap();
        let info = SourceInfo::from_dsc_file(&dsc).unwrap();
        assert_eq!(info.name, "demo-blas");
        assert_eq!(info.version.as_deref(), Some("7.2.4-1~exp1"));
        assert_eq!(info.binaries.len(), 2);
        assert!(info.builds_on(&arch("riscv64")));
        let (found, _) = find_dsc(dir.path(), "demo-blas").unwrap().unwrap();
        assert_eq!(found, dsc);
        assert!(find_dsc(dir.path(), "demo-runtime").unwrap().is_none());
    }

    #[test]
    fn results_sort_by_plan_rows_then_all_then_arches() {
        let r = |s: &str, a: &str| BuildResult::not_built(s, arch(a), "1", Outcome::Ok);
        let mut v = vec![
            r("b", "riscv64"),
            r("b", "amd64"),
            r("a", "all"),
            r("c", "amd64"),
        ];
        sort_results(
            &mut v,
            &["a".into(), "b".into(), "c".into()],
            &[arch("amd64"), arch("riscv64")],
        );
        let got: Vec<String> = v
            .iter()
            .map(|r| format!("{}/{}", r.source, r.arch))
            .collect();
        assert_eq!(got, ["a/all", "b/amd64", "b/riscv64", "c/amd64"]);
    }
}

//! `cascade run`: bump every package (or `--only` ones) to its recipe's
//! target, then build what the bumps left, then report — the main job. A
//! package whose bump fails is reported failed at stage `bump` on every
//! arch, and its dependents are skipped; the rest goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::Error;
use crate::bump::{self, BumpOptions, BumpOutcome, Status};
use crate::cli::GlobalArgs;
use crate::commands::args::checkouts;
use crate::commands::{build, bump as bump_cmd};
use crate::config::Config;
use crate::control::SourceInfo;
use crate::git::{Git2, Vcs};
use crate::pipeline;
use crate::recipe::{self, Recipe, Recipes};
use crate::report::Report;

const CONTROL: &str = "debian/control";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub build: build::Args,
    /// Use an existing packaging checkout for a package instead of a clone.
    #[arg(long = "checkout", value_name = "PKG=PATH")]
    pub checkouts: Vec<String>,
    /// Push each bumped packaging branch (and upstream branch and tag).
    #[arg(long)]
    pub push: bool,
    /// Bump even if a packaging tree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// With `--port`: an earlier run (its directory or report.json) to
    /// compare the porting score and the results with; a package that built
    /// there and fails now fails this run.
    #[arg(long, value_name = "OLD_RUNDIR")]
    pub since: Option<PathBuf>,
    /// With `--port`: commit the widening of debian/control to the packaging
    /// branch of each ported package that built (never done without it).
    #[arg(long)]
    pub commit_port: bool,
}

/// The one orchestration entry point: `cascade run`, and `cascade port`,
/// which is `cascade run --port`. Bump, plan, build, report; a porting run
/// adds the porting report and exits by its verdict.
pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let config = Config::from_env()?;
    let recipes = recipe::load(&global.recipes)?;
    if !args.build.port && (args.since.is_some() || args.commit_port) {
        return Err(Error::Usage(
            "--since and --commit-port go with --port (or `cascade port`)".into(),
        ));
    }
    let opts = build::options(&args.build, &config, &recipes)?;
    let _lock = build::lock_run_dir(&opts, args.build.dry_run)?;
    // Read the earlier run first: a bad --since should not cost a build.
    let previous = match &args.since {
        Some(p) => Some((Report::from_run(p)?, p.clone())),
        None => None,
    };
    let Bumped {
        sources,
        failures,
        options,
    } = bump_phase(&args, &recipes, &config, &opts)?;
    let porting = opts.port.then_some(build::Porting {
        previous,
        commit_port: args.commit_port,
        bump: options,
    });
    build::build_and_report(
        &recipes,
        &config,
        sources,
        &failures,
        &opts,
        &args.build,
        porting.as_ref(),
    )
}

/// What the bump half of a run leaves for the build.
pub(crate) struct Bumped {
    /// The source packages to build.
    pub sources: Vec<pipeline::StackSource>,
    /// Packages whose bump failed or was skipped, with the reason.
    pub failures: BTreeMap<String, String>,
    /// The options the bumps ran with.
    pub options: BumpOptions,
}

/// The bump half of `cascade run` (and `cascade port`): each selected
/// package to its target, in the last plan's order, one line printed per
/// package.
pub(crate) fn bump_phase(
    args: &Args,
    recipes: &Recipes,
    config: &Config,
    opts: &pipeline::BuildOptions,
) -> Result<Bumped, Error> {
    let checkouts = checkouts(&args.checkouts, recipes)?;
    let bump_opts = BumpOptions {
        workdir: opts.workdir.clone(),
        checkouts,
        out_dir: pipeline::source_dir(&opts.workdir),
        allow_dirty: args.allow_dirty,
        force: false,
        reupload: false,
        // A dry run plans the bump (bump.rs writes, commits and pushes
        // nothing then) and never pushes.
        push: args.push && !args.build.dry_run,
        dry_run: args.build.dry_run,
        maintainer: bump_cmd::maintainer(config, &recipes.stack)?,
        timestamp: bump_cmd::timestamp(config)?,
        stop_after: None,
    };
    let selected: Vec<&Recipe> = pipeline::bump_order(recipes, &opts.run_dir)
        .into_iter()
        .filter(|r| opts.only.is_empty() || opts.only.contains(&r.source))
        .collect();
    let outcomes = bump::bump_stack(&selected, &recipes.stack, &bump_opts, &Git2, opts.fail_fast);
    for o in &outcomes {
        println!("{}", bump_cmd::render(o));
    }
    let (mut sources, mut failures) = pipeline::sources_after_bump(recipes, &outcomes, &bump_opts)?;
    if bump_opts.dry_run {
        planned_sources(recipes, &outcomes, &bump_opts, &mut sources, &mut failures);
    }
    Ok(Bumped {
        sources,
        failures,
        options: bump_opts,
    })
}

/// `info` with the `Testsuite-Triggers` of the branch's
/// debian/tests/control, when it has one that parses (the real run's
/// dpkg-source names a malformed one).
fn with_branch_tests(info: SourceInfo, repo: &Path, branch: &str) -> SourceInfo {
    const TESTS: &str = "debian/tests/control";
    let text = Git2.branch_file(repo, branch, TESTS).ok().flatten();
    let Some(text) = text.and_then(|b| String::from_utf8(b).ok()) else {
        return info;
    };
    let origin = format!("{}:{TESTS}", repo.display());
    info.clone()
        .with_test_control(&text, &origin)
        .unwrap_or(info)
}

/// A dry run's bump made no source package: each package it would bump (or
/// found at its target) is planned from its packaging branch's
/// debian/control at the version the bump would give it.
fn planned_sources(
    recipes: &Recipes,
    outcomes: &[BumpOutcome],
    bump_opts: &BumpOptions,
    sources: &mut Vec<pipeline::StackSource>,
    failures: &mut BTreeMap<String, String>,
) {
    let planned = outcomes.iter().filter(|o| {
        o.dsc.is_none() && matches!(o.status, Status::Planned | Status::AlreadyAtTarget)
    });
    for o in planned {
        let Some(recipe) = recipes.get(&o.source) else {
            continue;
        };
        let repo = bump_opts.packaging_dir(&o.source);
        let control = Git2
            .branch_file(&repo, &recipe.packaging.branch, CONTROL)
            .ok()
            .flatten()
            .and_then(|b| String::from_utf8(b).ok());
        let origin = format!("{}:{CONTROL}", repo.display());
        let Some(info) = control.and_then(|t| SourceInfo::from_control_str(&t, &origin).ok())
        else {
            continue;
        };
        let info = with_branch_tests(info, &repo, &recipe.packaging.branch);
        failures.remove(&o.source);
        sources.retain(|s| s.info.name != o.source);
        sources.push(pipeline::StackSource {
            info,
            version: o.version.clone().unwrap_or_default(),
            dsc: None,
        });
    }
}

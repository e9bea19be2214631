//! `cascade run`: bump every package (or `--only` ones) to its recipe's
//! target, then build what the bumps left, then report — the main job. A
//! package whose bump fails is reported failed at stage `bump` on every
//! arch, and its dependents are skipped; the rest goes on.

use std::collections::BTreeMap;
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
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let config = Config::from_env()?;
    let recipes = recipe::load(&global.recipes)?;
    let opts = build::options(&args.build, &config, &recipes)?;
    let _lock = build::lock_run_dir(&opts, args.build.dry_run)?;
    let bumped = bump_phase(&args, &recipes, &config, &opts)?;
    build::build_and_report(
        &recipes,
        &config,
        bumped.sources,
        &bumped.failures,
        &opts,
        &args.build,
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
        failures.remove(&o.source);
        sources.retain(|s| s.info.name != o.source);
        sources.push(pipeline::StackSource {
            info,
            version: o.version.clone().unwrap_or_default(),
            dsc: None,
        });
    }
}

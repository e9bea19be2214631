//! `cascade run`: bump every package (or `--only` ones) to its recipe's
//! target, then build what the bumps left, then report — the main job. A
//! package whose bump fails is reported failed at stage `bump` on every
//! arch, and its dependents are skipped; the rest goes on.

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::Error;
use crate::bump::{self, BumpOptions};
use crate::cli::GlobalArgs;
use crate::commands::args::checkouts;
use crate::commands::{build, bump as bump_cmd};
use crate::config::Config;
use crate::git::Git2;
use crate::pipeline;
use crate::recipe::{self, Recipe, Recipes};

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
        push: args.push,
        dry_run: false,
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
    let (sources, failures) = pipeline::sources_after_bump(recipes, &outcomes, &bump_opts)?;
    Ok(Bumped {
        sources,
        failures,
        options: bump_opts,
    })
}

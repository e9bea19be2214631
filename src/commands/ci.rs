//! `cascade ci generate`: write the GitLab child pipeline of the stack's plan
//! (see `ci` for its shape) to a file or stdout. The templates in `ci/`
//! run it and trigger the result with `trigger: include: artifact:`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::ci::transition::TransitionOptions;
use crate::ci::{self, Selection, Since};
use crate::cli::GlobalArgs;
use crate::commands::args::{ArchiveArgs, checkouts};
use crate::config::Config;
use crate::control::SourceInfo;
use crate::plan::Plan;
use crate::planner;
use crate::recipe::{self, Recipes};
use crate::transition::render::Transition;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a GitLab child pipeline: one job per package × arch, `needs:`
    /// along the build DAG, a final report job.
    Generate(Box<GenerateArgs>),
    /// In a build job, before the upload: leave out the .debs no dependent
    /// needs (-tests, -bench, -dbgsym) and fail, passing no .debs on, when
    /// the artifacts would still exceed the budget.
    Artifacts(ArtifactsArgs),
}

#[derive(Debug, clap::Args)]
pub struct ArtifactsArgs {
    /// The job's run directory.
    #[arg(long, default_value = ci::RUN_DIR)]
    pub run_dir: PathBuf,
    /// The most the artifacts may weigh (bytes, or with K, M, G); Salsa caps
    /// artifacts at 750 MB.
    #[arg(long, env = "CASCADE_ARTIFACT_BUDGET", default_value = "700M",
          value_parser = crate::artifacts::parse_size)]
    pub budget: u64,
    /// Pass test, benchmark and debug-symbol packages on too.
    #[arg(long, env = "CASCADE_ARTIFACTS_ALL")]
    pub keep_all: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Architectures (comma-separated); default: the stack's.
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Porting run: also try sources whose Architecture field leaves an arch out.
    #[arg(long)]
    pub port: bool,
    /// Only the in-stack reverse build-dependencies of this source, rebuilt
    /// against the .debs the parent pipeline built for it.
    #[arg(long, value_name = "SOURCE")]
    pub rdeps_of: Option<String>,
    /// With --rdeps-of: refuse (exit 2) when more than N sources would be
    /// rebuilt, so that a change low in the stack cannot fill shared runners.
    #[arg(long, value_name = "N", requires = "rdeps_of")]
    pub max_rdeps: Option<usize>,
    /// With --rdeps-of or --transition: the parent pipeline's job building
    /// ARCH is PREFIX+ARCH.
    #[arg(long, value_name = "PREFIX", default_value = "build:")]
    pub parent_job_prefix: String,
    /// The transition's rebuilds instead of the stack's builds: one job per
    /// rebuild candidate × arch of REPORT (`cascade transition RUNDIR
    /// --format json`, made in the parent pipeline from its build jobs'
    /// run), each against the parent's .debs, and a report job merging
    /// their reports over REPORT.
    #[arg(long, value_name = "REPORT", conflicts_with_all = ["rdeps_of", "port", "since_job"])]
    pub transition: Option<PathBuf>,
    /// With --transition: refuse (exit 2) when more than N rebuild jobs
    /// would run (CASCADE_TRANSITION_MAX in ci/salsa.yml).
    #[arg(long, value_name = "N", requires = "transition")]
    pub max_rebuilds: Option<usize>,
    /// With --transition: the parent pipeline's job whose artifacts hold REPORT.
    #[arg(
        long,
        value_name = "JOB",
        default_value = "transition:generate",
        requires = "transition"
    )]
    pub analysis_job: String,
    /// With --transition: a word added to each rebuild's `cascade
    /// transition` line (`--transition-arg=--timeout --transition-arg=120`);
    /// repeatable.
    #[arg(
        long,
        value_name = "WORD",
        allow_hyphen_values = true,
        requires = "transition"
    )]
    pub transition_arg: Vec<String>,
    /// The parent pipeline's job whose artifacts hold the previous run
    /// (the report compares against it with `cascade report --since`).
    #[arg(long, value_name = "JOB")]
    pub since_job: Option<String>,
    /// The run directory inside --since-job's artifacts.
    #[arg(long, value_name = "DIR", default_value = "previous/cascade-run")]
    pub since_dir: String,
    /// Also a test job `test:PKG:ARCH` after each build job: `cascade test`
    /// (autopkgtest, lintian) on what the build made, on runners picked by
    /// stack.yaml's `tests.runner_tags` (else the build's); the report
    /// shows the test cells (docs/test.md, "CI").
    #[arg(long, conflicts_with = "transition")]
    pub test: bool,
    /// Container image of every job.
    #[arg(long)]
    pub image: Option<String>,
    /// A line every cascade job runs first (install cascade, fetch recipes); repeatable.
    #[arg(long, value_name = "LINE")]
    pub before_script: Vec<String>,
    /// A line the report job runs last (e.g. store the results for the next
    /// night); repeatable.
    #[arg(long, value_name = "LINE")]
    pub report_after: Vec<String>,
    /// How long GitLab keeps the artifacts.
    #[arg(long, default_value = "1 week")]
    pub expire_in: String,
    /// The architecture whose runner builds arch:all-only sources; default:
    /// the stack's first native architecture.
    #[arg(long)]
    pub host_arch: Option<Arch>,
    /// Write the pipeline here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Read PKG's debian/control from the packaging checkout at PATH instead
    /// of the archive (a source not uploaded yet); repeatable.
    #[arg(long = "checkout", value_name = "PKG=PATH")]
    pub checkouts: Vec<String>,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    match args.command {
        Command::Generate(a) => generate(*a, global),
        Command::Artifacts(a) => artifacts(&a),
    }
}

fn artifacts(args: &ArtifactsArgs) -> Result<ExitCode, Error> {
    use crate::artifacts::{apply, human as mb, survey};
    let plan = survey(&args.run_dir, args.budget, args.keep_all)?;
    apply(&args.run_dir, &plan)?;
    if !plan.left_out.is_empty() {
        let size = plan.left_out.iter().map(|f| f.size).sum();
        println!(
            "artifacts: left out {} test, benchmark and debug-symbol packages ({}; --keep-all passes them on)",
            plan.left_out.len(),
            mb(size)
        );
    }
    if !plan.over_budget() {
        println!("artifacts: {} of {}", mb(plan.total), mb(plan.budget));
        return Ok(ExitCode::SUCCESS);
    }
    let mut largest = plan.kept.clone();
    largest.sort_by_key(|f| std::cmp::Reverse(f.size));
    let names: Vec<String> = largest
        .iter()
        .take(3)
        .map(|f| format!("{} ({})", f.path.display(), mb(f.size)))
        .collect();
    eprintln!(
        "cascade: error: the artifacts would weigh {}, over the budget of {} \
         (--budget, CASCADE_ARTIFACT_BUDGET); largest: {}; the job fails and \
         passes no .debs on, so the jobs that need it do not run",
        mb(plan.total),
        mb(plan.budget),
        names.join(", ")
    );
    Ok(ExitCode::FAILURE)
}

/// The sources a pipeline rebuilds (its `build:SOURCE:ARCH` jobs), at most `max`.
fn check_rdeps_cap(pipeline: &ci::Pipeline, max: usize) -> Result<(), Error> {
    let sources: std::collections::BTreeSet<&str> = pipeline
        .jobs
        .iter()
        .filter_map(|(name, _)| name.strip_prefix("build:")?.split(':').next())
        .collect();
    if sources.len() <= max {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} in-stack reverse build-dependencies to rebuild ({}), more than --max-rdeps {max} \
         (CASCADE_RDEPS_MAX in ci/salsa.yml); raise it, or rebuild them in the stack's own pipeline",
        sources.len(),
        sources.into_iter().collect::<Vec<_>>().join(", ")
    )))
}

fn generate(args: GenerateArgs, global: &GlobalArgs) -> Result<ExitCode, Error> {
    if let Some(report) = &args.transition {
        return generate_transition(&args, global, report);
    }
    let recipes = recipe::load(&global.recipes)?;
    let arches = if args.arch.is_empty() {
        recipes.stack.architectures.clone()
    } else {
        args.arch.clone()
    };
    if let Some(a) = arches
        .iter()
        .find(|a| !recipes.stack.architectures.contains(a))
    {
        return Err(Error::Usage(format!(
            "--arch {a}: the stack {} is not built for {a} (stack.yaml lists {})",
            recipes.stack.name,
            recipes
                .stack
                .architectures
                .iter()
                .map(Arch::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(p) = &args.rdeps_of
        && recipes.get(p).is_none()
    {
        return Err(Error::Usage(format!(
            "--rdeps-of {p}: no recipe for {p} in {}",
            global.recipes.display()
        )));
    }
    let checkouts = checkouts(&args.checkouts, &recipes)?;
    let config = Config::from_env()?;
    let (plan, sources) = stack_plan(
        &recipes,
        &arches,
        args.port,
        &args.archive,
        &config,
        &checkouts,
    )?;
    let (indep_only, mixed) = planner::indep_split(&sources);
    let options = ci::Options {
        image: args.image,
        before_script: args.before_script,
        expire_in: Some(args.expire_in),
        host_arch: args.host_arch.map(|a| a.to_string()),
        indep_only,
        mixed,
        selection: match args.rdeps_of {
            None => Selection::All,
            Some(package) => Selection::RdepsOf {
                package,
                parent_job_prefix: args.parent_job_prefix,
            },
        },
        since: args.since_job.map(|parent_job| Since {
            parent_job,
            run_dir: args.since_dir,
        }),
        recipes_dir: Some(global.recipes.display().to_string()),
        report_after: args.report_after,
        test: args.test,
        test_sources: sources,
    };
    let pipeline = ci::generate(&plan, &recipes, &options)?;
    if let Some(max) = args.max_rdeps {
        check_rdeps_cap(&pipeline, max)?;
    }
    let yaml = pipeline.to_yaml();
    super::emit(args.out.as_deref(), &yaml)?;
    Ok(ExitCode::SUCCESS)
}

/// `--transition REPORT`: the rebuild jobs of the analysis at `report`.
fn generate_transition(
    args: &GenerateArgs,
    global: &GlobalArgs,
    report: &Path,
) -> Result<ExitCode, Error> {
    let recipes = recipe::load(&global.recipes)?;
    let doc: Transition = super::transition::read_report(report)?;
    let host = match &args.host_arch {
        Some(a) => a.clone(),
        None => crate::jobgraph::host_arch(&recipes.stack).ok_or(Error::Ci(ci::Error::NoArch))?,
    };
    let options = ci::Options {
        image: args.image.clone(),
        before_script: args.before_script.clone(),
        expire_in: Some(args.expire_in.clone()),
        recipes_dir: Some(global.recipes.display().to_string()),
        ..Default::default()
    };
    let t = TransitionOptions {
        parent_job_prefix: args.parent_job_prefix.clone(),
        analysis_job: args.analysis_job.clone(),
        analysis: report.display().to_string(),
        host_arch: host.to_string(),
        job_args: args.transition_arg.clone(),
        max: args.max_rebuilds,
    };
    let pipeline = ci::transition::generate(&doc, &recipes, &options, &t)?;
    super::emit(args.out.as_deref(), &pipeline.to_yaml())?;
    Ok(ExitCode::SUCCESS)
}

/// The plan of the stack on `arches` and the control data it was made from
/// (from the archive, as CI checks out no packaging before it plans, except
/// for `checkouts`).
fn stack_plan(
    recipes: &Recipes,
    arches: &[Arch],
    port: bool,
    archive: &ArchiveArgs,
    config: &Config,
    checkouts: &BTreeMap<String, PathBuf>,
) -> Result<(Plan, Vec<SourceInfo>), Error> {
    let (base, stack_suite) = planner::load_suites(
        &recipes.stack,
        arches,
        archive.mirror(config).as_deref(),
        &archive.cache_dir(config),
        archive.allow_expired,
        &archive.policy(config),
    )?;
    let suites: Vec<&crate::archive::Suite> = stack_suite.iter().chain([&base]).collect();
    let sources = planner::stack_sources(recipes, checkouts, &suites)?;
    let opts = planner::Options {
        arches: arches.to_vec(),
        profiles: recipes.stack.profiles.clone(),
        port,
        include_indep: true,
    };
    let plan = planner::plan_stack(recipes, &sources, &base, &opts);
    Ok((plan, sources))
}

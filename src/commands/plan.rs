//! `cascade plan`: the build plan of the stack per architecture — waves,
//! order, exclusions with their chains, the porting frontier, cycles — from
//! packaging checkouts and the archive (see `planner`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::cli::GlobalArgs;
use crate::commands::args::{ArchiveArgs, checkouts};
use crate::config::Config;
use crate::jobgraph::{JobGraph, RunPlan};
use crate::plan::render;
use crate::planner::{self, Options};
use crate::recipe;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Architectures (comma-separated); default: the stack's.
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Suite whose Sources describe the stack (before the base suite's);
    /// default: the stack's target suite (stack.yaml `suite`). A stack
    /// source in neither is shown as "not in this suite".
    #[arg(long)]
    pub suite: Option<String>,
    /// Read every source's control data from the archive, ignoring --checkout.
    #[arg(long)]
    pub from_archive: bool,
    /// Read PKG's debian/control from the packaging checkout at PATH; repeatable.
    #[arg(long = "checkout", value_name = "PKG=PATH")]
    pub checkouts: Vec<String>,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Build profiles to activate (comma-separated, e.g. nocheck); default: the stack's.
    #[arg(long, value_delimiter = ',')]
    pub profiles: Option<Vec<String>>,
    /// Porting run: also try sources whose Architecture field (or recipe)
    /// leaves an arch out, with every binary widened to it.
    #[arg(long)]
    pub port: bool,
    /// Don't build arch:all binaries: arch:all-only sources leave the plan.
    #[arg(long)]
    pub no_indep: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Benchmark aid: print the buildable jobs as the schedule benchmark's
    /// input (`[{source, arch, deps: ["src/arch"], weight: 0}]`; arch:all-only
    /// sources once, as arch `all`) instead of the plan.
    #[arg(long, hide = true)]
    pub jobs_json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Dot,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let recipes = recipe::load(&global.recipes)?;
    let config = Config::from_env()?;
    let arches = if args.arch.is_empty() {
        recipes.stack.architectures.clone()
    } else {
        args.arch.clone()
    };
    let checkouts = if args.from_archive {
        BTreeMap::new()
    } else {
        checkouts(&args.checkouts, &recipes)?
    };
    let mut stack = recipes.stack.clone();
    if let Some(s) = &args.suite {
        stack.suite = s.clone();
    }
    let (base, stack_suite) = planner::load_suites(
        &stack,
        &arches,
        args.archive.mirror(&config).as_deref(),
        &args.archive.cache_dir(&config),
        args.archive.allow_expired,
        &args.archive.policy(&config),
    )?;
    let mut suites = Vec::new();
    if let Some(s) = &stack_suite {
        suites.push(s);
    }
    suites.push(&base);
    // `--suite` asks what that suite can build: a source it lacks is marked,
    // not an error. Without it, a source found nowhere is a recipe mistake.
    let sources = if args.suite.is_some() {
        planner::stack_sources_or_absent(&recipes, &checkouts, &suites)?
    } else {
        planner::stack_sources(&recipes, &checkouts, &suites)?
    };
    let opts = Options {
        arches,
        profiles: args
            .profiles
            .clone()
            .unwrap_or_else(|| recipes.stack.profiles.clone()),
        port: args.port,
        include_indep: !args.no_indep,
    };
    let plan = planner::plan_stack(&recipes, &sources, &base, &opts);
    if args.jobs_json {
        let (all_only, mixed) = planner::indep_split(&sources);
        let host = crate::jobgraph::run_host(&recipes.stack, &opts.arches);
        let run_plan = RunPlan::from_plan(&plan, &host, &all_only, &mixed);
        let graph = JobGraph::new(&run_plan, &host).map_err(crate::pipeline::Error::from)?;
        print!("{}", jobs_json(&graph));
        return Ok(ExitCode::SUCCESS);
    }
    let chains = if args.port {
        frontier_chains(&plan, &recipes, &stack, &args, &config)?
    } else {
        render::Chains::new()
    };
    let out = match args.format {
        Format::Text => render::text_with(&plan, &chains),
        Format::Json => render::json_with(&plan, (!chains.is_empty()).then_some(&chains)),
        Format::Dot => render::dot(&plan),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// The blocker chains of each arch's porting frontier, through the whole
/// archive (`crate::frontier`); arches without a frontier load nothing.
fn frontier_chains(
    plan: &crate::plan::Plan,
    recipes: &recipe::Recipes,
    stack: &recipe::Stack,
    args: &Args,
    config: &Config,
) -> Result<render::Chains, Error> {
    use crate::archive::{Fetcher, Mirror};
    use crate::frontier::{Explainer, load};
    let mirror = args
        .archive
        .mirror(config)
        .unwrap_or_else(|| stack.mirror.clone());
    let fetcher = Fetcher::new(Mirror::parse(&mirror), &args.archive.fetch_options(config))?;
    let names = load::stack_names(recipes.recipes.iter().map(|r| r.source.as_str()));
    let profiles = crate::control::Profiles::new(
        args.profiles
            .clone()
            .unwrap_or_else(|| stack.profiles.clone()),
    );
    let mut out = render::Chains::new();
    for a in plan.arches.iter().filter(|a| !a.frontier.is_empty()) {
        let loaded = load::load(&fetcher, &stack.base_suite, &[&stack.suite], &a.arch)?;
        let mut ex = Explainer::new(
            &loaded.universe,
            &loaded.viable,
            &loaded.sources,
            &names,
            profiles.clone(),
        );
        for m in &a.frontier {
            ex.ask(&m.package, m.needed_by.clone());
        }
        out.insert(a.arch.clone(), ex.finish());
        // The command prints and exits next: see `Loaded::leave`.
        loaded.leave();
    }
    Ok(out)
}

/// The job graph's jobs and their needs, for `cargo bench --bench schedule
/// -- plan.json` (weights are filled in by the bench script).
fn jobs_json(graph: &JobGraph) -> String {
    let mut jobs: Vec<&crate::jobgraph::Node> = graph.nodes.iter().collect();
    jobs.sort_by(|a, b| a.key.cmp(&b.key));
    let list: Vec<serde_json::Value> = jobs
        .into_iter()
        .map(|n| {
            let deps: Vec<String> = n.needs.iter().map(|d| d.to_string()).collect();
            serde_json::json!({"source": n.key.source, "arch": n.key.arch, "deps": deps, "weight": 0})
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_default();
    s.push('\n');
    s
}

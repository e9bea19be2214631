//! `cascade status`: the team's porting survey of the stack, from the
//! mirror's unstable and experimental indices.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::archive::{Fetcher, Mirror, load_suite};
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
use crate::frontier::{ByArch, load};
use crate::recipe;
use crate::status::{StackPackage, SuiteView, compute, html, text};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Architectures to survey (default: the stack's).
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
    /// The blocker chains of every arch's blocked sources (graphviz).
    Dot,
}

/// `--format json`: the survey with the blocker chains of its frontier.
#[derive(serde::Serialize)]
struct JsonDoc<'a> {
    #[serde(flatten)]
    status: &'a crate::status::Status,
    /// Per arch, the chains of the blocked sources' unsatisfied relations
    /// (the `items`/`nodes`/`roots` of `cascade frontier --format json`).
    #[serde(skip_serializing_if = "ByArch::is_empty")]
    chains: &'a ByArch,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let recipes = recipe::load(&global.recipes)?;
    let config = Config::from_env()?;
    let stack = &recipes.stack;
    let mirror = args
        .archive
        .mirror(&config)
        .unwrap_or_else(|| stack.mirror.clone());
    let fetcher = Fetcher::new(Mirror::parse(&mirror), &args.archive.fetch_options(&config))?;
    let mut arches = if args.arch.is_empty() {
        stack.architectures.clone()
    } else {
        args.arch.clone()
    };
    let mut seen = std::collections::BTreeSet::new();
    arches.retain(|a| seen.insert(a.clone()));
    let names: Vec<&str> = arches.iter().map(Arch::as_str).collect();
    let unstable = load_suite(&fetcher, &stack.base_suite, &names)?;
    let experimental = load_suite(&fetcher, &stack.suite, &names)?;
    let packages: Vec<StackPackage> = recipes
        .recipes
        .iter()
        .map(|r| StackPackage {
            source: r.source.clone(),
            target: r.debian_version(),
        })
        .collect();
    let status = compute(
        &stack.name,
        &packages,
        SuiteView::from(&unstable),
        SuiteView::from(&experimental),
        &arches,
    );
    let chains = frontier_chains(&fetcher, &recipes, &status, &unstable)?;
    let doc = match args.format {
        Format::Text => text::render_with(&status, &chains),
        Format::Html => html::render_with(&status, &chains),
        Format::Dot => crate::frontier::render::dot_by_arch(&chains),
        Format::Json => {
            let doc = JsonDoc {
                status: &status,
                chains: &chains,
            };
            super::json_text(&doc)?
        }
    };
    super::emit(args.out.as_deref(), &doc)?;
    Ok(ExitCode::SUCCESS)
}

/// The blocker chains of each arch's blocked sources: every unsatisfied
/// relation asked once, with the blocked sources that need it, through the
/// whole archive (as `plan --port` does). Arches with nothing blocked, or
/// without a Packages index, load nothing.
fn frontier_chains(
    fetcher: &Fetcher,
    recipes: &recipe::Recipes,
    status: &crate::status::Status,
    unstable: &crate::archive::Suite,
) -> Result<ByArch, Error> {
    let stack = &recipes.stack;
    let names = load::stack_names(recipes.recipes.iter().map(|r| r.source.as_str()));
    // No profile, as the frontier itself is computed (docs/status-json.md).
    let profiles = crate::control::Profiles::new(Vec::<String>::new());
    let mut out = ByArch::new();
    for (arch, f) in &status.frontier {
        if f.blocked.is_empty() || !unstable.packages.contains_key(arch) {
            continue;
        }
        let mut asks: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for e in &f.blocked {
            for rel in &e.unsatisfied {
                asks.entry(rel).or_default().push(e.source.clone());
            }
        }
        let asks: Vec<(String, Vec<String>)> = asks
            .into_iter()
            .map(|(rel, who)| (rel.to_string(), who))
            .collect();
        let suites = (stack.base_suite.as_str(), &[stack.suite.as_str()][..]);
        let c = load::chains(fetcher, suites, arch, &names, &profiles, &asks)?;
        out.insert(arch.clone(), c);
    }
    Ok(out)
}

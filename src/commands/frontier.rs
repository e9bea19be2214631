//! `cascade frontier`: why binaries or sources are missing on an arch,
//! through the whole archive, down to the roots; `--all` answers for every
//! source of the base suite (whole-archive buildability).

use std::collections::BTreeSet;
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::archive::{Fetcher, Mirror};
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
use crate::control::Profiles;
use crate::frontier::load::Loaded;
use crate::frontier::{Buildability, Chains, Explainer, buildability, load, render};
use crate::recipe::{self, Stack};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The architecture to explain.
    #[arg(long)]
    pub arch: Arch,
    /// Binaries (or relations such as `foo (>= 2)`) and sources to explain.
    #[arg(value_name = "BINARY|SOURCE")]
    pub items: Vec<String>,
    /// Every source of the base suite that cannot be built on the arch,
    /// with its failing relation; the roots count what each unblocks.
    #[arg(long)]
    pub all: bool,
    /// Base suite (Packages and Sources); default: the stack's base suite, else sid.
    #[arg(long)]
    pub suite: Option<String>,
    /// Extra suites whose Sources also count as builders (default: the stack's suite).
    #[arg(long = "also", value_delimiter = ',')]
    pub also: Option<Vec<String>>,
    /// Include Build-Depends-Indep (dose-builddebcheck's default).
    #[arg(long)]
    pub indep: bool,
    /// Build profiles to activate (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub profiles: Vec<String>,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// The same three formats as `cascade plan`.
pub use super::plan::Format;

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    if args.items.is_empty() && !args.all {
        return Err(Error::Usage(
            "frontier: name a BINARY or SOURCE, or pass --all".into(),
        ));
    }
    let config = Config::from_env()?;
    // Outside a stack the command still answers for the archive alone.
    let recipes = recipe::load(&global.recipes).ok();
    let suites = Suites::resolve(&args, &config, recipes.as_ref().map(|r| &r.stack))?;
    let fetcher = Fetcher::new(
        Mirror::parse(&suites.mirror),
        &args.archive.fetch_options(&config),
    )?;
    let also: Vec<&str> = suites.also.iter().map(String::as_str).collect();
    let stack_names = load::stack_names(
        recipes
            .iter()
            .flat_map(|r| r.recipes.iter().map(|x| x.source.as_str())),
    );
    let answer = || -> Result<String, Error> {
        let loaded = load::load_deferred(&fetcher, &suites.base, &also, args.arch.as_str())?;
        let profiles = Profiles::new(args.profiles.iter().cloned());
        let all = args
            .all
            .then(|| whole_archive(&loaded, &profiles, args.indep));
        // Explaining runs on one thread: the parsed cache is written beside it.
        let chains = std::thread::scope(|s| {
            s.spawn(|| loaded.write_cache(&fetcher));
            explain(&args, &loaded, &stack_names, profiles, all.as_deref())
        });
        let out = match args.format {
            Format::Text => text(&args, &chains, all.as_deref()),
            Format::Json => render::json(&chains, all.as_deref()),
            Format::Dot => render::dot(&chains),
        };
        // The process ends after printing: see `Loaded::leave`.
        loaded.leave();
        std::mem::forget((chains, all));
        Ok(out)
    };
    let out = if args.all {
        // The whole-archive answer is seconds of solving: cached next to
        // the parsed indices, keyed by everything it depends on.
        let key = answer_key(&args, &fetcher, (&suites.base, &also), &stack_names)?;
        let name = format!(
            "frontier-all.{}.{}.{:?}",
            suites.base,
            args.arch.as_str(),
            args.format
        );
        fetcher
            .parsed_cache()
            .get_or(&name, key.as_deref(), answer)?
    } else {
        answer()?
    };
    // Not print!: it panics on a closed pipe (`cascade frontier … | head`).
    super::emit(None, &out)?;
    Ok(ExitCode::SUCCESS)
}

/// The `--all` answer's cache key: a SHA-256 of the indices' SHA-256s (from
/// the Releases), the question (arch, items, profiles, indep, format), the
/// stack's names, and this executable's size and mtime (another build may
/// answer differently). `None`, no caching, when one is unknown.
fn answer_key(
    args: &Args,
    fetcher: &Fetcher,
    (base, also): (&str, &[&str]),
    stack_names: &BTreeSet<String>,
) -> Result<Option<String>, Error> {
    use sha2::Digest;
    let Some(indices) = load::index_keys(fetcher, base, also, args.arch.as_str())? else {
        return Ok(None);
    };
    let exe = std::env::current_exe().and_then(std::fs::metadata);
    let Some((size, mtime)) = exe.ok().and_then(|m| Some((m.len(), m.modified().ok()?))) else {
        return Ok(None);
    };
    let question = format!(
        "{indices}\n{}\n{:?}\n{:?}\n{}\n{:?}\n{stack_names:?}\n{size} {mtime:?}",
        args.arch.as_str(),
        args.items,
        args.profiles,
        args.indep,
        args.format,
    );
    Ok(Some(hex::encode(sha2::Sha256::digest(question.as_bytes()))))
}

/// Where the archive is read from: the options, else the stack, else sid.
struct Suites {
    base: String,
    also: Vec<String>,
    mirror: String,
}

impl Suites {
    fn resolve(args: &Args, config: &Config, stack: Option<&Stack>) -> Result<Suites, Error> {
        let base = args
            .suite
            .clone()
            .or_else(|| stack.map(|s| s.base_suite.clone()))
            .unwrap_or_else(|| "sid".into());
        let also = args
            .also
            .clone()
            .or_else(|| stack.map(|s| vec![s.suite.clone()]))
            .unwrap_or_default();
        let mirror = args
            .archive
            .mirror(config)
            .or_else(|| stack.map(|s| s.mirror.clone()))
            .ok_or_else(|| {
                Error::Usage("frontier: no --mirror and no stack to take it from".into())
            })?;
        Ok(Suites { base, also, mirror })
    }
}

/// `--all`: the buildability of every source of the base suite.
fn whole_archive(loaded: &Loaded, profiles: &Profiles, indep: bool) -> Vec<Buildability> {
    let base_sources = loaded.base.iter().map(|&i| loaded.sources.get(i));
    buildability(
        &loaded.universe,
        &loaded.viable,
        base_sources,
        profiles,
        indep,
    )
}

/// The chains down to the roots of the named items and, with `--all`, of
/// every source that cannot be built.
fn explain(
    args: &Args,
    loaded: &Loaded,
    stack_names: &BTreeSet<String>,
    profiles: Profiles,
    all: Option<&[Buildability]>,
) -> Chains {
    let mut ex = Explainer::new(
        &loaded.universe,
        &loaded.viable,
        &loaded.sources,
        stack_names,
        profiles,
    );
    ex.set_indep(args.indep);
    ex.set_expand_stack(true);
    for item in &args.items {
        ex.ask(item, Vec::new());
    }
    for b in all
        .unwrap_or_default()
        .iter()
        .filter(|b| b.failure.is_some())
    {
        ex.ask_source(&b.source, vec![b.source.clone()]);
    }
    ex.finish()
}

/// The text answer: the whole-archive summary, the named items' chains,
/// and the roots.
fn text(args: &Args, chains: &Chains, all: Option<&[Buildability]>) -> String {
    let mut s = String::new();
    if let Some(all) = all {
        render::all_text(&mut s, args.arch.as_str(), all);
        s.push('\n');
    }
    if !args.items.is_empty() {
        let items = Chains {
            tops: chains
                .tops
                .iter()
                .filter(|t| args.items.contains(&t.item))
                .cloned()
                .collect(),
            ..chains.clone()
        };
        s.push_str(&render::text(&items));
        if all.is_some() {
            s.push('\n');
            render::roots_text(&mut s, chains, 50);
        }
    } else {
        render::roots_text(&mut s, chains, 50);
    }
    s
}

//! `cascade transition --dry-run`: what moving the stack's target-suite
//! versions into the base suite would start, per arch (see
//! [`crate::transition`]). Facts first (recipes, both suites, the index
//! texts dose needs), then the pure analysis, then dose-debcheck, then output.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::archive::{Fetcher, Mirror, Suite, load_suite};
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
use crate::control::Profiles;
use crate::recipe;
use crate::transition::debcheck::{self, Installability};
use crate::transition::render::{self, ArchReport, SCHEMA, Transition};
use crate::transition::{Moving, Options, analyse, select};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A finished run's directory, whose .debs are the new binaries
    /// (not yet supported: use --dry-run).
    pub run_dir: Option<PathBuf>,
    /// Take the new binaries from the stack's target suite in the archive
    /// instead of a run: nothing is built.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Architectures (default: the stack's).
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Only rebuild candidates whose source name matches.
    #[arg(long, value_name = "REGEX")]
    pub include: Option<regex::Regex>,
    /// Leave out rebuild candidates whose source name matches.
    #[arg(long, value_name = "REGEX")]
    pub exclude: Option<regex::Regex>,
    /// At most this many rebuild candidates per arch.
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,
    /// Rebuild candidates through the installation closure (as `cascade
    /// rdeps` and dose-ceve), not only sources naming a stack binary.
    #[arg(long)]
    pub transitive: bool,
    /// Leave Build-Depends-Indep of outside sources out.
    #[arg(long)]
    pub no_indep: bool,
    /// Skip the installability check (dose-debcheck, ~20 s per arch).
    #[arg(long)]
    pub no_installability: bool,
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
    Markdown,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    if let Some(dir) = &args.run_dir {
        return Err(Error::Usage(format!(
            "transition of a run's .debs ({}) is not implemented yet: use --dry-run without RUNDIR",
            dir.display()
        )));
    }
    if !args.dry_run {
        return Err(Error::Usage(
            "give a RUNDIR or --dry-run (the stack's target-suite versions)".into(),
        ));
    }
    let recipes = recipe::load(&global.recipes)?;
    let stack = &recipes.stack;
    let config = Config::from_env()?;
    let mirror = args
        .archive
        .mirror(&config)
        .unwrap_or_else(|| stack.mirror.clone());
    let fetcher = Fetcher::new(Mirror::parse(&mirror), &args.archive.fetch_options(&config))?;
    let arches = arches(&args.arch, &stack.architectures);
    let names: Vec<&str> = arches.iter().map(Arch::as_str).collect();
    let base = load_suite(&fetcher, &stack.base_suite, &names)?;
    let target = load_suite(&fetcher, &stack.suite, &names)?;
    let stack_names: BTreeSet<String> = recipes.recipes.iter().map(|r| r.source.clone()).collect();
    let options = Options {
        include_indep: !args.no_indep,
        transitive: args.transitive,
    };
    let mut reports = Vec::new();
    for arch in &arches {
        let moving = moving(&base, &target, &stack_names, arch);
        let packages = base
            .packages
            .get(arch.as_str())
            .ok_or_else(|| Error::Usage(format!("{} has no Packages for {arch}", base.name)))?;
        let mut t = analyse(
            arch,
            &base.sources,
            packages,
            &stack_names,
            &moving,
            &options,
        );
        t.rebuilds = select(
            &t.rebuilds,
            args.include.as_ref(),
            args.exclude.as_ref(),
            args.max,
        );
        let installability = if args.no_installability {
            None
        } else {
            Some(installability(
                &fetcher,
                &base,
                &target,
                arch,
                &moving,
                &stack_names,
            )?)
        };
        reports.push(ArchReport {
            transition: t,
            installability,
        });
    }
    let doc = Transition {
        schema: SCHEMA,
        stack: stack.name.clone(),
        base_suite: base.name.clone(),
        new_from: format!("{} (dry run)", target.name),
        arches: reports,
    };
    write(&args, &doc)?;
    std::mem::forget((base, target));
    Ok(if doc.has_problems() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn arches(asked: &[Arch], stack: &[Arch]) -> Vec<Arch> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<Arch> = if asked.is_empty() { stack } else { asked }.to_vec();
    out.retain(|a| seen.insert(a.clone()));
    out
}

/// The stack sources whose target-suite version differs from the base
/// suite's, and what that version builds on `arch`.
fn moving(base: &Suite, target: &Suite, stack: &BTreeSet<String>, arch: &Arch) -> Vec<Moving> {
    stack
        .iter()
        .filter_map(|name| {
            let new = target.sources.get(name)?;
            let new_version = new.version.clone()?;
            let old_version = base.sources.get(name).and_then(|s| s.version.clone());
            if old_version.as_ref() == Some(&new_version) {
                return None;
            }
            Some(Moving {
                source: name.clone(),
                base_version: old_version,
                target_version: new_version,
                binaries: new
                    .binaries_on(arch)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                build_deps: new.build_deps(arch, &Profiles::none(), true, false),
            })
        })
        .collect()
}

/// dose-debcheck on the base suite with the moving sources' binaries
/// replaced by the target suite's, where the target suite has any on `arch`
/// (elsewhere the old binaries stay, as the archive keeps them until the
/// new version is built there).
fn installability(
    fetcher: &Fetcher,
    base: &Suite,
    target: &Suite,
    arch: &Arch,
    moving: &[Moving],
    stack: &BTreeSet<String>,
) -> Result<Installability, Error> {
    let new_packages = &target.packages[arch.as_str()];
    let replaced: BTreeSet<&str> = moving
        .iter()
        .map(|m| m.source.as_str())
        .filter(|s| !new_packages.binaries_of(s).is_empty())
        .collect();
    let mut check: BTreeSet<&str> = replaced
        .iter()
        .flat_map(|s| new_packages.binaries_of(s).iter().map(String::as_str))
        .collect();
    let not_in_new: Vec<String> = moving
        .iter()
        .flat_map(|m| m.binaries.iter())
        .filter(|b| new_packages.get(b).is_none())
        .cloned()
        .collect();
    let packages = &base.packages[arch.as_str()];
    check.extend(crate::transition::outside_dependents(packages, stack));
    let text = |suite: &Suite| {
        let rel = format!("dists/{}/main/binary-{arch}/Packages", suite.name);
        fetcher.index(&suite.release, &rel)
    };
    let (base_text, new_text) = (text(base)?, text(target)?);
    let new_text = debcheck::only_sources(&new_text, &replaced);
    let split = debcheck::split(&base_text, &new_text, &replaced, &check);
    let tmp = tempfile::tempdir().map_err(|e| crate::fsio::IoError::new("<tempdir>", e))?;
    let broken = debcheck::check(arch.as_str(), &split, tmp.path())?;
    Ok(Installability {
        checked: split.checked,
        broken,
        not_in_new,
    })
}

fn write(args: &Args, doc: &Transition) -> Result<(), Error> {
    let text = match args.format {
        Format::Text => render::text(doc),
        Format::Markdown => render::markdown(doc),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(doc)
                .map_err(|e| crate::fsio::IoError::new("<json>", std::io::Error::other(e)))?;
            s.push('\n');
            s
        }
    };
    match &args.out {
        Some(path) => crate::outfile::write_out(path, text.as_bytes())
            .map_err(|source| Error::Io(crate::fsio::IoError::new(path.clone(), source))),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|source| Error::Io(crate::fsio::IoError::new("<stdout>", source))),
    }
}

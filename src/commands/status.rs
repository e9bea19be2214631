//! `cascade status`: the team's porting survey of the stack, from the
//! mirror's unstable and experimental indices.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::archive::{Fetcher, Mirror, load_suite};
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
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
    let doc = match args.format {
        Format::Text => text::render(&status),
        Format::Html => html::render(&status),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&status).map_err(|e| {
                Error::Io(crate::fsio::IoError::new(
                    "<json>",
                    std::io::Error::other(e),
                ))
            })?;
            s.push('\n');
            s
        }
    };
    match &args.out {
        Some(path) => crate::outfile::write_out(path, doc.as_bytes())
            .map_err(|source| Error::Io(crate::fsio::IoError::new(path.clone(), source)))?,
        None => std::io::stdout()
            .lock()
            .write_all(doc.as_bytes())
            .map_err(|source| Error::Io(crate::fsio::IoError::new("<stdout>", source)))?,
    }
    Ok(ExitCode::SUCCESS)
}

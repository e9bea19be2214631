//! `cascade report RUNDIR`: renders a run's results in one format, optionally
//! compared with an earlier run. Exits 1 when something failed unexpectedly.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::cli::GlobalArgs;
use crate::report::{self, Report};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Junit,
    Html,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory (or a report.json).
    pub run_dir: PathBuf,
    /// An earlier run directory (or report.json) to compare with.
    #[arg(long, value_name = "OLD_RUNDIR")]
    pub since: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    let mut rep = Report::from_run(&args.run_dir)?;
    if let Some(old) = &args.since {
        let before = Report::from_run(old)?;
        rep.regressions = Some(report::compare(&before, &rep, old));
    }
    // Links in the HTML page are relative to where the page ends up.
    let page_dir = match &args.out {
        Some(out) => out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".")),
        None => PathBuf::from("."),
    };
    let page_dir = std::path::absolute(&page_dir).unwrap_or(page_dir);
    let text = match args.format {
        Format::Text => {
            report::text::render(&rep, args.out.is_none() && std::io::stdout().is_terminal())
        }
        Format::Json => report::json::render(&rep),
        Format::Junit => report::junit::render(&rep)?,
        Format::Html => report::html::render(&rep, &page_dir),
        Format::Markdown => report::markdown::render(&rep),
    };
    match &args.out {
        Some(path) => report::files::write_atomic(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(report::exit_code(&rep.results))
}

//! `cascade report RUNDIR`: renders a run's results in one format, optionally
//! compared with an earlier run. Exits 1 when something failed unexpectedly.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::cli::GlobalArgs;
use crate::report::{self, Report, port as port_report};

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
    /// Judge the run as a porting run on these architectures (comma-separated):
    /// also write the porting report (port.json, port.md, port.txt) into the
    /// run directory and exit by the porting verdict (docs/port.md) — a
    /// package tried only through a widened copy (`~port` version) that never
    /// built does not fail; one that built in --since's run and fails now does.
    #[arg(long, value_delimiter = ',', value_name = "ARCH")]
    pub port: Vec<Arch>,
}

pub fn run(args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    // `--port` writes the porting report into the run directory: one
    // writer at a time, as for a run (refused at once while one holds it).
    let _lock = match args.port.is_empty() || !args.run_dir.is_dir() {
        true => None,
        false => Some(crate::lock::RunLock::acquire(
            &args.run_dir,
            &crate::lock::command_line(),
        )?),
    };
    let mut rep = Report::from_run(&args.run_dir)?;
    let before = match &args.since {
        Some(old) => Some(Report::from_run(old)?),
        None => None,
    };
    if let (Some(old), Some(before)) = (&args.since, &before) {
        rep.regressions = Some(report::compare(before, &rep, old));
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
        Some(path) => report::files::write_out(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    if args.port.is_empty() {
        return Ok(rep.exit_code());
    }
    let plan = report::planned::RunPlan::load(&args.run_dir).map_err(report::Error::from)?;
    let arches = port_contexts(&args.port, &rep, &args.run_dir, plan.as_ref());
    let port = port_report::build(&port_report::Input {
        stack: rep.stack.clone(),
        run_dir: &args.run_dir,
        results: &rep.results,
        arches: &arches,
        previous: before.as_ref().zip(args.since.as_deref()),
    });
    port_report::write_all(&port, &args.run_dir)?;
    // The porting verdict judges builds; a test cell that passed in
    // --since's run and fails now fails it too, as a build that did.
    let tests_regressed =
        (rep.regressions.as_ref()).is_some_and(|r| !r.tests_newly_failing.is_empty());
    Ok(if tests_regressed {
        ExitCode::from(1)
    } else {
        port.exit_code()
    })
}

/// What a porting report needs to know of each arch, read off the run
/// directory: the sources built from a widened copy carry the `~port`
/// version suffix, their patches sit in `RUNDIR/port/ARCH/patches/`, and the
/// edges come from the run's `plan.json` (a CI report job's is the one
/// `cascade ci generate` planned). Without a plan every failure counts as a
/// root.
fn port_contexts(
    arches: &[Arch],
    rep: &Report,
    run_dir: &std::path::Path,
    plan: Option<&report::planned::RunPlan>,
) -> Vec<port_report::ArchContext> {
    arches
        .iter()
        .map(|arch| {
            let mut ctx = port_report::ArchContext::new(arch.clone());
            if let Some(plan) = plan {
                ctx.depends_on = plan.edges(arch.as_str());
            }
            for r in rep.results.iter().filter(|r| &r.arch == arch) {
                if crate::port::copy::is_port_version(&r.version) {
                    ctx.widened.insert(r.source.clone());
                    let patch = crate::rundir::RunDir::new(run_dir).port_patch(arch, &r.source);
                    if patch.exists() {
                        ctx.patches.insert(r.source.clone(), patch);
                    }
                }
            }
            ctx
        })
        .collect()
}

//! `cascade rdeps`: the sources of a suite that build-depend on given
//! binaries, directly or through the binaries that depend on them.

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use crate::Error;
use crate::arch::Arch;
use crate::archive::{Fetcher, Mirror, load_suite};
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
use crate::control::Profiles;
use crate::rdeps::{Query, rdeps};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Binary packages that change (e.g. libamdhip64-dev hipcc).
    #[arg(required_unless_present = "parse_only", value_parser = package_name)]
    pub binaries: Vec<String>,
    /// Architecture whose Build-Depends and Packages to use.
    #[arg(long, default_value = "amd64")]
    pub arch: Arch,
    /// Suite to read (`unstable` is read as `sid`).
    #[arg(long, default_value = "sid")]
    pub suite: String,
    /// Archive indices; without --mirror or CASCADE_MIRROR, deb.debian.org.
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Only sources that name the given binaries themselves.
    #[arg(long)]
    pub direct: bool,
    /// Leave Build-Depends-Indep out (what an arch-only buildd installs).
    #[arg(long)]
    pub no_indep: bool,
    /// Build profiles to activate (comma-separated, e.g. nocheck,nodoc).
    #[arg(long, value_delimiter = ',')]
    pub profiles: Vec<String>,
    /// Output: `text` (one source per line) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Benchmark aid: only fetch and parse Sources and Packages, print counts.
    #[arg(long, hide = true)]
    pub parse_only: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Version of the JSON output's shape; bump on incompatible changes.
const JSON_SCHEMA: u32 = 1;

/// A binary package name as Debian policy (5.6.1) allows it, checked
/// before the archive is read so that `rdeps ''` says what is wrong.
fn package_name(s: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c);
    let starts_right = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if s.len() < 2 || !starts_right || !s.chars().all(ok) {
        return Err(format!(
            "`{s}` is not a binary package name (two or more of a-z 0-9 + - ., \
             starting with a letter or digit)"
        ));
    }
    Ok(s.to_string())
}

/// rdeps needs no stack, so no stack's mirror: this one by default.
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

pub fn run(args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    let config = Config::from_env()?;
    let mirror = args
        .archive
        .mirror(&config)
        .unwrap_or_else(|| DEFAULT_MIRROR.to_string());
    let fetcher = Fetcher::new(Mirror::parse(&mirror), &args.archive.fetch_options(&config))?;
    let started = Instant::now();
    let suite = load_suite(&fetcher, &args.suite, &[args.arch.as_str()])?;
    let packages = suite
        .packages
        .get(args.arch.as_str())
        .ok_or_else(|| Error::Usage(format!("no Packages for {}", args.arch)))?;
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| Error::Io(crate::fsio::IoError::new("<stdout>", e));
    if args.parse_only {
        writeln!(
            out,
            "parsed {} sources and {} {} binaries of {} in {:.3} s",
            suite.sources.len(),
            packages.len(),
            args.arch,
            suite.name,
            started.elapsed().as_secs_f64()
        )
        .map_err(w)?;
        std::mem::forget(suite);
        return Ok(ExitCode::SUCCESS);
    }
    let query = Query {
        binaries: args.binaries.clone(),
        arch: args.arch.clone(),
        profiles: Profiles::new(args.profiles.iter().cloned()),
        direct: args.direct,
        include_indep: !args.no_indep,
    };
    let answer = rdeps(&suite.sources, packages, &query);
    if answer.unknown.len() == args.binaries.len() {
        return Err(Error::Usage(format!(
            "none of {} is in {}/{}'s Packages",
            args.binaries.join(", "),
            suite.name,
            args.arch
        )));
    }
    match args.format {
        Format::Text => {
            for u in &answer.unknown {
                eprintln!(
                    "warning: {u} is not in {}/{}'s Packages",
                    suite.name, args.arch
                );
            }
            for a in &answer.sources {
                writeln!(out, "{}", a.source).map_err(w)?;
            }
        }
        Format::Json => {
            let doc = serde_json::json!({
                "schema": JSON_SCHEMA,
                "suite": suite.name,
                "arch": args.arch,
                "binaries": args.binaries,
                "direct": args.direct,
                "include_indep": !args.no_indep,
                "profiles": args.profiles,
                "closure_size": answer.closure_size,
                "unknown": answer.unknown,
                "sources": answer.sources,
            });
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(|e| w(std::io::Error::other(e)))?;
            writeln!(out).map_err(w)?;
        }
    }
    // Freeing sid's indices piece by piece takes a third of a second; the
    // process is about to exit anyway.
    std::mem::forget(suite);
    Ok(ExitCode::SUCCESS)
}

//! One file per subcommand: turn validated arguments into library calls and
//! hand results to a reporter. Only `main` prints errors.

pub mod args;
pub mod build;
pub mod bump;
pub mod check;
pub mod ci;
pub mod demo;
pub mod doctor;
pub mod frontier;
pub mod plan;
pub mod port;
pub mod rdeps;
pub mod report;
pub mod run;
pub mod setup;
pub mod status;
pub mod test;
pub mod transition;

use std::process::ExitCode;

use crate::Error;
use crate::cli::{Cli, Command};

/// Runs the parsed command line.
pub fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    let g = &cli.global;
    match cli.command {
        Command::Check(a) => check::run(a, g),
        Command::Plan(a) => plan::run(a, g),
        Command::Rdeps(a) => rdeps::run(a, g),
        Command::Bump(a) => bump::run(a, g),
        Command::Build(a) => build::run(a, g),
        Command::Run(a) => run::run(a, g),
        Command::Port(a) => port::run(a, g),
        Command::Setup(a) => setup::run(a, g),
        Command::Doctor(a) => doctor::run(a, g),
        Command::Demo(a) => demo::run(a, g),
        Command::Report(a) => report::run(a, g),
        Command::Test(a) => test::run(a, g),
        Command::Ci(a) => ci::run(a, g),
        Command::Status(a) => status::run(a, g),
        Command::Frontier(a) => frontier::run(a, g),
        Command::Transition(a) => transition::run(a, g),
    }
}

/// Writes a command's output: to `--out` (see [`crate::outfile::write_out`])
/// or to standard output. Errors name the file.
pub fn emit(out: Option<&std::path::Path>, text: &str) -> Result<(), Error> {
    use std::io::Write;
    match out {
        Some(path) => crate::outfile::write_out(path, text.as_bytes())
            .map_err(|source| Error::Io(crate::fsio::IoError::new(path, source))),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|source| Error::Io(crate::fsio::IoError::new("<stdout>", source))),
    }
}

/// A document as pretty JSON with a final newline.
pub fn json_text<T: serde::Serialize>(doc: &T) -> Result<String, Error> {
    let mut s = serde_json::to_string_pretty(doc)
        .map_err(|e| crate::fsio::IoError::new("<json>", std::io::Error::other(e)))?;
    s.push('\n');
    Ok(s)
}

//! `cascade doctor`. (Skeleton — filled in by its owner.)

use std::process::ExitCode;

use crate::Error;
use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cascade doctor` is not implemented yet".into(),
    ))
}

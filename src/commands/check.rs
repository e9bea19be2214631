//! `cascade check`: load and validate the stack file and every recipe, and
//! say so in one line. Problems go back to `main` as one error listing all
//! of them (exit code 2).

use std::process::ExitCode;

use crate::Error;
use crate::cli::GlobalArgs;
use crate::recipe;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let recipes = recipe::load(&global.recipes)?;
    let stack = &recipes.stack;
    let arches: Vec<&str> = stack.architectures.iter().map(|a| a.as_str()).collect();
    println!(
        "ok: stack {} ({} on {}), {} recipes, architectures {}",
        stack.name,
        stack.suite,
        stack.base_suite,
        recipes.recipes.len(),
        arches.join(" ")
    );
    Ok(ExitCode::SUCCESS)
}

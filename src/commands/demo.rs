//! `cascade demo init DIR`: write the bundled demo stack (git repos and
//! recipes) into DIR.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::cli::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: DemoCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DemoCommand {
    /// Write the demo stack's upstream and packaging git repos and its recipes into DIR.
    Init {
        /// A new or empty directory.
        dir: PathBuf,
    },
}

pub fn run(args: Args, _global: &GlobalArgs) -> Result<ExitCode, Error> {
    match args.command {
        DemoCommand::Init { dir } => {
            let stack = crate::demo::init(&dir)?;
            for p in &stack.packages {
                println!(
                    "{:<14} upstream {}  packaging {}",
                    p.source,
                    p.upstream.display(),
                    p.packaging.display()
                );
            }
            println!(
                "recipes: {}\nnext: cascade --recipes {} run",
                stack.recipes.display(),
                stack.recipes.display()
            );
            println!(
                "opt-in, compile-heavy (about a minute on amd64): cascade --recipes {} run",
                stack.heavy_recipes.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

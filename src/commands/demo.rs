//! `cascade demo init DIR`: write the bundled demo stack (git repos and
//! recipes) into DIR. `cascade demo archive DIR`: write beside it the local
//! archive of what unstable had before the move (`crate::demo::archive`).

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
    /// Write DIR/archive/: the demo stack's old release and consumers
    /// outside the stack, for `cascade transition --extra-archive`.
    Archive {
        /// The directory `demo init` wrote (its recipes/ give the arches).
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
        DemoCommand::Archive { dir } => archive(&dir),
    }
}

fn archive(dir: &std::path::Path) -> Result<ExitCode, Error> {
    let recipes = crate::recipe::load(&dir.join("recipes"))?;
    let stack = &recipes.stack;
    let host = crate::jobgraph::host_arch(stack).ok_or_else(|| {
        Error::Usage(format!(
            "{}: the stack names no architecture",
            dir.display()
        ))
    })?;
    let arches: Vec<String> = stack.architectures.iter().map(|a| a.to_string()).collect();
    let root = crate::demo::archive::write(dir, host.as_str(), &arches)?;
    println!(
        "archive: {} (unstable before the move: demo-runtime {} and {}, binaries for {host})",
        root.display(),
        crate::demo::archive::OLD_ARCHIVE_VERSION,
        crate::demo::archive::CONSUMERS.join(", ")
    );
    println!(
        "next, after `cascade run`: cascade --recipes {} transition RUNDIR --extra-archive {} --arch {host} --rebuild",
        dir.join("recipes").display(),
        root.display()
    );
    Ok(ExitCode::SUCCESS)
}

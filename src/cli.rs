//! clap definitions only. Each subcommand's arguments live in its
//! `commands::NAME::Args`; nothing below `commands` sees raw strings.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands;

/// Rebuild a stack of Debian source packages (the ROCm stack first), in
/// build-dependency order, for every architecture, under sbuild.
#[derive(Debug, Parser)]
#[command(name = "cascade", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Directory with stack.yaml and one SOURCE.yaml per source package.
    #[arg(
        long,
        global = true,
        default_value = "recipes",
        env = "CASCADE_RECIPES"
    )]
    pub recipes: PathBuf,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the stack file and every recipe.
    Check(commands::check::Args),
    /// Show the per-architecture build order, cycles, exclusions and the porting frontier.
    Plan(commands::plan::Args),
    /// List the sources in the archive that build-depend on the given binaries.
    Rdeps(commands::rdeps::Args),
    /// Move packages to their recipe's upstream tag: changelog, orig tarball, source package.
    Bump(commands::bump::Args),
    /// Build the bumped source packages under sbuild, in dependency order, for every architecture.
    Build(commands::build::Args),
    /// Bump, build and report the whole stack in one go.
    Run(commands::run::Args),
    /// Porting run: build what the packaging leaves out on an arch (default: the stack's `port:` list) and report what breaks first.
    Port(commands::port::Args),
    /// Set up this host for sbuild: packages, subuid/subgid, binfmt, chroot tarballs.
    Setup(commands::setup::Args),
    /// Say what this host lacks for building, and the command that fixes it.
    Doctor(commands::doctor::Args),
    /// Write the bundled demo stack (git repos and recipes) into a directory.
    Demo(commands::demo::Args),
    /// Render a run's results (text, JSON, JUnit, HTML, Markdown), optionally against an earlier run.
    Report(commands::report::Args),
    /// Run autopkgtest and lintian on what a finished run built, against exactly its .debs.
    Test(commands::test::Args),
    /// GitLab CI: generate the child pipeline that builds the stack across runners.
    Ci(commands::ci::Args),
    /// The team's survey: versions in unstable/experimental, binaries per arch, the porting frontier.
    Status(commands::status::Args),
    /// Why binaries or sources are missing on an arch, through the whole archive, down to the roots.
    Frontier(commands::frontier::Args),
    /// Moving the stack into unstable: dropped and renamed binaries, binNMUs, rebuild candidates, installability.
    Transition(commands::transition::Args),
}

//! `cascade port`: a porting run, which is `cascade run --port` (the one
//! orchestration entry point, `commands::run`). Bumps, plans in port mode
//! (sources whose Architecture field leaves the arch out are tried), builds
//! widened build copies of those (see `port::copy`) with the recipes'
//! porting profiles, environment and timeouts, writes the normal report and
//! the porting report (`port.json`, `port.md`, `port.txt`) into the run
//! directory, and exits by the porting verdict (docs/port.md). This module
//! holds the porting run's end: [`finish`].

use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::bump::BumpOptions;
use crate::cli::GlobalArgs;
use crate::commands::build::Porting;
use crate::commands::{bump as bump_cmd, run as run_cmd};
use crate::config::Config;
use crate::git::{Author, Git2};
use crate::pipeline::BuildOptions;
use crate::recipe;
use crate::report::{Report, port as port_report};

#[derive(Debug, clap::Args)]
// Flattens `cascade run`'s `Args`, whose clap group is named `Args` too.
#[group(skip)]
pub struct Args {
    /// `cascade run`'s options (`--port` implied). Without `--arch`: the
    /// stack file's `port:` list.
    #[command(flatten)]
    pub run: run_cmd::Args,
}

pub fn run(mut args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    args.run.build.port = true;
    run_cmd::run(args.run, global)
}

/// The end of a porting run: the porting report written and printed, the
/// `--commit-port` commits, and the exit code by the porting verdict.
pub(crate) fn finish(
    recipes: &recipe::Recipes,
    config: &Config,
    opts: &BuildOptions,
    rep: &Report,
    contexts: &[port_report::ArchContext],
    porting: &Porting,
) -> Result<ExitCode, Error> {
    let port = port_report::build(&port_report::Input {
        stack: Some(recipes.stack.name.clone()),
        run_dir: &opts.run_dir,
        results: &rep.results,
        arches: contexts,
        previous: porting.previous.as_ref().map(|(r, p)| (r, p.as_path())),
    });
    port_report::write_all(&port, &opts.run_dir)?;
    println!();
    print!("{}", port_report::render_text(&port));
    println!(
        "porting report: {} (also port.md, port.txt; the run's report.html next to it)",
        opts.run_dir.join(port_report::PORT_JSON).display()
    );
    if porting.commit_port {
        commit_ported(recipes, &porting.bump, &port, config)?;
    }
    Ok(port.exit_code())
}

/// `--commit-port`: the widening of each ported package that built, on its
/// packaging branch. A failure is reported and does not undo the run.
fn commit_ported(
    recipes: &recipe::Recipes,
    bump_opts: &BumpOptions,
    port: &port_report::PortReport,
    config: &Config,
) -> Result<(), Error> {
    let author = Author {
        name: bump_opts.maintainer.name.clone(),
        email: bump_opts.maintainer.email.clone(),
        time: bump_cmd::timestamp(config)?,
    };
    for a in &port.arches {
        for b in a.built.iter().filter(|b| b.ported) {
            let build_depends = recipes
                .get(&b.source)
                .and_then(|r| Arch::new(&a.arch).and_then(|x| r.port.get(&x)))
                .is_some_and(|s| s.widen_build_depends);
            let repo = bump_opts.packaging_dir(&b.source);
            match crate::port::commit::commit_port(
                &Git2,
                &repo,
                &a.arch,
                crate::port::Options { build_depends },
                &author,
            ) {
                Ok(Some(id)) => println!(
                    "commit-port {}/{}: {id} in {}",
                    b.source,
                    a.arch,
                    repo.display()
                ),
                Ok(None) => println!(
                    "commit-port {}/{}: already lists {}",
                    b.source, a.arch, a.arch
                ),
                Err(e) => eprintln!("commit-port {}/{}: {e}", b.source, a.arch),
            }
        }
    }
    Ok(())
}

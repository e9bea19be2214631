//! `cascade port`: a porting run. Bumps as `cascade run` does, plans in port
//! mode (sources whose Architecture field leaves the arch out are tried),
//! builds widened build copies of those (see `port::copy`) with the recipes'
//! porting profiles, environment and timeouts, writes the normal report and
//! the porting report (`port.json`, `port.md`, `port.txt`) into the run
//! directory, and exits by the porting verdict (docs/port.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::Error;
use crate::arch::Arch;
use crate::bump::BumpOptions;
use crate::cli::GlobalArgs;
use crate::commands::{build, bump as bump_cmd, run as run_cmd};
use crate::config::Config;
use crate::git::{Author, Git2};
use crate::pipeline;
use crate::recipe;
use crate::report::{self, Report, port as port_report};

#[derive(Debug, clap::Args)]
// Flattens `cascade run`'s `Args`, whose clap group is named `Args` too.
#[group(skip)]
pub struct Args {
    /// `cascade run`'s options. Without `--arch`: the stack file's `port:` list.
    #[command(flatten)]
    pub run: run_cmd::Args,
    /// An earlier run (its directory or report.json) to compare the porting
    /// score and the results with: a package that built there and fails now
    /// fails this run.
    #[arg(long, value_name = "OLD_RUNDIR")]
    pub since: Option<PathBuf>,
    /// Commit the widening of debian/control to the packaging branch of each
    /// ported package that built (never done without this flag).
    #[arg(long)]
    pub commit_port: bool,
}

pub fn run(mut args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let config = Config::from_env()?;
    let recipes = recipe::load(&global.recipes)?;
    // Porting targets need not be among the stack's `architectures` (that
    // is what they are for): `--arch` may name those or the `port:` ones.
    let stack = &recipes.stack;
    let arches = if args.run.build.arch.is_empty() {
        if stack.port.is_empty() {
            return Err(Error::Usage(format!(
                "no --arch, and {} lists no porting target (`port: [riscv64]`)",
                recipes.dir.join(recipe::STACK_FILE).display()
            )));
        }
        stack.port.clone()
    } else {
        let known = |a: &Arch| stack.architectures.contains(a) || stack.port.contains(a);
        if let Some(a) = args.run.build.arch.iter().find(|a| !known(a)) {
            return Err(Error::Usage(format!(
                "--arch {a}: neither built nor a porting target of the stack {} (stack.yaml: architectures, port)",
                stack.name
            )));
        }
        std::mem::take(&mut args.run.build.arch)
    };
    let mut opts = build::options(&args.run.build, &config, &recipes)?;
    opts.arches = arches;
    opts.port = true;
    let _lock = build::lock_run_dir(&opts, args.run.build.dry_run)?;
    // Read the earlier run first: a bad --since should not cost a build.
    let previous = match &args.since {
        Some(p) => Some((Report::from_run(p)?, p.clone())),
        None => None,
    };

    // The bump, as `cascade run` does it.
    let run_cmd::Bumped {
        sources,
        failures,
        options: bump_opts,
    } = run_cmd::bump_phase(&args.run, &recipes, &config, &opts)?;
    let maintainer = bump_opts.maintainer.clone();

    // Plan in port mode; the jobs of widened sources build from build copies.
    if !opts.dry_run {
        std::fs::create_dir_all(&opts.run_dir)
            .map_err(|source| Error::Io(crate::fsio::IoError::new(opts.run_dir.clone(), source)))?;
    }
    let (plan, _) = pipeline::plan_for(&recipes, &sources, &failures, &opts)?;
    let sbuild = build::sbuild_config(&recipes, &config, &args.run.build);
    let mut prepared = pipeline::prepare(&recipes, &sources, &failures, &plan, &opts, &sbuild)?;
    let scratch = build::ScratchRunDir::new(&opts)?;
    let applied = pipeline::port_jobs(
        &mut prepared,
        &recipes,
        &sources,
        &plan,
        scratch.options(),
        &maintainer,
        config.source_date_epoch.and_then(|t| u64::try_from(t).ok()),
    )?;
    for p in &applied.ported {
        println!(
            "port {}/{}: {}{}",
            p.source,
            p.arch,
            p.dsc.display(),
            p.patch
                .as_ref()
                .map(|x| format!(" (patch {})", x.display()))
                .unwrap_or_default()
        );
    }
    if args.run.build.dry_run {
        for job in &prepared.jobs {
            println!(
                "build {} {} ({:?})",
                job.key(),
                job.request.version,
                job.request.mode
            );
        }
        for r in &prepared.not_built {
            println!("{}/{}: {}", r.source, r.arch, report::model::explain(r));
        }
        return Ok(ExitCode::SUCCESS);
    }

    let (results, cancelled) = build::execute_with_progress(
        prepared,
        &sbuild,
        &opts,
        None,
        &build::tmp_base(&recipes, &config, &args.run.build),
    )?;
    let rep = build::write_and_print(&recipes, &opts, started, results)?;

    let port = port_report::build(&port_report::Input {
        stack: Some(recipes.stack.name.clone()),
        run_dir: &opts.run_dir,
        results: &rep.results,
        arches: &applied.contexts,
        previous: previous.as_ref().map(|(r, p)| (r, p.as_path())),
    });
    port_report::write_all(&port, &opts.run_dir)?;
    println!();
    print!("{}", port_report::render_text(&port));
    println!(
        "porting report: {} (also port.md, port.txt; the run's report.html next to it)",
        opts.run_dir.join(port_report::PORT_JSON).display()
    );

    if args.commit_port {
        commit_ported(&recipes, &bump_opts, &port, &config)?;
    }
    if cancelled {
        return Ok(ExitCode::from(130));
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

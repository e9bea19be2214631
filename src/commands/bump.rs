//! `cascade bump`: move packages to their recipe's upstream tag, one
//! outcome line per package.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::Error;
use crate::bump::{self, BumpOptions, BumpOutcome, Status};
use crate::changelog::Maintainer;
use crate::cli::GlobalArgs;
use crate::commands::args::checkouts;
use crate::config::Config;
use crate::git::Git2;
use crate::recipe::{self, Recipe, Stack};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Source packages to bump (default: the whole stack, in stack order).
    pub packages: Vec<String>,
    /// Directory for cascade-managed clones (default: the user cache dir).
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Use an existing packaging checkout for a package instead of a clone.
    #[arg(long = "checkout", value_name = "PKG=PATH")]
    pub checkouts: Vec<String>,
    /// Work even if the packaging tree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Go ahead even when the new version is not greater than the changelog's.
    #[arg(long)]
    pub force: bool,
    /// The target upstream release is already in the changelog: make another
    /// upload of it with the Debian revision raised (-1~exp1 → -1~exp2).
    #[arg(long)]
    pub reupload: bool,
    /// Push the packaging branch (and upstream branch and tag) to the
    /// recipe's repository.
    #[arg(long)]
    pub push: bool,
    /// Print the planned changes, including the changelog diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Stop at the first failing package.
    #[arg(long)]
    pub fail_fast: bool,
    /// Record a binNMU (`+bN`) with this reason for the build step instead of
    /// editing the changelog.
    #[arg(long, value_name = "REASON")]
    pub binnmu: Option<String>,
    /// Where orig tarballs, source packages and binnmu.json go (default: WORKDIR/source).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let config = Config::from_env()?;
    let loaded = recipe::load(&global.recipes)?;
    let checkouts = checkouts(&args.checkouts, &loaded)?;
    let (stack, recipes) = (loaded.stack, loaded.recipes);
    let selected: Vec<&Recipe> = if args.packages.is_empty() {
        recipes.iter().collect()
    } else {
        args.packages
            .iter()
            .map(|p| {
                recipes
                    .iter()
                    .find(|r| &r.source == p)
                    .ok_or_else(|| Error::Usage(format!("no recipe for package `{p}`")))
            })
            .collect::<Result<_, _>>()?
    };
    let workdir = match args.workdir {
        Some(w) => w,
        None => config.cache_dir.join("work"),
    };
    let out_dir = args.out.unwrap_or_else(|| workdir.join("source"));
    let opts = BumpOptions {
        workdir,
        checkouts,
        out_dir,
        allow_dirty: args.allow_dirty,
        force: args.force,
        reupload: args.reupload,
        push: args.push,
        dry_run: args.dry_run,
        maintainer: maintainer(&config, &stack)?,
        timestamp: timestamp(&config)?,
        stop_after: None,
    };
    let vcs = Git2;
    let outcomes: Vec<BumpOutcome> = match &args.binnmu {
        Some(reason) => selected
            .iter()
            .map(|r| {
                bump::record_binnmu(r, &stack, &opts, &vcs, reason)
                    .unwrap_or_else(|e| BumpOutcome::failed(&r.source, &e))
            })
            .collect(),
        None => bump::bump_stack(&selected, &stack, &opts, &vcs, args.fail_fast),
    };
    let mut failed = false;
    for o in &outcomes {
        println!("{}", render(o));
        if let Some(diff) = &o.changelog_diff {
            print!("{diff}");
        }
        failed |= matches!(o.status, Status::Failed(_));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn render(o: &BumpOutcome) -> String {
    let from = o.previous.as_deref().unwrap_or("?");
    let to = o.version.as_deref().unwrap_or("?");
    match &o.status {
        Status::Bumped => {
            let mut s = format!("{}: bumped {from} → {to}", o.source);
            if o.resumed {
                s.push_str(" (completed an interrupted bump)");
            }
            if let Some(dsc) = &o.dsc {
                s.push_str(&format!(", {}", dsc.display()));
            }
            s
        }
        Status::Planned => format!("{}: would bump {from} → {to}", o.source),
        Status::AlreadyAtTarget => format!("{}: already at target ({to})", o.source),
        Status::BinNmuRecorded => format!("{}: binNMU recorded ({to})", o.source),
        Status::Skipped(why) => format!("{}: skipped ({why})", o.source),
        Status::Failed(why) => format!("{}: failed ({why})", o.source),
    }
}

/// The changelog maintainer: DEBFULLNAME/DEBEMAIL, then the stack file,
/// then git's user.name/user.email.
pub(crate) fn maintainer(config: &Config, stack: &Stack) -> Result<Maintainer, Error> {
    let parse = |s: &str| -> Option<(String, String)> {
        let (name, rest) = s.split_once('<')?;
        let email = rest.trim().strip_suffix('>')?;
        Some((name.trim().to_owned(), email.trim().to_owned()))
    };
    let (mut name, mut email) = (config.full_name.clone(), config.email.clone());
    if (name.is_none() || email.is_none())
        && let Some((n, e)) = stack.maintainer.as_deref().and_then(parse)
    {
        name.get_or_insert(n);
        email.get_or_insert(e);
    }
    if (name.is_none() || email.is_none())
        && let Ok(cfg) = git2::Config::open_default()
    {
        if name.is_none() {
            name = cfg.get_string("user.name").ok();
        }
        if email.is_none() {
            email = cfg.get_string("user.email").ok();
        }
    }
    match (name, email) {
        (Some(name), Some(email)) => Ok(Maintainer { name, email }),
        _ => Err(Error::Usage(
            "no maintainer: set DEBFULLNAME and DEBEMAIL, `maintainer:` in stack.yaml, or git's user.name/user.email".into(),
        )),
    }
}

/// SOURCE_DATE_EPOCH, else now.
pub(crate) fn timestamp(config: &Config) -> Result<u64, Error> {
    match config.source_date_epoch {
        Some(t) => u64::try_from(t)
            .map_err(|_| Error::Usage(format!("SOURCE_DATE_EPOCH {t} is before 1970"))),
        None => Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)),
    }
}

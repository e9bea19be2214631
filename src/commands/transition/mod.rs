//! `cascade transition RUNDIR | --dry-run`: what moving a run's .debs (or
//! the stack's target-suite versions) into the base suite would start, per arch (see
//! [`crate::transition`]). Facts first (recipes, both suites, the index
//! texts dose needs), then the pure analysis, then dose-debcheck, then output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::Error;
use crate::arch::Arch;
use crate::archive::{Fetcher, Mirror, Packages, Suite, load_suite};
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
use crate::control::Profiles;
use crate::fsio::IoError;
use crate::process::Cmd;
use crate::recipe;
use crate::rundir::RunDir;
use crate::transition::debcheck::{self, Installability};
use crate::transition::render::{self, ArchReport, SCHEMA, Transition};
use crate::transition::{Moving, Options, analyse, outside_dependents, select};
use crate::transition::{formats, merge};

mod rebuild;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A finished run's directory, whose .debs (`RUNDIR/debs/`) are the new binaries.
    pub run_dir: Option<PathBuf>,
    /// Take the new binaries from the stack's target suite in the archive
    /// instead of a run: nothing is built.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// An archive (URL or directory) whose base suite is laid over the
    /// mirror's: a team's staging archive, or the demo's old release
    /// (`cascade demo archive`). Its sources and binaries win over the
    /// mirror's of the same name; rebuilds fetch from it first.
    #[arg(long, value_name = "URL|DIR")]
    pub extra_archive: Option<String>,
    /// Architectures (default: the stack's).
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Only rebuild candidates whose source name matches.
    #[arg(long, value_name = "REGEX")]
    pub include: Option<regex::Regex>,
    /// Leave out rebuild candidates whose source name matches.
    #[arg(long, value_name = "REGEX")]
    pub exclude: Option<regex::Regex>,
    /// At most this many rebuild candidates per arch.
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,
    /// Rebuild candidates through the installation closure (as `cascade
    /// rdeps` and dose-ceve), not only sources naming a stack binary.
    #[arg(long)]
    pub transitive: bool,
    /// Leave Build-Depends-Indep of outside sources out.
    #[arg(long)]
    pub no_indep: bool,
    /// Skip the installability check (dose-debcheck).
    #[arg(long)]
    pub no_installability: bool,
    /// Build the selected rebuild candidates under sbuild against RUNDIR's
    /// .debs, and each failure again against the base suite alone
    /// (recheck: regression or already failing). Results stay in
    /// RUNDIR/transition/.
    #[arg(long)]
    pub rebuild: bool,
    /// Concurrent rebuilds (default: one per core).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// Per-rebuild timeout in minutes.
    #[arg(long, value_name = "MIN")]
    pub timeout: Option<u64>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Compare the rebuilds' verdicts with an earlier report
    /// (`RUNDIR/transition/transition.json`, or its directory): new
    /// regressions first (text and Markdown).
    #[arg(long, value_name = "OLD")]
    pub since: Option<PathBuf>,
    /// Print one report made of these JSON reports (files, or directories
    /// of `*.json`) instead of checking anything: the analysis and the
    /// rebuild jobs' reports of `cascade ci generate --transition`'s child
    /// pipeline. Exits 1 on a problem, as a check would.
    #[arg(long, value_name = "REPORT", num_args = 1..,
          conflicts_with_all = ["run_dir", "dry_run", "rebuild"])]
    pub merge: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Junit,
    Html,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    if !args.merge.is_empty() {
        let doc = merged(&args.merge)?;
        write(&args, &doc)?;
        return Ok(exit_code(&doc));
    }
    if args.run_dir.is_some() == args.dry_run {
        return Err(Error::Usage(
            "give either a RUNDIR (its .debs are the new binaries), --dry-run (the stack's \
             target-suite versions in the archive) or --merge REPORT..."
                .into(),
        ));
    }
    if args.rebuild && args.run_dir.is_none() {
        return Err(Error::Usage(
            "--rebuild builds against a run's .debs: give its RUNDIR, not --dry-run".into(),
        ));
    }
    let _lock = match (&args.run_dir, args.rebuild) {
        (Some(dir), true) => Some(crate::lock::RunLock::acquire(
            dir,
            &crate::lock::command_line(),
        )?),
        _ => None,
    };
    let recipes = recipe::load(&global.recipes)?;
    let stack = &recipes.stack;
    let config = Config::from_env()?;
    let mirror = args
        .archive
        .mirror(&config)
        .unwrap_or_else(|| stack.mirror.clone());
    let fetcher = Fetcher::new(Mirror::parse(&mirror), &args.archive.fetch_options(&config))?;
    let arches = arches(&args.arch, &stack.architectures);
    let names: Vec<&str> = arches.iter().map(Arch::as_str).collect();
    let extra = match &args.extra_archive {
        Some(m) => Some(Fetcher::new(
            Mirror::parse(m),
            &args.archive.fetch_options(&config),
        )?),
        None => None,
    };
    let (base, archives) = load_base(&fetcher, extra.as_ref(), &stack.base_suite, &names)?;
    let target = match &args.run_dir {
        None => Some(load_suite(&fetcher, &stack.suite, &names)?),
        Some(_) => None,
    };
    let stack_names: BTreeSet<String> = recipes.recipes.iter().map(|r| r.source.clone()).collect();
    let mut reports = Vec::new();
    for arch in &arches {
        let new = match (&target, &args.run_dir) {
            (Some(target), _) => from_suite(&fetcher, &base, target, &stack_names, arch)?,
            (None, Some(dir)) => from_run(dir, &base, &stack_names, arch)?,
            (None, None) => unreachable!("checked above"),
        };
        reports.push(arch_report(
            &args,
            &archives,
            &base,
            &stack_names,
            arch,
            &new,
        )?);
    }
    let cancelled = match (&args.run_dir, args.rebuild) {
        (Some(dir), true) => {
            let cx = rebuild::Context {
                recipes: &recipes,
                config: &config,
                archives: &archives,
                base: &base,
                run_dir: dir,
                jobs: args.jobs,
                timeout: args.timeout.map(|m| std::time::Duration::from_secs(m * 60)),
            };
            rebuild_into(&cx, &mut reports)?
        }
        _ => false,
    };
    let doc = Transition {
        schema: SCHEMA.to_string(),
        stack: stack.name.clone(),
        base_suite: stack.base_suite.clone(),
        new_from: match (&target, &args.run_dir) {
            (Some(t), _) => format!("{} (dry run)", t.name),
            (_, dir) => dir
                .as_deref()
                .unwrap_or(Path::new(""))
                .display()
                .to_string(),
        },
        arches: reports,
    };
    write(&args, &doc)?;
    if let (Some(dir), true) = (&args.run_dir, args.rebuild) {
        keep_report(dir, &doc)?;
    }
    std::mem::forget((base, target));
    if cancelled {
        return Ok(ExitCode::from(130));
    }
    Ok(exit_code(&doc))
}

fn exit_code(doc: &Transition) -> ExitCode {
    if doc.has_problems() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// `--merge`: the reports at `paths` (files, or the `*.json` of
/// directories, by name) as one ([`merge::merge`]).
fn merged(paths: &[PathBuf]) -> Result<Transition, Error> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        files.extend(crate::fsio::json_files(path)?);
    }
    // A file named and also in a named directory is read once.
    let mut seen = BTreeSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    let mut docs = Vec::new();
    for file in &files {
        let doc: Transition = read_report(file)?;
        if doc.schema != SCHEMA {
            return Err(Error::Usage(format!(
                "{}: schema {}, this cascade reads {SCHEMA}",
                file.display(),
                doc.schema
            )));
        }
        docs.push(doc);
    }
    merge::merge(docs).map_err(|e| Error::Usage(format!("--merge: {e}")))
}

/// A transition report read from `path`, naming the line and column of
/// what does not fit.
pub(crate) fn read_report<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|e| IoError::new(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Usage(format!(
            "{}: not a transition report (line {}, column {}): {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// Rebuilds each arch's selected candidates and puts the verdicts into
/// its report; whether the user cancelled.
fn rebuild_into(cx: &rebuild::Context<'_>, reports: &mut [ArchReport]) -> Result<bool, Error> {
    let selected = reports
        .iter()
        .map(|r| (r.transition.arch.clone(), r.transition.rebuilds.clone()))
        .collect();
    let (mut rebuilt, cancelled) = rebuild::rebuild_all(cx, &selected)?;
    for r in reports.iter_mut() {
        r.rebuilt = Some(rebuilt.remove(&r.transition.arch).unwrap_or_default());
    }
    Ok(cancelled)
}

/// The report of a `--rebuild` kept in the run directory (JSON and
/// Markdown), whatever `--format` printed.
fn keep_report(dir: &Path, doc: &Transition) -> Result<(), Error> {
    let run = RunDir::new(dir);
    let json = serde_json::to_vec_pretty(doc).unwrap_or_default();
    for (path, bytes) in [
        (run.transition_json(), json),
        (run.transition_md(), render::markdown(doc).into_bytes()),
        (run.transition_html(), formats::html(doc).into_bytes()),
        (run.transition_junit(), junit(doc)?.into_bytes()),
    ] {
        crate::outfile::write_atomic(&path, &bytes).map_err(|e| IoError::new(&path, e))?;
    }
    Ok(())
}

/// The archives of the base suite, an overlay (`--extra-archive`) first:
/// where rebuilds look for sources and .debs, and whose Packages dose reads.
pub(super) struct BaseArchives<'a> {
    list: Vec<(&'a Fetcher, crate::archive::Release)>,
}

impl BaseArchives<'_> {
    /// The index `rel` (`dists/sid/main/source/Sources`) of each archive
    /// that has it, overlay first.
    pub(super) fn texts(&self, rel: &str) -> Result<Vec<(&Fetcher, String)>, Error> {
        let mut out = Vec::new();
        for (fetcher, release) in &self.list {
            if let Some(text) = fetcher.optional_index(release, rel)? {
                out.push((*fetcher, text));
            }
        }
        Ok(out)
    }
}

/// The base suite of the mirror with the overlay's laid over it.
fn load_base<'a>(
    fetcher: &'a Fetcher,
    extra: Option<&'a Fetcher>,
    suite: &str,
    arches: &[&str],
) -> Result<(Suite, BaseArchives<'a>), Error> {
    let mut base = load_suite(fetcher, suite, arches)?;
    let mut list = vec![(fetcher, base.release.clone())];
    if let Some(x) = extra {
        let over = load_suite(x, suite, arches)?;
        base.sources.overlay(over.sources);
        for (arch, p) in over.packages {
            match base.packages.get_mut(&arch) {
                Some(b) => b.overlay(p),
                None => {
                    base.packages.insert(arch, p);
                }
            }
        }
        list.insert(0, (x, over.release));
    }
    Ok((base, BaseArchives { list }))
}

fn arches(asked: &[Arch], stack: &[Arch]) -> Vec<Arch> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<Arch> = if asked.is_empty() { stack } else { asked }.to_vec();
    out.retain(|a| seen.insert(a.clone()));
    out
}

/// The new side of one arch: the moving sources, and the Packages
/// paragraphs of the new binaries (text for dose, parsed for the rest).
struct NewSide {
    moving: Vec<Moving>,
    text: String,
    packages: Packages,
}

/// Analysis, selection and installability of one arch.
fn arch_report(
    args: &Args,
    archives: &BaseArchives<'_>,
    base: &Suite,
    stack: &BTreeSet<String>,
    arch: &Arch,
    new: &NewSide,
) -> Result<ArchReport, Error> {
    let packages = base
        .packages
        .get(arch.as_str())
        .ok_or_else(|| Error::Usage(format!("{} has no Packages for {arch}", base.name)))?;
    let options = Options {
        include_indep: !args.no_indep,
        transitive: args.transitive,
    };
    let mut t = analyse(arch, &base.sources, packages, stack, &new.moving, &options);
    t.rebuilds = select(
        &t.rebuilds,
        args.include.as_ref(),
        args.exclude.as_ref(),
        args.max,
    );
    let installability = if args.no_installability {
        None
    } else {
        Some(installability(archives, base, arch, new, stack)?)
    };
    Ok(ArchReport {
        transition: t,
        installability,
        rebuilt: None,
    })
}

/// A dry run's new side: the stack sources whose target-suite version
/// differs from the base suite's, what that version's Package-List builds
/// on `arch`, and the target suite's Packages paragraphs of those sources.
fn from_suite(
    fetcher: &Fetcher,
    base: &Suite,
    target: &Suite,
    stack: &BTreeSet<String>,
    arch: &Arch,
) -> Result<NewSide, Error> {
    let moving: Vec<Moving> = stack
        .iter()
        .filter_map(|name| {
            let new = target.sources.get(name)?;
            let new_version = new.version.clone()?;
            let old_version = base.sources.get(name).and_then(|s| s.version.clone());
            (old_version.as_ref() != Some(&new_version)).then(|| Moving {
                source: name.clone(),
                base_version: old_version,
                target_version: new_version,
                binaries: new
                    .binaries_on(arch)
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                build_deps: new.build_deps(arch, &Profiles::none(), true, false),
            })
        })
        .collect();
    let rel = format!("dists/{}/main/binary-{arch}/Packages", target.name);
    let names: BTreeSet<&str> = moving.iter().map(|m| m.source.as_str()).collect();
    let text = debcheck::only_sources(&fetcher.index(&target.release, &rel)?, &names);
    let packages = Packages::parse(&text, &rel, arch.as_str())?;
    Ok(NewSide {
        moving,
        text,
        packages,
    })
}

/// A run's new side: the .debs under `RUNDIR/debs/ARCH` and `debs/all`
/// (debug symbols left out: the base suite's Packages has none), grouped by
/// source; a source moves when its version differs from the base suite's.
/// The movers' Build-Depends are left empty: a source that built in the
/// run had its build-dependencies (the stack sources it did not rebuild
/// are checked by [`analyse`] at their base-suite version).
fn from_run(
    dir: &Path,
    base: &Suite,
    stack: &BTreeSet<String>,
    arch: &Arch,
) -> Result<NewSide, Error> {
    let run = RunDir::new(dir);
    let mut text = String::new();
    for sub in [run.debs_for(arch.as_str()), run.debs_for("all")] {
        for deb in debs_in(&sub)? {
            let out = Cmd::new("dpkg-deb").arg("-f").arg(&deb).run()?;
            text.push_str(out.stdout.trim_end());
            text.push_str("\n\n");
        }
    }
    let origin = run.debs().display().to_string();
    let packages = Packages::parse(&text, &origin, arch.as_str())?;
    let mut by_source: BTreeMap<&str, Moving> = BTreeMap::new();
    for b in packages.iter().filter(|b| stack.contains(&b.source)) {
        let m = by_source.entry(&b.source).or_insert_with(|| Moving {
            source: b.source.clone(),
            base_version: base.sources.get(&b.source).and_then(|s| s.version.clone()),
            target_version: b.source_version.clone(),
            binaries: BTreeSet::new(),
            build_deps: Vec::new(),
        });
        m.binaries.insert(b.name.clone());
    }
    let moving = by_source
        .into_values()
        .filter(|m| m.base_version.as_ref() != Some(&m.target_version))
        .collect();
    Ok(NewSide {
        moving,
        text,
        packages,
    })
}

/// The .deb files in `dir` (none if it does not exist), without `-dbgsym`.
pub(super) fn debs_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(IoError::new(dir, e).into()),
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".deb") && !name.contains("-dbgsym_")
        })
        .collect();
    out.sort();
    Ok(out)
}

/// dose-debcheck on the base suite with the moving sources' binaries
/// replaced by the new ones, where there are any on `arch` (elsewhere the
/// old ones stay, as the archive keeps them until the new version is built
/// there).
fn installability(
    archives: &BaseArchives<'_>,
    base: &Suite,
    arch: &Arch,
    new: &NewSide,
    stack: &BTreeSet<String>,
) -> Result<Installability, Error> {
    let replaced: BTreeSet<&str> = new
        .moving
        .iter()
        .map(|m| m.source.as_str())
        .filter(|s| !new.packages.binaries_of(s).is_empty())
        .collect();
    let mut check: BTreeSet<&str> = new.packages.iter().map(|b| b.name.as_str()).collect();
    check.extend(outside_dependents(&base.packages[arch.as_str()], stack));
    let not_in_new: Vec<String> = new
        .moving
        .iter()
        .flat_map(|m| m.binaries.iter())
        .filter(|b| new.packages.get(b).is_none())
        .cloned()
        .collect();
    let rel = format!("dists/{}/main/binary-{arch}/Packages", base.name);
    let base_text = archives.texts(&rel)?.into_iter().map(|(_, t)| t);
    let base_text: Vec<String> = base_text.collect();
    let base_text = base_text.join("\n");
    let split = debcheck::reachable(debcheck::split(&base_text, &new.text, &replaced, &check));
    let tmp = tempfile::tempdir().map_err(|e| IoError::new("<tempdir>", e))?;
    let broken = debcheck::check(arch.as_str(), &split, tmp.path())?;
    Ok(Installability {
        checked: split.checked,
        broken,
        not_in_new,
    })
}

fn write(args: &Args, doc: &Transition) -> Result<(), Error> {
    let since = match &args.since {
        Some(old) => since_text(old, doc)?,
        None => String::new(),
    };
    let text = match args.format {
        Format::Text => render::text(doc) + &since,
        Format::Markdown => render::markdown(doc) + &since,
        Format::Json => super::json_text(doc)?,
        Format::Junit => junit(doc)?,
        Format::Html => formats::html(doc),
    };
    super::emit(args.out.as_deref(), &text)
}

fn junit(doc: &Transition) -> Result<String, Error> {
    formats::junit(doc).map_err(|e| Error::Usage(format!("JUnit: {e}")))
}

/// The comparison with the earlier report at `old` (a file, or a
/// transition directory holding `transition.json`).
fn since_text(old: &Path, doc: &Transition) -> Result<String, Error> {
    let path = if old.is_dir() {
        old.join("transition.json")
    } else {
        old.to_path_buf()
    };
    let earlier: formats::Earlier = read_report(&path)?;
    let changes = formats::since(&earlier, doc);
    Ok(formats::since_text(&changes, &path.display().to_string()))
}

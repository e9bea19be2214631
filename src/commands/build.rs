//! `cascade build`: build the stack's source packages (left by `cascade
//! bump` in the workdir) under sbuild, per arch in plan order, with live
//! progress, and write the report into the run directory. Exits 1 when a
//! build failed unexpectedly.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::Error;
use crate::arch::Arch;
use crate::cli::GlobalArgs;
use crate::commands::args::ArchiveArgs;
use crate::config::Config;
use crate::events::BuildResult;
use crate::groups;
use crate::lock::{self, RunLock};
use crate::pipeline::{self, BuildOptions, Recording, StackSource};
use crate::recipe::{self, BuildMode, Recipes};
use crate::report::{self, Progress};
use crate::runner::Cancel;
use crate::sbuild::{SbuildBuilder, SbuildConfig};

#[derive(Debug, clap::Args)]
// `cascade run` flattens these into its own `Args`: one clap group name only.
#[group(skip)]
pub struct Args {
    /// Architectures (comma-separated); default: the stack's.
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Build only these sources (comma-separated); their stack dependencies'
    /// .debs come from --from-artifacts, else from the run directory.
    #[arg(long, value_delimiter = ',', value_name = "PKG")]
    pub only: Vec<String>,
    /// .debs built elsewhere (by the CI jobs this one needs): `DIR/ARCH/*.deb`
    /// and `DIR/all/*.deb`, passed to sbuild, not rebuilt; with those builds'
    /// results in `DIR/results/*.json`, a failed one skips the build.
    #[arg(long, value_name = "DIR")]
    pub from_artifacts: Option<PathBuf>,
    /// Where logs, .debs, results and the report go.
    #[arg(long, value_name = "DIR", default_value = "cascade-run")]
    pub run_dir: PathBuf,
    /// The bump step's directory (clones, `source/PKG/*.dsc`); default: as
    /// `cascade bump`'s, the cache dir's `work`.
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Concurrent builds; default: the number of cores.
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<usize>,
    /// How to build an arch (native, qemu, cross), over the stack file's `modes:`.
    #[arg(long = "mode", value_name = "ARCH=MODE")]
    pub modes: Vec<String>,
    /// Stop starting builds after the first unexpected failure.
    #[arg(long)]
    pub fail_fast: bool,
    /// Per-build timeout in minutes, over the recipes' and the stack's.
    #[arg(long, value_name = "MIN")]
    pub timeout: Option<u64>,
    /// Build profiles besides the stack's (comma-separated, e.g. nocheck).
    #[arg(long, value_delimiter = ',')]
    pub profiles: Vec<String>,
    /// Archive indices for the plan's lookups.
    #[command(flatten)]
    pub archive: ArchiveArgs,
    /// Plan and print the builds (one line each, in plan order); build nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Porting run: a source whose Architecture field leaves an arch out is
    /// tried there anyway, from a widened build copy (`cascade port` does this
    /// for the whole stack; the nightly CI's jobs do it per package).
    #[arg(long)]
    pub port: bool,
    /// Append each sbuild command line to FILE before it runs (benchmarks).
    #[arg(long, value_name = "FILE", hide = true)]
    pub print_sbuild_commands: Option<PathBuf>,
    /// The plain sbuild call: no shared package cache, no ccache, dpkg's
    /// safe I/O (builds that must start from the untouched chroot).
    #[arg(long)]
    pub clean_chroot: bool,
    /// The faster path without ccache.
    #[arg(long)]
    pub no_ccache: bool,
    /// The faster path in sbuild's unshare mode even as root: each build
    /// unpacks its chroot tarball (as root, builds otherwise run in an
    /// schroot overlay on the tarball unpacked once).
    #[arg(long, conflicts_with = "clean_chroot")]
    pub unshare: bool,
    /// Test each build right after it succeeds: autopkgtest and lintian
    /// (as `cascade test`), as jobs of the same run under the same -j.
    #[arg(long)]
    pub test: bool,
    /// With --test: autopkgtest only.
    #[arg(long, requires = "test")]
    pub no_lintian: bool,
}

/// Where the builds' temp dirs (and so their unpacked chroots, and the
/// testbeds of their tests) go: TMPDIR, or tmpfs when the stack asks for
/// it (`chroot_tmpfs`) and the host has one with [`TMPFS_MIN_FREE`]
/// available; never for `--clean-chroot`.
pub(crate) fn tmp_base(recipes: &Recipes, config: &Config, clean_chroot: bool) -> PathBuf {
    let shm = Path::new("/dev/shm");
    if recipes.stack.chroot_tmpfs && !clean_chroot && shm.is_dir() {
        match available(shm) {
            Some(free) if free >= TMPFS_MIN_FREE => return shm.to_path_buf(),
            free => tracing::warn!(
                "chroot_tmpfs: {} has {} MiB available (< {} MiB): chroots go to {}",
                shm.display(),
                free.unwrap_or(0) >> 20,
                TMPFS_MIN_FREE >> 20,
                config.tmp_dir.display()
            ),
        }
    }
    config.tmp_dir.clone()
}

/// The least space /dev/shm must have available for `chroot_tmpfs` to use
/// it: two chroots at a time (a riscv64 build chroot unpacks to about
/// 1 GB), where a container's default /dev/shm has 64 MB.
const TMPFS_MIN_FREE: u64 = 4 << 30;

/// Bytes available to this user on the filesystem of `dir` (statvfs(3)).
fn available(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `st` is writable
    // memory of the struct statvfs(3) fills in.
    let rc = unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) };
    // SAFETY: statvfs returned 0, so it filled `st` in.
    let st = (rc == 0).then(|| unsafe { st.assume_init() })?;
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

/// The sbuild settings of a local run: the stack's suite, the maintainer of
/// binNMU entries, and the faster path (shared .deb pool, unsafe I/O,
/// ccache of the stack's size under CASCADE_BUILD_CACHE) unless
/// `--clean-chroot`; ccache unless `--no-ccache`.
pub(crate) fn sbuild_config(
    recipes: &Recipes,
    config: &Config,
    clean_chroot: bool,
    no_ccache: bool,
) -> SbuildConfig {
    let mut sbuild = SbuildConfig::new(&recipes.stack.base_suite);
    sbuild.maintainer = config.maintainer();
    if clean_chroot {
        return sbuild;
    }
    // A user who cannot write the default root (not root) still builds.
    if let Err(e) = std::fs::create_dir_all(&config.build_cache) {
        tracing::warn!(
            "build cache {}: {e}; plain sbuild calls (set CASCADE_BUILD_CACHE to a directory you can write and sbuild's build user can reach)",
            config.build_cache.display()
        );
        return sbuild;
    }
    let size = (recipes.stack.ccache_size.as_deref()).unwrap_or(recipe::DEFAULT_CCACHE_SIZE);
    // `0` is "no limit" to ccache, but "no ccache" in stack.yaml.
    let zero = size.trim_end_matches(char::is_alphabetic).parse::<f64>() == Ok(0.0);
    let ccache_off = no_ccache || zero;
    // Every chroot arch a build may use: the stack's, its porting
    // targets', and the host's (cross builds, arch:all builds).
    let arches = || {
        (recipes.stack.architectures.iter())
            .chain(&recipes.stack.port)
            .chain([&sbuild.build_arch])
    };
    let (dir, suite, build) = (
        &sbuild.chroot_dir,
        sbuild.suite.as_str(),
        &sbuild.build_arch,
    );
    let warm = arches()
        .filter(|a| crate::sbuild::warm_is_usable(dir, suite, a))
        .cloned()
        .collect();
    let cross = arches()
        .filter(|a| *a != build && crate::sbuild::cross_is_usable(dir, suite, build, a))
        .cloned()
        .collect();
    // Looked at (and warned about) only when ccache is wanted.
    let ccache_root = (!ccache_off).then(|| ccache_root(config)).flatten();
    sbuild.fast = Some(crate::sbuild::FastPath {
        apt_pool: crate::buildcache::apt_pool(&config.build_cache),
        ccache: ccache_root.map(|root| crate::sbuild::CcacheConfig {
            root,
            max_size: size.to_string(),
        }),
        warm,
        cross,
    });
    sbuild
}

/// A plan that wants its warm tarballs to hold packages they lack
/// (`warm::common_build_deps`): the arch's wanted list grows, and its warm
/// tarball is remade now, before any build — minutes, once; later runs
/// and every `cascade setup` refresh keep the packages. A dry run says so
/// and changes nothing. A remake that fails leaves the tarball as it was
/// (builds then install what it lacks), with a warning.
fn warm_up(recipes: &Recipes, plan: &crate::jobgraph::RunPlan, opts: &BuildOptions) {
    use crate::sbuild;
    let base = SbuildConfig::new(&recipes.stack.base_suite);
    let (dir, suite) = (&base.chroot_dir, base.suite.as_str());
    for a in &plan.arches {
        let arch = &a.arch;
        let has = sbuild::warm_stamp_packages(dir, suite, arch);
        let lacking = crate::warm::lacking(&a.warm, &has);
        let cross = pipeline::mode_of(recipes, opts, arch) == recipe::BuildMode::Cross;
        if lacking.is_empty() || cross || !sbuild::warm_is_usable(dir, suite, arch) {
            continue;
        }
        println!(
            "warm chroot {suite}-{arch}: adding {} (most of the plan's builds install {}){}",
            lacking.join(", "),
            if lacking.len() == 1 { "it" } else { "them" },
            if opts.dry_run {
                "; not remade in a dry run"
            } else {
                ""
            }
        );
        if opts.dry_run {
            continue;
        }
        if let Err(e) = remake_warm(dir, suite, arch, &a.warm) {
            tracing::warn!("warm chroot {suite}-{arch} not remade: {e}");
        }
    }
    make_cross(recipes, plan, opts, &base);
}

/// A plan that cross-builds for an arch whose cross tarball
/// (`sbuild::cross_tarball`) is missing or older than the build arch's warm
/// one: the tarball is made now, after the warm one it extends — a minute
/// or two, once per warm tarball — so that each cross build does not
/// install the cross toolchain. A dry run says so and makes nothing; a
/// make that fails leaves the cross builds as they were (they install the
/// toolchain), with a warning.
fn make_cross(
    recipes: &Recipes,
    plan: &crate::jobgraph::RunPlan,
    opts: &BuildOptions,
    base: &SbuildConfig,
) {
    use crate::sbuild;
    let (dir, suite, build) = (&base.chroot_dir, base.suite.as_str(), &base.build_arch);
    for host in plan.arches.iter().map(|a| &a.arch) {
        let cross = pipeline::mode_of(recipes, opts, host) == recipe::BuildMode::Cross;
        if !cross
            || host == build
            || !sbuild::warm_is_usable(dir, suite, build)
            || sbuild::cross_is_usable(dir, suite, build, host)
        {
            continue;
        }
        println!(
            "cross chroot {suite}-{build}-cross-{host}: making it from {}{}",
            sbuild::warm_tarball(dir, suite, build).display(),
            if opts.dry_run {
                "; not made in a dry run"
            } else {
                " (the plan cross-builds for it)"
            }
        );
        if opts.dry_run {
            continue;
        }
        if let Err(e) = remake_cross(dir, suite, build, host) {
            tracing::warn!(
                "cross chroot {suite}-{build}-cross-{host} not made: {e}; cross builds install their toolchain"
            );
        }
    }
}

/// Makes `build`'s cross tarball for `host`, one run at a time (a file
/// lock beside it; a run that waited finds it made).
fn remake_cross(dir: &Path, suite: &str, build: &Arch, host: &Arch) -> Result<(), Error> {
    let lock = dir.join(format!(".{suite}-{build}-cross-{host}.lock"));
    with_lock(&lock, || {
        if crate::sbuild::cross_is_usable(dir, suite, build, host) {
            return Ok(());
        }
        apply_all(crate::setup::cross_actions_in(dir, suite, build, host))
    })
}

/// Runs `make` holding the file lock `path`: runs at once wait for each
/// other, and the one that waited finds the work done.
fn with_lock(path: &Path, make: impl FnOnce() -> Result<(), Error>) -> Result<(), Error> {
    let _lock = crate::lock::hold(path).map_err(crate::fsio::at(path))?;
    make()
}

/// Applies setup's `actions` in order, up to the first that fails.
fn apply_all(actions: Vec<crate::setup::Action>) -> Result<(), Error> {
    for action in &actions {
        crate::setup::apply(action)?;
    }
    Ok(())
}

/// Adds `wanted` to `arch`'s wanted list and remakes its warm tarball,
/// one run at a time (a file lock beside the tarball; a run that waited
/// finds the work done).
fn remake_warm(dir: &Path, suite: &str, arch: &Arch, wanted: &[String]) -> Result<(), Error> {
    use crate::sbuild;
    with_lock(&dir.join(format!(".{suite}-{arch}-warm.lock")), || {
        let has = sbuild::warm_stamp_packages(dir, suite, arch);
        if crate::warm::lacking(wanted, &has).is_empty() {
            return Ok(());
        }
        let list = sbuild::add_warm_wanted(dir, suite, arch, wanted)?;
        apply_all(crate::setup::warm_actions_in(dir, suite, arch, &list))
    })
}

/// Where the per-arch ccache directories go (CASCADE_CCACHE_DIR, made
/// absolute, else the build cache's `ccache`); `None`, with a warning, when
/// sbuild's build user could not reach it — ccache would then fail every
/// compiler call, so the builds go without it.
fn ccache_root(config: &Config) -> Option<PathBuf> {
    let dir = (config.ccache_dir.as_deref())
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf()))
        .unwrap_or_else(|| config.build_cache.join("ccache"));
    if let Some(closed) = crate::buildcache::closed_ancestor(&dir) {
        tracing::warn!(
            "ccache off: {} is not searchable by other users, so sbuild's build user cannot reach {}",
            closed.display(),
            dir.display()
        );
        return None;
    }
    Some(dir)
}

/// The bump step's directory: the same default as `cascade bump`, so that
/// `cascade bump && cascade build` (the salsa CI jobs) meet.
pub(crate) fn workdir(arg: &Option<PathBuf>, config: &Config) -> PathBuf {
    arg.clone().unwrap_or_else(|| config.cache_dir.join("work"))
}

/// The arches a build or run covers, in the stack's order so that report
/// columns read the same every run. Without `--arch`: the stack's
/// `architectures`, or for a porting run its `port:` targets; a porting
/// run may name either.
fn arches(args: &Args, recipes: &Recipes) -> Result<Vec<Arch>, Error> {
    let stack = &recipes.stack;
    let known: Vec<&Arch> = if args.port {
        stack.architectures.iter().chain(&stack.port).collect()
    } else {
        stack.architectures.iter().collect()
    };
    if args.arch.is_empty() && !args.port {
        return Ok(stack.architectures.clone());
    }
    if args.arch.is_empty() {
        if stack.port.is_empty() {
            return Err(Error::Usage(format!(
                "no --arch, and {} lists no porting target (`port: [riscv64]`)",
                recipes.dir.join(recipe::STACK_FILE).display()
            )));
        }
        return Ok(stack.port.clone());
    }
    if let Some(a) = args.arch.iter().find(|a| !known.contains(a)) {
        let names: Vec<&str> = stack.architectures.iter().map(Arch::as_str).collect();
        return Err(Error::Usage(if args.port {
            format!(
                "--arch {a}: neither built nor a porting target of the stack {} (stack.yaml: architectures, port)",
                stack.name
            )
        } else {
            format!(
                "--arch {a}: the stack {} is not built for {a} (stack.yaml lists {})",
                stack.name,
                names.join(", ")
            )
        }));
    }
    let mut picked: Vec<Arch> = Vec::new();
    for a in known.into_iter().filter(|a| args.arch.contains(a)) {
        if !picked.contains(a) {
            picked.push(a.clone());
        }
    }
    Ok(picked)
}

/// Validates the arguments against the stack.
pub(crate) fn options(
    args: &Args,
    config: &Config,
    recipes: &Recipes,
) -> Result<BuildOptions, Error> {
    let arches = arches(args, recipes)?;
    let mut only = BTreeSet::new();
    for p in &args.only {
        if recipes.get(p).is_none() {
            return Err(Error::Usage(format!(
                "--only {p}: no recipe for it in {}",
                recipes.dir.display()
            )));
        }
        only.insert(p.clone());
    }
    let mut modes = BTreeMap::new();
    for m in &args.modes {
        let bad = || Error::Usage(format!("--mode `{m}`: expected ARCH=native|qemu|cross"));
        let (a, mode) = m.split_once('=').ok_or_else(bad)?;
        let a = Arch::new(a).ok_or_else(bad)?;
        let mode: BuildMode = mode.parse().map_err(|_| bad())?;
        modes.insert(a, mode);
    }
    if args.jobs == Some(0) {
        return Err(Error::Usage("-j 0: at least one build at a time".into()));
    }
    Ok(BuildOptions {
        arches,
        only,
        from_artifacts: args.from_artifacts.clone(),
        run_dir: args.run_dir.clone(),
        workdir: workdir(&args.workdir, config),
        jobs: args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        modes,
        fail_fast: args.fail_fast,
        timeout: args.timeout.map(|m| Duration::from_secs(m * 60)),
        profiles: args.profiles.clone(),
        port: args.port,
        allow_expired: args.archive.allow_expired,
        fetch_policy: args.archive.policy(config),
        mirror: args.archive.mirror(config),
        cache_dir: args.archive.cache_dir(config),
        dry_run: args.dry_run,
    })
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let config = Config::from_env()?;
    let recipes = recipe::load(&global.recipes)?;
    let opts = options(&args, &config, &recipes)?;
    let _lock = lock_run_dir(&opts, args.dry_run)?;
    let sources = pipeline::sources_from_workdir(&recipes, &opts)?;
    build_and_report(
        &recipes,
        &config,
        sources,
        &BTreeMap::new(),
        &opts,
        &args,
        None,
    )
}

/// The options a step that writes build copies runs with: in a dry run,
/// the copies go to a temporary directory, removed afterwards, so that the
/// run directory stays untouched.
pub(crate) struct ScratchRunDir {
    opts: BuildOptions,
    _dir: Option<tempfile::TempDir>,
}

impl ScratchRunDir {
    pub(crate) fn new(opts: &BuildOptions) -> Result<ScratchRunDir, Error> {
        let mut opts = opts.clone();
        if !opts.dry_run {
            return Ok(ScratchRunDir { opts, _dir: None });
        }
        let dir = tempfile::Builder::new()
            .prefix("cascade-dry-run.")
            .tempdir()
            .map_err(|source| Error::Io(crate::fsio::IoError::new(std::env::temp_dir(), source)))?;
        opts.run_dir = dir.path().to_path_buf();
        Ok(ScratchRunDir {
            opts,
            _dir: Some(dir),
        })
    }

    pub(crate) fn options(&self) -> &BuildOptions {
        &self.opts
    }
}

/// Locks the run directory for the rest of the command; a dry run writes
/// nothing and takes no lock.
pub(crate) fn lock_run_dir(opts: &BuildOptions, dry_run: bool) -> Result<Option<RunLock>, Error> {
    if dry_run {
        return Ok(None);
    }
    let lock = RunLock::acquire(&opts.run_dir, &lock::command_line())?;
    if let Some(h) = &lock.took_over {
        tracing::warn!(
            "{}: took over the lock of a cascade that is gone ({h})",
            opts.run_dir.display()
        );
    }
    Ok(Some(lock))
}

/// What a porting run (`cascade run --port`, `cascade port`) adds to the
/// end of the run: the porting report, compared with an earlier run, and the
/// commits of `--commit-port`. `cascade build --port` (one CI job) has none:
/// the pipeline's report job writes the porting report over all jobs.
pub(crate) struct Porting {
    pub previous: Option<(report::Report, PathBuf)>,
    pub commit_port: bool,
    pub bump: crate::bump::BumpOptions,
}

/// Plan, build, write the run directory and print the table: the part
/// `cascade build`, `run` and `port` share. A porting run's jobs build from
/// widened build copies, and with `porting` it ends with the porting report
/// and exits by its verdict.
pub(crate) fn build_and_report(
    recipes: &Recipes,
    config: &Config,
    sources: Vec<StackSource>,
    bump_failures: &BTreeMap<String, String>,
    opts: &BuildOptions,
    args: &Args,
    porting: Option<&Porting>,
) -> Result<ExitCode, Error> {
    let started = Instant::now();
    if !args.dry_run {
        std::fs::create_dir_all(&opts.run_dir)
            .map_err(|source| Error::Io(crate::fsio::IoError::new(opts.run_dir.clone(), source)))?;
    }
    let plan = plan_and_warm_up(recipes, &sources, bump_failures, opts, args)?;
    let mut sbuild = sbuild_config(recipes, config, args.clean_chroot, args.no_ccache);
    sbuild.schroot_allowed = !args.unshare;
    let mut prepared = pipeline::prepare(recipes, &sources, bump_failures, &plan, opts, &sbuild)?;
    let contexts = if opts.port {
        build_copies(&mut prepared, recipes, config, &sources, &plan, opts)?
    } else {
        Vec::new()
    };
    // The tester first: it makes the lintian tarball when missing, and the
    // test jobs' input hashes name that tarball (computed before it was
    // made, the first run's hashes would say it was absent, and the next
    // run would test everything again).
    let tester = match args.test && !args.dry_run {
        true => Some(super::test::tester(
            recipes,
            &opts.run_dir,
            !args.no_lintian,
        )?),
        false => None,
    };
    let tests = match args.test {
        true => test_jobs(recipes, &plan, opts, &prepared, !args.no_lintian)?,
        false => Vec::new(),
    };
    if args.dry_run {
        print_dry_run(&prepared, &tests);
        return Ok(ExitCode::SUCCESS);
    }
    let (results, cells, cancelled) = execute_with_tests(
        (prepared, tests, tester),
        &sbuild,
        opts,
        args.print_sbuild_commands.as_deref(),
        &tmp_base(recipes, config, args.clean_chroot),
        Progress::stdout(),
    )?;
    let rep = write_and_print(recipes, opts, started, results)?;
    if args.test {
        println!("{}", super::test::totals(&cells));
    }
    println!(
        "report: {} (also report.json, junit.xml, summary.md)",
        opts.run_dir.join(report::files::REPORT_HTML).display()
    );
    let code = match porting {
        Some(p) => crate::commands::port::finish(recipes, config, opts, &rep, &contexts, p)?,
        None => report::exit_code(&rep.results),
    };
    Ok(run_exit_code(code, cancelled, &cells))
}

/// The run's exit code from its builds' (or its porting verdict's): 130
/// when it was cancelled, else 1 when a test failed that the recipes do
/// not expect (as it fails `cascade test`).
fn run_exit_code(
    code: ExitCode,
    cancelled: bool,
    cells: &[crate::autopkgtest::TestCell],
) -> ExitCode {
    match () {
        _ if cancelled => ExitCode::from(130),
        _ if code == ExitCode::SUCCESS && cells.iter().any(|c| !c.unexpected.is_empty()) => {
            ExitCode::from(1)
        }
        _ => code,
    }
}

/// The run's plan (reused from the run directory when its inputs are
/// unchanged), and the warm tarballs made to hold its common
/// build-dependencies unless `--clean-chroot`.
fn plan_and_warm_up(
    recipes: &Recipes,
    sources: &[StackSource],
    bump_failures: &BTreeMap<String, String>,
    opts: &BuildOptions,
    args: &Args,
) -> Result<crate::jobgraph::RunPlan, Error> {
    let (plan, cached) = pipeline::plan_for(recipes, sources, bump_failures, opts)?;
    if cached {
        tracing::info!(
            "plan: reused {}",
            opts.run_dir.join(pipeline::PLAN_CACHE).display()
        );
    }
    if !args.clean_chroot {
        warm_up(recipes, &plan, opts);
    }
    Ok(plan)
}

/// `--test`'s jobs: one after each build job ([`pipeline::test_jobs`]).
fn test_jobs(
    recipes: &Recipes,
    plan: &crate::jobgraph::RunPlan,
    opts: &BuildOptions,
    prepared: &pipeline::Prepared,
    lintian: bool,
) -> Result<Vec<crate::teststage::TestJob>, Error> {
    let host = crate::jobgraph::run_host(&recipes.stack, &opts.arches);
    let chroot_dir = crate::sbuild::default_chroot_dir();
    let settings = |s: &str, test_arch: &crate::arch::Arch| {
        crate::teststage::settings_id(recipes, s, &chroot_dir, test_arch, lintian)
    };
    Ok(pipeline::test_jobs(plan, &host, prepared, settings)?)
}

/// A porting run's jobs on `opts.arches` build from build copies where
/// `port::run` says so (a dry run writes them to a scratch directory); one
/// line printed per copy. Returns what the porting report needs per arch.
fn build_copies(
    prepared: &mut pipeline::Prepared,
    recipes: &Recipes,
    config: &Config,
    sources: &[StackSource],
    plan: &crate::jobgraph::RunPlan,
    opts: &BuildOptions,
) -> Result<Vec<report::port::ArchContext>, Error> {
    let maintainer = crate::commands::bump::maintainer(config, &recipes.stack)?;
    // Without SOURCE_DATE_EPOCH the build copies' entries are dated by their
    // .dsc, so a rerun reuses their builds.
    let timestamp = config.source_date_epoch.and_then(|t| u64::try_from(t).ok());
    let scratch = ScratchRunDir::new(opts)?;
    let applied = pipeline::port_jobs(
        prepared,
        recipes,
        sources,
        plan,
        scratch.options(),
        &maintainer,
        timestamp,
    )?;
    for p in &applied.ported {
        let patch = p
            .patch
            .as_ref()
            .map(|x| format!(" (patch {})", x.display()));
        println!(
            "port {}/{}: {}{}",
            p.source,
            p.arch,
            p.dsc.display(),
            patch.unwrap_or_default()
        );
    }
    Ok(applied.contexts)
}

/// A dry run's output: one line per job, in plan order, with what it waits
/// for, then each test job (`--test`), then why each other cell is not built.
fn print_dry_run(prepared: &pipeline::Prepared, tests: &[crate::teststage::TestJob]) {
    for job in &prepared.jobs {
        let deps: Vec<String> = job.deps.iter().map(|d| d.to_string()).collect();
        let after = if deps.is_empty() {
            String::new()
        } else {
            format!(" after {}", deps.join(", "))
        };
        println!(
            "build {} {} ({}){after}",
            job.key(),
            job.request.version,
            job.request.mode
        );
    }
    for t in tests {
        let after: Vec<String> = (std::iter::once(&t.build).chain(&t.triggers))
            .map(ToString::to_string)
            .collect();
        println!(
            "test {} on {} after {}",
            t.build,
            t.test_arch,
            after.join(", ")
        );
    }
    for r in &prepared.not_built {
        println!("{}/{}: {}", r.source, r.arch, report::model::explain(r));
    }
}

/// Writes the run directory's results and reports and prints the table:
/// the end of `cascade build`, `run` and `port`.
pub(crate) fn write_and_print(
    recipes: &Recipes,
    opts: &BuildOptions,
    started: Instant,
    results: Vec<BuildResult>,
) -> Result<report::Report, Error> {
    let rep = pipeline::write_outputs(
        &opts.run_dir,
        Some(recipes.stack.name.clone()),
        started.elapsed().as_secs_f64(),
        results,
    )?;
    print!(
        "{}",
        report::text::render(&rep, std::io::stdout().is_terminal())
    );
    Ok(rep)
}

/// Runs the prepared builds under sbuild on a tokio runtime, with the live
/// progress view; Ctrl-C cancels (the running sbuilds' process groups are
/// killed). Returns the results and whether the run was cancelled.
/// `print_sbuild_commands` appends each sbuild command line to that file.
/// `tmp_base` holds the builds' temp dirs (see [`guard_processes`]);
/// `progress` shows the events.
pub(crate) fn execute_with_progress(
    prepared: pipeline::Prepared,
    sbuild: &SbuildConfig,
    opts: &BuildOptions,
    print_sbuild_commands: Option<&Path>,
    tmp_base: &Path,
    progress: Progress,
) -> Result<(Vec<BuildResult>, bool), Error> {
    let jobs = (prepared, Vec::new(), None);
    let (results, _, cancelled) = execute_with_tests(
        jobs,
        sbuild,
        opts,
        print_sbuild_commands,
        tmp_base,
        progress,
    )?;
    Ok((results, cancelled))
}

/// The prepared builds, the test jobs after them and their tester.
type BuildsAndTests = (
    pipeline::Prepared,
    Vec<crate::teststage::TestJob>,
    Option<crate::teststage::CellTester>,
);

/// [`execute_with_progress`] with test jobs: their testbeds are recorded
/// and stopped as the builds' process groups are. Also returns the test
/// cells.
pub(crate) fn execute_with_tests(
    (prepared, tests, tester): BuildsAndTests,
    sbuild: &SbuildConfig,
    opts: &BuildOptions,
    print_sbuild_commands: Option<&Path>,
    tmp_base: &Path,
    mut progress: Progress,
) -> Result<(Vec<BuildResult>, Vec<crate::autopkgtest::TestCell>, bool), Error> {
    let chroots = (prepared.jobs.iter())
        .map(|j| sbuild.chroot(&j.request.arch, j.request.mode))
        .collect();
    let sbuild = &guard_processes(sbuild, opts, tmp_base, &chroots)?;
    let tester = tester.map(|mut t| {
        t.running = sbuild.running.clone();
        t.tmp_root = sbuild.tmp_root.clone();
        t.lintian_in_schroot(sbuild.schroot_allowed);
        t
    });
    let rt = tokio::runtime::Runtime::new().map_err(|source| {
        Error::Io(crate::fsio::IoError::new(
            PathBuf::from("(tokio runtime)"),
            source,
        ))
    })?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = std::thread::spawn(move || {
        while let Some(ev) = rx.blocking_recv() {
            progress.handle(&ev);
        }
    });
    let (cancel, token) = Cancel::new();
    let builder = SbuildBuilder::new(sbuild.clone());
    let results = rt.block_on(async {
        cancel.on_ctrl_c();
        match print_sbuild_commands {
            Some(file) => {
                let rec = Recording {
                    inner: builder,
                    config: sbuild.clone(),
                    file: file.to_path_buf(),
                };
                pipeline::execute_with_tests(
                    prepared,
                    tests,
                    (rec, tester),
                    opts,
                    tx,
                    token.clone(),
                )
                .await
            }
            None => {
                pipeline::execute_with_tests(
                    prepared,
                    tests,
                    (builder, tester),
                    opts,
                    tx,
                    token.clone(),
                )
                .await
            }
        }
    });
    let _ = progress.join();
    // Builds dropped at Ctrl-C or a timeout are still being stopped: exit
    // only after every process group is gone, then clear their temp dirs.
    groups::wait_stopped();
    if let Some(root) = &sbuild.tmp_root {
        crate::schroot::finish(&crate::schroot::run_prefix(root));
        let _ = std::fs::remove_dir_all(root);
    }
    let (results, cells) = results?;
    Ok((results, cells, token.is_cancelled()))
}

/// The temp root of the builds and tests of `run_dir` under `tmp_base`
/// ([`crate::sbuild::tmp_root`]), emptied of what a killed earlier run
/// left there: its schroot sessions (whose overlays live there) ended and
/// chroots removed first. Only under the run directory's lock.
pub(crate) fn fresh_tmp_root(tmp_base: &Path, run_dir: &Path) -> Result<PathBuf, Error> {
    let root = crate::sbuild::tmp_root(tmp_base, run_dir);
    crate::schroot::finish(&crate::schroot::run_prefix(&root));
    crate::sbuild::clear_tmp_root(&root)
        .map_err(|source| Error::Io(crate::fsio::IoError::new(root.clone(), source)))?;
    Ok(root)
}

/// Before the builds: ends the process groups a killed earlier run left
/// running (`RUNDIR/running.json`) and its schroot sessions, clears the temp
/// dirs its builds left, and gives this run's builds a fresh record, their
/// own temp dirs and, as root, the run's schroot chroots.
fn guard_processes(
    sbuild: &SbuildConfig,
    opts: &BuildOptions,
    tmp_base: &Path,
    chroots: &std::collections::BTreeSet<crate::sbuild::Chroot>,
) -> Result<SbuildConfig, Error> {
    for e in groups::end_stale(&opts.run_dir, sbuild.grace) {
        tracing::warn!(
            "ended process group {} that a killed run left running: `{}`",
            e.leader.pid,
            e.command
        );
    }
    let root = fresh_tmp_root(tmp_base, &opts.run_dir)?;
    let mut sbuild = sbuild.clone();
    sbuild.schroot = crate::schroot::prepare(&sbuild, &root, chroots);
    sbuild.tmp_root = Some(root);
    sbuild.running = Some(groups::Running::new(&opts.run_dir));
    Ok(sbuild)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(unexpected: &[&str]) -> crate::autopkgtest::TestCell {
        serde_json::from_value(serde_json::json!({
            "source": "demo-smi", "arch": "amd64", "test_arch": "amd64",
            "version": "1-1", "status": "fail", "exit_code": 4,
            "duration_secs": 1.0, "unexpected": unexpected,
        }))
        .unwrap()
    }

    #[test]
    fn an_unexpected_test_failure_fails_a_run_whose_builds_passed() {
        let ok = ExitCode::SUCCESS;
        assert_eq!(run_exit_code(ok, false, &[cell(&[])]), ok);
        let failed = [cell(&[]), cell(&["smi: fail"])];
        assert_eq!(run_exit_code(ok, false, &failed), ExitCode::from(1));
        // The builds' own failure code stands; Ctrl-C wins over both.
        assert_eq!(
            run_exit_code(ExitCode::from(3), false, &failed),
            ExitCode::from(3)
        );
        assert_eq!(run_exit_code(ok, true, &failed), ExitCode::from(130));
    }

    #[test]
    fn a_filesystem_reports_its_available_space() {
        assert!(available(Path::new("/")).is_some_and(|b| b > 0));
        assert_eq!(available(Path::new("/no/such/dir")), None);
    }
}

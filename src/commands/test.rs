//! `cascade test RUNDIR`: autopkgtest and lintian on what a finished run
//! built, against exactly the run's .debs, as test jobs of the runner
//! (`teststage`: the same jobs `cascade run --test` runs after each build),
//! so a rerun reuses a cell whose inputs are unchanged. Results go to
//! `RUNDIR/tests/PKG_ARCH/` (see `rundir`); exits 1 when a test fails that
//! the recipe does not expect, or lintian fails a cell.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::Error;
use crate::arch::Arch;
use crate::autopkgtest::TestCell;
use crate::cli::GlobalArgs;
use crate::events::{BuildResult, Event, Outcome};
use crate::fsio::IoError;
use crate::recipe::{self, Recipes};
use crate::rundir::RunDir;
use crate::runner::{Cancel, NoBuilds, RunOptions};
use crate::schedule::JobKey;
use crate::teststage::{self, CellTester, TestJob};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run directory of a finished run.
    pub run_dir: PathBuf,
    /// Test only these architectures (comma-separated; `all` jobs are
    /// tested on the host's).
    #[arg(long, value_delimiter = ',')]
    pub arch: Vec<Arch>,
    /// Test only these sources (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "PKG")]
    pub source: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The run's bump directory (`source/PKG/*.dsc`); default: as `cascade run`'s.
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// autopkgtest only.
    #[arg(long)]
    pub no_lintian: bool,
    /// Cells tested at once.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1)]
    pub jobs: usize,
    /// No successful build among those selected is not an error: nothing
    /// is tested (a CI test job whose build failed as its recipe expects).
    #[arg(long)]
    pub if_built: bool,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let _lock = crate::lock::RunLock::acquire(&args.run_dir, &crate::lock::command_line())?;
    let recipes = recipe::load(&global.recipes)?;
    let config = crate::config::Config::from_env()?;
    let workdir = super::build::workdir(&args.workdir, &config);
    let host = Arch::host();
    let builds = selected(finished_builds(&args.run_dir)?, &args, &host);
    if builds.is_empty() && args.if_built {
        eprintln!("cascade test: no successful build to test; nothing tested (--if-built)");
        if let Format::Json = args.format {
            println!("[]");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if builds.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no successful build to test (with --arch/--source as given)",
            args.run_dir.display()
        )));
    }
    let mut tester = tester(&recipes, &args.run_dir, !args.no_lintian)?;
    // The builds' temp root, which nothing else uses under the run's lock,
    // and as root the run's schroot chroot for lintian.
    let base = super::build::tmp_base(&recipes, &config, false);
    let root = super::build::fresh_tmp_root(&base, &args.run_dir)?;
    let prefix = crate::schroot::run_prefix(&root);
    tester.tmp_root = Some(root.clone());
    let source_dir = crate::pipeline::source_dir(&workdir);
    let mut triggers = saved_triggers(&args.run_dir);
    let jobs = (builds.iter())
        .map(|b| test_job(&tester, &source_dir, b, &mut triggers))
        .collect::<Result<Vec<_>, Error>>()?;
    tester.lintian_in_schroot(true);
    let cells = execute(jobs, tester, &args);
    crate::schroot::finish(&prefix);
    let _ = std::fs::remove_dir_all(&root);
    let cells = cells?;
    match args.format {
        Format::Text => println!("{}", totals(&cells)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&cells).expect("test cells serialise")
        ),
    }
    let failed = cells.iter().any(|c| !c.unexpected.is_empty());
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The builds of the run in `run_dir`: its `state.json`'s, else (a CI
/// test job, given its build jobs' artifacts) its `results/*.json`.
fn finished_builds(run_dir: &Path) -> Result<Vec<BuildResult>, Error> {
    let state = crate::state::RunState::load(run_dir)?;
    let results = RunDir::new(run_dir).results();
    if !state.entries.is_empty() || !results.is_dir() {
        return Ok(state.results());
    }
    Ok(crate::report::model::read_results_dir(&results)?)
}

/// The real tester of a run directory, for `cascade test` and `cascade run
/// --test`: the host's testbeds, and lintian (its tarball made now when
/// missing) unless `lintian` is false.
pub(crate) fn tester(
    recipes: &Recipes,
    run_dir: &Path,
    lintian: bool,
) -> Result<CellTester, Error> {
    let host = Arch::host();
    let chroot_dir = crate::sbuild::default_chroot_dir();
    let suite = &recipes.stack.base_suite;
    let lintian_tarball = match lintian {
        false => None,
        true => Some(teststage::ensure_lintian_tarball(
            &chroot_dir,
            suite,
            &host,
            &recipes.stack.mirror,
            |t| {
                eprintln!(
                    "cascade test: making {} (the {suite} chroot with lintian)",
                    t.display()
                )
            },
        )?),
    };
    Ok(CellTester {
        run: RunDir::new(run_dir),
        recipes: Arc::new(recipes.clone()),
        chroot_dir,
        host,
        lintian_tarball,
        lintian_schroot: None,
        running: None,
        tmp_root: None,
    })
}

/// Runs the test jobs in the runner (no builds), printing each cell as it
/// ends in text format; Ctrl-C stops the running testbeds.
fn execute(jobs: Vec<TestJob>, tester: CellTester, args: &Args) -> Result<Vec<TestCell>, Error> {
    let rt = tokio::runtime::Runtime::new()
        .map_err(|source| Error::Io(IoError::new("(tokio runtime)", source)))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let text = matches!(args.format, Format::Text);
    let printer = std::thread::spawn(move || {
        while let Some(ev) = rx.blocking_recv() {
            match ev {
                Event::TestStarted {
                    source,
                    arch,
                    version,
                } if text => eprintln!("cascade test: {source}/{arch} {version}"),
                Event::TestFinished { cell } if text => print!("{}", text_line(&cell)),
                _ => {}
            }
        }
    });
    let mut opts = RunOptions::new(args.run_dir.clone());
    opts.jobs = args.jobs.max(1);
    let (cancel, token) = Cancel::new();
    let ran = rt.block_on(async {
        cancel.on_ctrl_c();
        crate::runner::run_with_tests(Vec::new(), jobs, NoBuilds, tester, opts, tx, token).await
    });
    let _ = printer.join();
    crate::groups::wait_stopped();
    Ok(ran?.1)
}

/// The test jobs' triggers by build job, from the run's plan.json (none
/// without one): the job graph's rule, as in `cascade run --test`.
fn saved_triggers(run_dir: &Path) -> BTreeMap<JobKey, Vec<JobKey>> {
    let Some(mut graph) = crate::pipeline::earlier_plan(run_dir).and_then(|p| p.saved_graph())
    else {
        return BTreeMap::new();
    };
    graph.add_tests();
    graph.test_triggers()
}

/// The test job of a finished run's build `b`: its .dsc from the workdir,
/// offered every .deb of the run for its testbed's arch, its triggers
/// taken from `triggers`.
fn test_job(
    tester: &CellTester,
    source_dir: &Path,
    b: &BuildResult,
    triggers: &mut BTreeMap<JobKey, Vec<JobKey>>,
) -> Result<TestJob, Error> {
    let test_arch = test_arch(&b.arch, &tester.host).clone();
    let dsc = build_dsc(&tester.run, source_dir, b)?.ok_or_else(|| {
        format!(
            "no {}_{}.dsc in {}",
            b.source,
            b.version,
            source_dir.join(&b.source).display()
        )
    });
    let lintian = tester.lintian_tarball.is_some();
    let settings = teststage::settings_id(
        &tester.recipes,
        &b.source,
        &tester.chroot_dir,
        &test_arch,
        lintian,
    );
    Ok(TestJob {
        build: JobKey::new(b.source.clone(), b.arch.clone()),
        version: b.version.clone(),
        debs: run_debs(&tester.run, &test_arch)?,
        own_debs: own_debs(&tester.run, b),
        test_arch,
        dsc,
        settings,
        triggers: (triggers.remove(&JobKey::new(b.source.clone(), b.arch.clone())))
            .unwrap_or_default(),
    })
}

/// The run's successful builds that `--arch`/`--source` select, in report
/// order (source, then arch). An `all` job is selected by the host's arch.
fn selected(results: Vec<BuildResult>, args: &Args, host: &Arch) -> Vec<BuildResult> {
    let mut out: Vec<BuildResult> = (results.into_iter())
        .filter(|r| r.outcome == Outcome::Ok)
        .filter(|r| args.source.is_empty() || args.source.contains(&r.source))
        .filter(|r| args.arch.is_empty() || args.arch.contains(test_arch(&r.arch, host)))
        .collect();
    out.sort_by(|a, b| (&a.source, &a.arch).cmp(&(&b.source, &b.arch)));
    out
}

/// Where a job's tests run: its own arch, the host's for `all`.
fn test_arch<'a>(arch: &'a Arch, host: &'a Arch) -> &'a Arch {
    if *arch == Arch::ALL { host } else { arch }
}

/// The .dsc that made build `b`: the workdir's at `b`'s version, or a
/// porting build's copy in the run (`port/ARCH/PKG/`). A porting build
/// whose copy is not here (a CI test job gets the build job's .debs, not
/// its source) is tested from the .dsc it was ported from: the copy only
/// widens the architecture lists and applies the recipe's porting patches,
/// its debian/tests are the source's.
fn build_dsc(run: &RunDir, source_dir: &Path, b: &BuildResult) -> Result<Option<PathBuf>, Error> {
    let bumped = source_dir.join(&b.source);
    if let Some(found) = dsc_at(&bumped, &b.source, &b.version)? {
        return Ok(Some(found));
    }
    let Some(at) = b.version.find(crate::port::copy::PORT_SUFFIX) else {
        return Ok(None);
    };
    match dsc_at(&run.port_copy(&b.arch, &b.source), &b.source, &b.version)? {
        Some(copy) => Ok(Some(copy)),
        None => dsc_at(&bumped, &b.source, &b.version[..at]),
    }
}

/// The newest .dsc of `source` in `dir`, if it is at `version`.
fn dsc_at(dir: &Path, source: &str, version: &str) -> Result<Option<PathBuf>, Error> {
    let found = crate::pipeline::find_dsc(dir, source)?;
    Ok(found
        .filter(|(_, info)| info.version.as_deref() == Some(version))
        .map(|(path, _)| path))
}

/// Every .deb of the run for `arch`: `debs/ARCH/` and `debs/all/`, sorted.
fn run_debs(run: &RunDir, arch: &Arch) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for dir in [run.debs_for(arch.as_str()), run.debs_for("all")] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(IoError::new(&dir, e).into()),
        };
        for entry in entries {
            let path = entry.map_err(|e| IoError::new(&dir, e))?.path();
            if path.extension().is_some_and(|x| x == "deb") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The build's own .debs as they are in `debs/` now (the state names
/// sbuild's output dir, relative to where the run was started).
fn own_debs(run: &RunDir, b: &BuildResult) -> Vec<PathBuf> {
    (b.debs.iter())
        .filter_map(|d| d.file_name())
        .filter_map(|name| {
            let arch = if name.to_string_lossy().ends_with("_all.deb") {
                "all"
            } else {
                b.arch.as_str()
            };
            Some(run.debs_for(arch).join(name)).filter(|p| p.exists())
        })
        .collect()
}

/// One cell's lines: `demo-blas/amd64  skipped  gpu: skip  lintian: 2 E, 1 W`,
/// then what fails it, indented.
pub(crate) fn text_line(c: &TestCell) -> String {
    let tests: Vec<String> = (c.autopkgtest.iter())
        .flat_map(|j| &j.tests)
        .map(|t| format!("{}: {}", t.name, t.class.as_str()))
        .collect();
    let lintian = c
        .lintian
        .as_ref()
        .map(|l| format!("  lintian: {}", l.brief()));
    let mut out = format!(
        "{:<28} {:<14} {}{}\n",
        format!("{}/{}", c.source, c.arch),
        c.status,
        tests.join(", "),
        lintian.unwrap_or_default()
    );
    for u in c.detail.iter().chain(&c.unexpected) {
        out.push_str(&format!("    {u}\n"));
    }
    out
}

/// The closing line: cells by status, and whether anything failed.
pub(crate) fn totals(cells: &[TestCell]) -> String {
    let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in cells {
        *by.entry(c.status.as_str()).or_default() += 1;
    }
    let parts: Vec<String> = by.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let failed = cells.iter().filter(|c| !c.unexpected.is_empty()).count();
    let verdict = match failed {
        0 => "no unexpected failures".to_string(),
        n => format!("{n} with unexpected failures"),
    };
    format!(
        "cascade test: {} cells: {} — {verdict}",
        cells.len(),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autopkgtest as apt;

    fn build(source: &str, arch: &str, ok: bool) -> BuildResult {
        BuildResult {
            source: source.into(),
            arch: Arch::new(arch).unwrap(),
            version: "1-1".into(),
            outcome: if ok { Outcome::Ok } else { Outcome::Timeout },
            expected_failure: None,
            log: None,
            duration_secs: 1.0,
            debs: vec![],
            reused: false,
            stats: None,
        }
    }

    fn args(arch: &[&str], source: &[&str]) -> Args {
        Args {
            run_dir: "r".into(),
            arch: arch.iter().map(|a| Arch::new(a).unwrap()).collect(),
            source: source.iter().map(|s| s.to_string()).collect(),
            format: Format::Text,
            workdir: None,
            no_lintian: false,
            jobs: 1,
            if_built: false,
        }
    }

    #[test]
    fn only_good_builds_are_tested_and_all_jobs_go_with_the_host() {
        let host = Arch::new("amd64").unwrap();
        let results = || {
            vec![
                build("b", "riscv64", true),
                build("b", "amd64", true),
                build("a", "all", true),
                build("c", "amd64", false),
            ]
        };
        let keys = |v: Vec<BuildResult>| -> Vec<String> {
            v.iter()
                .map(|b| format!("{}/{}", b.source, b.arch))
                .collect()
        };
        assert_eq!(
            keys(selected(results(), &args(&[], &[]), &host)),
            ["a/all", "b/amd64", "b/riscv64"]
        );
        assert_eq!(
            keys(selected(results(), &args(&["amd64"], &[]), &host)),
            ["a/all", "b/amd64"]
        );
        assert_eq!(
            keys(selected(results(), &args(&["riscv64"], &["b", "c"]), &host)),
            ["b/riscv64"]
        );
    }

    /// A minimal .dsc of `s` at `version` in `dir`.
    fn dsc(dir: &Path, s: &str, version: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{s}_{version}.dsc"));
        let text =
            format!("Format: 3.0 (quilt)\nSource: {s}\nArchitecture: any\nVersion: {version}\n");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_porting_build_is_tested_from_its_copy_else_from_what_it_ported() {
        let tmp = tempfile::tempdir().unwrap();
        let (run, work) = (RunDir::new(tmp.path().join("run")), tmp.path().join("work"));
        let plain = dsc(&work.join("s"), "s", "1-1");
        let b = |version: &str| BuildResult {
            version: version.into(),
            ..build("s", "riscv64", true)
        };
        assert_eq!(
            build_dsc(&run, &work, &b("1-1")).unwrap(),
            Some(plain.clone())
        );
        // A CI test job: the build job's .debs came, its porting copy did not.
        assert_eq!(
            build_dsc(&run, &work, &b("1-1~port1")).unwrap(),
            Some(plain)
        );
        let riscv64 = Arch::new("riscv64").unwrap();
        let copy = dsc(&run.port_copy(&riscv64, "s"), "s", "1-1~port1");
        assert_eq!(build_dsc(&run, &work, &b("1-1~port1")).unwrap(), Some(copy));
        assert_eq!(build_dsc(&run, &work, &b("2-1")).unwrap(), None);
    }

    #[test]
    fn the_summary_names_each_cell_and_what_fails_it() {
        let judged = apt::judge(
            apt::parse_summary(
                "gpu SKIP exit status 77 and marked as skippable\nsmoke FAIL non-zero exit status 1\n",
            ),
            Some(6),
            None,
            &Arch::new("amd64").unwrap(),
        );
        let cell = TestCell {
            exit_code: Some(6),
            ..crate::report::model::fixtures::judged_cell("demo-blas", "1-1", judged)
        };
        assert_eq!(
            text_line(&cell),
            "demo-blas/amd64              fail           gpu: skip, smoke: fail\n    smoke: fail non-zero exit status 1\n"
        );
        let none = TestCell {
            status: "no-tests".into(),
            unexpected: vec![],
            autopkgtest: None,
            ..cell.clone()
        };
        assert_eq!(
            totals(&[cell, none]),
            "cascade test: 2 cells: 1 fail, 1 no-tests — 1 with unexpected failures"
        );
    }
}

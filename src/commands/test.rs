//! `cascade test RUNDIR`: autopkgtest and lintian on what a finished run
//! built, one source × arch after another, against exactly the run's .debs.
//! Results go to `RUNDIR/tests/PKG_ARCH/` (see `rundir`); exits 1 when a
//! test fails that the recipe does not expect, or lintian fails a cell.
//!
//! TODO(job graph): `cascade run` should run these as jobs of the one job
//! graph (a test waits for its build, not the whole stack), resumable by
//! input hash and covered by `-j`; this loop is then a view of those jobs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crate::Error;
use crate::arch::Arch;
use crate::autopkgtest::{self as apt, Backend, TestCell, TestRequest};
use crate::cli::GlobalArgs;
use crate::events::{BuildResult, Outcome};
use crate::fsio::IoError;
use crate::lintian::{self, LintianResult};
use crate::process::{Exit, LogOptions};
use crate::recipe::{self, Recipes};
use crate::rundir::RunDir;

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
}

/// Host-wide settings of the loop.
struct Env {
    run: RunDir,
    source_dir: PathBuf,
    chroot_dir: PathBuf,
    suite: String,
    host: Arch,
    lintian_tarball: Option<PathBuf>,
    rt: tokio::runtime::Runtime,
}

pub fn run(args: Args, global: &GlobalArgs) -> Result<ExitCode, Error> {
    let _lock = crate::lock::RunLock::acquire(&args.run_dir, &crate::lock::command_line())?;
    let recipes = recipe::load(&global.recipes)?;
    let config = crate::config::Config::from_env()?;
    let workdir = super::build::workdir(&args.workdir, &config);
    let state = crate::state::RunState::load(&args.run_dir)?;
    let host = Arch::host();
    let chroot_dir = crate::sbuild::default_chroot_dir();
    let lintian_tarball = match args.no_lintian {
        true => None,
        false => Some(ensure_lintian_tarball(
            &chroot_dir,
            &recipes.stack.base_suite,
            &host,
        )?),
    };
    let env = Env {
        run: RunDir::new(&args.run_dir),
        source_dir: crate::pipeline::source_dir(&workdir),
        chroot_dir,
        suite: recipes.stack.base_suite.clone(),
        host,
        lintian_tarball,
        rt: tokio::runtime::Runtime::new()
            .map_err(|source| Error::Io(IoError::new("(tokio runtime)", source)))?,
    };
    let builds = selected(state.results(), &args, &env.host);
    if builds.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no successful build to test (with --arch/--source as given)",
            args.run_dir.display()
        )));
    }
    let mut cells = Vec::new();
    for b in &builds {
        if matches!(args.format, Format::Text) {
            eprintln!("cascade test: {}/{} {}", b.source, b.arch, b.version);
        }
        let cell = test_one(&env, &recipes, b)?;
        if matches!(args.format, Format::Text) {
            print!("{}", text_line(&cell));
        }
        let cancelled = cell.status == "cancelled";
        cells.push(cell);
        if cancelled {
            break;
        }
    }
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

/// Makes the lintian tarball when it is missing (once per host and suite).
fn ensure_lintian_tarball(dir: &Path, suite: &str, host: &Arch) -> Result<PathBuf, Error> {
    let tarball = lintian::tarball(dir, suite, host);
    if !tarball.exists() {
        eprintln!(
            "cascade test: making {} (the {suite} chroot with lintian; once)",
            tarball.display()
        );
        for action in lintian::tarball_actions(dir, suite, host) {
            crate::setup::apply(&action)?;
        }
    }
    Ok(tarball)
}

/// Tests one build: autopkgtest (unless the recipe skips it or the source
/// declares no tests), then lintian; writes `result.json`.
fn test_one(env: &Env, recipes: &Recipes, b: &BuildResult) -> Result<TestCell, Error> {
    let dir = env.run.test_dir(&b.source, &b.arch);
    // A rerun starts clean: autopkgtest refuses a non-empty output dir.
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(IoError::new(&dir, e).into());
        }
        _ => {}
    }
    std::fs::create_dir_all(&dir).map_err(|e| IoError::new(&dir, e))?;
    let test_arch = test_arch(&b.arch, &env.host).clone();
    let recipe = recipes.get(&b.source);
    let start = Instant::now();
    let mut cell = TestCell {
        source: b.source.clone(),
        arch: b.arch.clone(),
        test_arch: test_arch.clone(),
        version: b.version.clone(),
        status: String::new(),
        exit_code: None,
        duration_secs: 0.0,
        autopkgtest: None,
        lintian: None,
        unexpected: vec![],
    };
    let dsc = find_dsc(&env.source_dir, &b.source, &b.version)?;
    let dsc_text = match &dsc {
        Some(path) => std::fs::read_to_string(path).map_err(|e| IoError::new(path, e))?,
        None => String::new(),
    };
    match &dsc {
        None => {
            cell.status = "error".into();
            cell.unexpected.push(format!(
                "no {}_{}.dsc in {}",
                b.source,
                b.version,
                env.source_dir.join(&b.source).display()
            ));
        }
        Some(_) if recipe.is_some_and(|r| r.tests.skip) => cell.status = "skipped-by-recipe".into(),
        Some(_) if !apt::declares_tests(&dsc_text) => cell.status = "no-tests".into(),
        Some(path) => run_autopkgtest(env, recipes, b, path, &test_arch, &mut cell)?,
    }
    if let (Some(tarball), Some(path)) = (&env.lintian_tarball, &dsc)
        && cell.status != "cancelled"
    {
        let fail_on = recipes.stack.tests.lintian.fail_on;
        let result = run_lintian(env, tarball, b, path, &dsc_text, &test_arch, fail_on);
        if result.fails {
            cell.unexpected.push(format!("lintian: {}", result.brief()));
        }
        cell.lintian = Some(result);
    }
    cell.duration_secs = start.elapsed().as_secs_f64();
    let json = serde_json::to_string_pretty(&cell).expect("a test cell serialises");
    let path = env.run.test_result(&b.source, &b.arch);
    crate::outfile::write_atomic(&path, format!("{json}\n").as_bytes())
        .map_err(|e| IoError::new(&path, e))?;
    Ok(cell)
}

/// The run's .dsc of `source` at `version` in `SOURCE_DIR/source/`, if any.
fn find_dsc(source_dir: &Path, source: &str, version: &str) -> Result<Option<PathBuf>, Error> {
    let found = crate::pipeline::find_dsc(&source_dir.join(source), source)?;
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

fn run_autopkgtest(
    env: &Env,
    recipes: &Recipes,
    b: &BuildResult,
    dsc: &Path,
    test_arch: &Arch,
    cell: &mut TestCell,
) -> Result<(), Error> {
    let recipe = recipes.get(&b.source);
    let req = TestRequest {
        dsc: absolute(dsc),
        debs: run_debs(&env.run, test_arch)?
            .iter()
            .map(|p| absolute(p))
            .collect(),
        artifacts: absolute(&env.run.test_artifacts(&b.source, &b.arch)),
        summary: absolute(&env.run.test_summary(&b.source, &b.arch)),
        timeout: recipe.and_then(|r| r.test_timeout(&recipes.stack)),
        backend: Backend::for_arch(
            &recipes.stack,
            test_arch,
            &env.chroot_dir,
            &recipes.stack.base_suite,
        ),
    };
    let cmd = apt::invocation(Path::new("autopkgtest"), &req);
    let log = env.run.test_log(&b.source, &b.arch);
    let exit = run_cancellable(env, &cmd, &log)?;
    let code = match exit {
        Exit::Status(s) => s.code(),
        Exit::TimedOut => None,
        Exit::Cancelled => {
            cell.status = "cancelled".into();
            cell.unexpected.push("cancelled (Ctrl-C)".into());
            return Ok(());
        }
    };
    let summary = std::fs::read_to_string(&req.summary).unwrap_or_default();
    let judged = apt::judge(apt::parse_summary(&summary), code, recipe, test_arch);
    cell.exit_code = code;
    cell.status = judged.status().to_string();
    cell.unexpected.extend(judged.unexpected());
    cell.autopkgtest = Some(judged);
    Ok(())
}

/// Runs `cmd` in its own process group, output to `log`; Ctrl-C stops the
/// group (and its testbed) and answers `Exit::Cancelled`.
fn run_cancellable(env: &Env, cmd: &crate::process::Cmd, log: &Path) -> Result<Exit, Error> {
    let opts = LogOptions::default();
    let cancel = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    Ok(env.rt.block_on(cmd.run_logged_until(log, &opts, cancel))?)
}

/// lintian on the source (on the host arch's cell only: once a source)
/// and the build's own .debs, in the lintian tarball's chroot.
fn run_lintian(
    env: &Env,
    tarball: &Path,
    b: &BuildResult,
    dsc: &Path,
    dsc_text: &str,
    test_arch: &Arch,
    fail_on: recipe::LintianFailOn,
) -> LintianResult {
    let mut files = Vec::new();
    if *test_arch == env.host {
        files.push(absolute(dsc));
        let dir = dsc.parent().unwrap_or(Path::new("."));
        files.extend(
            lintian::dsc_files(dsc_text)
                .iter()
                .map(|f| absolute(&dir.join(f))),
        );
    }
    files.extend(own_debs(&env.run, b).iter().map(|p| absolute(p)));
    let out = env.run.lintian_dir(&b.source, &b.arch);
    if let Err(e) = std::fs::create_dir_all(&out) {
        return LintianResult::broken(format!("{}: {e}", out.display()), fail_on);
    }
    let cmd = lintian::invocation(tarball, &env.host, &env.suite, &files, &absolute(&out));
    let log = out.join("mmdebstrap.log");
    match run_cancellable(env, &cmd, &log) {
        Ok(exit) if exit.success() => {}
        Ok(exit) => {
            return LintianResult::broken(
                format!("mmdebstrap: {exit:?}, see {}", log.display()),
                fail_on,
            );
        }
        Err(e) => return LintianResult::broken(e.to_string(), fail_on),
    }
    let code = std::fs::read_to_string(out.join(lintian::EXIT)).unwrap_or_default();
    let text = std::fs::read_to_string(out.join(lintian::OUTPUT)).unwrap_or_default();
    match code.trim() {
        "0" => LintianResult::judge(lintian::parse(&text), fail_on),
        other => LintianResult::broken(
            format!(
                "lintian exited {other:?}, see {}",
                out.join(lintian::OUTPUT).display()
            ),
            fail_on,
        ),
    }
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

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// One cell's lines: `demo-blas/amd64  skipped  gpu: skip  lintian: 2 E, 1 W`,
/// then what fails it, indented.
fn text_line(c: &TestCell) -> String {
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
    for u in &c.unexpected {
        out.push_str(&format!("    {u}\n"));
    }
    out
}

/// The closing line: cells by status, and whether anything failed.
fn totals(cells: &[TestCell]) -> String {
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
            source: "demo-blas".into(),
            arch: Arch::new("amd64").unwrap(),
            test_arch: Arch::new("amd64").unwrap(),
            version: "1-1".into(),
            status: judged.status().into(),
            exit_code: Some(6),
            duration_secs: 3.0,
            unexpected: judged.unexpected(),
            autopkgtest: Some(judged),
            lintian: None,
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
